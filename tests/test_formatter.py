"""The ECS formatter: the documents it builds, and bad input it turns into documents a real node accepts."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import pytest

from kibana.setup import install_template
from shipper import schema
from shipper.exceptions import ConfigurationError
from shipper.formatter import EcsFormatter, dumps, format_timestamp
from shipper.redaction import REDACTED

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def make_record(
    msg: object,
    *args: object,
    level: int = logging.INFO,
    exc_info: ExcInfo | None = None,
    extra: Mapping[str, Any] | None = None,
) -> logging.LogRecord:
    logger = logging.getLogger("tests.formatter")
    return logger.makeRecord(
        logger.name, level, __file__, 42, msg, args, exc_info, func="caller", extra=dict(extra or {})
    )


def captured(exc: BaseException) -> ExcInfo:
    """The exc_info tuple of a really raised exception (with its traceback)."""
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    assert info[0] is not None and info[1] is not None
    return info[0], info[1], info[2]


FORMATTER = EcsFormatter(service_name="svc", service_version="1.2.3", environment="test")


class StrRaises(Exception):
    """An exception whose __str__ raises."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


class NoJson:
    """An object without a JSON form and with a normal repr."""

    def __repr__(self) -> str:
        return "<NoJson 7>"


class ReprRaises:
    """An object whose repr() raises."""

    def __repr__(self) -> str:
        raise ValueError("no repr")


def recurse(depth: int = 0) -> int:
    return recurse(depth + 1) + 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"service_name": ""}, "service_name=''", id="empty-service"),
        pytest.param(
            {"service_name": "svc", "env_allowlist": "PATH"}, "is one string", id="allowlist-string"
        ),
        pytest.param(
            {"service_name": "svc", "context_provider": {"a": 1}}, "must be a function", id="provider"
        ),
    ],
)
def test_bad_formatter_settings_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Settings that cannot work raise ConfigurationError up front, naming the fix, never at emit time."""
    with pytest.raises(ConfigurationError, match=message):
        EcsFormatter(**kwargs)


# --- documents ------------------------------------------------------------------------------------


def test_message_event_has_the_ecs_fields() -> None:
    """A message-only record becomes a nested ECS document: template, origin, service, host, process."""
    doc = FORMATTER.to_document(make_record("user %s logged in", "ana"))
    assert doc["message"] == "user ana logged in"
    assert doc["logloop"] == {"template": "user %s logged in"}
    assert doc["log"] == {
        "level": "info",
        "logger": "tests.formatter",
        "origin": {"file": {"name": "test_formatter.py", "line": 42}, "function": "caller"},
    }
    assert doc["service"] == {"name": "svc", "version": "1.2.3", "environment": "test"}
    assert doc["event"] == {"dataset": schema.DATASET_LOG, "kind": "event"}
    assert doc["ecs"] == {"version": schema.ECS_VERSION}
    assert doc["host"]["name"] and doc["host"]["os"]["type"]
    assert doc["process"]["pid"] > 0 and doc["process"]["thread"]["name"] == "MainThread"
    assert "error" not in doc and "event.id" not in doc and "id" not in doc["event"]


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        pytest.param(0.0, "1970-01-01T00:00:00.000000Z", id="epoch"),
        pytest.param(1764097200.123456, "2025-11-25T19:00:00.123456Z", id="microseconds"),
        pytest.param(1764097200.9999996, "2025-11-25T19:00:01.000000Z", id="rounds-up-into-next-second"),
    ],
)
def test_timestamp_is_utc_iso8601_with_microseconds(created: float, expected: str) -> None:
    """record.created is written in UTC, microsecond precision, with a Z, whatever the local zone."""
    assert format_timestamp(created) == expected


def test_every_field_written_is_in_the_schema() -> None:
    """The dotted names of a full error document are all mapped by the index template (extra aside)."""
    doc = EcsFormatter(
        service_name="svc",
        service_version="1",
        environment="e",
        env_allowlist=["HOME"],
        context_provider=dict,
    ).to_document(
        make_record(
            "boom", level=logging.ERROR, exc_info=captured(ValueError("x")), extra={"event.duration": 5}
        )
    )

    def dotted(node: Mapping[str, Any], prefix: str = "") -> set[str]:
        names: set[str] = set()
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and name not in schema.FIELDS:
                names |= dotted(value, f"{name}.")
            else:
                names.add(name)
        return names

    assert dotted(doc) <= set(schema.FIELDS)


def test_error_fields_have_qualified_type_message_and_chained_trace() -> None:
    """An exception with a cause gives error.type module.Class, error.message and both tracebacks."""
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ConnectionError("db down") from exc
    except ConnectionError:
        info = sys.exc_info()
    doc = FORMATTER.to_document(make_record("query failed", level=logging.ERROR, exc_info=info))  # type: ignore[arg-type]
    assert doc["error"]["type"] == "builtins.ConnectionError"
    assert doc["error"]["message"] == "db down"
    trace = doc["error"]["stack_trace"]
    assert "KeyError: 'missing'" in trace
    assert "The above exception was the direct cause" in trace
    assert trace.rstrip().endswith("ConnectionError: db down")


def _port_of(api_token: str) -> int:
    return int(api_token)


def test_error_message_hides_a_value_its_trace_shows_passed_under_a_secret_name() -> None:
    """error.message, which shows no statement, hides the value its stack trace shows `int(api_token)` was
    given (a plain word, which no other field's secret would hide), as the stack trace does."""
    try:
        _port_of("correcthorsebattery")
    except ValueError:
        info = sys.exc_info()
    doc = FORMATTER.to_document(make_record("bad port", level=logging.ERROR, exc_info=info))  # type: ignore[arg-type]
    assert doc["error"]["message"] == f"invalid literal for int() with base 10: '{REDACTED}'"
    assert doc["error"]["stack_trace"].rstrip().endswith(f"ValueError: {doc['error']['message']}")


def test_user_defined_exception_type_is_module_qualified() -> None:
    """error.type names the defining module and the class's qualified name."""
    doc = FORMATTER.to_document(make_record("x", exc_info=captured(StrRaises())))
    assert doc["error"]["type"] == f"{__name__}.StrRaises"


def test_environment_details_only_on_error_events() -> None:
    """Errors carry python, platform, argv, allow-listed variables and context; info events do not."""
    formatter = EcsFormatter(
        service_name="svc", env_allowlist=["LOGLOOP_T_VISIBLE", "LOGLOOP_T_TOKEN", "LOGLOOP_T_UNSET"],
        context_provider=lambda: {"services": {"web": "running"}, "db_password": "pw"},
    )  # fmt: skip
    environ = {"LOGLOOP_T_VISIBLE": "yes", "LOGLOOP_T_TOKEN": "abc"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        info_doc = formatter.to_document(make_record("fine"))
        error_doc = formatter.to_document(make_record("bad", level=logging.ERROR))
    assert "env" not in info_doc.get("logloop", {})
    env = error_doc["logloop"]["env"]
    assert env["python"].startswith(".".join(map(str, sys.version_info[:2])))
    assert env["platform"] and isinstance(env["argv"], list)
    assert env["vars"] == {"LOGLOOP_T_VISIBLE": "yes", "LOGLOOP_T_TOKEN": REDACTED}
    assert error_doc["logloop"]["context"] == {"services": {"web": "running"}, "db_password": REDACTED}


def test_failing_context_provider_is_reported_inside_the_document() -> None:
    """A provider that raises does not break logging: the document says what failed."""

    def provider() -> Mapping[str, Any]:
        raise OSError("status file gone")

    doc = EcsFormatter(service_name="svc", context_provider=provider).to_document(
        make_record("x", level=logging.ERROR)
    )
    assert doc["logloop"]["context"] == {"provider_error": "builtins.OSError: status file gone"}


def test_context_provider_that_logs_an_error_does_not_recurse() -> None:
    """A provider that itself formats an error record is not called again from inside itself."""
    formatter = EcsFormatter(service_name="svc")
    inner: list[dict[str, Any]] = []

    def provider() -> Mapping[str, Any]:
        inner.append(formatter.to_document(make_record("provider trouble", level=logging.ERROR)))
        return {"ok": True}

    formatter.context_provider = provider
    doc = formatter.to_document(make_record("x", level=logging.ERROR))
    assert doc["logloop"]["context"] == {"ok": True}
    assert inner[0]["logloop"]["context"]["provider_error"].startswith("context provider re-entered")


def test_extras_are_json_safe_redacted_and_mapped() -> None:
    """User extras land under `extra`; timing attributes become event.action/duration; secrets are hidden."""
    aware = dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    record = make_record(
        "x",
        extra={
            "order": {"id": 7, "items": ["a", "b"]},
            "when": aware,
            "naive": dt.datetime(2026, 1, 2, 3, 4, 5),
            "request_id": uuid.UUID(int=1),
            "api_key": "k",
            "ratio": float("nan"),
            "event.action": "service.start",
            "event.duration": 1500000,
        },
    )
    doc = FORMATTER.to_document(record)
    assert doc["event"]["action"] == "service.start" and doc["event"]["duration"] == 1500000
    assert doc["extra"] == {
        "order": {"id": 7, "items": ["a", "b"]},
        "when": "2026-01-02T01:04:05.600000Z",
        "naive": "2026-01-02T03:04:05",
        "request_id": "00000000-0000-0000-0000-000000000001",
        "api_key": REDACTED,
        "ratio": "nan",
    }


@pytest.mark.parametrize(
    "duration",
    [
        pytest.param(-1, id="negative"),
        pytest.param(10**30, id="beyond-long"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(True, id="bool"),
        pytest.param("12", id="string"),
    ],
)
def test_unusable_duration_stays_in_extra(duration: object) -> None:
    """An event.duration the `long` field cannot hold is kept under `extra`, never mapped (no rejection)."""
    doc = FORMATTER.to_document(make_record("x", extra={"event.duration": duration}))
    assert "duration" not in doc["event"]
    assert "event.duration" in doc["extra"]


def test_message_and_trace_secrets_are_redacted() -> None:
    """Secrets in the message, the exception message and the stack trace never reach the document."""
    info = captured(ConnectionError("cannot reach https://bob:hunter2@db.local/x"))
    doc = FORMATTER.to_document(
        make_record("login with password=%s failed", "hunter2", level=logging.ERROR, exc_info=info)
    )
    assert "hunter2" not in json.dumps(doc)
    assert doc["message"] == f"login with password={REDACTED} failed"
    assert doc["error"]["message"] == f"cannot reach https://bob:{REDACTED}@db.local/x"


def test_failing_percent_format_keeps_template_and_arguments() -> None:
    """A `%` mismatch does not lose the event: the template, the arguments and the reason are kept."""
    doc = FORMATTER.to_document(make_record("%d items", "many"))
    assert doc["message"].startswith(
        "%d items % ('many',) [logloop: message formatting failed: builtins.TypeError"
    )


def test_argument_whose_str_raises_keeps_the_event() -> None:
    """A `%s` argument whose __str__ raises gives the template, the argument's repr and the reason."""
    doc = FORMATTER.to_document(make_record("value is %s", StrRaises("boom")))
    assert doc["message"] == (
        "value is %s % (StrRaises('boom'),) "
        "[logloop: message formatting failed: builtins.RuntimeError: __str__ is broken]"
    )


def test_broken_record_still_gives_a_document() -> None:
    """Even a record whose attributes are nonsense yields a small honest document instead of raising."""
    record = make_record("still here", level=logging.ERROR, exc_info=captured(ValueError("v")))
    record.levelname = None  # type: ignore[assignment]
    doc = FORMATTER.to_document(record)
    assert doc["message"] == "still here"
    assert doc["extra"]["logloop_formatter_error"].startswith("builtins.AttributeError")
    assert doc["error"] == {"type": "builtins.ValueError", "message": "v"}


@pytest.mark.parametrize(
    ("attribute", "value", "field"),
    [
        ("created", "not a number", "@timestamp"),
        ("created", float("nan"), "@timestamp"),
        ("created", float("inf"), "@timestamp"),
        ("created", 1e12, "@timestamp"),  # the year 33658
        ("created", -1e12, "@timestamp"),  # before the year 1
        ("created", True, "@timestamp"),
        ("lineno", "12", "log.origin.file.line"),
        ("lineno", 2**64, "log.origin.file.line"),
        ("lineno", 3.5, "log.origin.file.line"),
        ("process", "1234", "process.pid"),
        ("thread", [1], "process.thread.id"),
    ],
)
def test_attributes_no_field_can_hold_are_kept_apart(attribute: str, value: object, field: str) -> None:
    """A record attribute set to what its typed field cannot hold (a time no index takes, a line
    number that is text) leaves the field to a usable value (the time it was built at, the program's
    pid, or none) and
    its repr in `logloop.unusable`; the rest of the document, its error too, is whole."""
    record = make_record("still here", level=logging.ERROR, exc_info=captured(ValueError("v")))
    setattr(record, attribute, value)
    before = time.time()
    doc = FORMATTER.to_document(record)
    assert doc["logloop"]["unusable"] == {attribute: repr(value)}
    assert doc["error"]["type"] == "builtins.ValueError" and doc["error"]["stack_trace"]
    if field == "@timestamp":
        stamped = dt.datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).timestamp()
        assert before - 1 <= stamped <= time.time() + 1
    else:
        head, _, leaf = field.rpartition(".")
        holder = doc
        for part in head.split("."):
            holder = holder[part]
        assert holder[leaf] == (os.getpid() if field == "process.pid" else None)  # (the program's own pid)


def test_format_returns_the_json_text() -> None:
    """As a logging.Formatter it returns the document's compact JSON."""
    text = FORMATTER.format(make_record("hello"))
    assert json.loads(text)["message"] == "hello" and ", " not in text[:40]


def test_formatter_plugs_into_a_stdlib_handler(tmp_path: Any) -> None:
    """A FileHandler with EcsFormatter writes one JSON document per line."""
    path = tmp_path / "events.ndjson"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(EcsFormatter(service_name="file-svc"))
    logger = logging.getLogger("tests.formatter.file")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("disk %d%% full", 91)
    finally:
        logger.removeHandler(handler)
        handler.close()
    (line,) = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["message"] == "disk 91% full"


def test_formatter_is_expressible_in_dictconfig(tmp_path: Any) -> None:
    """`logging.config.dictConfig` builds EcsFormatter from plain keys and attaches it to a stdlib handler."""
    import logging.config

    path = tmp_path / "events.ndjson"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "ecs": {
                    "()": "shipper.formatter.EcsFormatter",
                    "service_name": "dict-svc",
                    "environment": "dev",
                }
            },
            "handlers": {"file": {"class": "logging.FileHandler", "filename": str(path), "formatter": "ecs"}},
            "loggers": {
                "tests.formatter.dictconfig": {"handlers": ["file"], "level": "INFO", "propagate": False}
            },
        }
    )
    logger = logging.getLogger("tests.formatter.dictconfig")
    try:
        logger.info("configured")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["service"] == {"name": "dict-svc", "environment": "dev"} and doc["message"] == "configured"


@pytest.mark.parametrize(
    ("doc", "check"),
    [
        pytest.param({"x": float("inf")}, lambda d: d["x"] == "inf", id="infinity"),
        pytest.param({"x": "\udcff"}, lambda d: d["x"] == "\\udcff", id="lone-surrogate"),
        pytest.param({"x": b"\xfe"}, lambda d: d["x"] == "\\xfe", id="bytes"),
        pytest.param({"x": ReprRaises()}, lambda d: d["x"].startswith("<unrepresentable"), id="repr-raises"),
        pytest.param({"x": "a" * (3 * 1024 * 1024)}, lambda d: len(d["x"]) < 300_000, id="oversized"),
        pytest.param(
            {"x": b"\xff" * (3 * 1024 * 1024)},
            lambda d: d["x"].endswith(f"[truncated by logloop: {3 * 1024 * 1024} bytes of binary data]"),
            id="oversized-bytes",
        ),
    ],
)
def test_dumps_never_raises_and_stays_bounded(doc: dict[str, Any], check: Any) -> None:
    """dumps() turns hostile documents into valid, bounded JSON."""
    data = dumps(doc)
    assert len(data) <= 2 * 1024 * 1024
    assert check(json.loads(data))


def test_dumps_breaks_cycles() -> None:
    """A document that contains itself serializes with a visible marker."""
    doc: dict[str, Any] = {"a": 1}
    doc["self"] = doc
    assert json.loads(dumps(doc)) == {"a": 1, "self": "[circular reference]"}


# --- bad input, indexed into the real node --------------------------------------------------------


@pytest.fixture
def index_doc(es: Any, index_prefix: str) -> Any:
    """Index a formatter document with create semantics through `_bulk`; return what a reader gets back."""
    install_template(es, index_prefix)

    def index(doc: dict[str, Any]) -> dict[str, Any]:
        event_id = uuid.uuid4().hex
        timestamp = dt.datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        index_name = schema.index_for(timestamp, index_prefix)
        action = json.dumps({"create": {"_index": index_name, "_id": event_id}}).encode()
        response = es.bulk(operations=action + b"\n" + dumps(doc) + b"\n", refresh=True)
        assert not response["errors"], response["items"]
        assert response["items"][0]["create"]["status"] == 201
        hits = es.search(index=f"{index_prefix}-events", query={"ids": {"values": [event_id]}})["hits"][
            "hits"
        ]
        assert len(hits) == 1
        source: dict[str, Any] = hits[0]["_source"]
        return source

    return index


@pytest.mark.es
def test_full_error_document_is_queryable_by_its_mapped_fields(
    index_doc: Any, es: Any, index_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error document with env, context, timing and extras is accepted and found by typed queries."""
    monkeypatch.setenv("LOGLOOP_T_REGION", "eu-1")
    formatter = EcsFormatter(
        service_name="svc", service_version="2.0", environment="prod", env_allowlist=["LOGLOOP_T_REGION"],
        context_provider=lambda: {"services": {"web": "running", "db": "crashed"}},
    )  # fmt: skip
    record = make_record(
        "start of %s failed",
        "db",
        level=logging.ERROR,
        exc_info=captured(ConnectionRefusedError(111, "Connection refused")),
        extra={"event.action": "service.start", "event.duration": 2_500_000, "attempt": 3},
    )
    index_doc(formatter.to_document(record))
    for query in (
        {"term": {"error.type": "builtins.ConnectionRefusedError"}},
        {"match": {"error.message": "refused"}},
        {"match": {"error.stack_trace": "ConnectionRefusedError"}},
        {"term": {"logloop.template": "start of %s failed"}},
        {"range": {"event.duration": {"gte": 2_000_000}}},
        {"term": {"event.action": "service.start"}},
        {"term": {"logloop.context.services.db": "crashed"}},
        {"term": {"logloop.env.vars.LOGLOOP_T_REGION": "eu-1"}},
        {"term": {"extra.attempt": "3"}},
        {"term": {"service.environment": "prod"}},
        {"term": {"log.origin.file.line": 42}},
        {"range": {"@timestamp": {"gte": "now-1h"}}},
    ):
        found = es.count(index=f"{index_prefix}-events", query=query)["count"]
        assert found == 1, query


@pytest.mark.es
def test_non_serializable_extras_are_indexed_as_reprs(index_doc: Any) -> None:
    """Objects, sets, functions and repr-raising objects in extras are accepted and read as text."""
    doc = FORMATTER.to_document(
        make_record("x", extra={"obj": NoJson(), "tags": {"b"}, "fn": len, "bad": ReprRaises()})
    )
    source = index_doc(doc)
    assert source["extra"]["obj"] == "<NoJson 7>"
    assert source["extra"]["tags"] == ["b"]
    assert source["extra"]["fn"] == "<built-in function len>"
    assert source["extra"]["bad"] == f"<unrepresentable {__name__}.ReprRaises>"


@pytest.mark.es
def test_bytes_are_indexed_as_escaped_text(index_doc: Any) -> None:
    """Bytes in extras and in message arguments are accepted; undecodable bytes read as \\xNN."""
    doc = FORMATTER.to_document(make_record("got %s", b"\xff\x00ok", extra={"payload": b"caf\xc3\xa9 \xff"}))
    source = index_doc(doc)
    assert source["message"] == "got b'\\xff\\x00ok'"
    assert source["extra"]["payload"] == "café \\xff"


@pytest.mark.es
def test_circular_references_are_indexed_with_a_marker(index_doc: Any) -> None:
    """A dict and a list that contain themselves are accepted; the cycle reads `[circular reference]`."""
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    items: list[Any] = [1]
    items.append(items)
    source = index_doc(FORMATTER.to_document(make_record("x", extra={"loop": loop, "items": items})))
    assert source["extra"]["loop"] == {"name": "loop", "self": "[circular reference]"}
    assert source["extra"]["items"] == [1, "[circular reference]"]


@pytest.mark.es
def test_ten_megabyte_message_is_truncated_with_its_size(index_doc: Any, es: Any, index_prefix: str) -> None:
    """A 10 MB message is accepted, cut to 256 KiB, and says how big it was; it is still searchable."""
    message = "start " + "x" * (10 * 1024 * 1024)
    source = index_doc(FORMATTER.to_document(make_record(message)))
    assert source["message"].startswith("start xxx")
    assert source["message"].endswith(f"…[truncated by logloop: {len(message)} bytes, kept {256 * 1024}]")
    assert len(source["message"].encode()) < 256 * 1024 + 100
    found = es.search(index=f"{index_prefix}-events", query={"match": {"message": "start"}})
    assert found["hits"]["total"]["value"] == 1


@pytest.mark.es
def test_lone_surrogates_are_indexed_as_visible_escapes(index_doc: Any) -> None:
    """Lone surrogates in the message and extras are accepted and read as `\\udXXX` escapes."""
    doc = FORMATTER.to_document(make_record("name=%s", "bad\ud800name", extra={"field": "\udcff"}))
    source = index_doc(doc)
    assert source["message"] == "name=bad\\ud800name"
    assert source["extra"]["field"] == "\\udcff"


@pytest.mark.es
def test_exception_whose_str_raises_is_indexed(index_doc: Any) -> None:
    """An exception whose __str__ raises still gives error.type, a placeholder message and its traceback."""
    source = index_doc(
        FORMATTER.to_document(make_record("x", level=logging.ERROR, exc_info=captured(StrRaises())))
    )
    assert source["error"]["type"] == f"{__name__}.StrRaises"
    assert source["error"]["message"] == "<exception str() failed: builtins.RuntimeError>"
    assert "StrRaises: <exception str() failed>" in source["error"]["stack_trace"]


@pytest.mark.es
def test_recursion_error_traceback_is_indexed_compactly(index_doc: Any) -> None:
    """A RecursionError's thousand-frame traceback is accepted, with the repeats collapsed."""
    info = captured_recursion()
    source = index_doc(FORMATTER.to_document(make_record("deep", level=logging.ERROR, exc_info=info)))
    assert source["error"]["type"] == "builtins.RecursionError"
    assert "maximum recursion depth exceeded" in source["error"]["message"]
    trace = source["error"]["stack_trace"]
    assert "in recurse" in trace and "more times]" in trace
    assert len(trace.encode()) <= 256 * 1024 + 200


@pytest.mark.es
def test_logging_at_the_bottom_of_a_recursion_is_indexed_in_full(index_doc: Any) -> None:
    """`logger.exception` at the innermost frame of a RecursionError still gives the full error document."""
    docs: list[dict[str, Any]] = []

    def down(depth: int) -> int:
        try:
            return down(depth + 1) + 1
        except RecursionError:
            if not docs:  # the innermost frame that can still run its handler
                docs.append(
                    FORMATTER.to_document(
                        make_record("too deep", level=logging.ERROR, exc_info=sys.exc_info())
                    )
                )  # type: ignore[arg-type]
            raise

    limit = sys.getrecursionlimit()
    with pytest.raises(RecursionError):
        down(0)
    assert sys.getrecursionlimit() == limit
    source = index_doc(docs[0])
    assert source["error"]["type"] == "builtins.RecursionError"
    assert "in down" in source["error"]["stack_trace"]
    assert "extra" not in source  # no formatter error: the document was built in full


@pytest.mark.es
def test_huge_stack_trace_keeps_its_head_and_tail(index_doc: Any) -> None:
    """A stack trace over 256 KiB is cut in the middle: the first frames and the final exception remain."""
    info = captured(ValueError("tail marker " + "y" * (600 * 1024)))
    source = index_doc(FORMATTER.to_document(make_record("big", level=logging.ERROR, exc_info=info)))
    trace = source["error"]["stack_trace"]
    assert trace.startswith("Traceback (most recent call last):")
    assert "[truncated by logloop:" in trace and trace.endswith("y\n")
    assert len(source["error"]["message"].encode()) < 33 * 1024


def captured_recursion() -> ExcInfo:
    try:
        recurse()
    except RecursionError:
        info = sys.exc_info()
    assert info[0] is not None and info[1] is not None
    return info[0], info[1], info[2]


# --- timed operations -----------------------------------------------------------------------------


class Collect(logging.Handler):
    """Keeps the ECS documents of every record it handles."""

    def __init__(self) -> None:
        super().__init__()
        self.docs: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.docs.append(FORMATTER.to_document(record))


@pytest.fixture
def timing_docs() -> Any:
    """Documents logged on the `tests.timing` logger during the test."""
    logger = logging.getLogger("tests.timing")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, handler.docs
    logger.removeHandler(handler)


def test_timed_block_logs_action_and_duration(timing_docs: Any) -> None:
    """A `with timed(...)` block logs one INFO document with event.action, a nanosecond event.duration and
    event.outcome success."""
    from shipper.timing import timed

    logger, docs = timing_docs
    with timed("service.start", logger=logger):
        sum(range(1000))
    (doc,) = docs
    assert doc["log"]["level"] == "info"
    assert doc["event"]["action"] == "service.start"
    assert isinstance(doc["event"]["duration"], int) and doc["event"]["duration"] > 0
    assert doc["event"]["outcome"] == "success"
    assert doc["message"].startswith("service.start took ")
    assert doc["log"]["origin"]["function"] == "test_timed_block_logs_action_and_duration"
    assert "extra" not in doc


def test_timed_failure_logs_the_error_and_reraises(timing_docs: Any) -> None:
    """A failing timed block logs an ERROR document with the exception, outcome failure, and re-raises it
    unchanged."""
    from shipper.timing import timed

    logger, docs = timing_docs
    with pytest.raises(TimeoutError, match="health check"), timed("health.web", logger=logger):
        raise TimeoutError("health check timed out")
    (doc,) = docs
    assert doc["log"]["level"] == "error"
    assert doc["event"]["action"] == "health.web" and doc["event"]["outcome"] == "failure"
    assert doc["error"]["type"] == "builtins.TimeoutError"
    assert doc["error"]["message"] == "health check timed out"


def test_timed_failure_without_exc_info_logs_at_its_level(timing_docs: Any) -> None:
    """With exc_info=False the failure is a plain record at the given level naming the exception, its
    outcome still failure (what the digest tells slow failures by)."""
    from shipper.timing import timed

    logger, docs = timing_docs
    with pytest.raises(ValueError), timed("parse", logger=logger, exc_info=False):
        raise ValueError("bad config")
    (doc,) = docs
    assert doc["log"]["level"] == "info" and "error" not in doc
    assert doc["message"].endswith("ValueError: bad config")
    assert doc["event"]["action"] == "parse" and doc["event"]["outcome"] == "failure"


def test_timed_decorator_times_every_call(timing_docs: Any) -> None:
    """As a decorator, each call is timed separately and the return value passes through."""
    from shipper.timing import timed

    logger, docs = timing_docs

    @timed("double", logger=logger)
    def double(x: int) -> int:
        return 2 * x

    assert [double(1), double(2)] == [2, 4]
    assert [doc["event"]["action"] for doc in docs] == ["double", "double"]
    assert docs[0]["log"]["origin"]["function"] == "test_timed_decorator_times_every_call"


def test_a_timed_coroutine_is_timed_until_it_finishes(timing_docs: Any) -> None:
    """A decorated coroutine function is timed over its whole await (not the call that makes the
    coroutine), its failure is a failure, and `async with timed(...)` times its block."""
    import asyncio

    from shipper.timing import timed

    logger, docs = timing_docs

    @timed("fetch", logger=logger)
    async def fetch(seconds: float, fail: bool = False) -> str:
        await asyncio.sleep(seconds)
        if fail:
            raise ConnectionError("peer gone")
        return "body"

    async def main() -> None:
        assert await fetch(0.05) == "body"
        with pytest.raises(ConnectionError):
            await fetch(0.0, fail=True)
        async with timed("batch", logger=logger):
            await asyncio.sleep(0.02)

    asyncio.run(main())
    assert [(d["event"]["action"], d["event"]["outcome"]) for d in docs] == [
        ("fetch", "success"),
        ("fetch", "failure"),
        ("batch", "success"),
    ]
    assert docs[0]["event"]["duration"] >= 50_000_000 and docs[2]["event"]["duration"] >= 20_000_000
    assert docs[1]["error"]["type"] == "builtins.ConnectionError"


def test_a_cancelled_coroutine_is_no_failure(timing_docs: Any) -> None:
    """A timed coroutine cancelled while it waits is logged at its level with outcome unknown, no
    traceback, and the cancellation goes on."""
    import asyncio

    from shipper.timing import timed

    logger, docs = timing_docs

    @timed("wait", logger=logger)
    async def wait() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(wait())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (doc,) = docs
    assert doc["event"]["outcome"] == "unknown" and doc["log"]["level"] == "info" and "error" not in doc
    assert doc["message"].startswith("wait cancelled after ")


def test_a_timed_generator_is_timed_over_its_iteration(timing_docs: Any) -> None:
    """A decorated generator function (sync or async) is timed from its first item to its end, its
    items and return value pass through; one its consumer stops reading is closed, outcome unknown."""
    import asyncio

    from shipper.timing import timed

    logger, docs = timing_docs

    @timed("rows", logger=logger)
    def rows(count: int) -> Any:
        for n in range(count):
            time.sleep(0.005)
            yield n
        return "done"

    def take_all() -> object:
        return (yield from rows(3))

    taken = take_all()
    assert [next(taken), next(taken), next(taken)] == [0, 1, 2]
    with pytest.raises(StopIteration) as stop:
        next(taken)
    assert stop.value.value == "done"
    first = rows(5)
    assert next(first) == 0
    first.close()

    @timed("pages", logger=logger)
    async def pages() -> Any:
        for n in range(2):
            await asyncio.sleep(0.005)
            yield n

    async def read() -> list[int]:
        return [page async for page in pages()]

    assert asyncio.run(read()) == [0, 1]
    assert [(d["event"]["action"], d["event"]["outcome"]) for d in docs] == [
        ("rows", "success"),
        ("rows", "unknown"),
        ("pages", "success"),
    ]
    assert docs[0]["event"]["duration"] >= 15_000_000 and docs[2]["event"]["duration"] >= 10_000_000


@pytest.mark.parametrize("outcome", ["success", "failure", "unknown"])
def test_an_ecs_outcome_in_extra_is_mapped(outcome: str) -> None:
    """A record's `event.outcome` of ECS's values is the document's event.outcome."""
    doc = FORMATTER.to_document(make_record("call", extra={"event.outcome": outcome}))
    assert doc["event"]["outcome"] == outcome and "extra" not in doc


@pytest.mark.parametrize("value", ["ok", "FAILURE", 1, None, ["failure"]])
def test_another_outcome_value_stays_in_extra(value: object) -> None:
    """Any other `event.outcome` is kept under extra, never mapped onto the keyword."""
    doc = FORMATTER.to_document(make_record("call", extra={"event.outcome": value}))
    assert "outcome" not in doc["event"] and doc["extra"]["event.outcome"] == value
