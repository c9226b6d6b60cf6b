"""Root-cause material per group, as pure functions over the root-cause queries' results.

- where it happens: the group's share of every value of every dimension against the population's
  (the events of the group's services in the same window), suspects flagged by `analyzers.suspects`;
- when it started: its first occurrence ever (time, host, version), the last version of its service
  that ran before that without it, and whether it started with a release: its first version had
  appeared at most `release_gap` before the group did, and an older version ran without it;
- what came before: the last log lines of the same process (host + `process.entity_id`, else pid;
  without either, of the same service on that host) before recent occurrences;
- what it drags along: groups that occur on the same host within `cascade_window` after (or before)
  most of its sampled occurrences (counted for every group at once in one frame, `cascades`).
  Chance is ruled out by requiring the share to be at least `cascade_share` *and* five times what
  the other group's own rate would give by chance (its events in the window spread uniformly over
  one host: count * window / window length).
  A group that drags others and follows none is the likely root; one that follows another is its
  likely symptom.

The rule: nothing here does I/O; every input is a record parsed from an aggregation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import pandas as pd

from analyzers import queries, suspects
from analyzers.digest_window import Window
from analyzers.rootcause_config import RootCauseConfig
from analyzers.rootcause_queries import Anchor, RootCauseData
from analyzers.slowdowns import Slowdown
from analyzers.suspects import SuspectTest
from analyzers.wording import counted

CHANCE_FACTOR: Final = 5.0
MIN_CASCADE_ANCHORS: Final = 3
LINE_CHARS: Final = 300


@dataclass(frozen=True, kw_only=True)
class ValueShare:
    """One value of one dimension: its share of the group against its share of the population."""

    dimension: str
    value: str
    count: int
    share: float
    population_share: float
    p_adjusted: float
    suspect: bool

    def sentence(self) -> str:
        return (
            f"{self.share:.0%} on {self.dimension} {self.value} "
            f"({counted(self.count, 'event')}), "
            f"which carries {self.population_share:.0%} of the service's events"
        )


@dataclass(frozen=True, kw_only=True)
class Onset:
    first_seen: datetime | None
    first_host: str | None
    first_version: str | None
    last_version_without: str | None
    release: str | None  # the version whose release started it, if it started with one
    release_time: datetime | None
    # The oldest occurrence still stored, when the group registry knows an earlier first occurrence (the
    # indices that held it were deleted): where and in which version it started is then unknown.
    oldest_stored: datetime | None = None
    service_known: bool = True  # its first occurrence names its service (else no version is compared)

    def sentence(self) -> str:
        """One line: when, where and in which version it started, and whether a release started it."""
        if self.first_seen is None:
            return "first occurrence unknown"
        parts = [f"first seen {self.first_seen:%Y-%m-%d %H:%M} UTC"]
        if self.oldest_stored is not None:
            parts.append(
                f"its events before {self.oldest_stored:%Y-%m-%d %H:%M} UTC are no longer stored, so where, "
                "in which version and after which release it started is unknown"
            )
            return "; ".join(parts)
        if self.first_host:
            parts[0] += f" on {self.first_host}"
        if self.first_version:
            parts[0] += f" in {self.first_version}"
        if self.last_version_without:
            parts.append(f"{self.last_version_without} ran before without it")
        if self.release:
            parts.append(f"started with release {self.release}")
        elif not self.first_version:
            parts.append("its events carry no service.version (set service_version in the shipper)")
        elif not self.service_known:
            parts.append("its events carry no service.name, so no earlier version of a service was compared")
        elif self.last_version_without is None:
            parts.append("no earlier version of its service was seen")
        else:
            parts.append("not tied to a release")
        return "; ".join(parts)


@dataclass(frozen=True, kw_only=True)
class LogLine:
    time: datetime | None
    level: str
    logger: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Breadcrumbs:
    """The log lines of one process before one occurrence, oldest first."""

    time: datetime
    host: str
    pid: int | None
    lines: tuple[LogLine, ...]
    service: str | None = None  # shown where no pid tells the process: the lines are its service's

    def text(self) -> str:
        """The lines as a log reader shows them: time, level, logger, message."""
        return "\n".join(
            f"{line.time:%H:%M:%S}" * (line.time is not None)
            + f" {line.level.upper():<8} {line.logger}: {line.message}"
            for line in self.lines
        )


@dataclass(frozen=True, kw_only=True)
class Related:
    """Another group seen on the same host within the cascade window in `hits` of `anchors` occurrences."""

    key: str
    hits: int
    anchors: int

    @property
    def share(self) -> float:
        return self.hits / self.anchors


@dataclass(frozen=True, kw_only=True)
class RootCause:
    key: str
    values: tuple[ValueShare, ...]
    onset: Onset
    breadcrumbs: tuple[Breadcrumbs, ...]
    drags: tuple[Related, ...]  # groups that follow this one: its likely symptoms
    follows: tuple[Related, ...]  # groups this one follows: its likely causes

    @property
    def suspects(self) -> tuple[ValueShare, ...]:
        return tuple(v for v in self.values if v.suspect)

    @property
    def role(self) -> str | None:
        """ "root" (drags others, follows none), "symptom" (follows another) or None."""
        if self.follows:
            return "symptom"
        return "root" if self.drags else None

    def dimension(self, name: str) -> tuple[ValueShare, ...]:
        return tuple(v for v in self.values if v.dimension == name)

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.dimension for v in self.values))


@dataclass(frozen=True, kw_only=True)
class FeedbackLink:
    """A bug report or usability complaint sent shortly after an error of a group: by the process that
    logged the error (`same_process`), else by another process on its host."""

    time: datetime
    kind: str
    host: str
    message: str
    key: str
    after: timedelta
    same_process: bool

    @property
    def since(self) -> str:
        """How it follows the error, as every digest format words it: "45 s after, same process"."""
        where = "same process" if self.same_process else "same host"
        return f"{round(self.after.total_seconds())} s after, {where}"


@dataclass(frozen=True, kw_only=True)
class Insights:
    """Everything root-cause related that a digest shows, beside the report's own sections."""

    root_causes: Mapping[str, RootCause] = field(default_factory=dict)
    feedback_links: tuple[FeedbackLink, ...] = ()
    feedback_daily: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # kind -> per bucket
    titles: Mapping[str, str] = field(default_factory=dict)  # group key -> title, for related groups
    kibana: Mapping[str, str] = field(default_factory=dict)  # group key -> Kibana Discover URL
    slowdowns: Mapping[str, Slowdown] = field(default_factory=dict)  # operation -> why it got slow

    def title(self, key: str) -> str:
        return self.titles.get(key, key[:12])


def distributions(
    group_values: Sequence[Mapping[str, object]],
    population: Sequence[Mapping[str, object]],
    test: SuspectTest,
) -> dict[str, tuple[ValueShare, ...]]:
    """Per group: every value's share against the population of the group's own services, scored
    for every group in one frame. For the service dimension itself that is the split of those
    services' events: a group seen on one service is never a suspect of it (every group belongs to
    a service), one seen on several is when it keeps to one of them."""
    groups = pd.DataFrame(group_values, columns=["key", "dimension", "value", "count"])
    pop = pd.DataFrame(population, columns=["service", "dimension", "value", "count"])
    services = groups.loc[groups["dimension"] == "service", ["key", "value"]].rename(
        columns={"value": "service"}
    )
    own = services.merge(pop, on="service")
    per_group = own.groupby(["key", "dimension", "value"])["count"].sum().reset_index()
    scored = suspects.score(groups, per_group, test)
    result: dict[str, list[ValueShare]] = {}
    for r in scored.to_dict("records"):
        result.setdefault(str(r["key"]), []).append(
            ValueShare(
                dimension=str(r["dimension"]),
                value=str(r["value"]),
                count=int(r["count"]),
                share=float(r["share"]),
                population_share=float(r["population_share"]),
                p_adjusted=float(r["p_adjusted"]),
                suspect=bool(r["suspect"]),
            )
        )
    return {key: tuple(values) for key, values in result.items()}


def onsets(
    keys: Sequence[str],
    data: RootCauseData,
    release_gap: timedelta,
    known_first: Mapping[str, datetime | None] | None = None,
) -> dict[str, Onset]:
    """The onset of each key: its first occurrence, the last version of its service without it and when
    its own version first ran (`Facets.onsets`, asked of the node), and whether a release started it
    (module docstring). `known_first`: the group registry's first occurrence of a key; one earlier than
    every stored event (its indices deleted) leaves where and how it started unknown, never the oldest
    stored event taken for its start."""
    found = {}
    for key in keys:
        first = data.facets.first.get(key, {})
        asked = data.facets.onsets.get(key, {})
        started, version = first.get("time"), first.get("version")
        known = (known_first or {}).get(key)
        if known is not None and (started is None or known < started - _SAME_MOMENT):
            found[key] = Onset(
                first_seen=known,
                first_host=None,
                first_version=None,
                last_version_without=None,
                release=None,
                release_time=None,
                oldest_stored=started,
            )
            continue
        last_without, release_time = asked.get("last_without"), asked.get("release_time")
        started_with_release = (
            started is not None
            and release_time is not None
            and last_without is not None
            and started - release_time <= release_gap
        )
        found[key] = Onset(
            first_seen=started,
            first_host=first.get("host"),
            first_version=version,
            last_version_without=last_without,
            release=version if started_with_release else None,
            release_time=release_time,
            service_known=first.get("service") is not None,
        )
    return found


# A registry's first occurrence this much earlier than the oldest stored event is another event: the
# registry keeps milliseconds as the events do, and a second covers any rounding of either.
_SAME_MOMENT: Final = timedelta(seconds=1)


def onset(key: str, data: RootCauseData, release_gap: timedelta) -> Onset:
    return onsets([key], data, release_gap)[key]


def _line(source: Mapping[str, object]) -> LogLine:
    found = source.get("log")
    log: Mapping[str, object] = found if isinstance(found, Mapping) else {}
    message = " ".join(str(source.get("message") or "").split())
    return LogLine(
        time=queries.source_time(source.get("@timestamp")),
        level=str(log.get("level") or ""),
        logger=str(log.get("logger") or ""),
        message=message if len(message) <= LINE_CHARS else message[: LINE_CHARS - 1] + "…",
    )


def _is_anchor(source: Mapping[str, object], anchor: Anchor) -> bool:
    error = source.get("error")
    key = error.get("grouping_key") if isinstance(error, Mapping) else None
    return key == anchor.key and queries.source_time(source.get("@timestamp")) == anchor.time


def all_breadcrumbs(data: RootCauseData, lines: int) -> dict[str, tuple[Breadcrumbs, ...]]:
    """Per key, the lines before each of its sampled occurrences (one pass over every anchor)."""
    found: dict[str, list[Breadcrumbs]] = {}
    for index, anchor in enumerate(data.facets.crumb_anchors):
        sources = [s for s in data.anchors.crumbs.get(index, []) if not _is_anchor(s, anchor)][:lines]
        found.setdefault(anchor.key, []).append(
            Breadcrumbs(
                time=anchor.time,
                host=anchor.host,
                pid=anchor.pid,
                lines=tuple(_line(s) for s in reversed(sources)),
                service=anchor.service,
            )
        )
    return {key: tuple(crumbs) for key, crumbs in found.items()}


def breadcrumbs(key: str, data: RootCauseData, lines: int) -> tuple[Breadcrumbs, ...]:
    return all_breadcrumbs(data, lines).get(key, ())


def cascades(
    data: RootCauseData, direction: str, counts: Mapping[str, int], window: Window, config: RootCauseConfig
) -> pd.DataFrame:
    """Every group's cascade partners in one frame, those that pass the test (module docstring).

    Columns: key, other, hits (the key's sampled occurrences that saw `other` on the same host within
    the cascade window, `direction` "after" or "before" them), anchors (the key's sampled
    occurrences), share (hits / anchors) and chance (what `other`'s own rate gives); most hits first
    within a key, then by the other key."""
    anchors = pd.DataFrame({"key": [a.key for a in data.facets.cascade_anchors]}, dtype="object")
    anchors["anchors"] = anchors.groupby("key")["key"].transform("size")
    seen = pd.Series(getattr(data.anchors, direction), dtype="object").explode().dropna()
    pairs = seen.rename("other").to_frame().join(anchors).rename_axis("anchor").reset_index()
    pairs = pairs[pairs["other"] != pairs["key"]]
    frame = (
        pairs.groupby(["key", "other"])
        .agg(hits=("anchor", "nunique"), anchors=("anchors", "first"))
        .reset_index()
    )
    frame["share"] = frame["hits"] / frame["anchors"]
    rate = config.cascade_window / window.length
    frame["chance"] = (frame["other"].map(lambda other: counts.get(str(other), 0)) * rate).clip(upper=1.0)
    kept = frame[
        (frame["anchors"] >= MIN_CASCADE_ANCHORS)
        & (frame["share"] >= config.cascade_share)
        & (frame["share"] >= CHANCE_FACTOR * frame["chance"])
    ]
    return kept.sort_values(["key", "hits", "other"], ascending=[True, False, True])


def _related(frame: pd.DataFrame) -> dict[str, tuple[Related, ...]]:
    """A `cascades` frame as each key's Related groups."""
    return {
        str(key): tuple(
            Related(key=str(r["other"]), hits=int(r["hits"]), anchors=int(r["anchors"]))
            for r in part.to_dict("records")
        )
        for key, part in frame.groupby("key", sort=False)
    }


def link_feedback(data: RootCauseData) -> tuple[FeedbackLink, ...]:
    """Each bug report or usability complaint with an error found shortly before it (`parse_anchors`)."""
    links = []
    for index, feedback in enumerate(data.facets.feedback):
        found = data.anchors.feedback.get(index)
        if found is None or feedback.host is None or not feedback.may_follow_an_error:
            continue
        links.append(
            FeedbackLink(
                time=feedback.time,
                kind=feedback.kind,
                host=feedback.host,
                message=" ".join(feedback.message.split()),
                key=str(found["key"]),
                after=feedback.time - found["time"],
                same_process=bool(found.get("same_process")),
            )
        )
    return tuple(links)


def root_causes(
    data: RootCauseData,
    keys: Sequence[str],
    *,
    counts: Mapping[str, int],
    window: Window,
    config: RootCauseConfig,
    known_first: Mapping[str, datetime | None] | None = None,
) -> dict[str, RootCause]:
    """The material of each of `keys` (`counts`: window counts of every group, for the chance rate;
    `known_first`: first occurrences the group registry knows, see `onsets`)."""
    shares = distributions(data.facets.group_values, data.facets.population, config.test)
    started = onsets(keys, data, config.release_gap, known_first)
    crumbs = all_breadcrumbs(data, config.breadcrumb_lines)
    drags = _related(cascades(data, "after", counts, window, config))
    follows = _related(cascades(data, "before", counts, window, config))
    return {
        key: RootCause(
            key=key,
            values=shares.get(key, ()),
            onset=started[key],
            breadcrumbs=crumbs.get(key, ()),
            drags=drags.get(key, ()),
            follows=follows.get(key, ()),
        )
        for key in keys
    }
