"""Pure builders of search request bodies (core aggregations only: no composite, no scripts).

Nothing here talks to Elasticsearch; each function returns the keyword arguments of one `search`
call, and the matching `parse_*` function (in analyzers.analyze / analyzers.check) reads the answer.

Bounds (so one request costs the same on the embedded node and on a cluster):
- `summary_query` + `group_aggs` are paged by `analyzers.group_pages` over every group in the
  look-back range (current window + baseline windows), a proven-complete page at a time.
- per group at most `TERMS_SIZE` versions, hosts and services are listed (the priority's spread
  counts those lists), and `latest_per_group` returns one sample event per group of a page.
- raw events are only paged by `regroup_page` (search_after, `batch` events a page).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from shipper import schema

TERMS_SIZE: Final = 50
GROUP_KEY: Final = "error.grouping_key"  # the field every group-by and group filter uses
SAMPLE_FIELDS: Final = (
    "@timestamp",
    "message",
    "log.level",
    "event.dataset",
    "error.type",
    "error.message",
    "error.stack_trace",
    "error.grouping_name",
    "logloop.template",
    "logloop.feedback.kind",
    "logloop.grouping_version",
    "service.name",
    "service.version",
)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds, the form Elasticsearch date math and ranges accept."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_FRACTION_RE: Final = re.compile(r"(\.\d{6})\d+")


def source_time(value: Any) -> datetime | None:
    """A `@timestamp` as a document's `_source` holds it, as an aware UTC datetime (a time naming no
    zone is UTC, as Elasticsearch reads it); None when Elasticsearch's default date format would not
    read it. That format takes epoch milliseconds (a number, or digits in a string) and ISO 8601 with
    up to nanoseconds, so another shipper's `1763800000000` or `...T05:00:00.123456789+05:30` is a
    stored event whose time the analyzers must read: `datetime.fromisoformat` refused both, and the
    digest ended in a traceback."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            return datetime.fromtimestamp(float(value) / 1000, tz=UTC)
        if not isinstance(value, str):
            return None
        parsed = datetime.fromisoformat(_FRACTION_RE.sub(r"\1", value.strip()).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def time_range(
    start: datetime | None, end: datetime, *, exclusive_start: bool = False, end_inclusive: bool = False
) -> dict[str, Any]:
    """Events in [start, end) by `@timestamp` (no start: everything before `end`); the flags make
    the start exclusive or the end inclusive. Every time filter of every analyzer is this one."""
    bounds: dict[str, str] = {"lte" if end_inclusive else "lt": iso(end)}
    if start is not None:
        bounds["gt" if exclusive_start else "gte"] = iso(start)
    return {"range": {"@timestamp": bounds}}


def is_error() -> dict[str, Any]:
    """An error event, as `shipper.schema.is_error_query` defines it (the one definition)."""
    return schema.is_error_query()


def all_of(*clauses: Mapping[str, Any]) -> dict[str, Any]:
    """Events every clause matches (a non-scoring `bool` filter)."""
    return {"bool": {"filter": [dict(clause) for clause in clauses]}}


def in_groups(keys: Iterable[str]) -> dict[str, Any]:
    """Events of these groups (by grouping key)."""
    return {"terms": {GROUP_KEY: list(keys)}}


# `index.max_terms_count`: the most values one `terms` query may hold, unless an index sets fewer
# (`Store.max_terms_count` reads what the event indices allow).
MAX_TERMS_COUNT: Final = 65_536


def _terms_chunks(keys: Sequence[str], per_terms: int) -> list[dict[str, Any]]:
    keys = sorted(set(keys))
    size = max(per_terms, 1)
    return [{"terms": {GROUP_KEY: keys[start : start + size]}} for start in range(0, len(keys), size)]


def outside_groups(keys: Sequence[str], *, per_terms: int = MAX_TERMS_COUNT) -> dict[str, Any]:
    """Events of none of these groups (every event when there are none), any number of keys: one
    `terms` clause per `per_terms` of them, as `index.max_terms_count` allows."""
    return {"bool": {"must_not": _terms_chunks(keys, per_terms)}}


def among_groups(keys: Sequence[str], *, per_terms: int = MAX_TERMS_COUNT) -> dict[str, Any]:
    """Events of any of these groups (none when there are none): `outside_groups`'s complement."""
    chunks = _terms_chunks(keys, per_terms)
    return {"bool": {"should": chunks, "minimum_should_match": 1}} if chunks else {"match_none": {}}


def in_group(key: str) -> dict[str, Any]:
    """Events of this one group."""
    return {"term": {GROUP_KEY: key}}


def grouped() -> dict[str, Any]:
    """Events that carry a grouping key ("" is no key, as `schema.present_query` says for keywords)."""
    return schema.present_query(GROUP_KEY)


def ungrouped() -> dict[str, Any]:
    """Events no grouping key was given yet (`logloop regroup` and `analyze` give them one)."""
    return {"bool": {"must_not": [grouped()]}}


def terms_agg(field: str, size: int = TERMS_SIZE, **sub: Any) -> dict[str, Any]:
    """A `terms` aggregation of the `size` most frequent values of `field`, with sub-aggregations."""
    agg: dict[str, Any] = {"terms": {"field": field, "size": size}}
    if sub:
        agg["aggs"] = sub
    return agg


# What each shard returns of a list whose counts (or first times) are shown: every value it holds up to
# this many. A `terms` list is merged from each shard's top `shard_size` (1.5 x size + 10 by default);
# a value past that on one shard (120 versions a month, 300 hosts, spread over 30 daily indices of 3
# shards each) loses that shard's events from its count and its first time, so counts read too low and
# the top values shown are not the top ones. Lists kept short (a few groups' facets) afford the room.
LIST_SHARD_SIZE: Final = 5000


def listed_terms(field: str, size: int, **sub: Any) -> dict[str, Any]:
    """`terms_agg` for a list whose counts are read: each shard returns up to LIST_SHARD_SIZE values,
    so the counts of the `size` listed are exact wherever no shard holds more values than that."""
    agg = terms_agg(field, size, **sub)
    agg["terms"]["shard_size"] = max(size, LIST_SHARD_SIZE)
    return agg


# The key of documents written before processes carried `process.entity_id` (grouped by pid instead).
NO_ENTITY: Final = "(none)"


def per_process(size: int, order: Sequence[str] = (), **sub: Any) -> dict[str, Any]:
    """A `terms` aggregation with one bucket per process instance that wrote the documents
    (`process.entity_id`: a pid reused by the next cron run, or every container's pid 1, is another
    process) and `sub` in each; documents without one (written before it existed) in the bucket
    NO_ENTITY, split by `process.pid` as they were, -1 for none. Largest values of the single-value
    metrics `order` first (then the busiest): the processes in trouble are the ones kept when
    there are more than `size`. Read with `process_buckets`."""
    by_pid = {"terms": {"field": "process.pid", "size": size, "missing": -1}, "aggs": sub}
    ranked = [{name: "desc"} for name in order] + [{"_count": "desc"}]
    return {
        "terms": {"field": "process.entity_id", "size": size, "missing": NO_ENTITY, "order": ranked},
        "aggs": {**sub, "pids": by_pid},
    }


def process_buckets(agg: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(pid, bucket with the sub-aggregations) of each process in a `per_process` answer (pure)."""
    found: list[tuple[int, Mapping[str, Any]]] = []
    for entity in agg.get("buckets", []):
        pids = entity["pids"]["buckets"]
        if entity["key"] != NO_ENTITY:  # one process: its counters are the entity's (one pid, or none)
            found.append((int(pids[0]["key"]) if pids else -1, entity))
        else:
            found.extend((int(process["key"]), process) for process in pids)
    return found


def _min_ts() -> dict[str, Any]:
    return {"min": {"field": "@timestamp"}}


def _max_ts() -> dict[str, Any]:
    return {"max": {"field": "@timestamp"}}


def window_ranges(until: datetime, window: timedelta, baseline_windows: int) -> list[dict[str, str]]:
    """`w0` is the current window [until - window, until), `w1` the one before it, and so on."""
    return [
        {"key": f"w{n}", "from": iso(until - (n + 1) * window), "to": iso(until - n * window)}
        for n in range(baseline_windows + 1)
    ]


def summary_query(*, until: datetime, window: timedelta, baseline_windows: int) -> dict[str, Any]:
    """The grouped events of the look-back range (current window + baseline windows)."""
    lookback_start = until - (baseline_windows + 1) * window
    return all_of(time_range(lookback_start, until), grouped())


def group_aggs(*, until: datetime, window: timedelta, baseline_windows: int) -> dict[str, Any]:
    """Per group: counts per window, first/last seen, spread and daily counts in the window
    (`analyze` reads the four lists apart: see LISTS and `group_lists`).

    Every sub-aggregation costs per (group, shard), which at 20,000 groups over 35 daily indices is
    most of a run: so no `cardinality` (the spread is the length of the lists, exact up to
    TERMS_SIZE) and no `top_hits` (`latest_per_group` fetches the samples of a page at once)."""
    window_start = until - window
    return {
        "first_seen": _min_ts(),
        "last_seen": _max_ts(),
        "windows": {
            "date_range": {
                "field": "@timestamp",
                "keyed": True,
                "ranges": window_ranges(until, window, baseline_windows),
            }
        },
        "versions": terms_agg("service.version"),
        "hosts": terms_agg("host.name"),
        "services": terms_agg("service.name"),
        "levels": terms_agg("log.level", size=5),
        # Only "is any event feedback" is read: a filter costs a fraction of a terms list per group.
        "feedback": {"filter": {"term": {"event.dataset": schema.DATASET_FEEDBACK}}},
        "with_trace": {"filter": {"exists": {"field": "error.stack_trace"}}},
        "grouping_version": {"max": {"field": "logloop.grouping_version"}},
        "in_window": {
            "filter": time_range(window_start, until),
            "aggs": {
                "daily": {
                    "date_histogram": {
                        "field": "@timestamp",
                        "calendar_interval": "1d",
                        "time_zone": "UTC",
                        "min_doc_count": 0,
                        "extended_bounds": {
                            "min": iso(window_start),
                            "max": iso(until - timedelta(milliseconds=1)),
                        },
                    }
                }
            },
        },
    }


# What `analyze.parse_bucket` never reads of a `group_aggs` bucket (half of a page's answer): the
# lists' counts (their order is their rank), the windows' bounds, the days' keys (they are in order).
GROUP_UNREAD: Final = (
    *(f"{name}.buckets.doc_count" for name in ("versions", "hosts", "services", "levels")),
    "*.doc_count_error_upper_bound",
    "*.sum_other_doc_count",
    "windows.buckets.*.from",
    "windows.buckets.*.to",
    "in_window.doc_count",
    "in_window.daily.buckets.key",
)


# The lists of `group_aggs` (name -> field, and how many values each keeps). `analyze` asks for them
# in a request of their own per page (`group_lists`): as `terms` below each group they cost per
# (group, daily shard) and were most of a run's aggregation time.
LISTS: Final = {
    "versions": ("service.version", TERMS_SIZE),
    "hosts": ("host.name", TERMS_SIZE),
    "services": ("service.name", TERMS_SIZE),
    "levels": ("log.level", 5),
}
# (group, value) pairs per list and request, together under `search.max_buckets` (65,536): a page of
# 2,000 groups on 20 hosts has 40,000 (group, host) pairs and a few thousand of each other list, so
# it usually takes one request (a list with more pairs continues where it stopped).
LIST_PAGE: Final = {"versions": 10_000, "hosts": 42_000, "services": 6_000, "levels": 6_000}


def without_lists(aggs: Mapping[str, Any]) -> dict[str, Any]:
    """`group_aggs` without the four lists (`group_lists` reads them)."""
    return {name: agg for name, agg in aggs.items() if name not in LISTS}


def group_lists(
    *, query: Mapping[str, Any], keys: Sequence[str], after: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, Any]:
    """One `composite` aggregation per list of `after` (name -> the last pair already read, or None):
    every (group, value) pair of these groups' events with its count, exact, LIST_PAGE[name] at a time."""
    aggs: dict[str, Any] = {}
    for name, last in after.items():
        field, _ = LISTS[name]
        composite: dict[str, Any] = {
            "size": LIST_PAGE[name],
            "sources": [
                {"key": {"terms": {"field": "error.grouping_key"}}},
                {"value": {"terms": {"field": field}}},
            ],
        }
        if last is not None:
            composite["after"] = dict(last)
        aggs[name] = {"composite": composite}
    return {
        "size": 0,
        "track_total_hits": False,
        "allow_partial_search_results": False,
        "request_cache": False,
        "query": {"bool": {"filter": [dict(query), {"terms": {"error.grouping_key": list(keys)}}]}},
        "aggs": aggs,
    }


def service_versions(*, until: datetime, window: timedelta, baseline_windows: int) -> dict[str, Any]:
    """When each version of each service first appeared in the look-back range (all events, not only
    errors): the evidence for "resolved in version X"."""
    lookback_start = until - (baseline_windows + 1) * window
    return {
        "size": 0,
        "track_total_hits": False,
        "query": all_of(time_range(lookback_start, until)),
        "aggs": {
            "service_versions": terms_agg(
                "service.name", size=TERMS_SIZE, versions=terms_agg("service.version", first_seen=_min_ts())
            ),
        },
    }


def latest_per_group(*, keys: Sequence[str], until: datetime) -> dict[str, Any]:
    """The latest event of each of these groups before `until`: one hit per group (field collapsing)."""
    return {
        "size": len(keys),
        "track_total_hits": False,
        "query": all_of(time_range(None, until), in_groups(keys)),
        "collapse": {"field": GROUP_KEY},
        "sort": [{"@timestamp": {"order": "desc"}}],
        "_source": {"includes": [*SAMPLE_FIELDS, GROUP_KEY, "host.name"]},
    }


def latest_at(*, last_seen: Mapping[str, datetime], until: datetime) -> dict[str, Any]:
    """The latest event before `until` of each group, knowing when each was last seen: what
    `latest_per_group` returns, visiting only the events of each group's last (UTC) day.

    One clause per day, not per group (a page of groups spans at most the look-back range's days):
    a group's latest event is at its `last_seen`, so on or after the start of that day."""
    by_day: dict[datetime, list[str]] = {}
    for key, moment in last_seen.items():
        day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        by_day.setdefault(day, []).append(key)
    clauses = [all_of(time_range(day, until), in_groups(keys)) for day, keys in sorted(by_day.items())]
    return {
        "size": len(last_seen),
        "track_total_hits": False,
        "query": {"bool": {"should": clauses, "minimum_should_match": 1}},
        "collapse": {"field": GROUP_KEY},
        "sort": [{"@timestamp": {"order": "desc"}}],
        "_source": {"includes": [*SAMPLE_FIELDS, GROUP_KEY, "host.name"]},
    }


def all_time_query(*, keys: Sequence[str], until: datetime) -> dict[str, Any]:
    """These groups' events before `until` over every daily index (their exact count and first
    occurrence are paged; analyze asks only before its look-back range, whose counts it has)."""
    return all_of(time_range(None, until), in_groups(keys))


ALL_TIME_AGGS: Final = {"first_seen": {"min": {"field": "@timestamp"}}}


def occurrences_since(*, since: Mapping[str, datetime], until: datetime) -> dict[str, Any]:
    """For each group, its first occurrence after its own `since` time and the versions seen since
    (each with its first occurrence since: the version a regression came back on).

    Used for regressions: `since` is when a resolved group was resolved, or when an active group was
    last seen in the registry. One `filters` bucket per group keeps it a single bounded request.
    """
    filters = {
        key: {
            "bool": {
                "filter": [
                    in_group(key),
                    time_range(moment, until, exclusive_start=True),
                ]
            }
        }
        for key, moment in since.items()
    }
    return {
        "size": 0,
        "track_total_hits": False,
        "query": all_of(time_range(None, until), in_groups(since)),
        "aggs": {
            "since": {
                "filters": {"filters": filters},
                "aggs": {"first": _min_ts(), "versions": terms_agg("service.version", first=_min_ts())},
            }
        },
    }


def check_errors(*, start: datetime, until: datetime) -> dict[str, Any]:
    """The exact number of error events in [start, until): the `doc_count` of an aggregation, as every
    other count of the analyzers (`hits.total` counts documents, and a pre-aggregated document, one
    written with `_doc_count`, stands for that many events)."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": all_of(time_range(start, until), is_error()),
        "aggs": {"errors": {"filter": {"match_all": {}}}},
    }


def check_groups_query(*, start: datetime, until: datetime) -> dict[str, Any]:
    """The grouped error events of [start, until): paged per group, with CHECK_GROUP_AGGS (samples are
    read for the new groups only, with `latest_per_group`)."""
    return all_of(time_range(start, until), is_error(), grouped())


CHECK_GROUP_AGGS: Final = {"first_seen": _min_ts()}


def seen_before_query(*, keys: Sequence[str], start: datetime) -> dict[str, Any]:
    """Error events of these groups before `start`: a group with any is not new."""
    return all_of(time_range(None, start), is_error(), in_groups(keys))


def needs_regrouping(
    *, current_version: int, since: datetime | None, until: datetime, missing_only: bool = False
) -> dict[str, Any]:
    """Error events without a grouping key, or (unless `missing_only`) grouped by an older version."""
    missing = ungrouped()
    if missing_only:
        return all_of(time_range(since, until), is_error(), missing)
    outdated = {
        "bool": {
            "should": [
                missing,
                {"bool": {"must_not": [{"exists": {"field": "logloop.grouping_version"}}]}},
                {"range": {"logloop.grouping_version": {"lt": current_version}}},
            ],
            "minimum_should_match": 1,
        }
    }
    return all_of(time_range(since, until), is_error(), outdated)


def regroup_page(
    *, query: Mapping[str, Any], batch: int, search_after: Sequence[Any] | None
) -> dict[str, Any]:
    """One page of events to regroup, in (@timestamp, event.id) order; full _source is needed."""
    body: dict[str, Any] = {
        "size": batch,
        "query": dict(query),
        "sort": [{"@timestamp": "asc"}, {"event.id": {"order": "asc", "missing": "_last"}}],
        "track_total_hits": True,
    }
    if search_after is not None:
        body["search_after"] = list(search_after)
    return body
