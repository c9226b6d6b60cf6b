"""The digest's DataFrame arithmetic (analyzers.digest_frames) on small frames, answers worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from analyzers import digest_frames
from analyzers.digest_data import DigestData
from analyzers.digest_model import build_report
from analyzers.digest_window import Window
from analyzers.registry import Group

END = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = Window.ending(END, timedelta(days=7))  # 2026-11-16 .. 2026-11-23


def test_change_is_a_percentage_of_the_previous_value_and_unknown_without_one() -> None:
    """(150 - 100) / 100 = +50%, (30 - 40) / 40 = -25%, and nothing to compare against 0."""
    changes = digest_frames.change_pct(pd.Series([150, 30, 7]), pd.Series([100, 40, 0]))
    assert changes.iloc[0] == 50.0 and changes.iloc[1] == -25.0 and math.isnan(changes.iloc[2])


def test_measures_compare_the_window_with_the_previous_one() -> None:
    """Events leave out the shippers' 20 health documents (100 vs 60: +66.7%); a measure missing from
    a window counts 0; errors from 0 have no percentage."""
    totals = {
        "current": {"events": 120, "shipper_docs": 20, "errors": 30, "groups": 4, "feedback": 2},
        "previous": {"events": 64, "shipper_docs": 4, "errors": 0, "groups": 5, "hosts": 2},
    }
    frame = digest_frames.measures(totals)
    assert list(frame.index) == ["events", "errors", "warnings", "tracebacks", "groups", "hosts", "feedback"]
    assert frame.loc["events", ["current", "previous"]].tolist() == [100, 60]
    assert frame.loc["events", "change_pct"] == pytest.approx(200 / 3)
    assert frame.loc["groups", "change_pct"] == -20.0
    assert frame.loc["hosts", ["current", "previous", "change_pct"]].tolist() == [0, 2, -100.0]
    assert math.isnan(frame.loc["errors", "change_pct"]) and math.isnan(frame.loc["tracebacks", "change_pct"])
    assert frame.loc["feedback", "label"] == "User feedback"


def test_buckets_are_the_histogram_in_utc() -> None:
    """Epoch milliseconds become UTC times; the counts stay as counted."""
    start = int(WINDOW.start.timestamp() * 1000)
    daily = [
        {"start": start, "events": 5, "errors": 2, "warnings": 1},
        {"start": start + 86_400_000, "events": 0, "errors": 0, "warnings": 0},
    ]
    frame = digest_frames.buckets(daily, WINDOW)
    assert [t.to_pydatetime() for t in frame["start"]] == [WINDOW.start, WINDOW.start + timedelta(days=1)]
    assert frame[["events", "errors", "warnings"]].values.tolist() == [[5, 2, 1], [0, 0, 0]]


def _group(key: str, status: str, priority: float, changed: datetime | None = None) -> Group:
    return Group(
        group_id=key,
        title=key,
        category="traceback",
        first_seen=END - timedelta(days=30),
        last_seen=END - timedelta(days=1),
        status=status,
        priority=priority,
        status_changed_at=changed,
    )


def test_groups_are_ranked_by_registry_priority_or_volume() -> None:
    """Priorities by hand: `new-9` (unknown, first seen in the window) log10(1 + 9) + 1 = 2; `old-99`
    (unknown, first seen before) log10(100) = 2, ahead on count; `known` keeps its registry 2.5; the
    resolved group without events is shown only when it was resolved in the window; ignored never."""
    counted = [
        {"key": "new-9", "count": 9, "previous_count": 0, "window_first": None, "last_seen": None},
        {"key": "old-99", "count": 99, "previous_count": 50, "window_first": None, "last_seen": None},
        {"key": "known", "count": 1, "previous_count": 1, "window_first": None, "last_seen": None},
        {"key": "quiet", "count": 0, "previous_count": 4, "window_first": None, "last_seen": None},
        {"key": "muted", "count": 500, "previous_count": 0, "window_first": None, "last_seen": None},
    ]
    first_seen = {"new-9": "2026-11-20T10:00:00.000Z", "old-99": "2026-11-01T00:00:00.000Z"}
    registry = [
        _group("known", "escalating", 2.5),
        _group("fixed-now", "resolved", 0.5, changed=END - timedelta(days=2)),
        _group("fixed-long-ago", "resolved", 0.7, changed=END - timedelta(days=20)),
        _group("muted", "ignored", 9.0),
    ]
    frame = digest_frames.ranked(digest_frames.groups(counted, first_seen, registry), WINDOW)
    assert list(frame.index) == ["known", "old-99", "new-9", "fixed-now"]
    assert frame["status"].tolist() == ["escalating", "ongoing", "new", "resolved"]
    assert frame["priority"].tolist() == [2.5, 2.0, 2.0, 0.5]
    assert frame.loc["old-99", "previous_count"] == 50 and frame.loc["fixed-now", "count"] == 0


def test_operations_in_milliseconds_with_their_p95_change() -> None:
    """p95 40 ms -> 50 ms is +25%; from a p95 of 0 or none there is no change; an operation not
    called in the window is left out; slowest p95 first, cut at the limit."""
    rows = [
        {"action": "db", "count": 10, "previous_count": 8, "p50": 20e6, "p95": 50e6,
         "previous_p50": 10e6, "previous_p95": 40e6},
        {"action": "cache", "count": 3, "previous_count": 1, "p50": 0.2e6, "p95": 0.4e6,
         "previous_p50": None, "previous_p95": None},
        {"action": "http", "count": 5, "previous_count": 5, "p50": 900e6, "p95": 1_500e6,
         "previous_p50": 0.0, "previous_p95": 0.0},
        {"action": "idle", "count": 0, "previous_count": 9, "p50": None, "p95": None,
         "previous_p50": 5e6, "previous_p95": 6e6},
    ]  # fmt: skip
    frame = digest_frames.operations(rows, limit=10).set_index("action")
    assert list(frame.index) == ["http", "db", "cache"]
    assert frame.loc["db", ["p50_ms", "p95_ms", "previous_p95_ms", "p95_change_pct"]].tolist() == [
        20.0,
        50.0,
        40.0,
        25.0,
    ]
    assert frame.loc["cache", "p95_ms"] == 0.4 and math.isnan(frame.loc["cache", "p95_change_pct"])
    assert math.isnan(frame.loc["http", "p95_change_pct"])
    assert list(digest_frames.operations(rows, limit=2)["action"]) == ["http", "db"]


def test_feedback_kinds_in_priority_order_with_the_previous_counts() -> None:
    """bug, usability, feature always (0 when none came), then other kinds by name; previous counts
    come from the previous window's `feedback_<kind>` totals."""
    kinds = [{"kind": "praise", "count": 2}, {"kind": "feature", "count": 5}, {"kind": "bug", "count": 1}]
    frame = digest_frames.feedback_kinds(kinds, {"feedback_bug": 3, "feedback_praise": 1, "errors": 9})
    assert list(frame.index) == ["bug", "usability", "feature", "praise"]
    assert frame["count"].tolist() == [1, 0, 5, 2]
    assert frame["previous_count"].tolist() == [3, 0, 0, 1]


def test_shipper_processes_that_lost_events_come_first() -> None:
    """Dropped plus dead-lettered decides the order; ties go by host, then pid."""
    rows = [
        {"host": "b", "pid": 2, "dropped": 0, "dead_lettered": 0},
        {"host": "a", "pid": 9, "dropped": 1, "dead_lettered": 2},
        {"host": "a", "pid": 1, "dropped": 0, "dead_lettered": 0},
    ]
    frame = digest_frames.shipper_processes(rows)
    assert list(zip(frame["host"], frame["pid"], frame["lost"], strict=True)) == [
        ("a", 9, 3),
        ("a", 1, 0),
        ("b", 2, 0),
    ]


def test_an_error_line_without_sample_does_not_break_the_digest() -> None:
    """A row whose sample could not be read (None beside rows with one) has no sample, not a crash."""
    lines = [
        {"template": "disk full", "count": 4, "previous_count": 1, "last_seen": None, "hosts": 1,
         "sample": "disk full on /var"},
        {"template": "(not grouped)", "count": 2, "previous_count": 0, "last_seen": None, "hosts": 0,
         "sample": None},
    ]  # fmt: skip
    zero = {"events": 0, "errors": 0, "tracebacks": 0, "groups": 0, "hosts": 0, "feedback": 0}
    data = DigestData(
        window=WINDOW,
        totals={"current": zero, "previous": zero},
        daily=[],
        groups=[],
        details={},
        groups_registry=[],
        error_lines=lines,
        operations=[],
        feedback=[],
        shipper=[],
        first_seen={},
    )
    report = build_report(data, title="t", generated_at=END)
    assert [(e.template, e.sample) for e in report.error_lines] == [
        ("disk full", "disk full on /var"),
        ("(not grouped)", None),
    ]
