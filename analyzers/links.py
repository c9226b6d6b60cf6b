"""Links from a digest back to the tools: Kibana Discover filtered on a group, and the CLI commands.

Pure string building. Discover's state travels in the URL as rison (`_g` the time range, `_a` the
query and the data view); the data view is the events index pattern `logloop setup` imports, whose id
is derived from the index prefix (`kibana.objects.object_id`), so the link opens the right view
without asking Kibana anything.
"""

from __future__ import annotations

import shlex
from datetime import datetime
from urllib.parse import quote

from analyzers.queries import iso


def rison_string(value: str) -> str:
    """A rison string literal: quoted, with `!` and `'` escaped by `!`."""
    return "'" + value.replace("!", "!!").replace("'", "!'") + "'"


def discover_url(
    kibana_url: str,
    *,
    key: str,
    start: datetime,
    end: datetime,
    data_view: str | None = None,
    space: str = "",
) -> str:
    """Kibana Discover showing the events of group `key` between `start` and `end`."""
    base = kibana_url.rstrip("/") + (f"/s/{quote(space, safe='')}" if space else "")
    query = f'error.grouping_key:"{key}"'
    global_state = f"(time:(from:{rison_string(iso(start))},to:{rison_string(iso(end))}))"
    view = f"dataSource:(dataViewId:{rison_string(data_view)},type:dataView)," if data_view else ""
    app_state = f"({view}query:(language:kuery,query:{rison_string(query)}))"
    safe = "(),:!'*-._~"
    return f"{base}/app/discover#/?_g={quote(global_state, safe=safe)}&_a={quote(app_state, safe=safe)}"


def show_command(key: str) -> str:
    return f"logloop group show {shlex.quote(key)}"


def ticket_command(key: str) -> str:
    return f"logloop group ticket {shlex.quote(key)}"
