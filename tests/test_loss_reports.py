"""Every record a process loses reaches `logloop check` and the digest: real programs that fill a
`drop_newest` spool while the node cannot be reached, then exit, or are killed with SIGKILL, or run as
pid 1 of a container one after the other; then a real agent delivers what waits to the real node."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents
from helpers.programs import UNREACHABLE

from analyzers import capacity
from analyzers.config import CheckConfig
from analyzers.digest import build_digest
from analyzers.store import Store
from kibana.setup import install_template
from shipper import schema
from shipper.handler import ShipperHandler
from shipper.spool import layout, records, segment

pytestmark = pytest.mark.es


# Fills a 64 KiB `drop_newest` spool that nothing empties, then ends as `how` says: "exit" (close()
# at exit, no segment open: the last one filled up and no new one could be made), "kill" (SIGKILL
# after a periodic report, spool still full).
_FILLER = """
import logging, os, signal, sys, time
import shipper

spool, prefix, count, how, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
handler = shipper.install(
    "filler", es_url=url, spool_path=spool, index_prefix=prefix, spool_max_bytes=65536,
    spool_overflow="drop_newest", stats_interval=0.3, unreachable_exit=1.0, idle_exit=1.0,
)
log = logging.getLogger("filler")
for i in range(count):
    log.warning("filler %d %s", i, "x" * 200)
print("PID", os.getpid(), flush=True)
print("DROPPED", handler.stats().dropped, flush=True)
if how == "kill":
    time.sleep(1.5)  # a periodic report or more meanwhile, the spool still full
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _fill(tmp_path: Path, spool: Path, prefix: str, count: int, how: str, *, prefix_args: list[str]) -> int:
    """Run the filler (under `prefix_args`, e.g. in a new pid namespace); what it counted dropped."""
    script = tmp_path / f"filler_{count}_{how}.py"
    script.write_text(_FILLER)
    done = subprocess.run(
        [*prefix_args, sys.executable, str(script), str(spool), prefix, str(count), how, UNREACHABLE],
        env={"PYTHONPATH": str(programs.REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert "DROPPED" in lines, done.stderr
    return int(lines["DROPPED"])


def _deliver(spool: Path, es_url: str, prefix: str) -> None:
    """A program on the same spool with the real node's URL: its agent replaces the unreachable one's and
    sends everything that waits there."""
    handler = ShipperHandler("deliverer", es_url=es_url, spool_path=spool, index_prefix=prefix, idle_exit=1.0)
    try:
        assert handler.wait_delivered(90)
    finally:
        handler.close()


def _reported(es: Any, prefix: str) -> tuple[int, int]:
    """(dropped, processes) as `logloop check` and the digest read them from the health documents."""
    es.indices.refresh(index=f"{prefix}-*")
    now = datetime.now(UTC) + timedelta(seconds=5)
    store = Store(es, prefix)
    findings = capacity.assess(store, config=CheckConfig(), until=now)
    counts = capacity.shipper_counts(
        store.search(
            index=store.events, body=capacity.shipper_query(now - timedelta(minutes=15), now), action="t"
        )
    )
    report = build_digest(store, timedelta(days=1), now, now).report
    filler = [p for p in report.shipper if p.dropped]
    assert report.shipper_losses == counts["dropped"], findings
    return counts["dropped"], len(filler)


@pytest.mark.parametrize(
    "how", [pytest.param("exit", id="exit-with-spool-full"), pytest.param("kill", id="sigkill")]
)
def test_a_run_that_filled_its_spool_reports_every_record_it_dropped(
    how: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A short run whose `drop_newest` spool is full at its end has no segment open for its last health
    report, and one killed with SIGKILL makes none at all: what it dropped is reported all the same (a
    small report segment of its own, outside the full bound; for SIGKILL the last periodic report),
    and check and the digest count it once delivered (before: 0, both silent)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    dropped = _fill(tmp_path, spool, index_prefix, 2000, how, prefix_args=[])
    assert dropped > 1000  # (the spool holds some 200 of these records)
    _deliver(spool, es_url, index_prefix)
    assert _reported(es, index_prefix) == (dropped, 1)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_two_containers_with_pid_1_are_two_processes(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Two runs one after the other, each pid 1 of its own pid namespace (every container's case, and a
    busy host's cron that reuses pids), are two processes for check and the digest: their losses add
    up (before: keyed by pid, merged into one whose count was the larger of the two)."""
    probe = subprocess.run(["unshare", "--pid", "--fork", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no pid namespaces here (unshare --pid needs privileges)")
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    first = _fill(tmp_path, spool, index_prefix, 1500, "exit", prefix_args=["unshare", "--pid", "--fork"])
    second = _fill(tmp_path, spool, index_prefix, 2500, "exit", prefix_args=["unshare", "--pid", "--fork"])
    assert first > 0 and second > first
    _deliver(spool, es_url, index_prefix)
    pids = {
        d["process"]["pid"]
        for d in documents(es, index_prefix, {"term": {"event.dataset": schema.DATASET_SHIPPER}})
    }
    assert pids == {1}  # (both really were pid 1)
    assert _reported(es, index_prefix) == (first + second, 2)


def test_a_forked_child_is_another_process_instance(tmp_path: Path) -> None:
    """The id that keys a process is made once per process and anew in a forked child."""
    done = programs.run(
        """
        import os
        from shipper import environment
        parent = environment.entity_id()
        assert environment.entity_id() == parent  # once per process
        pid = os.fork()
        if pid == 0:
            print("CHILD", environment.entity_id(), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("PARENT", parent, environment.entity_id())
        """,
        tmp_path,
    )
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    parent, again = lines["PARENT"].split()
    assert parent == again and lines["CHILD"] != parent and len(parent) == 32, done.stderr


def test_reports_waiting_in_a_full_spool_stay_bounded_and_count_every_loss(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Runs after runs into a spool that stays full: a bounded number of small report segments wait
    (`REPORTS_KEPT`, the last runs' reports merged into earlier ones), and once delivered check counts
    every record each run dropped, no more, no less."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    runs = layout.REPORTS_KEPT + 4
    dropped = [
        _fill(tmp_path, spool, index_prefix, 400 if run == 0 else 20, "exit", prefix_args=[])
        for run in range(runs)
    ]
    waiting = [path for path in layout.segments(spool) if layout.is_report(path)]
    # (past REPORTS_KEPT only while the agent happens to be sending the others: a loaded machine)
    assert layout.REPORTS_KEPT <= len(waiting) <= layout.REPORTS_MAX
    assert sum(path.stat().st_size for path in waiting) < len(waiting) * 4096
    _deliver(spool, es_url, index_prefix)
    assert _reported(es, index_prefix)[0] == sum(dropped)


# Drops records until it is killed: fills a 64 KiB `drop_newest` spool that nothing empties (or, with
# "unformattable", a formatter that fails every record while the spool has room), logging 2,000
# records a second for `seconds`, with the default `stats_interval` (60 s: no periodic report in the
# run). Prints "AT <monotonic> <dropped>" every tenth of a second, and its last count as "DROPPED";
# then `end` says how it ends: "kill" (SIGKILL, right after its last count), "quiet-kill" (stops
# logging, SIGKILL 1.5 s later), "exit" (a normal exit: close() writes its last report).
_DROPPER = """
import logging, os, signal, sys, time
import shipper

spool, prefix, url, why, end, seconds = sys.argv[1:7]
handler = shipper.install(
    "dropper", es_url=url, spool_path=spool, index_prefix=prefix, spool_max_bytes=65536,
    spool_overflow="drop_newest", unreachable_exit=1.0, idle_exit=1.0,
)
if why == "unformattable":
    class Failing(logging.Formatter):
        def to_document(self, record):
            raise ValueError("cannot format")
    handler.setFormatter(Failing())
log = logging.getLogger("dropper")
until = time.monotonic() + float(seconds)
i = 0
while time.monotonic() < until:
    for _ in range(20):
        log.warning("dropper %d %s", i, "x" * 200)
        i += 1
    if i % 200 == 0:
        print("AT", time.monotonic(), handler.stats().dropped, flush=True)
    time.sleep(0.01)
print("DROPPED", handler.stats().dropped, flush=True)
if end == "quiet-kill":
    time.sleep(1.5)
if end != "exit":
    os.kill(os.getpid(), signal.SIGKILL)
"""

# Seconds of drops a SIGKILL may leave unreported: the watchdog reports losses within a second of
# them (`shipper.handler._WATCH_EVERY`), and a loaded machine may delay it by some more.
_UNREPORTED_SECONDS = 1.5


def _drop(tmp_path: Path, spool: Path, prefix: str, url: str, why: str, end: str, seconds: float) -> Any:
    """Run the dropper; (its last count, [(monotonic time, count)...], its return code)."""
    script = tmp_path / "dropper.py"
    script.write_text(_DROPPER)
    done = subprocess.run(
        [sys.executable, str(script), str(spool), prefix, url, why, end, str(seconds)],
        env={"PYTHONPATH": str(programs.REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [line.split() for line in done.stdout.splitlines()]
    counts = [
        (float(at), int(n)) for kind, at, n in (line for line in lines if len(line) == 3) if kind == "AT"
    ]
    final = [int(line[1]) for line in lines if line[0] == "DROPPED"]
    assert final, done.stderr
    return final[0], counts, done.returncode


@pytest.mark.parametrize(
    "end", [pytest.param("kill", id="killed-while-dropping"), pytest.param("quiet-kill", id="killed-after")]
)
def test_a_process_killed_with_sigkill_reports_what_it_dropped_up_to_a_second_before(
    end: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A process that drops records (a full `drop_newest` spool) and is killed with SIGKILL, with no
    periodic report due for a minute, has reported every drop older than about a second (a report the
    watchdog writes within a second of losses), and all of them if it stopped dropping a second
    before the kill (before: none of them, `stats_interval` away)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    dropped, counts, code = _drop(tmp_path, spool, index_prefix, UNREACHABLE, "spool_full", end, 2.5)
    assert code == -9 and dropped > 2000
    waiting = [path for path in layout.segments(spool) if layout.is_report(path)]
    assert len(waiting) <= 2  # (each report segment replaces its unsent predecessor)
    _deliver(spool, es_url, index_prefix)
    reported = _reported(es, index_prefix)[0]
    if end == "quiet-kill":
        assert reported == dropped
    else:
        kill_at = counts[-1][0]
        older = max(n for at, n in counts if at <= kill_at - _UNREPORTED_SECONDS)
        assert older <= reported <= dropped


def test_a_process_dropping_continuously_reports_about_once_a_second_and_counts_once(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A process that drops every record (a formatter that fails) for 3 seconds, then exits, writes
    about one report a second, no more (bounded disk), and check counts its drops once, though the
    exit report repeats what the earlier ones said."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    dropped, _counts, code = _drop(tmp_path, spool, index_prefix, es_url, "unformattable", "exit", 3.0)
    assert code == 0 and dropped > 3000
    _deliver(spool, es_url, index_prefix)
    reports = documents(es, index_prefix, {"term": {"event.dataset": schema.DATASET_SHIPPER}})
    dropper = [d for d in reports if d["service"]["name"] == "dropper"]
    assert 2 <= len(dropper) <= 3 + 2  # one a second, and the exit's
    assert _reported(es, index_prefix) == (dropped, 1)


def test_a_health_report_in_a_segment_is_told_from_the_programs_records(tmp_path: Path) -> None:
    """In a real segment, the health report is told apart from the program's records, those whose text
    holds its mark (`"dataset":"logloop.shipper"`) included: a segment `drop_oldest` deletes unsent
    counts its records lost, not its reports (with a report a second while losses occur, they were
    counted: 3,001 of 3,000 records delivered, dead-lettered or lost)."""

    class Failing(logging.Formatter):
        def to_document(self, record: logging.LogRecord) -> dict[str, Any]:
            raise ValueError("cannot format")

    handler = ShipperHandler(
        "marks", es_url=UNREACHABLE, spool_path=tmp_path / "spool", unreachable_exit=1.0, idle_exit=1.0
    )
    log = logging.getLogger("marks")
    log.propagate = False
    log.addHandler(handler)
    try:
        mark = '"dataset":"logloop.shipper"'
        log.warning("plain %s", mark)
        log.warning("extra", extra={"event_dataset": mark})
        try:
            raise ValueError(mark)
        except ValueError:
            log.exception("failed %s", mark)
        handler.setFormatter(Failing())
        log.warning("lost")  # counted lost: the report at close says so
    finally:
        log.removeHandler(handler)
        log.propagate = True
        handler.close()
    (path,) = layout.segments(tmp_path / "spool")
    frames = segment.scan(segment.read_segment(path), segment.HEADER.size).frames
    assert [records.is_health_report(frame.payload) for frame in frames[1:]] == [False, False, False, True]
