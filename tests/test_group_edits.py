"""`logloop group merge/split/unmerge`: edits recorded with who/when, applied to stored events on the
real node, reversible, respected by analyze, and carried through a GROUPING_VERSION change by regroup."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, group_cli, group_edits
from analyzers.config import AnalyzeConfig
from analyzers.regroup import run_regroup
from analyzers.store import Store
from kibana.setup import install_template
from logloop.config import Settings
from shipper.connection import ElasticsearchSettings

DAY = timedelta(days=1)


def _merge(target: str, *sources: str) -> group_edits.Edit:
    return group_edits.new_merge(target, sources, who="ana", at=NOW, version=3)


def test_merge_moves_sources_and_target_to_the_target() -> None:
    """An event keyed by a merged source (or the target) gets the target key; others keep theirs."""
    edits = [_merge("a", "b", "c")]
    assert group_edits.edited_key("b", {}, edits) == ("a", edits[0].edit_id)
    assert group_edits.edited_key("a", {}, edits) == ("a", edits[0].edit_id)
    assert group_edits.edited_key("d", {}, edits) == ("d", None)


def test_undone_edit_no_longer_applies() -> None:
    """An edit marked undone moves nothing: the default key comes back."""
    edit = _merge("a", "b")
    undone = group_edits.Edit(**{**edit.__dict__, "undone_by": "bo", "undone_at": NOW + DAY})
    assert group_edits.edited_key("b", {}, [undone]) == ("b", None)


def test_split_by_version_gives_one_sub_key_per_version() -> None:
    """A split by version keys events of the group by their service.version, stably."""
    split = group_edits.new_split("a", "version", who="ana", at=NOW, version=3)
    one = group_edits.edited_key("a", {"service": {"version": "1.0"}}, [split])[0]
    two = group_edits.edited_key("a", {"service": {"version": "2.0"}}, [split])[0]
    again = group_edits.edited_key("a", {"service": {"version": "1.0"}}, [split])[0]
    assert one != two and one == again and one.startswith("s-")


def test_merge_needs_two_keys_and_split_a_known_facet() -> None:
    """A merge of one key, or a split by an unknown facet, is refused with what to type."""
    with pytest.raises(Exception, match="at least two"):
        group_edits.new_merge("a", ["a"], who="x", at=NOW, version=3)
    with pytest.raises(Exception, match="--by"):
        group_edits.new_split("a", "colour", who="x", at=NOW, version=3)


def test_regrouped_event_stays_in_its_edit_group_and_the_edit_learns_its_new_key() -> None:
    """After a GROUPING_VERSION change an event a merge moved keeps the merge's target, and the merge
    takes the event's new default key as a source."""
    edit = _merge("a", "b")
    source = {"logloop": {"group_edit": edit.edit_id}}
    assert group_edits.regrouped(source, "b-v4", [edit]) == ("a", edit.edit_id)
    carried = group_edits.carried(edit, ["b-v4"])
    assert group_edits.edited_key("b-v4", {}, [carried]) == ("a", edit.edit_id)


@pytest.fixture
def settings(es: Any, index_prefix: str, es_settings: ElasticsearchSettings) -> Settings:
    install_template(es, index_prefix)
    return Settings(elasticsearch=es_settings, index_prefix=index_prefix)


def _keys(es: Any, prefix: str) -> dict[str, str]:
    response = es.search(index=f"{prefix}-20*", size=100, query={"match_all": {}})
    return {hit["_id"]: hit["_source"]["error"]["grouping_key"] for hit in response["hits"]["hits"]}


@pytest.mark.es
def test_merge_then_unmerge_on_stored_events(es: Any, settings: Settings, capsys: Any) -> None:
    """merge re-keys stored events so analyze sees one group, records who/when; unmerge restores them."""
    prefix = settings.index_prefix
    docs = [event("k1", NOW - DAY), event("k1", NOW - DAY), event("k2", NOW - DAY), event("k3", NOW - DAY)]
    index_events(es, prefix, docs)
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    keys = _keys(es, prefix)
    assert sorted(keys.values()) == ["k1", "k1", "k1", "k3"]
    groups = {
        group.group_id: group
        for group in analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    }
    assert groups["k1"].count_window == 3 and "k2" not in groups
    edits = group_edits.load(Store(es, prefix))
    assert [(edit.kind, edit.target, edit.sources, edit.who) for edit in edits] == [
        ("merge", "k1", ("k2",), group_edits.who_am_i())
    ]
    group_cli.handle_unmerge(argparse.Namespace(key="k2"), settings)
    assert sorted(_keys(es, prefix).values()) == ["k1", "k1", "k2", "k3"]
    assert group_edits.load(Store(es, prefix))[0].undone_at is not None
    group_cli.handle_edits(argparse.Namespace(), settings)
    assert "undone by" in capsys.readouterr().out


@pytest.mark.es
def test_split_by_version_on_stored_events_and_regroup_carries_a_merge(es: Any, settings: Settings) -> None:
    """split --by version gives each version its group; after a version change regroup keeps merged
    events together and a new event with the new key joins them at the next apply."""
    prefix = settings.index_prefix
    one, two = event("k1", NOW - DAY, version="1.0"), event("k1", NOW - DAY, version="2.0")
    index_events(es, prefix, [one, two])
    group_cli.handle_split(argparse.Namespace(key="k1", by="version"), settings)
    keys = _keys(es, prefix)
    assert len(set(keys.values())) == 2 and "k1" not in keys.values()
    group_cli.handle_unmerge(argparse.Namespace(key="k1"), settings)
    assert set(_keys(es, prefix).values()) == {"k1"}

    old = [event("m1", NOW - DAY, grouping_version=1), event("m2", NOW - DAY, grouping_version=1)]
    index_events(es, prefix, old)
    group_cli.handle_merge(argparse.Namespace(keys=["m1", "m2"]), settings)

    class NewVersion:
        """A fingerprint of a later GROUPING_VERSION: every key changes."""

        def __init__(self, source: Any) -> None:
            self.key = f"new-{source['error'].get('grouping_default_key') or source['error']['grouping_key']}"
            self.name = "title"
            self.version = 99

    run_regroup(Store(es, prefix), since=None, until=NOW, progress=False, fingerprinter=(NewVersion, 99))
    merged = [
        key for doc_id, key in _keys(es, prefix).items() if doc_id in {doc["event"]["id"] for doc in old}
    ]
    assert merged == ["m1", "m1"]
    late = event("new-m2", NOW - DAY / 2, grouping_version=99)
    index_events(es, prefix, [late])
    edits = group_edits.load(Store(es, prefix))
    assert set(edits[-1].sources) == {"m2", "new-m1", "new-m2"}, edits
    groups = {
        group.group_id for group in analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    }
    assert _keys(es, prefix)[late["event"]["id"]] == "m1"  # analyze applied the carried merge first
    assert "new-m2" not in groups
