"""The JSON digest is bounded as the HTML and text digests are (real node): at any number of new,
regressed and resolved groups each list holds the first `list_limit` rows, and `left_out` and
`list_totals` say how many were left out and how many there are, in agreement with the text digest."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import registry
from analyzers.digest import build_digest
from analyzers.registry import Group
from analyzers.render import render
from analyzers.store import Store

pytestmark = pytest.mark.es
LISTS = ("new_groups", "regressed_groups", "resolved_groups")
NOUNS = {"new_groups": "new", "regressed_groups": "regressed", "resolved_groups": "resolved"}


def _seed(es: Any, prefix: str, new: int, regressed: int, resolved: int) -> None:
    """`new` groups first seen in the window; `regressed` and `resolved` ones the registry knows so."""
    store = Store(es, prefix)
    registry.ensure(store)
    long_ago = NOW - timedelta(days=60)
    groups, events = [], []
    for status, count in (("new", new), ("regressed", regressed), ("resolved", resolved)):
        for n in range(count):
            key = f"{status[:3]}{n:029d}"
            events.append(
                event(key, NOW - timedelta(days=1, seconds=n), message=f"{status} {n} " + "x" * 300)
            )
            if status != "new":
                changed = NOW - timedelta(days=2, seconds=n)
                groups.append(
                    Group(group_id=key, title=f"{status} {n}", category="traceback", status=status,
                          first_seen=long_ago, last_seen=NOW - timedelta(days=1), status_changed_at=changed,
                          regressed_at=changed if status == "regressed" else None,
                          resolved_at=changed if status == "resolved" else None, priority=1.0)
                )  # fmt: skip
    if not groups:  # a registry is needed for the statuses; one quiet group keeps it from being empty
        groups.append(Group(group_id="q" * 32, title="quiet", category="traceback", first_seen=long_ago,
                            last_seen=long_ago, status="ongoing"))  # fmt: skip
    registry.save_groups(store, groups)
    for start in range(0, len(events), 1000):
        index_events(es, prefix, events[start : start + 1000])


@pytest.mark.parametrize(
    ("new", "regressed", "resolved"),
    [(0, 0, 0), (1, 0, 0), (10, 10, 10), (11, 0, 12), (0, 25, 1), (3000, 12, 40)],
)
def test_json_lists_are_bounded_and_say_what_they_left_out(
    es: Any, prefix: str, new: int, regressed: int, resolved: int
) -> None:
    """Each JSON list holds the rows the text digest lists, `left_out` counts the rest exactly, and the
    document stays small however many groups there are."""
    _seed(es, prefix, new, regressed, resolved)
    report = build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW, title="bound").report
    text = render(report, "text")
    raw = render(report, "json")
    document = json.loads(raw)
    limit = document["list_limit"]
    assert limit == report.list_limit == 10
    for name, total in zip(LISTS, (new, regressed, resolved), strict=True):
        listed = document[name]
        assert len(listed) == min(total, limit)
        assert [row["key"] for row in listed] == [row.key for row in getattr(report, name)[:limit]]
        assert document["list_totals"][name] == total
        assert document["left_out"][name] == total - len(listed)
        more = f"... and {total - limit:,} more {NOUNS[name]} group"
        assert (more in text) == (total > limit), name
    active = new + regressed + resolved
    assert document["list_totals"]["top_groups"] == document["active_groups"] == active
    assert len(document["top_groups"]) == min(active, 10)
    assert document["left_out"]["top_groups"] == active - len(document["top_groups"])
    assert document["left_out"]["error_lines"] == 0 and document["list_totals"]["error_lines"] == 0
    assert len(raw.encode("utf-8")) < 300_000, len(raw)  # 40 rows at most, whatever the groups
