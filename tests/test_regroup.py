"""`logloop regroup` on the real node: missing and outdated grouping keys are computed and written by id."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, queries, registry, template_store
from analyzers.config import AnalyzeConfig
from analyzers.regroup import run_regroup, update_operations
from analyzers.store import Store
from shipper.cluster_cli import cluster_lines
from shipper.grouping.fingerprint import GROUPING_VERSION, fingerprint_event

DAY = timedelta(days=1)


def sources(es: Any, prefix: str) -> dict[str, dict[str, Any]]:
    response = es.search(index=f"{prefix}-20*", size=1000, query={"match_all": {}})
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


@pytest.mark.es
def test_regroup_fills_missing_and_outdated_keys(es: Any, prefix: str) -> None:
    """Events without a key or with an older grouping version get the fingerprint's key; others stay."""
    unkeyed = [event(None, NOW - n * DAY - timedelta(minutes=i)) for n in (1, 3) for i in range(3)]
    outdated = [event("stale-key", NOW - 2 * DAY, grouping_version=GROUPING_VERSION - 1)]
    current_doc = event(None, NOW - DAY)
    fingerprint = fingerprint_event(current_doc)
    assert fingerprint is not None
    current_doc["error"].update({"grouping_key": fingerprint.key, "grouping_name": fingerprint.name})
    current_doc["logloop"] = {"grouping_version": fingerprint.version}
    info = [event(None, NOW - DAY, level="info")]
    index_events(es, prefix, [*unkeyed, *outdated, current_doc, *info])

    stream = io.StringIO()
    result = run_regroup(Store(es, prefix), since=None, until=NOW, batch=2, stream=stream)
    assert (result.scanned, result.updated, result.unchanged) == (7, 7, 0)
    assert "7/7" in stream.getvalue()  # the tqdm bar reached the total

    stored = sources(es, prefix)
    for doc in [*unkeyed, *outdated, current_doc]:
        source = stored[doc["event"]["id"]]
        assert source["error"]["grouping_key"] == fingerprint.key
        assert source["logloop"]["grouping_version"] == GROUPING_VERSION
        assert source["error"]["stack_trace"] == doc["error"]["stack_trace"]  # partial update kept the rest
    assert "error" not in stored[info[0]["event"]["id"]]

    again = run_regroup(Store(es, prefix), since=None, until=NOW, progress=False)
    assert (again.scanned, again.updated) == (0, 0)
    groups = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    assert [(group.group_id, group.count_total) for group in groups] == [(fingerprint.key, 8)]


@pytest.mark.es
def test_regroup_since_bounds_the_scan(es: Any, prefix: str) -> None:
    """--since leaves older events as they are."""
    old, recent = event(None, NOW - 10 * DAY), event(None, NOW - DAY)
    index_events(es, prefix, [old, recent])
    result = run_regroup(Store(es, prefix), since=NOW - 2 * DAY, until=NOW, progress=False)
    assert (result.scanned, result.updated) == (1, 1)
    stored = sources(es, prefix)
    assert "grouping_key" not in stored[old["event"]["id"]]["error"]
    assert "grouping_key" in stored[recent["event"]["id"]]["error"]


def test_update_operations_are_partial_updates_by_id() -> None:
    """Each event becomes an update-by-id of its own daily index carrying only the grouping fields."""
    fingerprint = fingerprint_event(event(None, NOW))
    assert fingerprint is not None
    hit = {"_index": "p-2026.11.23", "_id": "abc"}
    action, body = update_operations(hit, fingerprint)
    assert action == {"update": {"_index": "p-2026.11.23", "_id": "abc"}}
    assert body == {
        "doc": {
            "error": {"grouping_key": fingerprint.key, "grouping_name": fingerprint.name},
            "logloop": {"grouping_version": GROUPING_VERSION},
        }
    }


def test_regroup_query_targets_only_errors_lacking_current_keys() -> None:
    """The query filters error events whose key is missing or whose grouping version is older."""
    query = queries.needs_regrouping(current_version=3, since=None, until=NOW)
    text = repr(query)
    assert repr(queries.ungrouped()) in text  # no key, or an empty one (schema.present_query)
    assert "{'range': {'logloop.grouping_version': {'lt': 3}}}" in text


def foreign_line(at: Any, message: str, *, level: str = "ERROR") -> dict[str, Any]:
    """Another shipper's log line: a message and a level, no template, no traceback, no grouping fields."""
    return {
        "@timestamp": at.isoformat().replace("+00:00", "Z"),
        "message": message,
        "event": {"id": uuid.uuid4().hex, "dataset": "other.app"},
        "log": {"level": level, "logger": "other"},
        "host": {"name": "legacy-1"},
    }


UPSTREAMS = ("billing", "search", "auth", "mail", "ledger", "geo")
FOREIGN = [
    *(f"payment {n} failed after {n % 5 + 1} retries for user u{n}" for n in range(12)),
    *(f"cache node cache-{n} evicted {n * 117} keys in {n}.{n} s" for n in range(9)),
    *(f"upstream {name} refused connection" for name in UPSTREAMS),
]


@pytest.mark.es
def test_regroup_mines_message_only_events_like_cluster_and_keeps_keys_stable(es: Any, prefix: str) -> None:
    """Lines from another shipper are grouped by mined templates as `logloop cluster` groups them, the
    templates are stored, and a later run gives new lines of the same statements the same keys."""
    first = [foreign_line(NOW - DAY - timedelta(minutes=i), message) for i, message in enumerate(FOREIGN)]
    index_events(es, prefix, first)
    result = run_regroup(Store(es, prefix), since=None, until=NOW, batch=7, progress=False)
    assert (result.scanned, result.updated) == (len(first), len(first))

    stored = sources(es, prefix)
    keys = [stored[doc["event"]["id"]]["error"]["grouping_key"] for doc in first]
    clustered = [item.cluster for item in cluster_lines(json.dumps(doc) for doc in first)]
    assert len(set(keys)) == 3
    assert partition(keys) == partition(clustered)  # the same groups as `logloop cluster`
    names = {stored[doc["event"]["id"]]["error"]["grouping_name"] for doc in first}
    assert "upstream <*> refused connection" in names
    learned = template_store.load(Store(es, prefix))
    assert {template.cluster_id for template in learned.known} == set(keys)

    later = [
        foreign_line(NOW - timedelta(hours=2), "payment 977 failed after 2 retries for user u977"),
        foreign_line(NOW - timedelta(hours=1), "upstream fraud refused connection"),
    ]
    index_events(es, prefix, later)
    again = run_regroup(Store(es, prefix), since=None, until=NOW, progress=False)
    assert (again.scanned, again.updated) == (2, 2)
    stored = sources(es, prefix)
    assert stored[later[0]["event"]["id"]]["error"]["grouping_key"] == keys[0]
    assert stored[later[1]["event"]["id"]]["error"]["grouping_key"] == keys[-1]
    assert len(template_store.load(Store(es, prefix)).known) == 3  # nothing new was learned

    groups = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    assert sorted(group.count_total for group in groups) == [7, 9, 13]
    assert {group.category for group in groups} == {"error_line"}


@pytest.mark.es
def test_mined_names_are_the_titles_cluster_gives_and_are_stored_with_the_templates(
    es: Any, prefix: str
) -> None:
    """Message-only groups are named as `logloop cluster` titles them (the first line as written, its
    variables as placeholders), in a templates index made before titles were stored too (its mapping is
    extended), and a later run names new lines of a stored template the same."""
    store = Store(es, prefix)
    old_mapping = {
        name: value for name, value in template_store.MAPPING["properties"].items() if name != "title"
    }
    es.indices.create(index=store.templates, mappings={"dynamic": "strict", "properties": old_mapping})
    first = [foreign_line(NOW - DAY - timedelta(minutes=i), message) for i, message in enumerate(FOREIGN)]
    index_events(es, prefix, first)
    run_regroup(store, since=None, until=NOW, progress=False)
    stored = sources(es, prefix)
    names = [stored[doc["event"]["id"]]["error"]["grouping_name"] for doc in first]
    titles = [item.title for item in cluster_lines(json.dumps(doc) for doc in first)]
    assert names == titles
    assert "upstream <*> refused connection" in names and any("retries for user" in name for name in names)
    assert {template.title for template in template_store.load(store).known} == set(names)

    later = foreign_line(NOW - timedelta(hours=1), "payment 977 failed after 2 retries for user u977")
    index_events(es, prefix, [later])
    run_regroup(store, since=None, until=NOW, progress=False)
    assert sources(es, prefix)[later["event"]["id"]]["error"]["grouping_name"] == names[0]


@pytest.mark.es
def test_analyze_groups_unkeyed_lines_before_counting(es: Any, prefix: str) -> None:
    """`analyze` gives another shipper's unkeyed error lines of its look-back range a mined key first."""
    docs = [foreign_line(NOW - DAY - timedelta(minutes=i), message) for i, message in enumerate(FOREIGN)]
    index_events(es, prefix, docs)
    groups = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    assert sorted(group.count_window for group in groups) == [6, 9, 12]
    assert all(group.status == "new" for group in groups)


def partition(labels: list[Any]) -> set[frozenset[int]]:
    """The groups a labelling makes, as sets of positions (label values themselves may differ)."""
    groups: dict[Any, set[int]] = {}
    for position, label in enumerate(labels):
        groups.setdefault(label, set()).add(position)
    return {frozenset(members) for members in groups.values()}


@pytest.mark.es
def test_templates_learned_from_few_values_are_merged_with_their_events_and_groups(
    es: Any, prefix: str
) -> None:
    """A first analyze sees three user names (three templates, three groups); a later one sees five more:
    every event of the statement then carries the general template's key and the registry has one group."""
    names = ("alice", "bruno", "chen", "dana", "emeka", "farah", "goran", "hana")
    first = [
        foreign_line(NOW - 3 * DAY + timedelta(minutes=i), f"session expired for {n}")
        for i, n in enumerate(names[:3])
    ]
    index_events(es, prefix, first)
    groups = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW - 2 * DAY).groups
    assert len(groups) == 3
    later = [
        foreign_line(NOW - DAY + timedelta(minutes=i), f"session expired for {n}")
        for i, n in enumerate(names[3:])
    ]
    index_events(es, prefix, later)
    groups = analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW).groups
    assert [(group.title, group.count_total) for group in groups] == [("session expired for <*>", 8)]
    assert [group.group_id for group in registry.load_groups(Store(es, prefix))] == [groups[0].group_id]
    keys = {source["error"]["grouping_key"] for source in sources(es, prefix).values()}
    assert keys == {groups[0].group_id}
    assert [t.text for t in template_store.load(Store(es, prefix)).known] == ["session expired for <*>"]
