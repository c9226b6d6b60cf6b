"""A maintainer's `resolve`/`ignore` marks, kept in the group edits index as well as in the registry.

The registry holds a group's status, but the registry is rebuilt from the events when it is lost
(deleted by hand, by a retention job, with a cluster restored without it): statuses come back from
the counts, a maintainer's decision does not. So `logloop resolve` and `logloop ignore` also record a
mark document (`kind` "mark") in `<prefix>-group-edits`, which holds the other decisions a person made
about groups (merges, splits) and is never rebuilt. `logloop analyze` reads the latest mark of every
group it finds without a registry entry and decides that group from it (a resolved one stays resolved,
or regressed by the events after its fix; an ignored one stays ignored).

The rule a reader must not break: a mark only stands in for a missing registry entry. A group the
registry knows is decided from the registry, which `analyze` keeps current (a regression, a newer
resolve); the latest mark of a group is the registry's last maintainer status at the time it was made.

Mark documents carry every field an `Edit` needs (`edit_id`, `kind`, `target`, `who`, `at`,
`grouping_version`), so an older logloop reading the index takes them for edits of a kind it does not
apply; `group_edits.load` leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from analyzers import group_edits
from analyzers.store import Store
from shipper.grouping.digests import hex_digest

KIND: Final = "mark"
STATUSES: Final = ("resolved", "ignored")


@dataclass(frozen=True, kw_only=True)
class Mark:
    """The status a maintainer gave a group, from when (`effective_at`: `resolve --at`), by whom."""

    group_id: str
    status: str  # "resolved" | "ignored"
    effective_at: datetime
    in_version: str | None = None
    who: str
    recorded_at: datetime


def new_mark(
    group_id: str, status: str, *, effective_at: datetime, in_version: str | None, recorded_at: datetime
) -> Mark:
    if status not in STATUSES:
        raise ValueError(f"a mark is one of {STATUSES}, not {status!r}")
    return Mark(group_id=group_id, status=status, effective_at=effective_at, in_version=in_version,
                who=group_edits.who_am_i(), recorded_at=recorded_at)  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_document(mark: Mark, *, grouping_version: int) -> dict[str, Any]:
    text = "\x1f".join((KIND, mark.group_id, mark.status, _iso(mark.recorded_at)))
    document = {
        "edit_id": "m-" + hex_digest(text, 8),
        "kind": KIND,
        "target": mark.group_id,
        "status": mark.status,
        "effective_at": _iso(mark.effective_at),
        "in_version": mark.in_version,
        "who": mark.who,
        "at": _iso(mark.recorded_at),
        "grouping_version": grouping_version,
    }
    return {name: value for name, value in document.items() if value is not None}


def from_document(document: Mapping[str, Any]) -> Mark | None:
    """The mark a document records; None for one that is not a whole mark (written by hand)."""
    try:
        status = str(document["status"])
        if status not in STATUSES:
            return None
        return Mark(
            group_id=str(document["target"]),
            status=status,
            effective_at=_parse(document["effective_at"]),
            in_version=None if document.get("in_version") is None else str(document["in_version"]),
            who=str(document.get("who") or "unknown"),
            recorded_at=_parse(document["at"]),
        )
    except (KeyError, ValueError, TypeError):
        return None


def record(store: Store, mark: Mark) -> None:
    """Write the mark (refreshed: the analyze run that follows reads it)."""
    from shipper.grouping.fingerprint import GROUPING_VERSION

    group_edits.ensure(store)
    document = to_document(mark, grouping_version=int(GROUPING_VERSION))
    operations = [{"index": {"_index": store.group_edits, "_id": document["edit_id"]}}, document]
    store.bulk(operations=operations, action="record the mark in the group edits", refresh=True)


def latest(store: Store, keys: Iterable[str]) -> dict[str, Mark]:
    """The latest mark of each of these groups that has one, in one request (collapsed by group)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    body = {
        "size": len(wanted),
        "track_total_hits": False,
        "query": {"bool": {"filter": [{"term": {"kind": KIND}}, {"terms": {"target": wanted}}]}},
        "collapse": {"field": "target"},
        "sort": [{"at": "desc"}, {"edit_id": "desc"}],
    }
    response = store.search(index=store.group_edits, body=body, action="read the resolve and ignore marks")
    marks: dict[str, Mark] = {}
    for hit in response.get("hits", {}).get("hits", []):
        mark = from_document(hit.get("_source") or {})
        if mark is not None and mark.group_id in wanted:
            marks.setdefault(mark.group_id, mark)
    return marks
