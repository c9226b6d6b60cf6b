"""A spool that was full (its `drop_newest` bound reached, or the disk: a file size limit) takes
records again as soon as room comes back, not a second later: the agent frees room within
milliseconds of a send, and every record of the second after the first refusal was dropped, counted,
without a look. Real programs; the room is freed as the agent would free it (a delivered segment
deleted) or given back (the limit raised)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import programs

# argv: spool, pause in seconds. Fills the spool until a record is refused, gives room back, waits,
# logs again; prints what the last records became.
_PROGRAM = """
import logging, os, resource, sys, time
import shipper

spool, pause = sys.argv[1], float(sys.argv[2])
{setup}
handler = shipper.ShipperHandler("room", spool_path=spool, delivery="thread", **options)
handler._stop.set()  # nothing is delivered: only what the test frees makes room
log = logging.getLogger("room")
log.addHandler(handler)
log.propagate = False
for i in range(100_000):
    log.warning("filling %d %s", i, "f" * 1000)
    if handler.stats().dropped:
        break
print("FULL AFTER", i, flush=True)
{free}
time.sleep(pause)
before = handler.stats().dropped
for i in range(20):
    log.warning("after room came back %d", i)
print("DROPPED AFTER", handler.stats().dropped - before, flush=True)
"""

_SHAPES = {
    "drop-newest-bound-segments-delivered": (
        'options = {"spool_max_bytes": 256 * 1024, "spool_overflow": "drop_newest"}',
        # What the agent does with a segment it finished: deletes it (the open one stays).
        """
current = handler.writer.current_path()
for path in sorted(Path(spool).glob("q*.seg")):
    if path != current:
        path.unlink()
""",
    ),
    "file-size-limit-raised": (
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, resource.RLIM_INFINITY))\noptions = {}",
        "resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
    ),
}


@pytest.mark.parametrize("pause", [0.15, 0.4, 0.7])
@pytest.mark.parametrize("shape", list(_SHAPES))
def test_a_spool_that_was_full_takes_records_as_soon_as_room_comes_back(
    tmp_path: Path, shape: str, pause: float
) -> None:
    """Records logged a fraction of a second after room came back to a full spool are kept, none
    dropped; the program never sees an error and hears of it in one line."""
    setup, free = _SHAPES[shape]
    script = _PROGRAM.format(setup=setup, free="from pathlib import Path\n" + free)
    done = programs.run(script, tmp_path, args=[str(tmp_path / "spool"), str(pause)])
    assert done.returncode == 0, done.stderr
    assert "FULL AFTER" in done.stdout, done.stdout
    assert "DROPPED AFTER 0" in done.stdout, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if "logloop" in line]
    assert len(warnings) == 1, done.stderr
