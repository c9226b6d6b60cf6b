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
from dataclasses import dataclass
from typing import Literal, Protocol

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
