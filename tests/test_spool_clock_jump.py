"""Segments are ordered as they were made, whatever the wall clock does between and within the
programs that write them (set back by NTP, a VM restored from a snapshot, a wrong clock at boot fixed
later, or set forward): drop_oldest deletes the oldest records, the agent reads in the order written,
and an acknowledgement a live program has yet to read is not swept early. Real writer processes; the
clock jump is simulated by replacing `time.time`/`time.time_ns` in the program (the only clocks the
spool reads for names and ages: no faketime on this machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import programs

from shipper.spool import layout, segment

_WRITER = """
import sys, time
from pathlib import Path
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
