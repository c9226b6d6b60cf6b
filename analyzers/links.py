"""Links from a digest back to the tools: Kibana Discover filtered on a group, and the CLI commands.

Pure string building. Discover's state travels in the URL as rison (`_g` the time range, `_a` the
query and the data view); the data view is the events index pattern `logloop setup` imports, whose id
is derived from the index prefix (`kibana.objects.object_id`), so the link opens the right view
without asking Kibana anything.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from analyzers.escaping import shell_command
from analyzers.queries import iso


def rison_string(value: str) -> str:
    """A rison string literal: quoted, with `!` and `'` escaped by `!`."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def kql_phrase(value: str) -> str:
    """A KQL quoted phrase matching `value` exactly: `\\` and `"` escaped by a backslash (inside
    quotes KQL reads `*`, `:`, `(`, `)` and the keywords as text)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _url_string(value: str) -> str:
    """A rison string literal in a URL: only its own quotes literal, the text inside percent-encoded
    (Kibana decodes the URL before reading the rison), so no value adds a `(`, `)`, space or quote
    that ends a Markdown link, an HTML attribute or a line of text early."""
    return "'" + quote(rison_string(value)[1:-1], safe="!") + "'"


def discover_url(
    kibana_url: str,
    *,
    key: str,
    start: datetime,
    end: datetime,
    data_view: str | None = None,
    space: str = "",
) -> str:
    """Kibana Discover showing the events of group `key` (any text: log content) between `start` and
    `end`."""
    base = kibana_url.rstrip("/") + (f"/s/{quote(space, safe='')}" if space else "")
    query = f"error.grouping_key:{kql_phrase(key)}"
    global_state = f"(time:(from:{_url_string(iso(start))},to:{_url_string(iso(end))}))"
    view = f"dataSource:(dataViewId:{_url_string(data_view)},type:dataView)," if data_view else ""
    app_state = f"({view}query:(language:kuery,query:{_url_string(query)}))"
    return f"{base}/app/discover#/?_g={global_state}&_a={app_state}"


def show_command(key: str) -> str:
    return shell_command("logloop", "group", "show", key)


def ticket_command(key: str) -> str:
    return shell_command("logloop", "group", "ticket", key)
