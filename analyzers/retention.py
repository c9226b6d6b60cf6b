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

from analyzers.config import RetentionConfig
from analyzers.store import Store

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


def install_policy(store: Store, config: RetentionConfig) -> str | None:
    """PUT the lifecycle policy where the cluster has ILM; its name, or None without ILM."""
    if not store.ilm_available():
        return None
    name = policy_name(store.prefix)
    store.put_lifecycle(name=name, policy=policy_body(config))
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


def daily_indices(store: Store) -> list[str]:
    """Names of the open and closed indices matching the daily pattern (listed, never deleted, by it)."""
    return store.list_indices(pattern=store.events, action="list the daily indices")


def delete_indices(store: Store, names: Sequence[str]) -> None:
    """DELETE the indices by their exact names, a few at a time (a pattern raises ValueError)."""
    for start in range(0, len(names), DELETE_CHUNK):
        chunk = names[start : start + DELETE_CHUNK]
        store.delete_indices(names=chunk, action=f"delete {len(chunk)} expired indices")


def prune_registry(store: Store, *, older_than: datetime, dry_run: bool) -> int:
    """Remove groups last seen before `older_than` from the registry; how many (would) go."""
    index = store.registry
    query = {"range": {"last_seen": {"lt": older_than.astimezone(UTC).isoformat()}}}
    if dry_run:
        response = store.search(index=index, body={"size": 0, "track_total_hits": True, "query": query})
        return int(response.get("hits", {}).get("total", {}).get("value", 0))
    deleted = 0
    for _ in range(_MAX_REGISTRY_PAGES):
        body = {"size": _REGISTRY_PAGE, "_source": False, "query": query, "sort": [{"group_id": "asc"}]}
        hits = store.search(index=index, body=body, action="find stale groups").get("hits", {}).get("hits")
        if not hits:
            break
        operations = [{"delete": {"_index": index, "_id": hit["_id"]}} for hit in hits]
        deleted += store.bulk(operations=operations, action="remove stale groups", refresh=True)
    return deleted


def prune(
    store: Store,
    *,
    config: RetentionConfig,
    now: datetime,
    dry_run: bool = False,
    indices: bool = True,
) -> PruneResult:
    """Delete the expired daily indices (unless `indices` is False: ILM deletes them) and stale
    registry groups; with `dry_run`, only count them."""
    names = daily_indices(store) if indices else []
    expired = expired_indices(names, store.prefix, retention=config.events, now=now)
    if not dry_run:
        delete_indices(store, expired)
    groups = prune_registry(store, older_than=now - config.groups, dry_run=dry_run)
    return PruneResult(
        deleted_indices=tuple(expired),
        kept_indices=len(names) - len(expired),
        deleted_groups=groups,
        dry_run=dry_run,
    )
