"""The lines shown before an occurrence on the real node: those of its process (host + pid) and,
for an event without a pid (another shipper's), those of its own service on that host, never the
lines of every other program the host runs (a service manager's host runs many scripts: their lines
were shown as what came before the error)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers.digest_window import Window
from analyzers.rootcause import all_breadcrumbs
from analyzers.rootcause_config import RootCauseConfig
from analyzers.rootcause_queries import fetch
from analyzers.store import Store

pytestmark = pytest.mark.es

KEY = "fedcba9876543210" * 2
AT = NOW - timedelta(hours=2)
WINDOW = Window.ending(NOW, timedelta(days=7))


def _line(service: str, seconds: int, message: str, pid: int | None) -> dict[str, Any]:
    doc = event(None, AT - timedelta(seconds=seconds), level="info", service=service, message=message)
    if pid is not None:
        doc["process"] = {"pid": pid}
    return doc


@pytest.mark.parametrize("with_pid", [pytest.param(True, id="pid"), pytest.param(False, id="no-pid")])
def test_the_lines_before_an_occurrence_are_its_own_programs(es: Any, prefix: str, with_pid: bool) -> None:
    """The lines before the latest occurrence are its service's (its process's, with a pid), not those
    another service logged on the same host in between."""
    error = event(KEY, AT, service="billing", message="invoice total mismatch")
    if with_pid:
        error["process"] = {"pid": 4242}
    docs = [
        _line("billing", 50, "billing: loaded 12 invoices", 4242 if with_pid else None),
        _line("billing", 30, "billing: summing invoice 7", 4242 if with_pid else None),
        _line("backup", 20, "backup: copied 300 files", 999 if with_pid else None),
        _line("mailer", 10, "mailer: queue empty", 998 if with_pid else None),
        error,
    ]
    index_events(es, prefix, docs)
    data = fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig())
    (latest, *_) = all_breadcrumbs(data, 10)[KEY]
    shown = [line.message for line in latest.lines]
    assert shown == ["billing: loaded 12 invoices", "billing: summing invoice 7"]
    assert (latest.pid, latest.service) == ((4242, "billing") if with_pid else (None, "billing"))
