"""What reached the node: every document under an index prefix, read exactly (paged), not sampled.

Delivery tests count what arrived against what was logged (0 lost, 0 duplicated), so a read that
stops at one page of hits would hide losses past it: `search_after` on `event.id` reads them all.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

from elasticsearch import ApiError

from shipper import schema

_PAGE = 10_000
_STARTING_WAIT = 60.0  # seconds a search waits for a shard that a program's first bulk is creating


def documents(
    es: Any, prefix: str, query: Mapping[str, Any] | None = None, *, fields: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every document under `prefix-*` matching `query` (all by default), sources only (`fields` of them)."""
    es.indices.refresh(index=f"{prefix}-*", allow_no_indices=True)
    found: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while True:
        page = _search(
            es,
            index=f"{prefix}-*",
            query=dict(query or {"match_all": {}}),
            sort=[{"event.id": "asc"}],
            size=_PAGE,
            search_after=after,
            source=list(fields) if fields is not None else True,
            allow_no_indices=True,
        )
        hits = page["hits"]["hits"]
        found.extend(hit["_source"] for hit in hits)
        if len(hits) < _PAGE:
            return found
        after = hits[-1]["sort"]


def _search(es: Any, **request: Any) -> Any:
    """One search, once the indices it reads have their shards started. A test that polls while the
    program it ran delivers may read an index the program's first bulk is creating: until its shard
    starts (seconds, on a loaded machine) a search of it alone is refused with 503, all shards failed."""
    deadline = time.monotonic() + _STARTING_WAIT
    while True:
        es.cluster.health(index=request["index"], wait_for_status="yellow", timeout=f"{_STARTING_WAIT:.0f}s")
        try:
            return es.search(**request)
        except ApiError as exc:  # created between the two calls: wait for it as well
            if exc.meta.status != 503 or time.monotonic() > deadline:
                raise


def log_messages(es: Any, prefix: str) -> collections.Counter[str]:
    """How many log documents (not health or feedback) carry each message under `prefix-*`."""
    logs = documents(es, prefix, {"term": {"event.dataset": schema.DATASET_LOG}}, fields=["message"])
    return collections.Counter(doc["message"] for doc in logs)
