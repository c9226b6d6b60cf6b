"""Root-cause material end to end: real processes ship a week with planted causes (see
tests/rootcause_scenario.py) through the real handler into the real node; the digest (JSON, HTML in
headless chromium, text, Markdown, email through a real SMTP server) reports each planted fact and
flags no false suspect."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import helpers.rootcause_scenario as scenario
import pytest
from helpers.ports import free_port
from helpers.prefixes import delete_prefix
from helpers.smtp_inbox import plain_smtp

from analyzers import mailer
from analyzers.digest import Digest, build_digest
from analyzers.digest_model import GroupRow
from analyzers.digest_options import DigestOptions
from analyzers.rootcause import RootCause
from analyzers.rootcause_config import RootCauseConfig
from analyzers.store import Store
from kibana.setup import install_template
from logloop import cli

pytestmark = pytest.mark.es
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
NOW = scenario.UNTIL
OPTIONS = DigestOptions(
    timezone="Europe/Berlin",
    rootcause=RootCauseConfig(env_vars=("REGION",)),
    kibana_url="http://kibana.test:5601",
    data_view="events-view",
)
# What each planted group may be suspected of: its planted cause (first) and nothing else.
ALLOWED = {
    "builtins.ValueError": set(),
    "builtins.KeyError": {("host", "web-2")},
    "builtins.TypeError": {("python", "3.10.4 (CPython)")},
    "builtins.AttributeError": {("version", "2.0.0")},
    "builtins.ConnectionError": set(),
    "builtins.LookupError": set(),
}


@pytest.fixture(scope="module")
def shipped(es: Any, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    try:
        scenario.ship(es_url, prefix, tmp_path_factory.mktemp("rootcause"))
        es.indices.refresh(index=f"{prefix}-*")
        yield prefix
    finally:
        delete_prefix(es, prefix)


@pytest.fixture(scope="module")
def digest(es: Any, shipped: str) -> Digest:
    return build_digest(
        Store(es, shipped), scenario.WINDOW, scenario.UNTIL, NOW, title="shop weekly", options=OPTIONS
    )


def _group(digest: Digest, error_type: str) -> tuple[GroupRow, RootCause]:
    [row] = [g for g in digest.report.top_groups if g.error_type == error_type]
    return row, digest.report.insights.root_causes[row.key]


def test_every_planted_group_is_shown_with_material(digest: Digest) -> None:
    """All six planted groups are top groups and each has root-cause material."""
    assert {g.error_type for g in digest.report.top_groups} == set(ALLOWED)
    assert set(digest.report.insights.root_causes) >= {g.key for g in digest.report.top_groups}


@pytest.mark.parametrize("error_type", sorted(ALLOWED))
def test_planted_suspects_are_flagged_and_nothing_else(digest: Digest, error_type: str) -> None:
    """Each group's suspects are exactly its planted cause: chance and confounders flag nothing."""
    _, cause = _group(digest, error_type)
    assert {(s.dimension, s.value) for s in cause.suspects} == ALLOWED[error_type]


def test_the_suspect_sentence_compares_with_the_population(digest: Digest) -> None:
    """The Python suspect says 100% of the group against the 3.10 hosts' share of the service (~40%)."""
    _, cause = _group(digest, "builtins.TypeError")
    [suspect] = cause.suspects
    assert suspect.share == 1.0 and 0.35 < suspect.population_share < 0.45
    assert suspect.sentence().startswith("100% on python 3.10.4 (CPython) (16 events), which carries 4")
    assert {v.dimension for v in cause.values} >= {"version", "host", "python", "os", "service", "env REGION"}


def test_the_release_that_started_a_bug(digest: Digest) -> None:
    """The release bug started with 2.0.0, after 1.9.0 ran without it; the older noise did not."""
    _, release = _group(digest, "builtins.AttributeError")
    assert (release.onset.first_version, release.onset.last_version_without) == ("2.0.0", "1.9.0")
    assert release.onset.release == "2.0.0"
    assert release.onset.first_seen is not None
    assert release.onset.first_seen - scenario.RELEASE < scenario.timedelta(hours=3)
    _, noise = _group(digest, "builtins.ValueError")
    assert noise.onset.release is None and noise.onset.first_version == "1.9.0"
    assert noise.onset.first_seen is not None and noise.onset.first_seen < scenario.START
    _, host = _group(digest, "builtins.KeyError")
    assert host.onset.first_host == "web-2" and host.onset.release is None


def test_cascade_root_and_symptom(digest: Digest) -> None:
    """db_down drags session_lost along (root); session_lost follows db_down (symptom); others neither."""
    db_row, db = _group(digest, "builtins.ConnectionError")
    session_row, session = _group(digest, "builtins.LookupError")
    assert [r.key for r in db.drags] == [session_row.key] and db.role == "root"
    assert [r.key for r in session.follows] == [db_row.key] and session.role == "symptom"
    assert db.drags[0].share == 1.0 and db.drags[0].anchors >= 3
    others = [
        c for k, c in digest.report.insights.root_causes.items() if k not in (db_row.key, session_row.key)
    ]
    assert all(not c.drags and not c.follows for c in others)


def test_breadcrumbs_show_the_line_before_the_error(digest: Digest) -> None:
    """The host bug's latest occurrence comes with the cache miss its process logged a second before."""
    _, host = _group(digest, "builtins.KeyError")
    latest = host.breadcrumbs[0]
    assert latest.host == "web-2" and latest.lines
    assert latest.lines[-1].message == "cache miss for cart 14"
    assert all(b.host == "web-2" for b in host.breadcrumbs)


def test_feedback_is_linked_to_the_error_before_it(digest: Digest) -> None:
    """The bug report is linked to its own process's host-bug error 45 s before it (not to the cron
    process's later noise error on web-2), the CLI's usability complaint to web-3's latest error
    (session_lost, 28 s before), and the feature wish to nothing."""
    host_row, _ = _group(digest, "builtins.KeyError")
    lost_row, _ = _group(digest, "builtins.LookupError")
    bug, usability = sorted(digest.report.insights.feedback_links, key=lambda link: link.kind)
    assert (bug.kind, bug.host, bug.key, bug.same_process) == ("bug", "web-2", host_row.key, True)
    assert bug.after.total_seconds() == 45
    assert (usability.host, usability.key, usability.same_process) == ("web-3", lost_row.key, False)
    assert usability.after.total_seconds() == 28
    assert [f.kind for f in digest.report.feedback][:3] == ["bug", "usability", "feature"]


def test_feedback_trend_per_kind_follows_the_chart_buckets(digest: Digest) -> None:
    """Feedback per kind is counted in the chart's local days: the bug on Thu 19, the wish on Tue 17."""
    report = digest.report
    daily = report.insights.feedback_daily
    starts = [b.start for b in report.buckets]
    assert len(daily["bug"]) == len(daily["feature"]) == len(starts)
    assert starts[daily["bug"].index(1)].astimezone(report.window.zone).day == 19
    assert starts[daily["feature"].index(1)].astimezone(report.window.zone).day == 17
    assert sum(daily["bug"]) == sum(daily["feature"]) == 1
    assert "Per day: bug ▁▁▁█" in digest.render("text")


def test_chart_buckets_are_days_in_the_configured_zone(digest: Digest) -> None:
    """With Europe/Berlin, every daily bucket starts at local midnight and all errors are counted."""
    report = digest.report
    assert all(b.start.astimezone(report.window.zone).hour == 0 for b in report.buckets)
    assert sum(b.errors for b in report.buckets) == report.measure("errors").current


def _facts(digest: Digest) -> list[str]:
    """Sentences every rendering must contain."""
    _, python = _group(digest, "builtins.TypeError")
    host_row, _ = _group(digest, "builtins.KeyError")
    return [
        python.suspects[0].sentence(),
        "started with release 2.0.0",
        "1.9.0 ran before without it",
        "cache miss for cart 14",
        "the cart page crashed when I checked out",
        "45 s after, same process",
        "28 s after, same host",
        f"logloop group show {host_row.key}",
        f"logloop group ticket {host_row.key}",
    ]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown_report_each_planted_fact(digest: Digest, fmt: str) -> None:
    """Text and Markdown name the suspect, the release, the breadcrumb, the cascade and the links."""
    rendered = digest.render(fmt)
    plain = rendered.replace("\\", "")  # Markdown escapes
    for fact in _facts(digest):
        assert fact in plain, fact
    assert "Likely root of" in plain or "likely root of" in plain
    assert "symptom of" in plain
    assert "http://kibana.test:5601/app/discover#/" in rendered


def test_json_carries_the_material(digest: Digest) -> None:
    """The JSON digest holds every group's values with their suspect flag, onset and cascades."""
    document = json.loads(digest.render("json"))
    causes = document["insights"]["root_causes"]
    flagged = {(v["dimension"], v["value"]) for c in causes.values() for v in c["values"] if v["suspect"]}
    assert flagged == {("host", "web-2"), ("python", "3.10.4 (CPython)"), ("version", "2.0.0")}
    assert any(c["onset"]["release"] == "2.0.0" for c in causes.values())
    assert sorted(link["kind"] for link in document["insights"]["feedback_links"]) == ["bug", "usability"]
    roles = {c["role"] for c in causes.values()}
    assert roles == {None, "root", "symptom"}
    assert sum(len(c["suspects"]) for c in causes.values()) == 3


@pytest.mark.browser
def test_html_in_a_real_browser_shows_the_material(digest: Digest, tmp_path: Path) -> None:
    """Headless chromium's DOM shows the suspects, the onset, the cascade and a Kibana link per group."""
    page = tmp_path / "digest.html"
    page.write_text(digest.render("html"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, "--dump-dom", page.as_uri()],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    text = " ".join(dom.replace("&gt;", ">").replace("&amp;", "&").split())
    for fact in _facts(digest):
        assert " ".join(fact.split()) in text, fact
    assert dom.count("SUSPECT") == 3 and "Likely root of" in dom and "Likely a symptom of" in dom
    assert dom.count("Open in Kibana") == len(digest.report.top_groups)


def test_the_email_carries_the_material(digest: Digest, es: Any, shipped: str) -> None:
    """The digest mailed through a real SMTP server on loopback keeps the material in both parts."""
    with plain_smtp() as (inbox, port):
        settings = mailer.SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="logloop@example.org",
            recipients=("ops@example.org",), timeout=10,
        )  # fmt: skip
        outcomes = mailer.send_digest(Store(es, shipped), digest.report, digest.images, settings, now=NOW)
    assert [o.state for o in outcomes] == ["sent"]
    [message] = inbox.to("ops@example.org")
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    for fact in _facts(digest):
        assert fact in plain.get_content(), fact
    assert "SUSPECT" in html.get_content()


def test_without_root_causes_the_digest_is_unchanged(es: Any, shipped: str, digest: Digest) -> None:
    """Turning the material off (the benchmark's baseline) leaves the rest of the report as it was."""
    bare = build_digest(
        Store(es, shipped), scenario.WINDOW, scenario.UNTIL, NOW, title="shop weekly",
        options=replace(OPTIONS, root_causes=False),
    )  # fmt: skip
    assert not bare.report.insights.root_causes
    assert replace(bare.report, insights=digest.report.insights) == digest.report


class _Tracker(BaseHTTPRequestHandler):
    """A loopback issue tracker: records each POSTed JSON document and answers 201."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        return


@pytest.fixture
def configured(
    es_url: str, shipped: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, str]]:
    """A config file for the shipped prefix whose ticket webhook is a loopback tracker."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    path = tmp_path / "logloop.toml"
    path.write_text(
        f'[logloop]\nindex_prefix = "{shipped}"\n[elasticsearch]\nurl = "{es_url}"\n'
        f'[rootcause]\nenv_vars = ["REGION"]\nwebhook_url = "http://127.0.0.1:{server.server_port}/issues"\n'
        '[kibana]\nurl = "http://kibana.test:5601"\n',
        encoding="utf-8",
    )
    for name in ("LOGLOOP_ES_URL", "LOGLOOP_INDEX_PREFIX", "LOGLOOP_KIBANA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOGLOOP_CONFIG", str(path))
    _Tracker.received.clear()
    try:
        yield path, shipped
    finally:
        server.shutdown()
        server.server_close()


def test_group_show_prints_everything_by_key_prefix(
    digest: Digest, configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`logloop group show PREFIX` resolves the key and prints every dimension, suspect and breadcrumb."""
    row, _ = _group(digest, "builtins.KeyError")
    assert cli.main(["group", "show", row.key[:8], "--until", scenario.UNTIL.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"key:        {row.key}" in out
    assert "* web-2" in out and "cache miss for cart 14" in out
    for dimension in ("version", "host", "python", "os", "service", "environment", "env REGION"):
        assert f"\n  {dimension}\n" in out, dimension
    assert "http://kibana.test:5601/app/discover#/" in out


def test_group_show_names_an_unknown_key(
    configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown key is one line on stderr saying what to check, exit status 1."""
    assert cli.main(["group", "show", "ffffffffffff", "--until", scenario.UNTIL.isoformat()]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no events with a grouping key starting 'ffffffffffff'" in err


def test_ticket_is_written_and_posted_to_the_webhook(
    digest: Digest, configured: tuple[Path, str], tmp_path: Path
) -> None:
    """`logloop group ticket KEY -o FILE --post` writes the Markdown issue and POSTs it to the tracker."""
    row, _ = _group(digest, "builtins.AttributeError")
    output = tmp_path / "ticket.md"
    argv = ["group", "ticket", row.key, "--until", scenario.UNTIL.isoformat(), "-o", str(output), "--post"]
    assert cli.main(argv) == 0
    body = output.read_text(encoding="utf-8")
    assert body.startswith("# \\[new\\] AttributeError")
    for part in (
        "| Events | 15 in",
        "**Suspect:** 100% on version 2.0.0",
        "started with release 2.0.0",
        "## Representative traceback",
        "coupon_14",
        f"`logloop group show {row.key}`",
        "Kibana Discover",
    ):
        assert part in body, part
    [posted] = _Tracker.received
    assert posted["body"] == body and posted["group"] == row.key
    assert "suspect:version" in posted["labels"] and posted["title"].startswith("[new] AttributeError")


def test_ticket_post_without_a_webhook_is_a_configuration_error(
    digest: Digest, configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--post with no [rootcause] webhook_url fails with one line naming the setting."""
    path, _ = configured
    path.write_text(path.read_text().replace("webhook_url", "# webhook_url"), encoding="utf-8")
    row, _ = _group(digest, "builtins.KeyError")
    assert cli.main(["group", "ticket", row.key, "--post", "--until", scenario.UNTIL.isoformat()]) == 1
    assert "[rootcause] webhook_url" in capsys.readouterr().err and not _Tracker.received


def test_an_unreachable_webhook_is_one_line(
    digest: Digest, configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A webhook nobody listens on fails the ticket with one line naming the URL and the setting."""
    path, _ = configured
    closed = f"http://127.0.0.1:{free_port()}/issues"
    text = path.read_text()
    start = text.index("webhook_url")
    end = text.index("\n", start)
    path.write_text(text[:start] + f'webhook_url = "{closed}"' + text[end:], encoding="utf-8")
    row, _ = _group(digest, "builtins.KeyError")
    assert cli.main(["group", "ticket", row.key, "--post", "--until", scenario.UNTIL.isoformat()]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"ticket webhook {closed} unreachable" in err
