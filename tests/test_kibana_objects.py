"""The Kibana saved objects are data: load the committed NDJSON and check it against the generator,
against itself (references) and against the mappings and query parser of a real Elasticsearch node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kibana import objects
from kibana.setup import install_template
from shipper import schema

NDJSON = Path(objects.__file__).with_name("saved_objects.ndjson")
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


def _by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["type"], item["id"]): item for item in items}


def _data_view_for(item: dict[str, Any], reference_name: str, items: list[dict[str, Any]]) -> str:
    """The title of the data view an object's named reference points at."""
    (reference,) = [r for r in item["references"] if r["name"] == reference_name]
    return str(_by_key(items)[("index-pattern", reference["id"])]["attributes"]["title"])


def _used_fields(items: list[dict[str, Any]]) -> Iterator[tuple[str, str, str, str | None]]:
    """(object title, data view title, field, Lens dataType or None) for every field any object uses."""
    for item in items:
        attributes = item["attributes"]
        if item["type"] == "index-pattern":
            title = attributes["title"]
            yield title, title, attributes["timeFieldName"], "date"
            for field in json.loads(attributes.get("fieldFormatMap", "{}")):
                yield title, title, field, None
        elif item["type"] == "search":
            view = _data_view_for(item, "kibanaSavedObjectMeta.searchSourceJSON.index", items)
            for field in attributes["columns"]:
                yield attributes["title"], view, field, None
            for field, _direction in attributes["sort"]:
                yield attributes["title"], view, field, None
        elif item["type"] == "lens":
            layers = attributes["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id, layer in layers.items():
                view = _data_view_for(item, f"indexpattern-datasource-layer-{layer_id}", items)
                for column in layer["columns"].values():
                    if column["sourceField"] != "___records___":
                        yield attributes["title"], view, column["sourceField"], column["dataType"]


def _queries(items: list[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(object title, data view title, query) for every saved query."""
    for item in items:
        attributes = item["attributes"]
        if item["type"] == "search":
            source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
            view = _data_view_for(item, "kibanaSavedObjectMeta.searchSourceJSON.index", items)
            yield attributes["title"], view, source["query"]["query"]
            assert source["query"]["language"] == "lucene", attributes["title"]
        elif item["type"] == "lens":
            (layer_id,) = attributes["state"]["datasourceStates"]["formBased"]["layers"]
            view = _data_view_for(item, f"indexpattern-datasource-layer-{layer_id}", items)
            yield attributes["title"], view, attributes["state"]["query"]["query"]
            assert attributes["state"]["query"]["language"] == "lucene", attributes["title"]


def test_every_line_parses_and_matches_the_generator() -> None:
    """Every line of the committed NDJSON is a JSON object and the file is exactly what the generator
    writes today, so the file cannot drift from the schema."""
    lines = NDJSON.read_text(encoding="utf-8").splitlines()
    assert lines, "saved_objects.ndjson is empty"
    for number, line in enumerate(lines, 1):
        item = json.loads(line)
        assert isinstance(item, dict), f"line {number} is not an object"
        assert {"id", "type", "attributes", "references"} <= set(item), f"line {number}"
    assert NDJSON.read_text(encoding="utf-8") == objects.to_ndjson(objects.saved_objects()), (
        "kibana/saved_objects.ndjson is stale: run `python -m kibana.objects > kibana/saved_objects.ndjson`"
    )


def test_the_expected_objects_exist_with_unique_stable_ids() -> None:
    """The file holds two data views, three searches, five Lens charts and the dashboard, ids are
    unique, and ids are the same on every generation but differ between index prefixes."""
    items = _load()
    kinds = [item["type"] for item in items]
    assert kinds.count("index-pattern") == 2
    assert kinds.count("search") == 3
    assert kinds.count("lens") == 5
    assert [i["attributes"]["title"] for i in items if i["type"] == "dashboard"] == [objects.DASHBOARD_TITLE]
    assert len({(i["type"], i["id"]) for i in items}) == len(items)
    assert [i["id"] for i in objects.saved_objects()] == [i["id"] for i in items]
    assert not {i["id"] for i in objects.saved_objects("other")} & {i["id"] for i in items}


def test_every_object_targets_the_supported_kibana_migration_versions() -> None:
    """Every object carries the core and per-type migration versions of the oldest supported Kibana."""
    for item in _load():
        assert item["coreMigrationVersion"] == objects.CORE_MIGRATION_VERSION
        assert item["typeMigrationVersion"] == objects.TYPE_MIGRATION_VERSIONS[item["type"]]


def test_every_reference_resolves() -> None:
    """Every reference (data views of searches and Lens layers, dashboard panels) names an object in the
    file, and every dashboard panel and Lens layer has the reference Kibana looks for."""
    items = _load()
    known = _by_key(items)
    for item in items:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in known, (item["attributes"]["title"], reference)
        names = {reference["name"] for reference in item["references"]}
        if item["type"] == "dashboard":
            panels = json.loads(item["attributes"]["panelsJSON"])
            assert len(panels) == len(item["references"])
            for panel in panels:
                assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names
        if item["type"] == "lens":
            for layer_id in item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
                assert f"indexpattern-datasource-layer-{layer_id}" in names


def test_every_lens_visualization_names_only_its_own_columns() -> None:
    """Each Lens chart's visualization state refers to its layer and to columns the layer defines."""
    for item in _load():
        if item["type"] != "lens":
            continue
        (layer_id, layer) = next(
            iter(item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].items())
        )
        assert sorted(layer["columnOrder"]) == sorted(layer["columns"])
        text = json.dumps(item["attributes"]["state"]["visualization"])
        assert layer_id in text
        for key in ("xAccessor", "splitAccessor"):
            for vis_layer in item["attributes"]["state"]["visualization"].get("layers", []):
                if key in vis_layer:
                    assert vis_layer[key] in layer["columns"]
        for column in layer["columns"].values():
            order = column.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                assert order["columnId"] in layer["columns"]


def test_registry_fields_match_the_analyzers_registry_mapping() -> None:
    """The registry fields the Kibana objects may use are mapped by analyzers.registry with the same types."""
    registry = pytest.importorskip("analyzers.registry", reason="the analyzers package is not installed")
    properties = registry.MAPPING["properties"]
    for field, es_type in objects.REGISTRY_FIELDS.items():
        name, _, sub = field.partition(".")
        mapping = properties[name]["fields"][sub] if sub else properties[name]
        assert mapping["type"] == es_type, field


def test_an_unknown_field_is_refused_at_generation() -> None:
    """A saved object that names a field outside the schema cannot be generated."""
    with pytest.raises(KeyError, match=r"no\.such\.field"):
        objects.EVENTS.lens_type("no.such.field")


# ---- against the real node ---------------------------------------------------------------------


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = document
        *parents, leaf = [dotted] if dotted == "@timestamp" else dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return document


def _event(offset_minutes: int, **fields: Any) -> dict[str, Any]:
    timestamp = NOW + timedelta(minutes=offset_minutes)
    base = {
        "@timestamp": timestamp.isoformat(),
        "ecs.version": schema.ECS_VERSION,
        "event.id": f"evt-{offset_minutes}",
        "event.dataset": schema.DATASET_LOG,
        "event.kind": "event",
        "log.logger": "app.worker",
        "log.level": "info",
        "service.name": "billing",
        "service.version": "1.4.2",
        "host.name": "build-01",
        "message": "processed 12 invoices",
    }
    return _nest({**base, **fields})


REAL_EVENTS = (
    _event(
        0,
        **{
            "log.level": "error",
            "message": "payment failed",
            "error.type": "builtins.ValueError",
            "error.message": "amount must be positive",
            "error.stack_trace": 'Traceback (most recent call last):\n  File "pay.py", line 3, in pay\n'
            "ValueError: amount must be positive\n",
            "error.grouping_key": "0f3a9c",
            "error.grouping_name": "ValueError in pay",
            "logloop.grouping_version": 1,
        },
    ),
    _event(1, **{"event.dataset": schema.DATASET_FEEDBACK, "logloop.feedback.kind": "feature"}),
    _event(2, **{"event.action": "sync-invoices", "event.duration": 1_500_000_000}),
    _event(
        3, **{"log.level": "critical", "logloop.template": "disk %s is full", "message": "disk / is full"}
    ),
)

REAL_GROUP = {
    "group_id": "0f3a9c",
    "title": "ValueError in pay",
    "category": "traceback",
    "error_type": "builtins.ValueError",
    "level": "error",
    "first_seen": NOW.isoformat(),
    "last_seen": NOW.isoformat(),
    "count_total": 3,
    "count_window": 2,
    "count_previous_window": 1,
    "versions": ["1.4.2"],
    "hosts": ["build-01"],
    "services": ["billing"],
    "sample_stack_trace": "Traceback ...",
    "sample_message": "payment failed",
    "status": "new",
    "resolved_in_version": None,
    "resolved_at": None,
    "status_changed_at": NOW.isoformat(),
    "updated_at": NOW.isoformat(),
    "priority": 4.5,
    "grouping_version": 1,
}


def _registry_mapping() -> dict[str, Any]:
    """The registry mapping from analyzers.registry when it exists, else one built from the contract."""
    try:
        from analyzers.registry import MAPPING
    except ImportError:
        pass
    else:
        return MAPPING
    properties: dict[str, Any] = {}
    for field, es_type in objects.REGISTRY_FIELDS.items():
        if field == "title.keyword":
            properties["title"]["fields"] = {"keyword": {"type": "keyword"}}
        else:
            properties[field] = {"type": es_type}
    return {"properties": properties}


@pytest.fixture
def indexed(es: Any, index_prefix: str) -> dict[str, str]:
    """Install the real template, index real ECS events and a registry doc; map view titles to indices."""
    install_template(es, index_prefix)
    for document in REAL_EVENTS:
        timestamp = datetime.fromisoformat(document["@timestamp"])
        es.index(
            index=schema.index_for(timestamp, index_prefix),
            id=document["event"]["id"],
            document=document,
            op_type="create",
        )
    groups = f"{index_prefix}-groups"
    es.indices.create(index=groups, mappings=_registry_mapping())
    es.index(index=groups, id=REAL_GROUP["group_id"], document=REAL_GROUP)
    es.indices.refresh(index=f"{schema.index_pattern(index_prefix)},{groups}")
    return {
        schema.index_pattern(schema.DEFAULT_INDEX_PREFIX): schema.index_pattern(index_prefix),
        f"{schema.DEFAULT_INDEX_PREFIX}-groups": groups,
    }


_LENS_TYPES = {"string": {"keyword"}, "number": {"long", "float", "double", "integer"}, "date": {"date"}}


@pytest.mark.es
def test_every_used_field_exists_in_the_real_mapping(es: Any, indexed: dict[str, str]) -> None:
    """Every field a saved object uses exists in the mapping the real template produced after real
    documents were indexed, and every field a Lens column aggregates is aggregatable with its dataType."""
    used = list(_used_fields(_load()))
    assert {view for _, view, _, _ in used} == set(indexed)
    for view, index in indexed.items():
        fields = sorted({field for _, v, field, _ in used if v == view})
        response = es.indices.get_field_mapping(index=index, fields=fields)
        mapped: dict[str, str] = {}
        for index_mapping in response.body.values():
            for name, entry in index_mapping["mappings"].items():
                (leaf,) = entry["mapping"].values()
                mapped[name] = leaf["type"]
        caps = es.field_caps(index=index, fields=fields).body["fields"]
        for title, v, field, data_type in used:
            if v != view:
                continue
            assert field in mapped, f"{title!r} uses {field!r}, which {index} does not map"
            if data_type is not None:
                assert mapped[field] in _LENS_TYPES[data_type], (title, field, mapped[field])
                assert all(cap["aggregatable"] for cap in caps[field].values()), (title, field)


@pytest.mark.es
def test_every_saved_query_validates_on_the_node(es: Any, indexed: dict[str, str]) -> None:
    """Every saved Lucene query parses on the real node, and each matches at least one of the real docs."""
    queries = list(_queries(_load()))
    assert len([q for _, _, q in queries if q]) >= 6
    for title, view, query in queries:
        body = {"query_string": {"query": query or "*"}}
        result = es.indices.validate_query(index=indexed[view], query=body, explain=True)
        assert result["valid"], f"{title!r}: {result.get('explanations')}"
        if query:
            assert es.count(index=indexed[view], query=body)["count"] > 0, f"{title!r} matches nothing"


@pytest.mark.es
def test_the_query_validation_can_fail(es: Any, indexed: dict[str, str]) -> None:
    """A malformed Lucene query is reported invalid, so the validation above is not vacuous."""
    index = next(iter(indexed.values()))
    result = es.indices.validate_query(index=index, query={"query_string": {"query": "log.level:(error"}})
    assert result["valid"] is False


@pytest.mark.es
def test_the_group_lists_leave_out_what_no_figure_counts(es: Any, indexed: dict[str, str]) -> None:
    """The registry tables' saved query keeps every group but those in a status whose events no figure
    counts (ignored), as the digest's lists and `check` do."""
    groups = indexed[f"{schema.DEFAULT_INDEX_PREFIX}-groups"]
    ignored = {**REAL_GROUP, "group_id": "f" * 40, "status": "ignored"}
    es.index(index=groups, id=ignored["group_id"], document=ignored, refresh=True)
    tables = [query for title, view, query in _queries(_load()) if view.endswith("-groups")]
    assert tables
    for query in tables:
        body = {"query_string": {"query": query or "*"}}
        found = es.search(index=groups, query=body, size=10)["hits"]["hits"]
        assert [hit["_source"]["status"] for hit in found] == [REAL_GROUP["status"]]
