"""A process whose spool is full keeps one health report waiting (`SegmentWriter.park`), replaced by each
newer one: a real program killed with SIGKILL at points throughout that replacement leaves a report of its
drops in the spool, never none (the previous one was deleted before the new one was in view)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import programs
from helpers.programs import UNREACHABLE

from shipper.spool import layout, records, segment

# Fills a 64 KiB `drop_newest` spool, reports (parked: no segment takes it), drops more, then reports
# again with a profile hook that sends itself SIGKILL at the `kill_at`-th interpreter event of `_park`
# (a Python function's start or a C function's return: where a signal's effect, or a preemption
# followed by SIGKILL from outside, can fall), or as `_park` returns if it has fewer (their number
# varies from run to run with what the spool holds); 0: never. It prints how many the hook counted.
_REPORTER = """
import logging, os, signal, sys
import shipper

spool, url, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
handler = shipper.install(
    "reporter", es_url=url, spool_path=spool, spool_max_bytes=65536, spool_overflow="drop_newest",
    stats_interval=3600.0, unreachable_exit=1.0, idle_exit=1.0,
)
log = logging.getLogger("reporter")
for i in range(600):
    log.warning("filler %d %s", i, "x" * 200)
handler._report_while_open()
print("FIRST", handler.stats().dropped, flush=True)
for i in range(100):
    log.warning("filler %d %s", i, "x" * 200)
events, park, ended = 0, None, False

def hook(frame, event, arg):
    global events, park, ended
    if park is None and event == "call" and frame.f_code.co_name == "_park":
        park = frame
    if park is None or ended:
        return
    if event in ("call", "c_return"):
        events += 1
        if events == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    elif event == "return" and frame is park:
        ended = True
        if kill_at:  # a replacement shorter than the one counted (the spool differs): killed as it ends
            os.kill(os.getpid(), signal.SIGKILL)

sys.setprofile(hook)
handler._report_while_open()
sys.setprofile(None)
print("EVENTS", events, flush=True)
os._exit(0)
"""
# Every this-many events of the replacement (438 to 1,408 of them, measured): the old order's window, from
# deleting the previous report to renaming the new one into view, spans over a hundred of them.
_STRIDE = 20


def _run(tmp_path: Path, spool: Path, kill_at: int) -> tuple[int, dict[str, str]]:
    done = programs.run(_REPORTER, tmp_path, args=[str(spool), UNREACHABLE, str(kill_at)])
    return done.returncode, dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def _reported_drops(spool: Path) -> list[int]:
    """The `dropped` counter of each health report waiting in a report segment of `spool`."""
    found = []
    for path in layout.segments(spool):
        if not layout.is_report(path):
            continue
        frames = segment.scan(segment.read_segment(path), segment.HEADER.size).frames
        kind, body = records.decode(frames[-1].payload)
        assert kind == records.DOCUMENT
        found.append(json.loads(body)["logloop"]["shipper"]["dropped"])
    return found


@pytest.mark.slow
def test_a_process_killed_while_replacing_its_waiting_report_leaves_one(tmp_path: Path) -> None:
    """Killed with SIGKILL at every 20th point of the replacement of its waiting report, a process whose
    spool is full always leaves a report of its drops, holding at least what the previous one said."""
    code, said = _run(tmp_path, tmp_path / "whole", 0)
    assert code == 0 and int(said["FIRST"]) > 0, said
    events = int(said["EVENTS"])
    assert events > 10 * _STRIDE  # (the hook counted the replacement's events)
    assert max(_reported_drops(tmp_path / "whole")) > int(said["FIRST"])  # the new one, in view
    lost = []
    for kill_at in range(1, events + 1, _STRIDE):
        spool = tmp_path / f"killed-{kill_at}"
        code, said = _run(tmp_path, spool, kill_at)
        assert code == -9 and "EVENTS" not in said, (kill_at, code, said)
        drops = _reported_drops(spool)
        if not drops or max(drops) < int(said["FIRST"]):
            lost.append(kill_at)
    assert not lost, f"no report of the drops left after SIGKILL at events {lost} of {events}"
