"""Which groups of a digest get root-cause material: at most `[rootcause] top_groups`, the shown ones
first, on a real node with hand-built documents whose ranking is known.

The data (no registry, so a group's status comes from its first occurrence): 12 "loud" groups first
seen before the window with 100-111 events in it (they rank first, loudest first), and 25 "new" groups
first seen in the window with 1-3 events each (new, ranked below the loud ones), first seen one hour
apart. The digest shows the top 10 groups with their material and lists the first 10 new groups.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from helpers import digest_docs as docs

from analyzers import group_report
from analyzers.digest import Digest, build_digest
from analyzers.digest_options import DigestOptions
from analyzers.rootcause_config import RootCauseConfig
from analyzers.store import Store
from kibana.setup import install_template

pytestmark = pytest.mark.es
NOW = docs.UNTIL + timedelta(hours=1)
LOUD = [f"{i:02d}".ljust(40, "a") for i in range(12)]  # LOUD[0] has the most events
NEW = [f"{i:02d}".ljust(40, "b") for i in range(25)]  # NEW[0] is first seen first


def _documents() -> list[dict[str, Any]]:
    documents = []
    for rank, key in enumerate(LOUD):
        documents.append(
            docs.error(docs.START - timedelta(days=3), key, f"Loud {rank}", "builtins.KeyError", "x")
        )
        documents += [
            docs.error(
                docs.START + timedelta(minutes=50 * n + rank),
                key,
                f"Loud {rank}",
                "builtins.KeyError",
                "x",
                **{"host.name": f"web-{n % 3}"},
            )
            for n in range(111 - rank)
        ]
    for order, key in enumerate(NEW):
        first = docs.START + timedelta(days=1, hours=order)
        documents += [
            docs.error(first + timedelta(minutes=n), key, f"New {order}", "builtins.ValueError", "y")
            for n in range(1 + order % 3)
        ]
    return documents


@pytest.fixture(scope="module")
def seeded(es: Any) -> Iterator[str]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    docs.index_docs(es, prefix, _documents())
    try:
        yield prefix
    finally:
        names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all"))
        if names:
            es.indices.delete(index=",".join(names))
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")


def _digest(es: Any, prefix: str, top_groups: int) -> Digest:
    options = DigestOptions(rootcause=RootCauseConfig(top_groups=top_groups))
    return build_digest(Store(es, prefix), docs.WINDOW, docs.UNTIL, NOW, title="choice", options=options)


@pytest.mark.parametrize(
    ("top_groups", "expected"),
    [
        pytest.param(4, set(LOUD[:4]), id="fewer-than-the-top-groups"),
        pytest.param(20, set(LOUD[:10]) | set(NEW[:10]), id="top-and-listed-new"),
        # then LOUD[10:] and, of the unlisted new groups, the three ranked highest (3 events each)
        pytest.param(25, set(LOUD) | set(NEW[:10]) | {NEW[11], NEW[14], NEW[17]}, id="then-the-next-ranked"),
    ],
)
def test_material_only_for_the_shown_groups_and_at_most_n(
    es: Any, seeded: str, top_groups: int, expected: set[str]
) -> None:
    """Material goes to the top groups, then the listed new groups, then the next ranked ones, never
    more than `[rootcause] top_groups` (the 15 new groups past the list get none)."""
    digest = _digest(es, seeded, top_groups)
    assert [g.key for g in digest.report.top_groups] == LOUD[:10]
    assert [g.key for g in digest.report.new_groups] == NEW
    assert set(digest.report.insights.root_causes) == expected
    assert len(digest.report.insights.root_causes) <= top_groups


def test_cards_without_material_render_links_and_no_empty_section(es: Any, seeded: str) -> None:
    """With material for 4 of the 10 top groups, HTML, text and Markdown show it for those 4 only, and
    every card still has its `group show` command; nothing else of the digest changes."""
    digest = _digest(es, seeded, 4)
    html, text, markdown = (digest.render(fmt) for fmt in ("html", "text", "markdown"))
    assert html.count('class="onset"') == text.count("   started: ") == markdown.count("**Started:**") == 4
    for key in LOUD[:10]:
        assert f"logloop group show {key}" in html and f"logloop group show {key}" in text
        assert f"logloop group show {key}" in markdown
    assert html.count('class="rootcause"') == html.count('class="group-links"') == 10
    wide = _digest(es, seeded, 20)
    assert replace(wide.report, insights=digest.report.insights) == digest.report


def test_group_show_computes_material_for_a_group_the_digest_left_out(es: Any, seeded: str) -> None:
    """The last new group gets no material in the digest but `logloop group show` computes its own."""
    assert NEW[-1] not in _digest(es, seeded, 20).report.insights.root_causes
    report = group_report.build(
        Store(es, seeded), NEW[-1], window=docs.WINDOW, until=docs.UNTIL, now=NOW, options=DigestOptions()
    )
    assert report.cause.key == NEW[-1]
    assert report.cause.onset.first_seen == docs.START + timedelta(days=1, hours=24)
    assert {v.value for v in report.cause.values if v.dimension == "service"} == {"billing"}
