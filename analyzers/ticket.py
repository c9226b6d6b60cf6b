"""`logloop group ticket`: a group as a ready-to-file issue in Markdown, and its delivery to a webhook.

The payload POSTed is `{"title", "body", "labels", "group"}` (the shape issue trackers' create-issue
APIs take, so a small relay or the tracker itself can accept it); the body is the Markdown.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from analyzers import links
from analyzers.deadline import DeadlinePassed, http_status
from analyzers.escaping import text_line
from analyzers.exceptions import DeliveryError
from analyzers.group_report import GroupReport
from analyzers.render import environment

USER_AGENT = "logloop-ticket"


def title(report: GroupReport) -> str:
    """The issue's title: one line without control characters or direction overrides (a tracker shows
    it as it is), the title and services being log content."""
    group = report.group
    services = ", ".join(group.services) or "unknown service"
    return text_line(f"[{group.status}] {group.title} ({group.count:,} events, {services})")


def markdown(report: GroupReport) -> str:
    return (
        environment()
        .get_template("ticket.md.j2")
        .render(
            r=report,
            title=title(report),
            show_command=links.show_command(report.group.key),
        )
    )


def payload(report: GroupReport) -> dict[str, Any]:
    labels = ["logloop", report.group.status, *(f"suspect:{s.dimension}" for s in report.cause.suspects)]
    return {"title": title(report), "body": markdown(report), "labels": labels, "group": report.group.key}


def post(url: str, document: dict[str, Any], *, timeout: float) -> int:
    """POST the ticket as JSON; the HTTP status, or DeliveryError naming the setting to check."""
    request = urllib.request.Request(
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        return http_status(request, seconds=timeout)
    except DeadlinePassed:
        raise DeliveryError(
            f"ticket webhook {url} did not answer within {timeout:g}s ([rootcause] timeout): check "
            "[rootcause] webhook_url, or raise [rootcause] timeout if it is only slow"
        ) from None
    except urllib.error.HTTPError as exc:
        raise DeliveryError(
            f"ticket webhook {url} answered HTTP {exc.code}: check [rootcause] webhook_url"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(
            f"ticket webhook {url} unreachable ({reason}): check [rootcause] webhook_url"
        ) from None
