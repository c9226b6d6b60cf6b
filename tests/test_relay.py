"""The delivery process (`shipper.relay`): documents written out and sent by a child process, on the
real node, and the program's worker thread taking over when there is no such process."""

from __future__ import annotations

import collections
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper import relay
from shipper.handler import ShipperHandler


def _handler(es_url: str, prefix: str, tmp_path: Path, **options: Any) -> ShipperHandler:
    return ShipperHandler(
        "relay-test", es_url=es_url, index_prefix=prefix, spool_path=tmp_path / "s.sqlite", **options
    )


def _messages(es: Any, prefix: str) -> collections.Counter[str]:
    es.indices.refresh(index=f"{prefix}-*")
    found = es.search(
        index=f"{prefix}-*", size=1000, query={"term": {"event.dataset": "logloop.log"}}, source=["message"]
    )
    return collections.Counter(hit["_source"]["message"] for hit in found["hits"]["hits"])


def test_a_child_process_sends_and_the_program_counts_what_it_sent(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """By default a `python -m shipper.relay` child sends the documents (credentials are not on its
    command line), and the program's counters include what it sent."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path, password="s3cret", username="elastic")
    logger = logger_only_to("relay.sends", handler)
    for i in range(300):
        logger.info("event %d", i)
    assert handler.wait_delivered(60)
    process = handler._worker.relay._process  # type: ignore[union-attr]
    assert process.poll() is None and process.args == [sys.executable, "-m", "shipper.relay"]
    assert handler.stats().sent >= 300
    handler.close()
    assert process.poll() is not None  # close() ends it
    assert _messages(es, index_prefix) == collections.Counter(f"event {i}" for i in range(300))


def test_the_worker_thread_takes_over_when_the_child_dies(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Killing the delivery process loses nothing: the worker thread sends from the spool instead."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path)
    logger = logger_only_to("relay.dies", handler)
    for i in range(100):
        logger.info("before %d", i)
    assert handler.wait_delivered(60)
    handler._worker.relay._process.kill()  # type: ignore[union-attr]
    for i in range(100):
        logger.info("after %d", i)
    assert handler.wait_delivered(60)
    handler.close()
    expected = collections.Counter([f"before {i}" for i in range(100)] + [f"after {i}" for i in range(100)])
    assert _messages(es, index_prefix) == expected


def test_without_a_python_to_start_the_worker_thread_sends(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no delivery process can start (a frozen program, say) the thread sends, as with
    delivery="thread"."""
    monkeypatch.setattr(relay, "command", lambda: None)
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path)
    logger = logger_only_to("relay.none", handler)
    for i in range(50):
        logger.info("event %d", i)
    assert handler.wait_delivered(60)
    assert handler._worker.relay is None  # type: ignore[union-attr]
    assert handler.stats().sent >= 50
    handler.close()
    assert sum(_messages(es, index_prefix).values()) == 50


def test_the_child_ignores_an_interrupt_meant_for_the_program(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """SIGINT (Ctrl-C) does not stop the delivery process; it runs in a session of its own."""
    handler = _handler(es_url, index_prefix, tmp_path)
    logger_only_to("relay.sigint", handler).info("one")
    assert handler.wait_delivered(60)
    process = handler._worker.relay._process  # type: ignore[union-attr]
    assert os.getsid(process.pid) == process.pid
    os.kill(process.pid, signal.SIGINT)
    time.sleep(0.3)
    assert process.poll() is None
    handler.close()


def test_the_child_reports_its_counters_and_stops_at_the_end_of_its_input(tmp_path: Path) -> None:
    """The protocol on its own: settings in, reports out (a heartbeat with the backlog), and the end of
    the input stops the child within the close timeout (node unreachable, nothing to send)."""
    import subprocess

    from shipper.connection import ElasticsearchSettings
    from shipper.transports import TransportSpec
    from shipper.worker import DeliveryConfig

    config = DeliveryConfig(spool_path=tmp_path / "s.sqlite")
    spec = TransportSpec("elasticsearch", ElasticsearchSettings(url="http://127.0.0.1:9"))
    child = subprocess.Popen(
        relay.command() or [],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write((json.dumps(relay.settings_for(config, spec, 1.0, os.getpid())) + "\n").encode())
    child.stdin.flush()
    assert json.loads(child.stdout.readline()) == {"ready": True}
    report = json.loads(child.stdout.readline())
    assert report["backlog"] == 0 and "idle" in report
    started = time.monotonic()
    child.stdin.close()
    assert child.wait(10) == 0
    assert time.monotonic() - started < 5
    child.stdout.close()


@pytest.mark.parametrize(
    "delivery", [pytest.param("process", id="process"), pytest.param("thread", id="thread")]
)
def test_ready_says_when_delivery_runs(es_url: str, index_prefix: str, tmp_path: Path, delivery: str) -> None:
    """ready() returns True once the delivery process (or the sender thread) runs, before any event."""
    handler = _handler(es_url, index_prefix, tmp_path, delivery=delivery)
    assert handler.ready(30)
    relay_process = handler._worker.relay  # type: ignore[union-attr]
    assert (relay_process is not None and relay_process.alive()) is (delivery == "process")
    handler.close()
