"""Retention: delete whole daily event indices past `[retention] events`, and registry groups not
seen for `[retention] groups`.

Where the cluster has ILM, `install_policy` puts a delete-only lifecycle policy that the index
template names, and the cluster deletes each daily index itself. Where it has not (the embedded
node, a cluster without the feature), `logloop prune` (scheduled daily by `logloop schedule`) does
the same. Indices are deleted by their exact names, never by a wildcard, and only names that are
exactly `<prefix>-YYYY.MM.DD`: nothing else that happens to match the pattern is touched.

A daily index is expired once its whole day (UTC) is older than the retention, so no event younger
than the retention is ever deleted; the ILM policy's `min_age` (counted from the index's creation,
at the first event of its day) adds one day for the same reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from analyzers import es, registry
from analyzers.config import RetentionConfig
from shipper.schema import index_pattern

DELETE_CHUNK: Final = 50  # index names per DELETE request: keeps the URL short
_REGISTRY_PAGE: Final = 1000
_MAX_REGISTRY_PAGES: Final = 1000  # bound of the registry clean-up loop (a million groups)


@dataclass(frozen=True, kw_only=True)
class PruneResult:
    deleted_indices: tuple[str, ...]
    kept_indices: int
    deleted_groups: int
    dry_run: bool


def policy_name(prefix: str) -> str:
    return f"{prefix}-events"


def policy_body(config: RetentionConfig) -> dict[str, Any]:
    """The ILM policy: nothing until the index's whole day is past the retention, then delete."""
    days = int((config.events + timedelta(days=1)).total_seconds() // 86400)
    return {
        "phases": {
            "hot": {"min_age": "0ms", "actions": {}},
            "delete": {"min_age": f"{days}d", "actions": {"delete": {}}},
        },
        "_meta": {"managed_by": "logloop", "retention_events": f"{config.events.days}d"},
    }


def ilm_available(client: Any) -> bool:
    """Whether the cluster has index lifecycle management (the embedded node has not)."""
    with es.translated("ask whether the cluster has index lifecycle management"):
        response = client.options(ignore_status=(400, 404, 405, 410)).ilm.get_status()
    body = response.body if hasattr(response, "body") else response
    return isinstance(body, dict) and "operation_mode" in body


def install_policy(client: Any, prefix: str, config: RetentionConfig) -> str | None:
    """PUT the lifecycle policy where the cluster has ILM; its name, or None without ILM."""
    if not ilm_available(client):
        return None
    name = policy_name(prefix)
    with es.translated(f"install the lifecycle policy {name}"):
        client.ilm.put_lifecycle(name=name, policy=policy_body(config))
    return name


def daily_index_day(name: str, prefix: str) -> datetime | None:
    """The UTC day a `<prefix>-YYYY.MM.DD` index holds, or None for any other name (pure)."""
    match = re.fullmatch(re.escape(prefix) + r"-(\d{4})\.(\d{2})\.(\d{2})", name)
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None


def expired_indices(names: Iterable[str], prefix: str, *, retention: timedelta, now: datetime) -> list[str]:
    """The daily indices whose whole day ended at least `retention` ago, oldest first (pure)."""
    cutoff = now.astimezone(UTC) - retention
    expired = []
    for name in names:
        day = daily_index_day(name, prefix)
        if day is not None and day + timedelta(days=1) <= cutoff:
            expired.append((day, name))
    return [name for _, name in sorted(expired)]


def daily_indices(client: Any, prefix: str) -> list[str]:
    """Names of the open and closed indices matching the daily pattern (listed, never deleted, by it)."""
    with es.translated("list the daily indices"):
        response = client.options(ignore_status=404).cat.indices(
            index=index_pattern(prefix), h="index", format="json", expand_wildcards="open,closed"
        )
    rows = response.body if hasattr(response, "body") else response
    return (
        sorted(str(row["index"]) for row in rows if isinstance(row, dict)) if isinstance(rows, list) else []
    )


def delete_indices(client: Any, names: Sequence[str]) -> None:
    """DELETE the indices by their exact names, a few at a time."""
    for start in range(0, len(names), DELETE_CHUNK):
        chunk = names[start : start + DELETE_CHUNK]
        if any(char in name for name in chunk for char in "*?,"):
            raise ValueError(f"refusing to delete by a pattern: {chunk}")  # daily_index_day admits none
        with es.translated(f"delete {len(chunk)} expired indices"):
            client.options(ignore_status=404).indices.delete(index=",".join(chunk))


def prune_registry(client: Any, prefix: str, *, older_than: datetime, dry_run: bool) -> int:
    """Remove groups last seen before `older_than` from the registry; how many (would) go."""
    index = registry.index_name(prefix)
    query = {"range": {"last_seen": {"lt": older_than.astimezone(UTC).isoformat()}}}
    if dry_run:
        response = es.search(client, index=index, body={"size": 0, "track_total_hits": True, "query": query})
        return int(response.get("hits", {}).get("total", {}).get("value", 0))
    deleted = 0
    for _ in range(_MAX_REGISTRY_PAGES):
        body = {"size": _REGISTRY_PAGE, "_source": False, "query": query, "sort": [{"group_id": "asc"}]}
        hits = (
            es.search(client, index=index, body=body, action="find stale groups").get("hits", {}).get("hits")
        )
        if not hits:
            break
        operations = [{"delete": {"_index": index, "_id": hit["_id"]}} for hit in hits]
        deleted += es.bulk(client, operations=operations, action="remove stale groups", refresh=True)
    return deleted


def prune(
    client: Any,
    prefix: str,
    *,
    config: RetentionConfig,
    now: datetime,
    dry_run: bool = False,
    indices: bool = True,
) -> PruneResult:
    """Delete the expired daily indices (unless `indices` is False: ILM deletes them) and stale
    registry groups; with `dry_run`, only count them."""
    names = daily_indices(client, prefix) if indices else []
    expired = expired_indices(names, prefix, retention=config.events, now=now)
    if not dry_run:
        delete_indices(client, expired)
    groups = prune_registry(client, prefix, older_than=now - config.groups, dry_run=dry_run)
    return PruneResult(
        deleted_indices=tuple(expired),
        kept_indices=len(names) - len(expired),
        deleted_groups=groups,
        dry_run=dry_run,
    )
