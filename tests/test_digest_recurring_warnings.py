"""Recurring warnings in the digest (real node): warnings are listed by shape (their logging template,
else their masked message), the most frequent first, with exact counts against the previous window, at
most MAX_WARNINGS rows in every format, and the rest counted in one line."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, TRACE, event, index_events

from analyzers import digest_warnings
from analyzers.digest import build_digest
from analyzers.render import render
from analyzers.store import Store

pytestmark = pytest.mark.es


def _warning(message: str, n: int, *, template: str | None = None, days_ago: int = 1) -> dict[str, Any]:
    doc = event(None, NOW - timedelta(days=days_ago, seconds=n), level="warning", message=message)
    if template is not None:
        doc["logloop"] = {"template": template}
    return doc


def _build(es: Any, prefix: str, docs: list[dict[str, Any]]) -> Any:
    index_events(es, prefix, docs)
    return build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW, title="warnings")


SHAPES = [
    pytest.param(
        [
            _warning(f"disk /dev/sd{c} is {90 + n}% full", n, template="disk %s is %d%% full")
            for n, c in enumerate("abcde")
        ],
        "disk <VAR> is <NUM>% full",
        5,
        id="logging-template",
    ),
    pytest.param(
        [_warning(f"retrying request 7f3a{n:04x}b9 after {n + 1} attempts", n) for n in range(6)],
        None,
        6,
        id="another-shippers-messages-masked",
    ),
    pytest.param(
        [_warning(f"cache miss for user {n}", n, template="%s") for n in range(4)],
        None,
        4,
        id="a-template-naming-no-statement-shaped-by-message",
    ),
    pytest.param(
        [_warning(f"\u05e9\u05dc\u05d5\u05dd {n} \U0001f525 <b>x</b> | *y*", n) for n in range(3)],
        None,
        3,
        id="rtl-emoji-and-markup",
    ),
]


@pytest.mark.parametrize(("docs", "shape", "count"), SHAPES)
def test_recurring_warnings_of_one_shape_are_one_row(
    es: Any, prefix: str, docs: list[dict[str, Any]], shape: str | None, count: int
) -> None:
    """Warnings that differ only in their values are one row with their exact count in every format."""
    digest = _build(es, prefix, docs)
    (row,) = digest.report.warnings
    assert row.count == count and row.previous_count == 0 and row.last_seen is not None
    if shape is not None:
        assert row.shape == shape
    document = json.loads(render(digest.report, "json"))
    assert [w["count"] for w in document["warnings"]] == [count]
    assert document["left_out"]["warnings"] == 0 and document["more_warnings"] == 0
    text, html, markdown = (digest.render(fmt) for fmt in ("text", "html", "markdown"))
    assert "RECURRING WARNINGS" in text and "Recurring warnings" in html
    assert "## Recurring warnings" in markdown
    assert f"{count:>8}  " in text
    assert "<b>" not in html.split("Recurring warnings", 1)[1]  # log content is escaped, never markup


def test_the_most_frequent_shapes_are_listed_and_the_rest_counted(es: Any, prefix: str) -> None:
    """With more shapes than MAX_WARNINGS, the most frequent are listed in order with their change
    against the previous window, and one line counts the other shapes and their warnings exactly."""
    docs = []
    shapes = digest_warnings.MAX_WARNINGS + 5
    for s in range(shapes):
        for n in range(s + 1):  # shape s has s + 1 warnings this window, and one the window before
            docs.append(_warning(f"queue q{s} slow", n, template=f"queue q{s} slow: %d ms"))
        docs.append(_warning("queue q{s} slow", 0, template=f"queue q{s} slow: %d ms", days_ago=9))
    digest = _build(es, prefix, docs)
    report = digest.report
    listed = [w.count for w in report.warnings]
    assert listed == list(range(shapes, shapes - digest_warnings.MAX_WARNINGS, -1))
    assert all(w.previous_count == 1 for w in report.warnings)
    total = sum(range(1, shapes + 1))
    assert report.measure("warnings").current == total
    assert report.more_warnings == total - sum(listed) and report.warning_shapes == shapes
    text = digest.render("text")
    rest = f"... and {report.more_warnings} more warnings of 5 other shapes ({total} warnings in all)."
    assert rest in text
    document = json.loads(render(report, "json"))
    assert len(document["warnings"]) == digest_warnings.MAX_WARNINGS
    assert document["list_totals"]["warnings"] == shapes and document["left_out"]["warnings"] == 5


def test_warnings_no_row_can_hold_are_counted_in_the_rest(es: Any, prefix: str) -> None:
    """A warning whose message is too long for a keyword (and has no template) is in no row but is
    counted in the rest line, so the rows and the line add up to the Warnings measure."""
    docs = [_warning("w" * 3000 + str(n), n) for n in range(2)] + [_warning("short one", 9)]
    report = _build(es, prefix, docs).report
    assert [w.count for w in report.warnings] == [1]
    assert report.more_warnings == 2 and report.measure("warnings").current == 3


def test_a_week_of_errors_only_lists_no_warning(es: Any, prefix: str) -> None:
    """Errors (and an error logged at warning level with a traceback) are never listed as warnings."""
    traced = _warning("disk full", 1)
    traced["error"] = {"type": "builtins.OSError", "stack_trace": TRACE}
    report = _build(es, prefix, [event("ab" * 16, NOW - timedelta(days=1)), traced]).report
    assert report.warnings == () and report.more_warnings == 0


def test_past_the_shapes_held_the_digest_says_its_rows_are_of_those_read(
    es: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more shapes than MAX_SHAPES (memory stays bounded), the rest line says there are more and
    that the rows are the largest of those read; the totals stay exact."""
    monkeypatch.setattr(digest_warnings, "MAX_SHAPES", 3)
    docs = [
        _warning(f"sensor {word} offline", n)
        for n, word in enumerate(["red", "green", "blue", "cyan", "teal"])
    ]
    report = _build(es, prefix, docs).report
    assert report.warning_shapes_capped and report.warning_shapes == 3 and len(report.warnings) == 3
    assert report.measure("warnings").current == 5 and report.more_warnings == 2
    for fmt in ("text", "html", "markdown"):
        rendered = render(report, fmt)
        assert "and more shapes than the 3 read: the rows are the largest of those" in rendered, fmt
