"""`logloop check`: a Nagios/Icinga plugin for the error rate and new error groups of a short window.

Exit codes follow the plugin conventions: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Elasticsearch
unreachable or a configuration error). One status line, with performance data:

    LOGLOOP WARNING - 1 regressed group: KeyError: 'id'; 42 errors in 15m (2.80/min), no new groups
      | errors=42;75;300 error_rate=2.80;5;20 new_groups=0;1;5 regressed_groups=1;1;5

`errors` thresholds are the rate thresholds times the window in minutes, so both read alike. The
registry's marks hold (`lifecycle`'s rule of what is counted): an ignored group is never listed nor in
the rate (its events are counted apart, "; N more in ignored groups"); a group with events in the
window that is regressed is listed first, never as new: a resolved one that occurs again after its
resolve, or one the registry calls regressed (`analyze` ran since it came back), until it is resolved
again. Regressed groups have thresholds of their own (`warning_regressed` = 1, `critical_regressed` =
5): one is a WARNING whatever the new-group thresholds, as a fix that did not hold needs someone by
the next working day, while CRITICAL (a page) stays for what says the service is failing now (the
rate, or many fixes undone at once: a rollback).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from analyzers import group_edits, group_pages, lifecycle, queries, registry
from analyzers.analyze import parse_recurrence, title_of
from analyzers.config import CheckConfig
from analyzers.escaping import text_line
from analyzers.store import Store
from analyzers.wording import counted
from shipper.schema import get_field

OK: Final = 0
WARNING: Final = 1
CRITICAL: Final = 2
UNKNOWN: Final = 3
STATE_NAMES: Final = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
_SHOWN: Final = 3


@dataclass(frozen=True, kw_only=True)
class NewGroup:
    """A group the window brought: new (`first_seen` its first event ever), or a resolved group come
    back (`first_seen` its first event after the resolve that counts)."""

    group_id: str
    title: str
    first_seen: datetime
    count: int
    services: tuple[str, ...] = ()
    last_seen: datetime | None = None  # the latest event's time, host and version (the aggregation's sample)
    versions: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    state: int
    errors: int
    window: timedelta
    new_groups: tuple[NewGroup, ...]
    line: str
    regressed_groups: tuple[NewGroup, ...] = ()  # resolved in the registry, and occurring again
    ignored_errors: int = 0  # the window's events of groups marked ignored: not in `errors`

    @property
    def rate(self) -> float:
        return errors_per_minute(self.errors, self.window)


def errors_per_minute(errors: int, window: timedelta) -> float:
    return errors / max(window.total_seconds() / 60, 1e-9)


def _level(value: float, warning: float, critical: float) -> int:
    return CRITICAL if value >= critical else WARNING if value >= warning else OK


def state_of(errors: int, new_groups: int, *, config: CheckConfig, regressed_groups: int = 0) -> int:
    """The worst of the rate, new-group and regressed-group states (pure)."""
    return max(
        _level(errors_per_minute(errors, config.window), config.warning_rate, config.critical_rate),
        _level(new_groups, config.warning_new, config.critical_new),
        _level(regressed_groups, config.warning_regressed, config.critical_regressed),
    )


def _span(window: timedelta) -> str:
    minutes = window.total_seconds() / 60
    return f"{minutes / 60:g}h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g}m"


def status_line(
    errors: int,
    new_groups: Sequence[NewGroup],
    *,
    state: int,
    config: CheckConfig,
    partial: Sequence[str] = (),
    regressed_groups: Sequence[NewGroup] = (),
    ignored_errors: int = 0,
) -> str:
    """The plugin output line, perfdata included (pure); `partial` lines say what the cluster left out."""
    minutes = config.window.total_seconds() / 60
    rate = errors_per_minute(errors, config.window)
    ignored = f"; {ignored_errors} more in ignored groups" if ignored_errors else ""
    counts = f"{counted(errors, 'error')} in {_span(config.window)} ({rate:.2f}/min{ignored})"
    # (a regression first: a dashboard shows the line's start, and a fix that did not hold is the news)
    text = f"LOGLOOP {STATE_NAMES[state]} - "
    text += f"{_listed(regressed_groups, 'regressed')}; " if regressed_groups else ""
    text += counts
    text += f", {_listed(new_groups, 'new')}" if new_groups else ", no new groups"
    if partial:
        text += f"; PARTIAL ANSWER (counts are lower bounds): {nagios_text(partial[0])[:300]}"
        text += f" (+{len(partial) - 1} more)" if len(partial) > 1 else ""
    perfdata = (
        f"errors={errors};{config.warning_rate * minutes:g};{config.critical_rate * minutes:g};0 "
        f"error_rate={rate:.2f};{config.warning_rate:g};{config.critical_rate:g};0 "
        f"new_groups={len(new_groups)};{config.warning_new};{config.critical_new};0 "
        f"regressed_groups={len(regressed_groups)};{config.warning_regressed};{config.critical_regressed};0"
    )
    return f"{text} | {perfdata}"


def _listed(groups: Sequence[NewGroup], kind: str) -> str:
    shown = "; ".join(nagios_text(group.title)[:80] for group in groups[:_SHOWN])
    more = f" (+{len(groups) - _SHOWN} more)" if len(groups) > _SHOWN else ""
    return f"{len(groups)} {kind} group{'s' if len(groups) != 1 else ''}: {shown}{more}"


def nagios_text(value: object) -> str:
    """Text in a plugin's output: one line, and no `|` (it starts the performance data)."""
    return text_line(value).replace("|", "/")


def unknown_line(reason: str) -> str:
    return f"LOGLOOP UNKNOWN - {nagios_text(reason)}"


def _values(sample: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = get_field(sample, name)
    return (str(value),) if value else ()


def _time(value: Any) -> datetime | None:
    return queries.source_time(value)


def new_group(raw: Mapping[str, Any], sample: Mapping[str, Any]) -> NewGroup:
    """A new group from its bucket in the window (count, first occurrence) and its latest event."""
    return NewGroup(
        group_id=str(raw["key"]),
        title=title_of(sample, str(raw["key"])),
        first_seen=datetime.fromisoformat(raw["first_seen"]["value_as_string"].replace("Z", "+00:00")),
        count=int(raw["doc_count"]),
        services=_values(sample, "service.name"),
        last_seen=_time(get_field(sample, "@timestamp")),
        versions=_values(sample, "service.version"),
        hosts=_values(sample, "host.name"),
    )


def newest_first(groups: Iterable[NewGroup]) -> tuple[NewGroup, ...]:
    return tuple(sorted(groups, key=lambda group: (-group.first_seen.timestamp(), group.group_id)))


def _groups_in_window(store: Store, *, start: datetime, until: datetime) -> dict[str, Mapping[str, Any]]:
    return {
        str(raw["key"]): raw
        for raw in group_pages.buckets(
            store,
            index=store.events,
            query=queries.check_groups_query(start=start, until=until),
            aggs=queries.CHECK_GROUP_AGGS,
            action="find the groups of the check window",
        )
    }


def _seen_before(store: Store, keys: list[str], *, start: datetime) -> set[str]:
    seen: set[str] = set()
    for chunk in group_pages.key_chunks(keys):
        seen.update(
            str(bucket["key"])
            for bucket in group_pages.buckets(
                store,
                index=store.events,
                query=queries.seen_before_query(keys=chunk, start=start),
                action="find groups seen before the check window",
            )
        )
    return seen


def _samples(store: Store, keys: list[str], *, until: datetime) -> dict[str, Mapping[str, Any]]:
    """The latest event of each group (one collapsed search per chunk of keys)."""
    samples: dict[str, Mapping[str, Any]] = {}
    for chunk in group_pages.key_chunks(keys):
        response = store.search(
            index=store.events,
            body=queries.latest_per_group(keys=chunk, until=until),
            action="read the new groups' samples",
        )
        for hit in response.get("hits", {}).get("hits", []):
            samples[str(get_field(hit["_source"], "error.grouping_key"))] = hit["_source"]
    return samples


def _marks(store: Store, keys: Iterable[str]) -> dict[str, registry.Group]:
    """The registry entries of these groups, as far as `check` reads them (status, resolve, first
    seen); none when there is no registry yet, and an entry that is no group is left out (analyze
    names it): a monitoring check reads, never fails on one document."""
    wanted = sorted(set(keys))
    found: dict[str, registry.Group] = {}
    for chunk in group_pages.key_chunks(wanted):
        found.update(registry.groups_by_id(store, chunk, fields=_MARK_FIELDS, unreadable=[]))
    return found


_MARK_FIELDS: Final = (
    "group_id",
    "status",
    "first_seen",
    "last_seen",
    "resolved_at",
    "resolved_in_version",
    "regressed_at",
    "status_changed_at",
)


def _regressed(
    store: Store, resolved: Mapping[str, registry.Group], *, until: datetime
) -> dict[str, datetime]:
    """Of these window keys and the resolved groups their events belong to, those occurring again after
    the resolve (lifecycle's rule 2, `--in-version` included), with the first such occurrence."""
    back: dict[str, datetime] = {}
    keys = sorted(key for key, group in resolved.items() if group.resolved_at is not None)
    for chunk in group_pages.key_chunks(keys, size=_SINCE_CHUNK):
        since = {key: resolved[key].resolved_at for key in chunk}
        response = store.search(
            index=store.events,
            body=queries.occurrences_since(
                since={key: moment for key, moment in since.items() if moment is not None}, until=until
            ),
            action="find resolved groups that occur again",
        )
        buckets = (response.get("aggregations") or {}).get("since", {}).get("buckets", {})
        for key, raw in buckets.items():
            recurrence = parse_recurrence(raw)
            version = resolved[key].resolved_in_version
            if lifecycle.recurs_after_resolve(version, recurrence.first, recurrence.versions):
                moment, _ = lifecycle.came_back(
                    lifecycle.Observation(
                        first_seen=recurrence.first or until,
                        last_seen=recurrence.first or until,
                        window_counts=(),
                        first_since=recurrence.first,
                        first_since_by_version=recurrence.first_by_version,
                    ),
                    version,
                )
                back[str(key)] = moment or until
    return back


_SINCE_CHUNK: Final = 500  # groups per `occurrences_since` request (one `filters` bucket each)


def run_check(store: Store, *, config: CheckConfig, until: datetime) -> CheckResult:
    """Count errors and new groups in [until - window, until); raises ElasticsearchUnavailable.

    A group is new when its first error event ever is in the window: every group of the window is
    paged, then those with an error event before it are struck out (both exact, any number of groups).
    The registry's marks hold (lifecycle): a group marked ignored is never listed and its events are
    not in the rate; a resolved group whose events come back after the resolve is listed as regressed,
    never as new; a group the registry first saw before the window (its events since deleted) is not
    new."""
    start = until - config.window
    mark = store.partial.mark()
    store.note_unreadable_indices(action="list the event and registry indices")
    response = store.search(
        index=store.events,
        body=queries.check_errors(start=start, until=until),
        action="check the error rate",
    )
    errors = int((response.get("aggregations") or {}).get("errors", {}).get("doc_count", 0))
    in_window = _groups_in_window(store, start=start, until=until)
    # A key merged into another (`logloop group merge`; its events shipped since keep it until the
    # next analyze) is an occurrence of the group it joined: read, never written (a monitoring check).
    merged = group_edits.EditPlan(group_edits.load(store)).merged
    joined = {key: merged[key][0] for key in in_window if key in merged and merged[key][0] != key}
    owner = {key: joined.get(key, key) for key in in_window}  # the group whose events they are
    marks = _marks(store, owner.values())
    status = {key: marks[group].status for key, group in owner.items() if group in marks}
    ignored = set(lifecycle.uncounted(status.items()))
    ignored_errors = sum(int(in_window[key]["doc_count"]) for key in ignored)
    errors = max(errors - ignored_errors, 0)
    resolved = {key: marks[owner[key]] for key, value in status.items() if value == "resolved"}
    back = _regressed(store, resolved, until=until)
    # Regressed in the registry (analyze saw it come back) and occurring: still regressed until it is
    # resolved again (or ignored), as when check saw it come back first; since when it came back.
    back.update(
        {
            key: marks[owner[key]].regressed_at or marks[owner[key]].status_changed_at or start
            for key, value in status.items()
            if value == "regressed"
        }
    )
    seen = _seen_before(store, sorted({*in_window, *joined.values()}), start=start)
    known_before = {key for key in in_window if owner[key] in marks and marks[owner[key]].first_seen < start}
    new_keys = [
        key
        for key in in_window
        if key not in seen
        and not (key in joined and (joined[key] in seen or joined[key] in in_window))
        and key not in ignored
        and key not in resolved
        and key not in back
        and key not in known_before
    ]
    samples = _samples(store, [*new_keys, *back], until=until)
    new_groups = newest_first(new_group(in_window[key], samples.get(key, {})) for key in new_keys)
    regressed_groups = newest_first(
        replace(new_group(in_window[key], samples.get(key, {})), first_seen=moment)
        for key, moment in back.items()
    )
    state = state_of(errors, len(new_groups), config=config, regressed_groups=len(regressed_groups))
    partial = store.partial.lines(mark)
    if partial and state == OK:
        state = UNKNOWN  # lower bounds under the thresholds prove nothing; above them they still hold
    line = status_line(
        errors,
        new_groups,
        state=state,
        config=config,
        partial=partial,
        regressed_groups=regressed_groups,
        ignored_errors=ignored_errors,
    )
    return CheckResult(
        state=state,
        errors=errors,
        window=config.window,
        new_groups=new_groups,
        line=line,
        regressed_groups=regressed_groups,
        ignored_errors=ignored_errors,
    )
