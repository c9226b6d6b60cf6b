"""The group registry: index `<prefix>-groups`, one document per error group, `_id` = grouping key.

`analyze` writes it, `resolve`/`ignore` mark groups in it, the digest and `check` read it. The
field names are the shared contract (see /work/notes/common.md); two fields are additions:
`daily_counts` (events per UTC day in the last analyzed window, oldest first, for sparklines) and
`feedback_kind` (bug|feature|usability for feedback groups).

The index name does not match the daily event pattern `<prefix>-20*`, so event queries never see it.

Writers that decide from what they read (analyze, resolve, ignore) write with compare-and-set
(`save_if_unchanged`): a group another writer changed since it was read is read and decided again,
never overwritten (a `logloop ignore` made while an analyze run was deciding was lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, Final

from analyzers.exceptions import ElasticsearchUnavailable, GroupNotFound, RegistryError
from analyzers.store import Store

STATUSES: Final = ("new", "ongoing", "escalating", "regressed", "resolved", "ignored")
CATEGORIES: Final = ("traceback", "error_line", "feedback")
_KEYWORD: Final = {"type": "keyword", "ignore_above": 1024}
_DATE: Final = {"type": "date"}
_LONG: Final = {"type": "long"}

MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "group_id": _KEYWORD,
        "title": {"type": "text", "fields": {"keyword": _KEYWORD}},
        "category": _KEYWORD,
        "error_type": _KEYWORD,
        "level": _KEYWORD,
        "first_seen": _DATE,
        "last_seen": _DATE,
        "count_total": _LONG,
        "count_window": _LONG,
        "count_previous_window": _LONG,
        "versions": _KEYWORD,
        "hosts": _KEYWORD,
        "services": _KEYWORD,
        "sample_stack_trace": {"type": "text"},
        "sample_message": {"type": "text"},
        "status": _KEYWORD,
        "resolved_in_version": _KEYWORD,
        "resolved_at": _DATE,
        "regressed_at": _DATE,
        "regressed_in_version": _KEYWORD,
        "status_changed_at": _DATE,
        "updated_at": _DATE,
        "priority": {"type": "float"},
        "grouping_version": _LONG,
        "daily_counts": {"type": "long", "index": False},
        "feedback_kind": _KEYWORD,
    },
}


@dataclass(frozen=True, kw_only=True)
class Group:
    """One error group as the registry stores it (times are aware UTC datetimes)."""

    group_id: str
    title: str
    category: str
    error_type: str | None = None
    level: str | None = None
    first_seen: datetime
    last_seen: datetime
    count_total: int = 0
    count_window: int = 0
    count_previous_window: int = 0
    versions: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    sample_stack_trace: str | None = None
    sample_message: str | None = None
    status: str = "new"
    resolved_in_version: str | None = None
    resolved_at: datetime | None = None
    regressed_at: datetime | None = None  # the first occurrence that made it regressed
    regressed_in_version: str | None = None  # the version of that occurrence
    status_changed_at: datetime | None = None
    updated_at: datetime | None = None
    priority: float = 0.0
    grouping_version: int | None = None
    daily_counts: tuple[int, ...] = ()
    feedback_kind: str | None = None


_FIELD_NAMES: Final = tuple(f.name for f in fields(Group))
_DATE_FIELDS: Final = frozenset(f.name for f in fields(Group) if "datetime" in str(f.type))
_TUPLE_FIELDS: Final = frozenset(f.name for f in fields(Group) if str(f.type).startswith("tuple"))


def _parse_date(value: Any) -> datetime:
    """A registry date as Elasticsearch's default `date` format takes it: ISO 8601 (with or without a
    zone, UTC then; a bare date) or epoch milliseconds (a number, or digits in a string)."""
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        return datetime.fromtimestamp(float(value) / 1000, UTC)
    parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_document(group: Group) -> dict[str, Any]:
    """The registry document: dates as ISO strings, tuples as arrays, None values left out."""
    document: dict[str, Any] = {}
    # not asdict() (it deep-copies every value) nor getattr per field: costs at 20,000 groups a run
    for name, value in vars(group).items():
        if value is None:
            continue
        if name in _DATE_FIELDS:
            value = value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        elif name in _TUPLE_FIELDS:
            value = list(value)
        document[name] = value
    return document


# Fields whose values the mapping coerces from text ("12", "3.5"): a document another tool or an older
# logloop wrote that way is stored as written, and read here as the number it stands for.
_INT_FIELDS: Final = frozenset(("count_total", "count_window", "count_previous_window", "grouping_version"))
_TEXT_FIELDS: Final = frozenset(
    f.name for f in fields(Group) if str(f.type).startswith("str") and f.name not in ("status",)
)


def _value(name: str, value: Any) -> Any:
    if name in _DATE_FIELDS:
        return _parse_date(value)
    if name == "daily_counts":
        return tuple(int(float(count)) for count in (value if isinstance(value, list) else [value]))
    if name in _TUPLE_FIELDS:
        return tuple(
            str(item) for item in (value if isinstance(value, list) else [value]) if item is not None
        )
    if name in _INT_FIELDS:
        return int(float(value))
    if name == "priority":
        return float(value)
    if name == "status":
        return str(value).strip().lower()
    if name in _TEXT_FIELDS and isinstance(value, list):
        return str(value[0]) if value else None
    return value


def from_document(document: Mapping[str, Any]) -> Group:
    """Parse a registry document; RegistryError names the group when it is not one.

    Values are read as the registry's mapping accepts them (dates in epoch milliseconds, numbers as
    text, one value for a list), as another tool or an older logloop may have written them; a missing
    title reads as the key and a missing category from the sample. Only a document without any date
    to place the group in time, or with a value that stands for nothing, is refused."""
    known = _FIELD_NAMES
    values: dict[str, Any] = {}
    for name, value in document.items():
        if name not in known or value is None:
            continue
        try:
            parsed = _value(name, value)
        except (ValueError, TypeError, OverflowError, OSError):
            raise RegistryError(
                _unreadable(document, f"{name} = {value!r:.60} is not what it should be")
            ) from None
        if parsed is not None:
            values[name] = parsed
    if "group_id" not in values:
        raise RegistryError(_unreadable(document, "it has no group_id"))
    values.setdefault("title", str(values["group_id"]))
    values.setdefault("category", "traceback" if values.get("sample_stack_trace") else "error_line")
    dates = [values.get(name) for name in ("first_seen", "last_seen", "status_changed_at", "updated_at")]
    known_dates = [date for date in dates if date is not None]
    if not known_dates:
        raise RegistryError(_unreadable(document, "it has no first_seen or last_seen"))
    values.setdefault("first_seen", min(known_dates))
    values.setdefault("last_seen", max(known_dates))
    try:
        return Group(**values)
    except TypeError as exc:
        raise RegistryError(_unreadable(document, str(exc))) from None


def _unreadable(document: Mapping[str, Any], why: str) -> str:
    return (
        f"registry document {document.get('group_id', '?')!r} cannot be read ({why}); `logloop analyze` "
        "rewrites it from the events"
    )


def ensure(store: Store) -> bool:
    """Create the registry index with its mapping if missing; True when created now.

    An existing registry gets the fields this version added (the mapping is strict, so a document
    carrying a field it does not know would be refused)."""
    created = store.ensure_bookkeeping_index(index=store.registry, mappings=MAPPING)
    if not created:
        try:
            action = "update the group registry mapping"
            store.put_mapping(index=store.registry, properties=MAPPING["properties"], action=action)
        except ElasticsearchUnavailable as exc:
            if getattr(getattr(exc.__cause__, "meta", None), "status", None) != 400:
                raise
            raise ElasticsearchUnavailable(
                f"{exc}; {store.registry} was not created by logloop (a field is mapped as another type): "
                "delete it and run `logloop analyze` again to rebuild it from the events (resolved and "
                f"ignored marks come back from {store.group_edits}, unless an older logloop made them)"
            ) from exc
    return created


# Left out of `lean` reads: the long texts, which only a group's own page or ticket shows.
LEAN_EXCLUDES: Final = ("sample_stack_trace", "sample_message")
PAGE: Final = 2000


def iter_groups(
    store: Store,
    *,
    query: Mapping[str, Any] | None = None,
    page: int = PAGE,
    lean: bool = False,
    unreadable: list[str] | None = None,
) -> Iterator[Group]:
    """Every group `query` matches (all by default), paged with search_after by group id; a document
    that is no group raises RegistryError, or with `unreadable` is left out and said there."""
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page,
            "query": dict(query or {"match_all": {}}),
            "sort": [{"group_id": "asc"}],
            "track_total_hits": False,
        }
        if lean:
            body["_source"] = {"excludes": list(LEAN_EXCLUDES)}
        if after is not None:
            body["search_after"] = after
        response = store.search(index=store.registry, body=body, action="read the group registry")
        hits = response.get("hits", {}).get("hits", [])
        yield from _hits(response, unreadable)
        if len(hits) < page:
            return
        after = hits[-1]["sort"]


def latest_event(store: Store) -> datetime | None:
    """The newest `last_seen` in the registry: the latest event the analyses that wrote it read (each
    reads only before its `until`); None when it holds no group."""
    answer = store.search(
        index=store.registry,
        body={"size": 0, "aggs": {"latest": {"max": {"field": "last_seen"}}}},
        action="read the newest event the group registry holds",
    )
    value = answer.get("aggregations", {}).get("latest", {}).get("value")
    return None if value is None else datetime.fromtimestamp(float(value) / 1000, UTC)


def load_groups(store: Store, *, lean: bool = False, unreadable: list[str] | None = None) -> list[Group]:
    """Every registry group, by priority (empty when the registry does not exist yet).

    `lean` leaves the sample trace and message out (None), for callers that hold every group."""
    groups = list(iter_groups(store, lean=lean, unreadable=unreadable))
    groups.sort(key=lambda group: (-group.priority, group.group_id))
    return groups


def _hits(response: Mapping[str, Any], unreadable: list[str] | None = None) -> list[Group]:
    """The groups of a search answer; a document that is no group raises, or goes to `unreadable`."""
    groups = []
    for hit in response.get("hits", {}).get("hits", []):
        try:
            groups.append(from_document(hit["_source"]))
        except RegistryError as exc:
            if unreadable is None:
                raise
            unreadable.append(str(exc))
    return groups


# A registry document's version as read: (`_seq_no`, `_primary_term`), for `save_if_unchanged`.
Version = tuple[int, int]


def groups_by_id(
    store: Store,
    ids: Iterable[str],
    *,
    lean: bool = False,
    fields: Sequence[str] | None = None,
    versions: dict[str, Version] | None = None,
    unreadable: list[str] | None = None,
) -> dict[str, Group]:
    """The registry entries of these groups (those it has), in one request (`lean`: without the long
    texts, as `iter_groups`; `fields`: only these, the others keeping their defaults). `versions`,
    when given, receives each entry's version (for `save_if_unchanged`, unreadable entries' too: a
    write replaces them); `unreadable`, when given, the entries that are no group (left out)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    body: dict[str, Any] = {
        "size": len(wanted),
        "track_total_hits": False,
        "query": {"ids": {"values": wanted}},
    }
    if fields is not None:
        body["_source"] = {"includes": list(fields)}
    elif lean:
        body["_source"] = {"excludes": list(LEAN_EXCLUDES)}
    if versions is not None:
        body["seq_no_primary_term"] = True
    response = store.search(index=store.registry, body=body, action="read the group registry")
    if versions is not None:
        for hit in response.get("hits", {}).get("hits", []):
            versions[str(hit["_id"])] = (int(hit["_seq_no"]), int(hit["_primary_term"]))
    groups = _hits(response, unreadable)
    return {group.group_id: group for group in groups}


_OPEN: Final = {"bool": {"must_not": [{"terms": {"status": ["resolved", "ignored"]}}]}}


def open_groups(store: Store, *, page: int = PAGE) -> Iterator[Group]:
    """Every group not resolved or ignored, paged by group id."""
    return iter_groups(store, query=_OPEN, page=page)


def open_group_ids(store: Store, *, page: int = PAGE) -> Iterator[str]:
    """The ids of `open_groups`, without reading their documents (analyze needs only the few it did
    not see in its pages)."""
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page,
            "query": _OPEN,
            "sort": [{"group_id": "asc"}],
            "track_total_hits": False,
            "_source": False,
        }
        if after is not None:
            body["search_after"] = after
        response = store.search(index=store.registry, body=body, action="read the group registry")
        hits = response.get("hits", {}).get("hits", [])
        yield from (str(hit["_id"]) for hit in hits)
        if len(hits) < page:
            return
        after = hits[-1]["sort"]


def lookup(store: Store, reference: str) -> Group:
    """The group `reference` names: an exact key, else a unique key prefix (GroupNotFound otherwise)."""
    exact = groups_by_id(store, [reference]) if reference else {}
    if reference in exact:
        return exact[reference]
    body = {"size": 6, "query": {"prefix": {"group_id": reference}}, "sort": [{"group_id": "asc"}]}
    candidates = _hits(store.search(index=store.registry, body=body, action="find the group"))
    return find_group(candidates, reference)


def save_groups(store: Store, groups: Iterable[Group], *, refresh: bool = True) -> int:
    """Write whole group documents (index by id); returns how many were written."""
    operations: list[dict[str, Any]] = []
    for group in groups:
        operations.append({"index": {"_index": store.registry, "_id": group.group_id}})
        operations.append(to_document(group))
    return store.bulk(operations=operations, action="write the group registry", refresh=refresh)


def save_if_unchanged(
    store: Store, groups: Sequence[Group], versions: Mapping[str, Version], *, refresh: bool = False
) -> list[str]:
    """Write these groups unless another writer changed them since they were read (`versions`, from
    `groups_by_id`; a group without one must still be absent). The ids not written because their
    entry changed, was created or was deleted meanwhile: the caller reads and decides them again."""
    operations: list[dict[str, Any]] = []
    for group in groups:
        version = versions.get(group.group_id)
        if version is None:
            operations.append({"create": {"_index": store.registry, "_id": group.group_id}})
        else:
            seq_no, term = version
            target = {"_index": store.registry, "_id": group.group_id}
            operations.append({"index": {**target, "if_seq_no": seq_no, "if_primary_term": term}})
        operations.append(to_document(group))
    return store.bulk_conditional(operations=operations, action="write the group registry", refresh=refresh)


# Attempts at a compare-and-set write before giving up: each conflict means another writer wrote the
# same group in between; more than a few in a row is a loop (two analyze runs fighting), not a race.
WRITE_ATTEMPTS: Final = 5


def forget(store: Store, keys: Iterable[str]) -> int:
    """Remove groups whose events now carry another key (their template was merged into another)."""
    operations = [{"delete": {"_index": store.registry, "_id": key}} for key in keys]
    if not operations:
        return 0
    items = store.bulk_items(operations=operations, action="update the group registry", refresh=True)
    return sum(1 for item in items if item["delete"].get("result") == "deleted")


def find_group(groups: Iterable[Group], reference: str) -> Group:
    """The group whose key equals `reference`, else the only one it is a prefix of."""
    candidates = list(groups)
    for group in candidates:
        if group.group_id == reference:
            return group
    matches = [group for group in candidates if group.group_id.startswith(reference)] if reference else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise GroupNotFound(
            f"no group matches {reference!r}: run `logloop analyze` first, or copy a key from the digest"
        )
    shown = ", ".join(sorted(group.group_id for group in matches)[:5])
    count = f"{len(matches)}" if len(matches) <= 5 else "more than 5"
    raise GroupNotFound(f"{reference!r} matches {count} groups ({shown}, ...): give more of the key")


def mark(
    store: Store,
    reference: str,
    *,
    status: str,
    now: datetime,
    in_version: str | None = None,
) -> Group:
    """Set a maintainer's status (resolved or ignored) on the group `reference` names; return it.

    `now` is when the fix counts from: occurrences after it are regressions (see lifecycle)."""
    key = lookup(store, reference).group_id
    for attempt in range(WRITE_ATTEMPTS):  # an analyze run may write the group between the read and the write
        if attempt:
            store.refresh(index=store.registry)  # analyze writes unrefreshed: a search reads the older one
        versions: dict[str, Version] = {}
        group = groups_by_id(store, [key], versions=versions).get(key)
        if group is None:
            raise GroupNotFound(f"group {key!r} was removed from the registry meanwhile: run it again")
        updated = replace(
            group,
            status=status,
            resolved_in_version=in_version if status == "resolved" else group.resolved_in_version,
            resolved_at=now if status == "resolved" else group.resolved_at,
            regressed_at=None if status == "resolved" else group.regressed_at,
            regressed_in_version=None if status == "resolved" else group.regressed_in_version,
            status_changed_at=now,
            updated_at=now,
            priority=0.0 if status in ("resolved", "ignored") else group.priority,
        )
        if not save_if_unchanged(store, [updated], versions, refresh=True):
            # Kept apart too: a registry rebuilt from the events gets the mark back (analyzers.group_marks)
            from analyzers import group_marks

            mark = group_marks.new_mark(key, status, effective_at=now, in_version=in_version,
                                        recorded_at=datetime.now(UTC))  # fmt: skip
            group_marks.record(store, mark)
            return updated
    raise RegistryError(
        f"group {key!r} changed {WRITE_ATTEMPTS} times while it was being marked {status}: run it again"
    )
