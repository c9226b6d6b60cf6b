"""What `emit()` captures on the caller's thread, and what it must not keep: the message is formatted
at emit time, tracebacks are summarised without their frames, and the worker finishes the document."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import traceback
import weakref
from pathlib import Path
from typing import Any

import pytest
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.formatter import EcsFormatter
from shipper.handler import ShipperHandler
from shipper.worker import Inbox

FORMATTER = EcsFormatter(service_name="svc")


class Marker:
    """A frame local whose lifetime the tests watch through a weak reference."""


class Mutable:
    """An argument whose text changes when it is changed."""

    def __init__(self, state: str) -> None:
        self.state = state

    def __str__(self) -> str:
        return f"state={self.state}"


class StrRaises:
    """An argument whose __str__ raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


def _record(msg: object, *args: object, level: int = logging.INFO, exc_info: Any = None) -> logging.LogRecord:
    logger = logging.getLogger("tests.capture")
    return logger.makeRecord(logger.name, level, __file__, 7, msg, args, exc_info, func="caller")


def _fail_with_local(refs: list[weakref.ref[Marker]]) -> None:
    local = Marker()
    refs.append(weakref.ref(local))
    raise ValueError("boom")


def _chained_error() -> tuple[Any, Any, Any]:
    try:
        try:
            {}["missing"]
        except KeyError as inner:
            error = ValueError("bad value")
            error.add_note("first note")
            raise error from inner
    except ValueError:
        return sys.exc_info()
    raise AssertionError("unreachable")


def test_message_is_formatted_when_captured() -> None:
    """A mutable argument changed after capture() does not change the document's message."""
    argument = Mutable("before")
    captured = FORMATTER.capture(_record("object %s", argument))
    argument.state = "after"
    doc = FORMATTER.document(captured)
    assert doc["message"] == "object state=before"
    assert doc["logloop"]["template"] == "object %s"
    assert captured.attributes["args"] is None


def test_unprintable_argument_gives_a_safe_message() -> None:
    """An argument whose __str__ raises is captured as the template, its reprs and the reason."""
    doc = FORMATTER.document(FORMATTER.capture(_record("value %s", StrRaises())))
    assert doc["message"].startswith("value %s % (")
    assert "message formatting failed: builtins.RuntimeError" in doc["message"]


def test_to_document_is_document_of_capture() -> None:
    """to_document(record) gives the same document as document(capture(record)), error fields included."""
    record = _record("failed %d", 3, level=logging.ERROR, exc_info=_chained_error())
    whole = FORMATTER.to_document(record)
    split = FORMATTER.document(FORMATTER.capture(record))
    for doc in (whole, split):
        doc.pop("@timestamp")
    assert whole == split


def test_stack_trace_is_format_exception_text() -> None:
    """The trace rendered later is exactly traceback.format_exception's text, chain and notes included."""
    info = _chained_error()
    doc = FORMATTER.document(FORMATTER.capture(_record("x", level=logging.ERROR, exc_info=info)))
    assert doc["error"]["stack_trace"] == "".join(traceback.format_exception(*info))
    assert "first note" in doc["error"]["stack_trace"] and "KeyError" in doc["error"]["stack_trace"]


def _recursion() -> int:
    return _recursion() + 1


def _multi_line_call() -> None:
    values = {"a": 1}
    print(
        values["a"],
        values["missing"],
    )


def _group() -> None:
    raise ExceptionGroup("several", [ValueError("one"), TypeError("two")])


def _caught(failing: Any) -> tuple[Any, Any, Any]:
    try:
        failing()
    except BaseException:
        return sys.exc_info()
    raise AssertionError("did not fail")


@pytest.mark.parametrize(
    ("failing", "limit"),
    [
        pytest.param(_recursion, None, id="recursion"),
        pytest.param(_multi_line_call, None, id="multi-line-expression"),
        pytest.param(_group, None, id="exception-group"),
        pytest.param(_chained_error, 2, id="sys-tracebacklimit"),
    ],
)
def test_trace_matches_format_exception(
    failing: Any, limit: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the shape of the traceback, the shipped text is the one traceback.format_exception prints."""
    if limit is not None:
        monkeypatch.setattr(sys, "tracebacklimit", limit, raising=False)
    info = _caught(failing) if failing is not _chained_error else _chained_error()
    doc = FORMATTER.document(FORMATTER.capture(_record("x", level=logging.ERROR, exc_info=info)))
    expected = "".join(traceback.format_exception(*info))
    assert doc["error"]["stack_trace"] == expected


def test_notes_added_after_capture_are_not_shipped() -> None:
    """An exception note added once the event was captured does not appear in its stack trace."""
    info = _chained_error()
    captured = FORMATTER.capture(_record("x", level=logging.ERROR, exc_info=info))
    info[1].add_note("added later")
    trace = FORMATTER.document(captured)["error"]["stack_trace"]
    assert "first note" in trace and "added later" not in trace


def test_capture_keeps_no_frame_alive() -> None:
    """Once captured (and the exception gone), a local of the failing frame is garbage."""
    refs: list[weakref.ref[Marker]] = []
    try:
        _fail_with_local(refs)
    except ValueError:
        captured = FORMATTER.capture(_record("x", level=logging.ERROR, exc_info=sys.exc_info()))
    gc.collect()
    assert refs[0]() is None
    assert "in _fail_with_local" in FORMATTER.document(captured)["error"]["stack_trace"]


def test_context_is_read_when_captured() -> None:
    """For an error event the context provider is asked at capture time; later changes are not shipped."""
    state = {"web": "failing"}
    formatter = EcsFormatter(service_name="svc", context_provider=lambda: state)
    captured = formatter.capture(_record("x", level=logging.ERROR))
    state["web"] = "recovered"
    assert formatter.document(captured)["logloop"]["context"] == {"web": "failing"}


def test_inbox_refuses_past_its_bound_but_keeps_control_items() -> None:
    """A full inbox refuses events (the handler then spools or drops them) but still takes flush markers."""
    inbox = Inbox(2)
    marker = threading.Event()
    assert [inbox.put("a"), inbox.put("b"), inbox.put("c")] == [True, True, False]
    inbox.put_control(marker)
    assert inbox.take(10) == ["a", "b", marker]
    assert not inbox


def test_inbox_wakes_a_sleeping_drainer() -> None:
    """A put() from another thread wakes a drainer asleep on the inbox, long before its 60 s timeout."""
    inbox = Inbox(10)
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(inbox.wait(60)))
    waiter.start()
    while not inbox._sleeping:  # asleep (or about to be): the put below must wake it
        time.sleep(0.001)
    assert inbox.put("event")
    waiter.join(30)
    assert woke == [True]
    assert inbox.take(10) == ["event"]


# --- through the real handler into the real node -------------------------------------------------------


def _handler(es: Any, es_url: str, prefix: str, tmp_path: Path, **kwargs: Any) -> ShipperHandler:
    install_template(es, prefix)
    options: dict[str, Any] = {"retry_max_delay": 0.5, "close_timeout": 5.0, **kwargs}
    return ShipperHandler(
        "capture-test", es_url=es_url, index_prefix=prefix, spool_path=tmp_path / "s", **options
    )


def _shipped(es: Any, prefix: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{prefix}-*")
    query = {"term": {"log.logger": "tests.capture.shipped"}}
    hits = es.search(index=f"{prefix}-*", query=query, sort=["event.id"], size=100)["hits"]["hits"]
    return [hit["_source"] for hit in hits]


@pytest.mark.es
def test_shipped_message_and_trace_are_those_of_emit_time(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """With the drainer lingering, an argument changed right after logger.info still ships the original
    message, and the queued error event keeps no frame of the failing call alive."""
    handler = _handler(es, es_url, index_prefix, tmp_path, flush_interval=2.0)
    logger = logger_only_to("tests.capture.shipped", handler)
    argument = Mutable("at emit")
    logger.info("object %s", argument)
    argument.state = "changed later"
    refs: list[weakref.ref[Marker]] = []
    try:
        _fail_with_local(refs)
    except ValueError:
        logger.exception("it failed")
    gc.collect()
    assert handler.stats().spooled == 0  # both events are still in the memory queue...
    assert refs[0]() is None  # ...and the error's frames are already gone
    assert handler.wait_delivered(60)
    handler.close()
    docs = _shipped(es, index_prefix)
    assert [d["message"] for d in docs] == ["object state=at emit", "it failed"]
    assert "in _fail_with_local" in docs[1]["error"]["stack_trace"]
    assert docs[1]["error"]["grouping_key"]


@pytest.mark.es
def test_queue_overflow_builds_on_the_caller_and_loses_nothing(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """With a queue of 2 and the drainer lingering, the overflowing events are built and spooled on the
    caller's thread; all of them arrive once, in order."""
    handler = _handler(es, es_url, index_prefix, tmp_path, queue_size=2, flush_interval=2.0)
    logger = logger_only_to("tests.capture.shipped", handler)
    for i in range(6):
        logger.warning("event %d", i)
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    docs = _shipped(es, index_prefix)
    assert sorted(d["message"] for d in docs) == [f"event {i}" for i in range(6)]
    assert stats.queued == 6 and stats.dropped == 0


class WholeDocumentFormatter:
    """A formatter with only to_document(): the handler must build documents on the caller with it."""

    def to_document(self, record: logging.LogRecord) -> dict[str, Any]:
        doc = FORMATTER.to_document(record)
        doc["extra"] = {"built_by": "custom"}
        return doc


@pytest.mark.es
def test_formatter_without_capture_still_ships(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A formatter that only has to_document() is used whole; its documents arrive as it built them."""
    handler = _handler(es, es_url, index_prefix, tmp_path, formatter=WholeDocumentFormatter())
    logger_only_to("tests.capture.shipped", handler).info("custom formatter")
    assert handler.wait_delivered(60)
    handler.close()
    docs = _shipped(es, index_prefix)
    assert [(d["message"], d["extra"]["built_by"]) for d in docs] == [("custom formatter", "custom")]
