"""Golden tests: recorded query results of the test scenario in, the expected text and Markdown digest
out. The model and the renderers are pure, so no Elasticsearch is needed here.

To accept a deliberate change of the output: LOGLOOP_UPDATE_GOLDEN=1 pytest tests/test_digest_golden.py
(then review the diff of tests/data/digest/).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzers.digest_data import DigestData
from analyzers.digest_model import build_report
from analyzers.digest_window import Window
from analyzers.render import render

DATA = Path(__file__).parent / "data" / "digest"
GENERATED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _recorded() -> DigestData:
    document = json.loads((DATA / "scenario_data.json").read_text())
    window = document.pop("window")
    start, end = (datetime.fromisoformat(window[name]) for name in ("start", "end"))
    return DigestData(window=Window(start, end), **document)


@pytest.mark.parametrize(
    ("fmt", "golden"),
    [
        pytest.param("text", "scenario.txt", id="text"),
        pytest.param("markdown", "scenario.md", id="markdown"),
    ],
)
def test_rendered_digest_matches_golden(fmt: str, golden: str) -> None:
    """The scenario renders exactly as reviewed (statuses, counts, truncated traces, escaping)."""
    report = build_report(_recorded(), title="billing weekly", generated_at=GENERATED_AT)
    rendered = render(report, fmt)
    path = DATA / golden
    if os.environ.get("LOGLOOP_UPDATE_GOLDEN") == "1":
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


def test_model_is_pure_and_repeatable() -> None:
    """Building the report twice from the same results gives equal reports (no clock, no I/O inside)."""
    first = build_report(_recorded(), title="t", generated_at=GENERATED_AT)
    second = build_report(_recorded(), title="t", generated_at=GENERATED_AT)
    assert first == second
