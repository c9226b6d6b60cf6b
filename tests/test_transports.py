"""Transports: per-document outcomes from the real node's `_bulk`, and the Logstash wire protocols
against loopback servers that stand in for Logstash (which cannot run here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from helpers.logstash_servers import BeatsServer, JsonLinesServer
from helpers.ports import free_port

from kibana.setup import install_template
from shipper.connection import ElasticsearchSettings
from shipper.spool import SpooledEvent
from shipper.transports.elasticsearch import ElasticsearchTransport
from shipper.transports.logstash import LogstashTransport


def _event(n: int, index: str, body: dict[str, Any] | None = None) -> SpooledEvent:
    doc = body if body is not None else {"@timestamp": "2026-01-01T00:00:00Z", "message": f"m{n}"}
    return SpooledEvent(n, f"evt-{n}", index, json.dumps(doc).encode())


# -- Elasticsearch (real node) --------------------------------------------------------------------


def test_bulk_reports_each_document(es: Any, es_settings: ElasticsearchSettings, index_prefix: str) -> None:
    """A mapping rejection is reported for that document only; the others are delivered."""
    install_template(es, index_prefix)
    index = f"{index_prefix}-2026.01.01"
    bad = {"@timestamp": "2026-01-01T00:00:00Z", "event": {"duration": "not a number"}}
    batch = [_event(1, index), _event(2, index, bad), _event(3, index)]
    outcomes = ElasticsearchTransport(es_settings).send(batch, timeout=10)
    assert [o.kind for o in outcomes] == ["delivered", "rejected", "delivered"]
    assert outcomes[1].status == 400 and "duration" in outcomes[1].reason


def test_a_second_send_of_the_same_id_counts_as_delivered(
    es_settings: ElasticsearchSettings, index_prefix: str
) -> None:
    """Create semantics: resending an acknowledged id is a 409, which is a delivery, not an error."""
    transport = ElasticsearchTransport(es_settings)
    batch = [_event(1, f"{index_prefix}-2026.01.01")]
    assert transport.send(batch, timeout=10)[0].kind == "delivered"
    assert transport.send(batch, timeout=10)[0].kind == "delivered"


def test_an_unreachable_node_means_retry() -> None:
    """Connection refused is a retry for every document, never a rejection or an exception."""
    transport = ElasticsearchTransport(ElasticsearchSettings(url=f"http://127.0.0.1:{free_port()}"))
    outcomes = transport.send([_event(1, "x-2026.01.01"), _event(2, "x-2026.01.01")], timeout=2)
    assert [o.kind for o in outcomes] == ["retry", "retry"]


@pytest.fixture
def beats() -> Iterator[BeatsServer]:
    server = BeatsServer()
    yield server
    server.close()


def test_beats_transport_delivers_the_ecs_documents(beats: BeatsServer) -> None:
    """Beats windows arrive whole and acknowledged, carrying the documents with their event.id."""
    transport = LogstashTransport(protocol="beats", host="127.0.0.1", port=beats.port)
    docs = [{"event": {"id": f"e{i}"}, "message": f"m{i}"} for i in range(60)]
    batch = [SpooledEvent(i, f"e{i}", "x", json.dumps(d).encode()) for i, d in enumerate(docs)]
    assert {o.kind for o in transport.send(batch, timeout=5)} == {"delivered"}
    assert beats.received == docs


def test_beats_without_acknowledgement_means_retry() -> None:
    """A Beats server that never acknowledges makes the batch a retry once the socket timeout passes."""
    server = BeatsServer(ack=False)
    transport = LogstashTransport(protocol="beats", host="127.0.0.1", port=server.port, socket_timeout=0.3)
    outcomes = transport.send([SpooledEvent(1, "e1", "x", b'{"message":"m"}')], timeout=5)
    server.close()
    assert [o.kind for o in outcomes] == ["retry"]


def test_tcp_transport_writes_json_lines() -> None:
    """The TCP transport writes one JSON document per line, which a json_lines reader parses back."""
    server = JsonLinesServer()
    transport = LogstashTransport(protocol="tcp", host="127.0.0.1", port=server.port)
    batch = [SpooledEvent(i, f"e{i}", "x", json.dumps({"event": {"id": f"e{i}"}}).encode()) for i in range(5)]
    assert {o.kind for o in transport.send(batch, timeout=5)} == {"delivered"}
    server.served.wait(5)
    server.close()
    assert [d["event"]["id"] for d in server.received] == [f"e{i}" for i in range(5)]


def test_logstash_down_means_retry() -> None:
    """With nothing listening, both protocols report retry instead of raising."""
    port = free_port()
    for protocol in ("beats", "tcp"):
        transport = LogstashTransport(protocol=protocol, host="127.0.0.1", port=port)  # type: ignore[arg-type]
        assert transport.send([SpooledEvent(1, "e1", "x", b"{}")], timeout=1)[0].kind == "retry"
