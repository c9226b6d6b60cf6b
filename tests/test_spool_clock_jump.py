"""Segments are ordered as they were made, whatever the wall clock does between and within the
programs that write them (set back by NTP, a VM restored from a snapshot, a wrong clock at boot fixed
later, or set forward): drop_oldest deletes the oldest records, the agent reads in the order written,
and an acknowledgement a live program has yet to read is not swept early. Real writer processes; the
clock jump is simulated by replacing `time.time`/`time.time_ns` in the program (the only clocks the
spool reads for names and ages: no faketime on this machine)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template
from shipper.delivery.agent import Agent
from shipper.delivery.config import DEFAULTS
from shipper.spool import layout, segment

_WRITER = """
import sys, time
import json
import os
import time
from pathlib import Path
from typing import Any
from shipper.capture.writer import SegmentWriter
jump = float(sys.argv[2])
real_time, real_ns = time.time, time.time_ns
time.time = lambda: real_time() + jump
time.time_ns = lambda: real_ns() + int(jump * 1e9)
lost = []
writer = SegmentWriter(
    Path(sys.argv[1]), program=lambda: b"{}", max_bytes=256 * 1024, overflow="drop_oldest",
    lose=lambda reason, n: lost.append((reason, n)), segment_bytes=64 * 1024,
)
for n in range(int(sys.argv[4])):
    assert writer.append(f"{sys.argv[3]} {n:05d} ".encode() + b"x" * 2000)
writer.seal()
"""

# (seconds the clock jumps at each program, before the first) -> each program writes after the jump
_JUMPS = {
    "set-back-a-day": [0, -86_400],
    "set-back-a-second": [0, -1],
    "set-back-twice": [0, -3_600, -7_200],
    "wrong-at-boot-then-fixed": [-10 * 365 * 86_400, 0],
    "set-forward-then-back": [0, 7_200, 0],
    "no-jump": [0, 0],
}


def _records(spool: Path) -> list[str]:
    """The records the spool holds, in the order the spool says is oldest first."""
    found = []
    for path in layout.segments(spool):
        frames = segment.scan(segment.read_segment(path), segment.HEADER.size).frames
        found += [frame.payload[:20].decode().rsplit(" ", 1)[0] for frame in frames[1:]]
    return found


@pytest.mark.parametrize("jumps", list(_JUMPS.values()), ids=list(_JUMPS))
def test_drop_oldest_keeps_the_newest_records_across_wall_clock_jumps(
    jumps: list[int], tmp_path: Path
) -> None:
    """Programs writing one after another into a full spool, each with the clock jumped, leave the
    newest records and in the order written (a clock set back made the newest segments sort as the
    oldest: drop_oldest deleted them first and kept the old ones)."""
    spool = tmp_path / "spool"
    for index, jump in enumerate(jumps):
        done = programs.run(_WRITER, tmp_path, args=[str(spool), str(jump), f"p{index}", "150"])
        assert done.returncode == 0, done.stderr
    kept = _records(spool)
    written = [f"p{index} {n:05d}" for index in range(len(jumps)) for n in range(150)]
    assert kept, "the spool holds nothing"
    assert kept == written[-len(kept) :]
    assert len(kept) > 60


def test_segments_of_earlier_versions_are_read_before_new_ones(tmp_path: Path) -> None:
    """A spool left by an earlier version (segments named by the wall clock's ms, some with a clock
    far ahead) is read first, in its own order, then the segments this version makes."""
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    old = ["1700000000000-1-0000000a.seg", "1700000000001-1-0000000b.seg", "9999999999999-2-0000000c.seg"]
    for name in old:
        (spool / name).write_bytes(b"")
    done = programs.run(_WRITER, tmp_path, args=[str(spool), "-86400", "new", "1"])
    assert done.returncode == 0, done.stderr
    names = [path.name for path in layout.segments(spool)]
    assert names[:3] == old
    assert len(names) == 4 and names[3].startswith("q")


_PROGRAM = """
import logging, sys
import shipper
handler = shipper.install("jump", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3])
logging.getLogger("jump").warning("one record")
assert handler.wait_delivered(30)
"""

_THIS_BOOT, _ANOTHER_BOOT, _NONE = "this", "another", "none"

# id -> (finished, boot that wrote it, its age by that boot's clock, its age by its file's time, swept)
_ACKS = {
    "finished-just-now-then-clock-set-forward-2h": (True, _THIS_BOOT, 1, 7_200, False),
    "finished-just-now-then-clock-set-forward-a-year": (True, _THIS_BOOT, 1, 365 * 86_400, False),
    "unread-just-now-then-clock-set-forward-2min": (False, _THIS_BOOT, 1, 120, False),
    "finished-2h-ago-then-clock-set-back-2h": (True, _THIS_BOOT, 7_200, 0, True),
    "unread-2min-ago-then-clock-set-back": (False, _THIS_BOOT, 120, -3_600, True),
    "finished-2h-ago-no-jump": (True, _THIS_BOOT, 7_200, 7_200, True),
    "finished-just-now-no-jump": (True, _THIS_BOOT, 1, 1, False),
    "finished-before-a-reboot-2h-old": (True, _ANOTHER_BOOT, 1, 7_200, True),
    "finished-before-a-reboot-fresh": (True, _ANOTHER_BOOT, 7_200, 1, False),
    "earlier-version-finished-2h-old": (True, _NONE, 0, 7_200, True),
    "earlier-version-finished-fresh": (True, _NONE, 0, 1, False),
    "earlier-version-unread-2min-old": (False, _NONE, 0, 120, True),
}


@pytest.mark.es
@pytest.mark.parametrize("case", list(_ACKS))
def test_the_sweep_ages_acknowledgements_by_a_clock_that_does_not_jump(
    case: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A real agent sweeps the acknowledgement of a deleted segment by its age on this boot's clock
    where this boot wrote it (a wall clock set forward made one written a moment ago, that a live
    program had yet to read for its `sent` count, look hours old, and swept), by its file's time
    otherwise (earlier versions' files, files from before a reboot)."""
    finished, boot, age, file_age, swept = _ACKS[case]
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    this_boot, now = _boot_clock()
    if now < age + 60:
        pytest.skip("this boot is younger than the age to simulate")
    ack: dict[str, object] = {"offset": 4096, "sent": 3, "finished": finished}
    if boot != _NONE:
        ack.update(boot=this_boot if boot == _THIS_BOOT else "another-boot", at=now - age)
    left = spool / "q000000000007-4242-0000abcd.ack"
    left.write_text(json.dumps(ack))
    then = time.time() - file_age
    os.utime(left, (then, then))
    done = programs.run(_PROGRAM, tmp_path, args=[es_url, index_prefix, str(spool)], timeout=60)
    assert done.returncode == 0, done.stderr
    time.sleep(1.0)  # the agent sweeps as it first looks at the directory
    assert left.exists() is not swept


def _boot_clock() -> tuple[str, float]:
    """This boot's id and clock, read here (not through the code under test)."""
    boot_id = Path("/proc/sys/kernel/random/boot_id")
    if not boot_id.exists() or not hasattr(time, "CLOCK_BOOTTIME"):
        pytest.skip("no boot clock here")
    return boot_id.read_text().strip(), time.clock_gettime(time.CLOCK_BOOTTIME)


def test_an_acknowledgement_says_which_boot_wrote_it_and_when(tmp_path: Path) -> None:
    """`write_ack` stamps this boot and its clock, and `read_ack` reads them back (and refuses a stamp
    of the wrong kind: then the file's time ages it)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    path = spool / "q000000000001-1-00000001.seg"
    layout.write_ack(path, layout.Ack(offset=64, finished=True))
    read = layout.read_ack(path)
    boot, now = _boot_clock()
    assert read.boot == boot and 0 <= now - read.at < 60 and read.finished
    assert layout.ack_age(path, read) < 60
    for bad in ({"boot": 1, "at": 5.0}, {"boot": boot, "at": -1}, {"boot": boot, "at": True}):
        layout.ack_path(path).write_text(json.dumps({"offset": 64, **bad}))
        assert layout.read_ack(path) == layout.Ack()


@pytest.mark.parametrize(
    "left",
    [
        pytest.param("q000000000041-7-0000abcd.seg", id="segment"),
        pytest.param(".q000000000041-7-0000abcd.seg.new", id="segment-being-made"),
        pytest.param("q000000000041-7-0000abcd.ack", id="acknowledgement-of-a-deleted-segment"),
        pytest.param("q000000000041-7-0000abcd.dropped", id="drop-mark-of-a-deleted-segment"),
    ],
)
def test_a_new_segment_follows_every_sequence_the_directory_names(left: str, tmp_path: Path) -> None:
    """A real writer's next segment takes a sequence past every segment, hidden segment, waiting
    acknowledgement and drop mark in the directory (so it never takes the name, and the waiting
    progress, of a deleted segment), whatever its clock says."""
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    (spool / left).write_bytes(b"")
    done = programs.run(_WRITER, tmp_path, args=[str(spool), "-86400", "new", "1"])
    assert done.returncode == 0, done.stderr
    made = [path.name for path in layout.segments(spool) if path.name != left]
    assert len(made) == 1 and made[0].startswith("q000000000042-")


@pytest.mark.parametrize(
    ("jump", "file_age"),
    [
        pytest.param(7_200, 0, id="set-forward-two-hours"),
        pytest.param(86_400 * 365, 0, id="set-forward-a-year"),
        pytest.param(-7_200, 0, id="set-back-two-hours"),
        pytest.param(0, 120, id="no-jump-two-minutes-old"),
    ],
)
def test_a_file_being_made_is_not_swept_when_the_wall_clock_jumps(
    jump: int, file_age: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A segment's hidden file a writer has just created and not yet locked, and a temporary file,
    survive an agent's first sweep with the wall clock stepped by hours (they looked hours old and
    were deleted, under the writer); left over, they go at the agent's next look, seconds later."""
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    making = spool / ".q000000000003-4242-0000abcd.seg.new"
    making.write_bytes(b"\0" * 4096)
    temporary = spool / "q000000000002-4242-0000abcd.ack.tmp"
    temporary.write_bytes(b"{}")
    then = time.time() - file_age
    for path in (making, temporary):
        os.utime(path, (then, then))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + jump)
    agent = Agent(spool, _no_transport, DEFAULTS)
    agent.step()
    assert making.exists() and temporary.exists()
    deadline = time.monotonic() + 10
    while making.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
        agent.step()
    assert not making.exists() and not temporary.exists()


def _no_transport() -> Any:
    raise AssertionError("nothing to send")
