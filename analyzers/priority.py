"""The priority score of an error group: pure, documented, higher means "look at this first".

    priority = severity x frequency x spread x recency x status_weight

severity       fatal/critical 5; error with a traceback 4; error line without traceback 3 (a level in
               any spelling `shipper.schema` reads as an error: FATAL_LEVELS, else error);
               feedback: bug 3, usability 2, feature 1; warning 1; anything else 0.5
frequency      1 + log2(1 + events in the window)       (10x the events is ~+3.3, not 10x the score)
spread         1 + 0.5 log2(hosts) + 0.5 log2(services) + 0.25 log2(versions)   (each count >= 1)
recency        0.5 ** (hours since last seen / half-life hours)   (half-life 3 days by default)
status_weight  escalating 1.5, regressed 1.5, new 1.25, ongoing 1; resolved and ignored 0

The logarithms keep one noisy group from drowning everything else; recency makes a group that
stopped fade out of the digest within a couple of weeks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shipper import schema

SEVERITY: Final = {"fatal": 5.0, "critical": 5.0, "traceback": 4.0, "error": 3.0, "warning": 1.0}
FEEDBACK_SEVERITY: Final = {"bug": 3.0, "usability": 2.0, "feature": 1.0}
STATUS_WEIGHT: Final = {
    "escalating": 1.5,
    "regressed": 1.5,
    "new": 1.25,
    "ongoing": 1.0,
    "resolved": 0.0,
    "ignored": 0.0,
}


@dataclass(frozen=True, kw_only=True)
class Signals:
    """What the score looks at; `level` is the log level name in any case."""

    level: str | None
    has_traceback: bool
    count_window: int
    hosts: int
    services: int
    versions: int
    last_seen: datetime
    status: str = "ongoing"
    feedback_kind: str | None = None


# The spellings of a fatal level (syslog's, Go's, pino's 60; the schema reads them all as errors): the
# other error levels the schema names (`err`, `severe`, 50...) score as "error", not as an unknown
# level below a warning.
FATAL_LEVELS: Final = frozenset(("fatal", "critical", "crit", "alert", "emerg", "emergency", "panic", "60"))


def level_name(level: str | None) -> str:
    """The severity class of a level in any spelling: fatal, error, warning, or the level lowercased."""
    name = (level or "").strip(schema.LEVEL_BLANKS).lower()
    if name in FATAL_LEVELS:
        return "fatal"
    if schema.is_error_level(name):
        return "error"
    return "warning" if name == "warn" else name


def severity(level: str | None, *, has_traceback: bool, feedback_kind: str | None = None) -> float:
    if feedback_kind is not None:
        return FEEDBACK_SEVERITY.get(feedback_kind, 1.0)
    name = level_name(level)
    if name == "fatal":
        return SEVERITY[name]
    if has_traceback:
        return SEVERITY["traceback"]
    return SEVERITY.get(name, 0.5)


def frequency(count_window: int) -> float:
    return 1.0 + math.log2(1 + max(count_window, 0))


def spread(*, hosts: int, services: int, versions: int) -> float:
    return (
        1.0
        + 0.5 * math.log2(max(hosts, 1))
        + 0.5 * math.log2(max(services, 1))
        + 0.25 * math.log2(max(versions, 1))
    )


def recency(last_seen: datetime, *, now: datetime, half_life: timedelta = timedelta(days=3)) -> float:
    hours = max((now - last_seen).total_seconds() / 3600, 0.0)
    return float(0.5 ** (hours / (half_life.total_seconds() / 3600)))


def score(signals: Signals, *, now: datetime, half_life: timedelta = timedelta(days=3)) -> float:
    """The priority, rounded to 4 decimals so that stored values compare stably."""
    value = (
        severity(signals.level, has_traceback=signals.has_traceback, feedback_kind=signals.feedback_kind)
        * frequency(signals.count_window)
        * spread(hosts=signals.hosts, services=signals.services, versions=signals.versions)
        * recency(signals.last_seen, now=now, half_life=half_life)
        * STATUS_WEIGHT.get(signals.status, 1.0)
    )
    return round(value, 4)
