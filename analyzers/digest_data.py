"""The digest's queries: a few core aggregations over the event indices, and their parsed results.

Elasticsearch does the counting. Every request is `size: 0` with aggregations (terms, filter,
date_histogram, percentiles, min/max, top_hits); raw events are read only as a handful of `top_hits`
samples per group, template or feedback kind, so the cost does not grow with volume; the number of
requests grows with the number of groups (one per page), and memory holds the counts of every group
(a few numbers each), never their events.

Requests:
1. overview   totals this vs previous window, the daily trend, slowest operations, feedback by
              kind and shipper health;
   error lines the templates of error lines without traceback, every one counted (paged), then
              the top MAX_TEMPLATES' last seen, hosts and sample;
2. groups     every group with an event in either window and its counts, exactly, in pages
              (`analyzers.group_pages`: one request up to ~40,000 groups), and the hosts the same way;
3. first seen the earliest occurrence before the window of every group active in it (paged too);
4. details    for the groups the digest shows: daily counts, versions, hosts and a sample;
5. registry   the `<prefix>-groups` documents (status, priority) via `analyzers.registry`, paged,
              without the sample trace and message (the details carry those of the groups shown).

The digest's counts of groups and hosts are the number of terms those pages return, not a
`cardinality` estimate.

Shipper health: counters in `logloop.shipper` documents are cumulative per process, so the digest
takes the maximum of each counter per (host, process) within the window and sums those; the spool
backlog is the latest value per process. A process that started before the window contributes what
it counted since it started (an over-estimate, never an under-estimate).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from analyzers import group_edits, group_pages, lifecycle, queries, registry
from analyzers.digest_window import Window
from analyzers.exceptions import ElasticsearchUnavailable
from analyzers.registry import Group
from analyzers.store import Store
from shipper import schema
from shipper.grouping.titles import logged_culprit, names_a_statement, template_title
from shipper.schema import DATASET_FEEDBACK, DATASET_SHIPPER, get_field

MAX_TEMPLATES: Final = 15
MAX_OPERATIONS: Final = 50
FEEDBACK_SAMPLES: Final = 3
SHIPPER_COUNTERS: Final = (
    "queued",
    "sent",
    "retried",
    "spooled",
    "dropped",
    "dead_lettered",
    "shard_limit_retries",  # documents waiting because the cluster refused to create an index
    "unconfirmed",  # deleted while a killed agent's request for them had no answer: arrived or not
)
# What the delivery agent counts for a process, missing from the report a short run writes at its exit.
_AGENT_COUNTED: Final = frozenset({"sent", "retried"})
_SAMPLE_FIELDS: Final = [
    "@timestamp",
    "message",
    "log.level",
    "error.type",
    "error.message",
    "error.stack_trace",
    "error.grouping_name",
    "logloop.template",
    "service.name",
    "service.version",
    "host.name",
]

_FEEDBACK_FIELDS: Final = ["@timestamp", "message", "service.name"]

Doc = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class DigestData:
    """What the queries found, as plain records (the model turns them into frames)."""

    window: Window
    totals: dict[str, dict[str, int]]  # "current"/"previous" -> measure -> value
    daily: list[Doc]  # {"start": ms, "events", "errors", "warnings"}
    groups: list[Doc]  # per group active in either window: counts, first/last seen
    details: dict[str, Doc]  # group key -> daily counts, versions, hosts, sample
    groups_registry: list[Group]  # empty when `logloop analyze` never ran
    error_lines: list[Doc]
    operations: list[Doc]
    feedback: list[Doc]
    shipper: list[Doc]
    first_seen: dict[str, str]  # group key -> earliest occurrence before the window end
    warnings: Warnings = field(default_factory=lambda: Warnings())  # `analyzers.digest_warnings`
    ignored: dict[str, int] = field(default_factory=dict)  # `fetch_ignored`: events left out of every count


@dataclass(frozen=True, kw_only=True)
class Warnings:
    """The most frequent warning shapes of the window (`rows`: shape, count, previous_count, last_seen,
    sample), how many shapes had a warning in it (`shapes`, a lower bound when `capped`) and how many of
    its warnings those shapes hold (`shaped`)."""

    rows: list[Doc] = field(default_factory=list)
    shapes: int = 0
    shaped: int = 0
    capped: bool = False


@dataclass(frozen=True, kw_only=True)
class Counted:
    """Which events the digest's figures count (`lifecycle`'s rule): every one but those of the groups
    `ignored` lists, left out by the query itself in `terms` clauses of at most `per_terms` keys
    (`index.max_terms_count`), so any number of ignored groups fits."""

    ignored: tuple[str, ...] = ()
    per_terms: int = queries.MAX_TERMS_COUNT

    def clause(self) -> dict[str, Any]:
        """The events counted."""
        return queries.outside_groups(self.ignored, per_terms=self.per_terms)

    def ignored_clause(self) -> dict[str, Any]:
        """The events left out (those of the ignored groups)."""
        return queries.among_groups(self.ignored, per_terms=self.per_terms)


EVERYTHING: Final = Counted()


def counted_events(store: Store, groups: Iterable[Group]) -> Counted:
    """What the digest counts, given the registry's groups: a key merged into an ignored group
    (`logloop group merge`; events shipped since carry it until the next analyze) is that group's, as
    `check` reads it."""
    ignored = lifecycle.uncounted((group.group_id, group.status) for group in groups)
    if not ignored:
        return EVERYTHING
    merged = group_edits.EditPlan(group_edits.load(store)).merged
    targets = set(ignored)
    joined = [key for key, (target, _) in merged.items() if target in targets]
    return Counted(ignored=tuple(sorted({*ignored, *joined})), per_terms=store.max_terms_count(store.events))


def _range(window: Window) -> dict[str, Any]:
    return queries.time_range(window.start, window.end)


# A warning: a level of warning (`schema.WARNING_SEVERITY`, in every field that carries a level, as
# error levels are read) on an event that is not an error (a warning with a traceback or `error.*` is
# counted as an error).
WARNING_QUERY: Final = {
    "bool": {
        "filter": [schema.severity_query(schema.WARNING_SEVERITY)],
        "must_not": [queries.is_error()],
    }
}


def _window_measures() -> dict[str, Any]:
    aggs: dict[str, Any] = {
        "errors": {"filter": queries.is_error()},
        "warnings": {"filter": WARNING_QUERY},
        "tracebacks": {"filter": {"exists": {"field": "error.stack_trace"}}},
        "datasets": {"terms": {"field": "event.dataset", "size": 10}},
    }
    aggs["error_lines"] = {  # every error line, also those past the MAX_TEMPLATES rows the digest lists
        "filter": _ERROR_LINE,
        "aggs": {"groups": {"cardinality": {"field": "error.grouping_key", "missing": UNGROUPED}}},
    }
    aggs["ungrouped_errors"] = {"filter": _UNGROUPED_ERROR}  # in no group and in no error-line row
    aggs["feedback"] = {
        "filter": {"term": {"event.dataset": DATASET_FEEDBACK}},
        "aggs": {"kinds": {"terms": {"field": "logloop.feedback.kind", "size": 10}}},
    }
    return aggs


def _histogram(window: Window) -> dict[str, Any]:
    """Calendar buckets in the window's time zone (days at local midnight, or hours), empty ones included."""
    return {
        "date_histogram": {
            "field": "@timestamp",
            "calendar_interval": window.calendar_interval,
            "time_zone": window.tz,
            "min_doc_count": 0,
            "extended_bounds": {
                "min": int(window.start.timestamp() * 1000),
                "max": int(window.end.timestamp() * 1000) - 1,
            },
        }
    }


def _latest(size: int, includes: list[str]) -> dict[str, Any]:
    return {"top_hits": {"size": size, "sort": [{"@timestamp": "desc"}], "_source": {"includes": includes}}}


def _in_window(window: Window, *clauses: dict[str, Any]) -> dict[str, Any]:
    return queries.all_of(*clauses, _range(window))


_ERROR_LINE: Final = {
    "bool": {
        "filter": [schema.error_level_query()],
        "must_not": [{"exists": {"field": "error.stack_trace"}}],
    }
}


def _daily_agg(window: Window) -> dict[str, Any]:
    buckets = {
        **_histogram(window),
        "aggs": {
            "errors": {"filter": queries.is_error()},
            "warnings": {"filter": WARNING_QUERY},
        },
    }
    return {"filter": _range(window), "aggs": {"buckets": buckets}}


# Errors with a traceback (or error fields) that no grouping key was given: another shipper's, or ones
# no `logloop analyze` reached. No group holds them, so the digest says how many there are.
_UNGROUPED_ERROR: Final = {
    "bool": {
        "filter": [
            schema.is_error_query(),
            {"bool": {"must_not": [schema.present_query("error.grouping_key")]}},
        ],
        "must_not": [_ERROR_LINE],
    }
}


# Error lines are counted per group (error.grouping_key: a logging template, or a template mined from
# another shipper's lines by `logloop analyze`/`regroup`); lines no run has grouped yet form one row.
UNGROUPED: Final = "(not grouped yet)"
UNGROUPED_TITLE: Final = "(lines without a grouping key: run `logloop analyze` or `logloop regroup`)"
_ERROR_LINE_TERMS: Final = {"field": "error.grouping_key", "missing": UNGROUPED}
_UNGROUPED_LINE: Final = queries.ungrouped()


def error_lines_request(window: Window, keys: list[str]) -> dict[str, Any]:
    """Last seen, hosts and a sample of the error-line groups the digest shows (UNGROUPED included)."""
    per_template = {
        "last_seen": {"max": {"field": "@timestamp"}},
        "hosts": {"cardinality": {"field": "host.name"}},
        "sample": _latest(
            1,
            [
                "message",
                "log.logger",
                "log.level",
                "log.origin.file.name",
                "log.origin.function",
                "logloop.template",
                "error.type",
                "error.grouping_name",
            ],
        ),
    }
    grouped = [key for key in keys if key != UNGROUPED]
    which: list[dict[str, Any]] = [queries.in_groups(grouped)] if grouped else []
    if UNGROUPED in keys:
        which.append(_UNGROUPED_LINE)
    query = _in_window(window, _ERROR_LINE, {"bool": {"should": which, "minimum_should_match": 1}})
    terms = {**_ERROR_LINE_TERMS, "size": len(keys)}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": query,
        "aggs": {"templates": {"terms": terms, "aggs": per_template}},
    }


def error_line_title(key: str, sample: Mapping[str, Any]) -> str:
    """The title the shipper gives a line logged from a template (`titles.template_title`: specifiers
    and the values left in the template's text as placeholders, `%d` -> `<NUM>`, `/var/lib/%s` ->
    `<PATH>`), so the line reads as its group does elsewhere in the digest (also for events stored by an
    older version, whose name may be the raw template); else the group's name (a mined template), else
    the message."""
    if key == UNGROUPED:
        return UNGROUPED_TITLE
    template = get_field(sample, "logloop.template")
    if isinstance(template, str) and template and names_a_statement(template):  # (not `%s` alone)
        error_type = get_field(sample, "error.type")
        message = str(sample.get("message") or "")
        culprit = logged_culprit(
            get_field(sample, "log.logger"),
            get_field(sample, "log.origin.file.name"),
            get_field(sample, "log.origin.function"),
        )
        return template_title(error_type if isinstance(error_type, str) else "", template, message, culprit)
    return str(get_field(sample, "error.grouping_name") or sample.get("message") or key)


def _operations_agg(window: Window) -> dict[str, Any]:
    percentiles = {"pct": {"percentiles": {"field": "event.duration", "percents": [50, 95]}}}
    per_window = {
        "current": {"filter": _range(window), "aggs": percentiles},
        "previous": {"filter": _range(window.previous), "aggs": percentiles},
    }
    actions = {"terms": {"field": "event.action", "size": MAX_OPERATIONS}, "aggs": per_window}
    return {"filter": {"exists": {"field": "event.duration"}}, "aggs": {"actions": actions}}


def _feedback_agg(window: Window) -> dict[str, Any]:
    kinds = {
        "terms": {"field": "logloop.feedback.kind", "size": 10},
        "aggs": {"samples": _latest(FEEDBACK_SAMPLES, _FEEDBACK_FIELDS)},
    }
    return {
        "filter": _in_window(window, {"term": {"event.dataset": DATASET_FEEDBACK}}),
        "aggs": {"kinds": kinds},
    }


def _shipper_agg(window: Window) -> dict[str, Any]:
    counters = {name: {"max": {"field": f"logloop.shipper.{name}"}} for name in SHIPPER_COUNTERS}
    processes = queries.per_process(
        100,
        ["dropped", "dead_lettered", "unconfirmed"],  # (those that lost events are the ones listed)
        **counters,
        # (the latest report with a backlog: a closing report has none, its agent finishes after it)
        latest={
            "filter": {"exists": {"field": "logloop.shipper.spool_backlog"}},
            "aggs": {"report": _latest(1, ["@timestamp", "logloop.shipper.spool_backlog"])},
        },
        last_report={"max": {"field": "@timestamp"}},
    )
    hosts = {
        "terms": {"field": "host.name", "size": 100, "missing": "(unknown host)"},
        "aggs": {"processes": processes},
    }
    return {
        "filter": _in_window(window, {"term": {"event.dataset": DATASET_SHIPPER}}),
        "aggs": {"hosts": hosts},
    }


def _per_group(window: Window) -> dict[str, Any]:
    return {
        "current": {
            "filter": _range(window),
            "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}},
        },
        "previous": {"filter": _range(window.previous)},
    }


def _both_windows(window: Window, *clauses: dict[str, Any]) -> dict[str, Any]:
    return queries.all_of(*clauses, queries.time_range(window.previous.start, window.end))


def overview_request(window: Window, counted: Counted = EVERYTHING) -> dict[str, Any]:
    """One size-0 search over both windows: totals, trend, templates, operations, feedback, health."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": _both_windows(window, counted.clause()),
        "aggs": {
            "current": {"filter": _range(window), "aggs": _window_measures()},
            "previous": {"filter": _range(window.previous), "aggs": _window_measures()},
            "daily": _daily_agg(window),
            "operations": _operations_agg(window),
            "feedback": _feedback_agg(window),
            "shipper": _shipper_agg(window),
        },
    }


def first_seen_request(window: Window, keys: list[str]) -> dict[str, Any]:
    """The query for these groups' events before the window (their earliest one is paged per group)."""
    return queries.all_of(queries.in_groups(keys), queries.time_range(None, window.start))


def details_request(window: Window, keys: list[str]) -> dict[str, Any]:
    """For the groups shown: counts per bucket (sparklines), versions, hosts, services, one sample."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": queries.all_of(queries.in_groups(keys), _range(window)),
        "aggs": {
            "keys": {
                "terms": {"field": "error.grouping_key", "size": len(keys)},
                "aggs": {
                    "daily": _histogram(window),
                    "versions": queries.listed_terms("service.version", 5),
                    "hosts": queries.listed_terms("host.name", 5),
                    "host_count": {"cardinality": {"field": "host.name"}},
                    "services": queries.listed_terms("service.name", 3),
                    "sample": _latest(1, _SAMPLE_FIELDS),
                },
            }
        },
    }


def flatten_source(source: Mapping[str, Any], names: Iterable[str]) -> Doc:
    return {name: get_field(source, name) for name in names}


def _measures(agg: Mapping[str, Any]) -> dict[str, int]:
    datasets = {b["key"]: b["doc_count"] for b in agg["datasets"]["buckets"]}
    kinds = {b["key"]: b["doc_count"] for b in agg["feedback"]["kinds"]["buckets"]}
    return {
        "events": int(agg["doc_count"]),
        "errors": int(agg["errors"]["doc_count"]),
        "warnings": int(agg["warnings"]["doc_count"]),
        "tracebacks": int(agg["tracebacks"]["doc_count"]),
        "feedback": int(agg["feedback"]["doc_count"]),
        "shipper_docs": int(datasets.get(DATASET_SHIPPER, 0)),
        "error_lines": int(agg["error_lines"]["doc_count"]),
        "error_line_groups": int(agg["error_lines"]["groups"]["value"]),
        "ungrouped_errors": int((agg.get("ungrouped_errors") or {}).get("doc_count", 0)),
        **{f"feedback_{kind}": int(count) for kind, count in kinds.items()},
    }


def _hit_source(top_hits: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [hit["_source"] for hit in top_hits["hits"]["hits"]]


def _in_buckets(buckets: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    """Histogram buckets inside the window (extended_bounds with an offset can add one past the end)."""
    end_ms = int(window.end.timestamp() * 1000)
    return [b for b in buckets if b["key"] < end_ms]


def empty_overview(window: Window) -> dict[str, Any]:
    """The overview of a deployment without any event index yet (searches then return no aggregations)."""
    zero = {
        "events": 0,
        "errors": 0,
        "warnings": 0,
        "tracebacks": 0,
        "groups": 0,
        "hosts": 0,
        "feedback": 0,
        "shipper_docs": 0,
    }
    daily = [
        {"start": int(moment.timestamp() * 1000), "events": 0, "errors": 0, "warnings": 0}
        for moment in window.bucket_starts()
    ]
    return {
        "totals": {"current": dict(zero), "previous": dict(zero)},
        "daily": daily,
        **{name: [] for name in ("operations", "feedback", "shipper")},
    }


def parse_overview(response: Mapping[str, Any], window: Window) -> dict[str, Any]:
    """The overview response -> plain records (pure)."""
    if "aggregations" not in response:
        return empty_overview(window)
    aggs = response["aggregations"]
    operations = [
        {
            "action": b["key"],
            "count": b["current"]["doc_count"],
            "previous_count": b["previous"]["doc_count"],
            "p50": b["current"]["pct"]["values"].get("50.0"),
            "p95": b["current"]["pct"]["values"].get("95.0"),
            "previous_p50": b["previous"]["pct"]["values"].get("50.0"),
            "previous_p95": b["previous"]["pct"]["values"].get("95.0"),
        }
        for b in aggs["operations"]["actions"]["buckets"]
    ]
    feedback = [
        {
            "kind": b["key"],
            "count": b["doc_count"],
            "samples": [
                flatten_source(s, ["@timestamp", "message", "service.name"])
                for s in _hit_source(b["samples"])
            ],
        }
        for b in aggs["feedback"]["kinds"]["buckets"]
    ]
    shipper = []
    for host in aggs["shipper"]["hosts"]["buckets"]:
        for pid, process in queries.process_buckets(host["processes"]):
            latest = (_hit_source(process["latest"]["report"]) or [{}])[0]
            record: Doc = {"host": host["key"], "pid": pid, "reports": process["doc_count"]}
            for counter in SHIPPER_COUNTERS:
                value = process[counter]["value"]
                # (None: only reports written at exit, before the agent had delivered: not known)
                record[counter] = (
                    int(value or 0) if value is not None or counter not in _AGENT_COUNTED else None
                )
            backlog = get_field(latest, "logloop.shipper.spool_backlog") if latest else None
            record["spool_backlog"] = None if backlog is None else int(backlog or 0)
            record["last_report"] = process["last_report"].get("value_as_string")
            shipper.append(record)
    daily = [
        {
            "start": b["key"],
            "events": b["doc_count"],
            "errors": b["errors"]["doc_count"],
            "warnings": b["warnings"]["doc_count"],
        }
        for b in _in_buckets(aggs["daily"]["buckets"]["buckets"], window)
    ]
    return {
        "totals": {"current": _measures(aggs["current"]), "previous": _measures(aggs["previous"])},
        "daily": daily,
        "operations": operations,
        "feedback": feedback,
        "shipper": shipper,
    }


def parse_details(response: Mapping[str, Any], window: Window) -> dict[str, Doc]:
    details: dict[str, Doc] = {}
    for b in response.get("aggregations", {}).get("keys", {}).get("buckets", []):
        sample = (_hit_source(b["sample"]) or [{}])[0]
        details[b["key"]] = {
            "daily": [d["doc_count"] for d in _in_buckets(b["daily"]["buckets"], window)],
            "versions": [v["key"] for v in b["versions"]["buckets"]],
            "hosts": [h["key"] for h in b["hosts"]["buckets"]],
            "host_count": int(b["host_count"]["value"]),
            "services": [s["key"] for s in b["services"]["buckets"]],
            "sample": flatten_source(sample, _SAMPLE_FIELDS),
        }
    return details


def _search(store: Store, body: Mapping[str, Any], action: str) -> Mapping[str, Any]:
    return store.search(index=store.events, body=body, action=action)


def fetch_registry(store: Store) -> list[Group]:
    """Registry groups (empty when `logloop analyze` never ran: the digest then computes status).

    Every group, paged; without the sample trace and message, which the details of the groups shown
    carry, so 20,000 groups stay a few megabytes. A registry Elasticsearch refuses to read (mapped
    without logloop's mapping) is a `store.partial` line and no groups: the digest goes out, saying so."""
    unreadable: list[str] = []
    try:
        groups = registry.load_groups(store, lean=True, unreadable=unreadable)
    except ElasticsearchUnavailable as exc:
        status = getattr(getattr(exc.__cause__, "meta", None), "status", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            raise  # unreachable, or overloaded: the next query would fail too
        store.partial.add(
            f"the group registry {store.registry} cannot be read ({exc}): statuses are computed from first "
            "occurrences only; delete the index and run `logloop analyze` to rebuild it"
        )
        return []
    if unreadable:
        store.partial.add(
            f"{len(unreadable)} entr{'y' if len(unreadable) == 1 else 'ies'} of the group registry cannot be "
            f"read (first: {unreadable[0]}): those groups' statuses are computed from first occurrences"
        )
    return groups


# Groups per page of `fetch_groups`: each is one bucket with two single-bucket filters, so a page of
# 40,000 stays under `search.max_buckets` (65,536) and an answer of a few megabytes.
GROUP_PAGE: Final = 40_000


def parse_group(bucket: Mapping[str, Any]) -> Doc:
    """One paged group bucket -> its counts in both windows and its first/last event in the current."""
    return {
        "key": bucket["key"],
        "count": bucket["current"]["doc_count"],
        "previous_count": bucket["previous"]["doc_count"],
        "window_first": bucket["current"]["first"].get("value_as_string"),
        "last_seen": bucket["current"]["last"].get("value_as_string"),
    }


def fetch_groups(store: Store, window: Window, counted: Counted = EVERYTHING) -> list[Doc]:
    """Every group with an event in either window, with exact counts (see analyzers.group_pages), in
    pages of GROUP_PAGE: one request up to ~40,000 groups (a request per page of 10,000 read every
    event of both windows again, and the first, unpartitioned one was thrown away)."""
    query = _both_windows(window, queries.grouped(), counted.clause())
    pages = group_pages.pages(
        store,
        index=store.events,
        query=query,
        aggs=_per_group(window),
        page_size=GROUP_PAGE,
        action="count error groups",
    )
    return [parse_group(bucket) for page in pages for bucket in page]


def fetch_host_counts(store: Store, window: Window, counted: Counted = EVERYTHING) -> dict[str, int]:
    """How many distinct hosts sent an event in the current and in the previous window (exact)."""
    counts = {"current": 0, "previous": 0}
    for bucket in group_pages.buckets(
        store,
        index=store.events,
        query=_both_windows(window, counted.clause()),
        aggs={"current": {"filter": _range(window)}, "previous": {"filter": _range(window.previous)}},
        field="host.name",
        action="count hosts",
    ):
        for side in counts:
            counts[side] += bucket[side]["doc_count"] > 0
    return counts


def with_exact_counts(
    totals: Mapping[str, Mapping[str, int]], groups: Iterable[Doc], hosts: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """The overview totals with the number of groups and hosts of each window, counted from the pages."""
    groups = list(groups)
    counted = {
        "current": sum(1 for group in groups if group["count"] > 0),
        "previous": sum(1 for group in groups if group["previous_count"] > 0),
    }
    return {
        side: {**values, "groups": counted[side], "hosts": hosts[side]} for side, values in totals.items()
    }


def fetch_first_seen(
    store: Store, window: Window, groups: Iterable[Doc], registry_groups: Iterable[Group] = ()
) -> dict[str, str]:
    """The first occurrence ever (before the window end) of every group active in the window.

    A registry entry first seen before the window settles it (an earlier event exists, and the
    registry's time is the all-time first that `analyze` counted); the others are asked for."""
    first = {group["key"]: group["window_first"] for group in groups if group["count"] > 0}
    settled = {
        group.group_id: group.first_seen
        for group in registry_groups
        if group.group_id in first and group.first_seen < window.start
    }
    first.update(
        {
            key: moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            for key, moment in settled.items()
        }
    )
    for keys in group_pages.key_chunks([key for key in first if key not in settled]):
        for bucket in group_pages.buckets(
            store,
            index=store.events,
            query=first_seen_request(window, keys),
            aggs={"first": {"min": {"field": "@timestamp"}}},
            action="find when groups were first seen",
        ):
            first[bucket["key"]] = bucket["first"]["value_as_string"]
    return first


def fetch_error_lines(store: Store, window: Window, counted: Counted = EVERYTHING) -> list[Doc]:
    """The MAX_TEMPLATES error-line groups with the most events in the window, chosen from the exact
    counts of every group (paged like the groups) and of the lines not grouped yet, with their
    previous-window counts and titles."""
    per_window = {"current": {"filter": _range(window)}, "previous": {"filter": _range(window.previous)}}
    per_group = group_pages.buckets(
        store,
        index=store.events,
        query=_both_windows(window, _ERROR_LINE, queries.grouped(), counted.clause()),
        aggs=per_window,
        action="count error lines",
    )
    ungrouped = _search(
        store,
        {
            "size": 0,
            "track_total_hits": False,
            "query": _both_windows(window, _ERROR_LINE, _UNGROUPED_LINE),
            "aggs": per_window,
        },
        "count error lines without a grouping key",
    ).get("aggregations")
    candidates = iter(per_group)
    if ungrouped:
        candidates = itertools.chain(candidates, [{"key": UNGROUPED, **ungrouped}])
    top = heapq.nsmallest(
        MAX_TEMPLATES,
        (b for b in candidates if b["current"]["doc_count"] > 0),
        key=lambda b: (-b["current"]["doc_count"], b["key"]),
    )
    if not top:
        return []
    response = _search(store, error_lines_request(window, [b["key"] for b in top]), "read error lines")
    details = {b["key"]: b for b in response.get("aggregations", {}).get("templates", {}).get("buckets", [])}
    rows = []
    for b in top:
        found = details.get(b["key"], {})
        sample = (_hit_source(found["sample"]) or [{}])[0] if found else {}
        rows.append(
            {
                "template": error_line_title(b["key"], sample),
                "count": b["current"]["doc_count"],
                "previous_count": b["previous"]["doc_count"],
                "last_seen": found.get("last_seen", {}).get("value_as_string"),
                "hosts": int(found.get("hosts", {}).get("value", 0)),
                "sample": sample.get("message"),
            }
        )
    return rows


def fetch_details(store: Store, window: Window, keys: list[str]) -> dict[str, Doc]:
    if not keys:
        return {}
    return parse_details(_search(store, details_request(window, keys), "read group details"), window)


# Events dated further than this past the digest's generation are from a clock ahead, not late.
CLOCK_SLACK: Final = timedelta(hours=1)


def unplaced_request(window: Window, prefix: str, now: datetime) -> dict[str, Any]:
    """Counts of the events no time window can hold: those without `@timestamp` in the window's daily
    indices (by name: the shipper that wrote them chose the day), and those dated past `now` plus
    CLOCK_SLACK anywhere. Shards that can hold neither are skipped before they are searched."""
    days = (window.end - window.start).days + 2
    names = sorted({schema.index_for(window.start + timedelta(days=n), prefix) for n in range(days)})
    undated = {
        "bool": {"filter": [{"terms": {"_index": names}}], "must_not": [{"exists": {"field": "@timestamp"}}]}
    }
    ahead = {"range": {"@timestamp": {"gt": queries.iso(now + CLOCK_SLACK)}}}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {"should": [undated, ahead], "minimum_should_match": 1}},
        "aggs": {"undated": {"filter": undated}, "ahead": {"filter": ahead}},
    }


def fetch_unplaced_notes(store: Store, window: Window, now: datetime) -> tuple[str, ...]:
    """Digest notes for the events `unplaced_request` counts (none when there are none): they are in
    no count of any window, and a reader must not take the digest for all there is."""
    response = _search(
        store, unplaced_request(window, store.prefix, now), "count events without a usable time"
    )
    aggregations = response.get("aggregations") or {}
    undated = int((aggregations.get("undated") or {}).get("doc_count", 0))
    ahead = int((aggregations.get("ahead") or {}).get("doc_count", 0))
    notes = []
    if undated:
        notes.append(
            f"{undated:,} event{'s' if undated != 1 else ''} in this window's daily indices "
            f"{'have' if undated != 1 else 'has'} no @timestamp and {'are' if undated != 1 else 'is'} "
            "counted in no window: whatever wrote them must set it"
        )
    if ahead:
        notes.append(
            f"{ahead:,} event{'s' if ahead != 1 else ''} {'are' if ahead != 1 else 'is'} dated more than "
            f"an hour after this digest was made ({queries.iso(now)}): a host's clock is ahead; "
            "they are counted in no window until then"
        )
    return tuple(notes)


def stored_from_request(window: Window) -> dict[str, Any]:
    """The oldest event stored before the window's end (one `min` over every daily index)."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": queries.time_range(None, window.end),
        "aggs": {"oldest": {"min": {"field": "@timestamp"}}},
    }


def stored_from_notes(response: Mapping[str, Any], window: Window) -> tuple[str, ...]:
    """A note when the events stored begin after the start of the previous window (its indices deleted
    by retention, or shipping began later): the comparisons, "new" among them, cover only the part
    kept, and a reader must know (none when nothing is stored: the digest then says so itself)."""
    found = ((response.get("aggregations") or {}).get("oldest") or {}).get("value_as_string")
    if not found:
        return ()
    oldest = datetime.fromisoformat(str(found).replace("Z", "+00:00"))
    which = window if oldest > window.start else window.previous
    if oldest <= which.start + timedelta(minutes=1):
        return ()
    what = "This window" if which is window else "The previous window"
    return (
        f"{what} ({which.label()}) is stored only from {oldest.astimezone(UTC):%Y-%m-%d %H:%M} UTC, "
        "its oldest event kept (older indices were deleted, or shipping began then): counts "
        f"{'of' if which is window else 'against'} it, and what is called new, cover only that part",
    )


def fetch_stored_from_notes(store: Store, window: Window) -> tuple[str, ...]:
    response = _search(store, stored_from_request(window), "find the oldest event stored")
    return stored_from_notes(response, window)


def fetch_overview(store: Store, window: Window, counted: Counted = EVERYTHING) -> dict[str, Any]:
    return parse_overview(
        _search(store, overview_request(window, counted), "aggregate the digest window"), window
    )


def ignored_request(window: Window, counted: Counted) -> dict[str, Any]:
    """The events `counted` leaves out, in the window and the one before, and how many groups hold them."""
    per_window = {
        "groups": {"cardinality": {"field": queries.GROUP_KEY, "precision_threshold": 40_000}},
    }
    return {
        "size": 0,
        "track_total_hits": False,
        "query": _both_windows(window, counted.ignored_clause()),
        "aggs": {
            "current": {"filter": _range(window), "aggs": per_window},
            "previous": {"filter": _range(window.previous), "aggs": per_window},
        },
    }


def fetch_ignored(store: Store, window: Window, counted: Counted) -> dict[str, int]:
    """How many events (`events`, `previous_events`) of how many groups (`groups`) `counted` left out of
    every figure: the digest states them apart, so its totals add up (none asked when none is ignored)."""
    if not counted.ignored:
        return {"events": 0, "groups": 0, "previous_events": 0}
    found = _search(store, ignored_request(window, counted), "count the ignored groups' events")
    aggs = found.get("aggregations") or {}
    current, previous = aggs.get("current") or {}, aggs.get("previous") or {}
    return {
        "events": int(current.get("doc_count", 0)),
        "groups": int((current.get("groups") or {}).get("value", 0)),
        "previous_events": int(previous.get("doc_count", 0)),
    }
