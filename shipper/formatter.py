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

import contextlib
import datetime as dt
import json
import logging
import math
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import TracebackType
from typing import Any, Final

from shipper import environment, redaction
from shipper.exceptions import ConfigurationError
from shipper.schema import DATASET_FEEDBACK, DATASET_LOG, ECS_VERSION

ACTION_ATTR: Final = "event.action"
DURATION_ATTR: Final = "event.duration"
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
        return f"<unrepresentable {_qualified_name(type(value))}>"


def safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
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
        return truncate(value, limit)
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes(value, limit)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value, limit=limit, _depth=_depth, _seen=_seen)
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        if id(value) in _seen:
            return "[circular reference]"
        if _depth >= MAX_DEPTH:
            return "[nested too deep]"
        return _container(value, limit, _depth + 1, _seen | {id(value)})
    return truncate(safe_repr(value), limit)


def _container(value: Any, limit: int, depth: int, seen: frozenset[int]) -> Any:
    try:
        items = list(value.items() if isinstance(value, Mapping) else value)
    except Exception as exc:
        return f"<unreadable {_qualified_name(type(value))}: {_qualified_name(type(exc))}>"
    dropped = len(items) - MAX_ITEMS
    items = items[:MAX_ITEMS]
    if isinstance(value, Mapping):
        mapping = {_key(k): jsonable(v, limit=limit, _depth=depth, _seen=seen) for k, v in items}
        if dropped > 0:
            mapping["[truncated by logloop]"] = f"{dropped} more keys"
        return mapping
    sequence = [jsonable(v, limit=limit, _depth=depth, _seen=seen) for v in items]
    if dropped > 0:
        sequence.append(f"[truncated by logloop: {dropped} more items]")
    return sequence


def _key(key: object) -> str:
    text = truncate(key if isinstance(key, str) else safe_str(key), 256)
    return text or "[empty key]"


# Built once: json.dumps() with non-default options builds a new encoder on every call.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(doc: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON of a document; never raises; at most about 2 MiB."""
    try:
        text = _ENCODER.encode(doc)
        data = text.encode("utf-8")
        if len(data) <= DOCUMENT_LIMIT:
            return data
    except Exception:  # cycles, non-JSON objects, NaN, lone surrogates: take the careful path
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
        note = {"message": f"document could not be serialized: {_qualified_name(type(exc))}"}
        return json.dumps(note).encode("utf-8")


# --- pieces of the document -----------------------------------------------------------------------


def _qualified_name(cls: type) -> str:
    module = getattr(cls, "__module__", None) or "builtins"
    return f"{module}.{getattr(cls, '__qualname__', cls.__name__)}"


_last_second: tuple[int, str] = (-1, "")


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
        return f"<exception str() failed: {_qualified_name(type(exc))}>"


def stack_trace(exc_type: type[BaseException], value: BaseException | None, tb: TracebackType | None) -> str:
    """traceback.format_exception text, or a short note if that fails (a bug, memory).

    RecursionError propagates: `EcsFormatter.to_document` retries once with stack headroom.
    """
    try:
        if value is None:  # exc_info=(SomeError, None, None): a type without an instance
            return f"{exc_type.__qualname__}\n"
        return "".join(traceback.format_exception(exc_type, value, tb))
    except RecursionError:
        raise
    except (Exception, MemoryError) as exc:
        return (
            f"{_qualified_name(exc_type)}: {exception_message(value)}\n"
            f"[logloop: traceback could not be formatted: {_qualified_name(type(exc))}]"
        )


def error_fields(exc_info: ExcInfo) -> dict[str, Any]:
    exc_type, value, tb = exc_info
    message = truncate(exception_message(value), ERROR_MESSAGE_LIMIT)
    trace = truncate(stack_trace(exc_type, value, tb), STACK_TRACE_LIMIT, keep_tail=True)
    return {
        "type": _qualified_name(exc_type),
        "message": redaction.redact_text(message),
        "stack_trace": redaction.redact_text(trace),
    }


def _exc_info(record: logging.LogRecord) -> ExcInfo | None:
    info = record.exc_info
    if isinstance(info, tuple) and len(info) == 3 and isinstance(info[0], type):
        return info
    if isinstance(info, BaseException):  # a record built by hand with exc_info=exc
        return (type(info), info, info.__traceback__)
    return None


_argv_cache: tuple[list[str], list[str]] = ([], [])
_template_cache: dict[str, str] = {}
_TEMPLATE_CACHE_SIZE: Final = 2048
_guard = threading.local()


def _process_args() -> list[str]:
    """sys.argv, redacted; recomputed only when the program changes sys.argv."""
    global _argv_cache
    cached_for, redacted = _argv_cache
    current = getattr(sys, "argv", None) or []  # embedded interpreters may have no sys.argv
    if cached_for != current:
        redacted = environment.argv()
        _argv_cache = (list(current), redacted)
    return list(redacted)


def _template(msg: str) -> str:
    """The redacted, bounded template; templates repeat, so the result is cached (bounded)."""
    cached = _template_cache.get(msg)
    if cached is None:
        cached = redaction.redact_text(truncate(msg, FIELD_LIMIT))
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

    def format(self, record: logging.LogRecord) -> str:
        return dumps(self.to_document(record)).decode("utf-8")

    def to_document(self, record: logging.LogRecord) -> dict[str, Any]:
        """The ECS document of the record; never raises."""
        try:
            return self._document(record)
        except RecursionError:
            # Logged from the bottom of a deep recursion (`except RecursionError: log.exception()`
            # at the innermost frame): build it again once with some headroom, then restore.
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(limit + _RECURSION_HEADROOM)
            try:
                return self._document(record)
            except Exception as exc:
                return self._fallback(record, exc)
            finally:
                sys.setrecursionlimit(limit)
        except Exception as exc:
            return self._fallback(record, exc)

    def _document(self, record: logging.LogRecord) -> dict[str, Any]:
        facts = environment.static_facts()
        message = redaction.redact_text(truncate(record_message(record), MESSAGE_LIMIT))
        doc: dict[str, Any] = {
            "@timestamp": format_timestamp(record.created),
            "message": message,
            "log": {
                "level": record.levelname.lower(),
                "logger": record.name,
                "origin": {
                    "file": {"name": record.filename, "line": record.lineno},
                    "function": record.funcName,
                },
            },
            "ecs": {"version": ECS_VERSION},
            "event": {"dataset": DATASET_LOG, "kind": "event"},
            "service": self._service(),
            "host": _copy_host(facts.host),
            "process": {
                "pid": record.process if record.process is not None else facts.pid,
                "name": facts.process_name,
                "executable": facts.executable,
                "args": _process_args(),
                "thread": {"id": record.thread, "name": record.threadName},
            },
        }
        logloop: dict[str, Any] = {}
        if isinstance(record.msg, str):
            logloop["template"] = _template(record.msg)
        exc_info = _exc_info(record)
        if exc_info is not None:
            doc["error"] = error_fields(exc_info)
        elif record.exc_text:
            trace = truncate(record.exc_text, STACK_TRACE_LIMIT, keep_tail=True)
            doc["error"] = {"stack_trace": redaction.redact_text(trace)}
        if exc_info is not None or record.levelno >= _ERROR_LEVEL:
            logloop["env"] = self._env(facts)
            context = self._context()
            if context is not None:
                logloop["context"] = context
        if logloop:
            doc["logloop"] = logloop
        self._map_attributes(record, doc)
        return doc

    def _service(self) -> dict[str, Any]:
        service: dict[str, Any] = {"name": self.service_name}
        if self.service_version is not None:
            service["version"] = self.service_version
        if self.environment is not None:
            service["environment"] = self.environment
        return service

    def _env(self, facts: environment.StaticFacts) -> dict[str, Any]:
        env: dict[str, Any] = {"python": facts.python, "platform": facts.platform, "argv": _process_args()}
        if self.env_allowlist:
            env["vars"] = jsonable(environment.env_vars(self.env_allowlist))
        return env

    def _context(self) -> dict[str, Any] | None:
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
            return redaction.redact_mapping(safe) if isinstance(safe, dict) else {"value": safe}
        except Exception as exc:
            return {"provider_error": f"{_qualified_name(type(exc))}: {truncate(safe_str(exc), 1024)}"}
        finally:
            _guard.active = False

    def _map_attributes(self, record: logging.LogRecord, doc: dict[str, Any]) -> None:
        extras: dict[str, Any] = {}
        attributes = vars(record)
        own = attributes.keys() - _STANDARD_ATTRS  # usually empty: one C-level set operation
        for key, value in attributes.items() if own else ():
            if key not in own or key.startswith("_logloop"):
                continue
            if key == ACTION_ATTR and isinstance(value, str):
                doc["event"]["action"] = truncate(value, 1024)
            elif key == DURATION_ATTR and _is_duration(value):
                doc["event"]["duration"] = int(value)
            elif key == FEEDBACK_ATTR and isinstance(value, Mapping):
                _apply_feedback(doc, value, extras)
            else:
                extras[key] = value
        if record.stack_info:
            extras["stack_info"] = record.stack_info
        if extras:
            safe = jsonable(extras)
            doc["extra"] = redaction.redact_mapping(safe) if isinstance(safe, dict) else {"value": safe}

    def _fallback(self, record: logging.LogRecord, exc: Exception) -> dict[str, Any]:
        """The smallest honest document when building the full one failed."""
        try:
            message = truncate(safe_str(getattr(record, "msg", "")), MESSAGE_LIMIT)
            level = safe_str(getattr(record, "levelname", "error")).lower()
        except Exception:
            message, level = "", "error"
        doc: dict[str, Any] = {
            "@timestamp": format_timestamp(time.time()),
            "message": message,
            "log": {"level": level, "logger": safe_str(getattr(record, "name", ""))},
            "ecs": {"version": ECS_VERSION},
            "event": {"dataset": DATASET_LOG, "kind": "event"},
            "service": self._service(),
            "extra": {"logloop_formatter_error": _describe(exc)},
        }
        with contextlib.suppress(Exception):  # keep what an error event needs most, if it can be had
            exc_info = _exc_info(record)
            if exc_info is not None:
                error_message = truncate(exception_message(exc_info[1]), ERROR_MESSAGE_LIMIT)
                doc["error"] = {"type": _qualified_name(exc_info[0]), "message": error_message}
        return doc


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
    doc.setdefault("logloop", {})["feedback"] = {"kind": safe_str(payload.get("kind", ""))}
    doc.setdefault("logloop", {}).pop("template", None)  # feedback text is not a logging template
    if payload.get("service"):
        doc["service"]["name"] = safe_str(payload["service"])
    if payload.get("user"):
        extras["user"] = payload["user"]
    more = payload.get("extra")
    if isinstance(more, Mapping):
        for key, value in more.items():
            extras.setdefault(safe_str(key), value)
