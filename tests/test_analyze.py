"""`analyze` against the real node: every status transition, resolve/ignore, and the priority order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, registry
from analyzers.config import AnalyzeConfig
from analyzers.exceptions import ConfigurationError, GroupNotFound
from analyzers.registry import Group
from analyzers.store import Store
from shipper import schema

pytestmark = pytest.mark.es

CONFIG = AnalyzeConfig()
DAY = timedelta(days=1)


def run(es: Any, prefix: str, until: datetime = NOW) -> dict[str, Group]:
    result = analyze.run(Store(es, prefix), config=CONFIG, until=until)
    return {group.group_id: group for group in result.groups}


def test_first_occurrence_in_window_is_new(es: Any, prefix: str) -> None:
    """A group whose first event ever is inside the window is new, with its counts and sample stored."""
    index_events(es, prefix, [event("g-new", NOW - 2 * DAY), event("g-new", NOW - DAY, host="host-b")])
    group = run(es, prefix)["g-new"]
    assert (group.status, group.count_window, group.count_total) == ("new", 2, 2)
    assert group.category == "traceback"
    assert set(group.hosts) == {"host-a", "host-b"}
    assert group.first_seen == NOW - 2 * DAY
    assert len(group.daily_counts) in (7, 8) and sum(group.daily_counts) == 2
    stored = registry.load_groups(Store(es, prefix))
    assert [g.group_id for g in stored] == ["g-new"] and stored[0].status == "new"
    assert stored[0].sample_stack_trace and "ValueError" in stored[0].sample_stack_trace


@pytest.mark.parametrize(
    ("baseline_per_window", "current", "expected"),
    [
        pytest.param(2, 20, "escalating", id="20-vs-baseline-2-escalates"),
        pytest.param(10, 19, "ongoing", id="19-vs-baseline-10-below-2x"),
        pytest.param(1, 11, "escalating", id="baseline-plus-10-is-enough-when-small"),
        pytest.param(1, 10, "ongoing", id="baseline-plus-9-is-not"),
        pytest.param(3, 3, "ongoing", id="steady-is-ongoing"),
    ],
)
def test_escalation_rule(es: Any, prefix: str, baseline_per_window: int, current: int, expected: str) -> None:
    """A group seen before the window escalates exactly when count >= max(2 x baseline, baseline + 10)."""
    # Each baseline window starts with its events, the first at the look-back start: 28 days of history.
    docs = [
        event("g", NOW - (7 * n + 7) * DAY + timedelta(minutes=i))
        for n in range(1, 5)
        for i in range(baseline_per_window)
    ]
    docs += [event("g", NOW - DAY - timedelta(minutes=i)) for i in range(current)]
    index_events(es, prefix, docs)
    group = run(es, prefix)["g"]
    assert group.status == expected
    assert (group.count_window, group.count_previous_window) == (current, baseline_per_window)


@pytest.mark.parametrize(
    ("silence", "expected"),
    [
        pytest.param(timedelta(days=9), "regressed", id="9-days-silence-regresses"),
        pytest.param(timedelta(days=3), "new", id="3-days-silence-does-not"),
    ],
)
def test_recurrence_after_quiet_period(es: Any, prefix: str, silence: timedelta, expected: str) -> None:
    """A known group that comes back after at least the quiet period (7 days) is regressed, and stays so."""
    earlier = NOW - DAY - silence
    index_events(es, prefix, [event("g", earlier)])
    assert run(es, prefix, until=earlier + timedelta(hours=1))["g"].status == "new"
    index_events(es, prefix, [event("g", NOW - DAY)])
    assert run(es, prefix)["g"].status == expected
    index_events(es, prefix, [event("g", NOW + timedelta(minutes=30))])
    assert run(es, prefix, until=NOW + timedelta(hours=1))["g"].status == expected


def test_regressed_becomes_ongoing_after_a_full_window(es: Any, prefix: str) -> None:
    """The regressed status lasts one window; a group still occurring after that is ongoing."""
    index_events(es, prefix, [event("g", NOW - 20 * DAY), event("g", NOW - DAY)])
    run(es, prefix, until=NOW - 19 * DAY)
    assert run(es, prefix)["g"].status == "regressed"
    index_events(es, prefix, [event("g", NOW + 3 * DAY), event("g", NOW + 8 * DAY)])
    assert run(es, prefix, until=NOW + 9 * DAY)["g"].status == "ongoing"


def test_resolve_then_recurrence_regresses(es: Any, prefix: str) -> None:
    """A group a maintainer resolved stays resolved while quiet and turns regressed on its next event."""
    index_events(es, prefix, [event("g-abc", NOW - 2 * DAY)])
    run(es, prefix)
    marked = registry.mark(Store(es, prefix), "g-a", status="resolved", now=NOW)
    assert (marked.status, marked.resolved_at, marked.priority) == ("resolved", NOW, 0.0)
    assert run(es, prefix, until=NOW + DAY)["g-abc"].status == "resolved"
    index_events(es, prefix, [event("g-abc", NOW + 2 * DAY)])
    group = run(es, prefix, until=NOW + 3 * DAY)["g-abc"]
    assert group.status == "regressed" and group.status_changed_at == NOW + 3 * DAY
    assert group.priority > 0


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param("1.5", "resolved", id="older-version-is-not-a-regression"),
        pytest.param("2.0.dev3", "resolved", id="pre-release-of-fix-version-is-older"),
        pytest.param("2.0", "regressed", id="fix-version-itself-regresses"),
        pytest.param("v2.0.1", "regressed", id="newer-version-regresses"),
    ],
)
def test_resolve_in_version_is_version_aware(es: Any, prefix: str, version: str, expected: str) -> None:
    """After `resolve --in-version 2.0`, only occurrences on versions >= 2.0 turn the group regressed."""
    index_events(es, prefix, [event("g", NOW - 2 * DAY, version="1.5")])
    run(es, prefix)
    registry.mark(Store(es, prefix), "g", status="resolved", now=NOW, in_version="2.0")
    index_events(es, prefix, [event("g", NOW + DAY, version=version)])
    group = run(es, prefix, until=NOW + 2 * DAY)["g"]
    assert group.status == expected
    if expected == "resolved":
        assert group.resolved_in_version == "2.0"


@pytest.mark.parametrize(
    ("new_version_age", "expected"),
    [
        pytest.param(timedelta(days=4), "resolved", id="newer-version-ran-4-days-without-it"),
        pytest.param(timedelta(days=1), "new", id="newer-version-too-recent"),
    ],
)
def test_automatic_resolution_in_version(
    es: Any, prefix: str, new_version_age: timedelta, expected: str
) -> None:
    """A group unseen since a newer version of its service ran for 3 days is resolved in that version."""
    docs = [event("g", NOW - 5 * DAY, version="1.0")]
    docs += [
        event(None, NOW - new_version_age + timedelta(hours=i), level="info", version="1.1") for i in range(3)
    ]
    index_events(es, prefix, docs)
    group = run(es, prefix)["g"]
    assert group.status == expected
    assert group.resolved_in_version == ("1.1" if expected == "resolved" else None)


def test_ignored_stays_ignored(es: Any, prefix: str) -> None:
    """An ignored group keeps its status through a burst that would otherwise escalate or regress."""
    index_events(es, prefix, [event("g", NOW - 30 * DAY)])
    run(es, prefix, until=NOW - 29 * DAY)
    registry.mark(Store(es, prefix), "g", status="ignored", now=NOW - 29 * DAY)
    index_events(es, prefix, [event("g", NOW - DAY + timedelta(minutes=i)) for i in range(30)])
    group = run(es, prefix)["g"]
    assert (group.status, group.priority, group.count_window) == ("ignored", 0.0, 30)


def test_quiet_registry_group_drops_to_ongoing(es: Any, prefix: str) -> None:
    """A new group with no event in the later look-back range becomes ongoing with a zero window count."""
    index_events(es, prefix, [event("g", NOW - 2 * DAY)])
    run(es, prefix)
    group = run(es, prefix, until=NOW + 60 * DAY)["g"]
    assert (group.status, group.count_window, group.count_total) == ("ongoing", 0, 1)


def test_group_reference_errors(es: Any, prefix: str) -> None:
    """resolve/ignore name the group by key or unique prefix; unknown and ambiguous ones are clear errors."""
    index_events(es, prefix, [event("abc1", NOW - DAY), event("abc2", NOW - DAY)])
    run(es, prefix)
    with pytest.raises(GroupNotFound, match="matches 2 groups"):
        registry.mark(Store(es, prefix), "abc", status="ignored", now=NOW)
    with pytest.raises(GroupNotFound, match="no group matches 'zzz'"):
        registry.mark(Store(es, prefix), "zzz", status="ignored", now=NOW)
    assert registry.mark(Store(es, prefix), "abc2", status="ignored", now=NOW).group_id == "abc2"


def test_categories_and_priority_order(es: Any, prefix: str) -> None:
    """Tracebacks, error lines and feedback are categorized, and the registry lists them by priority."""
    docs = [event("tb", NOW - DAY - timedelta(minutes=i), host=f"h{i % 3}") for i in range(20)]
    docs += [event("line", NOW - DAY - timedelta(minutes=i), trace=False) for i in range(20)]
    docs += [event("old", NOW - 6 * DAY - timedelta(minutes=i)) for i in range(20)]
    docs += [
        event(
            "fb",
            NOW - DAY,
            level="info",
            dataset="logloop.feedback",
            feedback_kind="feature",
            message="dark mode",
        )
    ]
    index_events(es, prefix, docs)
    groups = run(es, prefix)
    assert {key: group.category for key, group in groups.items()} == {
        "tb": "traceback",
        "line": "error_line",
        "old": "traceback",
        "fb": "feedback",
    }
    assert groups["fb"].feedback_kind == "feature"
    assert [group.group_id for group in registry.load_groups(Store(es, prefix))] == [
        "tb",
        "line",
        "old",
        "fb",
    ]


def test_empty_deployment(es: Any, prefix: str) -> None:
    """With no daily index at all, analyze creates the registry and writes nothing."""
    result = analyze.run(Store(es, prefix), config=CONFIG, until=NOW)
    assert result.groups == [] and es.indices.exists(index=schema.registry_index(prefix))


def test_cli_analyze_resolve_ignore(
    es: Any, prefix: str, es_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """analyze, resolve and ignore work end to end; an ambiguous GROUP is one error line and exit 1."""
    from logloop.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", prefix)
    until = "2026-11-23T08:00:00Z"
    index_events(es, prefix, [event("abc1", NOW - DAY), event("abc2", NOW - DAY)])
    assert main(["analyze", "--until", until]) == 0
    assert "analyzed 2 groups up to 2026-11-23 08:00 UTC: 2 new" in capsys.readouterr().out
    assert main(["resolve", "abc"]) == 1
    assert capsys.readouterr().err.startswith("logloop resolve: error: 'abc' matches 2 groups")
    assert main(["resolve", "abc1", "--in-version", "1.1"]) == 0
    assert capsys.readouterr().out.startswith("abc1: resolved in version 1.1")
    assert main(["ignore", "abc2"]) == 0
    capsys.readouterr()
    assert main(["analyze", "--rules", "--window", "14d"]) == 0
    assert "7. new        first seen within the last 2 weeks" in capsys.readouterr().out
    statuses = {group.group_id: group.status for group in registry.load_groups(Store(es, prefix))}
    assert statuses == {"abc1": "resolved", "abc2": "ignored"}


def test_open_groups_pages_through_the_registry(es: Any, prefix: str) -> None:
    """open_groups (and open_group_ids, without the documents) page by key, skipping resolved and
    ignored groups; lookup prefers the exact key."""
    registry.ensure(Store(es, prefix))
    statuses = ["new", "ongoing", "resolved", "escalating", "ignored", "regressed", "new"]
    registry.save_groups(
        Store(es, prefix),
        [
            Group(
                group_id=f"k{n}",
                title="t",
                category="error_line",
                first_seen=NOW,
                last_seen=NOW,
                status=status,
            )
            for n, status in enumerate(statuses)
        ],
    )
    assert [group.group_id for group in registry.open_groups(Store(es, prefix), page=2)] == [
        "k0",
        "k1",
        "k3",
        "k5",
        "k6",
    ]
    assert list(registry.open_group_ids(Store(es, prefix), page=2)) == ["k0", "k1", "k3", "k5", "k6"]
    assert registry.lookup(Store(es, prefix), "k1").group_id == "k1"
    with pytest.raises(GroupNotFound, match="matches more than 5 groups"):
        registry.lookup(Store(es, prefix), "k")


@pytest.mark.parametrize(
    "back",
    [pytest.param(timedelta(days=3), id="days-back"), pytest.param(timedelta(days=20000), id="to-1971")],
)
def test_analyze_before_what_the_registry_holds_is_refused(es: Any, prefix: str, back: timedelta) -> None:
    """`analyze --until` earlier than the newest event the registry was written from is refused with
    one line naming both times, and leaves the registry as it was (it rewrote every group's status as
    of then: `new` since 1971 for a group first seen in 2026)."""
    index_events(es, prefix, [event("g-1", NOW - 2 * DAY), event("g-1", NOW - DAY)])
    before = run(es, prefix)
    with pytest.raises(ConfigurationError, match=r"before .*2026.* the group registry .* holds") as raised:
        run(es, prefix, until=NOW - back)
    assert "\n" not in str(raised.value) and "--until" in str(raised.value)
    (kept,) = registry.load_groups(Store(es, prefix))
    assert (kept.status, kept.status_changed_at) == (before["g-1"].status, before["g-1"].status_changed_at)


@pytest.mark.parametrize(
    ("levels", "stored", "above_warnings"),
    [
        pytest.param(["ERR"], "err", True, id="err"),
        pytest.param(["SEVERE"], "severe", True, id="java-severe"),
        pytest.param(["50"], "50", True, id="pino-error-number"),
        pytest.param(["Crit", "info"], "crit", True, id="syslog-crit-beside-info"),
        pytest.param(["info", "ALERT"], "alert", True, id="alert-after-info"),
        pytest.param(["error"], "error", True, id="error"),
    ],
)
def test_an_error_level_in_any_spelling_ranks_as_an_error(
    es: Any, prefix: str, levels: list[str], stored: str, above_warnings: bool
) -> None:
    """A group whose level the schema reads as an error in another spelling (`ERR`, `SEVERE`, pino's 50,
    syslog's `crit`) stores that level and outranks a warning group of the same size, as `error` does."""
    docs = [
        event("odd", NOW - DAY - timedelta(minutes=i), level=levels[i % len(levels)], trace=False)
        for i in range(10)
    ]
    docs += [
        event("warned", NOW - DAY - timedelta(minutes=i), level="warning", trace=False) for i in range(10)
    ]
    index_events(es, prefix, docs)
    groups = run(es, prefix)
    assert groups["odd"].level == stored
    assert (groups["odd"].priority > groups["warned"].priority) is above_warnings
