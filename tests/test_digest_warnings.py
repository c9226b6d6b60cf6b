"""A week of warnings (real node, real SMTP on loopback): every format counts them the same way (the
"Warnings" measure, the trend, a line where the error groups would be, the subject), and such a week is
not "empty" in any format, so it is mailed; a week of info lines only stays empty and is not."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, TRACE, event, index_events
from helpers.smtp_inbox import plain_smtp

from analyzers.digest import build_digest
from analyzers.mailer import SmtpSettings, send_digest
from analyzers.render import render
from analyzers.store import Store

pytestmark = pytest.mark.es


def _event(level: str, n: int, *, traced: bool = False) -> dict[str, Any]:
    doc = event(None, NOW - timedelta(days=1 + n % 5, seconds=n), level=level, message=f"disk {n} slow")
    if traced:  # logger.warning(..., exc_info=True): an error event by the one definition
        doc["error"] = {"type": "builtins.OSError", "stack_trace": TRACE}
    return doc


SHAPES = [
    # (levels of the events, traced ones, errors, warnings)
    pytest.param(["warning"] * 3, 0, 0, 3, id="warnings-only"),
    pytest.param(["WARNING", "Warn", "warn", " warning\t"], 0, 0, 4, id="any-case-and-spelling"),
    pytest.param(["warning"], 0, 0, 1, id="one-warning"),
    pytest.param(["warning", "warning", "info"], 1, 1, 1, id="a-traced-warning-is-an-error"),
    pytest.param(["warning", "error", "info"], 0, 1, 1, id="errors-and-warnings"),
    pytest.param(["info", "debug", "warnings-are-not-a-level"], 0, 0, 0, id="nothing-to-report"),
]


@pytest.mark.parametrize(("levels", "traced", "errors", "warnings"), SHAPES)
def test_warnings_are_counted_alike_in_every_format_and_make_the_digest_worth_sending(
    es: Any, prefix: str, levels: list[str], traced: int, errors: int, warnings: int
) -> None:
    """Warnings (not errors) are one count in JSON, text, HTML and Markdown and the trend; a week with
    any is not empty (the JSON says so and the mail is sent); a week with none and no error is."""
    index_events(es, prefix, [_event(level, n, traced=n < traced) for n, level in enumerate(levels)])
    digest = build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW, title="warnings")
    report = digest.report
    assert (report.measure("errors").current, report.measure("warnings").current) == (errors, warnings)
    assert (
        sum(b.warnings for b in report.buckets) == warnings
        and sum(b.errors for b in report.buckets) == errors
    )
    document = json.loads(render(report, "json"))
    measures = {m["name"]: m["current"] for m in document["measures"]}
    assert (measures["errors"], measures["warnings"]) == (errors, warnings)
    empty = errors == 0 and warnings == 0
    assert document["is_empty"] is report.is_empty is empty
    text, html, markdown = (digest.render(fmt) for fmt in ("text", "html", "markdown"))
    assert f"Warnings        {warnings:>10}" in text and f"| Warnings | {warnings} |" in markdown
    assert "Errors and warnings per day" in text and "Errors and warnings per day" in html
    said = f"{warnings} warning{'s' if warnings != 1 else ''} {'was' if warnings == 1 else 'were'} logged"
    for rendered in (text, html, markdown):
        assert (said in rendered) == (warnings > 0 and not report.top_groups), rendered[:2000]
    with plain_smtp() as (inbox, port):
        settings = SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="none",
            sender="l@example.org",
            recipients=("o@example.org",),
        )
        (outcome,) = send_digest(Store(es, prefix), report, digest.images, settings, now=NOW)
    assert outcome.state == ("skipped-empty" if empty else "sent"), outcome
    if warnings:
        (message,) = [m for _r, m in inbox.messages]
        assert f"{warnings} warning" in str(message["Subject"])
