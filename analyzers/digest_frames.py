"""The digest's arithmetic as DataFrame operations over the parsed aggregation results.

One frame per table, with named columns: the window's measures and their change against the
previous window, the calendar buckets of the trend, the groups (window counts joined with first
occurrences and the registry, their status, priority and order), the operations' percentiles and
their change, the error lines and the feedback kinds in the order a reader takes them in.
`analyzers.digest_model` turns the rows into the report's frozen dataclasses.

The rule: pure and vectorised, frames in and frames out; no I/O and no clock. Status and priority
follow the rules in `analyzers.digest_model`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from analyzers.digest_window import Window
from analyzers.registry import Group

MEASURES: Final = {  # name -> label, in the order the digest shows them
    "events": "Log events",
    "errors": "Errors",
    "warnings": "Warnings",
    "tracebacks": "Tracebacks",
    "groups": "Error groups",
    "hosts": "Hosts",
    "feedback": "User feedback",
}
# Priority order: a bug report needs action, a usability complaint may, a feature wish can wait.
FEEDBACK_ORDER: Final = ("bug", "usability", "feature")
NANOSECONDS_PER_MS: Final = 1e6

REGISTRY: Final = {  # groups-frame column -> registry Group attribute
    "reg_title": "title",
    "reg_status": "status",
    "reg_priority": "priority",
    "reg_category": "category",
    "reg_first_seen": "first_seen",
    "reg_last_seen": "last_seen",
    "reg_changed": "status_changed_at",
    "reg_trace": "sample_stack_trace",
    "reg_message": "sample_message",
    "reg_error_type": "error_type",
    "reg_versions": "versions",
    "reg_hosts": "hosts",
    "reg_services": "services",
}


def change_pct(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Change against the previous value in percent; NaN where the previous is 0 or unknown."""
    return (current - previous) * 100.0 / previous.where(previous != 0)


def measures(totals: Mapping[str, Mapping[str, int]]) -> pd.DataFrame:
    """One row per measure of MEASURES (index `name`): label, current, previous, change_pct.

    Log events leave out the shippers' own health documents; a measure a window lacks is 0."""
    sides = ("current", "previous")
    counts = pd.DataFrame({side: pd.Series(dict(totals[side]), dtype="int64") for side in sides})
    counts = counts.reindex([*MEASURES, "shipper_docs"]).fillna(0).astype("int64")
    counts.loc["events"] -= counts.loc["shipper_docs"]
    frame = counts.loc[list(MEASURES)].rename_axis("name")
    frame.insert(0, "label", pd.Series(MEASURES))
    frame["change_pct"] = change_pct(frame["current"], frame["previous"])
    return frame


def buckets(daily: Sequence[Mapping[str, Any]], window: Window) -> pd.DataFrame:
    """The calendar buckets of the trend as the histogram returned them: start (UTC; the window's
    start where a bucket has none), events, errors, warnings."""
    frame = pd.DataFrame(list(daily), columns=["start", "events", "errors", "warnings"])
    frame["start"] = pd.to_datetime(frame["start"], unit="ms", utc=True).fillna(pd.Timestamp(window.start))
    return frame


def groups(
    counted: Sequence[Mapping[str, Any]], first_seen: Mapping[str, Any], registry: Sequence[Group]
) -> pd.DataFrame:
    """One row per group (index `key`) counted in either window or known to the registry: count,
    previous_count, window_first, last_seen, first_seen (ever) and the REGISTRY columns (missing,
    NaN, for a group the registry does not know)."""
    columns = ["key", "count", "previous_count", "window_first", "last_seen"]
    frame = pd.DataFrame(list(counted), columns=columns).set_index("key")
    frame["first_seen"] = pd.Series(dict(first_seen), dtype="object")
    known = pd.DataFrame(
        [
            {"key": g.group_id, **{column: getattr(g, name) for column, name in REGISTRY.items()}}
            for g in registry
        ],
        columns=["key", *REGISTRY],
    ).set_index("key")
    frame = frame.join(known, how="outer")
    frame[["count", "previous_count"]] = frame[["count", "previous_count"]].fillna(0).astype("int64")
    return frame


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601")


def ranked(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The groups worth showing, highest priority first (ties: higher count, then key), with two
    more columns: status and priority.

    Worth showing: an event in the window, or resolved within it (the good news has no events);
    never an ignored group. A group the registry knows keeps its status and priority; another is
    `new` when its first occurrence ever is in the window, else `ongoing`, and its priority is
    log10(1 + count), plus 1 when new."""
    registered = frame["reg_status"].notna()
    computed = pd.Series(
        np.where(_utc(frame["first_seen"]) >= window.start, "new", "ongoing"), index=frame.index
    )
    status = frame["reg_status"].where(registered, computed).astype("object")
    # math.log10, not numpy's: numpy's differs in the last bit for some counts, which the JSON shows.
    volume = (1 + frame["count"]).map(math.log10) + (status == "new")
    priority = frame["reg_priority"].astype("float64").where(registered, volume)
    changed = _utc(frame["reg_changed"])
    resolved_now = (status == "resolved") & registered & (changed >= window.start) & (changed < window.end)
    shown = frame.assign(status=status, priority=priority)[
        ((frame["count"] > 0) | resolved_now) & (status != "ignored")
    ]
    return shown.sort_values(["priority", "count", "key"], ascending=[False, False, True])


def operations(rows: Sequence[Mapping[str, Any]], limit: int) -> pd.DataFrame:
    """The `limit` slowest operations called in the window (p95 highest first, then by name), their
    percentiles in milliseconds (p50_ms, p95_ms and the previous window's) and p95_change_pct."""
    frame = pd.DataFrame(
        list(rows),
        columns=["action", "count", "previous_count", "p50", "p95", "previous_p50", "previous_p95"],
    )
    percentiles = ["p50", "p95", "previous_p50", "previous_p95"]
    frame[percentiles] = frame[percentiles].astype("float64")
    frame = frame[frame["count"] > 0].sort_values(["p95", "action"], ascending=[False, True]).head(limit)
    for name in percentiles:
        frame[f"{name}_ms"] = frame[name] / NANOSECONDS_PER_MS
    frame["p95_change_pct"] = change_pct(frame["p95_ms"], frame["previous_p95_ms"])
    return frame.reset_index(drop=True)


def error_lines(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Error lines, most events first (ties by template)."""
    frame = pd.DataFrame(
        list(rows), columns=["template", "count", "previous_count", "last_seen", "hosts", "sample"]
    )
    return frame.sort_values(["count", "template"], ascending=[False, True]).reset_index(drop=True)


def feedback_kinds(kinds: Sequence[Mapping[str, Any]], previous: Mapping[str, int]) -> pd.DataFrame:
    """One row per feedback kind (index `kind`): count and previous_count, in FEEDBACK_ORDER, then
    any other kind by name. The FEEDBACK_ORDER kinds are always there, at 0 when nobody sent one."""
    counts = pd.Series({str(k["kind"]): int(k["count"]) for k in kinds}, dtype="int64")
    frame = pd.DataFrame({"count": counts}).reindex(counts.index.union(pd.Index(FEEDBACK_ORDER), sort=False))
    frame["count"] = frame["count"].fillna(0).astype("int64")
    before = pd.Series(dict(previous), dtype="int64")
    frame["previous_count"] = before.reindex("feedback_" + frame.index).fillna(0).astype("int64").to_numpy()
    rank = {kind: position for position, kind in enumerate(FEEDBACK_ORDER)}
    frame["rank"] = frame.index.map(lambda kind: rank.get(kind, len(rank)))
    frame = frame.rename_axis("kind").sort_values(["rank", "kind"])
    return frame.drop(columns="rank")


def shipper_processes(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The shippers' processes, those that lost the most events first (then by host and pid)."""
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return frame
    frame["lost"] = frame["dropped"] + frame["dead_lettered"]
    return frame.sort_values(["lost", "host", "pid"], ascending=[False, True, True]).reset_index(drop=True)
