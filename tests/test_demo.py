"""`logloop demo` end to end on the real node."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from logloop import demo
from logloop.config import Settings
from shipper.connection import ElasticsearchSettings


def test_plan_covers_every_status() -> None:
    """The fortnight's script has a group that stops with the new version, one that comes back
    after a quiet week, one that grows, and ones that start in week two."""
    week1 = [dict(demo.plan_day(d).failing) for d in range(7)]
    week2 = [dict(demo.plan_day(d).failing) for d in range(7, 14)]
    assert all("reportd" in day for day in week1) and not any("reportd" in day for day in week2)
    assert sum(day.get("worker", 0) for day in week2) >= 2 * sum(day.get("worker", 0) for day in week1)
    assert "cron-hook" not in week2[0] and "cron-hook" in week2[-1]
    assert "indexer" in week2[-1] and not any("indexer" in day for day in week1)


@pytest.mark.slow
def test_demo_writes_a_digest_with_real_statuses(
    es: Any, es_settings: ElasticsearchSettings, index_prefix: str, tmp_path: Path
) -> None:
    """The demo ships real service-manager failures over 14 simulated days and its digest shows new,
    escalating, regressed and resolved groups, in html and text."""
    settings = Settings(
        elasticsearch=es_settings, index_prefix=index_prefix
    )  # the demo writes <prefix>-demo-*
    args = argparse.Namespace(out=tmp_path, port=None)
    assert demo.run(args, settings) == 0
    text = (tmp_path / "digest.txt").read_text()
    html = (tmp_path / "digest.html").read_text()
    groups_line = next((line for line in text.splitlines() if line.startswith("Groups:")), text[:2000])
    assert groups_line == "Groups: 2 new, 1 escalating, 1 regressed, 1 resolved"
    assert "[REGRESSED] ServiceStartError: cron-hook" in text
    assert "<html" in html.lower() and "HealthCheckError" in html


def test_digest_cli_formats_match_the_renderer() -> None:
    """The digest command offers exactly the formats the renderer can produce."""
    from analyzers import digest_cli, render

    assert digest_cli.FORMATS == render.FORMATS
