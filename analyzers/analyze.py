"""One `logloop analyze` run: aggregate the daily indices, decide status and priority, update the registry.

First, error events in the look-back range without a grouping key (another shipper's lines) get one:
`analyzers.regroup`, which mines message-only events into templates the way `logloop cluster` does
(events of an older grouping version are `logloop regroup`'s; once done, that costs one empty
search); then pending `logloop group` edits are applied to newly stored events.

Every group with an event in the look-back range (current window + baseline windows) is analyzed,
a page at a time (`analyzers.group_pages.keyed_pages`: the keys are listed first, then each page of
keys is aggregated with a `terms` query on them, so every event is aggregated once, and each page is
proven complete, so every count is exact whatever the number of groups). Per page (all core
aggregations, see analyzers.queries): the page's summary; its groups' version, host, service and
level lists, read apart with `composite` aggregations (every (group, value) pair counted, then cut as
`terms` would; below each group in the summary they cost per (group, daily shard), the largest part
of a run; a node without composite gets the same `terms` lists in a request of their own); its
groups' events before the look-back range (count and first occurrence: the windows hold the rest),
their samples (searched from the day each was last seen), the registry entries it already has and
one "since" request for those; then the page is written to the registry (refreshed once, at the
end). A worker thread does the next page's requests and another writes the previous page while a
page is decided. Memory holds a few pages of groups and the keys seen so far. Raw events are never
paged here (only by the regroup step, for events without a key).

Registry groups that did not come back from any page had no event in the look-back range: the open
ones (not resolved or ignored; read from the registry page by page) get window counts of 0 and
their status re-decided (ongoing, or resolved in a newer version).
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from analyzers import group_edits, group_marks, group_pages, lifecycle, priority, queries, registry, regroup
from analyzers.config import AnalyzeConfig
from analyzers.escaping import source_text
from analyzers.exceptions import (
    ConfigurationError,
    ElasticsearchUnavailable,
    PartialAnswer,
    RegistryError,
    TooManyBuckets,
)
from analyzers.registry import Group
from analyzers.store import Store, bookkeeping_template_name, closed_line
from shipper.schema import day_of, get_field

# Groups per page: each carries ~16 buckets (windows, days, ...; its lists are read apart, see
# `_with_lists`), so a page stays well under `search.max_buckets` (65,536) and its samples under
# `index.max_result_window` (10,000). Fewer, larger pages: each request costs per daily shard.
PAGE_SIZE: Final = 2000
_ID_PAGE: Final = 10_000  # registry ids per request when looking for quiet groups (no document read)
_LEVEL_RANK: Final = {name: rank for rank, name in enumerate(("fatal", "error", "warning", "info", "debug"))}
_TITLE_LIMIT = 200


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """One group as the summary aggregation returned it."""

    key: str
    first_seen: datetime
    last_seen: datetime
    window_counts: tuple[int, ...]
    versions: tuple[str, ...]
    hosts: tuple[str, ...]
    services: tuple[str, ...]
    host_count: int
    service_count: int
    version_count: int
    level: str | None
    is_feedback: bool
    with_trace: int
    grouping_version: int | None
    daily_counts: tuple[int, ...]
    sample: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class AnalysisResult:
    until: datetime
    groups: list[Group]  # every group written, by priority, without sample trace and message (see lean)
    statuses: Mapping[str, int]
    notes: tuple[str, ...] = ()  # what the run could not keep, one line each (`registry_rebuilt_line`)


def _date(millis: float | None) -> datetime | None:
    return None if millis is None else datetime.fromtimestamp(millis / 1000, UTC)


def _keys(agg: Mapping[str, Any] | tuple[str, ...]) -> tuple[str, ...]:
    """A `terms` list's keys; a tuple is the list already read (`_with_lists`)."""
    if isinstance(agg, tuple):
        return agg
    return tuple(str(bucket["key"]) for bucket in agg.get("buckets", []))


def _top_level(levels: Sequence[str]) -> str | None:
    """The most severe of a group's levels, in any spelling (`priority.level_name`: `CRIT` is fatal,
    `err` an error), lowercased; among levels of no known class, the first listed."""
    lowered = [level.lower() for level in levels]
    ranked = sorted(
        range(len(lowered)),
        key=lambda n: (_LEVEL_RANK.get(priority.level_name(lowered[n]), len(_LEVEL_RANK)), n),
    )
    return lowered[ranked[0]] if ranked else None


def parse_bucket(
    raw: Mapping[str, Any], *, baseline_windows: int, sample: Mapping[str, Any] | None = None
) -> Bucket:
    windows = raw["windows"]["buckets"]
    versions, hosts, services = _keys(raw["versions"]), _keys(raw["hosts"]), _keys(raw["services"])
    return Bucket(
        key=str(raw["key"]),
        first_seen=_date(raw["first_seen"]["value"]) or datetime.fromtimestamp(0, UTC),
        last_seen=_date(raw["last_seen"]["value"]) or datetime.fromtimestamp(0, UTC),
        window_counts=tuple(int(windows[f"w{n}"]["doc_count"]) for n in range(baseline_windows + 1)),
        versions=versions,
        hosts=hosts,
        services=services,
        host_count=len(hosts),
        service_count=len(services),
        version_count=len(versions),
        level=_top_level(_keys(raw["levels"])),
        is_feedback=int(raw["feedback"]["doc_count"]) > 0,
        with_trace=int(raw["with_trace"]["doc_count"]),
        grouping_version=None
        if raw["grouping_version"]["value"] is None
        else int(raw["grouping_version"]["value"]),
        daily_counts=tuple(int(day["doc_count"]) for day in raw["in_window"]["daily"]["buckets"]),
        sample=sample or {},
    )


def parse_service_versions(response: Mapping[str, Any]) -> dict[str, dict[str, datetime]]:
    """service -> version -> first seen in the look-back range (empty without any daily index)."""
    aggregations = response.get("aggregations")
    if not aggregations:
        return {}
    return {
        str(service["key"]): {
            str(version["key"]): _date(version["first_seen"]["value"]) or datetime.fromtimestamp(0, UTC)
            for version in service["versions"]["buckets"]
        }
        for service in aggregations["service_versions"]["buckets"]
    }


def lean(group: Group) -> Group:
    """The group without its long texts (they stay in the registry): what a run keeps of every group."""
    if group.sample_stack_trace is None and group.sample_message is None:
        return group
    clone = object.__new__(Group)  # `replace` would run the dataclass's __init__: seconds at 20,000
    clone.__dict__.update(vars(group), sample_stack_trace=None, sample_message=None)
    return clone


def versions_of(
    services: Iterable[str], service_versions: Mapping[str, Mapping[str, datetime]]
) -> dict[str, datetime]:
    """First appearance of every version of these services (earliest across services)."""
    merged: dict[str, datetime] = {}
    for service in services:
        for version, appeared in service_versions.get(service, {}).items():
            merged[version] = min(appeared, merged.get(version, appeared))
    return merged


def _first_line(value: Any) -> str:
    text = source_text(value).strip()
    return text.splitlines()[0] if text else ""


def title_of(sample: Mapping[str, Any], key: str) -> str:
    """The grouping name, else `Type: message`, else the logging template or message."""
    name = _first_line(get_field(sample, "error.grouping_name"))
    if not name:
        error_type = _first_line(get_field(sample, "error.type")).rsplit(".", 1)[-1]
        message = _first_line(get_field(sample, "error.message"))
        name = f"{error_type}: {message}" if error_type and message else error_type or message
    name = (
        name
        or _first_line(get_field(sample, "logloop.template"))
        or _first_line(get_field(sample, "message"))
    )
    return (name or key)[:_TITLE_LIMIT]


def stable_title(previous: Group | None, sample: Mapping[str, Any], bucket: Bucket) -> str:
    """The group's title as first given, while its grouping version lasts: a title that changed with
    each window's sample would not be recognised (a newer grouping version may title it better)."""
    if previous is not None and previous.title and previous.grouping_version == bucket.grouping_version:
        return previous.title
    return title_of(sample, bucket.key)


def category_of(bucket: Bucket) -> str:
    if bucket.is_feedback:
        return "feedback"
    return "traceback" if bucket.with_trace > 0 else "error_line"


def since_times(previous: Mapping[str, Group], buckets: Iterable[Bucket]) -> dict[str, datetime]:
    """Per known group, the time after which occurrences matter for regression (see lifecycle)."""
    since: dict[str, datetime] = {}
    for bucket in buckets:
        group = previous.get(bucket.key)
        if group is None or group.status == "ignored":
            continue
        moment = group.resolved_at if group.status == "resolved" and group.resolved_at else group.last_seen
        if bucket.last_seen > moment:
            since[bucket.key] = moment
    return since


def history_of(group: Group | None) -> lifecycle.History | None:
    if group is None:
        return None
    return lifecycle.History(
        status=group.status,
        last_seen=group.last_seen,
        status_changed_at=group.status_changed_at,
        resolved_at=group.resolved_at,
        resolved_in_version=group.resolved_in_version,
        regressed_at=group.regressed_at,
        regressed_in_version=group.regressed_in_version,
    )


def priority_of(
    group: Group, *, spread: tuple[int, int, int], config: AnalyzeConfig, until: datetime
) -> float:
    """The group's priority score; `spread` is (hosts, services, versions) as counted exactly."""
    return _score(vars(group), spread=spread, config=config, until=until)


def _score(
    fields: Mapping[str, Any], *, spread: tuple[int, int, int], config: AnalyzeConfig, until: datetime
) -> float:
    """`priority_of` on a group's fields before the group is built (a frozen copy per group costs)."""
    signals = priority.Signals(
        level=fields["level"],
        has_traceback=fields["category"] == "traceback",
        count_window=fields["count_window"],
        hosts=spread[0],
        services=spread[1],
        versions=spread[2],
        last_seen=fields["last_seen"],
        status=fields["status"],
        feedback_kind=fields["feedback_kind"],
    )
    return priority.score(signals, now=until, half_life=config.recency_half_life)


def build_group(
    bucket: Bucket,
    *,
    previous: Group | None,
    decision: lifecycle.Decision,
    count_total: int,
    first_seen: datetime,
    config: AnalyzeConfig,
    until: datetime,
    now: datetime,
) -> Group:
    sample = bucket.sample
    status_changed = previous is None or previous.status != decision.status
    fields: dict[str, Any] = dict(
        group_id=bucket.key,
        title=stable_title(previous, sample, bucket),
        category=category_of(bucket),
        error_type=get_field(sample, "error.type"),
        level=bucket.level,
        first_seen=first_seen,
        last_seen=bucket.last_seen,
        count_total=count_total,
        count_window=bucket.window_counts[0],
        count_previous_window=bucket.window_counts[1] if len(bucket.window_counts) > 1 else 0,
        versions=bucket.versions,
        hosts=bucket.hosts,
        services=bucket.services,
        sample_stack_trace=source_text(get_field(sample, "error.stack_trace"), separator="\n") or None,
        sample_message=get_field(sample, "error.message") or get_field(sample, "message"),
        status=decision.status,
        resolved_in_version=decision.resolved_in_version,
        resolved_at=decision.resolved_at,
        regressed_at=decision.regressed_at,
        regressed_in_version=decision.regressed_in_version,
        status_changed_at=until if status_changed else previous.status_changed_at if previous else until,
        updated_at=now,
        grouping_version=bucket.grouping_version,
        daily_counts=bucket.daily_counts,
        feedback_kind=get_field(sample, "logloop.feedback.kind") if bucket.is_feedback else None,
    )
    spread = (bucket.host_count, bucket.service_count, bucket.version_count)
    return Group(**fields, priority=_score(fields, spread=spread, config=config, until=until))


def refresh_quiet_group(
    group: Group,
    *,
    service_versions: Mapping[str, Mapping[str, datetime]],
    config: AnalyzeConfig,
    until: datetime,
    now: datetime,
) -> Group:
    """A registry group with no event in the look-back range: counts drop to 0, status re-decided."""
    observation = lifecycle.Observation(
        first_seen=group.first_seen,
        last_seen=group.last_seen,
        window_counts=(0,) * (config.baseline_windows + 1),
        versions=group.versions,
    )
    decision = lifecycle.decide(
        history_of(group),
        observation,
        service_versions=versions_of(group.services, service_versions),
        config=config,
        now=until,
    )
    changed = decision.status != group.status
    refreshed = replace(
        group,
        count_window=0,
        count_previous_window=0,
        daily_counts=(),
        status=decision.status,
        resolved_in_version=decision.resolved_in_version,
        resolved_at=decision.resolved_at,
        regressed_at=decision.regressed_at,
        regressed_in_version=decision.regressed_in_version,
        status_changed_at=until if changed else group.status_changed_at,
        updated_at=now,
    )
    spread = (len(group.hosts), len(group.services), len(group.versions))
    return replace(refreshed, priority=priority_of(refreshed, spread=spread, config=config, until=until))


def _before(store: Store, keys: Sequence[str], start: datetime) -> dict[str, tuple[int, datetime]]:
    """Per group, its events before `start` (the look-back range's): their count and the first one.

    The look-back range's own counts are in the page already, so only the older events are read:
    little or nothing once retention keeps about the look-back range."""
    totals: dict[str, tuple[int, datetime]] = {}
    for raw in group_pages.buckets(
        store,
        index=store.events,
        query=queries.all_time_query(keys=keys, until=start),
        aggs=queries.ALL_TIME_AGGS,
        action="count groups",
    ):
        totals[str(raw["key"])] = (int(raw["doc_count"]), _date(raw["first_seen"]["value"]) or start)
    return totals


@dataclass(frozen=True, kw_only=True)
class Recurrence:
    """A known group's occurrences after its `since` time (see `since_times`)."""

    first: datetime | None
    versions: tuple[str, ...]
    first_by_version: tuple[tuple[str, datetime], ...]


def parse_recurrence(raw: Mapping[str, Any]) -> Recurrence:
    versions = raw["versions"]["buckets"]
    return Recurrence(
        first=_date(raw["first"]["value"]) if raw["doc_count"] else None,
        versions=tuple(str(bucket["key"]) for bucket in versions),
        first_by_version=tuple(
            (str(bucket["key"]), moment)
            for bucket in versions
            if (moment := _date(bucket["first"]["value"])) is not None
        ),
    )


def _since(store: Store, since: Mapping[str, datetime], until: datetime) -> dict[str, Recurrence]:
    if not since:
        return {}
    response = store.search(
        index=store.events,
        body=queries.occurrences_since(since=since, until=until),
        action="find recurrences",
    )
    buckets = response.get("aggregations", {}).get("since", {}).get("buckets", {})
    return {key: parse_recurrence(raw) for key, raw in buckets.items()}


def assign_missing_keys(store: Store, *, config: AnalyzeConfig, until: datetime) -> int:
    """Give error events of the look-back range that have no key one, so every error is counted in a
    group (events with an older grouping version keep theirs: rewriting them is `logloop regroup`'s)."""
    lookback_start = _lookback_start(config, until)
    result = regroup.run_regroup(store, since=lookback_start, until=until, progress=False, missing_only=True)
    return result.updated


def _samples(
    store: Store, last_seen: Mapping[str, datetime], until: datetime
) -> dict[str, Mapping[str, Any]]:
    """The latest event of each group (searched from the day it was last seen on)."""
    if not last_seen:
        return {}
    response = store.search(
        index=store.events,
        body=queries.latest_at(last_seen=last_seen, until=until),
        action="read group samples",
    )
    hits = response.get("hits", {}).get("hits", [])
    return {str(get_field(hit["_source"], "error.grouping_key")): hit["_source"] for hit in hits}


Counted = dict[str, dict[str, list[tuple[str, int]]]]  # list name -> group key -> (value, events)


def _composite_lists(store: Store, query: Mapping[str, Any], keys: Sequence[str]) -> Counted:
    """Every (group, value) pair of each list with its count, exact (`queries.group_lists`)."""
    counted: Counted = {name: {} for name in queries.LISTS}
    after: dict[str, Mapping[str, Any] | None] = dict.fromkeys(queries.LISTS)
    while after:
        aggregations = store.search(
            index=store.events,
            body=queries.group_lists(query=query, keys=keys, after=after),
            action="list the groups' versions, hosts, services and levels",
        ).get("aggregations")
        if aggregations is None:  # no daily index (a fresh deployment)
            break
        for name in list(after):
            answer = aggregations[name]
            into, last, values = counted[name], None, []
            for bucket in answer["buckets"]:  # in (key, value) order: one run of buckets per group
                pair = bucket["key"]
                if pair["key"] != last:
                    last = pair["key"]
                    values = into.setdefault(str(last), [])
                values.append((str(pair["value"]), int(bucket["doc_count"])))
            if len(answer["buckets"]) < queries.LIST_PAGE[name]:
                del after[name]
            else:
                after[name] = answer["after_key"]
    return counted


def _terms_lists(
    store: Store, query: Mapping[str, Any], keys: Sequence[str], aggs: Mapping[str, Any]
) -> Counted:
    """The same from the `terms` lists of `group_aggs` below each group, on a node without composite."""
    counted: Counted = {name: {} for name in queries.LISTS}
    for page in group_pages.keyed_pages(
        store,
        index=store.events,
        query=queries.all_of(query, queries.in_groups(keys)),
        aggs={name: aggs[name] for name in queries.LISTS},
        page_size=PAGE_SIZE,
        action="list the groups' versions, hosts, services and levels",
    ):
        for raw in page:
            for name in queries.LISTS:
                counted[name][str(raw["key"])] = [
                    (str(b["key"]), int(b["doc_count"])) for b in raw[name]["buckets"]
                ]
    return counted


def _lists(
    store: Store, query: Mapping[str, Any], keys: Sequence[str], aggs: Mapping[str, Any]
) -> dict[str, dict[str, tuple[str, ...]]]:
    """List name -> group key -> its values, most events first (ties by value), as many as the list
    keeps: what the `terms` lists of `group_aggs` give, read apart from the page's other numbers."""
    try:
        counted = _composite_lists(store, query, keys)
    except TooManyBuckets:  # a cluster with a lower `search.max_buckets`: pages that halve themselves
        counted = _terms_lists(store, query, keys, aggs)
    except ElasticsearchUnavailable as exc:
        if "composite" not in str(exc):  # "Unknown aggregation type [composite]": a node without it
            raise
        counted = _terms_lists(store, query, keys, aggs)
    return _top(counted)


_events: Final = operator.itemgetter(1)


def _top(counted: Counted) -> dict[str, dict[str, tuple[str, ...]]]:
    """Each list's values by events (descending; ties by value, as `terms` orders them), cut to its
    size. Each group's pairs must come in value order (composite) or in that order already (terms)."""
    lists: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, (_, size) in queries.LISTS.items():
        lists[name] = {}
        for key, pairs in counted[name].items():
            if len(pairs) > 1:  # pairs come in value order; a stable sort keeps it among equal counts
                pairs.sort(key=_events, reverse=True)
            lists[name][key] = tuple([value for value, _ in pairs[:size]])
    return lists


def _with_lists(
    store: Store, page: list[dict[str, Any]], *, query: Mapping[str, Any], aggs: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The page's buckets with the four lists in them, as `group_aggs` gives them (`parse_bucket`)."""
    lists = _lists(store, query, [str(raw["key"]) for raw in page], aggs)
    for raw in page:
        key = str(raw["key"])
        for name in queries.LISTS:
            raw[name] = lists[name].get(key, ())  # `parse_bucket` takes a list's values as they are
    return page


def _read_page(
    store: Store,
    page: list[dict[str, Any]],
    *,
    query: Mapping[str, Any],
    aggs: Mapping[str, Any],
    config: AnalyzeConfig,
    until: datetime,
) -> _PageHistory:
    """Everything a page of groups needs read: its lists, samples, registry entries and history."""
    page = _with_lists(store, page, query=query, aggs=aggs)
    last_seen = {str(raw["key"]): _date(raw["last_seen"]["value"]) or until for raw in page}
    samples = _samples(store, last_seen, until)
    buckets = [
        parse_bucket(raw, baseline_windows=config.baseline_windows, sample=samples.get(str(raw["key"])))
        for raw in page
    ]
    return _history(store, buckets, config=config, until=until)


def analyze_page(
    store: Store,
    buckets: Sequence[Bucket],
    *,
    service_versions: Mapping[str, Mapping[str, datetime]],
    config: AnalyzeConfig,
    until: datetime,
    now: datetime,
) -> list[Group]:
    """The registry entries of one page of groups, decided from their counts and their history."""
    return _decide(
        _history(store, buckets, config=config, until=until),
        service_versions=service_versions,
        config=config,
        until=until,
        now=now,
    )


@dataclass(frozen=True, kw_only=True)
class _PageHistory:
    """What a page of groups needs read besides its buckets: registry entries, older events, recurrences."""

    buckets: Sequence[Bucket]
    previous: Mapping[str, Group]
    older: Mapping[str, tuple[int, datetime]]
    recurrences: Mapping[str, Recurrence]
    versions: Mapping[str, registry.Version]  # of the registry entries read: the write is conditional on them
    unreadable: Sequence[str] = ()  # entries that are no group (`registry.from_document`): rewritten


# What a run reads of a group's registry entry: its history (`history_of`, `since_times`), its title
# (`stable_title`) and the fields every entry has. Its counts, lists and texts are rewritten.
_HISTORY_FIELDS: Final = (
    "group_id",
    "title",
    "category",
    "first_seen",
    "last_seen",
    "status",
    "status_changed_at",
    "resolved_at",
    "resolved_in_version",
    "regressed_at",
    "regressed_in_version",
    "grouping_version",
)


def _history(
    store: Store, buckets: Sequence[Bucket], *, config: AnalyzeConfig, until: datetime
) -> _PageHistory:
    keys = [bucket.key for bucket in buckets]
    versions: dict[str, registry.Version] = {}
    unreadable: list[str] = []
    previous = registry.groups_by_id(
        store, keys, fields=_HISTORY_FIELDS, versions=versions, unreadable=unreadable
    )
    unknown = [key for key in keys if key not in previous]
    if unknown:  # a new group, or one a lost registry forgot: a maintainer's mark stands in for its entry
        marks = group_marks.latest(store, unknown)
        previous = {**previous, **{key: marked(mark) for key, mark in marks.items()}}
    lookback_start = _lookback_start(config, until)
    return _PageHistory(
        buckets=buckets,
        previous=previous,
        older=_before(store, keys, lookback_start),
        recurrences=_since(store, since_times(previous, buckets), until),
        versions=versions,
        unreadable=unreadable,
    )


def marked(mark: group_marks.Mark) -> Group:
    """What a group's registry entry held of its maintainer's mark, for a group the registry lost (a
    stand-in read like `_HISTORY_FIELDS`: the title and counts come from the events, as for a new group)."""
    resolved = mark.status == "resolved"
    return Group(
        group_id=mark.group_id,
        title="",
        category="traceback",
        first_seen=mark.effective_at,
        last_seen=mark.effective_at,
        status=mark.status,
        resolved_at=mark.effective_at if resolved else None,
        resolved_in_version=mark.in_version if resolved else None,
        status_changed_at=mark.effective_at,
    )


def _decide(
    history: _PageHistory,
    *,
    service_versions: Mapping[str, Mapping[str, datetime]],
    config: AnalyzeConfig,
    until: datetime,
    now: datetime,
) -> list[Group]:
    """`analyze_page` once its reads are done (no request)."""
    buckets, previous, older, recurrences = (
        history.buckets,
        history.previous,
        history.older,
        history.recurrences,
    )
    groups: list[Group] = []
    for bucket in buckets:
        # The windows partition the look-back range: their sum is its count, exactly.
        count_before, first_before = older.get(bucket.key, (0, bucket.first_seen))
        count_total, first_seen = (
            count_before + sum(bucket.window_counts),
            min(first_before, bucket.first_seen),
        )
        recurrence = recurrences.get(bucket.key, Recurrence(first=None, versions=(), first_by_version=()))
        observation = lifecycle.Observation(
            first_seen=first_seen,
            last_seen=bucket.last_seen,
            window_counts=bucket.window_counts,
            versions=bucket.versions,
            first_since=recurrence.first,
            versions_since=recurrence.versions,
            first_since_by_version=recurrence.first_by_version,
        )
        decision = lifecycle.decide(
            history_of(previous.get(bucket.key)),
            observation,
            service_versions=versions_of(bucket.services, service_versions),
            config=config,
            now=until,
        )
        groups.append(
            build_group(
                bucket,
                previous=previous.get(bucket.key),
                decision=decision,
                count_total=count_total,
                first_seen=first_seen,
                config=config,
                until=until,
                now=now,
            )
        )
    return groups


def _quiet_groups(
    store: Store,
    seen: set[str],
    *,
    service_versions: Mapping[str, Mapping[str, datetime]],
    config: AnalyzeConfig,
    until: datetime,
    now: datetime,
    unreadable: list[str],
) -> Iterator[Group]:
    """The open registry groups no page had, refreshed (`refresh_quiet_group`) and written a page at a
    time (not refreshed: the run refreshes once at the end), compare-and-set: a group another writer
    changed meanwhile (`logloop resolve` during the run) is read and refreshed again, or left alone
    once it is resolved or ignored."""

    def refreshed(keys: list[str]) -> Iterator[Group]:
        for _ in range(registry.WRITE_ATTEMPTS):
            versions: dict[str, registry.Version] = {}
            read = registry.groups_by_id(store, keys, versions=versions, unreadable=unreadable)
            groups = [
                refresh_quiet_group(
                    group, service_versions=service_versions, config=config, until=until, now=now
                )
                for group in read.values()
                if group.status not in ("resolved", "ignored")  # as open_groups (it may have changed since)
            ]
            changed = set(registry.save_if_unchanged(store, groups, versions))
            yield from (group for group in groups if group.group_id not in changed)
            if not changed:
                return
            keys = sorted(changed)
            store.refresh(index=store.registry)  # searches read the last refresh: the other write is newer
        raise RegistryError(_fighting(keys))

    # Ids first (no document read), then only the unseen groups in full, a page at a time.
    unseen: list[str] = []
    for key in registry.open_group_ids(store, page=_ID_PAGE):
        if key not in seen:
            unseen.append(key)
        if len(unseen) >= PAGE_SIZE:
            yield from refreshed(unseen)
            unseen = []
    yield from refreshed(unseen)


def _fighting(keys: Sequence[str]) -> str:
    return (
        f"{len(keys)} group(s) ({', '.join(map(repr, keys[:3]))}) changed {registry.WRITE_ATTEMPTS} times "
        "while logloop analyze was writing them: is another analyze run (or `logloop schedule`) running "
        "at the same time? Run one at a time"
    )


def _write_page(
    store: Store,
    history: _PageHistory,
    groups: list[Group],
    *,
    decide: Callable[[_PageHistory], list[Group]],
    config: AnalyzeConfig,
    until: datetime,
) -> list[Group]:
    """Write a page's decided groups compare-and-set; those another writer changed since they were read
    (`logloop ignore` during the run, another run) are read and decided again. The groups written."""
    written = groups
    for _ in range(registry.WRITE_ATTEMPTS):
        changed = set(registry.save_if_unchanged(store, groups, history.versions))
        if not changed:
            return written
        store.refresh(index=store.registry)  # searches read the last refresh: the other write is newer
        history = _history(
            store, [b for b in history.buckets if b.key in changed], config=config, until=until
        )
        groups = decide(history)
        written = [group for group in written if group.group_id not in changed] + groups
    raise RegistryError(_fighting(sorted(changed)))


def _lookback_start(config: AnalyzeConfig, until: datetime) -> datetime:
    """Where a run's reading of events starts: the window and the baseline windows before it."""
    return until - (config.baseline_windows + 1) * config.window


def _refuse_closed_indices(store: Store, since: datetime) -> None:
    """Raise PartialAnswer when the registry or a daily index of events since `since` (the look-back
    start) is closed: searches skip it silently, so its groups would look gone (resolved) or quiet,
    and its counts would be missing. An older one closed (a retention that closes before it deletes)
    only tells whether a group was seen before: it stays a `partial` line (`note_unreadable_indices`)."""
    first_day = since.replace(hour=0, minute=0, second=0, microsecond=0)
    closed = [
        index
        for index in store.closed_indices(action="list the event and registry indices")
        if (day := day_of(index)) is None or day >= first_day
    ]
    line = closed_line(closed)
    if line:
        raise PartialAnswer(line)


def run(
    store: Store,
    *,
    config: AnalyzeConfig,
    until: datetime,
    now: datetime | None = None,
) -> AnalysisResult:
    """Analyze the window ending at `until` and write every affected group to the registry.

    Only from whole answers (`Store.requiring_whole_answers`): a shard that failed or was missing, a
    search that timed out, or a closed event or registry index raises PartialAnswer instead, before
    the groups without events (whose statuses rest on that absence) are decided. Pages of groups
    written before it were decided from whole answers."""
    try:
        return _run(store.requiring_whole_answers(), config=config, until=until, now=now or until)
    except PartialAnswer as exc:
        raise PartialAnswer(
            f"{exc}; logloop analyze stopped before deciding what it could not see whole: the registry "
            "keeps those groups' statuses (check GET _cluster/health?level=indices and run it again)"
        ) from exc


def _run(store: Store, *, config: AnalyzeConfig, until: datetime, now: datetime) -> AnalysisResult:
    lookback_start = _lookback_start(config, until)
    _refuse_closed_indices(store, lookback_start)
    notes = (registry_rebuilt_line(store),) if _registry_was_deleted(store) else ()
    registry.ensure(store)
    _refuse_going_back(store, until)
    registry_uuid = store.index_uuid(index=store.registry, action="look for the group registry")
    assign_missing_keys(store, config=config, until=until)
    edits = group_edits.apply_pending(store)  # `logloop group` merges and splits hold for new events too
    span: dict[str, Any] = {
        "until": until,
        "window": config.window,
        "baseline_windows": config.baseline_windows,
    }
    service_versions = parse_service_versions(
        store.search(
            index=store.events,
            body=queries.service_versions(**span),
            action="find when versions appeared",
        )
    )
    seen: set[str] = set()
    written: list[Group] = []
    unreadable: list[str] = []  # registry entries that are no group: rewritten from their events, or left
    query, aggs = queries.summary_query(**span), queries.group_aggs(**span)
    pages = group_pages.keyed_pages(
        store,
        index=store.events,
        query=query,
        aggs=queries.without_lists(aggs),
        page_size=PAGE_SIZE,
        action="aggregate error groups",
        unread=queries.GROUP_UNREAD,
    )
    read = (_read_page(store, page, query=query, aggs=aggs, config=config, until=until) for page in pages)
    # The read-ahead worker reads the next page (summary, lists, samples, registry entries, older
    # events) while this thread decides this one, and the writer writes the previous one.
    decide = functools.partial(
        _decide, service_versions=service_versions, config=config, until=until, now=now
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="logloop-registry-writer") as writer:
        writing: Future[list[Group]] | None = None
        for history in group_pages.read_ahead(read):
            groups = decide(history)
            if writing is not None:
                written.extend(map(lean, writing.result()))  # a failed write fails the run here
            writing = writer.submit(
                _write_page, store, history, groups, decide=decide, config=config, until=until
            )
            seen.update(bucket.key for bucket in history.buckets)
            unreadable.extend(history.unreadable)
        if writing is not None:
            written.extend(map(lean, writing.result()))
    _refuse_closed_indices(store, lookback_start)  # closed during the run: its groups would look quiet
    # A group merged into another (or split) keeps its registry entry, as it was, for an unmerge.
    quiet = _quiet_groups(
        store, seen | edits.moved_away, service_versions=service_versions, config=config, until=until,
        now=now, unreadable=unreadable,
    )  # fmt: skip
    written.extend(map(lean, quiet))
    if unreadable:
        notes = (*notes, unreadable_line(unreadable))
    store.refresh(index=store.registry)
    if store.index_uuid(index=store.registry, action="look for the group registry") != registry_uuid:
        notes = (*notes, registry_replaced_line(store))
    written.sort(key=lambda group: (-group.priority, group.group_id))
    return AnalysisResult(
        until=until, groups=written, statuses=dict(Counter(group.status for group in written)), notes=notes
    )


def _refuse_going_back(store: Store, until: datetime) -> None:
    """ConfigurationError when `until` is before the newest event the registry was written from: the
    registry holds the groups' statuses as of a later time, and an analysis as of `until` would rewrite
    them all (a group first seen after it `new` since then), before any write."""
    latest = registry.latest_event(store)
    if latest is not None and until < latest:
        raise ConfigurationError(
            f"--until {until:%Y-%m-%d %H:%M:%S} UTC is before {latest:%Y-%m-%d %H:%M:%S} UTC, the newest "
            f"event the group registry {store.registry} holds: analyze moves forward only (it would rewrite "
            f"every group's status as of then); give a later --until, or delete {store.registry} to rebuild "
            f"it as of then (resolved and ignored marks come back from {store.group_edits})"
        )


def _registry_was_deleted(store: Store) -> bool:
    """Whether the registry is missing where it existed before: its index template (put with it by
    `logloop setup` or an earlier run) or another bookkeeping index is there. A first run finds none."""
    if store.index_exists(index=store.registry, action="look for the group registry"):
        return False
    action = "look for the analyzers' earlier indices"
    if store.index_template(name=bookkeeping_template_name(store.registry), action=action):
        return True
    others = (store.group_edits, store.templates, store.alerts, store.digest_sends)
    return any(store.index_exists(index=index, action=action) for index in others)


def unreadable_line(unreadable: Sequence[str]) -> str:
    """What a run says of registry entries that were no group (another tool's, an older logloop's)."""
    first = unreadable[0].split(";", 1)[0]
    return (
        f"{len(unreadable)} registry entr{'y' if len(unreadable) == 1 else 'ies'} could not be read "
        f"(first: {first}): a group with events in the look-back range was rewritten from them (its "
        "resolve or ignore mark from the group edits), the others were left as they are"
    )


def registry_replaced_line(store: Store) -> str:
    """What a run says when the registry was deleted (and recreated by its writes) while it ran."""
    return (
        f"{store.registry} was deleted while this run wrote it: it now holds only the groups written "
        "after that: run `logloop analyze` again to rebuild the rest from the events (resolved and ignored "
        f"marks come back from {store.group_edits}; {_UNRECORDED_MARKS})"
    )


def registry_rebuilt_line(store: Store) -> str:
    """What a run that finds the registry deleted says: statuses come back from the events, marks from
    the group edits index (`group_marks`), but not those an older logloop kept only in the registry."""
    return (
        f"{store.registry} was missing and is rebuilt from the events: the groups' statuses are decided "
        f"again from their counts, and resolved and ignored marks come back from {store.group_edits} "
        f"with their groups' events; {_UNRECORDED_MARKS}"
    )


# Marks made by a logloop that kept them only in the registry are gone with it.
_UNRECORDED_MARKS: Final = (
    "a mark made before logloop recorded marks there (this release) cannot be recovered: mark those "
    "groups again with `logloop resolve` or `logloop ignore`"
)
