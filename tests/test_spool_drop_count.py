"""`drop_oldest` counts as lost exactly the records that are never delivered: a segment the agent is
sending from cannot be deleted (and counted) under it. Real programs, a real agent process, the real
node behind a proxy that holds each answer back (a slow node: sends stay in flight while the program
fills its spool)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import log_messages
from helpers.proxy import Proxy

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import json, logging, sys, time
import shipper
from shipper.delivery import lock

url, spool, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
count, size, oversized_every = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
handler = shipper.install(
    "drops", es_url=url, spool_path=spool, index_prefix=prefix, spool_max_bytes=65536,
    spool_overflow="drop_oldest", idle_exit=2, retry_max_delay=0.5, max_event_bytes=4000,
)
log = logging.getLogger("drops")
for i in range(count):
    oversized = oversized_every and i % oversized_every == 0  # dead-lettered as the agent reads it
    log.warning("drop %d %s", i, "x" * (6000 if oversized else size))
    if i % 50 == 0:
        time.sleep(0.02)  # the agent reads and sends meanwhile
handler.ready(30)
handler.close()  # sealed: the agent finishes the segment, then exits after idle_exit
deadline = time.monotonic() + 60
while lock.running(handler.spool_dir) and time.monotonic() < deadline:
    time.sleep(0.2)  # until the agent sent what it could, counted what it could not, and exited
print("AGENT GONE", not lock.running(handler.spool_dir))
print("LOST " + json.dumps(dict(handler.stats().lost)))  # the writer's counts and the agent's
"""


@pytest.fixture
def slow_proxy(es_url: str) -> Iterator[Proxy]:
    host, port = es_url.rsplit("//", 1)[1].rsplit(":", 1)
    server = Proxy((host, int(port)), answer_delay=1.0)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("count", "size", "oversized_every"),
    [
        pytest.param(1500, 300, 0, id="1500-small"),
        pytest.param(600, 2000, 0, id="600-large"),
        pytest.param(3000, 20, 0, id="3000-tiny"),
        pytest.param(900, 300, 3, id="900-every-third-dead-lettered"),
    ],
)
def test_drop_oldest_never_counts_a_delivered_record_lost(
    es: Any, index_prefix: str, tmp_path: Path, slow_proxy: Proxy, count: int, size: int, oversized_every: int
) -> None:
    """Records delivered, dead-lettered and counted lost add up to exactly the records logged, none
    twice: the writer counted lost the unacknowledged records of segments the agent then delivered
    from its mapping (136 of 1,500 counted twice)."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    args = [slow_proxy.url, str(spool), index_prefix, str(count), str(size), str(oversized_every)]
    done = programs.run(_PROGRAM, tmp_path, args=args, timeout=120)
    assert done.returncode == 0, done.stderr
    lost = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("LOST "))[5:])
    assert "AGENT GONE True" in done.stdout
    assert set(lost) <= {"spool_overflow", "dead_letter_rotated"} and lost["spool_overflow"]
    arrived = log_messages(es, index_prefix)
    assert set(arrived.values()) == {1}
    letters = [Path(f"{spool}.deadletter.jsonl{suffix}") for suffix in ("", ".1")]
    dead = sum(len(path.read_text().splitlines()) for path in letters if path.exists())
    assert (dead > 0) is bool(oversized_every)
    assert sum(arrived.values()) + dead + sum(lost.values()) == count


def test_sending_and_dropping_a_segment_exclude_each_other(tmp_path: Path) -> None:
    """The agent's hold on a segment it sends from and a writer's hold before deleting one exclude each
    other (across open files, so across processes); a deleted segment cannot be held for sending."""
    from shipper.spool import layout

    segment = tmp_path / f"1-1-1{layout.SUFFIX}"
    segment.write_bytes(b"x" * 64)
    sending = layout.hold_to_send(segment)
    assert sending is not None and layout.take_to_drop(segment) is None
    os.close(sending)
    dropping = layout.take_to_drop(segment)
    assert dropping is not None and dropping >= 0 and layout.hold_to_send(segment) is None
    segment.unlink()
    os.close(dropping)
    assert layout.hold_to_send(segment) is None
    layout.mark_dropped(segment, 7)
    assert layout.dropped_marks(tmp_path) == [segment]
    assert layout.take_dropped_mark(segment) == 7 and layout.take_dropped_mark(segment) is None


@pytest.mark.parametrize(("content", "counted"), [(b"7", 7), (b"0", 0), (b"", 0), (b"x1", 0)])
def test_a_drop_mark_its_agent_died_before_counting_is_counted_by_the_next(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, content: bytes, counted: int
) -> None:
    """A segment drop_oldest deleted while an agent sent from it, that agent killed before it counted
    what it did not deliver: the next agent counts what the writer counted (never uncounted), and
    removes the mark."""
    from shipper.spool import layout

    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    mark = spool / f"1700000000000-4242-0000abcd{layout.DROPPED_SUFFIX}"
    mark.write_bytes(content)
    program = """
import logging, sys
import shipper
handler = shipper.install("marks", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3])
logging.getLogger("marks").warning("one record")
assert handler.wait_delivered(30)
"""
    done = programs.run(program, tmp_path, args=[es_url, index_prefix, str(spool)], timeout=60)
    assert done.returncode == 0, done.stderr
    assert not mark.exists()
    assert layout.read_json(spool / layout.AGENT_STATS_NAME).get("lost:spool_overflow", 0) == counted
