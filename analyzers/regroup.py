"""`logloop regroup`: give error events already indexed a current grouping key.

Targets error events without `error.grouping_key` (another shipper sent them) or without / with an
older `logloop.grouping_version`. They are read in (@timestamp, event.id) order with `search_after`,
`batch` events a page, and written back with `_bulk` partial updates by id to the daily index each
came from. This is the only place the analyzers page through raw events; it is bounded by `--since`
and the batch size (`analyze` runs it over its look-back range first).

Two ways to a key, as `logloop cluster` has them:
- events with a Python traceback or a logging template: `shipper.grouping.fingerprint.fingerprint_event`,
  the key the shipper itself would have stored;
- message-only events (`shipper.grouping.message_only`: another shipper's lines carry no template) are
  grouped by the template miner across events, never one by one (one event alone cannot tell a
  variable word from a constant one). Templates learned by earlier runs are matched first, the rest
  mined together, `MINE_CHUNK` events at a time (the memory bound), and the new templates stored in
  `<prefix>-templates` (`analyzers.template_store`) so later runs give the same keys. The one key
  that changes: when new lines show that an earlier template was one value of a variable (a first run
  saw three user names, a later one twenty), its events move to the general template's key and its
  registry group goes (`move_merged`), so one statement stays one group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TextIO

from analyzers import group_edits, queries, registry, template_store
from analyzers.exceptions import ConfigurationError
from analyzers.store import Store
from shipper.grouping.json_logs import as_ecs
from shipper.grouping.message_only import LearnedTemplates, has_key_of_its_own, message_of, title_of
from shipper.grouping.templates import Template
from shipper.schema import get_field

DEFAULT_BATCH = 500
MINE_CHUNK: Final = 20_000  # message-only events mined together (held in memory as id + first line)


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
    hit: Mapping[str, Any], fingerprint: _Fingerprint, edits: group_edits.Edits = ()
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


@dataclass(frozen=True, slots=True)
class MinedKey:
    """The grouping of a message-only event: its template's key and text (a `_Fingerprint`)."""

    key: str
    name: str
    version: int


@dataclass(frozen=True, kw_only=True)
class MinedBatch:
    """What mining one chunk of message-only events gives: updates, templates learned from it, and
    earlier templates it showed to be values of a variable (old, new)."""

    operations: list[dict[str, Any]]
    unchanged: int
    learned: tuple[Template, ...]
    merged: tuple[tuple[Template, Template], ...] = ()


def mine_messages(
    hits: Sequence[Mapping[str, Any]],
    known: LearnedTemplates,
    *,
    version: int,
    edits: group_edits.Edits = (),
    note: Callable[[Mapping[str, Any], str], None] | None = None,
) -> MinedBatch:
    """Group message-only events by template, known templates first, `logloop group` edits carried
    (pure)."""
    assignment = known.assign([message_of(hit["_source"]) for hit in hits])
    operations: list[dict[str, Any]] = []
    unchanged = 0
    for hit, template in zip(hits, assignment.templates, strict=True):
        mined = MinedKey(key=template.cluster_id, name=title_of(template), version=version)
        if _current(hit["_source"], mined, edits):
            unchanged += 1
        else:
            operations.extend(update_operations(hit, mined, edits))
            if note is not None:
                note(hit["_source"], mined.key)
    return MinedBatch(
        operations=operations, unchanged=unchanged, learned=assignment.learned, merged=assignment.merged
    )


def _lean_hit(hit: Mapping[str, Any]) -> dict[str, Any]:
    """What mining needs of a hit (bounds the memory a chunk holds)."""
    source = hit["_source"]
    lean = {
        name: value
        for name in (
            "message",
            "error.message",
            "error.type",
            "error.grouping_key",
            "error.grouping_default_key",
            "logloop.grouping_version",
            "logloop.group_edit",  # and service.version: what an edit's split reads
            "service.version",
        )
        if (value := get_field(source, name)) is not None
    }
    return {"_index": hit["_index"], "_id": hit["_id"], "_source": lean}


def _flush_messages(
    store: Store,
    pending: list[dict[str, Any]],
    *,
    version: int,
    now: datetime,
    edits: group_edits.Edits = (),
    note: Callable[[Mapping[str, Any], str], None] | None = None,
) -> tuple[int, int]:
    """Mine the pending message-only events, store new templates, write their keys: (updated, unchanged)."""
    if not pending:
        return 0, 0
    batch = mine_messages(pending, template_store.load(store), version=version, edits=edits, note=note)
    template_store.save(store, batch.learned, now=now)
    updated = store.bulk(operations=batch.operations, action="write grouping keys")
    if batch.merged:
        updated += move_merged(store, batch.merged, version=version)
    pending.clear()
    return updated, batch.unchanged


def move_merged(
    store: Store, merged: Sequence[tuple[Template, Template]], *, version: int, batch: int = 1000
) -> int:
    """Give the events of merged templates the general template's key, record the merge, and drop the
    merged groups from the registry (their events now count in the general group)."""
    target = {old.cluster_id: new for old, new in merged}
    query = queries.in_groups(target)
    store.refresh(index=store.events)  # keys written by this run's earlier chunks
    moved = 0
    search_after: list[Any] | None = None
    while True:
        response = store.search(
            index=store.events,
            body=queries.regroup_page(query=query, batch=batch, search_after=search_after),
            action="read events of merged templates",
        )
        hits = response.get("hits", {}).get("hits", [])
        if not hits:
            break
        operations: list[dict[str, Any]] = []
        for hit in hits:
            new = target[str(get_field(hit["_source"], "error.grouping_key"))]
            key = MinedKey(key=new.cluster_id, name=title_of(new), version=version)
            operations.extend(update_operations(hit, key))
        moved += store.bulk(operations=operations, action="move events of merged templates")
        search_after = hits[-1]["sort"]
    template_store.mark_merged(store, merged)
    registry.forget(store, target)
    return moved


def _current(source: Mapping[str, Any], fingerprint: _Fingerprint, edits: group_edits.Edits = ()) -> bool:
    key = group_edits.regrouped(source, fingerprint.key, edits)[0] if edits else fingerprint.key
    return bool(
        get_field(source, "error.grouping_key") == key
        and get_field(source, "logloop.grouping_version") == fingerprint.version
    )


class _Carry:
    """The new default keys a regroup gave events whose old default key an edit names, by edit: saved
    into the edits' sources at the end (in place: an `unmerge` made meanwhile stays)."""

    def __init__(self, edits: Sequence[group_edits.Edit]) -> None:
        self.by_key: dict[str, list[str]] = {}
        for edit in edits:
            for key in edit.keys:
                self.by_key.setdefault(key, []).append(edit.edit_id)
        self.edits = {edit.edit_id: edit for edit in edits}
        self.new_keys: dict[str, dict[str, None]] = {}

    def note(self, source: Mapping[str, Any], new_key: str) -> None:
        old = group_edits.previous_default(source)
        for edit_id in self.by_key.get(old or "", ()):
            if new_key not in self.edits[edit_id].keys:
                self.new_keys.setdefault(edit_id, {})[new_key] = None

    def save(self, store: Store) -> None:
        for edit_id, keys in self.new_keys.items():
            group_edits.add_sources(store, edit_id, list(keys))


def _progress(total: int, *, enabled: bool, stream: TextIO | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="event", desc="regroup", file=stream or sys.stderr, disable=not enabled)


def run_regroup(
    store: Store,
    *,
    since: datetime | None,
    until: datetime,
    batch: int = DEFAULT_BATCH,
    progress: bool = True,
    stream: TextIO | None = None,
    fingerprinter: tuple[Fingerprinter, int] | None = None,
    now: datetime | None = None,
    missing_only: bool = False,
) -> RegroupResult:
    """Regroup every targeted event in [since, until); a progress bar on `stream` (default stderr).

    `missing_only` leaves events that have a key of an older grouping version as they are."""
    fingerprint_event, version = fingerprinter or load_fingerprinter()
    stored = group_edits.load(store)
    carry = _Carry(stored)  # the new default keys of the events whose old key an edit names
    edits = group_edits.EditPlan(stored)
    query = queries.needs_regrouping(
        current_version=version, since=since, until=until, missing_only=missing_only
    )
    scanned = updated = unchanged = not_errors = 0
    search_after: list[Any] | None = None
    pending: list[dict[str, Any]] = []  # message-only events waiting to be mined
    now = now or datetime.now(UTC)
    bar = None
    try:
        while True:
            response = store.search(
                index=store.events,
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
            for stored in hits:
                # Another JSON logger's event (OpenTelemetry's `body`, structlog's `event`...) is read as
                # `logloop cluster` reads it; only grouping fields are written back.
                hit = {**stored, "_source": as_ecs(stored["_source"])}
                fingerprint = fingerprint_event(hit["_source"])
                if fingerprint is None:
                    not_errors += 1
                elif not has_key_of_its_own(hit["_source"]):
                    pending.append(_lean_hit(hit))
                elif _current(hit["_source"], fingerprint, edits):
                    unchanged += 1
                else:
                    operations.extend(update_operations(hit, fingerprint, edits))
                    carry.note(hit["_source"], fingerprint.key)
            updated += store.bulk(operations=operations, action="write grouping keys")
            if len(pending) >= MINE_CHUNK:
                counts = _flush_messages(
                    store, pending, version=version, now=now, edits=edits, note=carry.note
                )
                updated, unchanged = updated + counts[0], unchanged + counts[1]
            scanned += len(hits)
            bar.update(len(hits))
            search_after = hits[-1]["sort"]
        counts = _flush_messages(store, pending, version=version, now=now, edits=edits, note=carry.note)
        updated, unchanged = updated + counts[0], unchanged + counts[1]
    finally:
        if bar is not None:
            bar.close()
    carry.save(store)  # events shipped with the new keys join the edited group at the next apply
    if updated:
        store.refresh(index=store.events)
    return RegroupResult(scanned=scanned, updated=updated, unchanged=unchanged, not_errors=not_errors)
