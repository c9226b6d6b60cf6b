"""Group edits: `logloop group merge/split/unmerge`, recorded with who and when, reversible.

An edit is a document of the index `<prefix>-group-edits` (never deleted: `unmerge` marks it undone).
An event's group is its default key (what grouping gave: `error.grouping_default_key`, else
`error.grouping_key`) with every active edit applied in the order they were made (`edited_key`, pure):

- merge TARGET SOURCE...: an event keyed by a source (or the target) is keyed by the target;
- split KEY --by message|caller|version: an event keyed by KEY gets KEY's sub-key for its masked
  message, its raising statement's caller, or its service.version.

`apply` writes the result into the stored events (`error.grouping_key`, the default key kept beside it,
`logloop.group_edit` = the edit that moved it), so `analyze`, the digest and Kibana, which all group on
`error.grouping_key`, respect edits without knowing them. `logloop regroup` keeps an edited event in
its edit's group through GROUPING_VERSION changes and adds the event's new default key to the edit's
sources (`carried`), so events shipped with the new keys join the edited group at the next `apply`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from analyzers import queries
from analyzers.exceptions import AnalyzerError
from analyzers.store import Store
from shipper.grouping.digests import hex_digest
from shipper.schema import get_field

SPLIT_BY: Final = ("message", "caller", "version")
_KEYWORD: Final = {"type": "keyword", "ignore_above": 1024}
MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "edit_id": _KEYWORD,
        "kind": _KEYWORD,
        "target": _KEYWORD,
        "sources": _KEYWORD,
        "by": _KEYWORD,
        "who": _KEYWORD,
        "at": {"type": "date"},
        "grouping_version": {"type": "long"},
        "undone_by": _KEYWORD,
        "undone_at": {"type": "date"},
        # `resolve`/`ignore` marks (kind "mark", analyzers.group_marks): the status and its moment
        "status": _KEYWORD,
        "effective_at": {"type": "date"},
        "in_version": _KEYWORD,
    },
}
# The kinds of edit this module applies; the index also holds marks (analyzers.group_marks).
KINDS: Final = ("merge", "split")


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One merge or split, with who made it and when; `undone_at` set once reversed."""

    edit_id: str
    kind: str  # "merge" | "split"
    target: str
    sources: tuple[str, ...] = ()
    by: str | None = None
    who: str
    at: datetime
    grouping_version: int
    undone_by: str | None = None
    undone_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None

    @property
    def keys(self) -> frozenset[str]:
        """The keys whose events this edit moves."""
        return frozenset((self.target, *self.sources))


def new_merge(target: str, sources: Sequence[str], *, who: str, at: datetime, version: int) -> Edit:
    others = tuple(dict.fromkeys(key for key in sources if key != target))
    if not others:
        raise AnalyzerError("merge needs at least two different keys: logloop group merge KEY KEY...")
    return Edit(edit_id=_edit_id("merge", target, others, at), kind="merge", target=target, sources=others,
                who=who, at=at, grouping_version=version)  # fmt: skip


def new_split(key: str, by: str, *, who: str, at: datetime, version: int) -> Edit:
    if by not in SPLIT_BY:
        raise AnalyzerError(f"--by must be one of {', '.join(SPLIT_BY)}, not {by!r}")
    return Edit(edit_id=_edit_id("split", key, (by,), at), kind="split", target=key, by=by, who=who, at=at,
                grouping_version=version)  # fmt: skip


def _edit_id(kind: str, target: str, parts: Sequence[str], at: datetime) -> str:
    text = "\x1f".join((kind, target, *parts, at.isoformat()))
    return "e-" + hex_digest(text, 8)


def edited_key(default_key: str, event: Mapping[str, Any], edits: Iterable[Edit]) -> tuple[str, str | None]:
    """The event's key after every active edit (oldest first), and the last edit that moved it."""
    key, moved_by = default_key, None
    for edit in sorted((edit for edit in edits if edit.active), key=lambda edit: edit.at):
        if edit.kind == "merge" and key in edit.keys:
            key, moved_by = edit.target, edit.edit_id
        elif edit.kind == "split" and key == edit.target:
            key, moved_by = split_key(edit, event), edit.edit_id
    return key, moved_by


def split_key(edit: Edit, event: Mapping[str, Any]) -> str:
    """The sub-key of a split group for this event's message, caller or version."""
    facet = _facet(edit.by or "message", event)
    text = "\x1f".join((edit.target, edit.by or "", facet))
    return "s-" + hex_digest(text, 16)


def _facet(by: str, event: Mapping[str, Any]) -> str:
    from shipper.grouping import fingerprint
    from shipper.grouping.tracebacks import normalized, parse_traceback

    if by == "version":
        return str(get_field(event, "service.version") or "")
    if by == "caller":
        trace = get_field(event, "error.stack_trace")
        frames = parse_traceback(normalized(trace)).final.frames if isinstance(trace, str) else ()
        caller = frames[-2] if len(frames) > 1 else None
        return "" if caller is None else f"{fingerprint.module_tail(caller.filename)}:{caller.function}"
    message = get_field(event, "error.message") or get_field(event, "message") or ""
    first = str(message).strip().split("\n", 1)[0]
    from shipper.grouping.masking import mask

    return mask(first[:1000])


def carried(edit: Edit, new_default_keys: Iterable[str]) -> Edit:
    """The edit after a GROUPING_VERSION change: the new default keys of its events join its sources."""
    extra = tuple(key for key in dict.fromkeys(new_default_keys) if key not in edit.keys)
    if edit.kind != "merge" or not extra:
        return edit
    return replace(edit, sources=(*edit.sources, *extra))


def regrouped(source: Mapping[str, Any], default_key: str, edits: Sequence[Edit]) -> tuple[str, str | None]:
    """For `logloop regroup`: the key of an event whose default key is now `default_key` (a new
    GROUPING_VERSION), and the edit that moves it. An event an active edit moved stays in that edit's
    group (a merge's target, a split's sub-key) though its new default key is in no edit yet."""
    moved = get_field(source, "logloop.group_edit")
    for edit in edits:
        if edit.active and edit.edit_id == moved:
            return (edit.target if edit.kind == "merge" else split_key(edit, source)), edit.edit_id
    return edited_key(default_key, source, edits)


def pending_keys(edits: Iterable[Edit]) -> set[str]:
    """The keys whose newly stored events active edits must still move: merge sources, split groups."""
    keys: set[str] = set()
    for edit in edits:
        if edit.active:
            keys.update(edit.sources if edit.kind == "merge" else (edit.target,))
    return keys


def who_am_i() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "unknown"


# --- Elasticsearch (the edges) ---------------------------------------------------------------------


def ensure(store: Store) -> bool:
    """Create the group edits index if missing; True when created now. An existing one gets the fields
    this version added (its mapping is strict: a document with a field it does not know is refused)."""
    created = store.ensure_bookkeeping_index(index=store.group_edits, mappings=MAPPING)
    if not created:
        action = "update the group edits mapping"
        store.put_mapping(index=store.group_edits, properties=MAPPING["properties"], action=action)
    return created


def to_document(edit: Edit) -> dict[str, Any]:
    document = asdict(edit)
    document["sources"] = list(edit.sources)
    for name in ("at", "undone_at"):
        if document[name] is not None:
            document[name] = document[name].isoformat()
    return {name: value for name, value in document.items() if value is not None}


def from_document(document: Mapping[str, Any]) -> Edit:
    def when(value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(str(value).replace("Z", "+00:00"))

    at = when(document["at"])
    assert at is not None
    return Edit(
        edit_id=document["edit_id"], kind=document["kind"], target=document["target"],
        sources=tuple(document.get("sources") or ()), by=document.get("by"), who=document["who"], at=at,
        grouping_version=int(document["grouping_version"]), undone_by=document.get("undone_by"),
        undone_at=when(document.get("undone_at")),
    )  # fmt: skip


def save(store: Store, edit: Edit) -> None:
    ensure(store)
    operations = [{"index": {"_index": store.group_edits, "_id": edit.edit_id}}, to_document(edit)]
    store.bulk(operations=operations, action="record the group edit", refresh=True)


def load(store: Store, *, limit: int = 10_000) -> list[Edit]:
    """Every edit, oldest first (active and undone: the history); marks are not edits."""
    query = {"bool": {"filter": [{"terms": {"kind": list(KINDS)}}]}}
    body = {"size": limit, "query": query, "sort": [{"at": "asc"}, {"edit_id": "asc"}]}
    response = store.search(index=store.group_edits, body=body, action="read the group edits")
    return [from_document(hit["_source"]) for hit in response.get("hits", {}).get("hits", [])]


def apply(store: Store, edits: Sequence[Edit], keys: Iterable[str], *, batch: int = 500) -> int:
    """Re-key every stored error event whose key (or default key) is in `keys`, or that an edit moved,
    by the active `edits`; the number of events changed."""
    wanted = sorted(set(keys))
    if not wanted:
        return 0
    moved_by = [edit.edit_id for edit in edits if edit.keys & set(wanted)]
    query = {
        "bool": {
            "filter": [queries.is_error()],
            "should": [
                queries.in_groups(wanted),
                {"terms": {"error.grouping_default_key": wanted}},
                {"terms": {"logloop.group_edit": moved_by or ["-"]}},
            ],
            "minimum_should_match": 1,
        }
    }
    changed = 0
    search_after: list[Any] | None = None
    while True:
        body = queries.regroup_page(query=query, batch=batch, search_after=search_after)
        hits = store.search(index=store.events, body=body, action="read events to re-key")
        page = hits.get("hits", {}).get("hits", [])
        if not page:
            break
        operations: list[dict[str, Any]] = []
        for hit in page:
            operations.extend(rekey_operations(hit, edits))
        changed += store.bulk(operations=operations, action="write edited grouping keys")
        search_after = page[-1]["sort"]
    if changed:
        store.refresh(index=store.events)
    return changed


def rekey_operations(hit: Mapping[str, Any], edits: Sequence[Edit]) -> list[dict[str, Any]]:
    """The `_bulk` update of one stored event to its edited key; [] when it already has it (pure)."""
    source = hit["_source"]
    default = get_field(source, "error.grouping_default_key") or get_field(source, "error.grouping_key")
    if not isinstance(default, str):
        return []
    key, moved_by = edited_key(default, source, edits)
    if key == get_field(source, "error.grouping_key") and moved_by == get_field(source, "logloop.group_edit"):
        return []
    return [
        {"update": {"_index": hit["_index"], "_id": hit["_id"]}},
        {
            "doc": {
                "error": {"grouping_key": key, "grouping_default_key": default},
                "logloop": {"group_edit": moved_by},
            }
        },
    ]


def apply_pending(store: Store) -> int:
    """Move the events stored since the last edit (shipped with their default keys) into the edited
    groups; `analyze` calls it first, so every count it makes respects the edits."""
    edits = load(store)
    return apply(store, edits, pending_keys(edits)) if edits else 0


def now() -> datetime:
    return datetime.now(UTC)
