"""Status of an error group: pure rules, decided once per `logloop analyze` run.

The window is [until - window, until) (7 days by default); the `baseline_windows` windows before it
(4 by default) give the baseline. Rules, first match wins:

1. ignored     -- a maintainer ran `logloop ignore`; it stays ignored whatever happens.
2. regressed   -- it was resolved (by `logloop resolve`, or automatically) and occurred again after
                  resolved_at; with `--in-version V` only occurrences on versions >= V count (PEP 440
                  ordering, tolerant of a leading "v"; events without a version do not count then).
   resolved    -- it was resolved and did not occur again: it stays resolved.
3. regressed   -- it occurred again after a silence of at least `quiet_period` (7 days) since the
                  last occurrence the registry knew of.
4. regressed   -- it became regressed during the current window and still occurs: it stays regressed
                  until a full window has passed.
5. resolved    -- automatically, "resolved in version X": X is a version of one of the group's
                  services newer than every version the group occurred on, X has been running for at
                  least `resolve_after` (3 days), and the group has not occurred since X appeared.
6. new         -- its first occurrence ever is inside the window.
7. escalating  -- window count >= max(escalation_factor x baseline, baseline + escalation_min_increase)
                  (defaults: twice the baseline and at least 10 more events), where the baseline is
                  the group's rate over the part of the baseline windows after its first occurrence,
                  scaled to one window. Windows before a group existed are not zeros: a bug that
                  persists at the rate it started with is not escalating. A group needs at least
                  `escalation_min_history` (3 days) of history before the window to escalate at all.
8. ongoing     -- everything else (including groups with no event in the window).

A regression records when the group came back (its first occurrence that counts, see rule 2) and the
version of that occurrence (`regressed_at`, `regressed_in_version`); after a resolve it keeps the
resolve's time and version too. All of them stay while it is regressed.

`rules()` returns the same list with the configured numbers for the README and the digest.

What is counted (one rule for every figure: the digest's totals, trend, lists and error lines,
`check`'s rate and groups): the events of a group in an UNCOUNTED_STATUSES status (ignored) are in
none of them, and each says apart how many there were ("N events of ignored groups, not counted"),
as Sentry leaves ignored issues out of its counts. Resolved and regressed groups are counted: their
events are real errors, and a regressed group is what a reader must see first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from analyzers.config import AnalyzeConfig

UNCOUNTED_STATUSES: Final = frozenset({"ignored"})


def uncounted(statuses: Iterable[tuple[str, str]]) -> list[str]:
    """The keys of the (key, status) pairs whose events no figure counts (see the module), sorted."""
    return sorted({key for key, status in statuses if status in UNCOUNTED_STATUSES})


_VERSION = re.compile(
    r"^v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre>a|alpha|b|beta|c|rc|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?"
    r"(?:\+[a-z0-9.]+)?$",
    re.IGNORECASE,
)
_PRE_RANK: Final = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_FINAL_RANK: Final = 3

VersionKey = tuple[tuple[int, ...], int, int, int, int, int]


def version_key(text: str) -> VersionKey | None:
    """A sortable key following PEP 440 (dev < a < b < rc < final < post); None if unparseable."""
    match = _VERSION.match(text.strip())
    if not match:
        return None
    release = tuple(int(part) for part in match["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    pre, post, dev = match["pre"], match["post"], match["dev"]
    if pre:
        phase = _PRE_RANK[pre.lower()]
    elif dev is not None and post is None:
        phase = -1  # 1.0.dev1 sorts before 1.0a1
    else:
        phase = _FINAL_RANK
    return (
        release,
        phase,
        int(match["pre_n"] or 0),
        -1 if post is None else int(post or 0),
        1 if dev is None else 0,
        int(dev or 0),
    )


def version_at_least(version: str, minimum: str) -> bool:
    """version >= minimum by PEP 440; unparseable versions only match themselves."""
    left, right = version_key(version), version_key(minimum)
    if left is None or right is None:
        return version.strip() == minimum.strip()
    return left >= right


def _newer_than_all(candidate: str, versions: Sequence[str]) -> bool:
    key = version_key(candidate)
    keys = [version_key(version) for version in versions]
    return key is not None and all(other is not None and key > other for other in keys)


@dataclass(frozen=True, kw_only=True)
class History:
    """What the registry knew of a group before this run."""

    status: str
    last_seen: datetime
    status_changed_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_in_version: str | None = None
    regressed_at: datetime | None = None
    regressed_in_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class Observation:
    """What the events say about a group at the time of this run."""

    first_seen: datetime  # first occurrence ever
    last_seen: datetime
    window_counts: tuple[int, ...]  # current window first, then the baseline windows, newest first
    versions: tuple[str, ...] = ()  # every version the group occurred on (in the look-back range)
    first_since: datetime | None = None  # first occurrence after History.resolved_at / last_seen
    versions_since: tuple[str, ...] = ()  # versions of the occurrences after that time
    # (version, its first occurrence after that time), for the version a regression came back on
    first_since_by_version: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Decision:
    status: str
    resolved_in_version: str | None = None
    resolved_at: datetime | None = None
    regressed_at: datetime | None = None
    regressed_in_version: str | None = None


def baseline_history(first_seen: datetime, *, now: datetime, window: timedelta, windows: int) -> timedelta:
    """How much of the `windows` baseline windows before the current one the group existed for."""
    window_start = now - window
    start = max(first_seen, window_start - windows * window)
    return max(window_start - start, timedelta(0))


def baseline(window_counts: Sequence[int], *, history: timedelta, window: timedelta) -> float | None:
    """Events per window over the baseline windows' `history`; None when there is no history.

    Only the time the group existed counts: a group first seen 10 days ago in 7-day windows has a
    baseline of (its events 7-10 days ago) / 3 days x 7 days, not the mean of 4 windows of which 3
    are zeros that predate it.
    """
    if history <= timedelta(0):
        return None
    return sum(window_counts[1:]) * (window / history)


def is_escalating(
    window_counts: Sequence[int], config: AnalyzeConfig, *, first_seen: datetime, now: datetime
) -> bool:
    """Rule 7: the current window against the baseline, given enough history (see the module)."""
    history = baseline_history(first_seen, now=now, window=config.window, windows=config.baseline_windows)
    base = baseline(window_counts, history=history, window=config.window)
    current = window_counts[0] if window_counts else 0
    if base is None or history < config.escalation_min_history:
        return False
    return current > 0 and current >= max(
        config.escalation_factor * base, base + config.escalation_min_increase
    )


def resolved_by_version(
    observation: Observation,
    service_versions: Mapping[str, datetime],
    *,
    config: AnalyzeConfig,
    now: datetime,
) -> str | None:
    """The oldest version X that rule 5 accepts, or None."""
    if not observation.versions:
        return None
    candidates = [
        (version_key(version), version)
        for version, appeared in service_versions.items()
        if appeared <= now - config.resolve_after
        and observation.last_seen < appeared
        and _newer_than_all(version, observation.versions)
    ]
    if not candidates:
        return None
    return min((key, version) for key, version in candidates if key is not None)[1]


def recurs_after_resolve(
    resolved_in_version: str | None, first_since: datetime | None, versions_since: Sequence[str]
) -> bool:
    """Rule 2: whether the occurrences after a resolve (the first one, and their versions) make the
    resolved group regressed (with `--in-version V`, only versions >= V count). `check` asks it too."""
    if first_since is None:
        return False
    if resolved_in_version is None:
        return True
    return any(version_at_least(version, resolved_in_version) for version in versions_since)


def _regressed_after_resolve(history: History, observation: Observation) -> bool:
    return recurs_after_resolve(
        history.resolved_in_version, observation.first_since, observation.versions_since
    )


def came_back(observation: Observation, minimum_version: str | None) -> tuple[datetime | None, str | None]:
    """When a regression came back and on which version: its first occurrence that counts.

    With a minimum version (`resolve --in-version V`) only versions >= V count; otherwise the first
    occurrence after the resolve or the silence, with the version it carried (None without one).
    """
    firsts = sorted(
        (moment, version)
        for version, moment in observation.first_since_by_version
        if minimum_version is None or version_at_least(version, minimum_version)
    )
    if minimum_version is not None:
        return firsts[0] if firsts else (observation.first_since, None)
    first = observation.first_since
    version = next((version for moment, version in firsts if moment == first), None)
    return first, version


def _regressed(observation: Observation, resolve: History | None) -> Decision:
    """A regression, after the resolve `resolve` records (kept on the decision), or after a silence."""
    moment, version = came_back(observation, resolve.resolved_in_version if resolve else None)
    return Decision(
        status="regressed",
        regressed_at=moment,
        regressed_in_version=version,
        resolved_in_version=resolve.resolved_in_version if resolve else None,
        resolved_at=resolve.resolved_at if resolve else None,
    )


def decide(
    history: History | None,
    observation: Observation,
    *,
    service_versions: Mapping[str, datetime],
    config: AnalyzeConfig,
    now: datetime,
) -> Decision:
    """Apply the module's rules in order; `now` is the end of the window."""
    window_start = now - config.window
    if history is not None and history.status == "ignored":
        return Decision(status="ignored")
    if history is not None and history.status == "resolved":
        if _regressed_after_resolve(history, observation):
            return _regressed(observation, history)
        return Decision(
            status="resolved",
            resolved_in_version=history.resolved_in_version,
            resolved_at=history.resolved_at,
        )
    if (
        history is not None
        and observation.first_since is not None
        and observation.first_since - history.last_seen >= config.quiet_period
    ):
        return _regressed(observation, None)
    current = observation.window_counts[0] if observation.window_counts else 0
    if (
        history is not None
        and history.status == "regressed"
        and history.status_changed_at is not None
        and history.status_changed_at >= window_start
        and current > 0
    ):
        return Decision(
            status="regressed",
            regressed_at=history.regressed_at,
            regressed_in_version=history.regressed_in_version,
            resolved_in_version=history.resolved_in_version,
            resolved_at=history.resolved_at,
        )
    version = resolved_by_version(observation, service_versions, config=config, now=now)
    if version is not None:
        return Decision(status="resolved", resolved_in_version=version, resolved_at=now)
    if observation.first_seen >= window_start:
        return Decision(status="new")
    if is_escalating(observation.window_counts, config, first_seen=observation.first_seen, now=now):
        return Decision(status="escalating")
    return Decision(status="ongoing")


_DEFAULTS: Final = AnalyzeConfig()


def rules(config: AnalyzeConfig = _DEFAULTS) -> list[tuple[str, str]]:
    """(status, rule) pairs in the order they are tried, with the configured numbers filled in."""
    return [
        ("ignored", "marked by a maintainer with `logloop ignore`; stays ignored"),
        (
            "regressed",
            "was resolved and occurred again after being resolved (with `--in-version V`: on a version >= V)",
        ),
        ("resolved", "marked with `logloop resolve` (or resolved automatically) and not seen since"),
        ("regressed", f"occurred again after at least {_human(config.quiet_period)} of silence"),
        ("regressed", "became regressed within the current window and still occurs"),
        (
            "resolved",
            "resolved in version X: a newer version X of its service has run for "
            f"{_human(config.resolve_after)} without the error",
        ),
        ("new", f"first seen within the last {_human(config.window)}"),
        (
            "escalating",
            f"count in the window >= max({config.escalation_factor:g} x baseline, baseline + "
            f"{config.escalation_min_increase}); baseline = its rate per window over the previous "
            f"{config.baseline_windows} windows since it was first seen, which must cover at least "
            f"{_human(config.escalation_min_history)}",
        ),
        ("ongoing", "everything else"),
    ]


def _human(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
