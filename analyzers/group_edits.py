"""Group edits: `logloop group merge/split/unmerge`, recorded with who and when, reversible.

An edit is a document of the index `<prefix>-group-edits` (never deleted: `unmerge` marks it undone).
An event's group is its default key (what grouping gave: `error.grouping_default_key`, else
`error.grouping_key`) with the active edits applied (`EditPlan`, pure):

- merge TARGET SOURCE...: these keys are one group. Merges join transitively and in any order (chains,
  cycles); a joined group is keyed by the target of its latest merge;
- split KEY --by message|caller|version: an event whose (merged) key is KEY gets KEY's sub-key for its
  masked message, its raising statement's caller, or its service.version (in the order made).

`apply` writes the result into the stored events (`error.grouping_key`, the default key kept beside it,
`logloop.group_edit` = the edit that moved it), so `analyze`, the digest and Kibana, which all group on
`error.grouping_key`, respect edits without knowing them (`analyze` leaves the registry entries of
merged-away keys as they were; `check` maps keys through the merges, read only). `logloop regroup`
keeps an edited event in its edit's group through GROUPING_VERSION changes and adds the event's new
default key to the sources of every edit naming its old one (`carried`, compare-and-set), so events
shipped with the new keys join the edited group at the next `apply`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from analyzers import queries
from analyzers.escaping import shell_command, text_line
from analyzers.exceptions import AnalyzerError, GroupNotFound
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


class EditPlan:
    """The active edits as one mapping, built once for many events (pure).

    Merges say "these keys are one group": they join, transitively and in any order (A into B then B
    into C, or a cycle C into A: one group), and a joined group's key is the target of its latest
    merge; unmerging one of them parts only what no other active merge still joins. Splits then apply
    in the order they were made to the (merged) key they name or carry (`sources`), and a split's
    sub-key may itself be merged or split again."""

    def __init__(self, edits: Iterable[Edit]) -> None:
        active = sorted((edit for edit in edits if edit.active), key=lambda edit: (edit.at, edit.edit_id))
        self.splits = tuple(edit for edit in active if edit.kind == "split")
        parent: dict[str, str] = {}

        def root(key: str) -> str:
            while parent.setdefault(key, key) != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        merges = [edit for edit in active if edit.kind == "merge"]
        for edit in merges:
            for key in edit.sources:
                parent[root(key)] = root(edit.target)
        latest: dict[str, Edit] = {}  # component root -> its latest merge
        for edit in merges:
            latest[root(edit.target)] = edit
        self.merged: dict[str, tuple[str, str]] = {
            key: (latest[root(key)].target, latest[root(key)].edit_id) for key in list(parent)
        }

    def key(self, default_key: str, event: Mapping[str, Any]) -> tuple[str, str | None]:
        """The event's key after every active edit, and the edit that gave it (None if none did)."""
        key, moved_by = self.merged.get(default_key, (default_key, None))
        for edit in self.splits:
            if key in edit.keys:
                sub = split_key(edit, event)
                key, moved_by = self.merged.get(sub, (sub, edit.edit_id))
        return key, moved_by

    def moves(self, key: str) -> bool:
        """Whether an active edit moves events of this (default) key."""
        return key in self.merged or any(key in edit.keys for edit in self.splits)

    @property
    def moved_away(self) -> frozenset[str]:
        """Keys no event is grouped under while these edits hold: merged into another key, or split."""
        away = {key for key, (target, _) in self.merged.items() if key != target}
        away.update(key for edit in self.splits for key in edit.keys)
        return frozenset(away)


Edits = Sequence[Edit] | EditPlan  # a list of edits, or the plan built from it once for many events


def plan_of(edits: Iterable[Edit] | EditPlan) -> EditPlan:
    return edits if isinstance(edits, EditPlan) else EditPlan(edits)


def edited_key(
    default_key: str, event: Mapping[str, Any], edits: Iterable[Edit] | EditPlan
) -> tuple[str, str | None]:
    """The event's key after every active edit (see `EditPlan`), and the edit that gave it."""
    return plan_of(edits).key(default_key, event)


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
    """The edit after a GROUPING_VERSION change: the new default keys of its events join its sources
    (a split's sources are split as its target is)."""
    extra = tuple(key for key in dict.fromkeys(new_default_keys) if key not in edit.keys)
    return replace(edit, sources=(*edit.sources, *extra)) if extra else edit


def previous_default(source: Mapping[str, Any]) -> str | None:
    """The default key a stored event has now (before a regroup gives it a new one)."""
    found = get_field(source, "error.grouping_default_key") or get_field(source, "error.grouping_key")
    return found if isinstance(found, str) and found else None


def regrouped(
    source: Mapping[str, Any], default_key: str, edits: Sequence[Edit] | EditPlan
) -> tuple[str, str | None]:
    """For `logloop regroup`: the key of an event whose default key is now `default_key` (a new
    GROUPING_VERSION), and the edit that moves it. An event whose old default key an active edit
    moves stays in that edit's group though its new default key is in no edit yet."""
    plan = plan_of(edits)
    old = previous_default(source)
    if old is not None and old != default_key and plan.moves(old):
        return plan.key(old, source)
    return plan.key(default_key, source)


def related_keys(edits: Iterable[Edit], keys: Iterable[str]) -> set[str]:
    """`keys` and every key an edit (active or undone) ever joined to them: the events whose key a
    change to those edits may change."""
    found = set(keys)
    edits = list(edits)
    while True:
        grown = found.union(*(edit.keys for edit in edits if edit.keys & found))
        if grown == found:
            return found
        found = grown


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


def mark_undone(store: Store, edit: Edit, *, who: str, at: datetime) -> None:
    """Mark one edit undone, leaving the rest of its document as it is now (a `regroup` may have added
    sources since it was read)."""
    operations = [
        {"update": {"_index": store.group_edits, "_id": edit.edit_id}},
        {"doc": {"undone_by": who, "undone_at": at.isoformat()}},
    ]
    store.bulk(operations=operations, action="record the undone group edit", refresh=True)


def add_sources(store: Store, edit_id: str, keys: Sequence[str]) -> None:
    """Add keys to an edit's sources as it is stored now, compare-and-set (an `unmerge` made meanwhile
    stays undone)."""
    for _ in range(WRITE_ATTEMPTS):
        body = {"query": {"ids": {"values": [edit_id]}}, "seq_no_primary_term": True, "size": 1}
        hits = store.search(index=store.group_edits, body=body, action="read the group edit")
        found = hits.get("hits", {}).get("hits", [])
        if not found:
            return
        hit = found[0]
        edit = carried(from_document(hit["_source"]), keys)
        target = {"_index": store.group_edits, "_id": edit_id}
        condition = {"if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]}
        operations = [{"index": {**target, **condition}}, to_document(edit)]
        if not store.bulk_conditional(operations=operations, action="carry the group edit", refresh=True):
            return
        store.refresh(index=store.group_edits)
    raise AnalyzerError(f"the group edit {edit_id} changed {WRITE_ATTEMPTS} times while regroup carried it")


WRITE_ATTEMPTS: Final = 5


def load(store: Store, *, page: int = 10_000) -> list[Edit]:
    """Every edit, oldest first (active and undone: the history), read `page` at a time; marks are not
    edits."""
    edits: list[Edit] = []
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page,
            "query": {"bool": {"filter": [{"terms": {"kind": list(KINDS)}}]}},
            "sort": [{"at": "asc"}, {"edit_id": "asc"}],
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        response = store.search(index=store.group_edits, body=body, action="read the group edits")
        hits = response.get("hits", {}).get("hits", [])
        edits.extend(from_document(hit["_source"]) for hit in hits)
        if len(hits) < page:
            return edits
        after = hits[-1]["sort"]


def apply(store: Store, edits: Sequence[Edit], keys: Iterable[str], *, batch: int = 500) -> int:
    """Re-key every stored error event whose key (or default key) is in `keys` or joined to them by an
    edit, or that such an edit moved, by the active `edits`; the number of events moved to another group."""
    wanted = sorted(related_keys(edits, keys))
    if not wanted:
        return 0
    moved_by = [edit.edit_id for edit in edits if edit.keys & set(wanted)]
    should = [
        queries.in_groups(wanted),
        {"terms": {"error.grouping_default_key": wanted}},
        {"terms": {"logloop.group_edit": moved_by or ["-"]}},
    ]
    return _rekey(store, EditPlan(edits), should, batch=batch)


def _rekey(store: Store, plan: EditPlan, should: list[dict[str, Any]], *, batch: int = 500) -> int:
    """Re-key the stored error events any of `should` matches by `plan`; the number that changed group.

    An event that stays in its group is written too when only its edit mark changes (a merge's target
    events are marked by the merge), but is not counted: the number is what the user sees moved."""
    query = {"bool": {"filter": [queries.is_error()], "should": should, "minimum_should_match": 1}}
    moved = written = 0
    search_after: list[Any] | None = None
    while True:
        body = queries.regroup_page(query=query, batch=batch, search_after=search_after)
        hits = store.search(index=store.events, body=body, action="read events to re-key")
        page = hits.get("hits", {}).get("hits", [])
        if not page:
            break
        operations: list[dict[str, Any]] = []
        for hit in page:
            update = rekey_operations(hit, plan)
            operations.extend(update)
            moved += bool(update) and update[1]["doc"]["error"]["grouping_key"] != get_field(
                hit["_source"], "error.grouping_key"
            )
        written += store.bulk(operations=operations, action="write edited grouping keys")
        search_after = page[-1]["sort"]
    if written:
        store.refresh(index=store.events)
    return moved


# Rounds of `apply_settled`: each one that finds the edits changed meanwhile (another user's edit) is
# followed by another; two users editing at once settle in two.
SETTLE_ROUNDS: Final = 4


def apply_settled(store: Store, keys: Iterable[str]) -> tuple[list[Edit], int]:
    """`apply` with the edits as stored, again while they change under it (another `logloop group`
    command saved or undid one meanwhile, whose own `apply` may have written over this one's): the
    events end keyed by every edit either saw. The edits applied last, and the number of events moved."""
    wanted = set(keys)
    edits = load(store)
    changed = 0
    for _ in range(SETTLE_ROUNDS):
        changed += apply(store, edits, wanted)
        again = load(store)
        moved = _changed_edits(edits, again)
        if not moved:
            break
        wanted |= set().union(*(edit.keys for edit in moved))
        edits = again
    return edits, changed


def _changed_edits(before: Sequence[Edit], after: Sequence[Edit]) -> list[Edit]:
    known = {edit.edit_id: edit for edit in before}
    return [edit for edit in after if known.get(edit.edit_id) != edit]


def rekey_operations(hit: Mapping[str, Any], edits: Sequence[Edit] | EditPlan) -> list[dict[str, Any]]:
    """The `_bulk` update of one stored event to its edited key; [] when it already has it (pure)."""
    source = hit["_source"]
    default = previous_default(source)
    if default is None:
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


# The most groups a split may make unless asked for more (`--max-groups`): a facet with a value in
# it (a user name the masks keep) would make one group per value.
SPLIT_LIMIT: Final = 100
_FACET_FIELDS: Final = ("error.message", "message", "error.stack_trace", "service.version")


def split_size(store: Store, edit: Edit, *, limit: int, batch: int = 1000) -> int:
    """How many groups `edit` (a split not saved yet) makes of its group's stored events, counted up to
    `limit + 1` (the reading stops there)."""
    query = queries.all_of(queries.is_error(), queries.in_group(edit.target))
    seen: set[str] = set()
    search_after: list[Any] | None = None
    while len(seen) <= limit:
        body = queries.regroup_page(query=query, batch=batch, search_after=search_after)
        body["_source"] = {"includes": list(_FACET_FIELDS)}
        body["track_total_hits"] = False
        page = store.search(index=store.events, body=body, action="count the groups of the split")
        hits = page.get("hits", {}).get("hits", [])
        seen.update(split_key(edit, hit.get("_source") or {}) for hit in hits)
        if len(hits) < batch:
            break
        search_after = hits[-1]["sort"]
    return len(seen)


def resolve_key(store: Store, reference: str, edits: Sequence[Edit]) -> str:
    """The grouping key `reference` names: a key of an edit, of the registry or of stored events (their
    key or default key) as it is, else the one such key it is a prefix of (`analyze` prints 12
    characters); GroupNotFound naming it otherwise (an edit of a key nothing has would move nothing,
    now or later, and say it had)."""
    if any(reference in edit.keys for edit in edits):
        return reference
    found = _prefixed_keys(store, reference) if reference else []
    if reference in found:
        return reference
    if len(found) == 1:
        return found[0]
    if found:
        shown = text_line(", ".join(found[:5]))  # keys are log content: one line, nothing invisible
        raise GroupNotFound(f"{reference!r} is the start of several grouping keys ({shown}): give more of it")
    raise GroupNotFound(
        f"no group and no stored event has the grouping key {reference!r}: copy one from `logloop analyze`, "
        "the digest or `logloop group edits`"
    )


_KEY_FIELDS: Final = ("error.grouping_key", "error.grouping_default_key")


def _prefixed_keys(store: Store, prefix: str) -> list[str]:
    """Keys of registry groups and of stored events (current or default) that start with `prefix`, a
    few of each, sorted."""
    include = "".join(char if char.isalnum() else "\\" + char for char in prefix) + ".*"
    body = {
        "size": 0,
        "query": {"bool": {"should": [{"prefix": {name: prefix}} for name in _KEY_FIELDS]}},
        "aggs": {
            str(n): {"terms": {"field": name, "size": 6, "include": include}}
            for n, name in enumerate(_KEY_FIELDS)
        },
    }
    response = store.search(index=store.events, body=body, action="find the grouping key")
    keys = {
        str(bucket["key"])
        for aggregation in response.get("aggregations", {}).values()
        for bucket in aggregation.get("buckets", [])
    }
    groups = store.search(
        index=store.registry,
        body={"size": 6, "_source": False, "query": {"prefix": {"group_id": prefix}}},
        action="find the group",
    )
    keys.update(str(hit["_id"]) for hit in groups.get("hits", {}).get("hits", []))
    return sorted(keys)


def where_moved(store: Store, reference: str) -> str | None:
    """Where the events of a key (or a unique prefix of one) that edits moved away are now: the group a
    merge put them in, or the sub-groups of a split, with the edit; None for a key no edit moved."""
    plan = EditPlan(load(store))
    keys = [key for key in plan.moved_away if key == reference] or [
        key for key in plan.moved_away if key.startswith(reference)
    ]
    if len(keys) != 1:
        return None
    key = keys[0]
    target, edit_id = plan.merged.get(key, (key, None))
    if edit_id is not None and target != key:
        return text_line(
            f"{key} is merged into {target} ({edit_id}): {shell_command('logloop', 'group', 'show', target)}"
        )
    split = next(edit for edit in plan.splits if key in edit.keys)
    body = {
        "size": 0,
        "query": {"term": {"logloop.group_edit": split.edit_id}},
        "aggs": {"keys": queries.terms_agg(queries.GROUP_KEY, 5)},
    }
    response = store.search(index=store.events, body=body, action="find the split groups")
    subs = [
        str(bucket["key"]) for bucket in response.get("aggregations", {}).get("keys", {}).get("buckets", [])
    ]
    return text_line(
        f"{key} is split by {split.by} ({split.edit_id}) into {', '.join(subs) or 'no group yet'}"
    )


def apply_pending(store: Store) -> EditPlan:
    """Move the events stored since the last edit (shipped with their default keys) into the edited
    groups; `analyze` calls it first, so every count it makes respects the edits. The active edits."""
    edits = load(store)
    plan = EditPlan(edits)
    # Only events that may need it: new ones under a key an edit moves away, and any still marked by an
    # undone edit (a writer that had read the edits before the unmerge wrote after it). Events already
    # moved carry their group's key and are not read again.
    undone = [edit.edit_id for edit in edits if not edit.active]
    should = [queries.in_groups(sorted(plan.moved_away)), {"terms": {"logloop.group_edit": undone}}]
    if plan.moved_away or undone:
        _rekey(store, plan, should)
    return plan


def now() -> datetime:
    return datetime.now(UTC)
