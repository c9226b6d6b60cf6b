"""Captured records -> finished documents: the costly half of formatting, done by the agent.

This is the one place where what was captured becomes what leaves the host: `EcsFormatter.document`
redacts (message, trace, extras, context; `shipper.redaction`) while it builds the document, then
the program's facts (host, process, argv, as the program saw them) replace the agent's own, the
document gets its event id and fingerprint, and is serialized. A plain event (a message below ERROR
without an exception or extras) takes the formatter's lean path (`lean_json`) to the same JSON,
straight from the fields the program wrote (`plain`), or from a captured record (`record`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from shipper import environment, schema
from shipper.capture.program import ARGS_CAPTURED, ENTITY_ID
from shipper.diagnostics import INTERNAL_LOGGER
from shipper.formatter import (
    EARLIEST_TIME,
    LATEST_TIME,
    LONG_RANGE,
    STANDARD_ATTRIBUTES,
    Captured,
    EcsFormatter,
    LeanFields,
    dumps,
    lean_json,
)
from shipper.grouping.renderers import HEADER as TRACE_HEADER
from shipper.redaction import Redactor
from shipper.spool.records import PlainFields, captured_of_plain

if TYPE_CHECKING:  # the grouping code is imported with the first error event (see `fingerprint`)
    from shipper.grouping.options import GroupingOptions

_FORMATTERS_KEPT: Final = 64


def preload() -> None:
    """Import now the grouping code that the first error event would import (see `fingerprint`)."""
    import shipper.grouping.fingerprint
    import shipper.grouping.options  # noqa: F401


class Documents:
    """Builds documents for the programs whose segments the agent reads (a formatter per program)."""

    def __init__(self, index_prefix: str) -> None:
        self.index_prefix = index_prefix
        self._formatters: dict[tuple[Any, ...], EcsFormatter] = {}
        self._rests: dict[tuple[Any, ...], bytes] = {}
        self._program_keys: dict[int, tuple[Mapping[str, Any], tuple[Any, ...]]] = {}
        self._grouping_options: dict[str, GroupingOptions] = {}

    def record(self, captured: Captured, program: Mapping[str, Any], event_id: str) -> tuple[str, bytes]:
        """(index, JSON body) of a captured record."""
        plain = self._plain(captured, program, event_id)
        if plain is not None:
            return plain
        doc = self._formatter(program).document(captured)
        apply_program(doc, program, captured.attributes.get("process"))
        return self.finish(doc, event_id, program)

    def document(self, body: bytes, program: Mapping[str, Any], event_id: str) -> tuple[str, bytes]:
        """(index, JSON body) of a document finished in the program (by a custom formatter, or
        redacted before the spool), passed through the program's redaction rules like any other."""
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {"message": body.decode("utf-8", "replace"), "event": {"dataset": schema.DATASET_LOG}}
        if not isinstance(doc, dict):
            doc = {"message": str(doc), "event": {"dataset": schema.DATASET_LOG}}
        return self.finish(self._formatter(program).redactor.redact_document(doc), event_id, program)

    def finish(
        self, doc: dict[str, Any], event_id: str, program: Mapping[str, Any] | None = None
    ) -> tuple[str, bytes]:
        """Stamp (unless it has an id), fingerprint (with the program's `[grouping]` options) and
        serialize a document."""
        event = doc.get("event")
        if not isinstance(event, dict):
            event = doc["event"] = {}
        event.setdefault("id", event_id)
        try:
            if is_error_event(doc):
                fingerprint(doc, self._grouping(program))
        except Exception:  # a grouping bug must not lose the event; it ships ungrouped
            logging.getLogger(INTERNAL_LOGGER).debug("fingerprint failed", exc_info=True)
        return index_of_timestamp(doc.get("@timestamp"), self._prefix(program)), dumps(doc)

    def _prefix(self, program: Mapping[str, Any] | None) -> str:
        """The index prefix of the program that wrote the record: programs sharing one spool directory
        (and so one agent) each keep their own. The agent's for a segment that does not say (one
        written by an earlier version, the agent's own documents)."""
        prefix = program.get("index_prefix") if program else None
        return prefix if isinstance(prefix, str) and prefix else self.index_prefix

    def _grouping(self, program: Mapping[str, Any] | None) -> GroupingOptions:
        """The program's `[grouping]` options (checked by its handler), built once per table."""
        from shipper.grouping.options import DEFAULT_OPTIONS, options_from_table

        table = program.get("grouping") if program else None
        if not table:
            return DEFAULT_OPTIONS
        key = json.dumps(table, sort_keys=True)
        found = self._grouping_options.get(key)
        if found is None:
            if len(self._grouping_options) >= _FORMATTERS_KEPT:
                self._grouping_options.clear()
            found = self._grouping_options[key] = options_from_table(table)
        return found

    def program_facts(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The facts a program wrote at the head of a segment, its argv redacted here with its rules
        when it left that to the agent (`ARGS_CAPTURED`, see `shipper.capture.program`)."""
        captured = facts.pop(ARGS_CAPTURED, None)
        if "args" not in facts:
            if isinstance(captured, list):
                facts["args"] = self._formatter(facts).redactor.redact_argv([str(arg) for arg in captured])
            elif captured is not None:  # not a program of ours wrote this: shown as nothing, never raw
                facts["args"] = []
        return facts

    def _formatter(self, program: Mapping[str, Any]) -> EcsFormatter:
        key = (
            program.get("service"),
            program.get("service_version"),
            program.get("environment"),
            tuple(program.get("env_allowlist") or ()),
            tuple(program.get("redact_keys") or ()),
            tuple(program.get("redact_patterns") or ()),
        )
        found = self._formatters.get(key)
        if found is None:
            if len(self._formatters) >= _FORMATTERS_KEPT:
                self._formatters.clear()
            found = self._formatters[key] = EcsFormatter(
                service_name=str(key[0] or "unknown"),
                service_version=key[1],
                environment=key[2],
                env_allowlist=key[3],
                redactor=Redactor(keys=key[4], patterns=key[5]) if key[4] or key[5] else None,
            )
        return found

    def plain(self, fields: PlainFields, program: Mapping[str, Any], event_id: str) -> tuple[str, bytes]:
        """(index, JSON body) of a plain record as the program wrote it (`records.PLAIN`)."""
        if not (program.get("redact_keys") or program.get("redact_patterns") or TRACE_HEADER in fields[1]):
            # created, message, template, levelno, levelname, name, _, filename, _, lineno, funcName,
            # process, thread, threadName
            try:
                if fields[3] < logging.ERROR:
                    found = self._lean(
                        fields[0], fields[1], fields[4], fields[5], fields[7], fields[9], fields[10],
                        fields[2], program, fields[11], fields[12], fields[13], event_id,
                    )  # fmt: skip
                    if found is not None:
                        return found
            except (TypeError, IndexError):  # not what encode_plain writes: the careful way
                pass
        return self.record(captured_of_plain(fields), program, event_id)

    def _plain(
        self, captured: Captured, program: Mapping[str, Any], event_id: str
    ) -> tuple[str, bytes] | None:
        """The lean path for a plain event; None for any other."""
        record, error, _, _, failure = captured
        if (
            failure is not None
            or error is not None
            or record.get("levelno", 50) >= logging.ERROR
            or record.get("exc_text")
            or record.get("stack_info")
            or TRACE_HEADER in record.get("message", "")  # a traceback as text (a QueueHandler's)
            or not record.keys() <= STANDARD_ATTRIBUTES
            or program.get("redact_keys")
            or program.get("redact_patterns")  # the lean way knows the default rules only
        ):
            return None
        try:
            return self._lean(
                record["created"], record["message"], record["levelname"], record["name"],
                record["filename"], record["lineno"], record["funcName"], record["msg"], program,
                record["process"], record["thread"], record["threadName"], event_id,
            )  # fmt: skip
        except KeyError:
            return None

    def _lean(
        self,
        created: Any,
        message: Any,
        levelname: Any,
        name: Any,
        filename: Any,
        lineno: Any,
        function: Any,
        msg: Any,
        program: Mapping[str, Any],
        pid: Any,
        thread: Any,
        thread_name: Any,
        event_id: str,
    ) -> tuple[str, bytes] | None:
        """(index, JSON body) by `lean_json`; None if a field is not of the expected type."""
        # `formatter.usable_time(created)` and the `long` fields' range, written out for the common
        # types (the general way, which keeps what no field can hold in `logloop.unusable`, takes the rest).
        if not (
            type(created) is float
            and EARLIEST_TIME <= created <= LATEST_TIME
            and type(lineno) is int
            and lineno in LONG_RANGE
            and (pid is None or (type(pid) is int and pid in LONG_RANGE))
            and (thread is None or (type(thread) is int and thread in LONG_RANGE))
        ):
            return None
        if type(message) is str and self._formatter(program).may_follow_an_announcement(
            pid, thread, name, message
        ):
            return None  # a value its stream's previous record announced, or a line that may announce one
        try:
            fields: LeanFields = (
                float(created), message, levelname, name, filename, lineno, function,
                msg if isinstance(msg, str) else None, self._rest(program, pid, thread, thread_name),
            )  # fmt: skip
            head, tail, timestamp = lean_json(fields, event_id)
        except Exception:
            return None
        return index_of_timestamp(timestamp, self._prefix(program)), head + tail

    def _rest(self, program: Mapping[str, Any], pid: Any, thread: Any, thread_name: Any) -> bytes:
        """The JSON members after the per-event head: ecs, service, host and process (as the program
        saw them), each led by a comma, without the closing brace (`lean_json` adds it)."""
        known = self._program_keys.get(id(program))
        if known is None or known[0] is not program:  # held in the entry, so its id is not reused
            if len(self._program_keys) >= _FORMATTERS_KEPT:
                self._program_keys.clear()
            known = self._program_keys[id(program)] = (program, _program_key(program))
        key = (known[1], pid, thread, thread_name)
        found = self._rests.get(key)
        if found is None:
            pid = program.get("pid") if pid is None else pid
            entity = environment.event_entity(pid, program.get("pid"), program.get(ENTITY_ID))
            members = {
                "ecs": {"version": schema.ECS_VERSION},
                "service": _service(program),
                "host": program.get("host") or {},
                "process": {
                    "name": program.get("process_name"),
                    "executable": program.get("executable"),
                    "args": program.get("args") or [],
                    "pid": pid,
                    **({} if entity is None else {"entity_id": entity}),
                    "thread": {"id": thread, "name": thread_name},
                },
            }
            text = dumps(members)
            found = b"," + text[1:-1]
            if len(self._rests) >= 4096:
                self._rests.clear()
            self._rests[key] = found
        return found


def _program_key(program: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the constant part of a program's documents depends on, hashable."""
    host = program.get("host")
    return (
        program.get("service"),
        program.get("service_version"),
        program.get("environment"),
        program.get("pid"),
        program.get(ENTITY_ID),  # (a pid reused by the next run on the host: another process)
        program.get("process_name"),
        program.get("executable"),
        tuple(map(str, program.get("args") or ())),
        repr(host),
    )


def _service(program: Mapping[str, Any]) -> dict[str, Any]:
    """The `service` object as `EcsFormatter` writes it for this program's settings."""
    service: dict[str, Any] = {"name": str(program.get("service") or "unknown")}
    if program.get("service_version") is not None:
        service["version"] = program["service_version"]
    if program.get("environment") is not None:
        service["environment"] = program["environment"]
    return service


def apply_program(doc: dict[str, Any], program: Mapping[str, Any], record_pid: object) -> None:
    """Replace the agent's own facts in a document with those of the program that logged it, whose
    record said `record_pid` (the formatter wrote the agent's pid for a record without a usable one)."""
    if "host" in doc and isinstance(program.get("host"), dict):
        doc["host"] = program["host"]
    process = doc.get("process")
    if isinstance(process, dict):
        process.update(
            name=program.get("process_name"), executable=program.get("executable"), args=program.get("args")
        )
        if not (type(record_pid) is int and record_pid in LONG_RANGE) and type(program.get("pid")) is int:
            process["pid"] = program["pid"]
        process.pop("entity_id", None)  # (the agent's own, where the record's pid is the agent's)
        entity = environment.event_entity(process.get("pid"), program.get("pid"), program.get(ENTITY_ID))
        if entity is not None:
            process["entity_id"] = entity
    logloop = doc.get("logloop")
    env = logloop.get("env") if isinstance(logloop, dict) else None
    if isinstance(env, dict):
        env.update(python=program.get("python"), argv=program.get("args"))
        if program.get("platform"):  # else the agent's own: the same host (see shipper.capture.program)
            env["platform"] = program["platform"]


def is_error_event(doc: Mapping[str, Any]) -> bool:
    """The nested-document shortcut of `schema.is_error_document`: an error object or an error level."""
    log = doc.get("log")
    return "error" in doc or schema.is_error_level(log.get("level") if isinstance(log, dict) else None)


def fingerprint(doc: dict[str, Any], options: GroupingOptions | None = None) -> None:
    """Add the grouping key and name to an error event (the default options when none are given).

    The grouping code (tracebacks, masking, titles) is imported here, with the first error event: an
    agent that only ever ships plain lines never loads it."""
    if not is_error_event(doc):
        return
    from shipper.grouping.fingerprint import fingerprint_event
    from shipper.grouping.options import DEFAULT_OPTIONS

    found = fingerprint_event(doc, options if options is not None else DEFAULT_OPTIONS)
    if found is not None:
        error = doc.setdefault("error", {})
        if isinstance(error, dict):
            error["grouping_key"] = found.key
            error["grouping_name"] = found.name
        logloop = doc.setdefault("logloop", {})
        if isinstance(logloop, dict):
            logloop["grouping_version"] = found.version


def index_of_timestamp(stamp: Any, prefix: str) -> str:
    """The daily index of a document whose `@timestamp` is `stamp` (now, if it is not a date)."""
    if isinstance(stamp, str) and len(stamp) >= 20 and stamp.endswith("Z") and stamp[4] == stamp[7] == "-":
        return f"{prefix}-{stamp[0:4]}.{stamp[5:7]}.{stamp[8:10]}"  # UTC already: skip parsing
    try:
        when = datetime.fromisoformat(stamp) if isinstance(stamp, str) else datetime.now(UTC)
    except ValueError:
        when = datetime.now(UTC)
    return schema.index_for(when if when.tzinfo else when.replace(tzinfo=UTC), prefix)
