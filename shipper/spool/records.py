"""The payload of a captured record: the formatter's `Captured` as builtins, `marshal`ed.

`marshal` writes and reads builtins in C (several times faster than JSON or pickle, and unlike
pickle it cannot run code when read). A payload is one of:

    (RECORD, attributes, error, env_vars, context, failure)   a log record
    (PROGRAM, facts)                                          who writes the segment (its first frame)
    (DOCUMENT, json)                                          a document a custom formatter finished
    (PLAIN, created, message, template, levelno, levelname, name, pathname, filename, module, lineno,
     funcName, process, thread, threadName)                   a plain record, see `encode_plain`

A plain record is read back as its fields (`PlainFields`): the agent writes its document straight
from them (`shipper.delivery.documents`); `captured_of_plain` makes them a `Captured` for any other use.

`attributes` is the record's attribute dict as captured (message formatted, extras made JSON-safe),
`error` the exception as (type name, message, frozen trace). A trace is frozen into nested dicts of
builtins (`freeze_trace`) and thawed back into a `traceback.TracebackException` that formats to the
same text (`thaw_trace`), so reading source lines and laying out the text happen in the agent.

What sits on disk is NOT redacted: the formatted message, extras, the exception's message and
frames, the context provider's answer. Redaction runs when the agent builds the document
(`shipper.formatter`, `EcsFormatter.document`), before anything leaves the host; the spool file is
private to its user (0600 in a 0700 directory) and deleted once delivered.
"""

from __future__ import annotations

import json
import logging
import marshal
import traceback
from collections.abc import Mapping
from typing import Any, Final

from shipper import reentry, schema
from shipper.exceptions import UnreadablePayload
from shipper.formatter import STANDARD_ATTRIBUTES, Captured, CapturedError, jsonable

RECORD: Final = 1
PROGRAM: Final = 2
DOCUMENT: Final = 3
PLAIN: Final = 4
_ERROR: Final = logging.ERROR
_PLAIN_KEYS: Final = (
    "created", "message", "msg", "levelno", "levelname", "name", "pathname", "filename", "module", "lineno",
    "funcName", "process", "thread", "threadName",
)  # fmt: skip
# created, message, template (or None), levelno, levelname, name, pathname, filename, module, lineno,
# funcName, process, thread, threadName: what `encode_plain` writes after the kind
PlainFields = tuple[Any, ...]
_MARSHAL_VERSION: Final = 4
_DEPTH: Final = 64  # chained exceptions kept at most; a longer chain ends in a note


def encode_record(captured: Captured) -> bytes:
    """The payload of a captured record; raises ValueError for what marshal cannot write (rare:
    extras are made JSON-safe first)."""
    attributes, error, env_vars, context, failure = captured
    if not attributes.keys() <= STANDARD_ATTRIBUTES:
        attributes = _json_safe_extras(attributes)
    frozen_error = None if error is None else (error.type_name, error.message, freeze_trace(error.trace))
    try:
        return marshal.dumps((RECORD, attributes, frozen_error, env_vars, context, failure), _MARSHAL_VERSION)
    except ValueError:  # an attribute of a type marshal does not write (a filter set it, say)
        safe = {key: jsonable(value) for key, value in attributes.items()}
        return marshal.dumps((RECORD, safe, frozen_error, env_vars, context, failure), _MARSHAL_VERSION)


def encode_plain(record: logging.LogRecord) -> bytes | None:
    """The payload of a plain record (below ERROR, no exception, stack or extras), written straight
    from the record: what `EcsFormatter.capture` would keep of it, without copying its attributes.
    None for any other record, or if anything about it is unusual (the formatter's way then)."""
    if (
        record.exc_info is not None
        or record.levelno >= _ERROR
        or record.stack_info
        or record.exc_text
        or not record.__dict__.keys() <= STANDARD_ATTRIBUTES
    ):
        return None
    try:
        msg = record.msg
        return marshal.dumps(
            (
                PLAIN,
                record.created,
                record.getMessage(),
                str(msg) if isinstance(msg, str) else None,
                record.levelno,
                record.levelname,
                record.name,
                record.pathname,
                record.filename,
                record.module,
                record.lineno,
                record.funcName,
                record.process,
                record.thread,
                record.threadName,
            ),
            _MARSHAL_VERSION,
        )
    except Exception:  # a failing format, an attribute marshal cannot write: the careful way
        reentry.reraise_program_exception()
        return None


def encode_program(facts: Mapping[str, Any]) -> bytes:
    return marshal.dumps((PROGRAM, dict(facts)), _MARSHAL_VERSION)


def encode_document(body: bytes) -> bytes:
    return marshal.dumps((DOCUMENT, body), _MARSHAL_VERSION)


# In the payload of every health report (`shipper.handler`, compact JSON); a program's record holds it
# only where its own text does, which `is_health_report` then tells apart by decoding it.
_REPORT_MARK: Final = b'"dataset":"' + schema.DATASET_SHIPPER.encode() + b'"'


def is_health_report(payload: bytes) -> bool:
    """Whether `payload` is a shipper health report, not a program's record: what a segment deleted
    unsent loses of it is no record lost (pure; decodes only a payload that holds the mark)."""
    if _REPORT_MARK not in payload:
        return False
    try:
        kind, body = decode(payload)
        doc = json.loads(body) if kind == DOCUMENT else None
    except (UnreadablePayload, ValueError):
        return False
    event = doc.get("event") if isinstance(doc, dict) else None
    return isinstance(event, dict) and event.get("dataset") == schema.DATASET_SHIPPER


def decode(payload: bytes) -> tuple[int, Any]:
    """(kind, value): a `Captured` for a record, `PlainFields` for a plain record, a dict for program
    facts, JSON bytes for a finished document. Raises UnreadablePayload."""
    try:
        value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as exc:
        raise UnreadablePayload(f"captured record cannot be read: {exc}") from exc
    if not isinstance(value, tuple) or not value:
        raise UnreadablePayload("captured record of unknown shape")
    if value[0] == PROGRAM and len(value) == 2 and isinstance(value[1], dict):
        return PROGRAM, value[1]
    if value[0] == DOCUMENT and len(value) == 2 and isinstance(value[1], bytes):
        return DOCUMENT, value[1]
    if value[0] == PLAIN and len(value) == len(_PLAIN_KEYS) + 1:
        return PLAIN, value[1:]
    if value[0] != RECORD or len(value) != 6 or not isinstance(value[1], dict):
        raise UnreadablePayload(f"captured record of unknown kind {value[0]!r}")
    _, attributes, error, env_vars, context, failure = value
    thawed = None if error is None else CapturedError(error[0], error[1], thaw_trace(error[2]))
    return RECORD, Captured(attributes, thawed, env_vars, context, failure)


def captured_of_plain(fields: PlainFields) -> Captured:
    """The `Captured` that `EcsFormatter.capture` makes of the record a plain payload was written from."""
    attributes = dict(zip(_PLAIN_KEYS, fields, strict=True))
    attributes.update(args=None, exc_info=None, exc_text=None, stack_info=None)
    return Captured(attributes)


def _json_safe_extras(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes with the program's own extras replaced by JSON-safe copies (they may be any
    object, and they must be written now: the caller may change them once the call returns)."""
    safe = dict(attributes)
    for key in attributes.keys() - STANDARD_ATTRIBUTES:
        safe[key] = jsonable(attributes[key])
    return safe


# -- traces ------------------------------------------------------------------------------------------


def freeze_trace(trace: traceback.TracebackException | str, depth: int = 0) -> Any:
    """A captured trace as builtins: a string stays one, a TracebackException becomes a dict."""
    if isinstance(trace, str):
        return trace
    if depth > _DEPTH:
        return None
    frozen: dict[str, Any] = {}
    for key, value in vars(trace).items():
        if key == "stack":
            frozen[key] = [(f.filename, f.lineno, f.name, f.end_lineno, f.colno, f.end_colno) for f in value]
        elif key == "exc_type":
            frozen[key] = None if value is None else (value.__module__, value.__qualname__, _is_syntax(value))
        elif isinstance(value, traceback.TracebackException):
            frozen[key] = freeze_trace(value, depth + 1)
        elif key == "exceptions" and value is not None:
            frozen[key] = [freeze_trace(member, depth + 1) for member in value]
        elif value is None or isinstance(value, str | int | float | bool):
            frozen[key] = value
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            frozen[key] = list(value)  # notes, frozen to text at capture
        else:
            frozen[key] = repr(value)
    return frozen


def thaw_trace(frozen: Any) -> traceback.TracebackException | str:
    """The TracebackException of a frozen trace (it formats to the text the original would)."""
    if isinstance(frozen, str):
        return frozen
    if not isinstance(frozen, dict):
        return "[logloop: traceback not kept]\n"
    trace = object.__new__(traceback.TracebackException)
    for key, value in frozen.items():
        if key == "stack":
            thawed: Any = traceback.StackSummary.from_list(
                [
                    traceback.FrameSummary(
                        file, line, name, lookup_line=False, end_lineno=end, colno=col, end_colno=end_col
                    )
                    for file, line, name, end, col, end_col in value
                ]
            )
        elif key == "exc_type":
            thawed = None if value is None else _stand_in(*value)
        elif key in ("__cause__", "__context__"):
            thawed = None if value is None else thaw_trace(value)
        elif key == "exceptions" and value is not None:
            thawed = [thaw_trace(member) for member in value]
        else:
            thawed = value
        setattr(trace, key, thawed)
    return trace


def _is_syntax(exc_type: type[BaseException]) -> bool:
    try:
        return issubclass(exc_type, SyntaxError)
    except TypeError:
        return False


_stand_ins: dict[tuple[str, str, bool], type[BaseException]] = {}


def _stand_in(module: str, qualname: str, syntax: bool) -> type[BaseException]:
    """A class named like the original exception type (all that formatting reads of it)."""
    key = (module, qualname, syntax)
    found = _stand_ins.get(key)
    if found is None:
        base: type[BaseException] = SyntaxError if syntax else Exception
        found = type(qualname.rsplit(".", 1)[-1], (base,), {"__module__": module, "__qualname__": qualname})
        if len(_stand_ins) < 1024:
            _stand_ins[key] = found
    return found
