"""The documented priority score: each factor moves the order the way the docstring says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from analyzers.priority import Signals, score

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BASE = Signals(
    level="error", has_traceback=True, count_window=10, hosts=1, services=1, versions=1, last_seen=NOW
)


@pytest.mark.parametrize(
    ("higher", "lower"),
    [
        pytest.param(replace(BASE, level="critical"), BASE, id="critical-over-error"),
        pytest.param(BASE, replace(BASE, has_traceback=False), id="traceback-over-error-line"),
        pytest.param(
            replace(BASE, has_traceback=False),
            replace(BASE, level="warning", has_traceback=False),
            id="error-line-over-warning",
        ),
        pytest.param(replace(BASE, count_window=100), BASE, id="more-events"),
        pytest.param(replace(BASE, hosts=5), BASE, id="more-hosts"),
        pytest.param(replace(BASE, services=3), BASE, id="more-services"),
        pytest.param(replace(BASE, versions=4), BASE, id="more-versions"),
        pytest.param(BASE, replace(BASE, last_seen=NOW - timedelta(days=4)), id="recent-over-stale"),
        pytest.param(replace(BASE, status="escalating"), BASE, id="escalating-over-ongoing"),
        pytest.param(replace(BASE, status="new"), BASE, id="new-over-ongoing"),
        pytest.param(
            replace(BASE, level="info", has_traceback=False, feedback_kind="bug"),
            replace(BASE, level="info", has_traceback=False, feedback_kind="feature"),
            id="bug-report-over-feature-request",
        ),
    ],
)
def test_each_factor_orders(higher: Signals, lower: Signals) -> None:
    """Raising one factor while keeping the others raises the score."""
    assert score(higher, now=NOW) > score(lower, now=NOW)


def test_frequency_is_logarithmic() -> None:
    """Frequency counts logarithmically: 100x the events is less than 3x the score."""
    loud_line = replace(BASE, has_traceback=False, count_window=1000)
    rare_critical = replace(BASE, level="critical", count_window=10)
    assert score(loud_line, now=NOW) < 3 * score(rare_critical, now=NOW)
    assert score(replace(BASE, count_window=1000), now=NOW) < 3 * score(BASE, now=NOW)


@pytest.mark.parametrize(
    "status", [pytest.param("resolved", id="resolved"), pytest.param("ignored", id="ignored")]
)
def test_closed_groups_score_zero(status: str) -> None:
    """Resolved and ignored groups drop to the bottom with a zero score."""
    assert score(replace(BASE, status=status, count_window=10_000), now=NOW) == 0.0


def test_recency_half_life() -> None:
    """A group last seen one half-life ago scores half of the same group seen now."""
    stale = replace(BASE, last_seen=NOW - timedelta(days=3))
    assert score(stale, now=NOW) == pytest.approx(score(BASE, now=NOW) / 2, rel=1e-3)
