"""Registry documents an older logloop or another tool wrote, in shapes the registry's mapping takes
(epoch-millisecond dates, numbers as text, a missing title or category, no date at all), on the real
node: analyze, the digest and `registry.load_groups` read what stands for a group and rewrite or say
what does not, where they failed with a Python error (`month must be in 1..12`) or a loop of advice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, registry
from analyzers.config import AnalyzeConfig
from analyzers.digest import build_digest
from analyzers.exceptions import RegistryError
from analyzers.store import Store
from kibana.setup import install_template

pytestmark = pytest.mark.es

KEY = "k" * 40
BASE: dict[str, Any] = {
    "group_id": KEY,
    "title": "ValueError: old",
    "category": "traceback",
    "first_seen": "2026-11-01T00:00:00Z",
    "last_seen": "2026-11-20T00:00:00Z",
    "status": "ongoing",
}
MILLIS_NOV_1, MILLIS_NOV_20 = 1_793_491_200_000, 1_795_132_800_000

# (document, status read back, first_seen read back as a day of November 2026, or None: unreadable)
READABLE: list[Any] = [
    pytest.param({**BASE, "first_seen": MILLIS_NOV_1, "last_seen": MILLIS_NOV_20}, "ongoing", 1,
                 id="epoch-millis"),
    pytest.param({**BASE, "first_seen": str(MILLIS_NOV_1)}, "ongoing", 1, id="epoch-millis-text"),
    pytest.param({**BASE, "first_seen": "2026-11-01T00:00:00"}, "ongoing", 1, id="no-zone"),
    pytest.param({**BASE, "first_seen": "2026-11-01"}, "ongoing", 1, id="date-only"),
    pytest.param({**BASE, "count_total": "12", "priority": "3.5", "grouping_version": "2"}, "ongoing", 1,
                 id="numbers-as-text"),
    pytest.param({k: v for k, v in BASE.items() if k != "title"}, "ongoing", 1, id="no-title"),
    pytest.param({k: v for k, v in BASE.items() if k != "category"}, "ongoing", 1, id="no-category"),
    pytest.param({**BASE, "status": "Ignored"}, "ignored", 1, id="status-capitalised"),
    pytest.param({k: v for k, v in BASE.items() if k != "first_seen"}, "ongoing", 20, id="no-first-seen"),
    pytest.param({**BASE, "versions": "1.0", "hosts": "h1"}, "ongoing", 1, id="one-value-for-a-list"),
]  # fmt: skip
UNREADABLE: list[Any] = [
    pytest.param({k: v for k, v in BASE.items() if k not in ("first_seen", "last_seen")}, id="no-date"),
    pytest.param({k: v for k, v in BASE.items() if k != "group_id"}, id="no-group-id"),
    pytest.param({"status": "resolved"}, id="a-status-alone"),
]


def _registry_with(es: Any, prefix: str, document: dict[str, Any]) -> Store:
    install_template(es, prefix)
    store = Store(es, prefix)
    registry.ensure(store)
    es.options(ignore_status=400).index(index=store.registry, id=KEY, document=document, refresh=True)
    index_events(es, prefix, [event(KEY, NOW - timedelta(hours=5))])
    return store


@pytest.mark.parametrize(("document", "status", "day"), READABLE)
def test_registry_documents_in_every_shape_the_mapping_takes_are_read(
    es: Any, index_prefix: str, document: dict[str, Any], status: str, day: int
) -> None:
    """A registry document the mapping took is read as the group it stands for, by the registry, the
    digest and analyze (which keeps an ignored one ignored, decides the others from the events (all in
    the window: new), and says nothing is wrong)."""
    store = _registry_with(es, index_prefix, document)
    stored = es.get(index=store.registry, id=KEY)["_source"]
    assert stored == document  # the node took it as it was written
    [group] = registry.load_groups(store)
    assert (group.status, group.first_seen.day, group.first_seen.tzinfo is not None) == (status, day, True)
    assert group.title and group.category in registry.CATEGORIES
    digest = build_digest(Store(es, index_prefix), timedelta(days=7), NOW, NOW)
    assert "registry" not in " ".join(digest.report.partial)
    result = analyze.run(Store(es, index_prefix), config=AnalyzeConfig(), until=NOW)
    assert result.notes == ()
    assert {g.group_id: g.status for g in result.groups}[KEY] == ("ignored" if status == "ignored" else "new")


@pytest.mark.parametrize("document", UNREADABLE)
def test_a_registry_document_that_is_no_group_is_said_and_rewritten_by_analyze(
    es: Any, index_prefix: str, document: dict[str, Any]
) -> None:
    """A registry document that stands for no group fails `load_groups` with a RegistryError naming it
    and the command that repairs it; the digest goes out saying so; analyze rewrites it from the events
    and says so once."""
    store = _registry_with(es, index_prefix, document)
    with pytest.raises(RegistryError, match=r"registry document '.+' cannot be read .*logloop analyze"):
        registry.load_groups(store)
    digest = build_digest(Store(es, index_prefix), timedelta(days=7), NOW, NOW)
    [line] = [line for line in digest.report.partial if "group registry" in line]
    assert line.startswith("1 entry of the group registry cannot be read")
    result = analyze.run(Store(es, index_prefix), config=AnalyzeConfig(), until=NOW)
    [note] = result.notes
    assert note.startswith("1 registry entry could not be read (first: registry document")
    [group] = registry.load_groups(store)
    assert group.group_id == KEY and group.status == "new" and group.count_window == 1
    assert analyze.run(Store(es, index_prefix), config=AnalyzeConfig(), until=NOW).notes == ()
