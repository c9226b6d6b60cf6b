"""One group in full, for `logloop group show` and `logloop group ticket`: its digest row, all its
root-cause material, the feedback linked to it and its links, over a window.

The group is named by its key or a unique prefix of it (resolved with one aggregation over the
events, so it works before `logloop analyze` ever ran).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from analyzers import digest, digest_data, group_edits, queries, rootcause, rootcause_queries
from analyzers.digest_insights import kibana_links
from analyzers.digest_model import GroupRow, group_rows
from analyzers.digest_options import DigestOptions
from analyzers.digest_window import Window
from analyzers.exceptions import GroupNotFound
from analyzers.rootcause import FeedbackLink, RootCause
from analyzers.store import Store


@dataclass(frozen=True, kw_only=True)
class GroupReport:
    window: Window
    group: GroupRow
    cause: RootCause
    feedback: tuple[FeedbackLink, ...]
    titles: dict[str, str]
    kibana: str | None
    generated_at: datetime

    def title(self, key: str) -> str:
        return self.titles.get(key, key[:12])


def resolve_request(reference: str, until: datetime) -> dict[str, Any]:
    return {
        "size": 0,
        "track_total_hits": False,
        "query": queries.all_of({"prefix": {queries.GROUP_KEY: reference}}, queries.time_range(None, until)),
        "aggs": {"keys": queries.terms_agg(queries.GROUP_KEY, 5)},
    }


def resolve(store: Store, reference: str, until: datetime) -> str:
    """The grouping key `reference` names: itself, or the one key it is a prefix of."""
    reference = reference.strip()
    if not reference:
        raise GroupNotFound("give a grouping key (or a unique prefix of one), as the digest prints it")
    response = store.search(
        index=store.events, body=resolve_request(reference, until), action="find the group"
    )
    keys = [b["key"] for b in response.get("aggregations", {}).get("keys", {}).get("buckets", [])]
    if reference in keys:
        return reference
    if len(keys) == 1:
        return str(keys[0])
    if not keys:
        moved = group_edits.where_moved(store, reference)  # `logloop group merge` or `split` moved them
        raise GroupNotFound(
            moved or f"no events with a grouping key starting {reference!r}: check the key in the digest"
        )
    raise GroupNotFound(f"{reference!r} matches several groups ({', '.join(k[:12] for k in keys)}, ...)")


def build(
    store: Store,
    reference: str,
    *,
    window: timedelta,
    until: datetime,
    now: datetime,
    options: DigestOptions,
) -> GroupReport:
    span = Window.ending(until, window, options.timezone)
    key = resolve(store, reference, until)
    data = digest.fetch(store, span)
    data = dataclasses.replace(
        data, details={**data.details, **digest_data.fetch_details(store, span, [key])}
    )
    rows = group_rows(data)
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        raise GroupNotFound(
            f"group {key[:12]} has no events between {span.label()} (or is ignored): try a longer --window"
        )
    found = rootcause_queries.fetch(store, span, [key], options.rootcause)
    counts = {str(g["key"]): int(g["count"]) for g in data.groups}
    known_first = {key: row.first_seen}  # the registry's, where it knows an earlier one than the events
    cause = rootcause.root_causes(
        found, [key], counts=counts, window=span, config=options.rootcause, known_first=known_first
    )[key]
    feedback = tuple(f for f in rootcause.link_feedback(found) if f.key == key)
    return GroupReport(
        window=span,
        group=row,
        cause=cause,
        feedback=feedback,
        titles={r.key: r.title for r in rows},
        kibana=kibana_links([key], span, options).get(key),
        generated_at=now,
    )
