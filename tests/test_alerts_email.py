"""Alert emails from `logloop check` via a real loopback SMTP server (aiosmtpd) and the real node."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events
from helpers.ports import free_port
from helpers.smtp_inbox import Inbox, plain_smtp

from analyzers import alerts, check, cli, registry
from analyzers.config import AlertsConfig, CheckConfig
from analyzers.exceptions import AlertError, ConfigurationError
from analyzers.mailer import SmtpSettings
from analyzers.store import Store
from logloop.config import Settings
from shipper.connection import ElasticsearchSettings

CONFIG = CheckConfig(warning_rate=1.0, critical_rate=4.0, warning_new=1, critical_new=3)
RECIPIENTS = ("ops@example.org", "dev@example.org")
SENDER = "logloop@example.org"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 without AUTH (the digest tests cover AUTH and STARTTLS)."""
    with plain_smtp() as server:
        yield server


def _smtp(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security="none", sender=SENDER, timeout=10)


def _check_and_alert(es: Any, prefix: str, port: int, config: AlertsConfig) -> list[alerts.Alert]:
    result = check.run_check(Store(es, prefix), config=CONFIG, until=NOW)
    found = alerts.candidates(result, registry.load_groups(Store(es, prefix)), config=config)
    return alerts.send(
        Store(es, prefix), found, config=config, check_line=result.line, now=NOW, smtp=_smtp(port)
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    return parser


@pytest.mark.es
def test_new_group_emails_each_recipient_once_with_its_facts(
    es: Any, prefix: str, smtp_server: tuple[Inbox, int]
) -> None:
    """A new group sends one text+HTML email per recipient naming title, status, count, times, versions,
    hosts and key."""
    inbox, port = smtp_server
    index_events(es, prefix, [event("fresh", NOW - timedelta(minutes=m), host=f"web-{m}") for m in (3, 5)])
    sent = _check_and_alert(es, prefix, port, AlertsConfig(email_to=RECIPIENTS))
    assert [alert.group_id for alert in sent] == ["fresh"]
    assert sorted(rcpts[0] for rcpts, _ in inbox.messages) == sorted(RECIPIENTS)
    assert all(len(rcpts) == 1 for rcpts, _ in inbox.messages)
    message = next(m for rcpts, m in inbox.messages if rcpts == ["ops@example.org"])
    assert message["To"] == "ops@example.org" and message["From"] == SENDER
    assert message["Subject"] == "[logloop] new error group: ValueError: fresh (2 events)"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for expected in (
        "ValueError: fresh",
        "new since 2026-11-23T07:55:00.000Z",
        "Count:      2",
        "First seen: 2026-11-23T07:55:00.000Z",
        "Last seen:  2026-11-23T07:57:00.000Z",
        "Versions:   1.0",
        "Hosts:      web-3",
        "Group key:  fresh",
        "LOGLOOP WARNING",
    ):
        assert expected in text
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<strong>ValueError: fresh</strong>" in html and "web-3" in html


@pytest.mark.es
def test_running_check_twice_sends_no_second_email(
    es: Any, prefix: str, smtp_server: tuple[Inbox, int], es_settings: ElasticsearchSettings
) -> None:
    """Two `logloop check` runs (the CLI, real clock) mail a new group once per recipient, not twice."""
    inbox, port = smtp_server
    now = datetime.now(UTC)
    index_events(es, prefix, [event("fresh", now - timedelta(minutes=2))])
    settings = Settings(
        elasticsearch=es_settings,
        index_prefix=prefix,
        sections={
            "alerts": {"email_to": list(RECIPIENTS)},
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": SENDER},
        },
    )
    args = _parser().parse_args(["check"])
    assert [cli.handle_check(args, settings) for _ in range(2)] == [check.WARNING, check.WARNING]
    assert sorted(rcpts[0] for rcpts, _ in inbox.messages) == sorted(RECIPIENTS)


@pytest.mark.es
def test_title_with_crlf_adds_no_header(es: Any, prefix: str, smtp_server: tuple[Inbox, int]) -> None:
    """A registry title carrying CRLF + "Bcc:" and markup stays in a one-line Subject and escaped HTML:
    no Bcc header, no extra envelope recipient."""
    inbox, port = smtp_server
    title = "Boom\r\nBcc: x@y\r\n\r\n<script>alert(1)</script>"
    group = registry.Group(
        group_id="evil",
        title=title,
        category="traceback",
        first_seen=NOW - timedelta(days=3),
        last_seen=NOW - timedelta(minutes=1),
        count_window=30,
        status="escalating",
        status_changed_at=NOW - timedelta(hours=1),
    )
    registry.ensure(Store(es, prefix))
    registry.save_groups(Store(es, prefix), [group])
    sent = _check_and_alert(es, prefix, port, AlertsConfig(email_to=("ops@example.org",)))
    assert [alert.title for alert in sent] == [title]
    [(rcpts, message)] = inbox.messages
    assert rcpts == ["ops@example.org"]
    assert "Bcc" not in message and message.get_all("Bcc") is None
    assert message["Subject"] == (
        "[logloop] escalating error group: Boom Bcc: x@y <script>alert(1)</script> (30 events)"
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_email_to_without_smtp_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`[alerts] email_to` without an `[smtp]` section is a ConfigurationError saying what to add, and
    `logloop check` reports it as UNKNOWN before contacting Elasticsearch."""
    config = AlertsConfig(email_to=("ops@example.org",))
    with pytest.raises(ConfigurationError, match=r"email_to needs an \[smtp\] section"):
        alerts.require_deliverable(config, {})
    settings = Settings(
        elasticsearch=ElasticsearchSettings(url="http://127.0.0.1:9", request_timeout=2),
        sections={"alerts": {"email_to": ["ops@example.org"]}},
    )
    assert cli.handle_check(_parser().parse_args(["check"]), settings) == check.UNKNOWN
    out = capsys.readouterr().out
    assert out.startswith("LOGLOOP UNKNOWN - [alerts] email_to needs an [smtp] section")


@pytest.mark.es
def test_refused_connection_is_retried_by_the_next_check(
    es: Any, prefix: str, smtp_server: tuple[Inbox, int]
) -> None:
    """With the SMTP server unreachable send() raises AlertError and releases the marker, so the next
    check mails the alert."""
    inbox, port = smtp_server
    index_events(es, prefix, [event("fresh", NOW - timedelta(minutes=2))])
    config = AlertsConfig(email_to=("ops@example.org",))
    with pytest.raises(AlertError, match=r"alert email to ops@example\.org: .*nothing was delivered"):
        _check_and_alert(es, prefix, free_port(), config)
    assert inbox.messages == []
    assert [alert.group_id for alert in _check_and_alert(es, prefix, port, config)] == ["fresh"]
    assert [rcpts for rcpts, _ in inbox.messages] == [["ops@example.org"]]
