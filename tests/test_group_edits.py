"""`logloop group merge/split/unmerge`: edits recorded with who/when, applied to stored events on the
real node, reversible, respected by analyze, and carried through a GROUPING_VERSION change by regroup."""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
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
REPO = Path(__file__).resolve().parents[1]


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
    source = {
        "error": {"grouping_key": "a", "grouping_default_key": "b"},
        "logloop": {"group_edit": edit.edit_id},
    }
    assert group_edits.regrouped(source, "b-v4", [edit]) == ("a", edit.edit_id)
    carried = group_edits.carried(edit, ["b-v4"])
    assert group_edits.edited_key("b-v4", {}, [carried]) == ("a", edit.edit_id)


@pytest.fixture
def settings(es: Any, index_prefix: str, es_settings: ElasticsearchSettings) -> Settings:
    install_template(es, index_prefix)
    return Settings(elasticsearch=es_settings, index_prefix=index_prefix)


def _keys(es: Any, prefix: str, *, size: int = 100) -> dict[str, str]:
    response = es.search(index=f"{prefix}-20*", size=size, query={"match_all": {}})
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


# --- merges and splits in any order, on the real CLI ------------------------------------------------


def _at(edit: group_edits.Edit, minutes: int) -> group_edits.Edit:
    return replace(edit, at=NOW + timedelta(minutes=minutes))


def _undone(edit: group_edits.Edit) -> group_edits.Edit:
    return replace(edit, undone_by="bo", undone_at=NOW + DAY)


def _partition(edits: list[group_edits.Edit], keys: str) -> dict[str, str]:
    return {key: group_edits.edited_key(key, {}, edits)[0] for key in keys}


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param([_merge("b", "a"), _at(_merge("c", "b"), 1)], {"a": "c", "b": "c", "c": "c", "d": "d"},
                     id="chain-a-into-b-then-b-into-c"),
        pytest.param([_merge("b", "a"), _at(_merge("c", "b"), 1), _at(_merge("a", "c"), 2)],
                     {"a": "a", "b": "a", "c": "a", "d": "d"}, id="cycle-c-into-a"),
        pytest.param([_merge("b", "a"), _at(_merge("d", "a"), 1)], {"a": "d", "b": "d", "c": "c", "d": "d"},
                     id="a-merged-away-then-into-d"),
        pytest.param([_merge("b", "a"), _at(_merge("a", "d"), 1)], {"a": "a", "b": "a", "c": "c", "d": "a"},
                     id="into-a-key-merged-away"),
        pytest.param([_merge("b", "a"), _at(_undone(_merge("c", "b")), 1), _at(_merge("a", "d"), 2)],
                     {"a": "a", "b": "a", "c": "c", "d": "a"}, id="middle-of-a-chain-undone"),
        pytest.param([_at(_merge("c", "b"), 1), _merge("b", "a")], {"a": "c", "b": "c", "c": "c", "d": "d"},
                     id="chain-made-in-the-other-order"),
        pytest.param([_merge("a", "b"), _at(_merge("b", "a"), 1)], {"a": "b", "b": "b", "c": "c", "d": "d"},
                     id="two-way-merge-latest-target-wins"),
    ],
)  # fmt: skip
def test_merges_join_keys_transitively_in_any_order(
    edits: list[group_edits.Edit], expected: dict[str, str]
) -> None:
    """Active merges make one group of every key they join, directly or through another merge (chains,
    cycles, a key merged twice), keyed by the latest merge's target; an undone one joins nothing."""
    assert _partition(edits, "abcd") == expected


def test_split_sub_keys_can_be_merged_and_a_merged_group_split() -> None:
    """A split's sub-keys may be merged again, and a split of a merge's target splits the merged events."""
    split = group_edits.new_split("k", "version", who="ana", at=NOW, version=3)
    one, two = ({"service": {"version": version}} for version in ("1.0", "2.0"))
    sub_one, sub_two = group_edits.split_key(split, one), group_edits.split_key(split, two)
    merged = _at(_merge(sub_one, sub_two), 1)
    assert group_edits.edited_key("k", two, [split, merged])[0] == sub_one
    merge = _merge("k", "j")
    split_later = replace(split, at=NOW + timedelta(minutes=1))
    assert group_edits.edited_key("j", two, [merge, split_later])[0] == sub_two


def _cli(settings: Settings, tmp_path: Any, *argv: str) -> subprocess.CompletedProcess[str]:
    url = settings.elasticsearch.url
    environ = {
        **{name: value for name, value in os.environ.items() if not name.startswith("LOGLOOP_")},
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "LOGLOOP_ES_URL": url if isinstance(url, str) else url[0],
        "LOGLOOP_INDEX_PREFIX": settings.index_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "logloop.cli", *argv],
        env=environ,
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    line = result.stderr.strip()
    assert result.returncode != 0 and "Traceback" not in result.stderr and "\n" not in line, result.stderr
    for word in words:
        assert word in line, line


@pytest.mark.es
def test_merge_chain_and_cycle_on_the_cli_keep_one_group(es: Any, settings: Settings, tmp_path: Any) -> None:
    """`group merge` B A, then C B, then A C (a cycle), then D A, each by the 12-character prefixes that
    `analyze` prints, leaves every event of the four in one group; unmerging the last (by a prefix of
    its id) brings D back, unmerging C (by its printed prefix) parts C from A and B."""
    prefix = settings.index_prefix
    keys = [f"{letter * 12}{n:020d}" for n, letter in enumerate("abcd")]
    a, b, c, d = keys
    index_events(es, prefix, [event(key, NOW - DAY) for key in keys for _ in range(2)])
    for target, source in ((b, a), (c, b), (a, c), (d, a)):
        done = _cli(settings, tmp_path, "group", "merge", target[:12], source[:12])
        assert done.returncode == 0, done.stderr
    assert set(_keys(es, prefix).values()) == {d}
    last = group_edits.load(Store(es, prefix))[-1]
    assert _cli(settings, tmp_path, "group", "unmerge", last.edit_id[:8]).returncode == 0
    assert sorted(_keys(es, prefix).values()) == sorted([a] * 6 + [d] * 2)
    assert _cli(settings, tmp_path, "group", "unmerge", c[:12]).returncode == 0  # every merge naming c
    assert sorted(_keys(es, prefix).values()) == sorted([b] * 4 + [c] * 2 + [d] * 2)


@pytest.mark.es
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        pytest.param(["merge", "aaaaaaaaaaaa", "nosuchkey"], ["nosuchkey", "no group"], id="unknown-source"),
        pytest.param(["merge", "nosuchkey", "aaaaaaaaaaaa"], ["nosuchkey", "no group"], id="unknown-target"),
        pytest.param(["merge", "aaaaaaaaaaaa", "ab"], ["'ab'", "several"], id="merge-ambiguous-prefix"),
        pytest.param(["merge", "aaaaaaaaaaaa", "aaaa"], ["at least two"], id="into-itself-by-prefix"),
        pytest.param(["split", "nosuchkey", "--by", "version"], ["nosuchkey", "no group"], id="split"),
        pytest.param(["unmerge", "aaaaaaaaaaaa"], ["no active merge"], id="unmerge-never-merged"),
    ],
)  # fmt: skip
def test_edits_of_keys_nothing_has_are_refused(
    es: Any, settings: Settings, tmp_path: Any, argv: list[str], words: list[str]
) -> None:
    """A merge or split naming a key no group or stored event has (a typo, a prefix of several keys, the
    same key twice) is refused in one line, non-zero, and records nothing: before, it was recorded and
    reported done, moving nothing (or moving a group to the typo)."""
    prefix = settings.index_prefix
    keys = ["a" * 12 + "0" * 20, "ab" + "1" * 30, "ab" + "2" * 30]
    index_events(es, prefix, [event(key, NOW - DAY) for key in keys])
    _one_line_error(_cli(settings, tmp_path, "group", *argv), *words)
    assert group_edits.load(Store(es, prefix)) == []
    assert sorted(_keys(es, prefix).values()) == sorted(keys)


@pytest.mark.es
def test_split_of_a_merged_away_or_already_split_key_is_refused(
    es: Any, settings: Settings, tmp_path: Any
) -> None:
    """Splitting a key merged into another says which group to split instead; splitting a group again
    by the same facet says it is already split."""
    prefix = settings.index_prefix
    index_events(es, prefix, [event("k1", NOW - DAY), event("k2", NOW - DAY, version="2.0")])
    assert _cli(settings, tmp_path, "group", "merge", "k1", "k2").returncode == 0
    _one_line_error(_cli(settings, tmp_path, "group", "split", "k2", "--by", "version"), "merged into k1")
    assert _cli(settings, tmp_path, "group", "split", "k1", "--by", "version").returncode == 0
    _one_line_error(_cli(settings, tmp_path, "group", "split", "k1", "--by", "version"), "already split")


@pytest.mark.es
def test_analyze_leaves_merged_away_groups_as_they_were(es: Any, settings: Settings) -> None:
    """After a merge, `analyze` no longer lists the merged-away group nor re-decides its registry entry
    (it would age into resolved, then read as a regression at unmerge); after the unmerge it is back
    with its own counts."""
    prefix = settings.index_prefix
    store = Store(es, prefix)
    index_events(es, prefix, [event("k1", NOW - DAY), event("k2", NOW - DAY), event("k2", NOW - DAY)])
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    before = es.get(index=f"{prefix}-groups", id="k2")["_source"]
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    later = analyze.run(store, config=AnalyzeConfig(), until=NOW + DAY)
    assert [group.group_id for group in later.groups] == ["k1"]
    assert later.groups[0].count_total == 3
    assert es.get(index=f"{prefix}-groups", id="k2")["_source"] == before
    group_cli.handle_unmerge(argparse.Namespace(key="k2"), settings)
    back = {
        group.group_id: group for group in analyze.run(store, config=AnalyzeConfig(), until=NOW + DAY).groups
    }
    assert back["k2"].count_total == 2 and back["k2"].status == "new"


class _NewVersion:
    """A fingerprint of a later GROUPING_VERSION: every key changes."""

    def __init__(self, source: Any) -> None:
        self.key = f"new-{source['error'].get('grouping_default_key') or source['error']['grouping_key']}"
        self.name = "title"
        self.version = 99


@pytest.mark.es
def test_regroup_carries_a_split_to_events_shipped_with_the_new_key(es: Any, settings: Settings) -> None:
    """A split survives a GROUPING_VERSION change: an event shipped afterwards with the group's new key
    joins the sub-group of its version, as the regrouped events did."""
    prefix = settings.index_prefix
    store = Store(es, prefix)
    index_events(es, prefix, [event("k1", NOW - DAY, version="1.0"), event("k1", NOW - DAY, version="2.0")])
    group_cli.handle_split(argparse.Namespace(key="k1", by="version"), settings)
    split_keys = set(_keys(es, prefix).values())
    run_regroup(store, since=None, until=NOW, progress=False, fingerprinter=(_NewVersion, 99))
    assert set(_keys(es, prefix).values()) == split_keys
    late = event("new-k1", NOW - DAY / 2, version="2.0", grouping_version=99)
    index_events(es, prefix, [late])
    group_edits.apply_pending(store)
    assert _keys(es, prefix)[late["event"]["id"]] in split_keys


@pytest.mark.es
def test_an_unmerge_made_while_regroup_runs_stays_undone(es: Any, settings: Settings) -> None:
    """`logloop group unmerge` during a `regroup` is kept: regroup adds the new keys to the edit as it is
    stored then, where it used to write back the edit it had read, active again."""
    prefix = settings.index_prefix
    store = Store(es, prefix)
    index_events(es, prefix, [event("m1", NOW - DAY), event("m2", NOW - DAY)])
    group_cli.handle_merge(argparse.Namespace(keys=["m1", "m2"]), settings)
    unmerged: list[bool] = []

    def fingerprint_while_unmerging(source: Any) -> _NewVersion:
        if not unmerged:
            unmerged.append(True)
            group_cli.handle_unmerge(argparse.Namespace(key="m2"), settings)
        return _NewVersion(source)

    run_regroup(store, since=None, until=NOW, progress=False, fingerprinter=(fingerprint_while_unmerging, 99))
    (edit,) = group_edits.load(store)
    assert edit.undone_at is not None and "new-m2" in edit.sources


class _ConcurrentStore(Store):
    """A real store on which another user's `group merge` runs whole while this one re-keys events (its
    first page read): two editors at once."""

    def __init__(self, es: Any, prefix: str, other: Any) -> None:
        super().__init__(es, prefix)
        self.other: Any = other

    def search(self, *, index: str, body: Any, action: str = "search") -> dict[str, Any]:
        found = super().search(index=index, body=body, action=action)
        if action == "read events to re-key" and self.other is not None:
            other, self.other = self.other, None
            other()
        return found


@pytest.mark.es
def test_two_users_merging_at_once_end_with_both_merges(es: Any, settings: Settings) -> None:
    """When another user's merge is saved and applied while this merge re-keys the same events, the
    events end keyed by both merges (this one's stale writes are applied again), not by whichever
    command wrote last."""
    prefix = settings.index_prefix
    index_events(es, prefix, [event(key, NOW - DAY) for key in ("k1", "k2", "k3")])

    def other_user() -> None:
        group_cli.handle_merge(argparse.Namespace(keys=["k3", "k2"]), settings)

    store = _ConcurrentStore(es, prefix, other_user)
    group_edits.save(store, group_edits.new_merge("k1", ["k2"], who="ana", at=group_edits.now(), version=3))
    group_edits.apply_settled(store, {"k1", "k2"})
    assert len(set(_keys(es, prefix).values())) == 1


@pytest.mark.es
def test_a_split_into_more_groups_than_the_limit_is_refused_unless_asked(
    es: Any, settings: Settings, tmp_path: Any
) -> None:
    """`group split --by message` of a group whose masked messages hold a bare word (a user name: 300
    values) would make 300 groups: it is refused in one line saying how many, records nothing, and is
    done with `--max-groups 300`; a split into a few groups needs no option."""
    prefix = settings.index_prefix
    names = ["".join(letters) for letters in itertools.product("abcdefgh", repeat=3)][:300]
    docs = [event("k1", NOW - DAY, message=f"user {name} not allowed") for name in names]
    docs += [event("k2", NOW - DAY, version=version) for version in ("1.0", "2.0", "3.0")]
    index_events(es, prefix, docs)
    _one_line_error(
        _cli(settings, tmp_path, "group", "split", "k1", "--by", "message"), "300", "--max-groups"
    )
    assert group_edits.load(Store(es, prefix)) == [] and set(_keys(es, prefix, size=400).values()) == {
        "k1",
        "k2",
    }
    allowed = _cli(settings, tmp_path, "group", "split", "k1", "--by", "message", "--max-groups", "300")
    assert allowed.returncode == 0, allowed.stderr
    assert _cli(settings, tmp_path, "group", "split", "k2", "--by", "version").returncode == 0
    keys = list(_keys(es, prefix, size=400).values())
    assert len(set(keys)) == 303


@pytest.mark.es
def test_group_show_of_a_merged_away_or_split_key_says_where_its_events_are(
    es: Any, settings: Settings, tmp_path: Any
) -> None:
    """`group show` of a key merged into another names the group that holds its events and the edit
    (it said "no events with a grouping key starting ..."), and of a split key its sub-groups."""
    prefix = settings.index_prefix
    index_events(es, prefix, [event(f"{letter * 32}", NOW - DAY) for letter in "abc"])
    index_events(es, prefix, [event("c" * 32, NOW - DAY, version="2.0")])
    assert _cli(settings, tmp_path, "group", "merge", "a" * 12, "b" * 12).returncode == 0
    merge = group_edits.load(Store(es, prefix))[-1]
    _one_line_error(_cli(settings, tmp_path, "group", "show", "b" * 12), "a" * 32, merge.edit_id)
    assert _cli(settings, tmp_path, "group", "split", "c" * 12, "--by", "version").returncode == 0
    split = group_edits.load(Store(es, prefix))[-1]
    sub_keys = {key for key in _keys(es, prefix).values() if key.startswith("s-")}
    _one_line_error(_cli(settings, tmp_path, "group", "show", "c" * 12), split.edit_id, *sub_keys)


@pytest.mark.es
def test_check_does_not_report_an_occurrence_of_a_merged_group_as_new(es: Any, settings: Settings) -> None:
    """After `group merge k1 k2`, a k2 error shipped since (still under its default key until the next
    `analyze`) is an occurrence of k1, seen long before, not a new group for `logloop check`; a
    group nothing merged is still new."""
    from analyzers import check
    from analyzers.config import CheckConfig

    prefix = settings.index_prefix
    index_events(es, prefix, [event("k1", NOW - 2 * DAY), event("k2", NOW - 2 * DAY)])
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    index_events(
        es, prefix, [event("k2", NOW - timedelta(minutes=5)), event("k3", NOW - timedelta(minutes=5))]
    )
    config = CheckConfig(warning_rate=100.0, critical_rate=400.0, warning_new=1, critical_new=3)
    result = check.run_check(Store(es, prefix), config=config, until=NOW)
    assert [group.group_id for group in result.new_groups] == ["k3"], result.line


@pytest.mark.es
def test_unmerge_of_one_source_takes_only_that_key_out(es: Any, settings: Settings, tmp_path: Any) -> None:
    """`group unmerge K2` after `group merge K1 K2 K3 K5` takes K2's events out and leaves K3 and K5
    merged into K1 (it undid the whole merge: all came out), recorded as edits; the rest keeps its
    place among the merges, so after `merge K4 K1` and `unmerge K3` the group is still keyed K4."""
    prefix = settings.index_prefix
    index_events(es, prefix, [event(key, NOW - DAY) for key in ("k1", "k2", "k3", "k4", "k5")])
    assert _cli(settings, tmp_path, "group", "merge", "k1", "k2", "k3", "k5").returncode == 0
    done = _cli(settings, tmp_path, "group", "unmerge", "k2")
    assert done.returncode == 0, done.stderr
    assert sorted(_keys(es, prefix).values()) == ["k1", "k1", "k1", "k2", "k4"]
    active = [edit for edit in group_edits.load(Store(es, prefix)) if edit.active]
    assert [(edit.target, edit.sources) for edit in active] == [("k1", ("k3", "k5"))]
    assert _cli(settings, tmp_path, "group", "merge", "k4", "k1").returncode == 0
    assert _cli(settings, tmp_path, "group", "unmerge", "k3").returncode == 0
    assert sorted(_keys(es, prefix).values()) == ["k2", "k3", "k4", "k4", "k4"]
    assert _cli(settings, tmp_path, "group", "unmerge", "k4").returncode == 0
    assert sorted(_keys(es, prefix).values()) == ["k1", "k1", "k2", "k3", "k4"]


@pytest.mark.es
@pytest.mark.parametrize("command", [["resolve"], ["ignore"]])
def test_resolve_or_ignore_of_a_merged_away_key_names_its_group(
    es: Any, settings: Settings, tmp_path: Any, command: list[str]
) -> None:
    """`logloop resolve`/`ignore` of a key merged into another is refused naming the group that holds
    its events: it marked the frozen entry of the merged-away key, and the merged group stayed open."""
    prefix = settings.index_prefix
    store = Store(es, prefix)
    index_events(es, prefix, [event("k1", NOW - DAY), event("k2", NOW - DAY)])
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    _one_line_error(_cli(settings, tmp_path, *command, "k2"), "merged into k1")
    assert es.get(index=f"{prefix}-groups", id="k2")["_source"]["status"] == "new"
    assert _cli(settings, tmp_path, *command, "k1").returncode == 0


@pytest.mark.es
def test_every_edit_is_read_past_one_page(es: Any, settings: Settings) -> None:
    """More edits than one search page (10,000) are all read, oldest first: the ones past the page
    were silently left out, their merges undone for every command."""
    store = Store(es, settings.index_prefix)
    group_edits.ensure(store)
    edits = [
        group_edits.new_merge(f"t{n}", [f"s{n}"], who="ana", at=NOW + timedelta(seconds=n), version=3)
        for n in range(10_050)
    ]
    operations: list[dict[str, Any]] = []
    for edit in edits:
        operations += [
            {"index": {"_index": store.group_edits, "_id": edit.edit_id}},
            group_edits.to_document(edit),
        ]
    es.bulk(operations=operations, refresh=True)
    loaded = group_edits.load(store)
    assert [edit.edit_id for edit in loaded] == [edit.edit_id for edit in edits]


@pytest.mark.es
def test_analyze_heals_events_a_concurrent_writer_left_in_an_undone_merge(
    es: Any, settings: Settings
) -> None:
    """Events still keyed by a merge that is undone (an `analyze` that re-keyed them with the edits it
    had read wrote after the unmerge) go back to their own group at the next `analyze`: they stayed in
    the merged group for good."""
    prefix = settings.index_prefix
    store = Store(es, prefix)
    index_events(es, prefix, [event("k1", NOW - DAY), event("k2", NOW - DAY)])
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    (merge,) = group_edits.load(store)
    group_edits.mark_undone(store, merge, who="bo", at=NOW)  # the unmerge's own re-keying was overwritten
    assert sorted(_keys(es, prefix).values()) == ["k1", "k1"]
    analyze.run(store, config=AnalyzeConfig(), until=NOW)
    assert sorted(_keys(es, prefix).values()) == ["k1", "k2"]


@pytest.mark.es
def test_a_split_that_finds_one_value_says_so(es: Any, settings: Settings, tmp_path: Any) -> None:
    """A split whose group's events all share the facet says it stays one group until another value
    comes, and is recorded (before: "into 1 groups")."""
    index_events(es, settings.index_prefix, [event("k1", NOW - DAY), event("k1", NOW - DAY)])
    done = _cli(settings, tmp_path, "group", "split", "k1", "--by", "version")
    assert done.returncode == 0 and "one group until another" in done.stdout, done
    assert "1 groups" not in done.stdout
    assert len(group_edits.load(Store(es, settings.index_prefix))) == 1


@pytest.mark.es
@pytest.mark.parametrize(
    ("target_events", "source_events"),
    [pytest.param(3, 1, id="big-target"), pytest.param(1, 2, id="small-target")],
)
def test_merge_and_unmerge_count_only_the_events_they_move(
    es: Any, settings: Settings, capsys: Any, target_events: int, source_events: int
) -> None:
    """merge says how many events changed group (the sources'), not the target's too, and so does unmerge."""
    prefix = settings.index_prefix
    docs = [event("k1", NOW - DAY) for _ in range(target_events)]
    docs += [event("k2", NOW - DAY) for _ in range(source_events)]
    index_events(es, prefix, [*docs, event("k3", NOW - DAY)])
    group_cli.handle_merge(argparse.Namespace(keys=["k1", "k2"]), settings)
    assert f"; {source_events} events re-keyed" in capsys.readouterr().out
    group_cli.handle_unmerge(argparse.Namespace(key="k2"), settings)
    assert f"; {source_events} events back to their groups" in capsys.readouterr().out
