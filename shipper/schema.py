"""The event document schema (ECS 8.x field names) and the one index template that maps it.

This module is the single source of truth for field names: the formatter writes them, the analyzers
query them, the Kibana saved objects are generated from them and the Logstash pipeline passes them
through untouched. Tests check every field used anywhere against the mapping this template produces
on a real node.

Custom (non-ECS) fields live under `logloop.*`; user extras live under `extra`, a `flattened` field,
so no amount of user keys or type changes can grow the mapping or get a document rejected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

ECS_VERSION: Final = "8.11.0"
DEFAULT_INDEX_PREFIX: Final = "logloop"
TEMPLATE_NAME_SUFFIX: Final = "events"

# event.dataset values: what kind of event a document is.
DATASET_LOG: Final = "logloop.log"
DATASET_FEEDBACK: Final = "logloop.feedback"
DATASET_SHIPPER: Final = "logloop.shipper"  # periodic shipper health counters
FEEDBACK_KINDS: Final = ("bug", "feature", "usability")

_KEYWORD: Final[dict[str, Any]] = {"type": "keyword", "ignore_above": 1024}
_LONG: Final[dict[str, Any]] = {"type": "long"}
_TEXT_WITH_KEYWORD: Final[dict[str, Any]] = {
    "type": "text",
    "fields": {"keyword": {"type": "keyword", "ignore_above": 1024}},
}

# Dotted field name -> mapping. Objects are built from the dots.
FIELDS: Final[dict[str, dict[str, Any]]] = {
    "@timestamp": {"type": "date"},
    "message": _TEXT_WITH_KEYWORD,
    "ecs.version": _KEYWORD,
    "event.id": _KEYWORD,
    "event.dataset": _KEYWORD,
    "event.kind": _KEYWORD,
    "event.action": _KEYWORD,  # the operation name of a timed operation
    "event.duration": _LONG,  # nanoseconds, as ECS specifies
    "event.ingested": {"type": "date"},
    "log.level": _KEYWORD,
    "log.logger": _KEYWORD,
    "log.origin.file.name": _KEYWORD,
    "log.origin.file.line": _LONG,
    "log.origin.function": _KEYWORD,
    "error.type": _KEYWORD,
    "error.message": _TEXT_WITH_KEYWORD,
    "error.stack_trace": {"type": "text"},
    "error.grouping_key": _KEYWORD,
    "error.grouping_name": _TEXT_WITH_KEYWORD,
    "error.grouping_default_key": _KEYWORD,  # the key grouping gave, when a group edit moved the event
    "service.name": _KEYWORD,
    "service.version": _KEYWORD,
    "service.environment": _KEYWORD,
    "host.name": _KEYWORD,
    "host.hostname": _KEYWORD,
    "host.architecture": _KEYWORD,
    "host.os.type": _KEYWORD,
    "host.os.platform": _KEYWORD,
    "host.os.version": _KEYWORD,
    "process.pid": _LONG,
    "process.name": _KEYWORD,
    "process.executable": _KEYWORD,
    "process.args": _KEYWORD,
    "process.thread.id": _LONG,
    "process.thread.name": _KEYWORD,
    # logloop's own fields
    "logloop.template": _KEYWORD,  # the unformatted logging template (record.msg)
    "logloop.grouping_version": _LONG,
    "logloop.group_edit": _KEYWORD,  # the `logloop group` edit that moved the event (analyzers/group_edits)
    "logloop.feedback.kind": _KEYWORD,
    "logloop.env.python": _KEYWORD,
    "logloop.env.platform": _KEYWORD,
    "logloop.env.argv": _KEYWORD,
    "logloop.env.vars": {"type": "flattened"},
    "logloop.context": {"type": "flattened"},
    "logloop.shipper.queued": _LONG,
    "logloop.shipper.sent": _LONG,
    "logloop.shipper.retried": _LONG,
    "logloop.shipper.spooled": _LONG,
    "logloop.shipper.dropped": _LONG,
    "logloop.shipper.dead_lettered": _LONG,
    "logloop.shipper.spool_backlog": _LONG,
    "extra": {"type": "flattened"},
}


def _nest(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for dotted, mapping in fields.items():
        node = properties
        *parents, leaf = dotted.split(".") if dotted != "@timestamp" else ["@timestamp"]
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = dict(mapping)
    return properties


def index_pattern(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The wildcard that matches every daily event index (not the group registry)."""
    return f"{prefix}-20*"


def index_for(timestamp: datetime, prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The daily index `<prefix>-YYYY.MM.DD` (UTC) that holds an event of this time."""
    utc = timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp
    return f"{prefix}-{utc:%Y.%m.%d}"


def template_name(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    return f"{prefix}-{TEMPLATE_NAME_SUFFIX}"


def index_template(prefix: str = DEFAULT_INDEX_PREFIX) -> dict[str, Any]:
    """The composable index template body for `PUT _index_template/<template_name(prefix)>`."""
    return {
        "index_patterns": [index_pattern(prefix)],
        "priority": 200,
        "template": {
            "settings": {
                "index.number_of_shards": 1,
                # One replica wherever a second node exists, none on the single embedded node
                # (which would otherwise stay yellow forever).
                "index.auto_expand_replicas": "0-1",
                "index.refresh_interval": "5s",
                # Unknown top-level fields are kept in _source but never mapped (dynamic: false),
                # and these limits stop anything dynamic from growing the mapping further.
                "index.mapping.total_fields.limit": 1000,
                "index.mapping.total_fields.ignore_dynamic_beyond_limit": True,
                "index.mapping.depth.limit": 10,
            },
            "mappings": {
                "dynamic": False,
                "date_detection": False,
                "properties": _nest(FIELDS),
            },
            "aliases": {f"{prefix}-events": {}},
        },
        "_meta": {"managed_by": "logloop", "ecs_version": ECS_VERSION},
    }
