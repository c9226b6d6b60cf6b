"""The in-memory transport, and the handler's delivery path run on it without a node (fast tier)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.shipping import logger_only_to

from shipper import deadletter
from shipper.grouping.fingerprint import fingerprint_event
from shipper.grouping.options import options_from_table
from shipper.handler import ShipperHandler
from shipper.spool import SpooledEvent
from shipper.transports import TransportSpec
from shipper.transports.base import Transport
from shipper.transports.memory import MemoryTransport


def _event(number: int, message: str = "hello") -> SpooledEvent:
    body = json.dumps({"message": message, "n": number}).encode()
    return SpooledEvent(row_id=number, event_id=f"id{number}", index="logs-2026.12.03", body=body)


def test_it_records_documents_and_rejects_by_predicate() -> None:
    """Each document gets its own outcome, in order; rejected ones are kept apart from delivered ones."""
    transport = MemoryTransport(reject=lambda doc: doc["message"] == "bad")
    outcomes = transport.send([_event(1), _event(2, "bad"), _event(3)], timeout=1.0)
    assert [outcome.kind for outcome in outcomes] == ["delivered", "rejected", "delivered"]
    assert [doc["_id"] for doc in transport.documents] == ["id1", "id3"]
    assert transport.documents[0]["_index"] == "logs-2026.12.03"
    assert [doc["n"] for doc in transport.rejected] == [2]


def test_planned_failures_apply_to_the_next_calls_only() -> None:
    """`fail_next` answers retry for whole calls, `raise_next` raises once, then delivery resumes."""
    transport = MemoryTransport()
    transport.fail_next(1, reason="node restarting", status=503)
    transport.raise_next(RuntimeError("transport bug"))
    first = transport.send([_event(1), _event(2)], timeout=1.0)
    assert [(o.kind, o.status, o.reason) for o in first] == [("retry", 503, "node restarting")] * 2
    with pytest.raises(RuntimeError, match="transport bug"):
        transport.send([_event(1)], timeout=1.0)
    assert [o.kind for o in transport.send([_event(1)], timeout=1.0)] == ["delivered"]
    assert transport.calls == 3 and len(transport.documents) == 1


def test_it_satisfies_the_transport_protocol() -> None:
    """MemoryTransport is typed as a Transport, so it can stand wherever the sender takes one."""
    transport: Transport = MemoryTransport()
    transport.close()
    assert isinstance(transport, MemoryTransport) and transport.closed


@pytest.fixture
def memory_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ShipperHandler, MemoryTransport]]:
    """A handler delivering from its own thread into a MemoryTransport. The handler builds its
    transport from a TransportSpec (plain data, so it can cross to a delivery process); with
    delivery="thread" it is built in this process, so swapping the spec's factory is enough."""
    transport = MemoryTransport(reject=lambda doc: doc.get("message") == "poison")
    monkeypatch.setattr(TransportSpec, "make", lambda spec: transport)
    handler = ShipperHandler(
        "fast-tier",
        spool_path=tmp_path / "spool.sqlite",
        delivery="thread",
        retry_max_delay=0.2,
        flush_interval=0.01,
    )
    yield handler, transport
    handler.close()


def test_records_arrive_as_ecs_documents(memory_handler: tuple[ShipperHandler, MemoryTransport]) -> None:
    """A logged record reaches the transport as an ECS document in its daily index, with its service."""
    handler, transport = memory_handler
    logger = logger_only_to("fast.tier.ecs", handler)
    logger.warning("disk %s is %d%% full", "/var", 93)
    (document,) = transport.wait_for(1)
    assert document["message"] == "disk /var is 93% full"
    assert document["log"]["level"] == "warning"
    assert document["service"]["name"] == "fast-tier"
    assert document["_index"].startswith("logloop-20")


def test_retries_until_delivered_and_dead_letters_rejections(
    memory_handler: tuple[ShipperHandler, MemoryTransport], tmp_path: Path
) -> None:
    """Two failed calls delay nothing for good; a rejected document is dead-lettered, the rest delivered."""
    handler, transport = memory_handler
    transport.fail_next(2)
    logger = logger_only_to("fast.tier.retry", handler, logging.INFO)
    for message in ("first", "poison", "last"):
        logger.info(message)
    delivered = transport.wait_for(2)
    assert sorted(doc["message"] for doc in delivered) == ["first", "last"]
    handler.close()
    assert transport.calls >= 3
    dead = deadletter.path_for(tmp_path / "spool.sqlite").read_text()
    assert "poison" in dead


def test_the_grouping_table_reaches_the_agent_that_fingerprints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `[grouping]` rule given to the handler keys the shipped error as the agent fingerprints it:
    the key the rule gives, not the default one."""
    transport = MemoryTransport()
    monkeypatch.setattr(TransportSpec, "make", lambda spec: transport)
    table = {"rules": [{"type": "RuntimeError", "group_by": "message"}]}
    handler = ShipperHandler(
        "fast-tier", spool_path=tmp_path / "spool", delivery="thread", flush_interval=0.01, grouping=table
    )
    try:
        raise RuntimeError("plug-in quota exceeded")
    except RuntimeError:
        logger_only_to("fast.tier.grouping", handler).exception("plug-in failed")
    (document,) = transport.wait_for(1)
    handler.close()
    error = {k: v for k, v in document["error"].items() if k not in ("grouping_key", "grouping_name")}
    returned = {**document, "error": error}  # as stored, without what the agent added
    with_rule = fingerprint_event(returned, options_from_table(table))
    default = fingerprint_event(returned)
    assert with_rule is not None and default is not None and with_rule.key != default.key
    assert document["error"]["grouping_key"] == with_rule.key
