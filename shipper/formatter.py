"""LogRecord -> ECS document (a nested dict whose field names are `shipper.schema.FIELDS`), and JSON.

The formatter knows nothing of transports: the handler calls `EcsFormatter.to_document()`, adds
`event.id` and the fingerprint, and serializes with `dumps()`. `EcsFormatter` is also a plain
`logging.Formatter` (its `format()` returns the JSON text), so it plugs into any handler.

Neither `to_document()` nor `dumps()` ever raises: whatever the program logs (objects without a
JSON form, bytes, cycles, lone surrogates, a 10 MB message, an exception whose `__str__` raises, a
RecursionError) becomes a document the node accepts, and a reader sees what happened:

- strings over a limit are cut, ending with `…[truncated by logloop: N bytes, kept M]`
  (`message` and `error.stack_trace` 256 KiB, keeping the head and the tail of a stack trace;
  anything inside the `extra` / `logloop.context` flattened fields 8 KiB, under Lucene's term limit);
- lone surrogates and undecodable bytes become visible `\\udcxx` / `\\xff` escapes;
- objects without a JSON form become their `repr()` (or `<unrepresentable T>` if that raises);
- a cycle becomes `[circular reference]`, nesting deeper than 10 becomes `[nested too deep]`,
  containers keep their first 256 items;
- a failing `%` format keeps the template and the arguments' reprs, with the error.

Record attributes the formatter maps rather than copying into `extra` (set them with `extra=`):

- `event.action` (str) and `event.duration` (int, nanoseconds): a timed operation (`shipper.timing`);
- `logloop_feedback` (mapping with `kind`, optional `service`, `user`, `extra`): a feedback event
  (`shipper.feedback`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import linecache
import logging
import math
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from pathlib import PurePath
from types import CodeType, TracebackType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from shipper import environment, frame_names, redaction, reentry
from shipper.exceptions import ConfigurationError
from shipper.grouping.renderers import HEADER as TRACE_HEADER
from shipper.queueing import TEMPLATE_ATTR
from shipper.schema import DATASET_FEEDBACK, DATASET_LOG, ECS_VERSION

if TYPE_CHECKING:
    from shipper.redaction.announced import Announced

ACTION_ATTR: Final = "event.action"
DURATION_ATTR: Final = "event.duration"
OUTCOME_ATTR: Final = "event.outcome"
OUTCOMES: Final = frozenset({"success", "failure", "unknown"})  # ECS's values of event.outcome
FEEDBACK_ATTR: Final = "logloop_feedback"

MESSAGE_LIMIT: Final = 256 * 1024
STACK_TRACE_LIMIT: Final = 256 * 1024
ERROR_MESSAGE_LIMIT: Final = 32 * 1024
FIELD_LIMIT: Final = 8 * 1024  # flattened leaves and keywords: far below Lucene's 32766-byte term limit
DOCUMENT_LIMIT: Final = 2 * 1024 * 1024
MAX_DEPTH: Final = 10
MAX_ITEMS: Final = 256

_STANDARD_ATTRS: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
STANDARD_ATTRIBUTES: Final = _STANDARD_ATTRS  # a record's own attributes; any other key is an extra
_ERROR_LEVEL: Final = logging.ERROR
_RECURSION_HEADROOM: Final = 400  # frames; building a document needs a few dozen

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


# --- making any value JSON-safe -------------------------------------------------------------------


def truncate(text: str, limit: int, *, keep_tail: bool = False) -> str:
    """Text of at most about `limit` UTF-8 bytes; lone surrogates made visible; a marker when cut."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        encoded = text.encode("utf-8", "backslashreplace")
        text = encoded.decode("utf-8")
    if len(encoded) <= limit:
        return text
    if keep_tail:
        head = encoded[: limit // 4].decode("utf-8", "ignore")
        tail = encoded[-(limit - limit // 4) :].decode("utf-8", "ignore")
        return (
            f"{head}\n…[truncated by logloop: {len(encoded)} bytes, kept the first and last {limit}]…\n{tail}"
        )
    head = encoded[:limit].decode("utf-8", "ignore")
    return f"{head}…[truncated by logloop: {len(encoded)} bytes, kept {limit}]"


def safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        reentry.reraise_program_exception()
        return f"<unrepresentable {_qualified_name(type(value))}>"


def safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        reentry.reraise_program_exception()
        return f"<unprintable {_qualified_name(type(value))}>"


def _datetime(value: dt.datetime) -> str:
    """Aware datetimes in UTC with a `Z`; naive ones as written (there is no zone to convert from)."""
    try:
        if value.tzinfo is None or value.utcoffset() is None:
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError):  # e.g. datetime.min in a zone east of UTC
        return value.isoformat()


def _bytes(value: bytes | bytearray | memoryview, limit: int) -> str:
    """Bytes as UTF-8 text, undecodable bytes as `\\xNN`; a marker with the original size when cut."""
    size = len(value)
    encoded = bytes(value[:limit]).decode("utf-8", "backslashreplace").encode("utf-8")
    if size <= limit and len(encoded) <= limit:
        return encoded.decode("utf-8")
    kept = encoded[:limit].decode("utf-8", "ignore")
    return f"{kept}…[truncated by logloop: {size} bytes of binary data]"


def jsonable(
    value: Any, *, limit: int = FIELD_LIMIT, _depth: int = 0, _seen: frozenset[int] = frozenset()
) -> Any:
    """A copy of the value made only of dict/list/str/int/float/bool/None, bounded in size."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return cut_redacted(value, limit)
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes(value, limit)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value, limit=limit, _depth=_depth, _seen=_seen)
    if isinstance(value, PurePath) or _is_uuid_or_decimal(value):
        return str(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if id(value) in _seen:
            return "[circular reference]"
        if _depth >= MAX_DEPTH:
            return "[nested too deep]"
        return _container(value, limit, _depth + 1, _seen | {id(value)})
    return truncate(safe_repr(value), limit)


def _is_uuid_or_decimal(value: object) -> bool:
    """Whether `value` is a UUID or a Decimal, written as its text. Their modules are looked up, not
    imported: a value of their type means the program imported them, and importing `decimal` cost
    every short script about 2.5 ms of start-up."""
    for module, name in (("uuid", "UUID"), ("decimal", "Decimal")):
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(value, getattr(loaded, name)):
            return True
    return False


def _container(value: Any, limit: int, depth: int, seen: frozenset[int]) -> Any:
    try:
        items = list(value.items() if isinstance(value, Mapping) else value)
        if isinstance(value, set | frozenset):
            items = _in_stable_order(items)
    except Exception as exc:
        reentry.reraise_program_exception()
        return f"<unreadable {_qualified_name(type(value))}: {_qualified_name(type(exc))}>"
    dropped = len(items) - MAX_ITEMS
    items = items[:MAX_ITEMS]
    if isinstance(value, Mapping):
        mapping: dict[str, Any] = {}
        for k, v in items:
            mapping[_unique_key(_key(k), mapping)] = jsonable(v, limit=limit, _depth=depth, _seen=seen)
        if dropped > 0:
            mapping["[truncated by logloop]"] = f"{dropped} more keys"
        return mapping
    sequence = [jsonable(v, limit=limit, _depth=depth, _seen=seen) for v in items]
    if dropped > 0:
        sequence.append(f"[truncated by logloop: {dropped} more items]")
    return sequence


def _set_order(item: Any) -> tuple[str, str]:
    return type(item).__name__, item if type(item) is str else repr(item)


def _in_stable_order(items: list[Any]) -> list[Any]:
    """A set's items in one order whatever the process (a set of strings iterates in the order of
    PYTHONHASHSEED, different in each process): by type, then text. Else one set, say a fingerprint
    `extra={"fingerprint": {"payment", "{{ default }}"}}`, gave a different document, and key, per process."""
    try:
        return sorted(items, key=_set_order)
    except Exception:  # a repr that raises: the items as the set gave them (never an error in a logging call)
        reentry.reraise_program_exception()
        return items


KEY_LIMIT: Final = 256  # bytes; the node refuses a flattened key near its 32 KiB term limit
# The node refuses a NUL in a flattened field's key (it separates key and value in the indexed term);
# the other control characters are accepted but break a reader's view, so all are shown escaped.
_UNSAFE_KEY_CHARS: Final = re.compile(r"[\x00-\x1f\x7f]")


def _key(key: object) -> str:
    """A mapping key the node accepts in a flattened field: control characters shown as `\\xNN`,
    at most KEY_LIMIT bytes (with the truncation marker), never empty."""
    text = key if isinstance(key, str) else safe_str(key)
    if _UNSAFE_KEY_CHARS.search(text):
        text = _UNSAFE_KEY_CHARS.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
    return truncate(text, KEY_LIMIT) or "[empty]"  # not "[empty key]": "key" would read as a secret


def _unique_key(key: str, taken: Mapping[str, Any]) -> str:
    """`key`, or `key (2)`, `key (3)`... if sanitising made two keys the same: both values are kept."""
    if key not in taken:
        return key
    number = 2
    while f"{key} ({number})" in taken:
        number += 1
    return f"{key} ({number})"


# Built once: json.dumps() with non-default options builds a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# The same encoder as _ENCODER, without the circular-reference bookkeeping: JSONEncoder.encode() even
# builds a new C encoder per call. A cycle then ends in a RecursionError, which takes the careful path
# as any other failure does. None where json has no C accelerator.
_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # the C one where there is one
_make_c_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Final = (
    _make_c_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    if _make_c_encoder is not None
    else None
)


def _fast_json(doc: Mapping[str, Any]) -> str:
    if _C_ENCODER is None:
        return _ENCODER.encode(doc)
    return "".join(_C_ENCODER(doc, 0))


def dumps(doc: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a document; never raises; at most about 2 MiB."""
    try:
        text = _fast_json(doc)
        data = text.encode("utf-8")
        if len(data) <= DOCUMENT_LIMIT:
            return data
    except Exception:  # cycles, non-JSON objects, NaN, lone surrogates: take the careful path
        reentry.reraise_program_exception()
        pass
    try:
        safe = jsonable(doc, limit=MESSAGE_LIMIT)
        data = _ENCODER.encode(safe).encode("utf-8")
        if len(data) > DOCUMENT_LIMIT and isinstance(safe, dict):
            size = len(data)
            safe.pop("extra", None)
            safe["extra"] = {"logloop_note": f"document of {size} bytes: extras dropped"}
            data = _ENCODER.encode(safe).encode("utf-8")
        return data
    except Exception as exc:  # last resort: a document that still says what happened
        reentry.reraise_program_exception()
        note = {"message": f"document could not be serialized: {_qualified_name(type(exc))}"}
        return json.dumps(note).encode("utf-8")


# --- pieces of the document -----------------------------------------------------------------------


def _qualified_name(cls: type) -> str:
    module = getattr(cls, "__module__", None) or "builtins"
    return f"{module}.{getattr(cls, '__qualname__', cls.__name__)}"


_last_second: tuple[int, str] = (-1, "")


# A plain event as the delivery agent reads it (`shipper.delivery.documents`): created, message,
# levelname, logger name, file name, line, function, template (or None), and the JSON of the
# document's constant rest (ecs, service, host, process).
LeanFields = tuple[float, str, str, str, str, int, str | None, str | None, bytes]


def lean_json(fields: LeanFields, event_id: str) -> tuple[bytes, bytes, str]:
    """A plain event's document as JSON in two parts (the per-event head, the rest), and its
    `@timestamp`: the JSON of `EcsFormatter.document(...)` for such an event with `event.id` stamped,
    written as one string instead of a dict to encode (tests/test_records.py holds the two ways to
    the same document). Raises on fields of other types."""
    created, message, levelname, name, filename, lineno, function, template, rest = fields
    if not event_id.isalnum():
        raise ValueError(f"event id {event_id!r} is not alphanumeric")
    timestamp = format_timestamp(created)
    message = redaction.redact_message(cut_redacted(message, MESSAGE_LIMIT), template)
    encode = _encode_string
    text = (
        f'{{"@timestamp":"{timestamp}","message":{encode(message)},'
        f'"log":{{"level":{encode(levelname.lower())},"logger":{encode(name)},'
        f'"origin":{{"file":{{"name":{encode(filename)},"line":{int(lineno)}}},'
        f'"function":{"null" if function is None else encode(function)}}}}},'
        f'"event":{{"dataset":"{DATASET_LOG}","kind":"event","id":"{event_id}"}}'
    )
    if template is not None:
        text += f',"logloop":{{"template":{encode(_template(template))}}}'
    try:
        head = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a logger or file name: shown, as dumps() does
        head = text.encode("utf-8", "backslashreplace")
    if len(head) + len(rest) >= DOCUMENT_LIMIT:
        raise ValueError("document too large for the plain way")
    return head, rest + b"}", timestamp


def format_timestamp(created: float) -> str:
    """`record.created` as ISO 8601 UTC with microseconds and a `Z`."""
    global _last_second
    seconds = int(created) if created >= 0 else math.floor(created)
    micros = int((created - seconds) * 1_000_000 + 0.5)
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    cached_second, prefix = _last_second
    if cached_second != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second = (seconds, prefix)
    return f"{prefix}.{micros:06d}Z"


def record_message(record: logging.LogRecord) -> str:
    """record.getMessage(), or the template and arguments with the reason if formatting fails."""
    try:
        return record.getMessage()
    except Exception as exc:
        reentry.reraise_program_exception()
        return (
            f"{safe_str(record.msg)} % {safe_repr(record.args)} "
            f"[logloop: message formatting failed: {_qualified_name(type(exc))}: {safe_str(exc)}]"
        )


def exception_message(value: BaseException | None) -> str:
    if value is None:
        return ""
    try:
        return str(value)
    except Exception as exc:
        reentry.reraise_program_exception()
        return f"<exception str() failed: {_qualified_name(type(exc))}>"


def stack_trace(exc_type: type[BaseException], value: BaseException | None, tb: TracebackType | None) -> str:
    """traceback.format_exception text, or a short note if that fails (a bug, memory).

    RecursionError propagates: `EcsFormatter.to_document` retries once with stack headroom.
    """
    return render_trace(capture_trace(exc_type, value, tb), exc_type, value)


# The attribute of a captured trace that holds `shipper.frame_names.colliding_qualnames`.
QUALNAMES_ATTRIBUTE: Final = "logloop_qualnames"


def capture_trace(
    exc_type: type[BaseException], value: BaseException | None, tb: TracebackType | None
) -> traceback.TracebackException | str:
    """The part of `traceback.format_exception` that needs the live traceback, without its cost.

    A `TracebackException` walks the frames now (names, line numbers, the exception's str(), the
    cause/context chain) but keeps no frame, traceback or exception object; reading the source lines
    and laying out the text (`render_trace`, most of the cost) can happen later, on another thread.
    RecursionError propagates (see `stack_trace`).
    """
    try:
        if value is None:  # exc_info=(SomeError, None, None): a type without an instance
            return f"{exc_type.__qualname__}\n"
        fast = _FAST_WALK and getattr(sys, "tracebacklimit", None) is None
        with reentry.signals_held():  # (its str() of each exception absorbs even a signal handler's raise)
            summary = traceback.TracebackException(
                type(value), value, None if fast else tb, compact=True, lookup_lines=False
            )
        if fast:
            summary.stack = _frames(tb)
        _freeze_notes(summary)
        qualnames = frame_names.colliding_qualnames(value, tb)
        if qualnames:  # kept on the summary: the spool freezes its attributes and thaws them back
            setattr(summary, QUALNAMES_ATTRIBUTE, qualnames)
        return summary
    except RecursionError:
        raise
    except (Exception, MemoryError) as exc:
        reentry.reraise_program_exception()
        return _trace_failed(exc_type, value, exc)


# `_frames` does what TracebackException does with a traceback on 3.11 and 3.12 (checked by
# tests/test_capture.py against traceback.format_exception); other versions take the stdlib's path.
_FAST_WALK: Final = (3, 11) <= sys.version_info[:2] < (3, 13)
_POSITIONS_CACHE_SIZE: Final = 4096
_positions: dict[tuple[CodeType, int], tuple[int | None, int | None, int | None, int | None]] = {}


def _frames(tb: TracebackType | None) -> traceback.StackSummary:
    """The frames of a traceback as TracebackException summarises them, with each instruction's
    source position remembered: finding it (`code.co_positions()` up to the instruction) is most of
    the cost of summarising, and the same frames recur in every occurrence of an error."""
    frames = traceback.StackSummary()
    files: set[str] = set()
    while tb is not None:
        frame, lasti = tb.tb_frame, tb.tb_lasti
        code = frame.f_code
        position = _positions.get((code, lasti))
        if position is None:
            position = _position(code, lasti, tb.tb_lineno)
            if len(_positions) >= _POSITIONS_CACHE_SIZE:
                _positions.clear()
            _positions[(code, lasti)] = position
        lineno, end_lineno, colno, end_colno = position
        filename = code.co_filename
        if filename not in files:
            files.add(filename)
            linecache.lazycache(filename, frame.f_globals)
        frames.append(
            traceback.FrameSummary(
                filename,
                lineno,
                code.co_name,
                lookup_line=False,
                end_lineno=end_lineno,
                colno=colno,
                end_colno=end_colno,
            )
        )
        tb = tb.tb_next
    for filename in files:
        _check_source(filename)
    return frames


def _check_source(filename: str) -> None:
    """`linecache.checkcache(filename)`, with its `os.stat` here: the standard library's absorbs any
    OSError, a TimeoutError that a program's SIGALRM handler raised during the call included (an
    interrupted system call runs the handler, and raises what it raises)."""
    entry = linecache.cache.get(filename)
    if entry is None or len(entry) == 1:  # absent, or lazy: left lazy
        return
    size, mtime, _, fullname = entry
    if mtime is None:  # lines a module's loader gave: no file to compare with
        return
    try:
        stat = os.stat(fullname)
    except OSError:
        reentry.reraise_program_exception()
        linecache.cache.pop(filename, None)
        return
    if size != stat.st_size or mtime != stat.st_mtime:
        linecache.cache.pop(filename, None)


def _position(
    code: CodeType, lasti: int, lineno: int
) -> tuple[int | None, int | None, int | None, int | None]:
    """(line, end line, column, end column) of an instruction, as the traceback module finds them."""
    if lasti < 0:
        return (lineno, None, None, None)
    found = next(itertools.islice(code.co_positions(), lasti // 2, None), (None, None, None, None))
    return (lineno, *found[1:]) if found[0] is None else found


def render_trace(
    trace: traceback.TracebackException | str,
    exc_type: type[BaseException] | None = None,
    value: BaseException | None = None,
) -> str:
    """The text `traceback.format_exception` prints for a captured trace; a short note if that fails."""
    if isinstance(trace, str):
        return trace
    try:
        for summary in _chain(trace):
            summary.stack = _RememberedFrames(summary.stack)
        return "".join(trace.format())
    except RecursionError:
        raise
    except (Exception, MemoryError) as exc:
        reentry.reraise_program_exception()
        return _trace_failed(exc_type or trace.exc_type or BaseException, value, exc)


def _trace_failed(exc_type: type[BaseException], value: BaseException | None, exc: BaseException) -> str:
    message = exception_message(value) if value is not None else ""
    return (
        f"{_qualified_name(exc_type)}: {message}\n"
        f"[logloop: traceback could not be formatted: {_qualified_name(type(exc))}]"
    )


def _chain(summary: traceback.TracebackException) -> list[traceback.TracebackException]:
    """The summary and every exception it mentions (cause, context, group members), each once."""
    found: list[traceback.TracebackException] = []
    pending, seen = [summary], set()
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, traceback.TracebackException):
            continue  # (a member a bounded capture did not keep: counted, never shown)
        seen.add(id(current))
        found.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(getattr(current, "exceptions", None) or ())
    return found


def _freeze_notes(summary: traceback.TracebackException) -> None:
    """PEP 678 notes as text now: the live list would show notes added after the event was logged."""
    for current in _chain(summary):
        notes = getattr(current, "__notes__", None)
        if notes is None:
            continue
        try:
            current.__notes__ = [safe_str(note) for note in notes]
        except Exception:  # notes that are not a sequence: show that, as format() would
            reentry.reraise_program_exception()
            current.__notes__ = [f"<unreadable notes: {_qualified_name(type(notes))}>"]


_FRAME_TEXT_CACHE_SIZE: Final = 4096
_frame_text: dict[tuple[Any, ...], str] = {}


class _RememberedFrames(traceback.StackSummary):
    """A StackSummary that remembers each frame's text.

    The same frames recur in every occurrence of an error (and down a recursion), and laying one out
    (its source line, and the position of the `^^^` markers, which takes an `ast.parse`) costs about
    20 µs. The key holds everything the text depends on, the source line included.
    """

    def format_frame_summary(self, frame_summary: traceback.FrameSummary, **options: Any) -> str:
        if frame_summary.locals:  # never the case for captured traces; not worth a key
            return super().format_frame_summary(frame_summary, **options)
        key = (
            frame_summary.filename,
            frame_summary.lineno,
            frame_summary.end_lineno,
            frame_summary.colno,
            frame_summary.end_colno,
            frame_summary.name,
            frame_summary.line,
            *sorted(options.items()),
        )
        try:
            return _frame_text[key]
        except KeyError:
            pass
        text = super().format_frame_summary(frame_summary, **options)
        if len(_frame_text) >= _FRAME_TEXT_CACHE_SIZE:
            _frame_text.clear()
        _frame_text[key] = text
        return text


_HEADER_PREFIXES: Final = ("", "Exception Group", "+ Exception Group")  # before it on its line


def split_rendered_trace(text: str, *, anywhere: bool = False) -> tuple[str, str | None]:
    """(message, traceback) of a message that carries its exception's traceback as text, or
    (text, None) if it does not.

    A QueueHandler formats the exception into the message and drops `exc_info` (the stdlib's
    `prepare()`); loguru, structlog's `format_exc_info` and `log.error(traceback.format_exc())` put it
    there too. The traceback is the text from the first line that is a traceback's header (an
    ExceptionGroup's included; with `anywhere`, from the first header even inside a line: loguru
    writes it right after the message) to the end; the message is what comes before it or, where
    nothing does, the traceback's last line (`ValueError: bad input`)."""
    at = text.find(TRACE_HEADER)
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        if anywhere or text[start:at].strip() in _HEADER_PREFIXES:
            start = at if anywhere and text[start:at].strip() not in _HEADER_PREFIXES else start
            head, trace = text[:start].rstrip(), text[start:]
            return head or _final_line(trace) or trace.strip().splitlines()[0], trace
        at = text.find(TRACE_HEADER, at + 1)
    return text, None


def _final_line(trace: str) -> str:
    """The last unindented line of a traceback: the exception finally raised (or "")."""
    lines = [line for line in trace.splitlines() if line[:1] not in ("", " ", "\t")]
    return lines[-1] if lines else ""


def _without_rendered_trace(text: str, error: CapturedError | None) -> tuple[str, str | None]:
    """`split_rendered_trace`, where the traceback is kept elsewhere: as the event's own (no exception
    was captured) or as a copy of the captured one (loguru renders it into the message too). The
    traceback of another exception that a message quotes stays in the message."""
    if error is None:
        return split_rendered_trace(text)
    head, trace = split_rendered_trace(text, anywhere=True)
    if trace is not None and error.type_name.rsplit(".", 1)[-1] in _final_line(trace):
        return head, None  # the captured error's: the document has it, whole
    return text, None


class CapturedError(NamedTuple):
    """An exception as it was when logged: its qualified type, its str() and its frame-free trace."""

    type_name: str
    message: str
    trace: traceback.TracebackException | str


def capture_error(exc_info: ExcInfo) -> CapturedError:
    exc_type, value, tb = exc_info
    return CapturedError(
        _qualified_name(exc_type), exception_message(value), capture_trace(exc_type, value, tb)
    )


def error_fields(error: CapturedError, redact: Callable[[str], str] | None = None) -> dict[str, Any]:
    message = cut_redacted(error.message, ERROR_MESSAGE_LIMIT, redact)
    trace = cut_redacted(render_trace(error.trace), STACK_TRACE_LIMIT, redact, keep_tail=True)
    return {"type": error.type_name, "message": message, "stack_trace": trace}  # redacted with the document


def cut_redacted(
    text: str, limit: int, redact: Callable[[str], str] | None = None, *, keep_tail: bool = False
) -> str:
    """`text` cut to `limit` bytes as `truncate` cuts it, redacted where it is cut; as it is if it fits
    (it is redacted with the document).

    A cut may end the kept head inside a secret (a fragment then too short for the rule that knows its
    shape) or begin the kept tail inside one whose key stays behind in the dropped middle: each kept
    part is redacted with a margin of the text around it on the side of its cut, then cut, so a secret
    across a cut is hidden whole. Only the kept parts and their margins are read (a 10 MB message was
    redacted whole, 0.3 s, to keep 256 KiB of it); the marker says the size of the text as logged."""
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, made visible as `truncate` makes them
        encoded = text.encode("utf-8", "backslashreplace")
        text = encoded.decode("utf-8")
    if len(encoded) <= limit:
        return text
    if redact is None:  # the default rules, loaded only for a text to cut (see `shipper.redaction`)
        redact = redaction.redact_text
    if not keep_tail:
        head = _kept_redacted(encoded, limit, redact, from_end=False)
        return f"{head}…[truncated by logloop: {len(encoded)} bytes, kept {limit}]"
    head = _kept_redacted(encoded, limit // 4, redact, from_end=False)
    tail = _kept_redacted(encoded, limit - limit // 4, redact, from_end=True)
    return f"{head}\n…[truncated by logloop: {len(encoded)} bytes, kept the first and last {limit}]…\n{tail}"


def _kept_redacted(encoded: bytes, size: int, redact: Callable[[str], str], *, from_end: bool) -> str:
    """The first (or last) `size` bytes of `encoded` as text, from a redacted window of the text that
    reaches at least a margin past the cut (widened where redaction shortened it below that)."""
    margin = min(max(size, 4096), _CUT_MARGIN)
    while True:
        whole = size + margin >= len(encoded)
        window = encoded if whole else (encoded[-(size + margin) :] if from_end else encoded[: size + margin])
        redacted = redact(window.decode("utf-8", "ignore")).encode("utf-8", "backslashreplace")
        if whole or len(redacted) - size >= margin // 2:
            kept = redacted[-size:] if from_end else redacted[:size]
            return kept.decode("utf-8", "ignore")
        margin *= 4


_CUT_MARGIN: Final = 64 * 1024  # bytes read past a cut: a secret across it (a PEM key: ~3 KB) is seen whole


def _exc_info(record: logging.LogRecord) -> ExcInfo | None:
    info = record.exc_info
    if isinstance(info, tuple) and len(info) == 3 and isinstance(info[0], type):
        return info
    if isinstance(info, BaseException):  # a record built by hand with exc_info=exc
        return (type(info), info, info.__traceback__)
    return None


# What structlog adds to an event dict that the document already says (log.level, log.logger,
# @timestamp), or that is structlog's own bookkeeping.
_STRUCTLOG_OWN: Final = frozenset({"event", "level", "logger", "timestamp", "_record", "_from_structlog"})


def _structlog_event(event_dict: dict[str, Any], attributes: dict[str, Any]) -> None:
    """A record from structlog's `ProcessorFormatter.wrap_for_formatter` (its documented stdlib
    integration: the event dict as `msg`, `_logger` and `_name` as extras), as structlog's own
    ProcessorFormatter reads it: the event is the message (and the template), every other key of
    the dict an extra, where it names no attribute of the record."""
    event = event_dict.get("event")
    message = event if isinstance(event, str) else safe_str(event)
    attributes["message"] = attributes["msg"] = message
    del attributes["_logger"], attributes["_name"]
    for key, value in event_dict.items():
        if isinstance(key, str) and key not in _STRUCTLOG_OWN and key not in _STANDARD_ATTRS:
            attributes.setdefault(key, value)


class Captured(NamedTuple):
    """What a record said at emit time: safe to keep in a queue and to finish on another thread.

    `attributes` is a shallow copy of `vars(record)` in which `message` is the formatted message
    (`msg % args`, done at emit time: arguments may change later), `args` and `exc_info` are None (no
    reference to the caller's arguments, exception or frames is kept) and `msg` is kept only when it
    is a string (the template). User extras are the record's own values, not copies: they are made
    JSON-safe when the document is built (see `EcsFormatter.capture`).

    For error events, `env_vars` and `context` are what the environment and the context provider said
    at that moment (`context` already a JSON-safe copy, not yet redacted). `failure` says why capturing
    failed, if it did; the document is then the smallest honest one.
    """

    attributes: dict[str, Any]
    error: CapturedError | None = None
    env_vars: dict[str, str] | None = None
    context: dict[str, Any] | None = None
    failure: str | None = None


_new_tuple: Final = tuple.__new__
_argv_cache: tuple[list[str], list[str]] = ([], [])
_template_cache: dict[str, str] = {}
_TEMPLATE_CACHE_SIZE: Final = 2048
_guard = threading.local()


def _process_args() -> list[str]:
    """sys.argv, redacted; recomputed only when the program changes sys.argv."""
    return list(_shared_process_args())


def _shared_process_args() -> list[str]:
    """The cached redacted sys.argv itself (not to be changed): a new list when sys.argv changed."""
    global _argv_cache
    cached_for, redacted = _argv_cache
    current = getattr(sys, "argv", None) or []  # embedded interpreters may have no sys.argv
    if cached_for != current:
        redacted = environment.argv()
        _argv_cache = (list(current), redacted)
    return redacted


def _template(msg: str) -> str:
    """The redacted, bounded template; templates repeat, so the result is cached (bounded)."""
    cached = _template_cache.get(msg)
    if cached is None:
        cached = redaction.redact_text(cut_redacted(msg, FIELD_LIMIT))
        if len(_template_cache) >= _TEMPLATE_CACHE_SIZE:
            _template_cache.clear()
        _template_cache[msg] = cached
    return cached


# --- the formatter --------------------------------------------------------------------------------


class EcsFormatter(logging.Formatter):
    """Turns a LogRecord into an ECS document (`to_document`) or its JSON text (`format`)."""

    def __init__(
        self,
        *,
        service_name: str,
        service_version: str | None = None,
        environment: str | None = None,
        env_allowlist: Sequence[str] = (),
        context_provider: Callable[[], Mapping[str, Any]] | None = None,
        redactor: redaction.Redactor | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(service_name, str) or not service_name.strip():
            raise ConfigurationError(
                f"service_name={service_name!r}: give the program's name, e.g. 'billing'"
            )
        if isinstance(env_allowlist, str):
            raise ConfigurationError(
                f"env_allowlist={env_allowlist!r} is one string: give a list of names, e.g. ['LANG', 'TZ']"
            )
        if context_provider is not None and not callable(context_provider):
            raise ConfigurationError("context_provider must be a function returning a mapping")
        self.service_name = service_name
        self.service_version = service_version
        self.environment = environment
        self.env_allowlist = tuple(env_allowlist)
        self.context_provider = context_provider
        # The user's rules; None for the default ones, loaded when a document is first built
        # (`redactor`): a program whose agent builds its documents never loads them.
        self.custom_redactor = redactor
        self._templates: dict[str, str] = {}  # see _template
        self._announced: Announced | None = None  # see _redacted_document

    @property
    def redactor(self) -> redaction.Redactor:
        """The rules this formatter's documents are redacted with."""
        custom = self.custom_redactor
        return redaction.DEFAULT if custom is None else custom

    def format(self, record: logging.LogRecord) -> str:
        return dumps(self.to_document(record)).decode("utf-8")

    def to_document(self, record: logging.LogRecord) -> dict[str, Any]:
        """The ECS document of the record; never raises. The same as `document(capture(record))`."""
        return self.document(self.capture(record))

    # -- the two halves: capture() on the caller's thread, document() wherever it suits ------------

    def capture(self, record: logging.LogRecord) -> Captured:
        """What the document needs from this moment, cheaply; never raises.

        Done now: `msg % args` (a mutable argument may change once the call returns), the exception's
        type, str() and frames (without keeping the frames alive), and for error events the allowed
        environment variables and the context provider's answer (they describe the moment of the
        error). Everything else (redaction, JSON-safe copies of extras, the traceback's text, host and
        process facts) is left to `document()`.

        Extras are kept by reference, as a QueueHandler in front of an ecs-logging formatter keeps
        them: a mutable extra changed right after the call may be shipped with the change. A deep copy
        here would cost what moving the work off the caller saves; pass a copy if that matters.
        """
        try:  # _with_headroom, inlined: this runs on every logging call
            return self._capture(record)
        except RecursionError:
            return _again_with_headroom(self._capture, record, self._failed_capture)
        except Exception as exc:
            reentry.reraise_program_exception()
            return self._failed_capture(record, exc)

    def document(self, captured: Captured) -> dict[str, Any]:
        """The ECS document of a captured record, redacted (`Redactor.redact_document`); never raises."""
        return _with_headroom(self._redacted_document, captured, self._redacted_fallback)

    def _redacted_document(self, captured: Captured) -> dict[str, Any]:
        # a value the stream's previous record announced (`$ vault kv get -field=password ...`, then the
        # password logged as a record of its own) is hidden too
        redactor = self.redactor
        return self._announcements().follow(redactor, redactor.redact_document(self._document(captured)))

    def _announcements(self) -> Announced:
        announced = self._announced
        if announced is None:
            # (made with the first document, as the rules are: a program whose agent builds its documents
            # never imports it)
            from shipper.redaction.announced import Announced

            announced = self._announced = Announced()
        return announced

    def may_follow_an_announcement(self, pid: object, thread: object, logger: object, message: str) -> bool:
        """Whether the document of a record of this stream (process id, thread id, logger name) and
        message must be built by `document`, which reads a message after the line its stream's previous
        record announced a value with (`shipper.redaction.announced`): a lean path that skips it asks."""
        return self._announcements().may_follow(self.redactor, (pid, thread, logger), message)

    def _redacted_fallback(self, captured: Captured, exc: Exception) -> dict[str, Any]:
        """The fallback document, redacted; if redaction fails, one without any of the event's text
        (never the unredacted one)."""
        doc = self._fallback(captured, exc)
        try:
            return self.redactor.redact_document(doc)
        except Exception as failure:
            reentry.reraise_program_exception()
            return {
                "@timestamp": doc["@timestamp"],
                "message": f"[logloop: text withheld: redaction failed: {_describe(failure)}]",
                "log": {"level": doc["log"]["level"]},
                "ecs": {"version": ECS_VERSION},
                "event": {"dataset": DATASET_LOG, "kind": "event"},
                "service": self.service_fields(),
            }

    def _template(self, msg: str) -> str:
        """The redacted, bounded template, with this formatter's rules (cached as `_template`)."""
        if self.custom_redactor is None:
            return _template(msg)
        cached = self._templates.get(msg)
        if cached is None:
            cached = self.redactor.redact_text(cut_redacted(msg, FIELD_LIMIT, self.redactor.redact_text))
            if len(self._templates) >= _TEMPLATE_CACHE_SIZE:
                self._templates.clear()
            self._templates[msg] = cached
        return cached

    def _capture(self, record: logging.LogRecord) -> Captured:
        attributes = record.__dict__.copy()
        try:
            attributes["message"] = record.getMessage()
        except Exception:  # a failing format or a raising __str__: the safe representation
            reentry.reraise_program_exception()
            attributes["message"] = record_message(record)
        attributes["args"] = attributes["exc_info"] = None
        kept = attributes.get(TEMPLATE_ATTR)  # a QueueHandler's prepare() put the message in `msg`
        if type(kept) is str:
            attributes["msg"] = kept
        elif not isinstance(record.msg, str):
            attributes["msg"] = None  # only a string is a template; the message already holds str(msg)
            if type(record.msg) is dict and "_logger" in attributes and "_name" in attributes:
                _structlog_event(record.msg, attributes)
        if record.exc_info is None and record.levelno < _ERROR_LEVEL:
            # The common case, kept short: it runs on every logging call (a tuple made directly costs
            # a third of what the named tuple's constructor does).
            return _new_tuple(Captured, (attributes, None, None, None, None))
        exc_info = _exc_info(record)
        error = capture_error(exc_info) if exc_info is not None else None
        env_vars = environment.read_env(self.env_allowlist) if self.env_allowlist else None
        return Captured(attributes, error, env_vars, self._context())

    def _failed_capture(self, record: logging.LogRecord, exc: Exception) -> Captured:
        """What can still be had from a record whose capture failed (for `_fallback`)."""
        attributes: dict[str, Any] = {}
        error = None
        try:
            attributes.update(msg=safe_str(record.msg), levelname=record.levelname, name=record.name)
            exc_info = _exc_info(record)
            if exc_info is not None:
                error = CapturedError(_qualified_name(exc_info[0]), exception_message(exc_info[1]), "")
        except Exception:
            reentry.reraise_program_exception()
        return Captured(attributes, error, failure=_describe(exc))

    def _document(self, captured: Captured) -> dict[str, Any]:
        if captured.failure is not None:
            return self._fallback(captured, None)
        record = captured.attributes
        facts = environment.static_facts()
        text, rendered = record["message"], None
        if TRACE_HEADER in text:  # a traceback as text: a QueueHandler's record, loguru's message
            text, rendered = _without_rendered_trace(text, captured.error)
        cut = text is not record["message"]
        message = cut_redacted(text, MESSAGE_LIMIT, self.redactor.redact_text)
        unusable: dict[str, str] = {}  # attributes a program set to what their fields cannot hold
        created = usable_time(record["created"])
        if created is None:  # (NaN, text, a year past 9999): when the agent reads it, the nearest known
            unusable["created"] = truncate(safe_repr(record["created"]), _UNUSABLE_LIMIT)
            created = time.time()
        pid = _whole(record["process"], "process", unusable)
        line = _whole(record["lineno"], "lineno", unusable)
        doc: dict[str, Any] = {
            "@timestamp": format_timestamp(created),
            "message": message,
            "log": {
                "level": record["levelname"].lower(),
                "logger": record["name"],
                "origin": {
                    "file": {"name": record["filename"], "line": line},
                    "function": record["funcName"],
                },
            },
            "ecs": {"version": ECS_VERSION},
            "event": {"dataset": DATASET_LOG, "kind": "event"},
            "service": self.service_fields(),
            "host": _copy_host(facts.host),
            "process": {
                "pid": pid if pid is not None else facts.pid,
                **_entity(pid, facts.pid),
                "name": facts.process_name,
                "executable": facts.executable,
                "args": _process_args(),
                "thread": {"id": _whole(record["thread"], "thread", unusable), "name": record["threadName"]},
            },
        }
        logloop: dict[str, Any] = {"unusable": unusable} if unusable else {}
        msg = record["msg"]
        if isinstance(msg, str):
            if cut and TRACE_HEADER in msg:  # the template carries the traceback the message had
                msg = _without_rendered_trace(msg, captured.error)[0]
            logloop["template"] = cut_redacted(msg, FIELD_LIMIT, self.redactor.redact_text)
        error = captured.error
        if error is not None:
            doc["error"] = error_fields(error, self.redactor.redact_text)
            qualnames = getattr(error.trace, QUALNAMES_ATTRIBUTE, None)
            if qualnames:  # what the printed traceback cannot tell grouping (`shipper.frame_names`)
                logloop["qualnames"] = [self.redactor.redact_text(name) for name in qualnames]
        elif (record["exc_text"] or "").strip() or rendered:  # loguru's exc_text is "\n": not one
            trace = cut_redacted(
                (record["exc_text"] or "").strip() or rendered or "",
                STACK_TRACE_LIMIT,
                self.redactor.redact_text,
                keep_tail=True,
            )
            doc["error"] = {"stack_trace": trace}
        if error is not None or record["levelno"] >= _ERROR_LEVEL:
            logloop["env"] = self._env(facts, captured.env_vars)
            if captured.context is not None:
                logloop["context"] = captured.context
        if logloop:
            doc["logloop"] = logloop
        self._map_attributes(record, doc)
        return doc

    def service_fields(self) -> dict[str, Any]:
        """`service.*` of every document this formatter writes."""
        service: dict[str, Any] = {"name": self.service_name}
        if self.service_version is not None:
            service["version"] = self.service_version
        if self.environment is not None:
            service["environment"] = self.environment
        return service

    def _env(self, facts: environment.StaticFacts, env_vars: Mapping[str, str] | None) -> dict[str, Any]:
        env: dict[str, Any] = {"python": facts.python, "platform": facts.platform, "argv": _process_args()}
        if self.env_allowlist:
            env["vars"] = jsonable(environment.env_vars(self.env_allowlist, env_vars or {}))
        return env

    def _context(self) -> dict[str, Any] | None:
        """The provider's answer as a JSON-safe copy (not yet redacted), or what went wrong."""
        provider = self.context_provider or environment.registered_context_provider()
        if provider is None:
            return None
        if getattr(_guard, "active", False):  # the provider itself logged an error
            return {"provider_error": "context provider re-entered the formatter; skipped"}
        _guard.active = True
        try:
            value = provider()
            if not isinstance(value, Mapping):
                return {"provider_error": f"context provider returned {_qualified_name(type(value))}"}
            safe = jsonable(value)
            return safe if isinstance(safe, dict) else {"value": safe}
        except Exception as exc:
            reentry.reraise_program_exception()
            return {"provider_error": f"{_qualified_name(type(exc))}: {truncate(safe_str(exc), 1024)}"}
        finally:
            _guard.active = False

    def _map_attributes(self, record: dict[str, Any], doc: dict[str, Any]) -> None:
        extras: dict[str, Any] = {}
        own = record.keys() - _STANDARD_ATTRS  # usually empty: one C-level set operation
        for key, value in record.items() if own else ():
            if key not in own or key.startswith("_logloop"):
                continue
            if key == ACTION_ATTR and isinstance(value, str):
                doc["event"]["action"] = truncate(value, 1024)
            elif key == DURATION_ATTR and _is_duration(value):
                doc["event"]["duration"] = int(value)
            elif key == OUTCOME_ATTR and isinstance(value, str) and value in OUTCOMES:
                doc["event"]["outcome"] = value
            elif key == FEEDBACK_ATTR and isinstance(value, Mapping):
                _apply_feedback(doc, value, extras)
            else:
                extras[key] = value
        if record["stack_info"]:
            extras["stack_info"] = record["stack_info"]
        if extras:
            safe = jsonable(extras)
            doc["extra"] = safe if isinstance(safe, dict) else {"value": safe}

    def _fallback(self, captured: Captured, exc: Exception | None) -> dict[str, Any]:
        """The smallest honest document when capturing or building the full one failed."""
        record = captured.attributes
        try:
            text = record.get("message")  # formatted at capture; the template if capture failed
            message = truncate(
                text if isinstance(text, str) else safe_str(record.get("msg", "")), MESSAGE_LIMIT
            )
            level = safe_str(record.get("levelname", "error")).lower()
        except Exception:
            reentry.reraise_program_exception()
            message, level = "", "error"
        doc: dict[str, Any] = {
            "@timestamp": format_timestamp(time.time()),
            "message": message,
            "log": {"level": level, "logger": safe_str(record.get("name", ""))},
            "ecs": {"version": ECS_VERSION},
            "event": {"dataset": DATASET_LOG, "kind": "event"},
            "service": self.service_fields(),
            "extra": {"logloop_formatter_error": _describe(exc) if exc is not None else captured.failure},
        }
        error = captured.error
        if error is not None:  # keep what an error event needs most
            doc["error"] = {
                "type": error.type_name,
                "message": cut_redacted(error.message, ERROR_MESSAGE_LIMIT),
            }
        return doc


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def _with_headroom(
    step: Callable[[_In], _Out], value: _In, fallback: Callable[[_In, Exception], _Out]
) -> _Out:
    """`step(value)`; `fallback(value, error)` if it raises; never raises itself.

    A RecursionError (logged from the bottom of a deep recursion: `except RecursionError:
    log.exception()` at the innermost frame) gets one more try with some stack headroom.
    """
    try:
        return step(value)
    except RecursionError:
        return _again_with_headroom(step, value, fallback)
    except Exception as exc:
        reentry.reraise_program_exception()
        return fallback(value, exc)


def _again_with_headroom(
    step: Callable[[_In], _Out], value: _In, fallback: Callable[[_In, Exception], _Out]
) -> _Out:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _RECURSION_HEADROOM)
    try:
        return step(value)
    except Exception as exc:
        reentry.reraise_program_exception()
        return fallback(value, exc)
    finally:
        sys.setrecursionlimit(limit)


# The times an index can hold (`strict_date_optional_time`: years 0001 to 9999), in Unix seconds.
EARLIEST_TIME: Final = -62_135_596_800.0
LATEST_TIME: Final = 253_402_300_799.0
LONG_RANGE: Final = range(-(2**63), 2**63)
_UNUSABLE_LIMIT: Final = 256


def usable_time(value: object) -> float | None:
    """`value` as Unix seconds an index can hold, or None (not a number, NaN, out of range)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if EARLIEST_TIME <= value <= LATEST_TIME else None  # (NaN compares False)


def _fits_long(value: object) -> bool:
    """Whether a `long` field holds `value` as it is: None, or a whole number in its range."""
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value in LONG_RANGE)


def _entity(pid: int | None, own_pid: int) -> dict[str, str]:
    """`process.entity_id` of a record made in this process (no pid: taken as made here), as members."""
    entity = environment.event_entity(own_pid if pid is None else pid, own_pid, environment.entity_id())
    return {} if entity is None else {"entity_id": entity}


def _whole(value: object, name: str, unusable: dict[str, str]) -> int | None:
    """`value` for a `long` field where it `_fits_long`; anything else (text, a float, too large) is
    None there and its repr kept in `unusable[name]`."""
    if _fits_long(value):
        return value  # type: ignore[return-value]
    unusable[name] = truncate(safe_repr(value), _UNUSABLE_LIMIT)
    return None


def _is_duration(value: object) -> bool:
    """A number of nanoseconds that fits the `long` field; anything else stays in `extra`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 <= value < 2**63


def _describe(exc: BaseException) -> str:
    return f"{_qualified_name(type(exc))}: {truncate(safe_str(exc), 1024)}"


def _copy_host(host: Mapping[str, Any]) -> dict[str, Any]:
    return {**host, "os": dict(host["os"])}


def _apply_feedback(doc: dict[str, Any], payload: Mapping[str, Any], extras: dict[str, Any]) -> None:
    """Turn a log document into a feedback document (see `shipper.feedback`)."""
    doc["event"]["dataset"] = DATASET_FEEDBACK
    logloop = doc.setdefault("logloop", {})
    logloop["feedback"] = {"kind": safe_str(payload.get("kind", ""))}
    logloop.pop("template", None)  # feedback text is not a logging template
    if payload.get("service"):
        doc["service"]["name"] = safe_str(payload["service"])
    if payload.get("user"):
        extras["user"] = payload["user"]
    more = payload.get("extra")
    if isinstance(more, Mapping):
        for key, value in more.items():
            extras.setdefault(safe_str(key), value)
