"""The digest's recurring warnings: every warning of both windows counted by its shape, the most frequent
listed as the error lines are.

A warning's shape is its logging template with the specifiers written as placeholders
(`titles.template_text`: `disk %s is %d%% full` -> `disk <VAR> is <NUM>% full`), or, when it has no
template that names a statement (another shipper's lines, `log.warning("%s", text)`), its message's first
line masked as titles mask messages (`titles.masked_message`: `disk /dev/sda1 is 93% full` -> `disk
<PATH> is <NUM>% full`). The counts are exact: the templates and messages of both windows are paged
(`analyzers.group_pages`), never cut at a top N. Memory holds one count per shape and at most MAX_SHAPES
shapes (a warning of a shape past them, or whose message is longer than the keyword Elasticsearch keeps,
1,024 characters, is in the totals and in "the others", never in a row).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from analyzers import group_pages, queries
from analyzers.digest_data import WARNING_QUERY, Warnings
from analyzers.digest_window import Window
from analyzers.store import Store
from shipper import schema
from shipper.grouping.titles import first_line, masked_message, names_a_statement, template_text

MAX_WARNINGS: Final = 10  # rows every format lists
MAX_SHAPES: Final = 20_000  # shapes counted in memory
MAX_UNNAMED_TEMPLATES: Final = 1_000  # `%s`-like templates whose warnings are shaped by their message
_TEMPLATE: Final = "logloop.template"
_MESSAGE: Final = "message.keyword"


@dataclass(kw_only=True)
class _Tally:
    count: int = 0
    previous: int = 0
    last_seen: float | None = None  # epoch ms of the latest warning in the window
    last_seen_text: str | None = None
    sample: str = ""
    sample_count: int = -1


def _per_window(window: Window) -> dict[str, Any]:
    latest = {"last": {"max": {"field": "@timestamp"}}}
    return {
        "current": {"filter": queries.time_range(window.start, window.end), "aggs": latest},
        "previous": {"filter": queries.time_range(window.previous.start, window.previous.end)},
    }


def _both_windows(window: Window, *clauses: Mapping[str, Any]) -> dict[str, Any]:
    return queries.all_of(WARNING_QUERY, *clauses, queries.time_range(window.previous.start, window.end))


def _by_template(store: Store, window: Window) -> Iterator[dict[str, Any]]:
    return group_pages.buckets(
        store,
        index=store.events,
        query=_both_windows(window, schema.present_query(_TEMPLATE)),
        aggs=_per_window(window),
        field=_TEMPLATE,
        action="count warnings by template",
    )


def _by_message(store: Store, window: Window, unnamed: list[str]) -> Iterator[dict[str, Any]]:
    """Warnings shaped by their message: those without a template, and those of `unnamed` templates."""
    which: list[dict[str, Any]] = [{"bool": {"must_not": [schema.present_query(_TEMPLATE)]}}]
    if unnamed:
        which.append({"terms": {_TEMPLATE: unnamed}})
    return group_pages.buckets(
        store,
        index=store.events,
        query=_both_windows(window, {"bool": {"should": which, "minimum_should_match": 1}}),
        aggs=_per_window(window),
        field=_MESSAGE,
        action="count warnings by message",
    )


def _add(tallies: dict[str, _Tally], shape: str, bucket: Mapping[str, Any], sample: str) -> bool:
    """Add a bucket's counts to its shape's tally; False when the shape is new and MAX_SHAPES are held."""
    tally = tallies.get(shape)
    if tally is None:
        if len(tallies) >= MAX_SHAPES:
            return False
        tally = tallies[shape] = _Tally()
    current = int(bucket["current"]["doc_count"])
    tally.count += current
    tally.previous += int(bucket["previous"]["doc_count"])
    latest = bucket["current"].get("last") or {}
    if latest.get("value") is not None and (tally.last_seen is None or latest["value"] > tally.last_seen):
        tally.last_seen, tally.last_seen_text = latest["value"], latest.get("value_as_string")
    if sample and current > tally.sample_count:
        tally.sample, tally.sample_count = sample, current
    return True


def shape_of_template(template: str) -> str:
    """A warning's shape from its logging template (one naming a statement)."""
    return template_text(first_line(template))


def shape_of_message(message: str) -> str:
    """A warning's shape from its message (no template naming a statement)."""
    return masked_message(first_line(message)) or message.strip() or "(empty message)"


def fetch_warnings(store: Store, window: Window) -> Warnings:
    """Every warning of both windows counted by shape; the MAX_WARNINGS shapes with most in the window."""
    tallies: dict[str, _Tally] = {}
    capped = False
    unnamed: list[str] = []
    for bucket in _by_template(store, window):
        template = str(bucket["key"])
        if not names_a_statement(template):
            if len(unnamed) < MAX_UNNAMED_TEMPLATES:
                unnamed.append(template)
            continue
        capped |= not _add(tallies, shape_of_template(template), bucket, sample="")  # (the shape says it)
    for bucket in _by_message(store, window, unnamed):
        message = str(bucket["key"])
        capped |= not _add(tallies, shape_of_message(message), bucket, message)
    active = [(shape, tally) for shape, tally in tallies.items() if tally.count > 0]
    top = heapq.nsmallest(MAX_WARNINGS, active, key=lambda item: (-item[1].count, item[0]))
    rows = [
        {
            "shape": shape,
            "count": tally.count,
            "previous_count": tally.previous,
            "last_seen": tally.last_seen_text,
            "sample": tally.sample,
        }
        for shape, tally in top
    ]
    return Warnings(
        rows=rows, shapes=len(active), shaped=sum(tally.count for _shape, tally in active), capped=capped
    )
