"""`[rootcause]`: how the root-cause material of a group is computed and where tickets go.

    [rootcause]  enabled = true, top_groups = 20, env_vars = [], alpha = 0.01, min_count = 5, min_lift = 2.0,
                 breadcrumb_lines = 5, breadcrumb_window = "2m", breadcrumb_occurrences = 3,
                 cascade_window = "5s", cascade_share = 0.6, cascade_anchors = 12,
                 release_gap = "1d", feedback_window = "15m", webhook_url = "", timeout = "10s"

`env_vars` names the environment variables the shipper allow-lists (`env_allowlist`): each becomes a
dimension suspects are looked for in. The statistical thresholds are documented in
`analyzers.suspects`; the others in `analyzers.rootcause`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from analyzers import config
from analyzers.exceptions import ConfigurationError

if TYPE_CHECKING:  # (imported where used: `analyzers.suspects` imports pandas, and every command's
    # start parses a `[rootcause]` section present in the configuration, `logloop cluster`'s too)
    from analyzers.suspects import SuspectTest


@dataclass(frozen=True, kw_only=True)
class RootCauseConfig:
    enabled: bool = True  # false: the digest without root-cause material (two searches fewer)
    top_groups: int = 20  # groups of the digest that get root-cause material (all of `group show`)
    env_vars: tuple[str, ...] = ()
    alpha: float = 0.01
    min_count: int = 5
    min_lift: float = 2.0
    breadcrumb_lines: int = 5  # log lines shown before one occurrence
    breadcrumb_window: timedelta = timedelta(minutes=2)  # how far back a breadcrumb may be
    breadcrumb_occurrences: int = 3  # recent occurrences (distinct processes) with breadcrumbs
    cascade_window: timedelta = timedelta(seconds=5)  # "follows within seconds"
    cascade_share: float = 0.6  # "in most cases": share of occurrences followed by the other group
    cascade_anchors: int = 12  # occurrences sampled per group to measure that share
    release_gap: timedelta = timedelta(days=1)  # a group first seen this soon after a version: its release
    feedback_window: timedelta = timedelta(minutes=15)  # a bug report this soon after an error is linked
    webhook_url: str = ""  # `logloop group ticket --post` sends the ticket here (JSON)
    timeout: timedelta = timedelta(seconds=10)

    @property
    def test(self) -> SuspectTest:
        from analyzers.suspects import SuspectTest

        return SuspectTest(alpha=self.alpha, min_count=self.min_count, min_lift=self.min_lift)


def rootcause_config(table: Mapping[str, Any]) -> RootCauseConfig:
    parsed = config.parse(RootCauseConfig, "rootcause", table)
    if not isinstance(parsed.enabled, bool):
        raise ConfigurationError(f"[rootcause] enabled = {parsed.enabled!r} must be true or false")
    if not 0 < parsed.alpha < 1 or not 0 < parsed.cascade_share <= 1:
        raise ConfigurationError("[rootcause] alpha must be in (0, 1) and cascade_share in (0, 1]")
    if min(parsed.top_groups, parsed.breadcrumb_occurrences, parsed.cascade_anchors, parsed.min_count) < 1:
        raise ConfigurationError(
            "[rootcause] top_groups, breadcrumb_occurrences, cascade_anchors and min_count must be at least 1"
        )
    if parsed.webhook_url and not parsed.webhook_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"[rootcause] webhook_url = {parsed.webhook_url!r} must be an http(s) URL")
    return parsed
