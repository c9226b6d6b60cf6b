"""What a digest needs from the configuration beyond its window: time zone, root-cause settings, Kibana.

    [digest]     title = "...", timezone = "Europe/Berlin"   (default: [schedule] timezone, else UTC)
    [rootcause]  see analyzers.rootcause_config
    [kibana]     url, space: each group links to Kibana Discover filtered on it (no link without a url)

Read from the settings in one place (`from_settings`), used by `logloop digest`, the scheduler and
`logloop group show/ticket`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analyzers.exceptions import ConfigurationError
from analyzers.rootcause_config import RootCauseConfig, rootcause_config
from shipper import schema


@dataclass(frozen=True, kw_only=True)
class DigestOptions:
    timezone: str = "UTC"
    rootcause: RootCauseConfig = RootCauseConfig()
    root_causes: bool = True  # False: without root-cause material ([rootcause] enabled = false)
    kibana_url: str = ""
    kibana_space: str = ""
    data_view: str | None = None  # the events data view id `logloop setup` imports


DEFAULT_OPTIONS: Final = DigestOptions()


def _timezone(settings: Any) -> str:
    name = settings.section("digest").get("timezone") or settings.section("schedule").get("timezone") or "UTC"
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"[digest] timezone = {name!r} is not a known time zone: use e.g. UTC or Europe/Berlin"
        ) from None
    return str(name)


def from_settings(settings: Any) -> DigestOptions:
    kibana = settings.section("kibana")
    url = os.environ.get("LOGLOOP_KIBANA_URL") or str(kibana.get("url") or "")
    data_view = None
    if url:
        data_view = schema.saved_object_id(settings.index_prefix, "index-pattern", schema.EVENTS_DATA_VIEW)
    rootcause = rootcause_config(settings.section("rootcause"))
    return DigestOptions(
        timezone=_timezone(settings),
        rootcause=rootcause,
        root_causes=rootcause.enabled,
        kibana_url=url,
        kibana_space=os.environ.get("LOGLOOP_KIBANA_SPACE") or str(kibana.get("space") or ""),
        data_view=data_view,
    )
