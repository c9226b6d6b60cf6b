"""`logloop regroup`: give error events already indexed a current grouping key.

Targets error events without `error.grouping_key` (another shipper sent them) or without / with an
older `logloop.grouping_version`. They are read in (@timestamp, event.id) order with `search_after`,
`batch` events a page, fingerprinted with `shipper.grouping.fingerprint.fingerprint_event`, and written back
with `_bulk` partial updates by id to the daily index each came from. This is the only place the
analyzers page through raw events; it is bounded by `--since` and the batch size.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO

from analyzers import es, group_edits, queries
from analyzers.exceptions import ConfigurationError
from shipper.schema import get_field, index_pattern

DEFAULT_BATCH = 500


class _Fingerprint(Protocol):
    """What regroup needs of `shipper.grouping.fingerprint.Fingerprint` (read-only attributes)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...


Fingerprinter = Callable[[Mapping[str, Any]], _Fingerprint | None]


@dataclass(frozen=True, kw_only=True)
class RegroupResult:
    scanned: int
    updated: int
    unchanged: int  # already carried the same key and version
    not_errors: int  # the fingerprint said it is not an error event


def load_fingerprinter() -> tuple[Fingerprinter, int]:
    """`fingerprint_event` and the current grouping version, imported lazily."""
    try:
        from shipper.grouping.fingerprint import GROUPING_VERSION, fingerprint_event
    except ImportError:
        raise ConfigurationError(
            "shipper.grouping.fingerprint is not available: reinstall logloop to regroup"
        ) from None
    return fingerprint_event, int(GROUPING_VERSION)


def update_operations(
    hit: Mapping[str, Any], fingerprint: _Fingerprint, edits: Sequence[group_edits.Edit] = ()
) -> list[dict[str, Any]]:
    """The two `_bulk` lines that set the grouping fields of one event (pure); `logloop group` edits
    carried through (see `group_edits.regrouped`)."""
    source = hit.get("_source") or {}
    key, moved_by = group_edits.regrouped(source, fingerprint.key, edits)
    error: dict[str, Any] = {"grouping_key": key, "grouping_name": fingerprint.name}
    logloop: dict[str, Any] = {"grouping_version": fingerprint.version}
    if moved_by is not None or get_field(source, "logloop.group_edit"):
        error["grouping_default_key"] = fingerprint.key
        logloop["group_edit"] = moved_by
    return [
        {"update": {"_index": hit["_index"], "_id": hit["_id"]}},
        {"doc": {"error": error, "logloop": logloop}},
    ]


def _current(source: Mapping[str, Any], fingerprint: _Fingerprint, edits: Sequence[group_edits.Edit]) -> bool:
    key = group_edits.regrouped(source, fingerprint.key, edits)[0] if edits else fingerprint.key
    return bool(
        get_field(source, "error.grouping_key") == key
        and get_field(source, "logloop.grouping_version") == fingerprint.version
    )


def _progress(total: int, *, enabled: bool, stream: TextIO | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc="regroup", file=stream or sys.stderr, disable=not enabled)


def run_regroup(
    client: Any,
    prefix: str,
    *,
    since: datetime | None,
    until: datetime,
    batch: int = DEFAULT_BATCH,
    progress: bool = True,
    stream: TextIO | None = None,
    fingerprinter: tuple[Fingerprinter, int] | None = None,
) -> RegroupResult:
    """Regroup every targeted event in [since, until); a progress bar on `stream` (default stderr)."""
    fingerprint_event, version = fingerprinter or load_fingerprinter()
    edits = group_edits.load(client, prefix)
    new_keys: dict[str, list[str]] = {}  # edit id -> new default keys of the events it moved
    query = queries.needs_regrouping(current_version=version, since=since, until=until)
    scanned = updated = unchanged = not_errors = 0
    search_after: list[Any] | None = None
    bar = None
    try:
        while True:
            response = es.search(
                client,
                index=index_pattern(prefix),
                body=queries.regroup_page(query=query, batch=batch, search_after=search_after),
                action="read events to regroup",
            )
            hits = response.get("hits", {}).get("hits", [])
            if bar is None:
                total = int(response.get("hits", {}).get("total", {}).get("value", 0))
                bar = _progress(total, enabled=progress, stream=stream)
            if not hits:
                break
            operations: list[dict[str, Any]] = []
            for hit in hits:
                fingerprint = fingerprint_event(hit["_source"])
                if fingerprint is None:
                    not_errors += 1
                elif _current(hit["_source"], fingerprint, edits):
                    unchanged += 1
                else:
                    operations.extend(update_operations(hit, fingerprint, edits))
                    moved = get_field(hit["_source"], "logloop.group_edit")
                    if isinstance(moved, str):
                        new_keys.setdefault(moved, []).append(fingerprint.key)
            updated += es.bulk(client, operations=operations, action="write grouping keys")
            scanned += len(hits)
            bar.update(len(hits))
            search_after = hits[-1]["sort"]
    finally:
        if bar is not None:
            bar.close()
    for edit in edits:  # events shipped with the new keys join the edited group at the next apply
        carried = group_edits.carried(edit, new_keys.get(edit.edit_id, ()))
        if carried is not edit:
            group_edits.save(client, prefix, carried)
    if updated:
        es.refresh(client, index=index_pattern(prefix))
    return RegroupResult(scanned=scanned, updated=updated, unchanged=unchanged, not_errors=not_errors)
