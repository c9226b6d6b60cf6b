"""`analyze` reads each page's version, host, service and level lists apart from its other numbers
(composite aggregations, or `terms` lists on a node without them): on a seeded random data set on the
real node, its result and registry are the same as with the `terms` lists below each group it used
before.

The data (seed fixed): 90 groups over 40 days (so some events fall before the 35-day look-back range),
up to 400 events each, on up to 60 hosts (past the 50 a list keeps, with ties at the cut), 6 versions,
3 services and 7 spellings of a level (past the 5 the level list keeps).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, queries
from analyzers.config import AnalyzeConfig
from analyzers.store import Store, bookkeeping_template_name
from kibana.setup import install_template
from shipper import schema
from shipper.schema import index_pattern

pytestmark = pytest.mark.es
CONFIG = AnalyzeConfig()
LEVELS = ("error", "ERROR", "Error", "critical", "CRITICAL", "fatal", "err")
SPAN = {"until": NOW, "window": CONFIG.window, "baseline_windows": CONFIG.baseline_windows}


def _documents(rng: random.Random) -> list[dict[str, Any]]:
    documents = []
    for number in range(90):
        key = f"g{number:03d}".ljust(40, "0")
        hosts = [f"host-{h:02d}" for h in rng.sample(range(60), rng.choice((1, 3, 20, 55, 60)))]
        levels = rng.sample(LEVELS, rng.choice((1, 2, 7)))
        for _ in range(rng.choice((1, 2, 5, 40, 120, 400))):
            documents.append(
                event(
                    key,
                    NOW - timedelta(minutes=rng.randrange(40 * 24 * 60)),
                    level=rng.choice(levels),
                    host=rng.choice(hosts),
                    version=rng.choice(("1.0", "1.1", "1.2", "2.0", "2.1", None)),
                    service=rng.choice(("billing", "shop", "search")),
                    trace=rng.random() < 0.7,
                )
            )
    return documents


@pytest.fixture(scope="module")
def seeded(es: Any) -> Any:
    prefix = f"tlists{random.Random().randrange(16**8):08x}"
    install_template(es, prefix)
    index_events(es, prefix, _documents(random.Random(14)))
    yield prefix
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def _two_runs(es: Any, prefix: str) -> list[tuple[analyze.AnalysisResult, dict[str, Any]]]:
    """Analyze three days ago on an empty registry, then now on what that run registered."""
    runs = []
    for until in (NOW - timedelta(days=3), NOW):
        result = analyze.run(Store(es, prefix), config=CONFIG, until=until)
        hits = es.search(index=schema.registry_index(prefix), size=1000, query={"match_all": {}})["hits"][
            "hits"
        ]
        runs.append((result, {hit["_id"]: hit["_source"] for hit in hits}))
    es.indices.delete(index=schema.registry_index(prefix))
    # and its index template: the next pair starts as on a prefix never analyzed (no "rebuilt" note)
    es.indices.delete_index_template(name=bookkeeping_template_name(schema.registry_index(prefix)))
    return runs


def test_result_and_registry_as_with_terms_lists_below_each_group(
    es: Any, seeded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs give equal results and registry documents whichever way the lists are read."""
    before = None
    with monkeypatch.context() as patch:  # the code path before: the lists inside `group_aggs`' pages
        patch.setattr(queries, "without_lists", dict)
        patch.setattr(analyze, "_with_lists", lambda store, page, **_: page)
        before = _two_runs(es, seeded)
    after = _two_runs(es, seeded)
    assert len(after[1][0].groups) == 90 and len(after[1][1]) == 90
    assert after == before
    hosts = [len(group.hosts) for group in after[1][0].groups]
    assert max(hosts) == queries.TERMS_SIZE and 1 in hosts  # the host list's cut was reached


def test_composite_and_terms_lists_agree(es: Any, seeded: str) -> None:
    """Composite aggregations and `terms` below each group count every list alike, cut included."""
    keys = [f"g{number:03d}".ljust(40, "0") for number in range(90)]
    query, aggs = queries.summary_query(**SPAN), queries.group_aggs(**SPAN)
    composite = analyze._top(analyze._composite_lists(Store(es, seeded), query, keys))
    terms = analyze._top(analyze._terms_lists(Store(es, seeded), query, keys, aggs))
    # a group without any value of a list has no entry in one and an empty list in the other
    assert composite == {name: {k: v for k, v in lists.items() if v} for name, lists in terms.items()}
    assert max(len(levels) for levels in composite["levels"].values()) == 5
    assert es.count(index=index_pattern(seeded))["count"] > 5000
