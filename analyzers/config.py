"""Frozen settings for the analyzers, parsed from the TOML sections the CLI hands over.

Sections (all optional; every key has a default):

    [analyze]   window = "7d", baseline_windows = 4, escalation_factor = 2.0,
                escalation_min_increase = 10, escalation_min_history = "3d",
                quiet_period = "7d", resolve_after = "3d",
                recency_half_life = "3d"
    [schedule]  timezone = "UTC", analyze = "0 * * * *", digest = "0 8 * * mon", check = "*/5 * * * *",
                prune = "30 3 * * *", digest_window = "7d", backoff_initial = "30s", backoff_max = "15m",
                health_host = "127.0.0.1", health_port = 0 (0: no health/metrics endpoint)
    [retention] events = "30d", groups = "365d"
                (daily event indices whose whole day is older than `events` are deleted, by ILM where
                the cluster has it, else by `logloop prune`; groups not seen for `groups` leave the
                registry; `groups` must not be shorter than `events`)
    [check]     window = "15m", warning_rate = 5.0, critical_rate = 20.0, warning_new = 1, critical_new = 5,
                warning_regressed = 1, critical_regressed = 5,
                shards_warning = 0.8, shards_critical = 0.95, shard_size_warning_gb = 50.0
                (rates are errors per minute averaged over the window; shards_* are the shares of the
                cluster's shard limit, max_shards_per_node x data nodes, in use; a primary shard of the
                latest whole day's index past shard_size_warning_gb is a WARNING: see analyzers.capacity)
    [alerts]    webhook_url = "", email_to = [], on = ["new", "escalating", "regressed"], timeout = "5s"
                (email_to = ["ops@example.com"] mails each address through the [smtp] server and
                sender, which must then be configured; timeout is the webhook's, [smtp] has its own)

Durations are `<number><unit>` with unit s, m, h, d or w. Unknown keys are errors: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analyzers.exceptions import ConfigurationError
from shipper.schema import unknown_keys_message

# Bounds that keep every window (and its baseline windows before it) inside the dates Python and
# Elasticsearch can hold: a window of at most a century, ending no earlier than 1970.
LONGEST: Final = timedelta(days=36500)
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str | timedelta, *, name: str = "duration") -> timedelta:
    """`"15m"` -> 15 minutes; raises ConfigurationError naming the setting otherwise."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigurationError(f"{name} = {text!r} is not a duration: write e.g. 30s, 15m, 1h, 7d or 2w")
    if float(match.group(1)) == 0:  # a duration, but one that holds no time: say that, not "not a duration"
        raise ConfigurationError(f"{name} = {text!r} is no time at all: write e.g. 30s, 15m, 1h, 7d or 2w")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > LONGEST.total_seconds():  # a window that long has no dates to end on: an overflow later
        raise ConfigurationError(
            f"{name} = {text!r} is longer than {LONGEST.days}d: write a shorter duration"
        )
    return timedelta(seconds=seconds)


def parse_time(text: str | None, *, now: datetime) -> datetime:
    """An ISO 8601 time (naive means UTC) or None/"now" -> an aware UTC datetime."""
    if text is None or text.strip().lower() == "now":
        return now.astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"time {text!r} is not ISO 8601: write e.g. 2026-11-23T08:00:00Z or 2026-11-23"
        ) from None
    try:
        moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # an offset that moves it past year 1 or 9999
        moment = EARLIEST - timedelta(days=1)
    if moment < EARLIEST:
        raise ConfigurationError(
            f"time {text!r} is before {EARLIEST:%Y-%m-%d}: no event is that old; give a later time"
        )
    return moment


@dataclass(frozen=True, kw_only=True)
class AnalyzeConfig:
    """How groups are aggregated and how their status is decided (see analyzers.lifecycle)."""

    window: timedelta = timedelta(days=7)
    baseline_windows: int = 4  # previous windows whose mean is the escalation baseline
    escalation_factor: float = 2.0
    escalation_min_increase: int = 10
    # A group must have existed this long before the current window before it can escalate: the
    # baseline is its rate over the baseline windows since its first occurrence (see lifecycle).
    escalation_min_history: timedelta = timedelta(days=3)
    quiet_period: timedelta = timedelta(days=7)  # silence after which a recurrence is a regression
    resolve_after: timedelta = timedelta(days=3)  # a newer version must run this long without the error
    recency_half_life: timedelta = timedelta(days=3)


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """Cron expressions (crontab syntax, minute first) evaluated in `timezone`."""

    timezone: str = "UTC"
    analyze: str = "0 * * * *"
    digest: str = "0 8 * * mon"
    check: str = "*/5 * * * *"
    prune: str = "30 3 * * *"
    digest_window: timedelta = timedelta(days=7)  # the window each scheduled digest covers
    backoff_initial: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(minutes=15)
    health_host: str = "127.0.0.1"  # loopback by default: the metrics name services and error counts
    health_port: int = 0  # 0: no health endpoint


@dataclass(frozen=True, kw_only=True)
class RetentionConfig:
    """How long data is kept: daily event indices, and groups in the registry since last seen."""

    events: timedelta = timedelta(days=30)
    groups: timedelta = timedelta(days=365)


@dataclass(frozen=True, kw_only=True)
class CheckConfig:
    """Nagios thresholds: error rate in errors per minute, new groups as a count."""

    window: timedelta = timedelta(minutes=15)
    warning_rate: float = 5.0
    critical_rate: float = 20.0
    warning_new: int = 1
    critical_new: int = 5
    warning_regressed: int = 1  # regressed groups (resolved, and occurring again): see analyzers.check
    critical_regressed: int = 5
    shards_warning: float = 0.8  # share of the cluster's shard limit in use
    shards_critical: float = 0.95
    shard_size_warning_gb: float = 50.0  # a primary shard of the latest whole day past this: WARNING


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    """Where `check` sends an alert for a new or escalating group: a webhook, email addresses (sent
    through `[smtp]`), or both; nothing is sent when both are empty."""

    webhook_url: str = ""
    email_to: tuple[str, ...] = ()
    on: tuple[str, ...] = ("new", "escalating", "regressed")  # a fix that did not hold is news
    timeout: timedelta = timedelta(seconds=5)

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured (a webhook, email addresses, or both)."""
        return bool(self.webhook_url or self.email_to)


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Any frozen settings dataclass whose fields all have defaults (other packages' sections too).
_Config = TypeVar("_Config", bound="DataclassInstance")


def _coerce(section: str, key: str, default: Any, value: Any) -> Any:
    name = f"[{section}] {key}"
    if isinstance(default, timedelta):
        return parse_duration(value, name=name)
    if isinstance(default, tuple):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigurationError(f'{name} must be a list of strings, e.g. ["a", "b"]')
        return tuple(str(item) for item in value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigurationError(f"{name} = {value!r} must be true or false")
        return value
    if not isinstance(default, int | float | str):
        return value
    flag_for_number = isinstance(value, bool) and not isinstance(default, str)
    if isinstance(value, list | tuple | Mapping) or flag_for_number:
        # (a list or table is no one value; true is no number: int(True) was 1, str([...]) a host name)
        raise ConfigurationError(f"{name} = {value!r} must be a {_KIND[type(default)]}")
    try:
        coerced = type(default)(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigurationError(f"{name} = {value!r} must be a {_KIND[type(default)]}") from None
    if isinstance(default, int) and isinstance(value, float) and value != coerced:  # int(2.5) was 2
        raise ConfigurationError(f"{name} = {value!r} must be a {_KIND[int]}")
    if isinstance(coerced, float) and not math.isfinite(coerced):  # nan: every comparison false
        raise ConfigurationError(f"{name} = {value!r} must be a {_KIND[float]}")
    if isinstance(coerced, int | float) and coerced < 0:
        raise ConfigurationError(f"{name} = {value!r} must not be negative")
    return coerced


_KIND: Final = {int: "whole number", float: "finite number", str: "text (in quotes)"}


def parse(cls: type[_Config], section: str, table: Mapping[str, Any]) -> _Config:
    """Build `cls` from a TOML table, rejecting unknown keys and values of the wrong kind."""
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise ConfigurationError(unknown_keys_message(section, unknown, known))
    defaults = cls()
    values = {key: _coerce(section, key, getattr(defaults, key), value) for key, value in table.items()}
    return cls(**values)


DIGEST_KEYS: Final = ("title", "timezone")  # timezone: read by analyzers.digest_options


def digest_title(section: Mapping[str, Any]) -> str | None:
    """The `[digest]` section's title (None: the default), its keys checked."""
    unknown = sorted(set(section) - set(DIGEST_KEYS))
    if unknown:
        raise ConfigurationError(unknown_keys_message("digest", unknown, DIGEST_KEYS))
    title = section.get("title")
    return str(title) if title else None


def analyze_config(table: Mapping[str, Any]) -> AnalyzeConfig:
    if "max_groups" in table:
        raise ConfigurationError(
            "[analyze] max_groups is no longer a setting: analyze now updates every group; remove the line"
        )
    config = parse(AnalyzeConfig, "analyze", table)
    if config.baseline_windows < 1:
        raise ConfigurationError("[analyze] baseline_windows must be at least 1")
    return config


def schedule_config(table: Mapping[str, Any]) -> ScheduleConfig:
    config = parse(ScheduleConfig, "schedule", table)
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"[schedule] timezone = {config.timezone!r} is not a known time zone: "
            "use e.g. UTC or Europe/Berlin"
        ) from None
    if not 0 <= config.health_port <= 65535:
        raise ConfigurationError(
            f"[schedule] health_port = {config.health_port} must be 0 (off) or a TCP port"
        )
    return config


def retention_config(table: Mapping[str, Any]) -> RetentionConfig:
    config = parse(RetentionConfig, "retention", table)
    if config.events < timedelta(days=1):
        raise ConfigurationError("[retention] events must be at least 1d: indices are deleted by whole days")
    if config.groups < config.events:
        raise ConfigurationError(
            "[retention] groups must not be shorter than events: a group would leave the registry "
            "while its events are still stored"
        )
    return config


def check_config(table: Mapping[str, Any]) -> CheckConfig:
    config = parse(CheckConfig, "check", table)
    if (
        config.warning_rate > config.critical_rate
        or config.warning_new > config.critical_new
        or config.warning_regressed > config.critical_regressed
        or config.shards_warning > config.shards_critical
    ):
        raise ConfigurationError("[check] warning thresholds must not exceed the critical ones")
    if config.warning_regressed < 1:  # 0 would warn on every run: a regression is never "normal"
        raise ConfigurationError("[check] warning_regressed must be at least 1 (one regressed group warns)")
    if not 0 < config.shards_warning <= 1 or not 0 < config.shards_critical <= 1:
        raise ConfigurationError("[check] shards_warning and shards_critical are shares: write e.g. 0.8")
    return config


def alerts_config(table: Mapping[str, Any]) -> AlertsConfig:
    config = parse(AlertsConfig, "alerts", table)
    unknown = set(config.on) - {"new", "escalating", "regressed"}
    if unknown:
        raise ConfigurationError(
            f"[alerts] on has unknown status(es) {sorted(unknown)}: use new, escalating, regressed"
        )
    if config.webhook_url and not config.webhook_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"[alerts] webhook_url = {config.webhook_url!r} must be an http(s) URL")
    return config
