"""A program that closes every descriptor while the shipper has a segment open (a daemon's
`os.closerange`, closing them one by one, `dup2` over them), then opens files of its own that get the
same numbers: the shipper never closes or writes the program's files, and every record, logged before
and after, arrives exactly once. Real programs, real node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, os, sys, time
import shipper
handler = shipper.install(
    "daemon", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], idle_exit=3,
    delivery=sys.argv[5],
)
log = logging.getLogger("daemon")

def logged(text):
    log.info(text)
    print("EXPECT " + text, flush=True)

for n in range(20):
    logged(f"before {{n}}")
if sys.argv[5] == "thread":  # the delivery thread waits between two looks (see the test's docstring)
    assert handler.wait_delivered(30)
{take}
mine = [open(os.path.join(sys.argv[4], f"own-{{n}}.txt"), "w") for n in range(8)]
for n in range(300):
    logged(f"after {{n}}")
{pause}
for n in range(300):
    logged(f"later {{n}}")
logging.shutdown()  # the shipper seals and lets go of its segment here
for n, own in enumerate(mine):
    own.write(f"own data {{n}}")
    own.close()  # raises EBADF where the shipper closed it
print("OWN FILES INTACT")
"""

_TAKES = {
    "closerange": "os.closerange(3, 65536)",
    "close-one-by-one": """
for fd in range(3, 1024):
    try:
        os.close(fd)
    except OSError:
        pass
""",
    "dup2-devnull-over": """
null = os.open(os.devnull, os.O_RDWR)
for fd in range(3, 64):
    if fd != null:
        os.dup2(null, fd)
""",
}


@pytest.mark.parametrize("delivery", ["process", "thread"])
@pytest.mark.parametrize("take", list(_TAKES))
@pytest.mark.parametrize("pause", [0.0, 1.5], ids=["at-once", "after-a-watchdog-tick"])
def test_a_program_that_closes_every_descriptor_keeps_its_files_and_records(
    delivery: str, take: str, pause: float, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The program's own files, which reuse the numbers of the shipper's closed descriptors, are
    neither closed nor written by the shipper (its segment was being closed by number: the program's
    file then failed with EBADF), and all records arrive once. With delivery in a thread (whose lock,
    mappings and connections were closed and then used or closed by number too), the program closes
    them while that thread waits between two looks at the spool: one closed under it in the middle of
    a system call is a race no library thread can win."""
    install_template(es, index_prefix)
    script = _PROGRAM.format(take=_TAKES[take], pause=f"time.sleep({pause})")
    own = tmp_path / "own"
    own.mkdir()
    args = [es_url, index_prefix, str(tmp_path / "spool"), str(own), delivery]
    done = programs.run(script, tmp_path, args=args, flags=["-X", "dev"])
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "OWN FILES INTACT" in done.stdout
    assert [(own / f"own-{n}.txt").read_text() for n in range(8)] == [f"own data {n}" for n in range(8)]
    want = programs.expected(done)
    assert sum(want.values()) == 620
    assert programs.arrived(es, index_prefix, want) == want
