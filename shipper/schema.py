"""The event document schema (ECS 8.x field names) and the one index template that maps it.

This module is the single source of truth for field names and for what counts as an error event:
the formatter writes the names, the grouping, the analyzers, the digest, the check and the Kibana
saved objects all ask `is_error_query` / `is_error_lucene` / `is_error_document` (three renderings
of one rule, checked against each other on a real node), and the Logstash pipeline passes the fields
through untouched. Tests check every field used anywhere against the mapping this template produces
on a real node.

Custom (non-ECS) fields live under `logloop.*`; user extras live under `extra`, a `flattened` field,
so no amount of user keys or type changes can grow the mapping or get a document rejected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from shipper.exceptions import ConfigurationError

ECS_VERSION: Final = "8.11.0"
DEFAULT_INDEX_PREFIX: Final = "logloop"
TEMPLATE_NAME_SUFFIX: Final = "events"

# event.dataset values: what kind of event a document is.
DATASET_LOG: Final = "logloop.log"
DATASET_FEEDBACK: Final = "logloop.feedback"
DATASET_SHIPPER: Final = "logloop.shipper"  # periodic shipper health counters
FEEDBACK_KINDS: Final = ("bug", "feature", "usability")

# What counts as an error event: a `log.level` that names an error in any logging system's spelling
# (Python, syslog, log4j, java.util.logging, Go; any letter case, surrounding blanks ignored), or any
# of `ERROR_FIELDS`. Names are lowercase ASCII so that Python's lower() and Elasticsearch's
# case-insensitive match agree on every input.
ERROR_LEVEL_NAMES: Final = (
    "error",
    "err",
    "critical",
    "crit",
    "fatal",
    "alert",
    "emergency",
    "emerg",
    "severe",
    "panic",
)
# A level written as a number (a keyword field holds a JSON number as its digits) is an error only
# where every logging system that writes that number means one: Bunyan's and pino's 50 (error) and 60
# (fatal), Python's 50 (CRITICAL). Not 40 (Python's ERROR, but pino's warn), nor syslog's 0-3 in
# `log.level` (.NET's LogLevel 2 is Information, 3 Warning): syslog's numbers are read where ECS puts
# them, `log.syslog.severity.code`.
ERROR_LEVEL_NUMBERS: Final = ("50", "60")
ERROR_FIELDS: Final = ("error.grouping_key", "error.stack_trace", "error.type")
LEVEL_BLANKS: Final = " \t\r\n"  # stripped around a level (the same set in the query rendering)


@dataclass(frozen=True, kw_only=True)
class Severity:
    """One severity as each field that carries an event's level writes it (`LEVEL_TEXT_FIELDS`: a name
    in any case, blanks around ignored; OpenTelemetry's `severity_number`; syslog's code, in ECS's
    `log.syslog.severity.code`): the level part of what counts as an error, or as a warning."""

    names: tuple[str, ...]  # lowercase ASCII (Python's lower() and the node's case folding agree)
    otel_numbers: tuple[int, int | None]  # the `severity_number` range (inclusive; None: no end)
    syslog_codes: tuple[int, int]  # the `log.syslog.severity.code` range (inclusive)
    name_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_set", frozenset(self.names))


# Where an event's level is written: ECS's `log.level`, and what other shippers write when there is
# none, mapped so that a query can read it (a field the template does not map is in `_source` only).
# OpenTelemetry's log data model (its collector's Elasticsearch exporter writes `severity_text` and
# `severity_number` at the top) and ECS's syslog fields (Filebeat's syslog input) have types their
# specifications fix, so mapping them refuses no document; a logger's own top-level `level` or
# `severity` may be text, a number or an object, and an object under a mapped keyword would have the
# whole document refused: those are moved to `log.level` on the way in (logstash/pipeline/logloop.conf).
LEVEL_TEXT_FIELDS: Final = ("log.level", "severity_text", "log.syslog.severity.name")
OTEL_SEVERITY_NUMBER: Final = "severity_number"
SYSLOG_SEVERITY_CODE: Final = "log.syslog.severity.code"
# OpenTelemetry's ERROR is 17-20 and FATAL 21-24; a number past 24, which the data model leaves
# undefined, is written only by a source meaning "more severe still": an error too.
ERROR_SEVERITY: Final = Severity(
    names=(*ERROR_LEVEL_NAMES, *ERROR_LEVEL_NUMBERS), otel_numbers=(17, None), syslog_codes=(0, 3)
)
_ERROR_LEVEL_SET: Final = ERROR_SEVERITY.name_set
WARNING_SEVERITY: Final = Severity(names=("warning", "warn"), otel_numbers=(13, 16), syslog_codes=(4, 4))
_ERROR_PARTS: Final = tuple((name, *name.split(".")) for name in ERROR_FIELDS)

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
    "event.outcome": _KEYWORD,  # a timed operation's: success or failure (ECS's values)
    "event.ingested": {"type": "date"},
    "log.level": _KEYWORD,
    "log.logger": _KEYWORD,
    "log.syslog.severity.code": {"type": "long", "ignore_malformed": True},  # (see LEVEL_TEXT_FIELDS)
    "log.syslog.severity.name": _KEYWORD,
    "severity_text": _KEYWORD,  # OpenTelemetry's log data model, as its Elasticsearch exporter writes it
    "severity_number": {"type": "long", "ignore_malformed": True},
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
    "process.entity_id": _KEYWORD,  # one process instance (its pid may be reused): events and reports
    "process.name": _KEYWORD,
    "process.executable": _KEYWORD,
    "process.args": _KEYWORD,
    "process.thread.id": _LONG,
    "process.thread.name": _KEYWORD,
    # logloop's own fields
    "logloop.template": _KEYWORD,  # the unformatted logging template (record.msg)
    "logloop.grouping_version": _LONG,
    "logloop.group_edit": _KEYWORD,  # the `logloop group` edit that moved the event (analyzers/group_edits)
    # `<file>:<line>:<qualname>` of frames whose bare function names collide in their file (the handler's:
    # `shipper.frame_names`), which grouping writes into the traceback it keys
    "logloop.qualnames": _KEYWORD,
    "logloop.feedback.kind": _KEYWORD,
    "logloop.env.python": _KEYWORD,
    "logloop.env.platform": _KEYWORD,
    "logloop.env.argv": _KEYWORD,
    "logloop.env.vars": {"type": "flattened"},
    "logloop.context": {"type": "flattened"},
    "logloop.unusable": {"type": "flattened"},  # record attributes no field could hold (their repr)
    "logloop.shipper.queued": _LONG,
    "logloop.shipper.sent": _LONG,
    "logloop.shipper.retried": _LONG,
    "logloop.shipper.spooled": _LONG,
    "logloop.shipper.dropped": _LONG,
    "logloop.shipper.dead_lettered": _LONG,
    "logloop.shipper.truncated": _LONG,
    "logloop.shipper.spool_backlog": _LONG,
    "logloop.shipper.recovered": _LONG,
    "logloop.shipper.torn_skipped": _LONG,
    "logloop.shipper.shard_limit_retries": _LONG,
    "logloop.shipper.unconfirmed": _LONG,
    "logloop.shipper.reports": _LONG,  # the report's number in its process: 1 for its first
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


def prefix_of(index: str) -> str:
    """The index prefix of a daily index `index_for` named."""
    return index.rpartition("-")[0]


def day_of(index: str) -> datetime | None:
    """The UTC day (midnight) a daily index `index_for` named holds; None for another name."""
    try:
        return datetime.strptime(index.rpartition("-")[2], "%Y.%m.%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def template_name(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    return f"{prefix}-{TEMPLATE_NAME_SUFFIX}"


# The analyzers' own indices, beside the daily event indices under the same prefix. None matches
# `index_pattern` (their names do not start with `<prefix>-20`).
def registry_index(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The error group registry (one document per group), written by `logloop analyze`."""
    return f"{prefix}-groups"


def group_edits_index(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The user's group edits (merge, split, unmerge), never deleted."""
    return f"{prefix}-group-edits"


def templates_index(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """The message templates learned by `logloop regroup`."""
    return f"{prefix}-templates"


def alerts_index(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """One marker per alert sent, so an alert goes out once."""
    return f"{prefix}-alerts"


def digest_sends_index(prefix: str = DEFAULT_INDEX_PREFIX) -> str:
    """One marker per (digest window, recipient), so a digest is sent once."""
    return f"{prefix}-digest-sends"


def analyzer_indices(prefix: str = DEFAULT_INDEX_PREFIX) -> tuple[str, ...]:
    """Every index the analyzers own besides the daily events (what their role must read and write)."""
    return (
        registry_index(prefix),
        group_edits_index(prefix),
        templates_index(prefix),
        alerts_index(prefix),
        digest_sends_index(prefix),
    )


AUTO_REPLICAS: Final = "auto"


@dataclass(frozen=True, kw_only=True)
class IndexLayout:
    """How each daily index is laid out: the `[indices]` section, and the lifecycle policy (if any).

    `replicas = "auto"` (the default) is one replica wherever a second node exists and none on a
    single node (which would otherwise stay yellow forever); a number is that many replicas.
    """

    shards: int = 1
    replicas: int | str = AUTO_REPLICAS
    lifecycle_policy: str | None = None  # an ILM policy name; only on clusters that have ILM

    def settings(self) -> dict[str, Any]:
        replicas: dict[str, Any] = (
            {"index.auto_expand_replicas": "0-1"}
            if self.replicas == AUTO_REPLICAS
            else {"index.number_of_replicas": int(self.replicas)}
        )
        lifecycle = {"index.lifecycle.name": self.lifecycle_policy} if self.lifecycle_policy else {}
        return {"index.number_of_shards": self.shards, **replicas, **lifecycle}


def unknown_keys_message(section: str, unknown: Collection[str], known: Collection[str]) -> str:
    """`unknown key(s) in [check]: warning_rat (did you mean warning_rate?); known: ...` (pure)."""
    return unknown_names_message(f"key(s) in [{section}]", unknown, known)


def unknown_names_message(
    what: str,
    unknown: Collection[str],
    known: Collection[str],
    *,
    meant: Mapping[str, str] | None = None,
    cutoff: float = 0.7,
) -> str:
    """`unknown WHAT: name (did you mean nearest?), ...; known: ...`, for config keys and arguments:
    the nearest known name by spelling (difflib, `cutoff`), unless `meant` says what a name stands for
    (pure)."""
    import difflib  # (here: only a mistake needs it, and every program that logs imports this module)

    named = []
    for key in sorted(unknown):
        nearest = (meant or {}).get(key) or next(iter(difflib.get_close_matches(key, known, 1, cutoff)), None)
        named.append(f"{key} (did you mean {nearest}?)" if nearest else key)
    return f"unknown {what}: {', '.join(named)}; known: {', '.join(sorted(known))}"


def index_layout(table: Mapping[str, Any]) -> IndexLayout:
    """Parse `[indices]` (shards = 1, replicas = "auto" or a number); ConfigurationError names the problem."""
    unknown = set(table) - {"shards", "replicas"}
    if unknown:
        raise ConfigurationError(unknown_keys_message("indices", unknown, ("replicas", "shards")))
    shards, replicas = table.get("shards", 1), table.get("replicas", AUTO_REPLICAS)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 1024:
        raise ConfigurationError(f"[indices] shards = {shards!r} must be a whole number from 1 to 1024")
    if replicas != AUTO_REPLICAS and (
        isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0
    ):
        raise ConfigurationError(f'[indices] replicas = {replicas!r} must be "auto" or a whole number >= 0')
    return IndexLayout(shards=shards, replicas=replicas)


def index_template(prefix: str = DEFAULT_INDEX_PREFIX, layout: IndexLayout | None = None) -> dict[str, Any]:
    """The composable index template body for `PUT _index_template/<template_name(prefix)>`."""
    return {
        "index_patterns": [index_pattern(prefix)],
        "priority": 200,
        "template": {
            "settings": {
                **(layout or IndexLayout()).settings(),
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


def get_field(doc: Mapping[str, Any], dotted: str) -> Any:
    """The value of a dotted field in a `_source` whose keys are nested, dotted or a mix of both.

    Elasticsearch reads `{"error": {"type": x}}`, `{"error.type": x}` alike; so does this.
    """
    if dotted in doc:
        return doc[dotted]
    start = dotted.find(".")
    while start != -1:
        child = doc.get(dotted[:start])
        if type(child) is dict or isinstance(child, Mapping):  # the ABC check costs more: dict first
            found = get_field(child, dotted[start + 1 :])
            if found is not None:
                return found
        start = dotted.find(".", start + 1)
    return None


def is_error_level(level: object) -> bool:
    """Whether a `log.level` value (a string, a whole number, or a list of them) names an error level."""
    if type(level) is str:  # the usual value, inline: the shipper asks this of every event it sends
        return level.strip(LEVEL_BLANKS).lower() in _ERROR_LEVEL_SET
    return _names(level, _ERROR_LEVEL_SET)


def _names(value: object, names: frozenset[str]) -> bool:
    if isinstance(value, str):
        return value.strip(LEVEL_BLANKS).lower() in names
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) in names
    if isinstance(value, list):
        return any(_names(item, names) for item in value)  # (nested lists: the node flattens them)
    return False


def _number_in(value: object, bounds: tuple[int, int | None]) -> bool:
    """Whether a value a `long` field holds (a number, or digits in text: the node coerces both, a
    fraction truncated; anything else is ignored as malformed) lies in the inclusive bounds."""
    if isinstance(value, list):
        return any(_number_in(item, bounds) for item in value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        number = int(float(value))
    except (ValueError, OverflowError):
        return False
    low, high = bounds
    return number >= low and (high is None or number <= high)


def has_severity(doc: Mapping[str, Any], severity: Severity) -> bool:
    """Whether an event document (nested or dotted keys) carries this severity in any field that
    carries a level (`Severity`): the level part of the rule, in Python."""
    return _names(_two_part(doc, "log.level", "log", "level"), severity.name_set) or _other_severity(
        doc, severity
    )


# The keys under which a `log.syslog.severity.*` value can start, nested or dotted (`get_field`).
_SYSLOG_TOP: Final = frozenset(
    ("log.syslog", "log.syslog.severity", SYSLOG_SEVERITY_CODE, "log.syslog.severity.name")
)
_SYSLOG_IN_LOG: Final = frozenset(
    ("syslog", "syslog.severity", "syslog.severity.code", "syslog.severity.name")
)


def _other_severity(doc: Mapping[str, Any], severity: Severity) -> bool:
    """`has_severity` in the fields other than `log.level`: a few key tests for the usual document (the
    shipper's own, which has none of them: this runs for every event it sees)."""
    if "severity_text" in doc and _names(doc["severity_text"], severity.name_set):
        return True
    if OTEL_SEVERITY_NUMBER in doc and _number_in(doc[OTEL_SEVERITY_NUMBER], severity.otel_numbers):
        return True
    log = doc.get("log")
    in_log = (type(log) is dict or isinstance(log, Mapping)) and not _SYSLOG_IN_LOG.isdisjoint(log)
    if not in_log and _SYSLOG_TOP.isdisjoint(doc):
        return False
    code, name = get_field(doc, SYSLOG_SEVERITY_CODE), get_field(doc, "log.syslog.severity.name")
    return _number_in(code, severity.syslog_codes) or _names(name, severity.name_set)


def _present(value: object) -> bool:
    # Null, [], [null, ...] and "" carry no error (the first three are missing values to an `exists`
    # query too; "" is excluded from the keyword fields by `present_query`).
    if isinstance(value, list):
        return any(item is not None and item != "" for item in value)
    return value is not None and value != ""


def is_error_document(doc: Mapping[str, Any]) -> bool:
    """Whether an event document (nested or dotted keys) is an error event: the rule in Python.

    One known edge the query cannot follow: an `error.stack_trace` of exactly "" is no error here,
    while `exists` finds it (no core query tells an empty text field from a filled one without
    reading every term). The formatter never writes an empty trace.
    """
    # Every name here has two parts, so `{"a.b": x}` and `{"a": {"b": x}}` are the only two shapes:
    # read them directly (this runs for every event the shipper sees; get_field's search is slower).
    if is_error_level(_two_part(doc, "log.level", "log", "level")):
        return True
    for dotted, head, tail in _ERROR_PARTS:
        value = _two_part(doc, dotted, head, tail)
        if value is not None and _present(value):
            return True
    return _other_severity(doc, ERROR_SEVERITY)


def _two_part(doc: Mapping[str, Any], dotted: str, head: str, tail: str) -> Any:
    if dotted in doc:
        return doc[dotted]
    child = doc.get(head)
    if child is None:
        return None
    # (the ABC check costs several times the exact type test: the usual dict first)
    return child.get(tail) if type(child) is dict or isinstance(child, Mapping) else None


def _level_pattern(case_classes: bool, severity: Severity | None = None) -> str:
    """A Lucene regular expression for a level of `severity` (errors by default) with optional blanks
    around it.

    Lucene's regexp syntax has no `\\s`: the blanks are listed as literal characters.
    """
    names: tuple[str, ...] = (severity or ERROR_SEVERITY).names
    if case_classes:  # the query string syntax has no case-insensitive flag
        names = tuple("".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in name) for name in names)
    blanks = f"[{LEVEL_BLANKS}]*"
    return f"{blanks}({'|'.join(names)}){blanks}"


def error_level_query() -> dict[str, Any]:
    """The query clause for "the event's level is an error level" (`severity_query(ERROR_SEVERITY)`)."""
    return severity_query(ERROR_SEVERITY)


def _range(bounds: tuple[int, int | None]) -> dict[str, int]:
    low, high = bounds
    return {"gte": low} if high is None else {"gte": low, "lte": high}


def severity_query(severity: Severity) -> dict[str, Any]:
    """The query clause for "a field that carries the level carries this severity" (`has_severity`)."""
    pattern = _level_pattern(False, severity)
    return {
        "bool": {
            "should": [
                *(
                    {"regexp": {name: {"value": pattern, "case_insensitive": True}}}
                    for name in LEVEL_TEXT_FIELDS
                ),
                {"range": {OTEL_SEVERITY_NUMBER: _range(severity.otel_numbers)}},
                {"range": {SYSLOG_SEVERITY_CODE: _range(severity.syslog_codes)}},
            ],
            "minimum_should_match": 1,
        }
    }


def severity_lucene(severity: Severity) -> str:
    """`severity_query` in the Lucene query string syntax."""
    pattern = _level_pattern(True, severity)
    low, high = severity.otel_numbers
    code_low, code_high = severity.syslog_codes
    numbers = f">={low}" if high is None else f"[{low} TO {high}]"
    return " OR ".join(
        [
            *(f"{name}:/{pattern}/" for name in LEVEL_TEXT_FIELDS),
            f"{OTEL_SEVERITY_NUMBER}:{numbers}",
            f"{SYSLOG_SEVERITY_CODE}:[{code_low} TO {code_high}]",
        ]
    )


def present_query(name: str) -> dict[str, Any]:
    """The query clause for "this field has a value", where "" is no value for a keyword field."""
    exists = {"exists": {"field": name}}
    if FIELDS[name]["type"] != "keyword":
        return exists
    return {"bool": {"filter": [exists], "must_not": [{"term": {name: ""}}]}}


def is_error_query() -> dict[str, Any]:
    """The one query clause for an error event (Elasticsearch query DSL, core queries only)."""
    return {
        "bool": {
            "should": [*(present_query(name) for name in ERROR_FIELDS), error_level_query()],
            "minimum_should_match": 1,
        }
    }


def is_error_lucene() -> str:
    """The same rule in the Lucene query string syntax (Kibana saved searches use it)."""
    fields = [
        f'(_exists_:{name} AND NOT {name}:"")' if FIELDS[name]["type"] == "keyword" else f"_exists_:{name}"
        for name in ERROR_FIELDS
    ]
    return " OR ".join([*fields, severity_lucene(ERROR_SEVERITY)])


# Kibana saved objects get stable ids derived from the index prefix, so that an import overwrites
# the same objects and the digest's links to Discover (analyzers) name the data view that
# `logloop kibana import` (kibana) created: both derive it here.
_SAVED_OBJECT_NAMESPACE: Final = "5b0c3f0e-6a3c-4f43-9d7e-1c0a2f6e9b11"
EVENTS_DATA_VIEW: Final = "events"  # the data view over the daily event indices
GROUPS_DATA_VIEW: Final = "groups"  # the data view over the group registry


def saved_object_id(prefix: str, kind: str, name: str) -> str:
    """The stable id of one Kibana saved object of this deployment."""
    # Imported here: `uuid` loads `platform` and costs every program that imports the shipper (and
    # `logloop cluster`, timed against drain3) about 3 ms at start-up, for the Kibana tools' ids only.
    import uuid

    return str(uuid.uuid5(uuid.UUID(_SAVED_OBJECT_NAMESPACE), f"{prefix}/{kind}/{name}"))
