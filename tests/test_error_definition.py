"""One definition of "an error event": the schema's rule, rendered as query DSL, as a Lucene query
string and as a Python predicate, and every tool that counts errors, agree on the same data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kibana import objects
from logloop import cli
from shipper import schema
from shipper.grouping.fingerprint import GROUPING_VERSION

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/jobs.py", line 12, in run\n'
    "    step()\n"
    "ZeroDivisionError: division by zero"
)

# Error events: levels in every spelling (case, blanks, syslog/JUL/Go names, a list of levels) and
# events whose only sign is error.type, a stack trace or a grouping key (nested or dotted keys).
ERRORS: list[dict[str, Any]] = [
    *({"log": {"level": level}} for level in ("error", "ERROR", "Error", " eRRoR\t", "err", "ERR")),
    *({"log": {"level": level}} for level in ("critical", "CRITICAL", "Crit", "fatal", "FATAL", "alert")),
    *({"log": {"level": level}} for level in ("Emergency", "EMERG", "severe", "SEVERE", "panic")),
    {"log": {"level": ["info", "Fatal"]}},
    {"log.level": "Error"},
    {"log": {"level": "info"}, "error": {"type": "ValueError"}},
    {"error.type": "KeyError"},
    {"error": {"stack_trace": TRACE}},
    {"log": {"level": "info"}, "error": {"grouping_key": "0123456789abcdef"}},
    # Other shippers' levels: OpenTelemetry's (its text, or its number: 17-20 ERROR, 21-24 FATAL),
    # syslog's code and name where ECS puts them, and the numbers that mean an error in every logging
    # system that writes them (pino/Bunyan 50 and 60, Python's 50).
    {"severity_text": "ERROR", "body": "payment failed"},
    {"severity_text": " Fatal "},
    {"severity_number": 17},
    {"severity_number": "21"},
    {"severity_number": 24, "severity_text": "FATAL4"},
    {"log": {"level": 50}},
    {"log": {"level": "60"}},
    {"log.level": [30, 60]},
    {"log": {"syslog": {"severity": {"code": 3, "name": "error"}}}},
    {"log": {"syslog": {"severity": {"code": 0}}}},
    {"log.syslog.severity.code": "2"},
    {"log": {"syslog": {"severity": {"name": "Crit"}}}},
    # An empty key is no key, even on an event of the current grouping version: regroup gives it one.
    {
        "log": {"level": "ERROR"},
        "error": {"grouping_key": ""},
        "logloop": {"grouping_version": GROUPING_VERSION},
    },
]
# Not errors: near-miss levels, other levels, no level, an empty error object.
NOT_ERRORS: list[dict[str, Any]] = [
    *({"log": {"level": level}} for level in ("warning", "WARN", "info", "INFO", "debug", "errors")),
    *({"log": {"level": level}} for level in ("terror", "error:", "", "err or")),
    {"message": "no level at all"},
    {"log": {"level": "info"}, "error": {"type": None}},
    {"log": {"level": "info"}, "error": {"type": "", "grouping_key": ""}},
    {"log": {"level": "debug"}, "error": {"type": [None]}},
    # Warnings and below in the other shippers' fields; numbers that are an error in one logging
    # system only (40: Python's ERROR, pino's warn; 3: syslog's error, .NET's Warning in `log.level`);
    # what a `long` field refuses (ignored as malformed) or truncates below 17.
    {"severity_text": "WARN", "severity_number": 13},
    {"severity_text": "INFO", "severity_number": 9},
    {"severity_number": 16.9},
    {"severity_number": "ERROR"},
    {"severity_number": True},
    {"log": {"level": 40}},
    {"log": {"level": "3"}},
    {"log": {"level": 500}},
    {"log": {"syslog": {"severity": {"code": 4, "name": "warning"}}}},
]


def _documents(now: datetime) -> list[dict[str, Any]]:
    docs = []
    for number, extra in enumerate([*ERRORS, *NOT_ERRORS]):
        doc = {
            "@timestamp": (now - timedelta(minutes=10, seconds=number)).isoformat(),
            "event": {"dataset": schema.DATASET_LOG, "id": f"e{number}"},
            "message": f"event number {number} failed at step {number % 3}",
            "service": {"name": "billing", "version": "1.0"},
            "host": {"name": "web-1"},
            **extra,
        }
        docs.append(doc)
    return docs


def test_python_predicate_matches_the_hand_made_lists() -> None:
    """`is_error_document` says yes to every listed error and no to every near miss."""
    assert [doc for doc in ERRORS if not schema.is_error_document(doc)] == []
    assert [doc for doc in NOT_ERRORS if schema.is_error_document(doc)] == []


def test_kibana_errors_search_uses_the_schema_rule() -> None:
    """The Kibana "errors" saved search carries the schema's Lucene rendering, not a copy of it."""
    search = next(s for s in objects.SAVED_SEARCHES if s.name == "errors")
    source = json.loads(
        objects.search_object("p", search)["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
    )
    assert source["query"] == {"query": schema.is_error_lucene(), "language": "lucene"}


@pytest.fixture
def seeded_errors(es: Any, index_prefix: str) -> tuple[str, datetime]:
    """ERRORS and NOT_ERRORS indexed ten minutes ago under a fresh prefix."""
    now = datetime.now(UTC)
    template = schema.index_template(index_prefix)
    es.indices.put_index_template(name=schema.template_name(index_prefix), **template)
    operations: list[dict[str, Any]] = []
    for doc in _documents(now):
        stamp = datetime.fromisoformat(doc["@timestamp"])
        operations += [{"index": {"_index": schema.index_for(stamp, index_prefix)}}, doc]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], response
    return index_prefix, now


def _count(es: Any, prefix: str, query: dict[str, Any]) -> int:
    return int(es.count(index=schema.index_pattern(prefix), query=query)["count"])


def test_every_tool_counts_the_same_errors(
    es: Any,
    es_url: str,
    seeded_errors: tuple[str, datetime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Query DSL, the Kibana saved search, regroup+analyze, digest --format json and check agree."""
    prefix, now = seeded_errors
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", prefix)
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    expected = len(ERRORS)

    assert _count(es, prefix, schema.is_error_query()) == expected
    search = next(s for s in objects.SAVED_SEARCHES if s.name == "errors")
    assert _count(es, prefix, {"query_string": {"query": search.query}}) == expected

    # Analyze counts grouped errors: regroup gives the events from "other shippers" their keys first.
    until = (now + timedelta(minutes=1)).isoformat()
    assert cli.main(["regroup", "--since", (now - timedelta(hours=1)).isoformat()]) == 0
    assert cli.main(["analyze", "--window", "1h", "--until", until]) == 0
    es.indices.refresh(index=f"{prefix}-groups")
    groups = es.search(index=f"{prefix}-groups", size=100, query={"match_all": {}})["hits"]["hits"]
    assert sum(hit["_source"]["count_window"] for hit in groups) == expected

    output = tmp_path / "digest.json"
    argv = ["digest", "--window", "1h", "--until", until, "--format", "json", "-o", str(output)]
    assert cli.main(argv) == 0
    measures = {m["name"]: m["current"] for m in json.loads(output.read_text())["measures"]}
    assert measures["errors"] == expected

    capsys.readouterr()
    cli.main(["check", "--window", "1h", "--no-alerts", "--warning-rate", "1000", "--critical-rate", "2000"])
    line = capsys.readouterr().out
    assert f" - {expected} errors in 1h" in line, line
