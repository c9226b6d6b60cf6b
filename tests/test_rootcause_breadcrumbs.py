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


def test_the_lines_before_an_occurrence_are_not_those_of_an_earlier_process_with_its_pid(
    es: Any, prefix: str
) -> None:
    """Where events carry `process.entity_id`, the lines before an occurrence are its own process's, not
    those of the run before it that had the same pid (the next cron run given a reused pid, a
    container's pid 1): before, both runs' lines were shown as what came before the error."""
    error = event(KEY, AT, service="cron", message="export failed")
    error["process"] = {"pid": 1, "entity_id": "b" * 32}
    earlier = _line("cron", 60, "cron: run 1 exported 40 rows", 1)
    earlier["process"]["entity_id"] = "a" * 32
    own = _line("cron", 20, "cron: run 2 reading rows", 1)
    own["process"]["entity_id"] = "b" * 32
    index_events(es, prefix, [earlier, own, error])
    data = fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig())
    (latest, *_) = all_breadcrumbs(data, 10)[KEY]
    assert [line.message for line in latest.lines] == ["cron: run 2 reading rows"]


def test_lines_logged_within_one_millisecond_are_shown_in_the_order_they_were_logged(
    es: Any, prefix: str
) -> None:
    """Lines the node stores with one `@timestamp` (it keeps milliseconds; a loop logs several in one)
    are shown in the order their process wrote them, as their time-ordered event ids tell (they came
    back in any order: a worker's last items before its failure read 31, 30, 28, 29, 27)."""
    error = event(KEY, AT, service="worker", message="item failed")
    error["process"] = {"pid": 77}
    lines = []
    for item in range(8):  # ids as the shipper makes them: the time, then the frame's place in its segment
        line = _line("worker", 1, f"worker: item {item}", 77)
        line["event"]["id"] = f"{0x18C0000000:012x}7{item * 7:03x}{0x8000000000000000 | (item * 977):016x}"
        lines.append(line)
    index_events(es, prefix, [*(lines[i] for i in (5, 2, 7, 0, 3, 6, 1, 4)), error])  # stored out of order
    data = fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig())
    (latest, *_) = all_breadcrumbs(data, 5)[KEY]
    assert [line.message for line in latest.lines] == [f"worker: item {item}" for item in range(3, 8)]
