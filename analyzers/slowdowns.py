"""Why an operation got slow: what its slow calls have in common that its other calls do not.

An operation got slow when its p95 in the window is at least `SLOWER` times the previous window's.
Its slow calls are the window's calls that took longer than the previous window's p95 (what one call
in twenty took before). They are compared with all of the operation's calls in the window, value by
value of outcome, host, version, service and error type, by `analyzers.suspects`' test: a value is named
only when chance is an unlikely explanation after correcting for the number of values tested. A
version that did not run the operation in the previous window is named too (a release is the usual
why), and so is the share of slow calls that failed.

The rule not to break: one search for every operation shown, counted by Elasticsearch whatever the
volume (`request`); everything else here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from analyzers import queries, suspects
from analyzers.digest_frames import NANOSECONDS_PER_MS
from analyzers.digest_window import Window
from analyzers.suspects import SuspectTest
from analyzers.wording import counted

SLOWER: Final = 2.0  # p95 now over p95 before: from this ratio on, the digest says why
NO_ERROR: Final = "(none)"  # the error dimension's value for a call that did not fail
_OTHER: Final = "\x00other"  # the values past the terms' size, counted so that shares stay exact
_VALUES: Final = 10  # values per dimension asked for
# The dimensions compared, by field; the name is how a sentence says it.
DIMENSIONS: Final = {
    "outcome": "event.outcome",  # `shipper.timing` sets it: success or failure
    "host": "host.name",
    "version": "service.version",
    "service": "service.name",
    "error": "error.type",
}


@dataclass(frozen=True, kw_only=True)
class Operation:
    """What the request needs of an operation the digest shows."""

    action: str
    p95_ms: float | None
    previous_p95_ms: float | None

    @property
    def got_slow(self) -> bool:
        return (
            self.p95_ms is not None
            and self.previous_p95_ms is not None
            and self.previous_p95_ms > 0
            and self.p95_ms >= SLOWER * self.previous_p95_ms
        )


@dataclass(frozen=True, kw_only=True)
class Trait:
    """A value the slow calls carry far more often than the operation's calls do."""

    dimension: str
    value: str
    count: int  # slow calls with it
    share: float  # of the slow calls whose dimension is known
    calls_share: float  # of all the window's calls whose dimension is known

    def phrase(self) -> str:
        if self.dimension == "error":
            what = "had no error" if self.value == NO_ERROR else f"failed with {self.value}"
        elif self.dimension == "outcome":
            what = {"failure": "failed", "success": "succeeded"}.get(self.value, f"ended {self.value}")
        else:
            what = f"came from {self.dimension} {self.value}"
        return f"{self.share:.0%} of them {what} (against {self.calls_share:.0%} of all its calls)"


@dataclass(frozen=True, kw_only=True)
class Slowdown:
    """Why one operation got slow, as far as its calls tell."""

    action: str
    threshold_ms: float  # the previous window's p95
    slow: int  # the window's calls over it
    calls: int
    failed: int  # slow calls that failed
    traits: tuple[Trait, ...]
    new_versions: tuple[str, ...]  # versions of the slow calls that did not run it in the previous window
    min_count: int  # the suspects test's: fewer slow calls can set nothing apart

    def sentence(self, duration: Callable[[float], str]) -> str:
        """One line: how many calls were slow, and what they have in common (`duration` formats ms)."""
        head = (
            f"{self.slow:,} of {counted(self.calls, 'call')} took longer than {duration(self.threshold_ms)}, "
            "the previous window's p95"
        )
        parts = [trait.phrase() for trait in self.traits]
        if not self.traits:
            parts.append(
                "too few to tell what sets them apart"
                if self.slow < self.min_count
                else "no outcome, host, version, service or error sets them apart from its other calls"
            )
        if self.failed and not any(trait.dimension in ("error", "outcome") for trait in self.traits):
            parts.append(f"{self.failed:,} of them failed")
        if self.new_versions:
            names = ", ".join(self.new_versions)
            parts.append(f"version{'s' if len(self.new_versions) > 1 else ''} {names} did not run it before")
        return f"{head}; " + "; ".join(parts) + "."


def got_slow(operations: Iterable[Operation]) -> tuple[Operation, ...]:
    """The operations to explain, in order: `request` and `slowdowns` take this same tuple (the
    response names each operation's aggregation by its position in it)."""
    return tuple(operation for operation in operations if operation.got_slow)


def request(window: Window, slowed: Sequence[Operation]) -> dict[str, Any] | None:
    """One size-0 search for the operations that got slow (`got_slow`; None when none did): per
    operation, the values of each dimension among its slow calls and among all its calls in the
    window, and the versions that ran it in the previous window."""
    if not slowed:
        return None
    current = queries.time_range(window.start, window.end)
    aggs: dict[str, Any] = {}
    for index, operation in enumerate(slowed):
        assert operation.previous_p95_ms is not None  # (got_slow)
        threshold = operation.previous_p95_ms * NANOSECONDS_PER_MS
        aggs[f"op{index}"] = {
            "filter": {"term": {"event.action": operation.action}},
            "aggs": {
                "calls": {"filter": current, "aggs": _dimensions()},
                "slow": {
                    "filter": queries.all_of(current, {"range": {"event.duration": {"gt": threshold}}}),
                    "aggs": _dimensions(),
                },
                "before": {
                    "filter": queries.time_range(window.previous.start, window.previous.end),
                    "aggs": {"versions": queries.terms_agg(DIMENSIONS["version"], 100)},
                },
            },
        }
    return {
        "size": 0,
        "track_total_hits": False,
        "query": queries.all_of(
            queries.time_range(window.previous.start, window.end),
            {"terms": {"event.action": [operation.action for operation in slowed]}},
        ),
        "aggs": aggs,
    }


def _dimensions() -> dict[str, Any]:
    aggs: dict[str, Any] = {name: queries.terms_agg(field, _VALUES) for name, field in DIMENSIONS.items()}
    aggs["error"]["terms"]["missing"] = NO_ERROR  # a call that did not fail is a value too
    return aggs


def slowdowns(
    slowed: Sequence[Operation],
    response: Mapping[str, Any],
    test: SuspectTest,
) -> dict[str, Slowdown]:
    """Per action that got slow, why (see the module docstring), from the response to `request` for
    the same operations (`got_slow`)."""
    aggs = response.get("aggregations") or {}
    found: dict[str, Slowdown] = {}
    for index, operation in enumerate(slowed):
        bucket = aggs.get(f"op{index}")
        if not bucket or not bucket["slow"]["doc_count"]:
            continue
        slow, calls = _values(bucket["slow"]), _values(bucket["calls"])
        traits = _traits(slow, calls, test)
        before = {str(b["key"]) for b in bucket["before"]["versions"]["buckets"]}
        slow_versions = slow.loc[slow["dimension"] == "version", "value"]
        failed = _failed(slow)
        found[operation.action] = Slowdown(
            action=operation.action,
            threshold_ms=float(operation.previous_p95_ms or 0.0),
            slow=int(bucket["slow"]["doc_count"]),
            calls=int(bucket["calls"]["doc_count"]),
            failed=failed,
            traits=traits,
            new_versions=tuple(v for v in slow_versions if v != _OTHER and v not in before) if before else (),
            min_count=test.min_count,
        )
    return found


def _failed(slow: pd.DataFrame) -> int:
    """Slow calls that failed: by their outcome, else (an older shipper's, without one) by an error."""
    outcomes = slow[slow["dimension"] == "outcome"]
    if not outcomes.empty:
        return int(outcomes.loc[outcomes["value"] == "failure", "count"].sum())
    return int(slow.loc[(slow["dimension"] == "error") & (slow["value"] != NO_ERROR), "count"].sum())


def _values(bucket: Mapping[str, Any]) -> pd.DataFrame:
    """dimension, value, count: every value of every dimension the terms returned, and the rest as one."""
    rows: list[tuple[str, str, int]] = []
    for name in DIMENSIONS:
        terms = bucket[name]
        rows.extend((name, str(b["key"]), int(b["doc_count"])) for b in terms["buckets"])
        if terms.get("sum_other_doc_count"):
            rows.append((name, _OTHER, int(terms["sum_other_doc_count"])))
    return pd.DataFrame(rows, columns=["dimension", "value", "count"])


def _traits(slow: pd.DataFrame, calls: pd.DataFrame, test: SuspectTest) -> tuple[Trait, ...]:
    """The values `suspects.score` flags among the slow calls against all calls, most telling first."""
    if slow.empty:
        return ()
    scored = suspects.score(slow, calls, test)
    flagged = scored[scored["suspect"] & (scored["value"] != _OTHER)].sort_values(
        ["p_adjusted", "dimension"], kind="stable"
    )
    return tuple(
        Trait(
            dimension=str(row["dimension"]),
            value=str(row["value"]),
            count=int(row["count"]),
            share=float(row["share"]),
            calls_share=float(row["population_share"]),
        )
        for _, row in flagged.iterrows()
    )
