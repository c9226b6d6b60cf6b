"""`resolve`/`ignore` marks kept in the group edits index as well as in the registry, on the real node: a
registry deleted (between runs, with its template, during a run) is rebuilt with its marks, decided
again from the events after them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, group_edits, group_marks, registry
from analyzers.config import AnalyzeConfig
from analyzers.store import BOOKKEEPING_SETTINGS, Store, bookkeeping_template_name
from kibana.setup import install_template

pytestmark = pytest.mark.es

CONFIG = AnalyzeConfig()
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def analyzed(es: Any, index_prefix: str) -> str:
    """Two groups with events in the look-back range, analyzed once (the registry exists)."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("one", NOW - 2 * DAY), event("two", NOW - 3 * DAY)])
    analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW)
    return index_prefix


def _delete_registry(es: Any, store: Store) -> None:
    es.indices.delete(index=store.registry)


def _delete_registry_and_its_template(es: Any, store: Store) -> None:
    es.indices.delete(index=store.registry)
    es.indices.delete_index_template(name=bookkeeping_template_name(store.registry))


REMOVALS: list[Any] = [
    pytest.param(_delete_registry, id="registry-deleted"),
    pytest.param(_delete_registry_and_its_template, id="registry-and-template-deleted"),
]

# (status, --in-version, events of "one" after the mark (version, hours after it), status after a
# rebuild): what the registry would have decided had it not been lost
CASES: list[Any] = [
    pytest.param("ignored", None, [], "ignored", id="ignored"),
    pytest.param("ignored", None, [("1.0", 0.5)], "ignored", id="ignored-recurs"),
    pytest.param("resolved", None, [], "resolved", id="resolved"),
    pytest.param("resolved", None, [("1.0", 0.5)], "regressed", id="resolved-recurs"),
    pytest.param("resolved", "2.0", [], "resolved", id="resolved-in-version"),
    pytest.param("resolved", "2.0", [("1.0", 0.5)], "resolved", id="resolved-in-version-old-recurs"),
    pytest.param("resolved", "2.0", [("2.1", 0.5)], "regressed", id="resolved-in-version-new-recurs"),
]


@pytest.mark.parametrize("remove", REMOVALS)
@pytest.mark.parametrize(("status", "in_version", "after", "expected"), CASES)
def test_a_registry_deleted_between_runs_is_rebuilt_with_its_marks(
    es: Any,
    analyzed: str,
    remove: Callable[[Any, Store], None],
    status: str,
    in_version: str | None,
    after: list[tuple[str, float]],
    expected: str,
) -> None:
    """A group marked resolved or ignored keeps its mark (version, moment) when the registry is lost,
    and is decided from it as the registry would have: regressed by the events after its fix only."""
    store = Store(es, analyzed)
    registry.mark(store, "one", status=status, now=NOW, in_version=in_version)
    kept = registry.lookup(store, "one")
    index_events(es, analyzed, [event("one", NOW + hours * HOUR, version=v) for v, hours in after])
    remove(es, store)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + HOUR)
    groups = {group.group_id: group for group in result.groups}
    assert groups["one"].status == expected
    assert groups["two"].status not in ("resolved", "ignored")
    rebuilt = registry.lookup(Store(es, analyzed), "one")
    assert rebuilt.status == expected
    if status == "resolved":
        assert (rebuilt.resolved_at, rebuilt.resolved_in_version) == (NOW, in_version)
    if expected == "regressed":
        assert rebuilt.regressed_at == NOW + after[0][1] * HOUR
    if expected == status:
        assert rebuilt.status_changed_at == kept.status_changed_at
    [line] = result.notes
    assert line.startswith(f"{store.registry} was missing and is rebuilt from the events")
    assert f"marks come back from {store.group_edits}" in line
    mapping = es.indices.get_mapping(index=store.registry)[store.registry]["mappings"]
    assert mapping["dynamic"] == "strict"


@pytest.mark.parametrize("step", ["_write_page", "_quiet_groups"], ids=["before-a-page", "before-quiet"])
@pytest.mark.parametrize("status", ["resolved", "ignored"])
def test_a_registry_deleted_during_a_run_keeps_the_marks_of_the_groups_it_writes(
    es: Any, analyzed: str, monkeypatch: pytest.MonkeyPatch, step: str, status: str
) -> None:
    """The registry deleted while analyze writes it: the groups written after that, and the next run's,
    come back with their marks."""
    registry.mark(Store(es, analyzed), "one", status=status, now=NOW)
    real = getattr(analyze, step)
    deleted: list[bool] = []

    def delete_first(store: Store, *args: Any, **kwargs: Any) -> Any:
        if not deleted:
            es.indices.delete(index=store.registry)
            deleted.append(True)
        return real(store, *args, **kwargs)

    monkeypatch.setattr(analyze, step, delete_first)
    analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + HOUR)
    assert deleted
    monkeypatch.setattr(analyze, step, real)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + 2 * HOUR)
    assert {group.group_id: group.status for group in result.groups}["one"] == status
    assert registry.lookup(Store(es, analyzed), "one").status == status


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        pytest.param(["resolved", "ignored"], "ignored", id="resolved-then-ignored"),
        pytest.param(["ignored", "resolved"], "resolved", id="ignored-then-resolved"),
        pytest.param(["resolved", "resolved"], "resolved", id="resolved-twice"),
    ],
)
def test_the_latest_mark_is_the_one_restored(es: Any, analyzed: str, marks: list[str], expected: str) -> None:
    """Marks made one after another: a rebuilt registry gets the last one, as the registry had."""
    store = Store(es, analyzed)
    for number, status in enumerate(marks):
        registry.mark(store, "one", status=status, now=NOW + number * timedelta(minutes=1))
    es.indices.delete(index=store.registry)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + HOUR)
    assert {group.group_id: group.status for group in result.groups}["one"] == expected
    if expected == "resolved":
        assert registry.lookup(store, "one").resolved_at == NOW + (len(marks) - 1) * timedelta(minutes=1)


def test_a_mark_an_older_logloop_kept_only_in_the_registry_is_said_lost(es: Any, analyzed: str) -> None:
    """A group an older logloop marked (registry only, nothing in the group edits) is rebuilt from its
    events and the note says such marks cannot be recovered."""
    store = Store(es, analyzed)
    group = registry.lookup(store, "one")
    registry.save_groups(store, [group.__class__(**{**vars(group), "status": "ignored"})])
    es.indices.delete(index=store.registry)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + HOUR)
    assert {group.group_id: group.status for group in result.groups}["one"] not in ("ignored", "resolved")
    [line] = result.notes
    assert "cannot be recovered" in line and "logloop resolve" in line


def test_a_group_edits_index_of_an_older_logloop_takes_marks(es: Any, analyzed: str) -> None:
    """A group edits index created by an older logloop (its strict mapping without the mark fields)
    gets them when a group is marked: the mark is recorded, not refused, and merges still list alone."""
    store = Store(es, analyzed)
    older = {**group_edits.MAPPING, "properties": dict(group_edits.MAPPING["properties"])}
    for name in ("status", "effective_at", "in_version"):
        del older["properties"][name]
    es.indices.create(index=store.group_edits, settings=BOOKKEEPING_SETTINGS, mappings=older)
    merge = group_edits.new_merge("one", ["two"], who="me", at=NOW, version=3)
    group_edits.save(store, merge)
    registry.mark(Store(es, analyzed), "one", status="resolved", now=NOW, in_version="2.0")
    assert [edit.edit_id for edit in group_edits.load(store)] == [merge.edit_id]
    [mark] = group_marks.latest(store, ["one", "two"]).values()
    assert (mark.group_id, mark.status, mark.in_version, mark.effective_at) == ("one", "resolved", "2.0", NOW)


def test_marks_are_not_edits_for_an_older_logloop_either(es: Any, analyzed: str) -> None:
    """A mark document parses as an edit of a kind nothing applies (an older logloop reads the whole
    index): it moves no event and `group_edits.load` leaves it out."""
    store = Store(es, analyzed)
    registry.mark(store, "one", status="ignored", now=NOW)
    hits = es.search(index=store.group_edits, query={"term": {"kind": "mark"}})["hits"]["hits"]
    [document] = [hit["_source"] for hit in hits]
    as_edit = group_edits.from_document(document)
    assert group_edits.edited_key("one", {}, [as_edit]) == ("one", None)
    assert group_edits.load(store) == []
