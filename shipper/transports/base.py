"""The transport protocol: hand a batch of documents to a server, get one `Outcome` per document.

A transport never raises for delivery problems. Outcomes:

    delivered  the server has it (for Elasticsearch a 409 "already exists" also counts: the id was
               indexed by an earlier attempt)
    rejected   the server refused this document for good (mapping or parse error): dead-letter it
    retry      try again later (429, 5xx, timeouts, connection refused, authentication failures,
               a cluster limit such as max shards per node: an operator can fix these without loss)

`cause` names a retry worth counting apart (`SHARD_LIMIT`). An implementation needs `send` and
`close`; `shipper.transports` builds the real ones from plain settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from shipper.spool.bulk import SpooledEvent

OutcomeKind = Literal["delivered", "rejected", "retry"]
SHARD_LIMIT: Final = "shard_limit"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one document: `kind`, the HTTP-like `status` (0 if none) and the reason."""

    kind: OutcomeKind
    status: int = 0
    reason: str = ""
    cause: str = ""


DELIVERED: Final = Outcome("delivered", 201)


class Transport(Protocol):
    """Sends batches; `timeout` bounds the whole call in seconds (sockets included)."""

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]: ...

    def close(self) -> None: ...


def retry_all(batch: Sequence[SpooledEvent], reason: str, status: int = 0) -> list[Outcome]:
    outcome = Outcome("retry", status, reason)
    return [outcome] * len(batch)
