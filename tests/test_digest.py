"""The digest's queries and report model against the real node, with hand-built ECS documents."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import digest_docs as docs

from analyzers import digest_data, group_edits, registry
from analyzers.digest import build_digest
from analyzers.digest_model import Report, one_line, truncate_trace
from analyzers.digest_window import Window
from analyzers.registry import Group
from analyzers.render import render
from analyzers.store import Store
from kibana.setup import install_template
from logloop import cli
from shipper.grouping.fingerprint import fingerprint_event
from shipper.schema import DATASET_SHIPPER, FIELDS

NOW = docs.UNTIL + timedelta(hours=8)


@pytest.fixture
def seeded(es: Any, index_prefix: str) -> Iterator[str]:
    install_template(es, index_prefix)
    docs.index_docs(es, index_prefix, docs.scenario())
    yield index_prefix


def _report(es: Any, prefix: str, until: datetime = docs.UNTIL, window: timedelta = docs.WINDOW) -> Report:
    return build_digest(Store(es, prefix), window, until, NOW, title="billing weekly").report


@pytest.mark.es
def test_totals_compare_the_window_with_the_previous_one(es: Any, seeded: str) -> None:
    """Totals count this window's documents by kind against the previous window (shipper docs excluded)."""
    report = _report(es, seeded)
    totals = {m.name: (m.current, m.previous) for m in report.measures}
    assert totals == {
        "events": (54, 16),
        "errors": (21, 6),
        "warnings": (0, 0),  # the scenario logs none (tests/test_digest_warnings.py does)
        "tracebacks": (17, 5),
        "groups": (3, 3),  # the two traceback groups of each window and the "disk %s is full" line
        "hosts": (3, 1),
        "feedback": (3, 0),
    }
    assert [b.start for b in report.buckets] == [docs.START + timedelta(days=d) for d in range(7)]
    assert sum(b.errors for b in report.buckets) == 21


@pytest.mark.es
def test_without_registry_status_comes_from_first_seen(es: Any, seeded: str) -> None:
    """Without a registry a group first seen in the window is new, an older one ongoing; gone ones absent."""
    report = _report(es, seeded)
    assert not report.registry_used and report.notes
    by_key = {g.key: g for g in report.top_groups}
    disk = docs.DISK_LINE["error.grouping_key"]
    assert set(by_key) == {docs.KEY_NEW, docs.KEY_ONGOING, disk}
    assert by_key[docs.KEY_NEW].status == "new" and by_key[docs.KEY_ONGOING].status == "ongoing"
    assert (by_key[disk].status, by_key[disk].category) == ("ongoing", "error_line")
    assert report.status_counts == {"new": 1, "escalating": 0, "regressed": 0, "resolved": 0}
    assert [g.key for g in report.new_groups] == [docs.KEY_NEW]
    ongoing = by_key[docs.KEY_ONGOING]
    assert (ongoing.count, ongoing.previous_count) == (12, 3)
    assert ongoing.first_seen == docs.UNTIL - 2 * docs.WINDOW + timedelta(days=1)
    assert sum(ongoing.daily) == 12 and len(ongoing.daily) == 7
    assert set(ongoing.versions) == {"1.4.0", "1.5.0"} and set(ongoing.hosts) == {"web-1", "web-2", "web-3"}
    assert ongoing.sample_trace is not None and ongoing.sample_trace.endswith("builtins.KeyError: 'user'")


@pytest.mark.es
def test_sections_for_error_lines_operations_feedback_and_shipper(es: Any, seeded: str) -> None:
    """Error lines by template, operations' p50/p95 now and before, feedback by kind, shipper maxima."""
    report = _report(es, seeded)
    [line] = report.error_lines
    assert (line.template, line.count, line.previous_count) == ("disk <ID> is full", 4, 1)  # as a title
    [operation] = report.operations
    assert operation.action == "db.query" and operation.count == 10
    assert operation.p95_ms is not None and operation.previous_p95_ms is not None
    assert 80 <= operation.p95_ms <= 100 and 40 <= operation.previous_p95_ms <= 50
    assert operation.p95_change_pct is not None and operation.p95_change_pct > 50
    feedback = {f.kind: f for f in report.feedback}
    assert {k: f.count for k, f in feedback.items()} == {"bug": 2, "feature": 1, "usability": 0}
    assert [s.message for s in feedback["bug"].samples] == ["export broken 1", "export broken 0"]
    [process] = report.shipper
    assert (process.dropped, process.dead_lettered, process.spool_backlog) == (3, 1, 2)
    assert not report.is_empty


@pytest.mark.es
def test_a_closing_report_adds_its_losses_but_keeps_the_last_known_backlog(
    es: Any, index_prefix: str
) -> None:
    """A process's report at its exit (no backlog: its agent finishes after it) raises its dropped count
    and is its last report, while the backlog shown stays the one its last periodic report gave."""
    install_template(es, index_prefix)
    at = docs.START + timedelta(days=2)
    periodic = {"dropped": 1, "sent": 40, "spool_backlog": 6, "reports": 1}
    closing = {"queued": 50, "spooled": 50, "dropped": 3, "truncated": 0, "reports": 2}
    reports = [(at, periodic), (at + timedelta(minutes=1), closing)]
    docs.index_docs(
        es,
        index_prefix,
        [
            docs.event(
                when,
                **{"event.dataset": DATASET_SHIPPER, "process.pid": 300},
                **{f"logloop.shipper.{name}": value for name, value in counted.items()},
            )
            for when, counted in reports
        ],
    )
    [process] = _report(es, index_prefix).shipper
    assert (process.dropped, process.sent, process.spool_backlog) == (3, 40, 6)
    assert process.last_report == at + timedelta(minutes=1)


@pytest.mark.es
def test_many_processes_with_losses_are_listed_up_to_the_limit(es: Any, index_prefix: str) -> None:
    """Thirteen processes that lost records (a cron script's runs, each reporting at its exit) are
    counted in the summary, listed ten at most (those that lost the most first) and the rest said in
    one line, in the text and the HTML; what only their agents knew after the exit (sent, retried,
    the backlog) shows as not known, not as 0."""
    install_template(es, index_prefix)
    at = docs.START + timedelta(days=3)
    docs.index_docs(
        es,
        index_prefix,
        [
            docs.event(
                at + timedelta(minutes=pid),
                **{
                    "event.dataset": DATASET_SHIPPER,
                    "process.pid": 1000 + pid,
                    "logloop.shipper.dropped": pid,
                    "logloop.shipper.reports": 1,
                },
            )
            for pid in range(1, 14)
        ],
    )
    report = _report(es, index_prefix)
    assert (report.shipper_losses, len(report.troubled_shippers), report.troubled_shippers_left_out) == (
        91,
        10,
        3,
    )
    assert [p.dropped for p in report.troubled_shippers] == list(range(13, 3, -1))
    assert {(p.sent, p.retried, p.spool_backlog) for p in report.shipper} == {(None, None, None)}  # not known
    text = render(report, "text")
    assert text.count(", dropped ") == 10 and "... and 3 more with losses or a backlog" in text
    assert "sent –, retried –, dropped 13, dead-lettered 0, backlog –" in text
    assert "… and 3 more with losses or a backlog" in render(report, "html")


@pytest.mark.es
def test_registry_status_and_priority_win(es: Any, seeded: str) -> None:
    """When `analyze` has run, the registry's status and priority decide badges, counts and order."""
    changed = docs.UNTIL - timedelta(days=1)
    base: dict[str, Any] = {"category": "traceback", "first_seen": docs.START, "last_seen": changed}
    registry.ensure(Store(es, seeded))
    registry.save_groups(
        Store(es, seeded),
        [
            Group(
                group_id=docs.KEY_ONGOING,
                title="KeyError in handle()",
                status="escalating",
                priority=9.0,
                **base,
            ),
            Group(group_id=docs.KEY_NEW, title="bad input", status="new", priority=5.0, **base),
            Group(
                group_id=docs.KEY_GONE,
                title="OSError: gone",
                status="resolved",
                priority=0.0,
                status_changed_at=changed,
                **base,
            ),
        ],
    )
    report = _report(es, seeded)
    assert report.registry_used and not report.notes
    assert [(g.key, g.status) for g in report.top_groups] == [
        (docs.KEY_ONGOING, "escalating"),
        (docs.KEY_NEW, "new"),
        (docs.DISK_LINE["error.grouping_key"], "ongoing"),  # not in the registry: ranked by volume
    ]
    assert report.top_groups[0].title == "KeyError in handle()"
    assert report.status_counts == {"new": 1, "escalating": 1, "regressed": 0, "resolved": 1}


@pytest.mark.es
def test_empty_window_is_empty(es: Any, index_prefix: str) -> None:
    """A window without documents renders in every format; with no index at all it says so (and is
    then not empty: a digest blind to every event must reach its readers)."""
    digest = build_digest(Store(es, index_prefix), docs.WINDOW, docs.UNTIL, NOW)
    assert digest.report.top_groups == () and not digest.report.is_empty
    assert [line.split(":")[0] for line in digest.report.partial] == [f"no index matches {index_prefix}-20*"]
    assert all(m.current == 0 for m in digest.report.measures)
    for fmt in ("html", "text", "markdown", "json"):
        assert "No error groups" in digest.render(fmt) or fmt == "json"


@pytest.mark.es
def test_short_window_uses_hourly_buckets_aligned_on_the_hour(es: Any, seeded: str) -> None:
    """A 24h window ending off the hour has 25 clock-hour buckets (the first and last partial)."""
    until = docs.UNTIL - timedelta(days=2) + timedelta(minutes=30)
    report = _report(es, seeded, until=until, window=timedelta(hours=24))
    assert len(report.buckets) == 25
    assert report.buckets[0].start == until - timedelta(hours=24, minutes=30)
    assert all(b.start.minute == 0 for b in report.buckets)
    assert sum(b.errors for b in report.buckets) == report.measure("errors").current
    assert {g.key: g.count for g in report.top_groups} == {docs.KEY_NEW: 5, docs.KEY_ONGOING: 2}


@pytest.mark.es
def test_cli_writes_the_digest_file(
    es_url: str, seeded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`logloop digest --format json -o FILE` writes a parseable digest of the requested window."""
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", seeded)
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    output = tmp_path / "digest.json"
    argv = ["digest", "--window", "7d", "--until", "2026-11-23", "--format", "json", "-o", str(output)]
    assert cli.main(argv) == 0
    document = json.loads(output.read_text())
    assert document["window"]["end"] == "2026-11-23T00:00:00+00:00"
    assert document["top_groups"][0]["title"] == docs.NEW_TITLE
    assert document["is_empty"] is False


def test_cli_rejects_a_bad_window(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed --window is one line on stderr and exit status 1."""
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    assert cli.main(["digest", "--window", "seven days"]) == 1
    assert "is not a duration" in capsys.readouterr().err


@pytest.mark.parametrize("window", [pytest.param("0d", id="zero"), pytest.param("0.0h", id="zero-decimal")])
def test_cli_rejects_a_zero_window_as_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, window: str
) -> None:
    """A zero --window is refused as holding no time (before: "is not a duration", which it is)."""
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    assert cli.main(["digest", "--window", window]) == 1
    err = capsys.readouterr().err
    assert "is no time at all" in err and "not a duration" not in err


def test_queries_only_use_mapped_fields() -> None:
    """Every field the digest aggregates or filters on is in the index template (shipper/schema.py)."""
    window = Window.ending(docs.UNTIL, docs.WINDOW)
    bodies = [
        digest_data.overview_request(window),
        digest_data.first_seen_request(window, ["k"]),
        digest_data.details_request(window, ["k"]),
    ]
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "field" and isinstance(value, str):
                    used.add(value)
                elif key in ("term", "terms", "range") and isinstance(value, dict) and "field" not in value:
                    used.update(value)  # a query clause: its keys are field names
                elif key == "includes":
                    used.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(bodies)
    assert used and used <= set(FIELDS)


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        pytest.param(5, 5, id="short-kept-whole"),
        pytest.param(200, 1 + 1 + 9, id="long-head-and-tail"),
    ],
)
def test_truncate_trace_keeps_head_and_tail(lines: int, kept: int) -> None:
    """Long tracebacks keep where they started and the innermost frames plus the exception line."""
    trace = "Traceback (most recent call last):\n" + "\n".join(f"  frame {i}" for i in range(lines - 2))
    trace += "\nValueError: boom"
    result = truncate_trace(trace)
    assert result is not None
    assert len(result.splitlines()) == kept
    assert result.startswith("Traceback") and result.endswith("ValueError: boom")


def test_window_geometry() -> None:
    """The previous window has the same length and ends where the window starts."""
    window = Window.ending(datetime(2026, 11, 23, 8, tzinfo=UTC), timedelta(days=7))
    assert window.previous.end == window.start and window.previous.length == window.length
    days = [datetime(2026, 11, d, tzinfo=UTC) for d in range(16, 24)]
    assert window.bucket_starts() == days  # calendar days: the first and last are partial


@pytest.mark.parametrize(
    ("tz", "first", "count"),
    [
        pytest.param("UTC", datetime(2026, 11, 16, tzinfo=UTC), 8, id="utc"),
        pytest.param("Europe/Berlin", datetime(2026, 11, 15, 23, tzinfo=UTC), 8, id="berlin"),
        pytest.param("America/New_York", datetime(2026, 11, 16, 5, tzinfo=UTC), 8, id="new-york"),
    ],
)
def test_day_buckets_start_at_midnight_in_the_time_zone(tz: str, first: datetime, count: int) -> None:
    """Daily buckets begin at local midnight of the configured zone, not at the window's start time."""
    window = Window.ending(datetime(2026, 11, 23, 8, tzinfo=UTC), timedelta(days=7), tz)
    starts = window.bucket_starts()
    assert starts[0] == first and len(starts) == count
    assert all(s.astimezone(window.zone).hour == 0 for s in starts)


def test_day_buckets_follow_daylight_saving_changes() -> None:
    """Across a DST change a local day is 23 or 25 hours long and still starts at local midnight."""
    window = Window.ending(datetime(2026, 10, 28, tzinfo=UTC), timedelta(days=4), "Europe/Berlin")
    starts = window.bucket_starts()
    assert [s.astimezone(window.zone).hour for s in starts] == [0] * len(starts)
    assert timedelta(hours=25) in {b - a for a, b in itertools.pairwise(starts)}


def test_control_characters_from_logs_never_reach_a_terminal() -> None:
    """ANSI escapes and other control characters in titles and traces are replaced; trace newlines stay."""
    assert one_line("red \x1b[31mALERT\x1b[0m\x00") == "red \ufffd[31mALERT\ufffd[0m\ufffd"
    trace = truncate_trace("Traceback (most recent call last):\r\n  File \x1b]0;x\x07\nE: boom")
    assert trace == "Traceback (most recent call last):\n  File \ufffd]0;x\ufffd\nE: boom"


@pytest.mark.es
def test_ignored_groups_are_hidden_and_resolved_groups_stay_resolved(es: Any, seeded: str) -> None:
    """An ignored group is hidden; a resolved group with events in the window stays resolved (the registry
    decided: those events predate the fix or its version) and is listed with its version."""
    base: dict[str, Any] = {"category": "traceback", "first_seen": docs.START, "last_seen": docs.START}
    registry.ensure(Store(es, seeded))
    resolved_at = docs.START - timedelta(days=1)
    registry.save_groups(
        Store(es, seeded),
        [
            Group(group_id=docs.KEY_NEW, title="noise", status="ignored", priority=0.0, **base),
            Group(group_id=docs.KEY_ONGOING, title="KeyError", status="resolved", priority=0.0,
                  resolved_at=resolved_at, resolved_in_version="2.0", status_changed_at=resolved_at, **base),
        ],
    )  # fmt: skip
    report = _report(es, seeded)
    statuses = {g.key: g.status for g in report.top_groups}
    assert statuses[docs.KEY_ONGOING] == "resolved" and docs.KEY_NEW not in statuses
    assert report.new_groups == () and report.regressed_groups == ()
    assert report.status_counts == {"new": 0, "escalating": 0, "regressed": 0, "resolved": 1}
    (resolved,) = report.resolved_groups
    assert (resolved.key, resolved.resolved_in_version, resolved.resolved_at) == (
        docs.KEY_ONGOING,
        "2.0",
        resolved_at,
    )
    assert "resolved in version 2.0" in render(report, "text")
    assert json.loads(render(report, "json"))["resolved_groups"][0]["resolved_in_version"] == "2.0"


@pytest.mark.es
def test_regressed_groups_say_when_and_on_which_version_they_came_back(es: Any, seeded: str) -> None:
    """A regressed group is listed with the time and version it came back on, and a regressed group whose
    previous window was empty never reads "new"."""
    came_back = docs.START + timedelta(hours=5)
    base: dict[str, Any] = {"category": "traceback", "first_seen": docs.START - timedelta(days=30)}
    registry.ensure(Store(es, seeded))
    registry.save_groups(
        Store(es, seeded),
        [
            Group(group_id=docs.KEY_NEW, title="Timeout", status="regressed", priority=5.0,
                  last_seen=docs.UNTIL, regressed_at=came_back, regressed_in_version="1.4.2",
                  resolved_in_version="1.4", status_changed_at=came_back, **base),
        ],
    )  # fmt: skip
    report = _report(es, seeded)
    (regressed,) = report.regressed_groups
    assert (regressed.key, regressed.regressed_at, regressed.regressed_in_version) == (
        docs.KEY_NEW,
        came_back,
        "1.4.2",
    )
    assert regressed.count > 0 and regressed.previous_count == 0
    assert report.new_groups == () and report.status_counts["regressed"] == 1
    text = render(report, "text")
    assert "came back 2026" in text and "on version 1.4.2 (had been resolved in version 1.4)" in text
    row = text[text.index("[REGRESSED] Timeout") :].split("key:", 1)[0]
    assert "none in the previous window" in row and "new" not in row
    html = render(report, "html")
    assert "none before" in html and 'id="regressed-groups"' in html and "on version 1.4.2" in html
    document = json.loads(render(report, "json"))
    assert document["regressed_groups"][0]["regressed_in_version"] == "1.4.2"
    assert document["regressed_groups"][0]["regressed_at"].startswith(came_back.date().isoformat())


@pytest.mark.es
def test_error_lines_past_the_listed_rows_are_counted(es: Any, seeded: str) -> None:
    """With more error-line groups than the section lists, the rest is counted in groups and events, and
    lines no run has grouped yet form one named row."""
    extra = [
        docs.event(
            docs.START + timedelta(hours=group, minutes=n),
            **{
                "log.level": "error",
                "message": f"queue q{group} stalled",
                "error.grouping_key": f"line-{group:02d}",
                "error.grouping_name": f"queue q{group} stalled",
            },
        )
        for group in range(20)
        for n in range(group + 1)
    ]
    unkeyed = [
        docs.event(docs.START + timedelta(hours=30, minutes=n), **{"log.level": "error", "message": "raw"})
        for n in range(25)
    ]
    docs.index_docs(es, seeded, [*extra, *unkeyed])
    report = _report(es, seeded)
    listed = digest_data.MAX_TEMPLATES
    assert len(report.error_lines) == listed
    assert report.error_line_groups == 20 + 1 + 1  # the queue groups, "disk %s is full", the unkeyed row
    assert report.error_line_events == sum(range(1, 21)) + 4 + 25
    assert digest_data.UNGROUPED_TITLE in [line.template for line in report.error_lines]
    hidden_events = report.error_line_events - sum(line.count for line in report.error_lines)
    text = render(report, "text")
    assert (
        f"... and {22 - listed} more groups ({hidden_events} events; {report.error_line_events} error lines"
        in text
    )


@pytest.mark.parametrize(
    ("template", "args", "error_type"),
    [
        pytest.param("disk usage at %d%% on /var/lib/%s", (94, "echo"), "", id="literal-path-prefix"),
        pytest.param("queue %s backed up: %d jobs waiting", ("mail", 310), "", id="word-and-number"),
        pytest.param(
            "upstream %s answered %d after %.1f s", ("http://10.0.0.7:81/x", 503, 2.5), "", id="url"
        ),
        pytest.param("user %r locked out of %s", ("bob", "/srv/app/home"), "app.AuthError", id="typed"),
    ],
)
def test_an_error_lines_title_is_the_title_of_its_group(
    template: str, args: tuple[object, ...], error_type: str
) -> None:
    """An error line logged from a template is titled in the digest's error-line list exactly as the
    shipper titles its group (the registry, the top groups): placeholders for values, no specifier,
    and the logging call beside it."""
    origin = {"file": {"name": "jobs.py", "line": 7}, "function": "run"}
    doc: dict[str, Any] = {
        "message": template % args,
        "log": {"level": "error", "logger": "app.jobs", "origin": origin},
        "logloop": {"template": template},
    }
    if error_type:
        doc["error"] = {"type": error_type, "message": template % args}
    group = fingerprint_event(doc)
    assert group is not None
    title = digest_data.error_line_title(group.key, doc)
    assert title == group.name and title.endswith(" (app.jobs.run)")
    assert "%" not in title.replace("% ", "") and "<" in title


@pytest.mark.es
def test_every_listed_new_group_has_its_details(es: Any, index_prefix: str) -> None:
    """With more new groups than the list shows, each listed one (by first seen) has its sample, hosts,
    host count and daily counts, not only the highest-priority ones (which another order lists)."""
    install_template(es, index_prefix)
    # Fifteen new groups: the earliest seen have one event, the later ones many (a higher priority).
    groups = [
        docs.error(
            docs.START + timedelta(hours=2 * g, minutes=i), f"{g:040x}", f"ValueError: case {g}",
            "builtins.ValueError", f"case {g}", **{"host.name": f"web-{g}"},
        )
        for g in range(15)
        for i in range(1 + g)
    ]  # fmt: skip
    docs.index_docs(es, index_prefix, groups)
    report = _report(es, index_prefix)
    assert [g.title for g in report.new_groups[:10]] == [f"ValueError: case {g}" for g in range(10)]
    for row in report.new_groups[:10]:
        assert row.hosts and row.host_count == len(row.hosts) == 1, row
        assert row.sample_message and sum(row.daily) == row.count, row


@pytest.mark.es
def test_a_row_without_events_in_the_window_counts_the_hosts_it_lists(es: Any, seeded: str) -> None:
    """A group resolved in the window and silent in it lists the registry's hosts with that many as its
    host count (the JSON said `host_count: 0` beside them)."""
    resolved_at = docs.START + timedelta(days=1)
    registry.ensure(Store(es, seeded))
    registry.save_groups(
        Store(es, seeded),
        [
            Group(group_id=docs.KEY_GONE, title="OSError", status="resolved", category="traceback",
                  first_seen=docs.START - timedelta(days=9), last_seen=resolved_at, resolved_at=resolved_at,
                  status_changed_at=resolved_at, hosts=("web-8", "web-9")),
        ],
    )  # fmt: skip
    (resolved,) = _report(es, seeded).resolved_groups
    assert (resolved.key, resolved.count, resolved.hosts) == (docs.KEY_GONE, 0, ("web-8", "web-9"))
    assert resolved.host_count == 2


def _ignore(es: Any, prefix: str, keys: list[str]) -> None:
    base: dict[str, Any] = {"category": "traceback", "first_seen": docs.START, "last_seen": docs.START}
    registry.ensure(Store(es, prefix))
    registry.save_groups(
        Store(es, prefix),
        [Group(group_id=key, title=f"noise {key}", status="ignored", priority=0.0, **base) for key in keys],
    )


@pytest.mark.es
@pytest.mark.parametrize(
    ("key", "extra_ignored", "max_terms", "merged"),
    [
        pytest.param(docs.KEY_NEW, 0, None, False, id="one-ignored-group"),
        pytest.param(docs.DISK_LINE["error.grouping_key"], 0, None, False, id="an-ignored-error-line"),
        pytest.param(docs.KEY_NEW, 24, 10, False, id="more-ignored-keys-than-a-terms-query-takes"),
        pytest.param(docs.KEY_NEW, 0, None, True, id="merged-into-an-ignored-group"),
    ],
)
def test_every_total_is_the_listed_groups_plus_a_stated_ignored_figure(
    es: Any, seeded: str, key: str, extra_ignored: int, max_terms: int | None, merged: bool
) -> None:
    """With a group marked ignored, every figure (errors, groups, trend, both windows) leaves its events
    out, so the errors total is the sum of the groups listed, and the ignored events are stated apart,
    also when the registry holds more ignored keys than one `terms` query takes, and for the events of
    a key merged into the group (whose events keep it until the next analyze)."""
    unignored = _report(es, seeded)
    if max_terms is not None:
        es.indices.put_settings(index=f"{seeded}-*", settings={"index.max_terms_count": max_terms})
    ignored_key = key
    if merged:  # the group ignored is the one `key` was merged into
        ignored_key = "f" * 40
        edit = group_edits.new_merge(ignored_key, [key], who="ana", at=group_edits.now(), version=3)
        group_edits.save(Store(es, seeded), edit)
    _ignore(es, seeded, [ignored_key, *(f"{n:040x}" for n in range(extra_ignored))])
    report = _report(es, seeded)
    ignored_count = next(g.count for g in unignored.top_groups if g.key == key)
    errors = report.measure("errors")
    assert key not in {g.key for g in report.top_groups}
    assert sum(line.count for line in report.error_lines) == report.error_line_events
    assert errors.current == sum(g.count for g in report.top_groups) == sum(b.errors for b in report.buckets)
    assert (report.ignored_events, report.ignored_groups) == (ignored_count, 1)
    assert errors.current + report.ignored_events == unignored.measure("errors").current
    assert report.measure("groups").current == report.active_groups == unignored.active_groups - 1
    previous_ignored = report.ignored_previous_events
    assert errors.previous + previous_ignored == unignored.measure("errors").previous
    sentence = f"Not counted: {ignored_count} events of 1 group marked ignored"
    assert sentence in render(report, "text") and sentence in render(report, "markdown")
    assert json.loads(render(report, "json"))["ignored_events"] == ignored_count


@pytest.mark.es
def test_records_that_may_or_may_not_have_arrived_are_shown_beside_the_dropped(
    es: Any, index_prefix: str
) -> None:
    """A process whose shipper counted records unconfirmed (deleted while a killed agent's request for
    them had no answer) shows them beside its dropped ones, as a ceiling on loss, in the text, the HTML,
    the Markdown and the JSON; a process without any says nothing of them. The digest never read the
    counter: 2 dropped and nothing else, for up to 7 lost."""
    install_template(es, index_prefix)
    at = docs.START + timedelta(days=2)
    counted = [(400, {"dropped": 2, "unconfirmed": 5}), (401, {"dropped": 1})]
    docs.index_docs(
        es,
        index_prefix,
        [
            docs.event(
                at,
                **{"event.dataset": DATASET_SHIPPER, "process.pid": pid, "logloop.shipper.reports": 1},
                **{f"logloop.shipper.{name}": value for name, value in counts.items()},
            )
            for pid, counts in counted
        ],
    )
    report = _report(es, index_prefix)
    said = "5 unconfirmed (may or may not have arrived: at most 5 more lost)"
    for fmt in ("text", "html", "markdown"):
        assert said in render(report, fmt).replace("</span>", ""), fmt
    text = render(report, "text")
    assert "dropped 2, unconfirmed 5, dead-lettered 0" in text
    assert "dropped 1, dead-lettered 0" in text
    assert "+5 unconfirmed" in render(report, "html")
    assert json.loads(render(report, "json"))["shipper_unconfirmed"] == 5
    assert {p.pid: p.unconfirmed for p in report.shipper} == {400: 5, 401: 0}
