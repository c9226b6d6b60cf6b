"""The root-cause queries: three size-0 searches for the groups a digest (or `group show`) covers.

Elasticsearch counts; the only raw events read are `top_hits` of a few fields: the occurrences that
anchor breadcrumbs and cascades (a dozen per group), the breadcrumb lines themselves (a few per
occurrence) and recent feedback (20). The cost grows with the number of groups asked for, not with
the number of events.

1. facets   per group: its distribution over every dimension in the window, its first occurrence
            ever and every version it ran on (all history), anchors; the population's distribution
            per service; recent feedback.
2. onsets   per group: the version of its service that first ran last before the group's first
            occurrence among those it never ran on, and when that occurrence's version first ran
            (the node orders the versions: no list of them is read, so none is cut).
3. anchors  one `filters` bucket per anchor (at most 600 a request): the log lines of the
            same process just before an occurrence, the groups on the same host just after and
            just before it, and the group of the latest error shortly before a bug report or
            usability complaint: in the process that sent it, else (feedback sent by another
            process, `logloop feedback` after a failed run) on its host.

Functions named `*_request` are pure builders, `parse_*` pure readers; `fetch` is the I/O edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Final

from analyzers import queries
from analyzers.digest_window import Window
from analyzers.queries import iso
from analyzers.rootcause_config import RootCauseConfig
from analyzers.store import Store
from shipper.schema import DATASET_FEEDBACK, DATASET_LOG, get_field


@dataclass(frozen=True)
class Dimension:
    """A field suspects are looked for in; `everywhere`: carried by every event, not only errors."""

    name: str
    field: str
    everywhere: bool


DIMENSIONS: Final = (
    Dimension("version", "service.version", True),
    Dimension("host", "host.name", True),
    Dimension("python", "logloop.env.python", False),
    Dimension("os", "host.os.type", True),
    Dimension("platform", "logloop.env.platform", False),
    Dimension("service", "service.name", True),
    Dimension("environment", "service.environment", True),
)
VALUES_PER_DIMENSION: Final = 50
POPULATION_HOSTS: Final = 1000
SERVICES: Final = 50
FEEDBACK_SAMPLES: Final = 20
ANCHOR_HOSTS: Final = 6
ANCHORS_PER_REQUEST: Final = 600
_CRUMB_FIELDS: Final = ["@timestamp", "log.level", "log.logger", "message", "error.grouping_key"]
_ANCHOR_FIELDS: Final = ["@timestamp", "host.name", "process.pid", "process.entity_id", "service.name"]
_FEEDBACK_FIELDS: Final = [
    "@timestamp", "host.name", "process.pid", "process.entity_id", "message", "logloop.feedback.kind"
]  # fmt: skip
# The feedback kinds that can be a reaction to an error. A feature wish is none: tying it to whatever
# failed last on its host would invent a cause.
ERROR_FEEDBACK_KINDS: Final = frozenset({"bug", "usability"})

Doc = dict[str, Any]


def dimensions(config: RootCauseConfig) -> tuple[Dimension, ...]:
    extra = (Dimension(f"env {name}", f"logloop.env.vars.{name}", False) for name in config.env_vars)
    return (*DIMENSIONS, *extra)


def _hits(size: int, fields: list[str], order: str = "desc") -> dict[str, Any]:
    # (`@timestamp` keeps milliseconds, and a loop logs several lines in one: the shipper's event ids are
    # time-ordered by the record's creation and then by its place in its segment, so they break the tie
    # in the order the process wrote them; another shipper's random ids give some order, as before)
    sort = [{"@timestamp": order}, {"event.id": {"order": order, "unmapped_type": "keyword"}}]
    return {"top_hits": {"size": size, "sort": sort, "_source": {"includes": fields}}}


def _dimension_aggs(dims: Sequence[Dimension]) -> dict[str, Any]:
    return {d.name: queries.listed_terms(d.field, VALUES_PER_DIMENSION) for d in dims}


def _calendar(window: Window) -> dict[str, Any]:
    """Counts per chart bucket of the window (calendar days or hours in its zone), empty ones too."""
    return {
        "date_histogram": {
            "field": "@timestamp",
            "calendar_interval": window.calendar_interval,
            "time_zone": window.tz,
            "min_doc_count": 0,
            "extended_bounds": {"min": iso(window.start), "max": iso(window.end - timedelta(milliseconds=1))},
        }
    }


def facets_request(window: Window, keys: Sequence[str], config: RootCauseConfig) -> dict[str, Any]:
    dims = dimensions(config)
    keyed = queries.in_groups(keys)
    per_group = {
        **_dimension_aggs(dims),
        "recent": _hits(max(10, config.breadcrumb_occurrences * 3), _ANCHOR_FIELDS),
        "anchor_hosts": queries.listed_terms(
            "host.name",
            ANCHOR_HOSTS,
            recent=_hits(-(-config.cascade_anchors // ANCHOR_HOSTS), _ANCHOR_FIELDS),
        ),
    }
    history = {
        "first": _hits(1, ["@timestamp", "host.name", "service.name", "service.version"], order="asc"),
        "versions": {"terms": {"field": "service.version", "size": VERSIONS_PER_SERVICE}},
    }
    errors_by_host = queries.listed_terms(
        "host.name",
        POPULATION_HOSTS,
        errors={
            "filter": {"exists": {"field": "logloop.env.python"}},
            "aggs": _dimension_aggs([d for d in dims if not d.everywhere]),
        },
    )
    population = queries.listed_terms(
        "service.name", SERVICES, **_dimension_aggs([d for d in dims if d.everywhere]), hosts=errors_by_host
    )
    return {
        "size": 0,
        "track_total_hits": False,
        "query": queries.time_range(None, window.end),
        "aggs": {
            "groups": {
                "filter": queries.all_of(keyed, queries.time_range(window.start, window.end)),
                "aggs": {"keys": queries.terms_agg("error.grouping_key", len(keys), **per_group)},
            },
            "history": {
                "filter": keyed,
                "aggs": {"keys": queries.terms_agg("error.grouping_key", len(keys), **history)},
            },
            "population": {
                "filter": queries.all_of(
                    queries.time_range(window.start, window.end), {"term": {"event.dataset": DATASET_LOG}}
                ),
                "aggs": {"services": population},
            },
            "feedback": {
                "filter": queries.all_of(
                    queries.time_range(window.start, window.end),
                    {"term": {"event.dataset": DATASET_FEEDBACK}},
                ),
                "aggs": {
                    "recent": _hits(FEEDBACK_SAMPLES, _FEEDBACK_FIELDS),
                    "kinds": queries.terms_agg("logloop.feedback.kind", 10, daily=_calendar(window)),
                },
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class Anchor:
    """One occurrence of a group: where later queries look around."""

    key: str
    time: datetime
    host: str
    pid: int | None
    # Its service: where no pid tells its process, the lines before it are its service's on that host
    # (every process of it), not every program's on the host.
    service: str | None = None
    entity: str | None = None  # `process.entity_id` (another shipper's, or an earlier version's: none)


@dataclass(frozen=True, kw_only=True)
class FeedbackDoc:
    time: datetime
    host: str | None
    kind: str
    message: str
    pid: int | None = None
    entity: str | None = None  # `process.entity_id`, as `Anchor.entity`

    @property
    def may_follow_an_error(self) -> bool:
        """Whether it is of a kind that reacts to an error (an error before it is looked for)."""
        return self.kind in ERROR_FEEDBACK_KINDS


@dataclass(frozen=True, kw_only=True)
class Facets:
    """What request 1 found, as plain records (counts are event counts)."""

    group_values: list[Doc]  # key, dimension, value, count
    population: list[Doc]  # service, dimension, value, count (projected for error-only dimensions)
    first: dict[str, Doc]  # key -> time, host, service, version of the first occurrence ever
    crumb_anchors: list[Anchor]
    cascade_anchors: list[Anchor]
    feedback: list[FeedbackDoc]
    feedback_daily: dict[str, list[int]] = field(default_factory=dict)  # kind -> count per bucket
    # key -> "last_without" (the newest version of its service that first ran before the group's first
    # occurrence and never had it) and "release_time" (when the version of that occurrence first ran),
    # each None when there is none: asked of the node (`onsets_request`), never read from a cut list.
    onsets: dict[str, Doc] = field(default_factory=dict)
    seen_versions: dict[str, list[str]] = field(default_factory=dict)  # key -> every version it ran on


def _time(value: Any) -> datetime:
    text = str(value).replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def _sources(agg: Mapping[str, Any]) -> list[Doc]:
    return [hit["_source"] for hit in agg["hits"]["hits"]]


def _keyword(source: Mapping[str, Any], field: str) -> str | None:
    """A keyword field's value as a `term` query can ask for it: a list (another shipper's document,
    `"service": {"name": ["a", "b"]}`; it is indexed under each) gives its first value, a number its
    text; None when there is no such value (missing, empty, an object). A list in a `term` query was
    refused by Elasticsearch (HTTP 400), and the whole digest with it."""
    value = get_field(source, field)
    if isinstance(value, list):
        value = next((v for v in value if v is not None and not isinstance(v, dict | list)), None)
    if value is None or isinstance(value, dict | bool) or value == "":
        return None
    return str(value)


def _anchor(key: str, source: Mapping[str, Any]) -> Anchor | None:
    host = _keyword(source, "host.name")
    time = queries.source_time(source.get("@timestamp"))
    if host is None or time is None:
        return None
    return Anchor(
        key=key,
        time=time,
        host=host,
        pid=_pid(get_field(source, "process.pid")),
        service=_keyword(source, "service.name"),
        entity=_keyword(source, "process.entity_id"),
    )


def _pid(value: Any) -> int | None:
    """A `process.pid` as read from a document: None when missing or no whole number."""
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _distinct_processes(anchors: list[Anchor], limit: int) -> list[Anchor]:
    seen: set[tuple[str, int | None, str | None]] = set()
    chosen = []
    for anchor in anchors:
        process = (anchor.host, anchor.pid, anchor.service if anchor.pid is None else None)
        if process not in seen:
            seen.add(process)
            chosen.append(anchor)
    return chosen[:limit]


def _population(services: list[Mapping[str, Any]], dims: Sequence[Dimension]) -> list[Doc]:
    """Per service: every-event dimensions as counted; error-only ones projected from each host's
    errors onto all of that host's events (a host's Python version is what its errors say it is)."""
    rows: list[Doc] = []
    for service in services:
        name = service["key"]
        rows.append({"service": name, "dimension": "service", "value": name, "count": service["doc_count"]})
        for dim in dims:
            if dim.everywhere and dim.name != "service":
                rows.extend(
                    {"service": name, "dimension": dim.name, "value": b["key"], "count": b["doc_count"]}
                    for b in service[dim.name]["buckets"]
                )
        for host in service["hosts"]["buckets"]:
            errors = host["errors"]
            for dim in dims:
                if dim.everywhere:
                    continue
                known = sum(b["doc_count"] for b in errors[dim.name]["buckets"])
                rows.extend(
                    {
                        "service": name,
                        "dimension": dim.name,
                        "value": b["key"],
                        "count": host["doc_count"] * b["doc_count"] / known,
                    }
                    for b in errors[dim.name]["buckets"]
                )
    return rows


def parse_facets(response: Mapping[str, Any], config: RootCauseConfig) -> Facets:
    dims = dimensions(config)
    aggs = response.get("aggregations")
    if not aggs:
        return Facets(
            group_values=[],
            population=[],
            first={},
            crumb_anchors=[],
            cascade_anchors=[],
            feedback=[],
        )
    group_values: list[Doc] = []
    crumbs: list[Anchor] = []
    cascade: list[Anchor] = []
    for bucket in aggs["groups"]["keys"]["buckets"]:
        key = bucket["key"]
        for dim in dims:
            group_values.extend(
                {"key": key, "dimension": dim.name, "value": b["key"], "count": b["doc_count"]}
                for b in bucket[dim.name]["buckets"]
            )
        recent = [a for a in (_anchor(key, s) for s in _sources(bucket["recent"])) if a is not None]
        crumbs.extend(_distinct_processes(recent, config.breadcrumb_occurrences))
        per_host = (_anchor(key, s) for h in bucket["anchor_hosts"]["buckets"] for s in _sources(h["recent"]))
        cascade.extend(a for a in per_host if a is not None)
    first: dict[str, Doc] = {}
    seen_versions: dict[str, list[str]] = {}
    for bucket in aggs["history"]["keys"]["buckets"]:
        seen_versions[bucket["key"]] = [str(v["key"]) for v in bucket["versions"]["buckets"]]
        source = (_sources(bucket["first"]) or [{}])[0]
        first[bucket["key"]] = {
            "time": queries.source_time(source.get("@timestamp")),
            "host": _keyword(source, "host.name"),
            "service": _keyword(source, "service.name"),
            "version": _keyword(source, "service.version"),
        }
    feedback = [
        FeedbackDoc(
            time=time,
            host=_keyword(s, "host.name"),
            kind=_keyword(s, "logloop.feedback.kind") or "other",
            message=str(s.get("message") or ""),
            pid=_pid(get_field(s, "process.pid")),
            entity=_keyword(s, "process.entity_id"),
        )
        for s in _sources(aggs["feedback"]["recent"])
        if (time := queries.source_time(s.get("@timestamp"))) is not None
    ]
    feedback_daily = {
        str(b["key"]): [d["doc_count"] for d in b["daily"]["buckets"]]
        for b in aggs["feedback"]["kinds"]["buckets"]
    }
    return Facets(
        group_values=group_values,
        population=_population(aggs["population"]["services"]["buckets"], dims),
        first=first,
        seen_versions=seen_versions,
        crumb_anchors=crumbs,
        cascade_anchors=cascade,
        feedback=feedback,
        feedback_daily=feedback_daily,
    )


# Versions of one group, and of one service before a group's start, that are read (terms lists of this
# size; each shard returns all of them, so the newest first run is exact below this many versions).
VERSIONS_PER_SERVICE: Final = 5000


def onsets_request(facets: Facets, window: Window) -> dict[str, Any] | None:
    """For each group with a first occurrence (its time, service, version): the version of its service
    that first ran last before that occurrence among those it never ran on (every event before it, the
    group's versions left out, versions ordered by their first event), and when the occurrence's own
    version first ran. None when no group has a first occurrence with a service."""
    aggs: dict[str, Any] = {}
    for index, (key, doc) in enumerate(facets.first.items()):
        service, version, time = doc.get("service"), doc.get("version"), doc.get("time")
        if service is None or time is None:
            continue
        in_service = {"term": {"service.name": service}}
        before = queries.all_of(in_service, queries.time_range(None, time))
        aggs[f"without|{index}"] = {
            "filter": before,
            "aggs": {
                "versions": {
                    "terms": {
                        "field": "service.version",
                        "size": 1,
                        "shard_size": VERSIONS_PER_SERVICE,
                        "order": {"first": "desc"},
                        "exclude": facets.seen_versions.get(key, []),
                    },
                    "aggs": {"first": {"min": {"field": "@timestamp"}}},
                }
            },
        }
        if version is not None:
            aggs[f"release|{index}"] = {
                "filter": queries.all_of(in_service, {"term": {"service.version": version}}),
                "aggs": {"first": {"min": {"field": "@timestamp"}}},
            }
    if not aggs:
        return None
    return {"size": 0, "track_total_hits": False, "query": queries.time_range(None, window.end), "aggs": aggs}


def parse_onsets(response: Mapping[str, Any] | None, first: Mapping[str, Doc]) -> dict[str, Doc]:
    """`onsets_request`'s answer as key -> {"last_without": version or None, "release_time": time or
    None}, for every key of `first`."""
    aggs = (response or {}).get("aggregations") or {}
    found: dict[str, Doc] = {}
    for index, key in enumerate(first):
        newest = (aggs.get(f"without|{index}") or {}).get("versions", {}).get("buckets") or []
        released = ((aggs.get(f"release|{index}") or {}).get("first") or {}).get("value_as_string")
        found[key] = {
            "last_without": str(newest[0]["key"]) if newest else None,
            "release_time": _time(released) if released else None,
        }
    return found


def anchors_requests(facets: Facets, config: RootCauseConfig) -> list[dict[str, Any]]:
    """One `filters` bucket per question, at most ANCHORS_PER_REQUEST per request (the `should`
    that limits the documents visited must stay under the node's clause limit, however many
    groups `[rootcause] top_groups` asks for); no request when there is nothing to ask."""
    grouped = queries.grouped()
    filters: dict[str, Any] = {}
    for index, a in enumerate(facets.crumb_anchors):
        process = _same_process(a.entity, a.pid)
        if not process:  # (another shipper's event): its service's processes on the host, not every program's
            process = [{"term": {"service.name": a.service}}] if a.service is not None else []
        filters[f"crumb|{index}"] = queries.all_of(
            {"term": {"host.name": a.host}},
            *process,
            queries.time_range(a.time - config.breadcrumb_window, a.time, end_inclusive=True),
        )
    step = timedelta(milliseconds=1)
    for index, a in enumerate(facets.cascade_anchors):
        host = {"term": {"host.name": a.host}}
        filters[f"after|{index}"] = queries.all_of(
            host,
            grouped,
            queries.time_range(a.time + step, a.time + config.cascade_window, end_inclusive=True),
        )
        filters[f"before|{index}"] = queries.all_of(
            host, grouped, queries.time_range(a.time - config.cascade_window, a.time)
        )
    for index, f in enumerate(facets.feedback):
        if f.host is None or not f.may_follow_an_error:
            continue
        host = {"term": {"host.name": f.host}}
        before = queries.time_range(f.time - config.feedback_window, f.time, end_inclusive=True)
        filters[f"feedback|{index}"] = queries.all_of(host, grouped, before)
        if same := _same_process(f.entity, f.pid):
            filters[f"feedbackprocess|{index}"] = queries.all_of(host, *same, grouped, before)
    names = list(filters)
    return [
        _anchors_body({name: filters[name] for name in names[i : i + ANCHORS_PER_REQUEST]}, config)
        for i in range(0, len(names), ANCHORS_PER_REQUEST)
    ]


def _same_process(entity: str | None, pid: int | None) -> list[dict[str, Any]]:
    """The filter for the documents of one process on a host: its `process.entity_id` where it has one
    (a pid reused by the next cron run, or every container's pid 1, is another process), else its pid
    (events of earlier versions and of other shippers); [] when neither tells it."""
    if entity is not None:
        return [{"term": {"process.entity_id": entity}}]
    return [{"term": {"process.pid": pid}}] if pid is not None else []


def _anchors_body(filters: dict[str, Any], config: RootCauseConfig) -> dict[str, Any]:
    return {
        "size": 0,
        "track_total_hits": False,
        # Only the documents some bucket wants: the filters agg then visits those, not the index.
        "query": {"bool": {"should": list(filters.values()), "minimum_should_match": 1}},
        "aggs": {
            "anchors": {
                "filters": {"filters": filters},
                "aggs": {
                    "lines": _hits(config.breadcrumb_lines + 1, _CRUMB_FIELDS),
                    "groups": queries.terms_agg(
                        "error.grouping_key", 10, last={"max": {"field": "@timestamp"}}
                    ),
                },
            }
        },
    }


@dataclass(frozen=True, kw_only=True)
class AnchorFindings:
    """What request 2 found, by anchor index."""

    crumbs: dict[int, list[Doc]] = field(default_factory=dict)  # the lines before, newest first
    after: dict[int, list[str]] = field(default_factory=dict)  # groups following on the same host
    before: dict[int, list[str]] = field(default_factory=dict)  # groups preceding on the same host
    # The latest error group before the feedback: key, time and `same_process` (else on its host).
    feedback: dict[int, Doc] = field(default_factory=dict)


def parse_anchors(responses: Sequence[Mapping[str, Any]]) -> AnchorFindings:
    findings = AnchorFindings()
    buckets = [
        item
        for response in responses
        for item in response.get("aggregations", {}).get("anchors", {}).get("buckets", {}).items()
    ]
    for name, bucket in buckets:
        kind, index = name.split("|")[0], int(name.split("|")[1])
        groups = bucket["groups"]["buckets"]
        if kind == "crumb":
            findings.crumbs[index] = _sources(bucket["lines"])
        elif kind in ("after", "before"):
            getattr(findings, kind)[index] = [g["key"] for g in groups]
        elif groups:
            same_process = kind == "feedbackprocess"
            if not same_process and findings.feedback.get(index, {}).get("same_process"):
                continue  # the sender's own error is the better evidence
            latest = max(groups, key=lambda g: g["last"]["value"])
            findings.feedback[index] = {
                "key": latest["key"],
                "time": _time(latest["last"]["value_as_string"]),
                "same_process": same_process,
            }
    return findings


@dataclass(frozen=True, kw_only=True)
class RootCauseData:
    facets: Facets
    anchors: AnchorFindings


def fetch(store: Store, window: Window, keys: Sequence[str], config: RootCauseConfig) -> RootCauseData:
    """Both requests for `keys` (the feedback of the window is linked even when `keys` is empty)."""
    index = store.events
    asked = list(keys) or ["(no group)"]  # terms need a key; this one matches nothing
    response = store.search(
        index=index, body=facets_request(window, asked, config), action="aggregate root causes"
    )
    facets = parse_facets(response, config)
    onsets_body = onsets_request(facets, window)
    if onsets_body is not None:
        answer = store.search(index=index, body=onsets_body, action="find the release before each group")
        facets = replace(facets, onsets=parse_onsets(answer, facets.first))
    found = [
        store.search(index=index, body=body, action="read breadcrumbs and cascades")
        for body in anchors_requests(facets, config)
    ]
    return RootCauseData(facets=facets, anchors=parse_anchors(found))
