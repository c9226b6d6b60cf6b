"""The pure status rules of analyzers.lifecycle: version ordering and each rule in isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analyzers.config import AnalyzeConfig
from analyzers.lifecycle import (
    History,
    Observation,
    baseline,
    baseline_history,
    decide,
    rules,
    version_at_least,
    version_key,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CONFIG = AnalyzeConfig()


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        pytest.param("1.0", "1.1", id="minor"),
        pytest.param("1.9", "1.10", id="numeric-not-lexical"),
        pytest.param("1.0.dev1", "1.0a1", id="dev-before-alpha"),
        pytest.param("1.0a1", "1.0b1", id="alpha-before-beta"),
        pytest.param("1.0rc1", "1.0", id="rc-before-final"),
        pytest.param("1.0", "1.0.post1", id="final-before-post"),
        pytest.param("v1.2", "1.3", id="leading-v-tolerated"),
        pytest.param("2.0-rc.1", "2.0", id="dashed-pre-release"),
    ],
)
def test_version_order(older: str, newer: str) -> None:
    """Versions order as PEP 440 says, tolerating a leading v and separators."""
    older_key, newer_key = version_key(older), version_key(newer)
    assert older_key is not None and newer_key is not None and older_key < newer_key
    assert version_at_least(newer, older) and not version_at_least(older, newer)


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        pytest.param("1.0", "1.0.0", True, id="trailing-zeros-equal"),
        pytest.param("nightly", "2.0", False, id="unparseable-never-newer"),
        pytest.param("nightly", "nightly", True, id="unparseable-equals-itself"),
    ],
)
def test_version_at_least_edge_cases(version: str, minimum: str, expected: bool) -> None:
    """Equal releases compare equal; unparseable versions only match themselves."""
    assert version_at_least(version, minimum) is expected


def observation(**changes: object) -> Observation:
    values: dict[str, object] = {
        "first_seen": NOW - 30 * DAY,
        "last_seen": NOW - DAY,
        "window_counts": (3, 3, 3, 3, 3),
        "versions": ("1.0",),
    }
    values.update(changes)
    return Observation(**values)  # type: ignore[arg-type]


def history(status: str, **changes: object) -> History:
    values: dict[str, object] = {"status": status, "last_seen": NOW - 2 * DAY}
    values.update(changes)
    return History(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("previous", "seen", "expected"),
    [
        pytest.param(None, observation(first_seen=NOW - DAY), "new", id="first-seen-in-window"),
        pytest.param(None, observation(), "ongoing", id="steady"),
        pytest.param(None, observation(window_counts=(16, 3, 3, 3, 3)), "escalating", id="burst"),
        pytest.param(
            None, observation(window_counts=(12, 3, 3, 3, 3)), "ongoing", id="below-baseline-plus-10"
        ),
        pytest.param(
            history("ignored"), observation(window_counts=(99, 0, 0, 0, 0)), "ignored", id="ignored"
        ),
        pytest.param(
            history("resolved", resolved_at=NOW - 3 * DAY),
            observation(first_since=NOW - DAY),
            "regressed",
            id="resolved-then-seen",
        ),
        pytest.param(
            history("resolved", resolved_at=NOW - 3 * DAY), observation(), "resolved", id="resolved-quiet"
        ),
        pytest.param(
            history("resolved", resolved_at=NOW - 3 * DAY, resolved_in_version="2.0"),
            observation(first_since=NOW - DAY, versions_since=("1.9",)),
            "resolved",
            id="resolved-in-2.0-seen-on-1.9",
        ),
        pytest.param(
            history("ongoing", last_seen=NOW - 10 * DAY),
            observation(first_since=NOW - DAY),
            "regressed",
            id="back-after-9-days",
        ),
        pytest.param(
            history("ongoing", last_seen=NOW - 5 * DAY),
            observation(first_since=NOW - DAY),
            "ongoing",
            id="back-after-4-days",
        ),
        pytest.param(
            history("regressed", status_changed_at=NOW - 2 * DAY),
            observation(),
            "regressed",
            id="regressed-sticks-within-window",
        ),
        pytest.param(
            history("regressed", status_changed_at=NOW - 8 * DAY),
            observation(),
            "ongoing",
            id="regressed-expires-after-window",
        ),
    ],
)
def test_decide(previous: History | None, seen: Observation, expected: str) -> None:
    """Each rule of the module docstring yields its status, in its order of precedence."""
    assert decide(previous, seen, service_versions={}, config=CONFIG, now=NOW).status == expected


def test_resolved_in_newer_version_picks_the_oldest_fixing_version() -> None:
    """Automatic resolution names the first newer version that has run resolve_after without the error."""
    seen = observation(last_seen=NOW - 6 * DAY, versions=("1.0", "1.1"))
    versions = {"1.0": NOW - 40 * DAY, "1.2": NOW - 5 * DAY, "1.3": NOW - 4 * DAY, "1.4": NOW - DAY}
    decision = decide(None, seen, service_versions=versions, config=CONFIG, now=NOW)
    assert (decision.status, decision.resolved_in_version, decision.resolved_at) == ("resolved", "1.2", NOW)


def test_rules_quote_the_configured_numbers() -> None:
    """rules() lists every status and fills in the configured thresholds for the README."""
    config = AnalyzeConfig(escalation_factor=3.0, escalation_min_increase=25, quiet_period=timedelta(days=14))
    text = "\n".join(f"{status}: {rule}" for status, rule in rules(config))
    assert {status for status, _ in rules(config)} == {
        "new",
        "ongoing",
        "escalating",
        "regressed",
        "resolved",
        "ignored",
    }
    assert "3 x baseline" in text and "baseline + 25" in text and "2 weeks" in text


@pytest.mark.parametrize(
    ("first_seen", "counts", "expected"),
    [
        pytest.param(NOW - 14 * DAY, (295, 295, 0, 0, 0), "ongoing", id="persisting-since-two-weeks"),
        pytest.param(NOW - 10 * DAY, (210, 90, 0, 0, 0), "ongoing", id="same-rate-over-3-days-of-history"),
        pytest.param(NOW - 10 * DAY, (420, 90, 0, 0, 0), "escalating", id="double-rate-over-3-days"),
        pytest.param(NOW - 8 * DAY, (500, 10, 0, 0, 0), "ongoing", id="one-day-history-is-too-short"),
        pytest.param(NOW - 35 * DAY, (40, 5, 5, 5, 5), "escalating", id="full-history-as-before"),
        pytest.param(NOW - 35 * DAY, (19, 10, 10, 10, 10), "ongoing", id="full-history-below-twice"),
    ],
)
def test_baseline_counts_only_the_time_a_group_existed(
    first_seen: datetime, counts: tuple[int, ...], expected: str
) -> None:
    """Baseline windows before a group existed are not zeros: its rate since then is the baseline."""
    seen = observation(first_seen=first_seen, window_counts=counts)
    assert decide(None, seen, service_versions={}, config=CONFIG, now=NOW).status == expected


def test_baseline_is_the_rate_scaled_to_one_window() -> None:
    """Three days of history with 90 events give a baseline of 210 per 7-day window; none gives None."""
    history_span = baseline_history(NOW - 10 * DAY, now=NOW, window=7 * DAY, windows=4)
    assert history_span == 3 * DAY
    assert baseline((0, 90, 0, 0, 0), history=history_span, window=7 * DAY) == pytest.approx(210.0)
    assert baseline_history(NOW - 2 * DAY, now=NOW, window=7 * DAY, windows=4) == timedelta(0)
    assert baseline((5, 0, 0, 0, 0), history=timedelta(0), window=7 * DAY) is None
    assert baseline_history(NOW - 99 * DAY, now=NOW, window=7 * DAY, windows=4) == 28 * DAY


def test_regression_after_resolve_in_version_names_the_first_counting_occurrence() -> None:
    """Resolved in 2.0: a 1.9 event after the resolve does not count; the first 2.0 event is the comeback."""
    resolved = history("resolved", resolved_at=NOW - 5 * DAY, resolved_in_version="2.0")
    seen = observation(
        first_since=NOW - 4 * DAY,
        versions_since=("1.9", "2.0", "2.1"),
        first_since_by_version=(("1.9", NOW - 4 * DAY), ("2.1", NOW - DAY), ("2.0", NOW - 2 * DAY)),
    )
    decision = decide(resolved, seen, service_versions={}, config=CONFIG, now=NOW)
    assert (decision.status, decision.regressed_at, decision.regressed_in_version) == (
        "regressed",
        NOW - 2 * DAY,
        "2.0",
    )


def test_regression_after_silence_names_its_first_occurrence_and_version() -> None:
    """Back after a week of silence: the comeback is the first occurrence since, with its version."""
    quiet = history("ongoing", last_seen=NOW - 12 * DAY)
    seen = observation(
        first_since=NOW - 3 * DAY, first_since_by_version=(("1.1", NOW - 2 * DAY), ("1.0", NOW - 3 * DAY))
    )
    decision = decide(quiet, seen, service_versions={}, config=CONFIG, now=NOW)
    assert (decision.status, decision.regressed_at, decision.regressed_in_version) == (
        "regressed",
        NOW - 3 * DAY,
        "1.0",
    )
    still = history(
        "regressed", status_changed_at=NOW - 3 * DAY, regressed_at=NOW - 3 * DAY, regressed_in_version="1.0"
    )
    kept = decide(still, observation(), service_versions={}, config=CONFIG, now=NOW)
    assert (kept.status, kept.regressed_at, kept.regressed_in_version) == ("regressed", NOW - 3 * DAY, "1.0")
