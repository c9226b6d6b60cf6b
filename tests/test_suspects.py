"""The suspect test (analyzers.suspects) against values computed by hand."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pandas as pd
import pytest

from analyzers.suspects import SuspectTest, holm, hypergeom_sf, score


def _exact_tail(k: int, population: int, successes: int, draws: int) -> float:
    total = sum(
        Fraction(comb(successes, x) * comb(population - successes, draws - x), comb(population, draws))
        for x in range(k, min(draws, successes) + 1)
    )
    return float(total)


@pytest.mark.parametrize(
    ("k", "population", "successes", "draws"),
    [
        pytest.param(5, 100, 20, 5, id="all-five-from-a-fifth"),
        pytest.param(8, 1000, 200, 16, id="half-from-a-fifth"),
        pytest.param(15, 935, 207, 15, id="one-host-of-five"),
        pytest.param(40, 100_000, 2_000, 400, id="large-population"),
    ],
)
def test_hypergeometric_tail_matches_exact_sum(k: int, population: int, successes: int, draws: int) -> None:
    """The log-space tail equals the exact rational sum to 1e-9 relative error."""
    assert hypergeom_sf(k, population, successes, draws) == pytest.approx(
        _exact_tail(k, population, successes, draws), rel=1e-9
    )


def test_hypergeometric_tail_edges() -> None:
    """At or below the mean the p-value is 1; beyond what is possible it is 0; a certain draw is 1."""
    assert hypergeom_sf(2, 100, 20, 10) == 1.0  # mean is 2
    assert hypergeom_sf(11, 100, 20, 10) == 0.0
    assert hypergeom_sf(5, 5, 5, 5) == 1.0


def test_holm_by_hand() -> None:
    """Holm: sorted p (0.01, 0.02, 0.04) times (3, 2, 1) = (0.03, 0.04, 0.04) after the running max."""
    p = pd.Series([0.04, 0.01, 0.02], index=["c", "a", "b"])
    assert holm(p).to_dict() == pytest.approx({"a": 0.03, "b": 0.04, "c": 0.04})


def test_score_flags_the_over_represented_value_only() -> None:
    """10 of 10 on Python 3.10 (20% of 100 events) is a suspect; the host that carries half is not."""
    group = pd.DataFrame(
        {"dimension": ["python", "host", "host"], "value": ["3.10", "a", "b"], "count": [10, 5, 5]}
    )
    population = pd.DataFrame(
        {
            "dimension": ["python", "python", "host", "host"],
            "value": ["3.10", "3.12", "a", "b"],
            "count": [20, 80, 50, 50],
        }
    )
    frame = score(group, population).set_index(["dimension", "value"])
    python = frame.loc[("python", "3.10")]
    p_exact = comb(20, 10) / comb(100, 10)  # all ten drawn from the twenty 3.10 events
    assert python["p"] == pytest.approx(p_exact, rel=1e-9)
    assert python["p_adjusted"] == pytest.approx(3 * p_exact, rel=1e-9)  # three values tested
    assert (python["share"], python["population_share"], python["lift"]) == (1.0, 0.2, 5.0)
    assert bool(python["suspect"])
    assert not frame.loc[("host", "a"), "suspect"] and frame.loc[("host", "a"), "p"] == 1.0
    assert list(frame.index.get_level_values(0)) == ["python", "host", "host"]  # input order kept


@pytest.mark.parametrize(
    ("test", "flagged"),
    [
        pytest.param(SuspectTest(), True, id="defaults"),
        pytest.param(SuspectTest(min_count=11), False, id="too-few-events"),
        pytest.param(SuspectTest(min_lift=6.0), False, id="lift-too-small"),
        pytest.param(SuspectTest(alpha=1e-12), False, id="not-significant-enough"),
    ],
)
def test_each_threshold_can_veto(test: SuspectTest, flagged: bool) -> None:
    """Count, lift and adjusted p each have to pass on their own."""
    group = pd.DataFrame({"dimension": ["python"], "value": ["3.10"], "count": [10]})
    population = pd.DataFrame(
        {"dimension": ["python", "python"], "value": ["3.10", "3.12"], "count": [20, 80]}
    )
    assert bool(score(group, population, test)["suspect"].iloc[0]) is flagged


def test_the_group_is_always_inside_its_population() -> None:
    """A population that lags behind the group (fewer events than the group) is raised, not trusted."""
    group = pd.DataFrame({"dimension": ["host"], "value": ["a"], "count": [12]})
    population = pd.DataFrame({"dimension": ["host", "host"], "value": ["a", "b"], "count": [7, 50]})
    row = score(group, population).iloc[0]
    assert (row["population_count"], row["population_total"]) == (12, 62)


def test_groups_scored_together_are_corrected_separately() -> None:
    """Scoring two groups in one frame gives each the result it gets alone (Holm within its group)."""
    one = pd.DataFrame({"dimension": ["python", "host"], "value": ["3.10", "a"], "count": [10, 10]})
    population = pd.DataFrame(
        {
            "dimension": ["python", "python", "host", "host"],
            "value": ["3.10", "3.12", "a", "b"],
            "count": [20, 80, 50, 50],
        }
    )
    other = pd.DataFrame({"dimension": ["host"], "value": ["b"], "count": [3]})
    both = score(
        pd.concat([one.assign(key="g1"), other.assign(key="g2")]),
        pd.concat([population.assign(key="g1"), population.assign(key="g2")]),
    )
    alone = score(one, population)
    assert both[both["key"] == "g1"]["p_adjusted"].tolist() == alone["p_adjusted"].tolist()
    assert both[both["key"] == "g2"]["p_adjusted"].tolist() == score(other, population)["p_adjusted"].tolist()


def test_two_p_values_and_their_holm_correction_by_hand() -> None:
    """Three of three events on host a (3 of 10 in the population): p = C(3,3) C(7,0) / C(10,3) = 1/120;
    three of three on Python 3.10 (5 of 10): p = C(5,3) / C(10,3) = 1/12. Holm over the two: the
    smaller times 2 (1/60), the larger times 1 (1/12), already monotone."""
    group = pd.DataFrame({"dimension": ["host", "python"], "value": ["a", "3.10"], "count": [3, 3]})
    population = pd.DataFrame(
        {
            "dimension": ["host", "host", "python", "python"],
            "value": ["a", "b", "3.10", "3.12"],
            "count": [3, 7, 5, 5],
        }
    )
    frame = score(group, population, SuspectTest(min_count=1)).set_index("dimension")
    assert frame.loc["host", "p"] == pytest.approx(1 / 120, rel=1e-12)
    assert frame.loc["python", "p"] == pytest.approx(1 / 12, rel=1e-12)
    assert frame.loc["host", "p_adjusted"] == pytest.approx(1 / 60, rel=1e-12)
    assert frame.loc["python", "p_adjusted"] == pytest.approx(1 / 12, rel=1e-12)
    assert (frame.loc["host", "lift"], frame.loc["python", "lift"]) == pytest.approx((10 / 3, 2.0))
    assert frame["suspect"].tolist() == [False, False]  # 1/60 > alpha 0.01: three events prove little


def test_holm_corrects_each_family_on_its_own() -> None:
    """Family x (0.01, 0.04): 0.02 and 0.04; family y (0.03, 0.02, 0.5): sorted 0.02, 0.03, 0.5 times
    3, 2, 1 = 0.06, 0.06, 0.5; one family's size never changes the other's factors."""
    p = pd.Series([0.01, 0.03, 0.04, 0.02, 0.5], index=list("abcde"))
    families = pd.Series(["x", "y", "x", "y", "y"], index=p.index)
    expected = {"a": 0.02, "b": 0.06, "c": 0.04, "d": 0.06, "e": 0.5}
    assert holm(p, families).to_dict() == pytest.approx(expected)
