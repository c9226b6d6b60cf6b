"""Every Kibana saved object logloop ships, generated from one source so they never drift.

Field names come from `shipper.schema.FIELDS` (the events) and `REGISTRY_FIELDS` below (the group
registry contract); a field that is not in either raises at generation time, and the tests check
every field used here against the mappings a real node produces.

Target: Kibana 8.11.0, the oldest Kibana the project supports (the same ECS 8.11 the schema
follows). The migration-version fields say which shape each object has, so 8.11 and every later
8.x and 9.x Kibana migrate them forward on import; an older Kibana refuses them by design.

Ids are uuid5 of (prefix, kind, name): stable, so `_import?overwrite=true` replaces the objects
in place, and distinct per index prefix, so two deployments can share one Kibana.

Regenerate the committed file with `python -m kibana.objects > kibana/saved_objects.ndjson`
(or `logloop kibana export`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from analyzers import lifecycle
from shipper import schema

KIBANA_TARGET_VERSION: Final = "8.11.0"
CORE_MIGRATION_VERSION: Final = "8.8.0"
TYPE_MIGRATION_VERSIONS: Final[Mapping[str, str]] = {
    "index-pattern": "8.0.0",
    "search": "8.0.0",
    "lens": "8.9.0",
    "dashboard": "8.9.0",
}
DASHBOARD_TITLE: Final = "Service manager health"

# The group registry contract (analyzers/registry.py owns the index; this is its field list).
REGISTRY_FIELDS: Final[Mapping[str, str]] = {
    "group_id": "keyword",
    "title": "text",
    "title.keyword": "keyword",
    "category": "keyword",
    "error_type": "keyword",
    "level": "keyword",
    "first_seen": "date",
    "last_seen": "date",
    "count_total": "long",
    "count_window": "long",
    "count_previous_window": "long",
    "versions": "keyword",
    "hosts": "keyword",
    "services": "keyword",
    "sample_stack_trace": "text",
    "sample_message": "text",
    "status": "keyword",
    "resolved_in_version": "keyword",
    "resolved_at": "date",
    "status_changed_at": "date",
    "updated_at": "date",
    "priority": "float",
    "grouping_version": "long",
}

# The one definition of "an error event" (shipper.schema), in the Lucene syntax saved searches use.
ERRORS_QUERY: Final = schema.is_error_lucene()
TRACEBACKS_QUERY: Final = "_exists_:error.stack_trace"
FEEDBACK_QUERY: Final = f'event.dataset:"{schema.DATASET_FEEDBACK}"'
TIMED_QUERY: Final = "_exists_:event.duration AND _exists_:event.action"
# The registry's groups a list shows: not those whose events no figure counts (ignored: `lifecycle`),
# as the digest's lists and `check` leave them out.
COUNTED_GROUPS_QUERY: Final = " AND ".join(
    f'NOT status:"{status}"' for status in sorted(lifecycle.UNCOUNTED_STATUSES)
)

_DATA_TYPES: Final = {"keyword": "string", "text": "string", "long": "number", "float": "number"}


def object_id(prefix: str, kind: str, name: str) -> str:
    """The stable id of one saved object."""
    return schema.saved_object_id(prefix, kind, name)


def _event_field_types() -> dict[str, str]:
    types = {name: mapping["type"] for name, mapping in schema.FIELDS.items()}
    for name, mapping in schema.FIELDS.items():
        for sub, sub_mapping in mapping.get("fields", {}).items():
            types[f"{name}.{sub}"] = sub_mapping["type"]
    return types


EVENT_FIELD_TYPES: Final[Mapping[str, str]] = _event_field_types()


@dataclass(frozen=True, kw_only=True)
class DataView:
    """Which data view an object reads, and the field types it may use."""

    key: str  # "events" or "groups"
    fields: Mapping[str, str]

    def lens_type(self, field: str) -> str:
        """The Lens dataType of a field; KeyError names a field outside the schema."""
        if field not in self.fields:
            raise KeyError(f"field {field!r} is not in the {self.key} schema")
        es_type = self.fields[field]
        return _DATA_TYPES.get(es_type, es_type)


EVENTS: Final = DataView(key=schema.EVENTS_DATA_VIEW, fields=EVENT_FIELD_TYPES)
GROUPS: Final = DataView(key=schema.GROUPS_DATA_VIEW, fields=REGISTRY_FIELDS)


def _field(view: DataView, field: str) -> str:
    """The field name, after checking the view's schema has it."""
    view.lens_type(field)
    return field


def _saved_object(
    prefix: str, kind: str, name: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "id": object_id(prefix, kind, name),
        "type": kind,
        "attributes": attributes,
        "references": references,
        "managed": False,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "typeMigrationVersion": TYPE_MIGRATION_VERSIONS[kind],
    }


def data_view_objects(prefix: str) -> list[dict[str, Any]]:
    """The data views: daily event indices (not the registry) and the group registry."""
    duration_format = {"id": "duration", "params": {"inputFormat": "nanoseconds", "outputFormat": "humanize"}}
    events = {
        "title": schema.index_pattern(prefix),
        "name": f"{prefix} events",
        "timeFieldName": _field(EVENTS, "@timestamp"),
        "fieldFormatMap": json.dumps({"event.duration": duration_format}),
        "allowNoIndex": True,
    }
    groups = {
        "title": schema.registry_index(prefix),
        "name": f"{prefix} error groups",
        "timeFieldName": _field(GROUPS, "last_seen"),
        "allowNoIndex": True,
    }
    return [
        _saved_object(prefix, "index-pattern", "events", events, []),
        _saved_object(prefix, "index-pattern", "groups", groups, []),
    ]


def _data_view_reference(prefix: str, view: DataView, name: str) -> dict[str, str]:
    return {"type": "index-pattern", "id": object_id(prefix, "index-pattern", view.key), "name": name}


@dataclass(frozen=True, kw_only=True)
class SavedSearch:
    name: str
    title: str
    description: str
    query: str
    columns: tuple[str, ...]


SAVED_SEARCHES: Final = (
    SavedSearch(
        name="errors",
        title="logloop: errors",
        description="Records at an error level (any spelling) and any record carrying an exception or group.",
        query=ERRORS_QUERY,
        columns=("log.level", "service.name", "service.version", "host.name", "error.type", "message"),
    ),
    SavedSearch(
        name="tracebacks",
        title="logloop: tracebacks",
        description="Records with a stack trace, with their error group.",
        query=TRACEBACKS_QUERY,
        columns=("service.name", "error.type", "error.message", "error.grouping_name", "host.name"),
    ),
    SavedSearch(
        name="feedback",
        title="logloop: feedback",
        description="Bug reports, feature requests and usability notes sent by users.",
        query=FEEDBACK_QUERY,
        columns=("logloop.feedback.kind", "service.name", "service.version", "message"),
    ),
)


def search_object(prefix: str, search: SavedSearch) -> dict[str, Any]:
    source = {
        "query": {"query": search.query, "language": "lucene"},
        "filter": [],
        "highlightAll": True,
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    attributes = {
        "title": search.title,
        "description": search.description,
        "columns": [_field(EVENTS, column) for column in search.columns],
        "sort": [[_field(EVENTS, "@timestamp"), "desc"]],
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
    }
    reference = _data_view_reference(prefix, EVENTS, "kibanaSavedObjectMeta.searchSourceJSON.index")
    return _saved_object(prefix, "search", search.name, attributes, [reference])


# ---- Lens -------------------------------------------------------------------------------------


def _count() -> dict[str, Any]:
    return {
        "label": "Count of records",
        "dataType": "number",
        "operationType": "count",
        "sourceField": "___records___",
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def _metric(view: DataView, operation: str, field: str, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": view.lens_type(field),
        "operationType": operation,
        "sourceField": field,
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def _date_histogram(view: DataView, field: str) -> dict[str, Any]:
    return {
        "label": field,
        "dataType": view.lens_type(field),
        "operationType": "date_histogram",
        "sourceField": field,
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def _terms(view: DataView, field: str, size: int, order_column: str, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": view.lens_type(field),
        "operationType": "terms",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": order_column},
            "orderDirection": "desc",
            "otherBucket": True,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
        },
    }


@dataclass(frozen=True, kw_only=True)
class LensSpec:
    """One Lens visualization: its columns (in order), the chart shape and the filter query."""

    name: str
    title: str
    view: DataView
    visualization_type: str  # lnsXY, lnsDatatable or lnsPie
    columns: tuple[tuple[str, dict[str, Any]], ...]
    visualization: dict[str, Any]
    query: str = ""


def _xy(series: str, x: str, y: str, split: str | None) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "layerId": "layer",  # replaced by the real layer id in lens_object
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": [y],
    }
    if split:
        layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": series,
        "fittingFunction": "None",
        "layers": [layer],
    }


def _table(column_ids: Sequence[str]) -> dict[str, Any]:
    return {"layerId": "layer", "layerType": "data", "columns": [{"columnId": c} for c in column_ids]}


def _pie(group: str, metric: str) -> dict[str, Any]:
    layer = {
        "layerId": "layer",
        "layerType": "data",
        "primaryGroups": [group],
        "metrics": [metric],
        "numberDisplay": "percent",
        "categoryDisplay": "default",
        "legendDisplay": "default",
        "nestedLegend": False,
    }
    return {"shape": "donut", "layers": [layer]}


LENS_SPECS: Final = (
    LensSpec(
        name="errors-over-time",
        title="logloop: errors over time by level",
        view=EVENTS,
        visualization_type="lnsXY",
        query=ERRORS_QUERY,
        columns=(
            ("time", _date_histogram(EVENTS, "@timestamp")),
            ("count", _count()),
            ("level", _terms(EVENTS, "log.level", 5, "count", "Level")),
        ),
        visualization=_xy("bar_stacked", "time", "count", "level"),
    ),
    LensSpec(
        name="top-groups",
        title="logloop: top error groups",
        view=GROUPS,
        visualization_type="lnsDatatable",
        query=COUNTED_GROUPS_QUERY,
        columns=(
            ("group", _terms(GROUPS, "title.keyword", 20, "priority", "Group")),
            ("status", _terms(GROUPS, "status", 1, "priority", "Status")),
            ("priority", _metric(GROUPS, "max", "priority", "Priority")),
            ("window", _metric(GROUPS, "sum", "count_window", "Events this window")),
            ("total", _metric(GROUPS, "sum", "count_total", "Events in total")),
            ("last-seen", _metric(GROUPS, "max", "last_seen", "Last seen")),
        ),
        visualization=_table(("group", "status", "priority", "window", "total", "last-seen")),
    ),
    LensSpec(
        name="errors-by-version-and-host",
        title="logloop: errors by version and host",
        view=EVENTS,
        visualization_type="lnsXY",
        query=ERRORS_QUERY,
        columns=(
            ("version", _terms(EVENTS, "service.version", 10, "count", "Version")),
            ("count", _count()),
            ("host", _terms(EVENTS, "host.name", 10, "count", "Host")),
        ),
        visualization=_xy("bar_horizontal_stacked", "version", "count", "host"),
    ),
    LensSpec(
        name="feedback-by-kind",
        title="logloop: feedback by kind",
        view=EVENTS,
        visualization_type="lnsPie",
        query=FEEDBACK_QUERY,
        columns=(
            ("kind", _terms(EVENTS, "logloop.feedback.kind", len(schema.FEEDBACK_KINDS), "count", "Kind")),
            ("count", _count()),
        ),
        visualization=_pie("kind", "count"),
    ),
    LensSpec(
        name="slowest-operations",
        title="logloop: slowest operations",
        view=EVENTS,
        visualization_type="lnsDatatable",
        query=TIMED_QUERY,
        columns=(
            ("operation", _terms(EVENTS, "event.action", 20, "max", "Operation")),
            ("max", _metric(EVENTS, "max", "event.duration", "Slowest (ns)")),
            ("avg", _metric(EVENTS, "average", "event.duration", "Average (ns)")),
            ("count", _count()),
        ),
        visualization=_table(("operation", "max", "avg", "count")),
    ),
)


def _with_layer_id(value: Any, layer_id: str) -> Any:
    if isinstance(value, dict):
        return {k: (layer_id if k == "layerId" else _with_layer_id(v, layer_id)) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_layer_id(item, layer_id) for item in value]
    return value


def lens_object(prefix: str, spec: LensSpec) -> dict[str, Any]:
    layer_id = object_id(prefix, "lens-layer", spec.name)
    layer = {
        "columnOrder": [column_id for column_id, _ in spec.columns],
        "columns": dict(spec.columns),
        "incompleteColumns": {},
    }
    reference_name = f"indexpattern-datasource-layer-{layer_id}"
    attributes = {
        "title": spec.title,
        "description": "",
        "visualizationType": spec.visualization_type,
        "state": {
            "datasourceStates": {"formBased": {"layers": {layer_id: layer}}},
            "visualization": _with_layer_id(spec.visualization, layer_id),
            "query": {"query": spec.query, "language": "lucene"},
            "filters": [],
            "adHocDataViews": {},
            "internalReferences": [],
        },
    }
    references = [_data_view_reference(prefix, spec.view, reference_name)]
    return _saved_object(prefix, "lens", spec.name, attributes, references)


# ---- dashboard --------------------------------------------------------------------------------

# (kind, name, x, y, w, h) on Kibana's 48-column grid.
_PANELS: Final = (
    ("lens", "errors-over-time", 0, 0, 32, 14),
    ("lens", "feedback-by-kind", 32, 0, 16, 14),
    ("lens", "top-groups", 0, 14, 48, 15),
    ("lens", "errors-by-version-and-host", 0, 29, 24, 15),
    ("lens", "slowest-operations", 24, 29, 24, 15),
    ("search", "tracebacks", 0, 44, 48, 15),
)


def dashboard_object(prefix: str) -> dict[str, Any]:
    panels = []
    references = []
    for index, (kind, name, x, y, w, h) in enumerate(_PANELS):
        panel_index = f"p{index}"
        panels.append(
            {
                "version": KIBANA_TARGET_VERSION,
                "type": kind,
                "gridData": {"x": x, "y": y, "w": w, "h": h, "i": panel_index},
                "panelIndex": panel_index,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{panel_index}",
            }
        )
        references.append(
            {"type": kind, "id": object_id(prefix, kind, name), "name": f"{panel_index}:panel_{panel_index}"}
        )
    attributes = {
        "title": DASHBOARD_TITLE,
        "description": "Errors, error groups, feedback and slow operations of the services logloop watches.",
        "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-7d",
        "timeTo": "now",
        "refreshInterval": {"pause": True, "value": 60000},
        "version": 1,
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps({"query": {"query": "", "language": "lucene"}, "filter": []})
        },
    }
    return _saved_object(prefix, "dashboard", "service-manager-health", attributes, references)


def saved_objects(prefix: str = schema.DEFAULT_INDEX_PREFIX) -> list[dict[str, Any]]:
    """Every saved object, dependencies first (the order Kibana's export uses)."""
    return [
        *data_view_objects(prefix),
        *(search_object(prefix, search) for search in SAVED_SEARCHES),
        *(lens_object(prefix, spec) for spec in LENS_SPECS),
        dashboard_object(prefix),
    ]


def to_ndjson(objects: Iterable[Mapping[str, Any]]) -> str:
    """One JSON object a line, keys sorted so regeneration gives byte-identical output."""
    return "".join(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n" for obj in objects
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    prefix = args[0] if args else schema.DEFAULT_INDEX_PREFIX
    sys.stdout.write(to_ndjson(saved_objects(prefix)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
