"""Request bodies of analyzers.queries: core aggregations only, bounded, and accepted by the real node."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import group_pages, queries
from analyzers.exceptions import ElasticsearchUnavailable
from analyzers.store import Store
from kibana.setup import install_template
from shipper.schema import FIELDS, index_pattern

WEEK = timedelta(days=7)
SPAN: dict[str, Any] = {"until": NOW, "window": WEEK, "baseline_windows": 4}
CHECK_START = NOW - timedelta(minutes=15)
BODIES = {
    "group_summary": group_pages.page_request(
        query=queries.summary_query(**SPAN),
        field=group_pages.GROUP_KEY,
        aggs=queries.group_aggs(**SPAN),
        partition=group_pages.Partition(number=0, of=1),
        page_size=group_pages.PAGE_SIZE,
        estimate=True,
    ),
    "group_page_by_keys": group_pages.keys_request(
        query=queries.summary_query(**SPAN),
        field=group_pages.GROUP_KEY,
        aggs=queries.group_aggs(**SPAN),
        keys=["a", "b"],
        unread=queries.GROUP_UNREAD,
    ),
    "latest_at": queries.latest_at(last_seen={"a": NOW - timedelta(hours=30), "b": NOW - WEEK}, until=NOW),
    "service_versions": queries.service_versions(**SPAN),
    "all_time": group_pages.page_request(
        query=queries.all_time_query(keys=["a", "b"], until=NOW),
        field=group_pages.GROUP_KEY,
        aggs=queries.ALL_TIME_AGGS,
        partition=group_pages.Partition(number=1, of=4),
        page_size=10,
    ),
    "latest_per_group": queries.latest_per_group(keys=["a", "b"], until=NOW),
    "occurrences_since": queries.occurrences_since(since={"a": NOW - WEEK, "b": NOW - 2 * WEEK}, until=NOW),
    "check_errors": queries.check_errors(start=CHECK_START, until=NOW),
    "check_groups": group_pages.page_request(
        query=queries.check_groups_query(start=CHECK_START, until=NOW),
        field=group_pages.GROUP_KEY,
        aggs=queries.CHECK_GROUP_AGGS,
        partition=group_pages.Partition(number=0, of=1),
        page_size=group_pages.PAGE_SIZE,
    ),
    "seen_before": group_pages.page_request(
        query=queries.seen_before_query(keys=["a"], start=CHECK_START),
        field=group_pages.GROUP_KEY,
        aggs={},
        partition=group_pages.Partition(number=0, of=1),
        page_size=group_pages.PAGE_SIZE,
    ),
    "regroup_page": queries.regroup_page(
        query=queries.needs_regrouping(current_version=1, since=None, until=NOW), batch=500, search_after=None
    ),
}


def _walk(node: Any) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            pairs.append((key, value))
            pairs.extend(_walk(value))
    elif isinstance(node, list):
        for item in node:
            pairs.extend(_walk(item))
    return pairs


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in BODIES])
def test_core_apis_only_and_known_fields(name: str) -> None:
    """No composite aggregation, no script, and every field referenced exists in the schema."""
    pairs = _walk(BODIES[name])
    assert not {"composite", "script", "scripted_metric", "bucket_script", "bucket_selector"} & {
        k for k, _ in pairs
    }
    fields = {value for key, value in pairs if key == "field"}
    fields |= {
        next(iter(value)) for key, value in pairs if key in ("range", "term", "terms") and len(value) == 1
    }
    fields -= {"@timestamp"}
    assert fields <= set(FIELDS), fields - set(FIELDS)


def test_summary_is_bounded() -> None:
    """A page of groups, per-group lists and samples are bounded and sample _source is filtered."""
    body = BODIES["group_summary"]
    groups = body["aggs"]["page"]
    assert (
        groups["terms"]["size"] == group_pages.PAGE_SIZE == groups["terms"]["shard_size"]
        and body["size"] == 0
    )
    sub = groups["aggs"]
    assert all(sub[name]["terms"]["size"] == queries.TERMS_SIZE for name in ("versions", "hosts", "services"))
    assert not {"sample", "host_count"} & set(sub)  # per (group, shard) costs: see queries.group_aggs
    samples = BODIES["latest_per_group"]
    assert samples["size"] == 2 and samples["collapse"] == {"field": "error.grouping_key"}
    assert "error.stack_trace" in samples["_source"]["includes"]


def test_window_ranges_are_contiguous() -> None:
    """w0 is the current window and each older window ends where the newer one starts."""
    ranges = queries.window_ranges(NOW, WEEK, 2)
    assert [r["key"] for r in ranges] == ["w0", "w1", "w2"]
    assert ranges[0]["to"] == "2026-11-23T08:00:00.000Z" and ranges[0]["from"] == ranges[1]["to"]
    assert ranges[2]["from"] == queries.iso(NOW - 3 * WEEK)


def test_iso_is_utc() -> None:
    """Times are sent in UTC whatever zone they come in."""
    athens = datetime(2026, 1, 1, 14, 0, tzinfo=ZoneInfo("Europe/Athens"))
    assert queries.iso(athens) == "2026-01-01T12:00:00.000Z"


@pytest.mark.es
@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in BODIES])
def test_bodies_run_on_the_real_node(es: Any, index_prefix: str, name: str) -> None:
    """Each body is accepted by the real node against the real mapping (with one event indexed)."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("a", NOW - timedelta(days=1))])
    response = Store(es, index_prefix).search(index=index_pattern(index_prefix), body=BODIES[name])
    assert response["_shards"]["failed"] == 0
    json.dumps(response)


def test_latest_at_asks_one_clause_per_day_from_its_start() -> None:
    """Groups last seen on the same UTC day share a clause, searched from that day's midnight."""
    last_seen = {"a": NOW - timedelta(hours=1), "b": NOW - timedelta(hours=3), "c": NOW - WEEK}
    clauses = queries.latest_at(last_seen=last_seen, until=NOW)["query"]["bool"]["should"]
    ranges = [clause["bool"]["filter"][0]["range"]["@timestamp"]["gte"] for clause in clauses]
    keys = [clause["bool"]["filter"][1]["terms"]["error.grouping_key"] for clause in clauses]
    assert ranges == ["2026-11-16T00:00:00.000Z", "2026-11-23T00:00:00.000Z"] and keys == [["c"], ["a", "b"]]


@pytest.mark.es
def test_latest_at_finds_the_event_latest_per_group_finds(es: Any, index_prefix: str) -> None:
    """Searching each group from its last day gives the same latest event as searching all its days."""
    install_template(es, index_prefix)
    events = [event("a", NOW - timedelta(days=days, hours=hours)) for days in (1, 3, 9) for hours in (1, 5)]
    events += [event("b", NOW - timedelta(days=12, hours=2)), event("b", NOW - timedelta(days=20))]
    events += [event("a", NOW + timedelta(hours=1))]  # after `until`: neither may return it
    index_events(es, index_prefix, events)
    last_seen = {"a": NOW - timedelta(days=1, hours=1), "b": NOW - timedelta(days=12, hours=2)}

    def latest(body: dict[str, Any]) -> dict[str, str]:
        hits = Store(es, index_prefix).search(index=index_pattern(index_prefix), body=body)["hits"]["hits"]
        return {hit["_source"]["error"]["grouping_key"]: hit["_source"]["@timestamp"] for hit in hits}

    whole = latest(queries.latest_per_group(keys=["a", "b"], until=NOW))
    assert latest(queries.latest_at(last_seen=last_seen, until=NOW)) == whole
    assert set(whole) == {"a", "b"}


@pytest.mark.es
def test_elasticsearch_errors_are_translated(es: Any, index_prefix: str) -> None:
    """A request the node rejects becomes ElasticsearchUnavailable with a one-line reason."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("a", NOW)])
    bad = {"size": 0, "aggs": {"x": {"terms": {"field": "message", "size": 1}}}}  # text field: no fielddata
    with pytest.raises(ElasticsearchUnavailable, match="Elasticsearch refused to search: HTTP 400") as caught:
        Store(es, index_prefix).search(index=index_pattern(index_prefix), body=bad)
    assert "\n" not in str(caught.value)
