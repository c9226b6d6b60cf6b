"""The transport protocol: hand a batch of documents to a server, get one `Outcome` per document.

A transport never raises for delivery problems. Outcomes:

    delivered  the server has it (for Elasticsearch a 409 "already exists" also counts: the id was
               indexed by an earlier attempt)
    rejected   the server refused this document for good (mapping or parse error): dead-letter it
    retry      try again later (429, 5xx, timeouts, connection refused, authentication failures,
               a cluster limit such as max shards per node: an operator can fix these without loss)

`cause` names a retry worth counting apart (`SHARD_LIMIT`). An implementation needs `send`,
`ensure_template` and `close`; `shipper.transports` builds the real ones from plain settings.

`ensure_template` makes sure the events' index template exists before the agent first sends under
an index prefix, as Beats and the APM server install theirs: a program whose operator never ran
`logloop setup` would otherwise create its daily indices with a dynamic mapping (`@timestamp` as
text, no keyword for the analyzers to aggregate), which only a reindex repairs. A template already
there (`logloop setup`'s, with the operator's shards, replicas and lifecycle policy) is never
replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, NamedTuple, Protocol

from shipper.spool.bulk import SpooledEvent

OutcomeKind = Literal["delivered", "rejected", "retry"]
SHARD_LIMIT: Final = "shard_limit"


# Outcome and TemplateCheck are NamedTuples, not frozen dataclasses: every program that logs defines
# them at import (see docs/performance.md, "The short script in instructions").
class Outcome(NamedTuple):
    """What became of one document: `kind`, the HTTP-like `status` (0 if none) and the reason."""

    kind: OutcomeKind
    status: int = 0
    reason: str = ""
    cause: str = ""


DELIVERED: Final = Outcome("delivered", 201)

TemplateState = Literal["present", "installed", "refused", "unreachable", "not_needed"]


class TemplateCheck(NamedTuple):
    """What `ensure_template` found: the template was `present` or is now `installed`; the server
    `refused` to install it (no privilege, a template that overlaps it: `reason` says); it could
    not be asked (`unreachable`: ask again later); or the transport writes to no index itself
    (`not_needed`: Logstash's output manages its own)."""

    state: TemplateState
    reason: str = ""


class Transport(Protocol):
    """Sends batches; `timeout` bounds the whole call in seconds (sockets included)."""

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]: ...

    def ensure_template(self, prefix: str, timeout: float) -> TemplateCheck: ...

    def close(self) -> None: ...


def retry_all(batch: Sequence[SpooledEvent], reason: str, status: int = 0) -> list[Outcome]:
    outcome = Outcome("retry", status, reason)
    return [outcome] * len(batch)
