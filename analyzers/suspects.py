"""Suspects: attribute values over-represented among a group's events, by a documented test.

The rule a reader must not break: a value is flagged only when chance is an unlikely explanation
*after* correcting for how many values were tested, and when the effect is large enough to matter.

The test, per group, for every (dimension, value) the group's events carry:

- n = the group's events in the window whose dimension is known, k = those with the value;
- N = the population's events (the same services, the same window) whose dimension is known,
  K = those with the value. The group's events are part of the population.
- If the group's events were a random draw of n from the population, k would follow the
  hypergeometric distribution; the one-sided p-value is P(X >= k).
- p-values are adjusted with Holm's step-down method over every value tested for the group (all
  dimensions together), which bounds the chance of any false flag per group at `alpha`.
- A value is a suspect when the adjusted p <= alpha, k >= min_count (a handful of events proves
  nothing however skewed), and the group's share of the value is at least `min_lift` times the
  population's share (a tiny but "significant" skew on a huge group is not worth a reader's time;
  with the default of 2, a value most of the population carries is never a suspect: a bug confined
  to one host would otherwise also flag whatever Python version most hosts run).

Events are treated as independent draws. They are not (a crash loop repeats on one host), so a burst
on one host flags that host: which is where an engineer should look anyway.

Pure functions over pandas frames; no scipy: the tail is summed in log space from k upwards and
stops once the terms no longer change the sum (the terms decrease beyond the mode, and k lies
beyond the mean whenever the test can matter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import pandas as pd

_TAIL_EPSILON: Final = 1e-16
_MAX_TERMS: Final = 1_000_000


@dataclass(frozen=True, kw_only=True)
class SuspectTest:
    """The thresholds of the test (see the module docstring); `[rootcause]` can change them."""

    alpha: float = 0.01
    min_count: int = 5
    min_lift: float = 2.0


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_sf(k: int, population: int, successes: int, draws: int) -> float:
    """P(X >= k) for X ~ Hypergeometric(N=population, K=successes, n=draws)."""
    low, high = max(0, draws - (population - successes)), min(draws, successes)
    if k <= low:
        return 1.0
    if k > high:
        return 0.0
    if k <= draws * successes / population:  # at or below the mean: never a suspect; skip the sum
        return 1.0
    denominator = _log_comb(population, draws)
    total = 0.0
    for x in range(k, min(high, k + _MAX_TERMS) + 1):
        term = math.exp(_log_comb(successes, x) + _log_comb(population - successes, draws - x) - denominator)
        total += term
        if term <= total * _TAIL_EPSILON:
            break
    return min(1.0, total)


def holm(p_values: pd.Series, families: pd.Series | None = None) -> pd.Series:
    """Holm-adjusted p-values (same index, unique), within each family (all one without `families`):
    the i-th smallest of m times (m - i + 1), made monotone by a running maximum, capped at 1."""
    if p_values.empty:
        return p_values.astype("float64")
    family = pd.Series(0, index=p_values.index) if families is None else families
    frame = pd.DataFrame({"p": p_values.astype("float64"), "family": family})
    ordered = frame.sort_values(["family", "p"], kind="stable")  # ties keep their order
    by_family = ordered.groupby("family", sort=False)
    factors = by_family["p"].transform("size") - by_family.cumcount()
    adjusted = (ordered["p"] * factors).groupby(ordered["family"], sort=False).cummax().clip(upper=1.0)
    return adjusted.reindex(p_values.index)


def score(group: pd.DataFrame, population: pd.DataFrame, test: SuspectTest = SuspectTest()) -> pd.DataFrame:
    """Test every value of every group at once.

    `group`: columns [key,] dimension, value, count (a group's events with that value).
    `population`: columns [key,] dimension, value, count (that group's population with that value).
    Without a `key` column both describe one group. Returns one row per group value with: count,
    group_total, share, population_count, population_total, population_share, lift, p, p_adjusted
    (Holm within its group), suspect (bool); per key, in the order the dimensions first appear in
    `group`, then by count (highest first).
    """
    group, population = _keyed(group), _keyed(population)
    keys = ["key", "dimension", "value"]
    frame = group[[*keys, "count"]].merge(
        population[[*keys, "count"]].rename(columns={"count": "population_count"}), on=keys, how="left"
    )
    frame["population_count"] = frame["population_count"].fillna(0).round().astype("int64")
    frame["group_total"] = frame.groupby(["key", "dimension"])["count"].transform("sum")
    totals = population.groupby(["key", "dimension"])["count"].sum().round().astype("int64")
    frame = frame.join(totals.rename("population_total"), on=["key", "dimension"])
    frame["population_total"] = frame["population_total"].fillna(0).astype("int64")
    # The group is part of the population: where rounding or a lagging aggregation says otherwise,
    # the population is raised to contain the group (never the reverse, which would flag more).
    others = (frame["population_total"] - frame["population_count"]).clip(lower=0)
    frame["population_count"] = frame[["population_count", "count"]].max(axis=1)
    others = pd.concat([others, frame["group_total"] - frame["count"]], axis=1).max(axis=1)
    frame["population_total"] = frame["population_count"] + others
    frame["share"] = frame["count"] / frame["group_total"]
    frame["population_share"] = frame["population_count"] / frame["population_total"]
    frame["lift"] = frame["share"] / frame["population_share"]
    frame["p"] = [
        hypergeom_sf(int(k), int(big_n), int(big_k), int(n))
        for k, big_n, big_k, n in zip(
            frame["count"],
            frame["population_total"],
            frame["population_count"],
            frame["group_total"],
            strict=True,
        )
    ]
    frame["p_adjusted"] = holm(frame["p"], frame["key"])
    frame["suspect"] = (
        (frame["p_adjusted"] <= test.alpha)
        & (frame["count"] >= test.min_count)
        & (frame["lift"] >= test.min_lift)
    )
    order = {dimension: rank for rank, dimension in enumerate(dict.fromkeys(group["dimension"]))}
    frame["order"] = frame["dimension"].map(order)
    frame = frame.sort_values(["key", "order", "count", "value"], ascending=[True, True, False, True])
    return frame.drop(columns="order").reset_index(drop=True)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if "key" in frame.columns else frame.assign(key="")
