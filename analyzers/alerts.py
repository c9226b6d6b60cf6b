"""Alerts on a new, escalating (or regressed) group: a JSON POST to a webhook, at most once per episode.

An episode is one group in one status: "new" once per group ever; "escalating"/"regressed" once per
status change recorded in the registry (`status_changed_at`). Before sending, a marker document
`<status>:<group>:<episode time>` is created in `<prefix>-alerts` with create semantics, so two
schedulers or a re-run never send the same alert twice; when delivery fails the marker is removed
so that the next check tries again.

Payload (Content-Type: application/json):

    {"source": "logloop", "status": "new", "group_id": "...", "title": "...", "count": 3,
     "first_seen": "2026-11-23T07:58:00.000Z", "services": ["svc"], "check": "<status line>"}

Email alerts are not implemented here: the digest mailer exposes no general-purpose send function
yet, so `[alerts] email_to` is rejected with a message saying so.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from analyzers import es, registry
from analyzers.check import CheckResult
from analyzers.config import AlertsConfig
from analyzers.exceptions import AlertError, ConfigurationError
from analyzers.queries import iso

USER_AGENT: Final = "logloop-alerts/1"


@dataclass(frozen=True, kw_only=True)
class Alert:
    status: str
    group_id: str
    title: str
    count: int
    since: datetime  # first_seen for new groups, status_changed_at otherwise: names the episode
    services: tuple[str, ...] = ()

    @property
    def marker_id(self) -> str:
        return f"{self.status}:{self.group_id}:{iso(self.since)}"

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


def index_name(prefix: str) -> str:
    return f"{prefix}-alerts"


def require_deliverable(config: AlertsConfig) -> None:
    if config.email_to:
        raise ConfigurationError(
            "[alerts] email_to is not supported yet (the mailer has no general send function): "
            "use webhook_url"
        )


def candidates(result: CheckResult, groups: Iterable[registry.Group], *, config: AlertsConfig) -> list[Alert]:
    """Alerts this check would raise: its new groups, and registry groups escalating/regressed (pure)."""
    alerts: list[Alert] = []
    if "new" in config.on:
        alerts.extend(
            Alert(
                status="new",
                group_id=group.group_id,
                title=group.title,
                count=group.count,
                since=group.first_seen,
                services=group.services,
            )
            for group in result.new_groups
        )
    alerts.extend(
        Alert(
            status=group.status,
            group_id=group.group_id,
            title=group.title,
            count=group.count_window,
            since=group.status_changed_at or group.updated_at or group.last_seen,
            services=group.services,
        )
        for group in groups
        if group.status in config.on and group.status != "new"
    )
    return alerts


def post_json(url: str, payload: Mapping[str, Any], *, timeout: float) -> None:
    """POST `payload` as JSON; AlertError unless the server answers 2xx."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise AlertError(
            f"alert webhook {url} answered HTTP {exc.code}: check [alerts] webhook_url"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"alert webhook {url} unreachable ({reason}): check [alerts] webhook_url") from None
    if not 200 <= status < 300:
        raise AlertError(f"alert webhook {url} answered HTTP {status}")


def _claim(client: Any, prefix: str, alert: Alert, now: datetime) -> bool:
    es.ensure_index(
        client,
        index=index_name(prefix),
        body={"settings": {"index.number_of_shards": 1, "index.auto_expand_replicas": "0-1"}},
    )
    document = {"status": alert.status, "group_id": alert.group_id, "sent_at": iso(now)}
    return es.create_doc(
        client, index=index_name(prefix), doc_id=alert.marker_id, document=document, action="record an alert"
    )


def _release(client: Any, prefix: str, alert: Alert) -> None:
    with es.translated("forget a failed alert"):
        client.options(ignore_status=404).delete(index=index_name(prefix), id=alert.marker_id, refresh=True)


def send(
    client: Any,
    prefix: str,
    alerts: Sequence[Alert],
    *,
    config: AlertsConfig,
    check_line: str,
    now: datetime,
) -> list[Alert]:
    """Send each alert not sent before; return those sent. Raises AlertError after trying them all."""
    if not config.webhook_url:
        return []
    sent: list[Alert] = []
    failures: list[str] = []
    for alert in alerts:
        if not _claim(client, prefix, alert, now):
            continue
        try:
            post_json(config.webhook_url, alert.payload(check_line), timeout=config.timeout.total_seconds())
        except AlertError as exc:
            _release(client, prefix, alert)
            failures.append(str(exc))
            continue
        sent.append(alert)
    if failures:
        raise AlertError(f"{len(failures)} alert(s) not delivered, first: {failures[0]}")
    return sent
