"""Transports: hand a batch of spooled documents to a server and report, per document, what happened.

A transport never raises for delivery problems: it returns one `Outcome` per document, in order.

    delivered  the server has it (for Elasticsearch a 409 "already exists" also counts: the id was
               indexed by an earlier attempt)
    rejected   the server refused this document for good (mapping or parse error): dead-letter it
    retry      try again later (429, 5xx, timeouts, connection refused, authentication failures,
               which an operator can fix without losing events)

Transports: `elasticsearch` (`_bulk` with create semantics, the default), `logstash-beats`
(acknowledged) and `logstash-tcp` (json_lines; "delivered" means written to the socket).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from shipper.connection import ElasticsearchSettings
from shipper.spool import SpooledEvent

OutcomeKind = Literal["delivered", "rejected", "retry"]
TRANSPORT_KINDS = ("elasticsearch", "logstash-beats", "logstash-tcp")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one document: `kind`, the HTTP-like `status` (0 if none) and the reason."""

    kind: OutcomeKind
    status: int = 0
    reason: str = ""


DELIVERED = Outcome("delivered", 201)


class Transport(Protocol):
    """Sends batches; `timeout` bounds the whole call in seconds (sockets included)."""

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]: ...

    def close(self) -> None: ...


def retry_all(batch: Sequence[SpooledEvent], reason: str, status: int = 0) -> list[Outcome]:
    outcome = Outcome("retry", status, reason)
    return [outcome] * len(batch)


@dataclass(frozen=True, slots=True)
class TransportSpec:
    """Everything needed to build a transport, as plain data (it is handed to the delivery process)."""

    kind: str
    elasticsearch: ElasticsearchSettings
    logstash_host: str = "127.0.0.1"
    logstash_port: int = 5044
    logstash_ssl: bool = False

    def make(self) -> Transport:
        if self.kind == "elasticsearch":
            from shipper.transports.elasticsearch import ElasticsearchTransport

            return ElasticsearchTransport(self.elasticsearch)
        from shipper.transports.logstash import LogstashTransport

        settings = self.elasticsearch
        return LogstashTransport(
            protocol="beats" if self.kind == "logstash-beats" else "tcp",
            host=self.logstash_host,
            port=self.logstash_port,
            ssl_enable=self.logstash_ssl,
            ssl_verify=settings.ca_certs or settings.verify_certs,
            ca_certs=settings.ca_certs,
            socket_timeout=settings.request_timeout,
        )

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TransportSpec:
        return cls(**{**data, "elasticsearch": ElasticsearchSettings(**data["elasticsearch"])})
