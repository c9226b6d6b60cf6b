"""Other shippers' documents in the digest and `logloop check` (real node): a `@timestamp` in any form
Elasticsearch's default date format takes (epoch milliseconds as a number or as digits, ISO 8601 with
nanoseconds or an offset) and keyword fields holding lists are read, never a traceback or a refused
query that loses the whole digest; times are shown in UTC."""

from __future__ import annotations

import html
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, TRACE

from analyzers import analyze, queries, registry, regroup
from analyzers.config import AnalyzeConfig
from analyzers.digest import build_digest
from analyzers.render import render
from analyzers.store import Store

pytestmark = pytest.mark.es

FIRST = NOW - timedelta(days=1, hours=2)  # the first occurrence, in UTC
_MS = int(FIRST.timestamp() * 1000)

TIMES = [
    pytest.param(_MS, id="epoch-milliseconds"),
    pytest.param(str(_MS), id="epoch-milliseconds-as-text"),
    pytest.param(
        f"{(FIRST + timedelta(hours=5, minutes=30)):%Y-%m-%dT%H:%M:%S}.000000001+05:30",
        id="nanoseconds-offset",
    ),
    pytest.param(f"{FIRST:%Y-%m-%dT%H:%M:%S}", id="no-zone"),
    pytest.param(f"{FIRST:%Y-%m-%dT%H:%M:%S}.000000009Z", id="nanoseconds-utc"),
]
LISTS = [
    pytest.param({}, id="scalars"),
    pytest.param(
        {"service": {"name": ["billing", "billing-eu"], "version": ["1.0", "1.1"]}}, id="service-lists"
    ),
    pytest.param({"host": {"name": ["web-1", "web-2"]}}, id="host-list"),
    pytest.param({"host": {"name": [None, "", "web-3"]}, "process": {"pid": [1, 2]}}, id="odd-lists"),
    pytest.param({"service": {"name": 42}, "host": {"name": 7}}, id="numbers"),
]


def _error(at: Any, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": at,
        "message": "bad item",
        "event": {"id": uuid.uuid4().hex, "dataset": "logloop.log"},
        "log": {"level": "error", "logger": "app"},
        "service": {"name": "billing", "version": "1.0"},
        "host": {"name": "web-1"},
        "process": {"pid": 41},
        "error": {"type": "builtins.ValueError", "message": "bad item", "stack_trace": TRACE},
    }
    doc.update(fields)
    return doc


def _index(es: Any, prefix: str, docs: list[dict[str, Any]]) -> None:
    operations: list[dict[str, Any]] = []
    for doc in docs:
        operations += [{"create": {"_index": f"{prefix}-{FIRST:%Y.%m.%d}", "_id": doc["event"]["id"]}}, doc]
    answer = es.bulk(operations=operations, refresh=True)
    assert not answer["errors"], answer["items"][:2]


@pytest.mark.parametrize("fields", LISTS)
@pytest.mark.parametrize("at", TIMES)
def test_foreign_times_and_lists_make_a_whole_digest(
    es: Any, prefix: str, at: Any, fields: dict[str, Any]
) -> None:
    """The digest (root cause included) of such events is built and rendered in every format, and
    says when the group started in UTC."""
    later = (FIRST + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    feedback = _error(later, **fields)
    feedback.update(
        event={"id": uuid.uuid4().hex, "dataset": "logloop.feedback"}, logloop={"feedback": {"kind": "bug"}}
    )
    feedback["log"] = {"level": "info"}
    del feedback["error"]
    _index(es, prefix, [_error(at, **fields), _error(later, **fields), feedback])
    store = Store(es, prefix)
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    digest = build_digest(store, timedelta(days=7), NOW, NOW, title="foreign")
    report = digest.report
    assert report.measure("errors").current == 2 and not report.partial
    (group,) = report.top_groups
    assert group.first_seen is not None and abs(group.first_seen - FIRST) < timedelta(seconds=1)
    text = digest.render("text")
    assert f"first seen {FIRST:%Y-%m-%d %H:%M} UTC" in text, text
    for fmt in ("html", "markdown"):
        digest.render(fmt)
    json.loads(render(report, "json"))


SOURCE_TIMES = [
    (1763800000000, datetime(2025, 11, 22, 8, 26, 40, tzinfo=UTC)),
    ("1763800000000", datetime(2025, 11, 22, 8, 26, 40, tzinfo=UTC)),
    (1763800000000.5, datetime(2025, 11, 22, 8, 26, 40, 500, tzinfo=UTC)),
    ("2026-11-22T05:00:00.123456789+05:30", datetime(2026, 11, 21, 23, 30, 0, 123456, tzinfo=UTC)),
    ("2026-11-22T05:00:00Z", datetime(2026, 11, 22, 5, tzinfo=UTC)),
    ("2026-11-22", datetime(2026, 11, 22, tzinfo=UTC)),
    ("2026-11-22T05:00:00", datetime(2026, 11, 22, 5, tzinfo=UTC)),
    ("not a time", None),
    (None, None),
    (True, None),
    (["2026-11-22"], None),
    ({"a": 1}, None),
    ("99999999999999999999999", None),
    (float("nan"), None),
]


@pytest.mark.parametrize(("value", "expected"), SOURCE_TIMES)
def test_a_source_time_is_read_as_elasticsearch_reads_it(value: Any, expected: datetime | None) -> None:
    """Every form of `@timestamp` the default date format takes is an aware UTC time; others are None."""
    found = queries.source_time(value)
    assert found == expected and (found is None or found.utcoffset() == timedelta(0))


def test_errors_no_group_holds_are_said_until_regrouped(es: Any, prefix: str) -> None:
    """Errors with a traceback but no grouping key (another shipper's, or past `logloop analyze`'s
    reach) are in no group: the digest says how many and names `logloop regroup`, which clears it."""
    at = FIRST.isoformat().replace("+00:00", "Z")
    keyed = _error(at)
    keyed["error"] = {**keyed["error"], "grouping_key": "ab" * 16}
    line = _error(at)
    del line["error"]["stack_trace"]  # an error line: its own list says it is not grouped yet
    line["error"] = {}
    _index(es, prefix, [_error(at), _error(at), _error(at), keyed, line])
    store = Store(es, prefix)
    text = build_digest(store, timedelta(days=7), NOW, NOW).render("text")
    assert "3 errors of this window have no grouping key" in text and "logloop regroup" in text, text
    regroup.run_regroup(store, since=None, until=NOW, progress=False)
    es.indices.refresh(index=f"{prefix}-*")
    report = build_digest(store, timedelta(days=7), NOW, NOW).report
    assert not any("no grouping key" in note for note in report.notes), report.notes


def test_a_stack_trace_sent_as_its_lines_is_shown_as_lines(es: Any, prefix: str) -> None:
    """A stack trace a shipper sent as a list of its lines is stored in the registry and shown by the
    digest (every format) and `group show` line by line, where the lines read as one, comma-joined."""
    lines = TRACE.rstrip("\n").split("\n")
    error = {"type": "builtins.ValueError", "message": "bad item", "stack_trace": lines}
    at = FIRST.isoformat()
    _index(es, prefix, [_error(at, error=error), _error(at, error=error)])
    store = Store(es, prefix)
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    (group,) = registry.load_groups(store)
    assert group.sample_stack_trace == "\n".join(lines)
    digest = build_digest(store, timedelta(days=7), NOW, NOW, title="foreign")
    assert digest.report.top_groups[0].sample_trace == "\n".join(lines)
    for fmt in ("text", "markdown", "html"):
        rendered = html.unescape(digest.render(fmt)) if fmt == "html" else digest.render(fmt)
        assert all(line.strip() in rendered for line in lines) and "):," not in rendered, fmt


def _leveled(at: str, number: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Another shipper's event with no `log.level` and no `error` object: its level is in `fields`."""
    return {
        "@timestamp": at,
        "message": f"disk {number} slow",
        "event": {"id": uuid.uuid4().hex},
        "service": {"name": "billing"},
        "host": {"name": "web-1"},
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "errors", "warnings"),
    [
        pytest.param({"severity_text": "ERROR"}, 2, 0, id="otel-error-text"),
        pytest.param({"severity_number": 17}, 2, 0, id="otel-error-number"),
        pytest.param({"severity_text": "FATAL", "severity_number": 21}, 2, 0, id="otel-fatal"),
        pytest.param({"severity_text": "WARN", "severity_number": 13}, 0, 2, id="otel-warning"),
        pytest.param({"severity_text": "INFO", "severity_number": 9}, 0, 0, id="otel-info"),
        pytest.param({"log": {"syslog": {"severity": {"code": 3, "name": "err"}}}}, 2, 0, id="syslog-error"),
        pytest.param({"log": {"syslog": {"severity": {"code": 4}}}}, 0, 2, id="syslog-warning"),
        pytest.param({"log": {"level": 60}}, 2, 0, id="pino-fatal-number"),
        pytest.param({"log": {"level": 40}}, 0, 0, id="ambiguous-40"),
    ],
)
def test_other_shippers_levels_are_errors_and_warnings_in_the_digest_and_check(
    es: Any, prefix: str, fields: dict[str, Any], errors: int, warnings: int
) -> None:
    """An event whose level only another shipper's field holds (OpenTelemetry's severity, syslog's code,
    a pino number) is an error, an error line and a warning as its `log.level` twin would be: in the
    digest's measures and lines and in `check`'s rate."""
    from analyzers import check
    from analyzers.config import CheckConfig

    at = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    _index(es, prefix, [_leveled(at, number, fields) for number in range(2)])
    report = build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW).report
    assert (report.measure("errors").current, report.measure("warnings").current) == (errors, warnings)
    assert report.error_line_events == errors
    result = check.run_check(Store(es, prefix), config=CheckConfig(), until=NOW)
    assert result.errors == errors


def test_other_shippers_errors_are_regrouped_by_what_they_say(es: Any, prefix: str) -> None:
    """OpenTelemetry errors (`body`, no `message`) get one group per statement, titled by their body,
    as `logloop cluster` reads them: not one "(empty message)" group for them all."""
    at = (NOW - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    bodies = ["payment 41 failed", "payment 42 failed", "disk /dev/sda1 full", "disk /dev/sdb2 full"]
    docs = [
        {"@timestamp": at, "event": {"id": uuid.uuid4().hex}, "severity_text": "ERROR", "body": body}
        for body in bodies
    ]
    _index(es, prefix, docs)
    store = Store(es, prefix)
    regroup.run_regroup(store, since=None, until=NOW, progress=False)
    es.indices.refresh(index=f"{prefix}-*")
    hits = es.search(index=f"{prefix}-20*", size=10, query={"match_all": {}})["hits"]["hits"]
    keys = {hit["_source"]["body"]: hit["_source"]["error"]["grouping_key"] for hit in hits}
    names = {hit["_source"]["error"]["grouping_name"] for hit in hits}
    assert keys["payment 41 failed"] == keys["payment 42 failed"] != keys["disk /dev/sda1 full"]
    assert keys["disk /dev/sda1 full"] == keys["disk /dev/sdb2 full"]
    assert all("empty message" not in name for name in names), names
