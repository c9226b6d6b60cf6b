"""Transports: per-document outcomes from the real node's `_bulk`, and the Logstash wire protocols
against loopback servers that stand in for Logstash (which cannot run here)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import elasticsearch
import pytest
from helpers.fake_kibana import FakeKibana, serve_fake_kibana
from helpers.logstash_servers import BeatsServer, JsonLinesServer
from helpers.ports import free_port

from kibana.setup import install_template
from shipper.connection import ElasticsearchSettings
from shipper.spool import SpooledEvent
from shipper.transports.base import SHARD_LIMIT
from shipper.transports.elasticsearch import ElasticsearchTransport, _item_outcome
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
    with closing(ElasticsearchTransport(es_settings)) as transport:
        outcomes = transport.send(batch, timeout=10)
    assert [o.kind for o in outcomes] == ["delivered", "rejected", "delivered"]
    assert outcomes[1].status == 400 and "duration" in outcomes[1].reason


def test_a_second_send_of_the_same_id_counts_as_delivered(
    es_settings: ElasticsearchSettings, index_prefix: str
) -> None:
    """Create semantics: resending an acknowledged id is a 409, which is a delivery, not an error."""
    batch = [_event(1, f"{index_prefix}-2026.01.01")]
    with closing(ElasticsearchTransport(es_settings)) as transport:
        assert transport.send(batch, timeout=10)[0].kind == "delivered"
        assert transport.send(batch, timeout=10)[0].kind == "delivered"


def test_an_unreachable_node_means_retry() -> None:
    """Connection refused is a retry for every document, never a rejection or an exception."""
    with closing(
        ElasticsearchTransport(ElasticsearchSettings(url=f"http://127.0.0.1:{free_port()}"))
    ) as transport:
        outcomes = transport.send([_event(1, "x-2026.01.01"), _event(2, "x-2026.01.01")], timeout=2)
    assert [o.kind for o in outcomes] == ["retry", "retry"]


def test_a_dead_first_node_costs_no_event(es_settings: ElasticsearchSettings, index_prefix: str) -> None:
    """With a dead node listed first, the same request goes on to the live node: delivered, no retry."""
    dead = f"http://127.0.0.1:{free_port()}"
    settings = ElasticsearchSettings(url=(dead, *es_settings.urls))
    batch = [_event(1, f"{index_prefix}-2026.01.01"), _event(2, f"{index_prefix}-2026.01.01")]
    with closing(ElasticsearchTransport(settings)) as transport:
        assert [o.kind for o in transport.send(batch, timeout=10)] == ["delivered", "delivered"]
        assert [o.kind for o in transport.send(batch, timeout=10)] == ["delivered", "delivered"]


@pytest.fixture
def not_elasticsearch() -> Iterator[FakeKibana]:
    yield from serve_fake_kibana()


def test_credentials_go_in_the_authorization_header(not_elasticsearch: FakeKibana) -> None:
    """The API key is sent as `Authorization: ApiKey`, basic auth as `Basic`; neither in the URL."""
    for settings, expected in (
        (
            ElasticsearchSettings(url=not_elasticsearch.url, api_key="a2V5OnNlY3JldA=="),
            "ApiKey a2V5OnNlY3JldA==",
        ),
        (ElasticsearchSettings(url=not_elasticsearch.url, username="u", password="p"), "Basic dTpw"),
    ):
        with closing(ElasticsearchTransport(settings)) as transport:
            transport.send([_event(1, "x-2026.01.01")], timeout=5)
        request = not_elasticsearch.requests[-1]
        assert request.headers["authorization"] == expected
        assert request.path == "/_bulk" and "secret" not in str(request.query)
        major = elasticsearch.__versionstr__.partition(".")[0]  # what the official client would send
        assert (
            request.headers["content-type"]
            == f"application/vnd.elasticsearch+x-ndjson; compatible-with={major}"
        )
        assert request.headers["accept"] == f"application/vnd.elasticsearch+json; compatible-with={major}"


def test_an_answer_not_from_elasticsearch_is_no_acknowledgement(not_elasticsearch: FakeKibana) -> None:
    """A 200 without `X-Elastic-Product: Elasticsearch` (a proxy, another product) is a retry, as with
    the official client: nothing is counted delivered that no Elasticsearch node acknowledged."""
    not_elasticsearch.answers.append((200, {"errors": False, "items": []}))
    with closing(ElasticsearchTransport(ElasticsearchSettings(url=not_elasticsearch.url))) as transport:
        outcomes = transport.send([_event(1, "x-2026.01.01")], timeout=5)
    assert [o.kind for o in outcomes] == ["retry"] and "not Elasticsearch" in outcomes[0].reason


def test_an_error_answer_gives_the_error_type_and_reason(not_elasticsearch: FakeKibana) -> None:
    """A refused request is judged by its status and its error, reported as `type: reason`: 401 is a
    retry, a 400 of one document a rejection."""
    not_elasticsearch.answers += [
        (401, {"error": {"type": "security_exception", "reason": "missing authentication"}, "status": 401}),
        (400, {"error": {"type": "parse_exception", "reason": "bad"}, "status": 400}),
    ]
    with closing(ElasticsearchTransport(ElasticsearchSettings(url=not_elasticsearch.url))) as transport:
        first = transport.send([_event(1, "x-2026.01.01")], timeout=5)
        second = transport.send([_event(1, "x-2026.01.01")], timeout=5)
    assert (first[0].kind, first[0].status, first[0].reason) == (
        "retry",
        401,
        "security_exception: missing authentication",
    )
    assert (second[0].kind, second[0].status, second[0].reason) == ("rejected", 400, "parse_exception: bad")


def test_a_whole_request_refused_at_the_shard_limit_is_one_retry(not_elasticsearch: FakeKibana) -> None:
    """A whole `_bulk` refused because the cluster is at its shard limit is a retry of every document
    with the shard-limit cause, in one request: not halved down to single documents and rejected."""
    shard_limit = {
        "error": {
            "root_cause": [
                {
                    "type": "validation_exception",
                    "reason": "Validation Failed: 1: this action would add [1] shards, but this cluster "
                    "currently has [6]/[6] maximum normal shards open;",
                }
            ],
            "type": "validation_exception",
            "reason": "Validation Failed: 1: this action would add [1] shards",
        },
        "status": 400,
    }
    not_elasticsearch.answers.append((400, shard_limit))
    batch = [_event(n, "x-2026.01.01") for n in range(4)]
    with closing(ElasticsearchTransport(ElasticsearchSettings(url=not_elasticsearch.url))) as transport:
        outcomes = transport.send(batch, timeout=5)
    assert [(o.kind, o.cause) for o in outcomes] == [("retry", SHARD_LIMIT)] * 4
    assert "maximum normal shards open" in outcomes[0].reason
    assert len(not_elasticsearch.requests) == 1


class _ClosesIdleConnections(BaseHTTPRequestHandler):
    """Answers each `_bulk` as Elasticsearch does (one result per document), then closes the kept-alive
    connection, as a node or a proxy does with idle connections."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        items = [{"create": {"status": 201}}] * (body.count(b"\n") // 2)  # (an action line, a document line)
        payload = json.dumps({"errors": False, "items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_connection_closed_while_idle_is_opened_again_without_a_retry() -> None:
    """A kept-alive connection the node closed while idle is replaced before the next request: the
    request is delivered at once, not counted as a retry."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesIdleConnections)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        settings = ElasticsearchSettings(url=f"http://127.0.0.1:{server.server_address[1]}")
        with closing(ElasticsearchTransport(settings)) as transport:
            for _ in range(3):
                assert [o.kind for o in transport.send([_event(1, "x-2026.01.01")], timeout=5)] == [
                    "delivered"
                ]
                time.sleep(0.05)  # the server has closed its end by now
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_tls_certificates_are_verified(tls_server: FakeKibana, certificate: tuple[Path, Path]) -> None:
    """An unknown certificate is refused before anything is sent (a retry); `ca_certs` naming it, or
    `verify_certs=False`, lets the request through."""
    events = [_event(1, "x-2026.01.01")]
    with closing(ElasticsearchTransport(ElasticsearchSettings(url=tls_server.url))) as transport:
        refused = transport.send(events, timeout=5)
    assert refused[0].kind == "retry" and "CERTIFICATE_VERIFY_FAILED" in refused[0].reason
    assert not tls_server.requests
    for settings in (
        ElasticsearchSettings(url=tls_server.url, ca_certs=str(certificate[0])),
        ElasticsearchSettings(url=tls_server.url, verify_certs=False),
    ):
        with closing(ElasticsearchTransport(settings)) as transport:
            transport.send(events, timeout=5)
    assert len(tls_server.requests) == 2


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


@pytest.mark.parametrize(
    ("item", "kind", "cause"),
    [
        pytest.param(
            {
                "status": 400,
                "error": {
                    "type": "validation_exception",
                    "reason": "Validation Failed: 1: this action would add [2] shards, but this cluster "
                    "currently has [1000]/[1000] maximum normal shards open;",
                },
            },
            "retry",
            SHARD_LIMIT,
            id="max-shards-per-node",
        ),
        pytest.param(
            {
                "status": 403,
                "error": {"type": "cluster_block_exception", "reason": "blocked by: [FORBIDDEN/8]"},
            },
            "retry",
            "",
            id="write-block",
        ),
        pytest.param(
            {"status": 400, "error": {"type": "document_parsing_exception", "reason": "failed to parse"}},
            "rejected",
            "",
            id="mapping-error",
        ),
    ],
)
def test_a_cluster_limit_is_a_retry_and_a_bad_document_a_rejection(
    item: dict[str, Any], kind: str, cause: str
) -> None:
    """The node's refusal to create an index at the max-shards limit, and a write block, are retries
    (the limit's counted by its cause), never dead letters; a document the mapping refuses is one."""
    outcome = _item_outcome({"create": item})
    assert (outcome.kind, outcome.cause) == (kind, cause)


class _EndlessAnswer(BaseHTTPRequestHandler):
    """Answers a request as Elasticsearch would begin to, then streams its body without end (a wrong
    URL, a broken proxy): full speed, or a few bytes at a time under the socket's timeout (`drip`).
    Bounded: it stops after 30 s or once the client has gone."""

    protocol_version = "HTTP/1.1"
    drip = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b" " * (4 if self.drip else 1 << 16)
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        stop = time.monotonic() + 30
        try:
            while time.monotonic() < stop:
                self.wfile.write(chunk)
                self.wfile.flush()
                if self.drip:
                    time.sleep(0.2)
        except OSError:  # the client went away
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _DrippingAnswer(_EndlessAnswer):
    drip = True


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(_EndlessAnswer, id="endless-stream"),
        pytest.param(_DrippingAnswer, id="drip-under-timeout"),
    ],
)
def test_an_answer_without_end_is_a_retry_in_bounded_time(handler: type[BaseHTTPRequestHandler]) -> None:
    """A node whose answer never ends (at full speed, or a few bytes at a time, each under the socket's
    timeout) costs one timed-out request, its documents retried: the agent read it for ever, its
    memory growing with it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        settings = ElasticsearchSettings(url=f"http://127.0.0.1:{server.server_address[1]}")
        with closing(ElasticsearchTransport(settings)) as transport:
            started = time.monotonic()
            outcomes = transport.send([_event(n, "x-2026.01.01") for n in range(3)], timeout=2)
            took = time.monotonic() - started
        assert [o.kind for o in outcomes] == ["retry"] * 3
        assert "answer" in outcomes[0].reason
        assert took < 20, took  # the server streams for 30 s
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _answering(body: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    """A handler that answers every `_bulk` with `body` and 200, saying it is Elasticsearch."""

    class Answering(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Answering


@pytest.mark.parametrize("items", [None, [], [{"create": {"status": 201}}]], ids=["none", "empty", "fewer"])
def test_an_answer_that_does_not_account_for_every_document_is_no_acknowledgement(
    items: list[dict[str, Any]] | None,
) -> None:
    """A 200 from a server that says it is Elasticsearch (a proxy, a cache, a gateway) with `errors: false`
    but fewer results than documents: every document is a retry, none counted delivered."""
    body: dict[str, Any] = {"errors": False} if items is None else {"errors": False, "items": items}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _answering(body))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        settings = ElasticsearchSettings(url=f"http://127.0.0.1:{server.server_address[1]}")
        with closing(ElasticsearchTransport(settings)) as transport:
            outcomes = transport.send([_event(n, "x-2026.01.01") for n in range(3)], timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [o.kind for o in outcomes] == ["retry"] * 3 and "results for 3 documents" in outcomes[0].reason
