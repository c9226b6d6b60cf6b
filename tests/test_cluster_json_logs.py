"""`logloop cluster` on the JSON lines of other loggers (structlog's JSON renderer, loguru's
`serialize=True`, a python-json-logger layout, AWS Lambda's report): the traceback each line holds under
its own name is read, so one bug is one group, a sibling raised elsewhere another, and the title names
the exception."""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from logloop.cli import main
from shipper.grouping.json_logs import as_ecs


def _fail(value: int) -> None:
    raise ValueError(f"bad value {value}")


def _fail_elsewhere(value: int) -> None:
    raise ValueError(f"bad value {value}")


_CALLS = ((_fail, 3), (_fail, 41), (_fail_elsewhere, 3))


def _structlog_lines(dict_tracebacks: bool) -> list[str]:
    import structlog

    out = io.StringIO()
    exceptions = (
        structlog.processors.dict_tracebacks if dict_tracebacks else structlog.processors.format_exc_info
    )
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[structlog.processors.add_log_level, exceptions, structlog.processors.JSONRenderer()],
    )
    for function, value in _CALLS:
        try:
            function(value)
        except ValueError:
            logger.exception("save failed")
    return out.getvalue().splitlines()


def _loguru_lines() -> list[str]:
    from loguru import logger

    out = io.StringIO()
    sink = logger.add(out, serialize=True, backtrace=False, diagnose=False, colorize=False)
    try:
        for function, value in _CALLS:
            try:
                function(value)
            except ValueError:
                logger.exception("save failed")
    finally:
        logger.remove(sink)
    return out.getvalue().splitlines()


class _JsonLoggerLayout(logging.Formatter):
    """python-json-logger's default layout: the record's attributes, the traceback as `exc_info`."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"levelname": record.levelname, "name": record.name, "message": record.getMessage()}
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line)


def _json_logger_lines() -> list[str]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(_JsonLoggerLayout())
    logger = logging.getLogger("shop.jsonlines")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for function, value in _CALLS:
            try:
                function(value)
            except ValueError:
                logger.exception("save failed")
    finally:
        logger.removeHandler(handler)
    return out.getvalue().splitlines()


def _lambda_lines() -> list[str]:
    """What AWS Lambda's Python runtime writes for a handler's uncaught exception (its
    `bootstrap.py` builds it the same way from the exception)."""
    lines = []
    for function, value in _CALLS:
        try:
            function(value)
        except ValueError as exc:
            frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
            report = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": "r",
                "stackTrace": frames,
            }
            lines.append(json.dumps(report))
    return lines


def _report_lines(report: Callable[[ValueError, str], dict[str, object]]) -> list[str]:
    """The lines of a layout `report` makes of each failure and its formatted traceback."""
    lines = []
    for function, value in _CALLS:
        try:
            function(value)
        except ValueError as exc:
            lines.append(json.dumps(report(exc, "".join(traceback.format_exception(exc)))))
    return lines


def _datadog_flat(exc: ValueError, stack: str) -> dict[str, object]:
    """Datadog's standard attributes for an error, as a formatter writes them with dotted names."""
    return {
        "status": "error",
        "logger.name": "shop.orders",
        "message": "save failed",
        "error.kind": type(exc).__name__,
        "error.message": str(exc),
        "error.stack": stack,
    }


def _datadog_nested(exc: ValueError, stack: str) -> dict[str, object]:
    """Datadog's standard attributes for an error, nested (`error` is an object)."""
    error = {"kind": type(exc).__name__, "message": str(exc), "stack": stack}
    return {"status": "error", "logger": {"name": "shop.orders"}, "message": "save failed", "error": error}


def _opentelemetry(exc: ValueError, stack: str) -> dict[str, object]:
    """OpenTelemetry's `LoggingHandler` record as its console exporter writes it on one line: the
    traceback in the `exception.*` attributes of its semantic conventions, the message as `body`."""
    attributes = {
        "code.function": "save",
        "exception.type": type(exc).__name__,
        "exception.message": str(exc),
        "exception.stacktrace": stack,
    }
    return {
        "body": "save failed",
        "severity_number": 17,
        "severity_text": "ERROR",
        "attributes": attributes,
        "resource": {"attributes": {"service.name": "shop"}, "schema_url": ""},
    }


def _opentelemetry_flat(exc: ValueError, stack: str) -> dict[str, object]:
    """OpenTelemetry's attributes written at the top level (a JSON formatter's flattening)."""
    return {
        "body": "save failed",
        "severity_text": "ERROR",
        "exception.type": type(exc).__name__,
        "exception.stacktrace": stack,
    }


def _err_key(exc: ValueError, stack: str) -> dict[str, object]:
    """A hand-written formatter's layout: `"err": self.formatException(record.exc_info)`."""
    return {"level": "ERROR", "name": "shop.orders", "message": "save failed", "err": stack}


def _error_keyword(exc: ValueError, stack: str) -> dict[str, object]:
    """structlog's JSON renderer of `log.error("save failed", error=traceback.format_exc())`."""
    return {"event": "save failed", "error": stack, "level": "error", "timestamp": "2026-12-05T10:00:00Z"}


def _error_keyword_with_ecs_level(exc: ValueError, stack: str) -> dict[str, object]:
    """A layout with ECS's `log.level` but the traceback as the text of `error` (ECS's is an object)."""
    return {"log.level": "error", "message": "save failed", "error": stack}


def _exc_lines(exc: ValueError, stack: str) -> dict[str, object]:
    """A formatter writing `traceback.format_exception`'s list under `exc`."""
    return {"levelname": "ERROR", "msg": "save failed", "exc": traceback.format_exception(exc)}


def _pino_err_object(exc: ValueError, stack: str) -> dict[str, object]:
    """pino's layout of an error (`err`: its type, message and stack), as a Python port writes it."""
    return {
        "level": 50,
        "msg": "save failed",
        "err": {"type": "ValueError", "message": str(exc), "stack": stack},
    }


def _journal(exc: ValueError, stack: str) -> dict[str, object]:
    """`journalctl -o json`'s line for a record python-systemd's `JournalHandler` sent (its fields as that
    handler names them, the journal's own beside them; no journal runs here: written as it writes one)."""
    return {
        "__REALTIME_TIMESTAMP": "1764928800000000",
        "_PID": "2231",
        "_COMM": "python3",
        "SYSLOG_IDENTIFIER": "backup.py",
        "PRIORITY": "3",
        "MESSAGE": "save failed\n" + stack.rstrip("\n"),
        "LOGGER": "shop.orders",
        "CODE_FUNC": "save",
        "EXCEPTION_TEXT": stack.rstrip("\n"),
    }


def _top_level(name: str) -> Callable[[ValueError, str], dict[str, object]]:
    """A formatter writing the traceback at the top level under `name` (`stack`, `trace`,
    `backtrace`: a JavaScript habit, Rails', a hand-written `JSONFormatter`'s)."""
    return lambda exc, stack: {
        "time": "2026-12-05T10:00:00Z",
        "level": "ERROR",
        "msg": "save failed",
        name: stack,
    }


LOGGERS: dict[str, Callable[[], list[str]]] = {
    "structlog, format_exc_info": lambda: _structlog_lines(False),
    "structlog, dict_tracebacks": lambda: _structlog_lines(True),
    "loguru, serialize": _loguru_lines,
    "python-json-logger layout": _json_logger_lines,
    "AWS Lambda's uncaught exception": _lambda_lines,
    "Datadog's error.stack, dotted": lambda: _report_lines(_datadog_flat),
    "Datadog's error.stack, nested": lambda: _report_lines(_datadog_nested),
    "OpenTelemetry's exception.stacktrace attribute": lambda: _report_lines(_opentelemetry),
    "OpenTelemetry's exception.stacktrace, flat": lambda: _report_lines(_opentelemetry_flat),
    "a formatter's err": lambda: _report_lines(_err_key),
    "structlog's error= keyword": lambda: _report_lines(_error_keyword),
    "error text beside log.level": lambda: _report_lines(_error_keyword_with_ecs_level),
    "a formatter's exc, a list of lines": lambda: _report_lines(_exc_lines),
    "pino's err object": lambda: _report_lines(_pino_err_object),
    "a top-level stack": lambda: _report_lines(_top_level("stack")),
    "a top-level trace": lambda: _report_lines(_top_level("trace")),
    "a top-level backtrace": lambda: _report_lines(_top_level("backtrace")),
    "journalctl -o json, JournalHandler's record": lambda: _report_lines(_journal),
}


def _cluster(tmp_path: Path, lines: list[str], *options: str) -> list[dict[str, object]]:
    source = tmp_path / "in.log"
    source.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["cluster", *options, str(source), "-o", str(out)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("logger", LOGGERS)
def test_a_json_loggers_tracebacks_are_grouped_by_their_bug(tmp_path: Path, logger: str) -> None:
    """One bug with other values is one group, the same exception from another function another, and
    each is titled by its exception with its culprit."""
    rows = _cluster(tmp_path, LOGGERS[logger]())
    assert [row["category"] for row in rows] == ["traceback"] * 3
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"]
    assert str(rows[0]["title"]).startswith("ValueError: bad value <NUM> (") and "_fail)" in str(
        rows[0]["title"]
    )


@pytest.mark.parametrize("logger", LOGGERS)
def test_a_json_loggers_lines_among_a_text_log_are_read_as_events(tmp_path: Path, logger: str) -> None:
    """`--text`: a JSON line among stamped lines is an event of its own, its traceback read."""
    lines = LOGGERS[logger]()
    text = ["2026-12-04 10:00:00,000 INFO app: started", *lines, "2026-12-04 10:00:09,000 INFO app: done"]
    rows = _cluster(tmp_path, text, "--text")
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["category"] for row in rows] == ["message", "traceback", "traceback", "traceback", "message"]
    assert rows[1]["cluster"] == rows[2]["cluster"] != rows[3]["cluster"]


def test_a_loguru_line_without_an_exception_is_grouped_by_its_message(tmp_path: Path) -> None:
    """loguru's serialized lines with no traceback group by the record's message (each error line of a
    program was one group titled "(empty message)": the nested `record.message` was never read)."""
    from loguru import logger

    out = io.StringIO()
    sink = logger.add(out, serialize=True, colorize=False)
    try:
        for value in ("a", "b"):
            logger.error("disk full on /dev/sd{}", value)
            logger.error("payment declined for order {}", len(value) * 7)
    finally:
        logger.remove(sink)
    rows = _cluster(tmp_path, out.getvalue().splitlines())
    assert [row["category"] for row in rows] == ["message"] * 4
    assert rows[0]["cluster"] == rows[2]["cluster"] != rows[1]["cluster"] == rows[3]["cluster"]
    assert rows[1]["title"] == "payment declined for order <NUM>"


def test_journal_entries_without_a_traceback_are_grouped_by_their_message(tmp_path: Path) -> None:
    """`journalctl -o json`'s lines of a service's messages (`MESSAGE`, the journal's fields beside it)
    are grouped by their message (each was an empty message: every line of the journal one group)."""
    lines = [
        json.dumps({"MESSAGE": f"backup started for /srv/{name}", "PRIORITY": "6", "_PID": "12"})
        for name in ("a", "b")
    ] + [json.dumps({"MESSAGE": "disk full on /dev/sda1", "PRIORITY": "3", "_PID": "12"})]
    rows = _cluster(tmp_path, lines)
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"], rows
    assert rows[2]["title"] == "disk full on <PATH>", rows


def test_an_ecs_event_is_read_as_it_is() -> None:
    """A document with ECS fields is returned itself: no alias fills or overrides anything."""
    doc = {"message": "m", "log": {"level": "error"}, "exception": "Traceback (most recent call last):\n x"}
    assert as_ecs(doc) is doc


def test_a_name_without_levelname_is_no_logger() -> None:
    """`name` counts as the logger only beside `levelname` (python-json-logger's pair), not any field."""
    assert as_ecs({"msg": "user created", "name": "alice"}) == {
        "msg": "user created",
        "name": "alice",
        "message": "user created",
    }


def test_an_ecs_error_with_its_own_stack_trace_keeps_it() -> None:
    """An ECS `error.stack_trace` wins over Datadog's `error.stack` beside it: nothing is overridden."""
    doc = {"error": {"stack_trace": "Traceback (most recent call last):\n a", "stack": "b\nc"}}
    assert as_ecs(doc) is doc


def test_a_body_without_a_severity_is_no_message() -> None:
    """`body` is OpenTelemetry's message only beside its `severity_text`: an HTTP log's request body is
    not taken for a message (each request's body would be a group)."""
    assert "message" not in as_ecs({"status": 500, "path": "/orders", "body": '{"qty": 3}'})
    assert as_ecs({"severity_text": "ERROR", "body": "save failed"})["message"] == "save failed"


@pytest.mark.parametrize("name", ["err", "error", "exc", "stack", "trace"])
@pytest.mark.parametrize("level", ["level", "log.level"])
def test_a_generic_name_holding_a_sentence_is_no_traceback(name: str, level: str) -> None:
    """`err`/`error`/`exc` holding text without a frame line (a sentence, even of several lines) is not
    taken for a traceback: the event keeps no `error.stack_trace`."""
    for text in ("timed out", "connection refused\nretrying in 5 s", "File not found: /etc/x\nagain"):
        doc = {level: "error", "message": "sync failed", name: text}
        assert "error.stack_trace" not in as_ecs(doc)


def test_the_document_itself_is_left_unchanged() -> None:
    """The fields are added to a copy: the caller's document keeps its keys."""
    doc = {"event": "failed", "level": "error"}
    assert as_ecs(doc) == {"event": "failed", "level": "error", "message": "failed", "log.level": "error"}
    assert doc == {"event": "failed", "level": "error"}


_LIBRARY_RAISE = """Traceback (most recent call last):
  File "{app}/shop/{module}.py", line 12, in {function}
    response.raise_for_status()
  File "{packages}/requests/models.py", line 1024, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 404 Client Error: Not Found for url: http://partner/x
"""


def _datadog_with_logger(module: str, function: str, app: str, nested: bool) -> str:
    """A Datadog layout of a library's raise called by the program: its logger as `logger.name`."""
    packages = f"{app}/.venv/lib/python3.11/site-packages"
    stack = _LIBRARY_RAISE.format(app=app, packages=packages, module=module, function=function)
    if nested:
        doc: dict[str, object] = {
            "logger": {"name": f"shop.{module}"},
            "error": {"kind": "HTTPError", "stack": stack},
        }
    else:
        doc = {
            "status": "error",
            "logger.name": f"shop.{module}",
            "error.kind": "HTTPError",
            "error.stack": stack,
        }
    return json.dumps({"message": "sync failed", **doc})


@pytest.mark.parametrize("nested", [pytest.param(True, id="nested"), pytest.param(False, id="dotted")])
def test_datadogs_logger_name_marks_the_programs_frames(tmp_path: Path, nested: bool) -> None:
    """Datadog's `logger.name` names the program's package as ECS's `log.logger` does: a library's raise
    is keyed by the program's calling statement (two features, two groups; one feature on two hosts,
    one group), as it is for an ECS event."""
    lines = [
        _datadog_with_logger("rates", "fetch_rates", "/srv/app", nested),
        _datadog_with_logger("rates", "fetch_rates", "/home/ci/app", nested),
        _datadog_with_logger("orders", "push_order", "/srv/app", nested),
    ]
    rows = _cluster(tmp_path, lines)
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"]
    assert str(rows[0]["title"]).endswith("(rates.fetch_rates)")
