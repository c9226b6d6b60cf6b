"""`logloop regroup` on the real node: missing and outdated grouping keys are computed and written by id."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, queries
from analyzers.config import AnalyzeConfig
from analyzers.regroup import run_regroup, update_operations
from kibana.setup import install_template
from shipper.grouping.fingerprint import GROUPING_VERSION, fingerprint_event

DAY = timedelta(days=1)


@pytest.fixture
def prefix(es: Any, index_prefix: str) -> str:
    install_template(es, index_prefix)
    return index_prefix


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
    result = run_regroup(es, prefix, since=None, until=NOW, batch=2, stream=stream)
    assert (result.scanned, result.updated, result.unchanged) == (7, 7, 0)
    assert "7/7" in stream.getvalue()  # the tqdm bar reached the total

    stored = sources(es, prefix)
    for doc in [*unkeyed, *outdated, current_doc]:
        source = stored[doc["event"]["id"]]
        assert source["error"]["grouping_key"] == fingerprint.key
        assert source["logloop"]["grouping_version"] == GROUPING_VERSION
        assert source["error"]["stack_trace"] == doc["error"]["stack_trace"]  # partial update kept the rest
    assert "error" not in stored[info[0]["event"]["id"]]

    again = run_regroup(es, prefix, since=None, until=NOW, progress=False)
    assert (again.scanned, again.updated) == (0, 0)
    groups = analyze.run(es, prefix, config=AnalyzeConfig(), until=NOW).groups
    assert [(group.group_id, group.count_total) for group in groups] == [(fingerprint.key, 8)]


@pytest.mark.es
def test_regroup_since_bounds_the_scan(es: Any, prefix: str) -> None:
    """--since leaves older events as they are."""
    old, recent = event(None, NOW - 10 * DAY), event(None, NOW - DAY)
    index_events(es, prefix, [old, recent])
    result = run_regroup(es, prefix, since=NOW - 2 * DAY, until=NOW, progress=False)
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
    assert "'must_not': [{'exists': {'field': 'error.grouping_key'}}]" in text
    assert "{'range': {'logloop.grouping_version': {'lt': 3}}}" in text
