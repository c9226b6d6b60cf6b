"""A digest whose comparison rests on events no longer stored says so (real node): the previous window,
or this one, stored only from the oldest event kept (retention deleted the older daily indices, or
shipping began then); without the note its counts read "new" and "x24" against nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers.digest import build_digest
from analyzers.store import Store

pytestmark = pytest.mark.es
WEEK = timedelta(days=7)
PREVIOUS = "The previous window (2026-11-09 08:00 – 2026-11-16 08:00 UTC)"
THIS = "This window (2026-11-16 08:00 – 2026-11-23 08:00 UTC)"


@pytest.mark.parametrize(
    ("oldest_days_ago", "level", "said"),
    [
        pytest.param(
            10, "error", f"{PREVIOUS} is stored only from 2026-11-13 08:00 UTC", id="previous-partly"
        ),
        pytest.param(3, "error", f"{THIS} is stored only from 2026-11-20 08:00 UTC", id="this-partly"),
        pytest.param(14, "error", None, id="previous-whole"),
        pytest.param(20, "error", None, id="long-before"),
        pytest.param(10, "info", "The previous window", id="info-only-still-said"),
    ],
)
def test_a_comparison_with_events_no_longer_stored_is_said(
    es: Any, prefix: str, oldest_days_ago: float, level: str, said: str | None
) -> None:
    """The note names the window partly stored and from when; none when both windows are whole."""
    start = NOW - timedelta(days=oldest_days_ago)
    days = int(oldest_days_ago)
    key = "ab" * 16 if level == "error" else None
    index_events(es, prefix, [event(key, start + timedelta(days=n), level=level) for n in range(days)])
    report = build_digest(Store(es, prefix), WEEK, NOW, NOW, title="t").report
    notes = [note for note in report.notes if "is stored only from" in note]
    if said is None:
        assert notes == []
    else:
        assert len(notes) == 1 and notes[0].startswith(said), notes
    if level == "info":
        assert report.is_empty  # a note, not a reason to send a digest with nothing to report


def test_nothing_stored_needs_no_such_note(es: Any, prefix: str) -> None:
    """With no event at all the digest says nothing was shipped, and no stored-from note."""
    report = build_digest(Store(es, prefix), WEEK, NOW, NOW, title="t").report
    assert not [note for note in report.notes if "is stored only from" in note]
