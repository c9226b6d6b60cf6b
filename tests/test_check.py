"""`logloop check` as a Nagios plugin on the real node, and webhook alerts to a real loopback HTTP server."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events
from helpers.proxy import Proxy

from analyzers import alerts, analyze, check, cli, registry, ticket
from analyzers.config import AlertsConfig, AnalyzeConfig, CheckConfig
from analyzers.exceptions import AlertError, DeliveryError
from analyzers.store import Store
from logloop.config import Settings
from shipper.connection import ElasticsearchSettings

MINUTE = timedelta(minutes=1)
CONFIG = CheckConfig(
    warning_rate=1.0,
    critical_rate=4.0,
    warning_new=1,
    critical_new=3,
    warning_regressed=1,
    critical_regressed=3,
)


def errors(key: str, count: int, *, minutes_ago: int = 5) -> list[dict[str, Any]]:
    return [event(key, NOW - minutes_ago * MINUTE - i * timedelta(seconds=1)) for i in range(count)]


@pytest.mark.es
@pytest.mark.parametrize(
    ("docs", "state", "new_groups"),
    [
        pytest.param([event(None, NOW - 60 * 24 * MINUTE, level="info")], check.OK, 0, id="quiet"),
        pytest.param([], check.UNKNOWN, 0, id="no-event-index-at-all"),
        pytest.param(
            errors("old", 10, minutes_ago=60 * 24) + errors("old", 5), check.OK, 0, id="known-group-low-rate"
        ),
        pytest.param(
            errors("old", 10, minutes_ago=60 * 24) + errors("old", 20), check.WARNING, 0, id="rate-warning"
        ),
        pytest.param(
            errors("old", 10, minutes_ago=60 * 24) + errors("old", 61), check.CRITICAL, 0, id="rate-critical"
        ),
        pytest.param(errors("fresh", 2), check.WARNING, 1, id="one-new-group"),
        pytest.param(
            errors("a", 1) + errors("b", 1) + errors("c", 1), check.CRITICAL, 3, id="three-new-groups"
        ),
    ],
)
def test_check_states(es: Any, prefix: str, docs: list[dict[str, Any]], state: int, new_groups: int) -> None:
    """Error rate (errors per minute over 15m) and groups first seen in the window decide the exit state."""
    index_events(es, prefix, docs)
    result = check.run_check(Store(es, prefix), config=CONFIG, until=NOW)
    assert (result.state, len(result.new_groups)) == (state, new_groups)
    name = check.STATE_NAMES[state]
    assert result.line.startswith(f"LOGLOOP {name} - ")
    in_window = sum(
        1 for doc in docs if doc["@timestamp"] >= (NOW - 15 * MINUTE).isoformat().replace("+00:00", "Z")
    )
    assert f"| errors={in_window};15;60;0 " in result.line
    assert result.line.endswith(f"new_groups={new_groups};1;3;0 regressed_groups=0;1;3;0")
    assert "\n" not in result.line


def test_unreachable_node_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """With Elasticsearch unreachable the plugin prints one UNKNOWN line and exits 3."""
    parser = _parser()
    args = parser.parse_args(["check", "--window", "15m"])
    settings = Settings(elasticsearch=ElasticsearchSettings(url="http://127.0.0.1:9", request_timeout=2))
    assert cli.handle_check(args, settings) == check.UNKNOWN
    out = capsys.readouterr().out
    assert out.startswith("LOGLOOP UNKNOWN - cannot reach Elasticsearch") and out.count("\n") == 1


def test_bad_threshold_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    """Warning above critical is a configuration error, reported as UNKNOWN (3), not a traceback."""
    args = _parser().parse_args(["check", "--warning-rate", "9", "--critical-rate", "2"])
    assert cli.handle_check(args, Settings()) == check.UNKNOWN
    assert "warning thresholds must not exceed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(["--window", "1x"], "--window = '1x'", id="window"),
        pytest.param(["--warning-rate", "-1"], "--warning-rate = -1.0", id="warning-rate"),
    ],
)
def test_a_bad_flag_is_named_as_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    """A bad `--window` or threshold flag is named as typed in the UNKNOWN line (before: as `[check]
    window`, a setting the user never wrote)."""
    assert cli.handle_check(_parser().parse_args(["check", *argv]), Settings()) == check.UNKNOWN
    out = capsys.readouterr().out
    assert named in out and "[check]" not in out, out


def _parser() -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.es
def test_webhook_alert_once_per_new_or_escalating_group(
    es: Any, prefix: str, webhook: tuple[str, type[_Hook]]
) -> None:
    """New and escalating groups are POSTed as JSON to a real loopback server, once each across runs."""
    url, hook = webhook
    day = timedelta(days=1)
    docs = errors("fresh", 2)
    docs += [event("burst", NOW - (7 * n + 3) * day) for n in range(1, 5)]
    docs += [event("burst", NOW - day - i * MINUTE) for i in range(15)]
    index_events(es, prefix, docs)
    analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW)
    config = AlertsConfig(webhook_url=url)
    for _ in range(2):
        result = check.run_check(Store(es, prefix), config=CONFIG, until=NOW)
        found = alerts.candidates(result, registry.load_groups(Store(es, prefix)), config=config)
        alerts.send(Store(es, prefix), found, config=config, check_line=result.line, now=NOW)
    assert sorted((body["status"], body["group_id"]) for body in hook.received) == [
        ("escalating", "burst"),
        ("new", "fresh"),
    ]
    fresh = next(body for body in hook.received if body["group_id"] == "fresh")
    assert (
        fresh["count"] == 2 and fresh["source"] == "logloop" and fresh["check"].startswith("LOGLOOP WARNING")
    )


def _came_back(es: Any, prefix: str) -> Store:
    """A group seen two and three days ago, resolved a day ago, that occurs again 4 and 5 minutes ago."""
    day = 60 * 24
    store = _marked(
        es,
        prefix,
        [_on("bug", 3 * day), _on("bug", 2 * day)],
        analyzed_at=NOW - day * MINUTE,
        marks=[("bug", "resolved", NOW - day * MINUTE, None)],
    )
    index_events(es, prefix, [_on("bug", 5), _on("bug", 4)])
    return store


@pytest.mark.es
def test_a_regression_alerts_once_per_comeback(
    es: Any, prefix: str, webhook: tuple[str, type[_Hook]]
) -> None:
    """With the default [alerts] settings a resolved group that occurs again is POSTed as regressed, once:
    the check that saw it come back and the checks after `analyze` recorded it name the same episode."""
    url, hook = webhook
    store = _came_back(es, prefix)
    config = AlertsConfig(webhook_url=url)
    for step in range(3):
        if step == 1:
            analyze.run(store, config=AnalyzeConfig(), until=NOW)
        result = check.run_check(store, config=CONFIG, until=NOW)
        found = alerts.candidates(result, registry.load_groups(store), config=config)
        alerts.send(store, found, config=config, check_line=result.line, now=NOW)
    assert [(body["status"], body["group_id"]) for body in hook.received] == [("regressed", "bug")]
    assert hook.received[0]["status_changed_at"] == "2026-11-23T07:55:00.000Z"


@pytest.mark.es
def test_failed_webhook_is_retried_next_time(es: Any, prefix: str, webhook: tuple[str, type[_Hook]]) -> None:
    """A webhook answering 500 raises AlertError and the alert is sent again by the next check."""
    url, hook = webhook
    index_events(es, prefix, errors("fresh", 1))
    config = AlertsConfig(webhook_url=url)
    result = check.run_check(Store(es, prefix), config=CONFIG, until=NOW)
    found = alerts.candidates(result, [], config=config)
    hook.status = 500
    with pytest.raises(AlertError, match="answered HTTP 500"):
        alerts.send(Store(es, prefix), found, config=config, check_line=result.line, now=NOW)
    hook.status = 204
    sent = alerts.send(Store(es, prefix), found, config=config, check_line=result.line, now=NOW)
    assert [alert.group_id for alert in sent] == ["fresh"] and len(hook.received) == 2


def _pre_aggregated(key: str, count: int, at: Any) -> dict[str, Any]:
    """One stored document standing for `count` events (`_doc_count`, as a rollup or another shipper
    that pre-aggregates writes them)."""
    return {**event(key, at), "_doc_count": count}


@pytest.mark.es
@pytest.mark.parametrize(
    "docs",
    [
        pytest.param(errors("old", 3), id="plain"),
        pytest.param([_pre_aggregated("old", 1_000_000, NOW - 5 * MINUTE)], id="one-for-a-million"),
        pytest.param(
            [_pre_aggregated("old", 250_000, NOW - m * MINUTE) for m in (2, 3, 4, 5)] + errors("new", 2),
            id="mixed",
        ),
    ],
)
def test_check_counts_events_as_the_digest_and_analyze_do(
    es: Any, prefix: str, docs: list[dict[str, Any]]
) -> None:
    """`check` counts error events by aggregation, as analyze and the digest do: a document standing for
    a million events (`_doc_count`) counts a million (it counted 1, so a million errors a minute read
    0.07/min and OK), and the line's count equals analyze's window count of the same span."""
    index_events(es, prefix, docs)
    config = CheckConfig(window=timedelta(minutes=15), warning_rate=1.0, critical_rate=4.0)
    result = check.run_check(Store(es, prefix), config=config, until=NOW)
    expected = sum(int(doc.get("_doc_count", 1)) for doc in docs)
    assert result.errors == expected
    analyzed = analyze.run(Store(es, prefix), config=AnalyzeConfig(window=config.window), until=NOW)
    assert sum(group.count_window for group in analyzed.groups) == expected
    assert result.state == (check.CRITICAL if expected >= 60 else check.WARNING)


def _post_alert(url: str) -> None:
    alerts.post_json(url, {"status": "new"}, timeout=1)


def _post_ticket(url: str) -> None:
    ticket.post(url, {"title": "t"}, timeout=1)


@pytest.mark.parametrize(
    ("post", "error", "setting"),
    [
        pytest.param(_post_alert, AlertError, "[alerts] timeout", id="alert"),
        pytest.param(_post_ticket, DeliveryError, "[rootcause] timeout", id="ticket"),
    ],
)
def test_a_webhook_that_drips_its_answer_fails_at_the_timeout(
    webhook: tuple[str, type[_Hook]], post: Any, error: type[Exception], setting: str
) -> None:
    """A webhook whose answer comes a byte at a time (each byte sooner than the timeout) fails within
    a bounded time naming the timeout and its setting, where it held `check` for as long as it dripped."""
    url, _ = webhook
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    proxy = Proxy((host, int(port)), drip=0.2)
    proxy.start()
    started = time.monotonic()
    try:
        with pytest.raises(error, match=rf"did not answer within 1s \({re.escape(setting)}\)"):
            post(url.replace(port, str(proxy.port), 1))
    finally:
        proxy.stop()
    assert time.monotonic() - started < 5


def _marked(es: Any, prefix: str, docs: list[dict[str, Any]], *, analyzed_at: Any, marks: list[Any]) -> Store:
    """The events indexed, analyzed up to `analyzed_at`, then each (key, status, when, version) marked."""
    store = Store(es, prefix)
    index_events(es, prefix, docs)
    analyze.run(store, config=AnalyzeConfig(), until=analyzed_at)
    for key, status, at, version in marks:
        registry.mark(store, key, status=status, now=at, in_version=version)
    return store


def _on(key: str, minutes_ago: int, version: str = "1.0") -> dict[str, Any]:
    return event(key, NOW - minutes_ago * MINUTE, version=version)


@pytest.mark.es
@pytest.mark.parametrize(
    ("docs", "marks", "new", "regressed", "errors", "ignored"),
    [
        pytest.param(
            errors("fresh", 3, minutes_ago=10),
            [("fresh", "ignored", NOW - 9 * MINUTE, None)],
            [],
            [],
            0,
            3,
            id="new-group-ignored",
        ),
        pytest.param(
            errors("fresh", 2, minutes_ago=10) + errors("other", 1, minutes_ago=4),
            [("fresh", "ignored", NOW - 9 * MINUTE, None)],
            ["other"],
            [],
            1,
            2,
            id="ignored-beside-a-new-one",
        ),
        pytest.param(
            [_on("fresh", 10), _on("fresh", 9)],
            [("fresh", "resolved", NOW - 8 * MINUTE, None)],
            [],
            [],
            2,
            0,
            id="resolved-not-seen-since",
        ),
        pytest.param(
            [_on("fresh", 10), _on("fresh", 9), _on("fresh", 4), _on("fresh", 3)],
            [("fresh", "resolved", NOW - 8 * MINUTE, None)],
            [],
            [("fresh", 4)],
            4,
            0,
            id="resolved-comes-back",
        ),
        pytest.param(
            [_on("fresh", 10), _on("fresh", 4, "1.0"), _on("fresh", 3, "2.1")],
            [("fresh", "resolved", NOW - 8 * MINUTE, "2.0")],
            [],
            [("fresh", 3)],
            3,
            0,
            id="resolved-in-version-comes-back-on-it",
        ),
        pytest.param(
            [_on("fresh", 10), _on("fresh", 4, "1.0")],
            [("fresh", "resolved", NOW - 8 * MINUTE, "2.0")],
            [],
            [],
            2,
            0,
            id="resolved-in-version-old-version-only",
        ),
        pytest.param(
            [_on("old", 60 * 24 * 3), _on("old", 60 * 24 * 2), _on("old", 5)],
            [("old", "resolved", NOW - 60 * 24 * MINUTE, None)],
            [],
            [("old", 5)],
            1,
            0,
            id="resolved-long-ago-comes-back",
        ),
    ],
)
def test_check_respects_the_registry_marks(
    es: Any,
    prefix: str,
    docs: list[dict[str, Any]],
    marks: list[Any],
    new: list[str],
    regressed: list[tuple[str, int]],
    errors: int,
    ignored: int,
) -> None:
    """An ignored group is neither listed nor in the rate, a resolved group is never new, and one that
    occurs again after its resolve (on a version the resolve names) is listed as regressed."""
    analyzed_at = NOW - 8 * MINUTE - timedelta(seconds=30)
    store = _marked(es, prefix, docs, analyzed_at=analyzed_at, marks=marks)
    result = check.run_check(store, config=CONFIG, until=NOW)
    assert [group.group_id for group in result.new_groups] == new
    assert [(group.group_id, group.first_seen) for group in result.regressed_groups] == [
        (key, NOW - minutes * MINUTE) for key, minutes in regressed
    ]
    assert (result.errors, result.ignored_errors) == (errors, ignored)
    assert f"regressed_groups={len(regressed)};1;3;0" in result.line
    assert ("more in ignored groups" in result.line) == bool(ignored)
    assert result.state == check.state_of(errors, len(new), config=CONFIG, regressed_groups=len(regressed))


# Thresholds no single new group nor this rate reaches: only the regression can change the state.
_QUIET = CheckConfig(warning_rate=100.0, critical_rate=200.0, warning_new=5, critical_new=10)


@pytest.mark.es
def test_a_regression_warns_until_it_is_resolved_again(es: Any, prefix: str) -> None:
    """A resolved group that occurs again makes `check` WARNING (whatever the new-group thresholds) with
    the group named first in the status line, still after `analyze` has marked it regressed, and OK once
    it is resolved again."""
    store = _came_back(es, prefix)
    states = []
    for step in ("came back", "analyzed", "resolved again"):
        if step == "analyzed":
            analyze.run(store, config=AnalyzeConfig(), until=NOW)
            assert registry.groups_by_id(store, ["bug"])["bug"].status == "regressed"
        if step == "resolved again":
            registry.mark(store, "bug", status="resolved", now=NOW, in_version=None)
        result = check.run_check(store, config=_QUIET, until=NOW)
        states.append((check.STATE_NAMES[result.state], [g.group_id for g in result.regressed_groups]))
        if result.regressed_groups:
            assert result.line.startswith("LOGLOOP WARNING - 1 regressed group: ")
            assert result.regressed_groups[0].first_seen == NOW - 5 * MINUTE
    assert states == [("WARNING", ["bug"]), ("WARNING", ["bug"]), ("OK", [])]


@pytest.mark.es
def test_a_group_the_registry_knew_before_the_window_is_not_new(es: Any, prefix: str) -> None:
    """A group whose older events retention deleted is not new: the registry saw it before the window."""
    store = _marked(es, prefix, [_on("old", 60 * 24 * 3)], analyzed_at=NOW - 60 * 24 * MINUTE, marks=[])
    es.indices.delete(index=f"{prefix}-{(NOW - 3 * timedelta(days=1)).strftime('%Y.%m.%d')}")
    index_events(es, prefix, [_on("old", 5)])
    result = check.run_check(store, config=CONFIG, until=NOW)
    assert (result.new_groups, result.errors) == ((), 1)
