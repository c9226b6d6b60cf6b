"""The delivery agent (`shipper.delivery`) on the real node: one per spool directory, started on
demand, replaced when the settings change, idle exit, damaged segments, blocked indices, and the
thread that delivers where no agent process can start."""

from __future__ import annotations

import collections
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.delivered import log_messages
from helpers.nodes import private_node
from helpers.ports import SHARD_LIMIT_DELIVERY_PORTS
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.delivery import launcher, lock
from shipper.delivery.agent import Agent
from shipper.delivery.config import AgentConfig
from shipper.diagnostics import INTERNAL_LOGGER
from shipper.formatter import EcsFormatter
from shipper.handler import ShipperHandler
from shipper.spool import layout, records, segment
from shipper.transports import TransportSpec

pytestmark = pytest.mark.es


def _handler(es_url: str, prefix: str, tmp_path: Path, **options: Any) -> ShipperHandler:
    return ShipperHandler(
        "agent-test", es_url=es_url, index_prefix=prefix, spool_path=tmp_path / "s", **options
    )


def test_without_a_python_to_start_a_thread_delivers(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no agent process can start (a frozen program, say) a thread of the program delivers, as
    with delivery="thread"."""
    monkeypatch.setattr(launcher, "command", lambda: None)
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path)
    logger = logger_only_to("agent.none", handler)
    for i in range(50):
        logger.info("event %d", i)
    assert handler.wait_delivered(60)
    assert lock.holder(handler.spool_dir)["mode"] == "thread"
    assert handler.stats().sent >= 50
    handler.close()
    assert sum(log_messages(es, index_prefix).values()) == 50


def test_the_agent_ignores_an_interrupt_meant_for_the_program(
    es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """SIGINT (Ctrl-C) does not stop the agent; it runs in a session of its own."""
    handler = _handler(es_url, index_prefix, tmp_path)
    assert handler.ready(30)
    pid = int(lock.holder(handler.spool_dir)["pid"])
    assert os.getsid(pid) != os.getsid(0)  # (its helper shell's session: no terminal, never ours)
    os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert lock.running(handler.spool_dir) and lock.holder(handler.spool_dir)["pid"] == pid
    handler.close()


def test_one_agent_per_directory_and_it_exits_when_idle(
    es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A second agent started for a directory that has one exits at once; the one running exits by
    itself after `idle_exit` seconds with nothing to send."""
    handler = _handler(es_url, index_prefix, tmp_path, idle_exit=1.0)
    assert handler.ready(30)
    first = lock.holder(handler.spool_dir)["pid"]
    second = subprocess.run(
        launcher.command() or [],
        input=launcher.settings_message(handler.spool_dir, handler.transport_spec, handler.agent_config),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
        check=True,
    )
    assert second.returncode == 0 and lock.holder(handler.spool_dir)["pid"] == first
    handler.close()
    deadline = time.monotonic() + 30
    while lock.running(handler.spool_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not lock.running(handler.spool_dir)


@pytest.mark.parametrize(
    "delivery", [pytest.param("process", id="process"), pytest.param("thread", id="thread")]
)
def test_ready_says_when_delivery_runs(es_url: str, index_prefix: str, tmp_path: Path, delivery: str) -> None:
    """ready() returns True once an agent (process or thread) holds the directory, before any event."""
    handler = _handler(es_url, index_prefix, tmp_path, delivery=delivery)
    assert handler.ready(30)
    assert lock.holder(handler.spool_dir)["mode"] == delivery
    handler.close()


def test_a_start_claim_dated_in_the_future_does_not_hold_back_the_agent(tmp_path: Path) -> None:
    """A start claim left by an agent that died while starting, dated in the future because the clock
    has since jumped back, is stale like an old one: the next program starts an agent at once."""
    spool = tmp_path / "s"
    layout.ensure_private_dir(spool)
    claim = spool / lock.STARTING_NAME
    claim.write_bytes(b"")
    later = time.time() + 3600
    os.utime(claim, (later, later))
    handler = ShipperHandler("claim", es_url="http://127.0.0.1:9", spool_path=spool, idle_exit=1)
    assert handler.ready(15)
    handler.close()


def test_new_settings_replace_the_running_agent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A program with other settings on the same directory replaces the agent (the newest wins), says
    so in one warning of the shipper's logger naming the directory and the fix, and the new agent
    sends what the old one could not."""
    install_template(es, index_prefix)
    stuck = _handler("http://127.0.0.1:9", index_prefix, tmp_path, request_timeout=1.0)
    logger = logger_only_to("agent.replace", stuck)
    for i in range(20):
        logger.info("kept %d", i)
    stuck.close()
    assert stuck.ready(30)
    old = lock.holder(stuck.spool_dir)["pid"]
    internal = logging.getLogger(INTERNAL_LOGGER)  # it does not propagate: caplog listens on it directly
    internal.addHandler(caplog.handler)
    try:
        fresh = _handler(es_url, index_prefix, tmp_path)
        assert fresh.wait_delivered(60)
    finally:
        internal.removeHandler(caplog.handler)
    assert lock.holder(fresh.spool_dir)["pid"] != old
    [warning] = [r.getMessage() for r in caplog.records if "had other settings" in r.getMessage()]
    assert str(fresh.spool_dir) in warning and f"pid {old}" in warning and "own spool_path" in warning
    fresh.close()
    assert log_messages(es, index_prefix) == collections.Counter(f"kept {i}" for i in range(20))


# --- damaged segments: written by hand, read by an agent in this process --------------------------------


def _record(message: str) -> bytes:
    record = logging.LogRecord("agent.damage", logging.INFO, __file__, 1, message, None, None)
    return records.encode_record(EcsFormatter(service_name="damage").capture(record))


def _segment_bytes(messages: list[str], token: int, size: int = 64 * 1024) -> bytearray:
    """A segment as a writer leaves it (program frame, records), allocated to `size` bytes; `token`
    is its random share of the event ids (a writer draws it; two segments never share one)."""
    data = bytearray(size)
    header = segment.encode_header(token, 999_999, int(time.time() * 1000))
    data[: len(header)] = header
    position = len(header)
    for payload in [records.encode_program({"service": "damage", "pid": 999_999}), *map(_record, messages)]:
        frame = segment.frame_header(payload) + payload
        data[position : position + len(frame)] = frame
        position += segment.frame_size(len(payload))
    return data


def _run_agent(es_url: str, prefix: str, spool: Path) -> Agent:
    spec = TransportSpec("elasticsearch", _settings(es_url))
    agent = Agent(spool, spec.make, AgentConfig(index_prefix=prefix, idle_exit=0.5, poll_interval=0.01))
    agent.deadline = time.monotonic() + 60
    agent.run()
    return agent


def _settings(es_url: str) -> Any:
    from shipper.connection import ElasticsearchSettings

    return ElasticsearchSettings(url=es_url)


def test_torn_truncated_and_garbage_segments_are_skipped_and_counted(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A torn frame at a segment's tail, a segment cut short in the middle of a frame, and a file of
    garbage: every whole record before the damage arrives, the damage is counted as torn, and the
    damaged files are removed."""
    install_template(es, index_prefix)
    spool = tmp_path / "s"
    layout.ensure_private_dir(spool)
    torn = _segment_bytes([f"torn {i}" for i in range(5)], token=0x1111)
    tail = segment.scan(torn, segment.HEADER.size).end
    torn[tail : tail + 8] = segment.FRAME.pack(100, 0xDEAD)  # a frame whose copy the kill cut short
    (spool / layout.segment_name(1, 999_999, 1)).write_bytes(torn)
    cut = _segment_bytes([f"cut {i}" for i in range(5)], token=0x2222)
    end = segment.scan(cut, segment.HEADER.size).end
    (spool / layout.segment_name(2, 999_999, 2)).write_bytes(cut[: end - 10])
    (spool / layout.segment_name(3, 999_999, 3)).write_bytes(os.urandom(5000))
    agent = _run_agent(es_url, index_prefix, spool)
    assert agent.totals["torn_skipped"] == 3
    assert layout.segments(spool) == []
    assert log_messages(es, index_prefix) == collections.Counter(
        [f"torn {i}" for i in range(5)] + [f"cut {i}" for i in range(4)]
    )


@pytest.mark.parametrize("refusal", ["write-block", "closed"])
def test_a_blocked_index_holds_back_no_other_index(
    refusal: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Documents for a write-blocked or closed index wait and are retried (not dead-lettered), while those
    for another index in the same segment are delivered at once; when the block is lifted (the index
    reopened) the waiting ones arrive too."""
    install_template(es, index_prefix)
    blocked = f"{index_prefix}-2020.01.01"
    es.indices.create(index=blocked)
    if refusal == "closed":
        es.indices.close(index=blocked)
    else:
        es.indices.put_settings(index=blocked, settings={"index.blocks.write": True})
    handler = _handler(es_url, index_prefix, tmp_path, retry_max_delay=0.5)
    logger = logger_only_to("agent.blocked", handler)
    old = time.mktime((2020, 1, 1, 12, 0, 0, 0, 0, 0)) - time.timezone
    for i in range(10):
        record = logger.makeRecord("agent.blocked", logging.INFO, __file__, 1, "old %d", (i,), None)
        record.created = old
        logger.handle(record)
        logger.info("new %d", i)
    deadline = time.monotonic() + 60
    while sum(1 for m in log_messages(es, index_prefix) if m.startswith("new")) < 10:
        assert time.monotonic() < deadline, "documents for the healthy index were held back"
        time.sleep(0.2)
    assert not any(m.startswith("old") for m in log_messages(es, index_prefix))
    assert handler.stats().retried > 0 and handler.stats().dead_lettered == 0
    if refusal == "closed":
        es.indices.open(index=blocked)
    else:
        es.indices.put_settings(index=blocked, settings={"index.blocks.write": False})
    assert handler.wait_delivered(60)
    handler.close()
    found = log_messages(es, index_prefix)
    assert found == collections.Counter([f"old {i}" for i in range(10)] + [f"new {i}" for i in range(10)])


def _run_program(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` as a program of its own (this checkout importable), its output captured."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )


def test_an_uncreatable_spool_directory_warns_once_and_counts(tmp_path: Path) -> None:
    """A spool directory that cannot be created, with no fallback directory either: one warning line
    on stderr, no exception into the program, and every record counted lost."""
    (tmp_path / "file").write_text("not a directory")
    script = (
        "import logging, shipper, sys\n"
        "import shipper.handler; shipper.handler._SPOOL_ROOTS = ()\n"  # nowhere to fall back to
        f"h = shipper.ShipperHandler('x', spool_path={str(tmp_path / 'file' / 'spool')!r})\n"
        "log = logging.getLogger('x'); log.addHandler(h); log.propagate = False\n"
        "for i in range(100): log.warning('w %d', i)\n"
        "s = h.stats(); print(s.queued, s.dropped, dict(s.lost))\n"
    )
    done = _run_program(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["100", "100"]
    assert "spool_unavailable" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if "logloop" in line]
    assert 1 <= len(warnings) <= 2 and "spool" in warnings[0]


def test_a_full_disk_is_counted_and_never_raises(tmp_path: Path) -> None:
    """With the file size limit below the smallest segment (a disk that is full), records are counted
    lost with a one-line warning, and the program goes on."""
    script = (
        "import logging, resource, shipper\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))\n"
        f"h = shipper.ShipperHandler('x', spool_path={str(tmp_path / 'spool')!r})\n"
        "log = logging.getLogger('x'); log.addHandler(h); log.propagate = False\n"
        "for i in range(50): log.warning('w %d', i)\n"
        "s = h.stats(); print(s.queued, s.dropped, dict(s.lost))\n"
    )
    done = _run_program(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["50", "50"]
    warnings = [line for line in done.stderr.splitlines() if "logloop" in line]
    assert len(warnings) == 1 and "cannot write the spool" in warnings[0]


@pytest.mark.parametrize("max_bytes", [100_000, 1_000_000])
@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest"])
def test_the_spool_stays_within_its_bound_and_uses_it(tmp_path: Path, policy: str, max_bytes: int) -> None:
    """With nothing delivered, the spool's segments never take more than `spool_max_bytes` on disk
    under either overflow policy, the bound is used (at least half of it holds records), and every
    record given up is counted under the policy's reason."""
    handler = ShipperHandler(
        "bound",
        spool_path=tmp_path / "s",
        spool_max_bytes=max_bytes,
        spool_overflow=policy,
        delivery="thread",
    )
    handler._stop.set()  # nothing delivered: what is written stays until the policy gives it up
    logger = logger_only_to("agent.bound", handler)
    peak = used = 0
    for i in range(20_000):
        logger.info("bound n%d %s", i, "y" * 100)
        if i % 250 == 0:
            used = sum(path.stat().st_size for path in layout.segments(tmp_path / "s"))
            peak = max(peak, used)
    handler.close()
    stats = handler.stats()
    assert peak <= max_bytes
    assert used >= max_bytes // 2
    reason = "spool_overflow" if policy == "drop_oldest" else "spool_full"
    assert dict(stats.lost) == {reason: stats.dropped}
    assert stats.dropped > 0 and stats.queued == 20_000


def test_a_nearly_full_disk_is_filled_with_smaller_segments(tmp_path: Path) -> None:
    """With room on the disk for less than a whole segment (a file size limit of 100 kB), records are
    written in smaller segments instead of being dropped: all of them are kept."""
    script = (
        "import logging, resource, shipper\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))\n"
        f"h = shipper.ShipperHandler('x', spool_path={str(tmp_path / 'spool')!r}, delivery='thread')\n"
        "h._stop.set()\n"  # nothing delivered: every record stays in the spool
        "log = logging.getLogger('x'); log.addHandler(h); log.propagate = False\n"
        "for i in range(3000): log.warning('w %d %s', i, 'z' * 100)\n"
        "s = h.stats(); print(s.queued, s.spooled, s.dropped)\n"
    )
    done = _run_program(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3000", "3000", "0"]


_UNRECORDABLE_CHILD = """
import logging, resource, sys, time
from pathlib import Path
from shipper.delivery.agent import Agent
from shipper.delivery.config import AgentConfig
from shipper.handler import ShipperHandler
from shipper.spool import layout
from shipper.transports.memory import MemoryTransport
spool = Path(sys.argv[1])
handler = ShipperHandler("full", spool_path=spool, delivery="thread")
handler._stop.set()  # the agent below delivers
log = logging.getLogger("full"); log.addHandler(handler); log.propagate = False
for i in range(500):
    log.warning("w %d", i)
handler.close()
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # from now on no acknowledgement can be written
transport = MemoryTransport()
agent = Agent(spool, lambda: transport, AgentConfig(idle_exit=0.5, poll_interval=0.01))
agent.deadline = time.monotonic() + 15
started = time.monotonic()
agent.run()
ids = [doc["_id"] for doc in transport.documents]
print(len(ids), len(set(ids)), len(layout.segments(spool)), time.monotonic() - started < 10)
"""


def test_an_agent_that_cannot_record_its_progress_sends_once_and_frees_the_disk(tmp_path: Path) -> None:
    """An agent that cannot write its acknowledgement files (a full disk) sends each record once,
    deletes the sent segments (which frees the disk) and exits when idle, instead of sending them
    again and again."""
    script = tmp_path / "child.py"
    script.write_text(_UNRECORDABLE_CHILD)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "spool")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["500", "500", "0", "True"]


def test_an_agent_starts_and_drains_the_spool_on_a_full_disk(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """On a disk too full for one more byte (a file size limit of 0), an agent still starts, delivers
    what the spool holds, deletes it and exits; a full spool on a full disk is not stuck for good."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path, delivery="thread", idle_exit=1.0)
    handler._stop.set()  # nothing delivered by the program: the agent started below does it
    logger = logger_only_to("agent.fulldisk", handler)
    for i in range(300):
        logger.warning("full disk n%d", i)
    handler.close()
    agent = subprocess.run(
        launcher.command() or [],
        input=launcher.settings_message(handler.spool_dir, handler.transport_spec, handler.agent_config),
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0)),
        capture_output=True,
        timeout=60,
    )
    assert agent.returncode == 0, agent.stderr[-2000:]
    assert layout.segments(handler.spool_dir) == []
    assert log_messages(es, index_prefix) == collections.Counter(f"full disk n{i}" for i in range(300))


def _anonymous_memory_kb(pid: int) -> int:
    """The process's resident anonymous memory (its heap: not the segments it maps), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def test_the_agents_memory_stays_bounded_while_the_node_is_unreachable(tmp_path: Path) -> None:
    """With the node unreachable and 120 MB of records in the spool, the agent keeps at most a bounded
    amount of them in memory (waiting for their retry): its heap stays under 80 MB."""
    handler = ShipperHandler(
        "memory", es_url="http://127.0.0.1:9", spool_path=tmp_path / "s", request_timeout=1.0, idle_exit=5
    )
    logger = logger_only_to("agent.memory", handler)
    for i in range(50_000):
        logger.warning("memory n%d %s", i, "q" * 2000)
    assert handler.ready(30)
    pid = int(lock.holder(handler.spool_dir)["pid"])
    assert pid != os.getpid(), "no agent process: this one delivers from a thread (its memory is pytest's)"
    most, deadline = 0, time.monotonic() + 6
    while time.monotonic() < deadline:
        most = max(most, _anonymous_memory_kb(pid))
        time.sleep(0.1)
    handler.close()
    assert handler.stats().retried > 0  # the agent read records and tried to send them
    assert most < 80_000


_THREAD_FORK_CHILD = """
import logging, os, sys, time
import shipper
url, spool, prefix = sys.argv[1:4]
h = shipper.install("tf", es_url=url, spool_path=spool, index_prefix=prefix, delivery="thread")
log = logging.getLogger("tf")
log.info("parent n0")
assert h.ready(30)  # the parent's delivery thread holds the directory's lock, and starts sending
for c in range(4):  # forks while that thread works (its first send imports the transport)
    if os.fork() == 0:
        time.sleep(0.5)  # the parent is gone
        for i in range(50):
            log.info("child %d n%d", c, i)
        os.write(1, str(h.wait_delivered(20)).encode() + bytes([10]))  # one write: four children
        os._exit(0)
    time.sleep(0.003)
"""


def test_a_forked_child_delivers_in_thread_mode_after_its_parent_exits(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """With delivery in a thread, forked children that outlive their parent deliver their records
    while they run: none keeps the parent's hold on the directory (which kept every agent out), and
    none waits for ever on an import the parent's delivery thread was making when it forked."""
    install_template(es, index_prefix)
    script = tmp_path / "child.py"
    script.write_text(_THREAD_FORK_CHILD)
    done = subprocess.run(
        [sys.executable, str(script), es_url, str(tmp_path / "spool"), index_prefix],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"] * 4
    assert log_messages(es, index_prefix) == collections.Counter(
        ["parent n0", *(f"child {c} n{i}" for c in range(4) for i in range(50))]
    )


_DELETED_SPOOL_CHILD = """
import logging, os, shutil, sys, time
import shipper
spool = sys.argv[2]
h = shipper.install(
    "deleted", es_url=sys.argv[1], spool_path=spool, index_prefix=sys.argv[3], idle_exit=5,
    delivery=sys.argv[4],
)
log = logging.getLogger("deleted")
for i in range(200):
    log.info("before n%d", i)
assert h.wait_delivered(30)
def delete():  # out of the way first, as a cleaner would, so that nothing writes into it meanwhile
    os.rename(spool, spool + ".deleted")
    shutil.rmtree(spool + ".deleted")
delete()  # a long-lived program: the next look of its watchdog finds the segment gone
for i in range(200):
    log.info("after n%d", i)
time.sleep(1.5)
assert h.wait_delivered(30)  # by this program's own delivery (a thread of it, in thread mode)
for i in range(100):
    log.info("last n%d", i)
delete()  # and right before a normal exit
s = h.stats()
print(s.dropped)
"""


@pytest.mark.parametrize("delivery", ["process", "thread"])
def test_a_spool_directory_deleted_while_the_program_runs_loses_nothing(
    delivery: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A spool directory deleted under a running program (by hand, or a cleaner of temporary files),
    once while it runs on and once right before it exits: every record arrives, each once, and the
    program's own delivery goes on after the first (a delivery thread ended for good when it found
    no directory to take its lock in)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_DELETED_SPOOL_CHILD)
    done = subprocess.run(
        [sys.executable, str(script), es_url, str(spool), index_prefix, delivery],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0"]
    drain = ShipperHandler("drain", es_url=es_url, index_prefix=index_prefix, spool_path=spool, idle_exit=2)
    assert drain.wait_delivered(60)
    drain.close()
    found = log_messages(es, index_prefix)
    expected = {
        f"{phase} n{i}"
        for phase, count in (("before", 200), ("after", 200), ("last", 100))
        for i in range(count)
    }
    assert set(found) == expected
    assert max(found.values()) == 1


_WAITED_THEN_KILLED = """
import logging, os, shutil, sys
import shipper

url, spool, prefix = sys.argv[1:4]
handler = shipper.install("deleted", es_url=url, index_prefix=prefix, spool_path=spool, idle_exit=5)
log = logging.getLogger("deleted")
for i in range(100):
    log.info("before n%d", i)
shutil.rmtree(spool)  # a cleaner of temporary files, between two looks of the handler's watchdog
for i in range(100):
    log.info("after n%d", i)
print(handler.wait_delivered(30), flush=True)
os._exit(0)  # (no close: only what wait_delivered waited for is sure to have been sent)
"""


def test_waiting_for_delivery_after_the_spool_was_deleted_waits_for_its_records(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A spool directory deleted under the program, which then waits for delivery and dies: the wait
    writes the segment again and lasts until its records are sent (it said True at once, nothing sent,
    and the program's death lost them all, uncounted)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = tmp_path / "child.py"
    script.write_text(_WAITED_THEN_KILLED)
    done = subprocess.run(
        [sys.executable, str(script), es_url, str(spool), index_prefix],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.split() == ["True"], done.stdout + done.stderr
    found = log_messages(es, index_prefix)
    assert set(found) == {f"{phase} n{i}" for phase in ("before", "after") for i in range(100)}


def test_a_deleted_spool_that_cannot_be_written_again_is_counted(tmp_path: Path) -> None:
    """A spool directory deleted and replaced by a file: the records the deleted segment held, before
    and after the deletion, are counted lost when it is sealed, and the program goes on; the health
    reports it held are no record of the program's, and not counted among them."""
    spool = tmp_path / "spool"
    script = (
        "import logging, shutil, shipper\n"
        f"h = shipper.ShipperHandler('x', spool_path={str(spool)!r}, delivery='thread')\n"
        "h._stop.set()\n"  # no delivery: every record is still in the segment when it is deleted
        "log = logging.getLogger('x'); log.addHandler(h); log.propagate = False\n"
        "for i in range(30): log.warning('w %d', i)\n"
        "h._report_while_open(); h._report_while_open()\n"  # two health reports in the same segment
        f"shutil.rmtree({str(spool)!r}); open({str(spool)!r}, 'w').close()\n"
        "for i in range(20): log.warning('w %d', i)\n"
        "h.close(); s = h.stats(); print(s.queued, s.dropped, dict(s.lost))\n"
    )
    done = _run_program(script)
    assert done.returncode == 0, done.stderr
    queued, dropped, lost = done.stdout.strip().split(maxsplit=2)
    assert (queued, dropped) == ("50", "50")
    assert lost == "{'spool_deleted': 50}"


@pytest.mark.slow
def test_a_cluster_at_its_shard_limit_is_retried_counted_and_never_dead_lettered(tmp_path: Path) -> None:
    """A private node with cluster.max_shards_per_node=1 refuses to create the daily index: the
    documents wait (counted in shard_limit_retries, none dead-lettered) and arrive once the limit
    is raised."""
    from shipper.connection import ElasticsearchSettings, make_client

    with private_node(SHARD_LIMIT_DELIVERY_PORTS, "shard-limit", {}) as url:
        client = make_client(ElasticsearchSettings(url=url))
        try:
            client.cluster.put_settings(persistent={"cluster.max_shards_per_node": 1})
            handler = _handler(url, "limited", tmp_path, retry_max_delay=0.5)
            logger = logger_only_to("agent.limited", handler)
            for i in range(10):
                logger.info("limited %d", i)
            deadline = time.monotonic() + 60
            while handler.stats().shard_limit_retries == 0:
                assert time.monotonic() < deadline, "the shard limit was never met"
                time.sleep(0.2)
            assert handler.stats().dead_lettered == 0 and handler.stats().sent == 0
            client.cluster.put_settings(persistent={"cluster.max_shards_per_node": None})
            assert handler.wait_delivered(120)
            assert handler.stats().dead_lettered == 0
            handler.close()
            client.indices.refresh(index="limited-*")
            assert client.count(index="limited-*")["count"] == 10
        finally:
            client.close()


def test_a_spool_directory_out_of_reach_is_not_taken_for_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent ends when its directory is removed or replaced by a file, but one it can no longer
    reach (EACCES: a parent made inaccessible, simulated here since root reaches everything) is still
    there: it waits for access to come back, where `Path.is_dir()` raised and the agent died."""
    spool = tmp_path / "spool"
    assert layout.is_gone(spool)
    spool.write_text("a file where the directory was")
    assert layout.is_gone(spool)
    spool.unlink()
    spool.mkdir()
    assert not layout.is_gone(spool)

    def refused(self: Path, **kwargs: object) -> os.stat_result:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "stat", refused)
    assert not layout.is_gone(spool)
