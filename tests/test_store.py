"""analyzers.store: the one place the analyzers call Elasticsearch, and where its errors are translated."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.ports import free_port

from analyzers.exceptions import ElasticsearchUnavailable
from analyzers.store import Store
from shipper import schema
from shipper.connection import ElasticsearchSettings, make_client


def test_index_names_come_from_the_schema() -> None:
    """The store names every index by shipper.schema, and none of the analyzers' own indices matches
    the daily event pattern."""
    store = Store(make_client(ElasticsearchSettings(url="http://127.0.0.1:9")), "acme")
    own = [store.registry, store.group_edits, store.templates, store.alerts, store.digest_sends]
    assert own == [
        schema.registry_index("acme"),
        schema.group_edits_index("acme"),
        schema.templates_index("acme"),
        schema.alerts_index("acme"),
        schema.digest_sends_index("acme"),
    ]
    assert (store.events, store.event_template) == (
        schema.index_pattern("acme"),
        schema.template_name("acme"),
    )
    assert not any(name.startswith("acme-20") for name in own)
    store.close()


@pytest.mark.parametrize(
    ("call", "action"),
    [
        pytest.param(
            lambda s: s.search(index=s.events, body={"size": 0}, action="count errors"),
            "count errors",
            id="search",
        ),
        pytest.param(
            lambda s: s.ensure_index(index=s.registry, body={}), "create index t-groups", id="ensure_index"
        ),
        pytest.param(
            lambda s: s.ilm_available(), "ask whether the cluster has index lifecycle management", id="ilm"
        ),
    ],
)
def test_unreachable_node_is_one_line_naming_the_action(call: Any, action: str) -> None:
    """A node nobody listens on becomes ElasticsearchUnavailable: one line, the action, what to do."""
    client = make_client(ElasticsearchSettings(url=f"http://127.0.0.1:{free_port()}", request_timeout=2.0))
    store = Store(client, "t")
    with pytest.raises(ElasticsearchUnavailable) as caught:
        call(store)
    message = str(caught.value)
    assert message.startswith(f"cannot reach Elasticsearch to {action} (")
    assert "is the node running?" in message and "\n" not in message
    store.close()


@pytest.mark.es
def test_missing_indices_read_as_empty(es: Any, index_prefix: str) -> None:
    """Before anything was written, searches, listings and template reads answer empty instead of raising."""
    store = Store(es, index_prefix)
    assert store.search(index=store.events, body={"size": 10})["hits"]["hits"] == []
    assert (
        store.search(index=store.registry, body={"size": 10, "track_total_hits": True})["hits"]["total"][
            "value"
        ]
        == 0
    )
    assert store.list_indices(pattern=store.events, action="list") == []
    assert store.index_template(name=store.event_template, action="read the template") == {}
    store.delete_doc(index=store.alerts, doc_id="nothing", action="forget")  # no index, no document: no error
    store.refresh(index=store.events)


@pytest.mark.es
def test_url_options_in_a_body_travel_in_the_url(es: Any, index_prefix: str) -> None:
    """A body carrying filter_path (a URL option) is answered as filtered, not refused as an unknown key."""
    store = Store(es, index_prefix)
    store.ensure_index(index=store.alerts, body={})
    store.bulk(
        operations=[{"index": {"_index": store.alerts, "_id": "a"}}, {"n": 1}], action="write", refresh=True
    )
    body = {
        "size": 1,
        "filter_path": "hits.hits._id",
        "request_cache": False,
        "allow_partial_search_results": False,
    }
    assert store.search(index=store.alerts, body=body) == {"hits": {"hits": [{"_id": "a"}]}}


@pytest.mark.es
def test_documents_create_once_and_compare_and_set(es: Any, index_prefix: str) -> None:
    """create_doc answers None for an existing id; replace_doc with a stale sequence number answers None
    when conflicts are expected, and raises a one-line error otherwise."""
    store = Store(es, index_prefix)
    assert store.ensure_index(index=store.alerts, body={}) is True
    assert store.ensure_index(index=store.alerts, body={}) is False
    first = store.create_doc(index=store.alerts, doc_id="m", document={"state": "a"}, action="claim")
    assert first is not None
    assert store.create_doc(index=store.alerts, doc_id="m", document={"state": "b"}, action="claim") is None
    stale = {"seq_no": first["_seq_no"], "primary_term": first["_primary_term"]}
    assert store.replace_doc(
        index=store.alerts, doc_id="m", document={"state": "c"}, action="update", **stale
    )
    again = store.replace_doc(
        index=store.alerts, doc_id="m", document={"state": "d"}, action="re-claim", conflict_ok=True, **stale
    )
    assert again is None
    with pytest.raises(
        ElasticsearchUnavailable, match=r"^Elasticsearch refused to finish: HTTP 409: "
    ) as caught:
        store.replace_doc(index=store.alerts, doc_id="m", document={"state": "e"}, action="finish", **stale)
    assert "\n" not in str(caught.value)
    assert store.get_doc(index=store.alerts, doc_id="m", action="read")["_source"] == {"state": "c"}


@pytest.mark.es
def test_a_refused_bulk_item_raises_with_the_count_and_first_reason(es: Any, index_prefix: str) -> None:
    """One bulk item the mapping refuses fails the whole call with how many failed and why the first did."""
    store = Store(es, index_prefix)
    store.ensure_index(
        index=store.alerts, body={"mappings": {"dynamic": "strict", "properties": {"n": {"type": "long"}}}}
    )
    operations = [
        {"index": {"_index": store.alerts, "_id": "ok"}},
        {"n": 1},
        {"index": {"_index": store.alerts, "_id": "bad"}},
        {"unknown": 1},
    ]
    with pytest.raises(
        ElasticsearchUnavailable,
        match=r"^write alerts: 1 of 2 bulk items failed, first: strict_dynamic_mapping_exception: ",
    ):
        store.bulk(operations=operations, action="write alerts")
    items = store.bulk_items(operations=operations, action="write alerts")
    assert [bool(item["index"].get("error")) for item in items] == [False, True]


@pytest.mark.es
def test_every_bookkeeping_index_is_made_with_the_same_settings(es: Any, index_prefix: str) -> None:
    """The registry, group edits, templates, alerts and digest-send indices are each created with one
    shard and a replica where a second node can hold it, and with their own strict mapping."""
    from analyzers import group_edits, mailer, registry, template_store

    store = Store(es, index_prefix)
    registry.ensure(store)
    group_edits.ensure(store)
    template_store.ensure(store)
    mailer.MarkerStore(store).ensure()
    store.ensure_bookkeeping_index(index=store.alerts)  # (alerts makes it on its first claim)
    for index in (store.registry, store.group_edits, store.templates, store.digest_sends, store.alerts):
        settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
        assert (settings["number_of_shards"], settings["auto_expand_replicas"]) == ("1", "0-1"), index
    for index in (store.registry, store.group_edits, store.templates, store.digest_sends):
        assert es.indices.get_mapping(index=index)[index]["mappings"]["dynamic"] == "strict", index
