"""What the counters say after delivery agents are killed (SIGKILL) in the middle of their work, against
what the node holds: `sent` in agent.json is every document delivered, once; a drop_oldest spool's
`dropped` never exceeds what is missing, and what a kill made unknowable is counted `unconfirmed`, not
lost. Real programs, real agent processes killed at random moments, the real node behind a loopback
proxy that holds each answer back (so that a kill lands while a request is out)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents, log_messages
from helpers.proxy import Proxy

from kibana.setup import install_template
from shipper.delivery import ledger
from shipper.spool import layout

pytestmark = pytest.mark.es

# argv: url, spool, prefix, records, spool_max_bytes. Logs paced (the agent sends between), closes,
# prints what this process counted itself.
_PROGRAM = """
import json, logging, sys, time
import shipper

url, spool, prefix, count, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
handler = shipper.install(
    "ledger", es_url=url, spool_path=spool, index_prefix=prefix, spool_max_bytes=limit,
    spool_overflow="drop_oldest", idle_exit=2, retry_max_delay=0.5, stats_interval=3600,
)
log = logging.getLogger("ledger")
for i in range(count):
    log.warning("ledger %d %s", i, "x" * 300)
    if i % 50 == 0:
        time.sleep(0.2)
handler.close()
print("OWN " + json.dumps(handler.counters.own()))
"""

# argv: url, spool, prefix. Starts an agent for what waits and waits until all is delivered.
_DRAIN = """
import sys
import shipper

handler = shipper.install("drain", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3])
print("DRAINED", handler.wait_delivered(60))
handler.close()
"""


def _proxy(es_url: str, delay: float) -> Iterator[Proxy]:
    host, port = es_url.rsplit("//", 1)[1].rsplit(":", 1)
    server = Proxy((host, int(port)), answer_delay=delay)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def quick_proxy(es_url: str) -> Iterator[Proxy]:
    yield from _proxy(es_url, 0.02)


@pytest.fixture
def slow_proxy(es_url: str) -> Iterator[Proxy]:
    yield from _proxy(es_url, 0.5)


def _run(
    url: str, es_url: str, prefix: str, tmp_path: Path, *, count: int, limit: int, seed: int, kills: int = 6
) -> tuple[dict[str, int], dict[str, Any], int]:
    """Run the program with its agents killed (at most `kills`), then drain the spool straight to the
    node: what the program counted itself, agent.json, and the kills."""
    spool = tmp_path / "spool"
    script = tmp_path / "program.py"
    script.write_text(_PROGRAM)
    child = subprocess.Popen(
        [sys.executable, str(script), url, str(spool), prefix, str(count), str(limit)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(programs.REPO)},
    )
    made = programs.kill_agents_while(child, spool, kills=kills, seed=seed, limit=60) if kills else 0
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    drained = programs.run(_DRAIN, tmp_path, args=[es_url, str(spool), prefix], timeout=90)
    assert "DRAINED True" in drained.stdout, drained.stderr
    own = json.loads(next(line for line in out.splitlines() if line.startswith("OWN "))[4:])
    return own, layout.read_json(spool / layout.AGENT_STATS_NAME), made


@pytest.mark.parametrize("seed", [1, 2])
def test_sent_counts_every_document_delivered_once_across_agent_kills(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, quick_proxy: Proxy, seed: int
) -> None:
    """agent.json's `sent` (cumulative for the spool directory, across agents) equals the documents on
    the node after agents were killed while sending: a kill between an acknowledgement and agent.json
    left out what the acknowledgement said was sent (2,750 and 2,700 of 3,000)."""
    install_template(es, index_prefix)
    own, agent, kills = _run(
        quick_proxy.url, es_url, index_prefix, tmp_path, count=3000, limit=64 * 1024 * 1024, seed=seed
    )
    assert kills >= 3
    assert own["dropped"] == own.get("unconfirmed", 0) == 0
    on_node = len(documents(es, index_prefix, fields=["event.id"]))
    assert log_messages(es, index_prefix).total() == 3000
    assert agent["sent"] == on_node


@pytest.mark.parametrize(("seed", "kills"), [(1, 6), (2, 6), (3, 0)])
def test_drop_oldest_counts_as_lost_no_record_the_node_holds_across_agent_kills(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, slow_proxy: Proxy, seed: int, kills: int
) -> None:
    """A 64 KiB drop_oldest spool whose agents are killed while their requests are out (or not): the
    records counted lost are at most those missing from the node, and with those counted unconfirmed
    (a killed agent's request, delivered or not) at least as many: the records of killed agents'
    requests that the node had taken were counted lost (1,373 counted of 1,048 missing). And each
    record is counted once: sent, dead-lettered, lost or unconfirmed (a segment deleted as its agent
    sent from it and then finished by that agent was counted unconfirmed again by the next: 1,688 of
    1,500 after two kills, 2,073 of 1,500 without one)."""
    install_template(es, index_prefix)
    own, agent, made = _run(
        slow_proxy.url, es_url, index_prefix, tmp_path, count=1500, limit=65536, seed=seed, kills=kills
    )
    assert made >= min(kills, 2)
    on_node = log_messages(es, index_prefix).total()
    missing = 1500 - on_node
    dropped = own["dropped"] + sum(v for k, v in agent.items() if k.startswith("lost:"))
    unconfirmed = own.get("unconfirmed", 0) + agent.get("unconfirmed", 0)
    assert missing > 0
    assert dropped <= missing <= dropped + unconfirmed, (dropped, missing, unconfirmed)
    # `sent` counts the shipper's health reports too: as many as reached the node, at most.
    reports = len(documents(es, index_prefix, fields=["event.id"])) - on_node
    counted = agent.get("sent", 0) + agent.get("dead_lettered", 0) + dropped + unconfirmed
    assert 1500 <= counted <= 1500 + reports, (agent, own, reports)


def test_a_total_catches_up_with_what_an_acknowledgement_holds_beyond_its_entry() -> None:
    """The next agent adds what an acknowledgement holds beyond agent.json's entry for its segment, and
    nothing for one whose entry holds it all (a kill after agent.json was written)."""
    totals = {"sent": 10}
    entries = {"a.seg": {"sent": 4, "dead_lettered": 1, ledger.OVERFLOW: 3}, "b.seg": {"sent": 6}}
    acks = {"a.seg": layout.Ack(sent=7, dead_lettered=1, retried=2), "b.seg": layout.Ack(sent=6)}
    assert ledger.catch_up(totals, entries, acks)
    assert totals == {"sent": 13, "retried": 2}
    assert entries["a.seg"] == {"sent": 7, "dead_lettered": 1, "retried": 2, "torn": 0, ledger.OVERFLOW: 3}
    assert not ledger.catch_up(totals, entries, acks)


def test_an_entry_ahead_of_its_acknowledgement_is_a_floor_not_counted_again() -> None:
    """An acknowledgement behind agent.json's entry (its write failed) adds nothing as it climbs back
    to the entry (the copies sent again, refused as duplicates), the entry never goes down, and only
    what it holds beyond the entry is counted."""
    totals = {"sent": 100}
    entries = {"a.seg": {"sent": 100, "dead_lettered": 2}}
    assert not ledger.catch_up(totals, entries, {"a.seg": layout.Ack(sent=50, dead_lettered=1)})
    assert entries["a.seg"]["sent"] == 100 and entries["a.seg"]["dead_lettered"] == 2
    assert not ledger.catch_up(totals, entries, {"a.seg": layout.Ack(sent=100, dead_lettered=2)})
    assert ledger.catch_up(totals, entries, {"a.seg": layout.Ack(sent=110, dead_lettered=2)})
    assert totals == {"sent": 110} and entries["a.seg"]["sent"] == 110


# argv: url, spool, prefix. Logs `<tag> <count>` batches read from its standard input (answers LOGGED),
# keeps its segment open meanwhile, and on `close` closes and exits.
_LONG_PROGRAM = """
import logging, sys
import shipper

url, spool, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
handler = shipper.install(
    "long", es_url=url, spool_path=spool, index_prefix=prefix, spool_max_bytes=2 * 1024 * 1024,
    idle_exit=60, stats_interval=3600,
)
log = logging.getLogger("long")
for line in sys.stdin:
    if line.strip() == "close":
        break
    tag, count = line.split()
    for i in range(int(count)):
        log.warning("%s %d", tag, i)
    print("LOGGED", flush=True)
handler.close()
"""

# argv: url, spool, prefix. Another program on the same spool: ten records in a segment of its own.
_SHORT_PROGRAM = """
import logging, sys
import shipper

handler = shipper.install("short", es_url=sys.argv[1], spool_path=sys.argv[2], index_prefix=sys.argv[3])
for i in range(10):
    logging.getLogger("short").warning("short %d", i)
handler.close()
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 8 MiB tmpfs of its own (root only): a disk that can really be filled."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(disk)],
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False, timeout=30)


def _fill(path: Path) -> None:
    """Write `path` until the disk it is on has no byte left (ENOSPC)."""
    with path.open("wb", buffering=0) as filler:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * chunk)


def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_records_sent_again_after_an_acknowledgement_write_failed_on_a_full_disk_count_once(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, small_disk: Path
) -> None:
    """A full disk (a real tmpfs filled to ENOSPC) fails the acknowledgement of records the agent
    delivered; room back, agent.json is written for another program's records; the agent killed, the
    next one sends those records again and their 409s are not counted `sent` a second time (160 for
    110 documents on the node)."""
    install_template(es, index_prefix)
    spool = small_disk / "spool"
    env = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    script = tmp_path / "long.py"
    script.write_text(_LONG_PROGRAM)
    long = subprocess.Popen(
        [sys.executable, str(script), es_url, str(spool), index_prefix],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert long.stdin is not None and long.stdout is not None
    try:

        def log(tag: str, count: int) -> None:
            assert long.stdin is not None and long.stdout is not None
            long.stdin.write(f"{tag} {count}\n")
            long.stdin.flush()
            assert long.stdout.readline().strip() == "LOGGED"

        def on_node(tag: str) -> int:
            return sum(n for message, n in log_messages(es, index_prefix).items() if message.startswith(tag))

        log("before", 50)
        _until(lambda: layout.read_json(spool / layout.AGENT_STATS_NAME).get("sent") == 50, 30)
        _fill(small_disk / "filler")
        log("full", 50)  # (into the segment allocated before: no room needed)
        _until(lambda: on_node("full") == 50, 30)
        time.sleep(1.0)  # the agent's pass records them: its acknowledgement write fails
        (small_disk / "filler").unlink()
        short = programs.run(_SHORT_PROGRAM, tmp_path, args=[es_url, str(spool), index_prefix], timeout=60)
        assert short.returncode == 0, short.stderr
        _until(lambda: layout.read_json(spool / layout.AGENT_STATS_NAME).get("sent") == 110, 30)
        pid = programs.agent_pid(spool)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        long.stdin.write("close\n")
        long.stdin.flush()
        long.wait(timeout=60)
        drained = programs.run(_DRAIN, tmp_path, args=[es_url, str(spool), index_prefix], timeout=90)
        assert "DRAINED True" in drained.stdout, drained.stderr
    finally:
        if long.poll() is None:
            long.kill()
        long.communicate(timeout=30)
    total = log_messages(es, index_prefix).total()
    assert total == 110
    assert layout.read_json(spool / layout.AGENT_STATS_NAME)["sent"] == total
