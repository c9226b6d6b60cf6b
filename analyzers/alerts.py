"""Alerts on a new, escalating (or regressed) group: a JSON POST to a webhook and/or an email to each
`[alerts] email_to` address, at most once per episode and channel.

An episode is one group in one status: "new" once per group ever; "escalating" once per status change
recorded in the registry (`status_changed_at`); "regressed" once per comeback (its first occurrence
after the resolve, whether `check` saw it first or `analyze` recorded it as `regressed_at`: the same
time, so the same episode). Before sending, a marker document is
created in `<prefix>-alerts` with create semantics, so two schedulers or a re-run never send the same
alert twice; when delivery fails the marker is removed so that the next check tries again. Marker ids:

    webhook   <status>:<group>:<episode time>
    email     <status>:<group>:<episode time>:email:<recipient>   (one message, and marker, per recipient)

A failure with the message in flight (the SMTP connection or the HTTP response lost after the data
was sent) is retried too: for an alert a duplicate is the lesser evil than a missed one.

Webhook payload (Content-Type: application/json):

    {"source": "logloop", "status": "new", "group_id": "...", "title": "...", "count": 3,
     "first_seen": "2026-11-23T07:58:00.000Z", "services": ["svc"], "check": "<status line>"}

Email: sent with the `[smtp]` server and sender (analyzers.mailer); text/plain plus a simple HTML
alternative (autoescaped) naming the title, status, count, first/last seen, versions, hosts, services
and group key. The subject is one line built from sanitized values only: a group title is log content.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from functools import cache
from typing import Any, Final

from analyzers import mailer, registry, smtp_config
from analyzers.check import CheckResult, NewGroup
from analyzers.config import AlertsConfig
from analyzers.deadline import DeadlinePassed, http_status
from analyzers.escaping import shell_command
from analyzers.exceptions import AlertError, ConfigurationError, DeliveryError
from analyzers.queries import iso
from analyzers.store import Store
from analyzers.wording import counted

USER_AGENT: Final = "logloop-alerts/1"
SUBJECT_TITLE_CHARS: Final = 120
_HTML: Final = """<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>logloop: {{ heading }}</h2>
<p><strong>{{ title }}</strong></p>
<table>
{%- for name, value in rows %}
<tr><th align="left" style="padding-right: 1em">{{ name }}</th><td>{{ value }}</td></tr>
{%- endfor %}
</table>
<p style="color: #666">{{ check }}</p>
</body></html>
"""


@dataclass(frozen=True, kw_only=True)
class Alert:
    status: str
    group_id: str
    title: str
    count: int
    since: datetime  # first_seen for new groups, status_changed_at otherwise: names the episode
    services: tuple[str, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    versions: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    @property
    def marker_id(self) -> str:
        return f"{self.status}:{self.group_id}:{iso(self.since)}"

    def email_marker_id(self, recipient: str) -> str:
        return f"{self.marker_id}:email:{recipient.strip().lower()}"

    def payload(self, check_line: str) -> dict[str, Any]:
        return {
            "source": "logloop",
            "status": self.status,
            "group_id": self.group_id,
            "title": self.title,
            "count": self.count,
            "first_seen" if self.status == "new" else "status_changed_at": iso(self.since),
            "services": list(self.services),
            "check": check_line,
        }


def email_recipients(config: AlertsConfig) -> tuple[str, ...]:
    """The bare addresses of `[alerts] email_to`; ConfigurationError names a bad one."""
    return tuple(smtp_config.address(value, setting="[alerts] email_to entry") for value in config.email_to)


def require_deliverable(
    config: AlertsConfig, smtp_table: Mapping[str, Any] | None = None
) -> smtp_config.SmtpSettings | None:
    """Validate the alert channels up front; the `[smtp]` settings when `email_to` is set, else None.

    `smtp_table` is the `[smtp]` section; None means the caller cannot send alert emails (yet).
    """
    if not config.email_to:
        return None
    email_recipients(config)
    if smtp_table is None:
        raise ConfigurationError(
            "[alerts] email_to: this command does not send alert emails yet, only `logloop check` does; "
            "run that (e.g. from cron) or use webhook_url"
        )
    if not smtp_table:
        raise ConfigurationError(
            "[alerts] email_to needs an [smtp] section with the server to send through, e.g. "
            '[smtp] host = "mail.example.com", port = 587, sender = "logloop@example.com"'
        )
    smtp = smtp_config.smtp_settings(smtp_table)
    if not smtp.sender:
        raise ConfigurationError(
            '[smtp] needs sender to send alert emails, e.g. sender = "logloop@example.com"'
        )
    return smtp


def candidates(result: CheckResult, groups: Iterable[registry.Group], *, config: AlertsConfig) -> list[Alert]:
    """Alerts this check would raise: its new groups, and registry groups escalating/regressed (pure).

    A new group the registry already knows (analyze ran since) takes its versions and hosts from there.
    """
    groups = list(groups)
    known = {group.group_id: group for group in groups}
    alerts: list[Alert] = []
    if "new" in config.on:
        alerts.extend(_new_alert(group, known.get(group.group_id)) for group in result.new_groups)
    came_back = {group.group_id for group in result.regressed_groups} if "regressed" in config.on else set()
    alerts.extend(
        _new_alert(group, known.get(group.group_id), status="regressed")
        for group in result.regressed_groups
        if group.group_id in came_back
    )
    alerts.extend(
        Alert(
            status=group.status,
            group_id=group.group_id,
            title=group.title,
            count=group.count_window,
            since=(group.regressed_at if group.status == "regressed" else None)
            or group.status_changed_at
            or group.updated_at
            or group.last_seen,
            services=group.services,
            first_seen=group.first_seen,
            last_seen=group.last_seen,
            versions=group.versions,
            hosts=group.hosts,
        )
        for group in groups
        if group.status in config.on and group.status != "new" and group.group_id not in came_back
    )
    return alerts


def _new_alert(group: NewGroup, stored: registry.Group | None, *, status: str = "new") -> Alert:
    """The alert of a group the check window brought: new, or regressed (`first_seen` its comeback)."""
    last_seen = group.last_seen
    if stored is not None and (last_seen is None or stored.last_seen > last_seen):
        last_seen = stored.last_seen
    return Alert(
        status=status,
        group_id=group.group_id,
        title=group.title,
        count=group.count,
        since=group.first_seen,
        services=group.services,
        # (a regressed group's first occurrence ever is the registry's; `group.first_seen` is its comeback)
        first_seen=stored.first_seen if stored is not None and status != "new" else group.first_seen,
        last_seen=last_seen,
        versions=_union(group.versions, stored.versions if stored else ()),
        hosts=_union(group.hosts, stored.hosts if stored else ()),
    )


def _union(*values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({value for sequence in values for value in sequence}))


def _heading(alert: Alert) -> str:
    return f"{alert.status} error group"


def email_subject(alert: Alert) -> str:
    """One line: the title is log content, so it is flattened and cut before it joins the subject."""
    title = mailer.sanitize_header(alert.title, limit=SUBJECT_TITLE_CHARS)
    return mailer.sanitize_header(f"[logloop] {_heading(alert)}: {title} ({counted(alert.count, 'event')})")


def _listed(values: Sequence[str]) -> str:
    return ", ".join(values) if values else "-"


def _when(moment: datetime | None) -> str:
    return iso(moment) if moment else "-"


def _rows(alert: Alert, check_line: str) -> list[tuple[str, str]]:
    """The facts of one alert as (name, one-line value), shared by the text and the HTML body."""
    rows = [
        ("Title", alert.title),
        ("Status", f"{alert.status} since {iso(alert.since)}"),
        ("Count", f"{alert.count:,}"),
        ("First seen", _when(alert.first_seen)),
        ("Last seen", _when(alert.last_seen)),
        ("Versions", _listed(alert.versions)),
        ("Hosts", _listed(alert.hosts)),
        ("Services", _listed(alert.services)),
        ("Group key", alert.group_id),
        ("Check", check_line),
    ]
    return [(name, mailer.sanitize_header(value, limit=1000)) for name, value in rows]


def email_text(alert: Alert, check_line: str) -> str:
    lines = [f"logloop: {_heading(alert)}", ""]
    lines += [f"{name + ':':<12}{value}" for name, value in _rows(alert, check_line)]
    resolve, ignore = (shell_command("logloop", verb, alert.group_id) for verb in ("resolve", "ignore"))
    lines += ["", f"Mark it handled: {resolve}  (or: {ignore})"]
    return "\n".join(lines) + "\n"


@cache
def _html_template() -> Any:
    import jinja2  # only when an alert email is written

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(_HTML)


def email_html(alert: Alert, check_line: str) -> str:
    rows = _rows(alert, check_line)
    return str(
        _html_template().render(heading=_heading(alert), title=rows[0][1], rows=rows[1:-1], check=rows[-1][1])
    )


def build_email(alert: Alert, *, sender: str, recipient: str, check_line: str, now: datetime) -> EmailMessage:
    """text/plain with a text/html alternative; every header from sanitized one-line values."""
    message = mailer.new_message(
        subject=email_subject(alert), sender=sender, recipient=recipient, now=now, kind="alert"
    )
    message.set_content(email_text(alert, check_line))
    message.add_alternative(email_html(alert, check_line), subtype="html")
    return message


def post_json(url: str, payload: Mapping[str, Any], *, timeout: float) -> None:
    """POST `payload` as JSON; AlertError unless the server answers 2xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        status = http_status(request, seconds=timeout)
    except DeadlinePassed:
        raise AlertError(
            f"alert webhook {url} did not answer within {timeout:g}s ([alerts] timeout): check [alerts] "
            "webhook_url, or raise [alerts] timeout if it is only slow"
        ) from None
    except urllib.error.HTTPError as exc:
        raise AlertError(
            f"alert webhook {url} answered HTTP {exc.code}: check [alerts] webhook_url"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"alert webhook {url} unreachable ({reason}): check [alerts] webhook_url") from None
    if not 200 <= status < 300:
        raise AlertError(f"alert webhook {url} answered HTTP {status}")


def _claim(store: Store, marker_id: str, document: Mapping[str, Any]) -> bool:
    store.ensure_bookkeeping_index(index=store.alerts)
    created = store.create_doc(
        index=store.alerts, doc_id=marker_id, document=document, action="record an alert"
    )
    return created is not None


def _release(store: Store, marker_id: str) -> None:
    store.delete_doc(index=store.alerts, doc_id=marker_id, action="forget a failed alert")


def _marker(alert: Alert, now: datetime, **extra: str) -> dict[str, str]:
    return {"status": alert.status, "group_id": alert.group_id, "sent_at": iso(now), **extra}


def send(
    store: Store,
    alerts: Sequence[Alert],
    *,
    config: AlertsConfig,
    check_line: str,
    now: datetime,
    smtp: smtp_config.SmtpSettings | None = None,
) -> list[Alert]:
    """Send each alert not sent before on every configured channel; return those delivered on at least
    one. Raises AlertError after trying them all; ConfigurationError if `email_to` is set without `smtp`."""
    recipients = email_recipients(config)
    if recipients and smtp is None:
        raise ConfigurationError("[alerts] email_to needs the [smtp] settings (see require_deliverable)")
    sent: list[Alert] = []
    failures: list[str] = []
    for alert in alerts:
        delivered = False
        if config.webhook_url and _claim(store, alert.marker_id, _marker(alert, now)):
            try:
                post_json(
                    config.webhook_url, alert.payload(check_line), timeout=config.timeout.total_seconds()
                )
                delivered = True
            except AlertError as exc:
                _release(store, alert.marker_id)
                failures.append(str(exc))
        for recipient in recipients:
            assert smtp is not None
            marker_id = alert.email_marker_id(recipient)
            if not _claim(store, marker_id, _marker(alert, now, channel="email", recipient=recipient)):
                continue
            message = build_email(
                alert, sender=smtp.sender, recipient=recipient, check_line=check_line, now=now
            )
            try:
                mailer.send_message(smtp, message, [recipient])
                delivered = True
            except DeliveryError as exc:
                _release(store, marker_id)
                failures.append(f"alert email to {recipient}: {exc}")
        if delivered:
            sent.append(alert)
    if failures:
        raise AlertError(f"{len(failures)} alert(s) not delivered, first: {failures[0]}")
    return sent
