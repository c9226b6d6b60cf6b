"""The digest's queries: a few core aggregations over the event indices, and their parsed results.

Elasticsearch does the counting. Every request is `size: 0` with aggregations (terms, filter,
date_histogram, percentiles, min/max, cardinality, top_hits); raw events are read only as a handful
of `top_hits` samples per group, template or feedback kind, so the cost does not grow with volume.

Requests (whatever the number of events):
1. overview   totals this vs previous window, the daily trend, error lines without traceback,
              slowest operations, feedback by kind, shipper health, and per-group counts;
2. first seen the earliest occurrence (before the window end) of every group active in the window;
3. details    for the groups the digest shows: daily counts, versions, hosts and a sample;
4. registry   the `<prefix>-groups` documents (status, priority) via `analyzers.registry`.

Shipper health: counters in `logloop.shipper` documents are cumulative per process, so the digest
takes the maximum of each counter per (host, process) within the window and sums those; the spool
backlog is the latest value per process. A process that started before the window contributes what
it counted since it started (an over-estimate, never an under-estimate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from analyzers import es, registry
from analyzers.analyze import get_field
from analyzers.digest_window import Window
from analyzers.registry import Group
from shipper.schema import DATASET_FEEDBACK, DATASET_SHIPPER, index_pattern

ERROR_LEVELS: Final = ("error", "critical", "fatal")
# Groups counted per window, most frequent first: statuses computed without a registry, and the
# new/escalating/... counts, cover these (the registry's own groups are always included).
MAX_GROUPS: Final = 1000
MAX_TEMPLATES: Final = 15
MAX_OPERATIONS: Final = 50
FEEDBACK_SAMPLES: Final = 3
SHIPPER_COUNTERS: Final = ("queued", "sent", "retried", "spooled", "dropped", "dead_lettered")
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


def _errors_filter() -> dict[str, Any]:
    return {
        "bool": {
            "should": [
                {"terms": {"log.level": list(ERROR_LEVELS)}},
                {"exists": {"field": "error.type"}},
                {"exists": {"field": "error.stack_trace"}},
            ],
            "minimum_should_match": 1,
        }
    }


def _range(window: Window) -> dict[str, Any]:
    return {"range": {"@timestamp": window.es_range()}}


def _window_measures() -> dict[str, Any]:
    aggs: dict[str, Any] = {
        "errors": {"filter": _errors_filter()},
        "tracebacks": {"filter": {"exists": {"field": "error.stack_trace"}}},
        "groups": {"cardinality": {"field": "error.grouping_key"}},
        "hosts": {"cardinality": {"field": "host.name"}},
        "datasets": {"terms": {"field": "event.dataset", "size": 10}},
    }
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
    return {"bool": {"filter": [*clauses, _range(window)]}}


_ERROR_LINE: Final = {
    "bool": {
        "filter": [{"terms": {"log.level": list(ERROR_LEVELS)}}],
        "must_not": [{"exists": {"field": "error.stack_trace"}}],
    }
}


def _daily_agg(window: Window) -> dict[str, Any]:
    buckets = {
        **_histogram(window),
        "aggs": {
            "errors": {"filter": _errors_filter()},
            "warnings": {"filter": {"term": {"log.level": "warning"}}},
        },
    }
    return {"filter": _range(window), "aggs": {"buckets": buckets}}


def _error_lines_agg(window: Window) -> dict[str, Any]:
    per_template = {
        "last_seen": {"max": {"field": "@timestamp"}},
        "hosts": {"cardinality": {"field": "host.name"}},
        "sample": _latest(1, ["message", "log.logger", "log.level"]),
    }
    terms = {"field": "logloop.template", "size": MAX_TEMPLATES}
    return {
        "filter": _in_window(window, _ERROR_LINE),
        "aggs": {"templates": {"terms": terms, "aggs": per_template}},
    }


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
    processes = {
        "terms": {"field": "process.pid", "size": 100, "missing": -1},
        "aggs": {**counters, "latest": _latest(1, ["@timestamp", "logloop.shipper.spool_backlog"])},
    }
    hosts = {
        "terms": {"field": "host.name", "size": 100, "missing": "(unknown host)"},
        "aggs": {"processes": processes},
    }
    return {
        "filter": _in_window(window, {"term": {"event.dataset": DATASET_SHIPPER}}),
        "aggs": {"hosts": hosts},
    }


def _groups_agg(window: Window) -> dict[str, Any]:
    per_group = {
        "current": {
            "filter": _range(window),
            "aggs": {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}},
        },
        "previous": {"filter": _range(window.previous)},
    }
    order = [{"current": "desc"}, {"_key": "asc"}]
    keys = {"terms": {"field": "error.grouping_key", "size": MAX_GROUPS, "order": order}, "aggs": per_group}
    return {"filter": {"exists": {"field": "error.grouping_key"}}, "aggs": {"keys": keys}}


def overview_request(window: Window) -> dict[str, Any]:
    """One size-0 search over both windows: totals, trend, templates, operations, feedback, health."""
    both = {"gte": window.previous.start.isoformat(), "lt": window.end.isoformat()}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"range": {"@timestamp": both}},
        "aggs": {
            "current": {"filter": _range(window), "aggs": _window_measures()},
            "previous": {"filter": _range(window.previous), "aggs": _window_measures()},
            "daily": _daily_agg(window),
            "error_lines": _error_lines_agg(window),
            "error_lines_previous": {
                "filter": _in_window(window.previous, _ERROR_LINE),
                "aggs": {"templates": {"terms": {"field": "logloop.template", "size": 200}}},
            },
            "operations": _operations_agg(window),
            "feedback": _feedback_agg(window),
            "shipper": _shipper_agg(window),
            "groups": _groups_agg(window),
        },
    }


def first_seen_request(window: Window, keys: list[str]) -> dict[str, Any]:
    """Earliest and latest occurrence of each group before the window end (all history)."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {
            "bool": {
                "filter": [
                    {"terms": {"error.grouping_key": keys}},
                    {"range": {"@timestamp": {"lt": window.end.isoformat()}}},
                ]
            }
        },
        "aggs": {
            "keys": {
                "terms": {"field": "error.grouping_key", "size": len(keys)},
                "aggs": {"first": {"min": {"field": "@timestamp"}}},
            }
        },
    }


def details_request(window: Window, keys: list[str]) -> dict[str, Any]:
    """For the groups shown: counts per bucket (sparklines), versions, hosts, services, one sample."""
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {"filter": [{"terms": {"error.grouping_key": keys}}, _range(window)]}},
        "aggs": {
            "keys": {
                "terms": {"field": "error.grouping_key", "size": len(keys)},
                "aggs": {
                    "daily": _histogram(window),
                    "versions": {"terms": {"field": "service.version", "size": 5}},
                    "hosts": {"terms": {"field": "host.name", "size": 5}},
                    "host_count": {"cardinality": {"field": "host.name"}},
                    "services": {"terms": {"field": "service.name", "size": 3}},
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
        "tracebacks": int(agg["tracebacks"]["doc_count"]),
        "groups": int(agg["groups"]["value"]),
        "hosts": int(agg["hosts"]["value"]),
        "feedback": int(agg["feedback"]["doc_count"]),
        "shipper_docs": int(datasets.get(DATASET_SHIPPER, 0)),
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
        **{name: [] for name in ("error_lines", "operations", "feedback", "shipper", "groups")},
    }


def parse_overview(response: Mapping[str, Any], window: Window) -> dict[str, Any]:
    """The overview response -> plain records (pure)."""
    if "aggregations" not in response:
        return empty_overview(window)
    aggs = response["aggregations"]
    prev_templates = {b["key"]: b["doc_count"] for b in aggs["error_lines_previous"]["templates"]["buckets"]}
    error_lines = [
        {
            "template": b["key"],
            "count": b["doc_count"],
            "previous_count": prev_templates.get(b["key"], 0),
            "last_seen": b["last_seen"].get("value_as_string"),
            "hosts": int(b["hosts"]["value"]),
            "sample": (_hit_source(b["sample"]) or [{}])[0].get("message"),
        }
        for b in aggs["error_lines"]["templates"]["buckets"]
    ]
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
        for process in host["processes"]["buckets"]:
            latest = (_hit_source(process["latest"]) or [{}])[0]
            record: Doc = {"host": host["key"], "pid": process["key"], "reports": process["doc_count"]}
            for counter in SHIPPER_COUNTERS:
                record[counter] = int(process[counter]["value"] or 0)
            record["spool_backlog"] = int(get_field(latest, "logloop.shipper.spool_backlog") or 0)
            record["last_report"] = latest.get("@timestamp")
            shipper.append(record)
    groups = [
        {
            "key": b["key"],
            "count": b["current"]["doc_count"],
            "previous_count": b["previous"]["doc_count"],
            "window_first": b["current"]["first"].get("value_as_string"),
            "last_seen": b["current"]["last"].get("value_as_string"),
        }
        for b in aggs["groups"]["keys"]["buckets"]
    ]
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
        "error_lines": error_lines,
        "operations": operations,
        "feedback": feedback,
        "shipper": shipper,
        "groups": groups,
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


def _search(client: Any, prefix: str, body: Mapping[str, Any], action: str) -> Mapping[str, Any]:
    return es.search(client, index=index_pattern(prefix), body=body, action=action)


def fetch_registry(client: Any, prefix: str) -> list[Group]:
    """Registry groups (empty when `logloop analyze` never ran: the digest then computes status)."""
    return registry.load_groups(client, prefix)


def fetch_first_seen(client: Any, prefix: str, window: Window, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    response = _search(client, prefix, first_seen_request(window, keys), "find when groups were first seen")
    buckets = response.get("aggregations", {}).get("keys", {}).get("buckets", [])
    return {b["key"]: b["first"]["value_as_string"] for b in buckets}


def fetch_details(client: Any, prefix: str, window: Window, keys: list[str]) -> dict[str, Doc]:
    if not keys:
        return {}
    return parse_details(_search(client, prefix, details_request(window, keys), "read group details"), window)


def fetch_overview(client: Any, prefix: str, window: Window) -> dict[str, Any]:
    return parse_overview(
        _search(client, prefix, overview_request(window), "aggregate the digest window"), window
    )
