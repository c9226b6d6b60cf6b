"""JSON log lines of other loggers read as the ECS fields grouping reads. Pure, standard library only.

`logloop cluster` groups ECS events; a program that logs JSON with python-json-logger (`exc_info`,
`levelname`, `name`), structlog's JSON renderer (`event`, `exception`, `level`, `logger`), loguru's
`serialize=True` (`text`, `record`), AWS Lambda's report of an uncaught exception (`errorType`,
`stackTrace`), Datadog's standard attributes (`error.stack`, `logger.name`, nested or dotted), OpenTelemetry's
`LoggingHandler` (`body`, `severity_text`, the `exception.stacktrace` attribute of its semantic
conventions, in `attributes` or not), the journal's export (`journalctl -o json`: `MESSAGE`, and
python-systemd's `JournalHandler`'s `EXCEPTION_TEXT` and `LOGGER`) or a cloud's layout (`severity`,
`textPayload`, `msg`) writes the same facts under other names: a traceback there was never read,
every bug of a logger one group.
A hand-written formatter's or structlog's keyword (`"err": self.formatException(...)`,
`log.error("failed", error=traceback.format_exc())`, pino's `err` object with its `stack`) is read
under those generic names only when it holds a frame line: an `error` that is a sentence stays one.

The rule not to break: an event that has the ECS field keeps it; an alias only fills a field that is
missing, and the document itself is never changed (a copy with the fields added is returned).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shipper.grouping.tracebacks import has_frame_lines
from shipper.schema import get_field

# ECS field -> the names other JSON loggers give it, in the order they are tried.
_ALIASES: Final = (
    (
        "error.stack_trace",
        (
            "exc_info",
            "exc_text",
            "exception",
            "stack_trace",
            "stacktrace",
            "traceback",
            "error.stack",
            "exception.stacktrace",
            "attributes.exception.stacktrace",
            "EXCEPTION_TEXT",
        ),
    ),
    (
        "message",
        ("msg", "event", "@message", "textPayload", "record.message", "errorMessage", "body", "MESSAGE"),
    ),
    ("log.level", ("levelname", "level", "severity", "lvl", "record.level.name", "severity_text")),
    ("log.logger", ("logger", "logger_name", "name", "record.name", "logger.name", "LOGGER")),
)
# (The journal's fields are upper case: `journalctl -o json` writes a record python-systemd's
# `JournalHandler` sent with its `MESSAGE`, `LOGGER` and `EXCEPTION_TEXT`; its `PRIORITY` is syslog's
# number, no level name, and is not read.)
# An alias read only beside another (python-json-logger's pair, OpenTelemetry's); the others are read
# wherever they are (a dotted one nested too: loguru's `record.message`, OpenTelemetry's `attributes...`).
_PAIRED: Final = {"name": "levelname", "body": "severity_text"}  # (an HTTP log's `body` is a request's)
# A document with one of these (or an `error` object) is an ECS event already: nothing is read under
# another name. (An `error` that is text is none: ECS's is an object; a formatter's traceback, see below.)
_ECS_MARKS: Final = frozenset(("error.stack_trace", "ecs", "ecs.version", "log", "log.level"))
_HEADER: Final = "Traceback (most recent call last):"
# Generic names a hand-written formatter or a logging call's keyword gives the formatted traceback
# (`err`, `error`, `exc`; pino's `err` object, its text in `stack`; a top-level `stack`, `trace` or
# `backtrace`, as JavaScript's and Ruby's loggers taught): read only when the text holds a frame line
# (`has_frame_lines`), since the same names carry a sentence or an id elsewhere (`"error": "timed out"`,
# a tracing layout's `"trace": "4bf92f35..."`).
_GENERIC_STACKS: Final = (
    "err", "error", "exc", "err.stack", "err.stack_trace", "exc.stack", "stack", "trace", "backtrace",
)  # fmt: skip


def as_ecs(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """`doc`, or a copy with the ECS fields it lacks filled from the names another JSON logger gives
    them (`_ALIASES`): a text value (for a traceback, also structlog's list of stacks)."""
    error = doc.get("error")
    if "log" in doc or isinstance(error, Mapping) or not _ECS_MARKS.isdisjoint(doc):  # (ECS: a test or two)
        return (
            _with_datadog_stack(doc) if error is None or isinstance(error, Mapping) else _with_text_stack(doc)
        )
    added: dict[str, Any] = {}
    for field, aliases in _ALIASES:
        if get_field(doc, field) is not None:
            continue
        for alias in aliases:
            value = get_field(doc, alias) if "." in alias else doc.get(alias)
            if _usable(field, value) and (alias not in _PAIRED or _PAIRED[alias] in doc):
                added[field] = value
                break
    if "error.stack_trace" not in added:
        traced = _loguru_traceback(doc) or _lambda_traceback(doc) or _generic_traceback(doc)
        if traced:
            added["error.stack_trace"] = traced
    return {**doc, **added} if added else doc


def _with_datadog_stack(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ECS-shaped document (an `error` object) whose traceback is Datadog's nested `error.stack`
    rather than `error.stack_trace`: a copy with the traceback as `error.stack_trace` (and Datadog's
    `logger.name` as `log.logger`); else `doc`."""
    error = doc.get("error")
    if type(error) is not dict or "stack_trace" in error:
        return doc
    if not _usable("error.stack_trace", error.get("stack")):
        return doc
    added: dict[str, Any] = {"error": {**error, "stack_trace": error["stack"]}}
    # Datadog's logger is `logger.name`: it names the program's package as ECS's `log.logger` does.
    logger = get_field(doc, "logger.name")
    if isinstance(logger, str) and logger and get_field(doc, "log.logger") is None:
        added["log.logger"] = logger
    return {**doc, **added}


def _with_text_stack(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """An ECS-marked document (`log.level`...) whose `error` is text, not ECS's object: a copy with that
    text as `error.stack_trace` when it is a formatted traceback (`_generic_traceback`); else `doc`."""
    if get_field(doc, "error.stack_trace") is not None:
        return doc
    traced = _generic_traceback(doc)
    return {**doc, "error.stack_trace": traced} if traced else doc


def _generic_traceback(doc: Mapping[str, Any]) -> str:
    """The traceback a formatter wrote under a generic name (`_GENERIC_STACKS`), when its text holds a
    frame line; else "" (the first such name found wins)."""
    for name in _GENERIC_STACKS:
        value = get_field(doc, name) if "." in name else doc.get(name)
        if isinstance(value, list) and value and all(isinstance(line, str) for line in value):
            value = "".join(line if line.endswith("\n") else line + "\n" for line in value)
        if isinstance(value, str) and "\n" in value.strip() and has_frame_lines(value):
            return value
    return ""


def _usable(field: str, value: object) -> bool:
    """Whether an alias's value can stand for the field: text (not empty, not `exc_info: false`'s
    `False` or a `NoneType: None` line); a list of stacks for a traceback."""
    if field == "error.stack_trace":
        return (isinstance(value, str) and "\n" in value.strip()) or (isinstance(value, list) and bool(value))
    return isinstance(value, str) and bool(value)


def _loguru_traceback(doc: Mapping[str, Any]) -> str:
    """loguru's serialized record: its `text` (the formatted line, the traceback under it) when the
    record holds an exception; else ""."""
    record = doc.get("record")
    text = doc.get("text")
    if not (isinstance(record, Mapping) and record.get("exception") and isinstance(text, str)):
        return ""
    at = text.find(_HEADER)
    return text[at:] if at >= 0 else ""


def _lambda_traceback(doc: Mapping[str, Any]) -> str:
    """AWS Lambda's report of a handler's uncaught exception (`errorType`, `errorMessage`, `stackTrace`:
    the frames as `traceback.format_list` writes them) as the traceback it stands for; else ""."""
    frames = doc.get("stackTrace")
    error_type = doc.get("errorType")
    if not (isinstance(frames, list) and frames and isinstance(error_type, str) and error_type):
        return ""
    if not all(isinstance(frame, str) for frame in frames):
        return ""
    message = doc.get("errorMessage")
    line = f"{error_type}: {message}" if isinstance(message, str) and message else error_type
    return (
        _HEADER + "\n" + "".join(frame if frame.endswith("\n") else frame + "\n" for frame in frames) + line
    )
