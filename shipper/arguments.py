"""The kinds of `ShipperHandler`'s keyword arguments, checked before the handler exists.

Configuration reaches the handler as text as often as from code: `dictConfig` from JSON or YAML,
`fileConfig`'s INI, a TOML table, environment variables. A value of the wrong kind must fail at
set-up in one line that names the argument (`idle_exit='3' must be a number of seconds, not str`),
never deep inside the handler, never later from `emit()`, and never be taken silently: the string
`"false"` is true to Python, so `allow_plain_http="false"` would allow plain http.

The one rule: every argument of `ShipperHandler.__init__` has a kind in `KINDS` (a test checks it).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

from shipper.connection import URL_EXAMPLE, url_problem
from shipper.exceptions import ConfigurationError

# The longest wait any seconds argument takes: a year is "for ever" for a timeout or an exit delay,
# and far larger values overflow the clocks below (a socket's timeout, `threading`'s TIMEOUT_MAX):
# request_timeout = 1e300 failed every request, close_timeout = 1e300 raised OverflowError from close().
MAX_SECONDS: Final = 365 * 86400


Check = Callable[[Any], "str | None"]


class _Range(str):
    """A value of the right kind out of its range: said without ", not int" after it."""


def _seconds(value: Any) -> str | None:
    if type(value) not in (int, float):
        return "must be a number of seconds"
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        return _Range(f"must be a finite number of seconds greater than 0, at most {MAX_SECONDS} (a year)")
    return None


def _count(value: Any) -> str | None:
    if type(value) is not int:
        return "must be a whole number"
    return None if value > 0 else _Range("must be greater than 0")


def _bytes_between(low: int, high: int, why: str) -> Check:
    """A whole number of bytes from `low` to `high`; `why` says what a value outside would do."""

    def check(value: Any) -> str | None:
        if type(value) is not int:
            return "must be a whole number of bytes"
        if low <= value <= high:
            return None
        return _Range(f"must be from {low:,} to {high:,} bytes ({why})")

    return check


def _spool_bytes(value: Any) -> str | None:
    if type(value) is not int:
        return "must be a whole number of bytes"
    if MIN_SPOOL_BYTES <= value <= MAX_SPOOL_BYTES:
        return None
    return _Range(
        f"must be from {MIN_SPOOL_BYTES:,} bytes (one segment) to {MAX_SPOOL_BYTES:,} (1 TiB: past it the"
        " bound bounds nothing, the disk fills first, and the dead-letter file may take a quarter of it)"
    )


def _batch_size(value: Any) -> str | None:
    problem = _count(value)
    if problem is not None or value <= MAX_BATCH_SIZE:
        return problem
    return _Range(
        f"must be from 1 to {MAX_BATCH_SIZE:,} documents (a request stays under 8 MiB, which holds"
        " about 10,000 of the smallest documents: a larger count changes nothing)"
    )


# The smallest document a record makes is ~0.8 KB (time, level, logger, origin, service, host,
# process); below 2 KiB a record with a short traceback is dead-lettered, never sent. Above
# 100 MiB (Elasticsearch's http.max_content_length) the node refuses the request anyway.
MIN_EVENT_BYTES: Final = 2048
MAX_EVENT_BYTES: Final = 100 * 1024 * 1024
# Below this the spool cannot hold one segment of records (the handler refused it, after it existed).
MIN_SPOOL_BYTES: Final = 64 * 1024
MAX_SPOOL_BYTES: Final = 1024**4
MAX_BATCH_SIZE: Final = 100_000
MAX_LEVEL: Final = 50  # logging.CRITICAL: a level above it (unless registered) lets no record through


def _port(value: Any) -> str | None:
    if type(value) is not int:
        return "must be a port number"
    return None if 0 <= value <= 65535 else _Range("must be a port number (0 to 65535)")


def _remote_port(value: Any) -> str | None:
    if type(value) is not int:
        return "must be a port number"
    return None if 1 <= value <= 65535 else _Range("must be a port number (1 to 65535)")


def _optional_port(value: Any) -> str | None:
    return None if value is None else _port(value)


def _flag(value: Any) -> str | None:
    return None if type(value) is bool else "must be True or False (a string such as 'false' is true)"


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _optional_text(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "must be a string (or None)"


def _urls(value: Any) -> str | None:
    """Each URL by the one rule of the TOML's `[elasticsearch] url` too (`connection.url_problem`):
    `es_url="http://es.internal"` failed in the agent, after set-up, where the TOML refused it."""
    if isinstance(value, str):
        urls: Any = value.split(",")
    elif isinstance(value, list | tuple) and all(isinstance(url, str) for url in value):
        urls = value
    else:
        return "must be a URL, a comma-separated string of URLs or a list of them"
    given = [url for url in urls if url.strip()]  # (blanks: `connection.validate` says the list is empty)
    for url in given:
        problem = url_problem(url)
        if problem is not None:
            which = f"holds {url.strip()!r}, which " if len(given) > 1 else ""
            return _Range(f"{which}{problem}: write it like {URL_EXAMPLE}")
    return None


def _names(value: Any) -> str | None:
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(name, str) for name in value):
        return None
    return "must be a list of strings"


def _path(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        return "must be a directory path (or None)"
    text = os.fspath(value)
    if (b"\0" if isinstance(text, bytes) else "\0") in text:  # open() would raise a bare ValueError later
        return "must be a directory path without a NUL character"
    return None


def _optional_callable(value: Any) -> str | None:
    return None if value is None or callable(value) else "must be a function (or None)"


def _level(value: Any) -> str | None:
    if type(value) is int:
        import logging  # (see below)

        if 0 <= value <= MAX_LEVEL or not logging.getLevelName(value).startswith("Level "):
            return None
        return _Range(
            f"must be a logging level from 0 to {MAX_LEVEL} (CRITICAL) or a registered level's number"
        )
    if isinstance(value, str):  # a name logging knows ("INFO"), as Handler.setLevel takes
        import logging  # (here: `logloop` commands check the index prefix with this module, not levels)

        if isinstance(logging.getLevelName(value), int):
            return None
        return "must be a logging level (DEBUG, INFO, WARNING, ERROR, CRITICAL or a number)"
    return "must be a logging level name or number"


def _formatter(value: Any) -> str | None:
    if value is None or callable(getattr(value, "to_document", None)):
        return None
    return "must have a to_document(record) method (an EcsFormatter, or one of your own)"


def _optional_mapping(value: Any) -> str | None:
    return None if value is None or isinstance(value, Mapping) else "must be a table (a dict)"


KINDS: Final[Mapping[str, Check]] = {
    "service": _text,
    "service_version": _optional_text,
    "environment": _optional_text,
    "env_allowlist": _names,
    "context_provider": _optional_callable,
    "level": _level,
    "transport": _text,
    "es_url": _urls,
    "cloud_id": _optional_text,
    "sniff": _flag,
    "api_key": _optional_text,
    "username": _optional_text,
    "password": _optional_text,
    "ca_certs": _optional_text,
    "verify_certs": _flag,
    "allow_plain_http": _flag,
    "request_timeout": _seconds,
    "index_prefix": _text,
    "logstash_host": _text,
    "logstash_port": _remote_port,
    "logstash_ssl": _flag,
    "spool_path": _path,
    "spool_max_bytes": _spool_bytes,
    "spool_overflow": _text,
    "queue_size": _count,
    "queue_overflow": _text,
    "close_timeout": _seconds,
    "batch_size": _batch_size,
    "max_event_bytes": _bytes_between(
        MIN_EVENT_BYTES, MAX_EVENT_BYTES, "smaller drops every record, larger the node refuses"
    ),
    "flush_interval": _seconds,
    "retry_max_delay": _seconds,
    "stats_interval": _seconds,
    "idle_exit": _seconds,
    "unreachable_exit": _seconds,
    "prometheus_port": _optional_port,
    "formatter": _formatter,
    "delivery": _text,
    "redact_keys": _names,
    "redact_patterns": _names,
    "redact_before_spool": _flag,
    "grouping": _optional_mapping,
}

_SECRET: Final = frozenset({"api_key", "password"})
# Elasticsearch refuses these in an index name (and a name that starts with -, _ or +, or has capitals).
_INDEX_FORBIDDEN: Final = frozenset('\\/*?"<>| ,#:')


def check(arguments: Mapping[str, Any]) -> None:
    """Raise ConfigurationError for the first argument of the wrong kind, naming it (a secret's
    value is never shown)."""
    for name, value in arguments.items():
        kind = KINDS.get(name)
        problem = kind(value) if kind is not None else None
        if problem is not None:
            shown = "<hidden>" if name in _SECRET else repr(value)
            kind_said = "" if isinstance(problem, _Range) else f", not {type(value).__name__}"
            raise ConfigurationError(f"{name}={shown} {problem}{kind_said}")
    prefix = arguments.get("index_prefix")
    if isinstance(prefix, str):
        problem = index_prefix_problem(prefix)
        if problem is not None:
            raise ConfigurationError(f"index_prefix={prefix!r} {problem}")
    service = arguments.get("service")
    if isinstance(service, str):
        problem = service_problem(service)
        if problem is not None:
            raise ConfigurationError(f"service={service!r} {problem}")


def service_problem(service: str) -> str | None:
    """Why `service` cannot name the program's documents (`service.name`), or None: the one rule of the
    handler's `service` and the TOML's `[logloop] service` (the handler's formatter refused a blank
    one as `service_name=''`, an argument no caller gives, and the TOML took it)."""
    return None if service.strip() else "is blank: give the program's name, e.g. 'billing'"


def index_prefix_problem(prefix: str) -> str | None:
    """Why Elasticsearch would refuse every `<prefix>-YYYY.MM.DD` index, or None."""
    if not prefix:
        return "is empty: give a short lowercase name, e.g. 'logloop'"
    if prefix != prefix.lower():
        return "has capitals: Elasticsearch index names are lowercase"
    if prefix[0] in "-_+" or any(c in _INDEX_FORBIDDEN for c in prefix):
        return (
            'cannot name an Elasticsearch index (no leading - _ +, none of \\ / * ? " < > | , # : or space)'
        )
    if len(prefix.encode("utf-8", "surrogatepass")) > 200:
        return "is too long for an Elasticsearch index name (200 bytes at most)"
    return None
