"""Fields the events did not carry (another shipper's documents: no `process.pid`, no message, no
level or logger) read as missing in every output, never as Python's `None` or pandas' `nan`."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzers import analyze, digest, mailer, ticket
from analyzers.config import AnalyzeConfig
from analyzers.digest_options import DEFAULT_OPTIONS
from analyzers.group_report import GroupReport
from analyzers.group_report import build as build_group_report
from analyzers.render import MISSING, environment
from analyzers.store import Store
from kibana.setup import install_template
from shipper.schema import index_for

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
_LEAKED = re.compile(r"\b(None|nan|NaN)\b|pid -1\b")


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _documents() -> list[dict[str, Any]]:
    """Six errors of one group, each after a line of the same host without message, level, logger
    or pid (the breadcrumbs), half of the errors without a message, and a shipper report without pid."""
    docs: list[dict[str, Any]] = []
    for i in range(6):
        at = NOW - timedelta(hours=2, minutes=i)
        base = {"event": {"id": uuid.uuid4().hex, "dataset": "logloop.log"}, "host": {"name": "h1"}}
        docs.append({**base, "@timestamp": _at(at - timedelta(seconds=5)), "service": {"name": "svc"}})
        error: dict[str, Any] = {
            "@timestamp": _at(at),
            "event": {"id": uuid.uuid4().hex, "dataset": "logloop.log"},
            "log": {"level": "error"},
            "host": {"name": "h1"},
            "service": {"name": "svc"},
            "error": {"grouping_key": "kk", "type": "E"},
            "logloop": {"grouping_version": 3},
        }
        if i % 2:
            error["message"] = "x"
        docs.append(error)
    return docs


def _digest_format(fmt: str) -> Callable[[digest.Digest, GroupReport], str]:
    return lambda built, _report: built.render(fmt)


OUTPUTS = [
    pytest.param(_digest_format("html"), id="digest-html"),
    pytest.param(_digest_format("text"), id="digest-text"),
    pytest.param(_digest_format("markdown"), id="digest-markdown"),
    pytest.param(lambda built, _report: mailer.subject(built.report), id="subject"),
    pytest.param(
        lambda _built, report: environment().get_template("group_show.txt.j2").render(r=report),
        id="group-show",
    ),
    pytest.param(lambda _built, report: ticket.markdown(report), id="ticket"),
]


@pytest.mark.es
@pytest.mark.parametrize("output", OUTPUTS)
def test_missing_fields_never_read_none(
    es: Any, index_prefix: str, output: Callable[[digest.Digest, GroupReport], str]
) -> None:
    """Breadcrumbs of a process whose documents carry no pid name the host alone (they read "pid
    None"), and no other missing field shows as None or nan, in each output."""
    install_template(es, index_prefix)
    operations: list[dict[str, Any]] = []
    for doc in _documents():
        operations += [{"create": {"_index": index_for(NOW, index_prefix), "_id": doc["event"]["id"]}}, doc]
    assert not es.bulk(operations=operations, refresh=True)["errors"]
    store = Store(es, index_prefix)
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    options = dataclasses.replace(DEFAULT_OPTIONS, kibana_url="http://kibana.test:5601", root_causes=True)
    built = digest.build_digest(store, timedelta(days=1), NOW, NOW, options=options)
    report = build_group_report(store, "kk", window=timedelta(days=1), until=NOW, now=NOW, options=options)
    assert report.cause.breadcrumbs and report.cause.breadcrumbs[0].pid is None
    text = output(built, report)
    assert not [text[max(0, m.start() - 40) : m.end()] for m in _LEAKED.finditer(text)]


@pytest.mark.parametrize("value", [None, float("nan")], ids=["None", "nan"])
@pytest.mark.parametrize(
    "expression",
    [
        "{{ v }}",
        "{{ v | line }}",
        "{{ v | md }}",
        "{{ v | code }}",
        "{{ v | num }}",
        "{{ v | ms }}",
        "{{ v | ts }}",
    ],
)
@pytest.mark.parametrize("autoescape", [True, False], ids=["html", "text"])
def test_every_filter_writes_a_missing_value_as_missing(
    value: Any, expression: str, autoescape: bool
) -> None:
    """A missing value through any of the templates' filters, or none, is MISSING in HTML and text."""
    template = environment().from_string(expression)
    if not autoescape:
        template = environment().overlay(autoescape=False).from_string(expression)
    assert template.render(v=value).strip("`") == MISSING
