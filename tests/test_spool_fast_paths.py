"""The shortcuts on the delivery path give the same bytes and rows as the plain way."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from shipper import spool as spool_module
from shipper.formatter import EcsFormatter, dumps, dumps_with
from shipper.spool import NewEvent, Spool, SpooledEvent
from shipper.transports.elasticsearch import _ndjson
from shipper.worker import Inbox


def _record(level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("app.orders", level, "/srv/app.py", 7, "order %s done", ("o-1",), None)
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(_record(), id="plain-info"),
        pytest.param(_record(threadName='wörker "1"\n'), id="thread-name-needing-escapes"),
        pytest.param(_record(thread=None, threadName="MainThread"), id="no-thread-id"),
        pytest.param(_record(process=None), id="no-pid"),
        pytest.param(_record(logging.WARNING, msg="password=hunter2 %s"), id="redacted-template"),
    ],
)
def test_lean_document_serializes_to_the_full_document(record: logging.LogRecord) -> None:
    """dumps_with(*lean_document(c)) is the same JSON document as dumps(document(c)), split or not."""
    formatter = EcsFormatter(service_name="billing", service_version="1.2", environment="prod")
    captured = formatter.capture(record)
    doc, rest = formatter.lean_document(captured)
    assert rest.startswith(b',"ecs":')
    assert json.loads(dumps_with(doc, rest)) == json.loads(dumps(formatter.document(captured)))


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(_record(logging.ERROR), id="error-level"),
        pytest.param(_record(customer="c-42"), id="extras"),
        pytest.param(_record(stack_info="Stack (most recent call last):"), id="stack-info"),
        pytest.param(_record(exc_text="Traceback ..."), id="exception-text"),
    ],
)
def test_lean_document_keeps_uncommon_events_whole(record: logging.LogRecord) -> None:
    """Events other than a plain message below ERROR come back as the whole document, with no rest."""
    formatter = EcsFormatter(service_name="billing")
    captured = formatter.capture(record)
    doc, rest = formatter.lean_document(captured)
    assert rest == b""
    assert doc == formatter.document(captured)


def test_lean_document_follows_a_changed_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The constant part is made again when the program changes sys.argv or the service name."""
    formatter = EcsFormatter(service_name="billing")
    captured = formatter.capture(_record())
    monkeypatch.setattr(sys, "argv", ["first.py"])
    first = json.loads(dumps_with(*formatter.lean_document(captured)))
    monkeypatch.setattr(sys, "argv", ["second.py", "--flag"])
    formatter.service_name = "payments"
    second = json.loads(dumps_with(*formatter.lean_document(captured)))
    assert (first["process"]["args"], first["service"]["name"]) == (["first.py"], "billing")
    assert (second["process"]["args"], second["service"]["name"]) == (["second.py", "--flag"], "payments")


def test_deleting_a_batch_spares_other_owners_rows_in_between(tmp_path: Path) -> None:
    """Rows are deleted by runs of consecutive ids: rows of another owner between them stay."""
    ours = Spool(tmp_path / "s.sqlite", owner=1)
    theirs = Spool(tmp_path / "s.sqlite", owner=2)
    for n in range(3):
        ours.put([NewEvent(f"a{n}", "i", b"{}"), NewEvent(f"b{n}", "i", b"{}")])
        theirs.put([NewEvent(f"x{n}", "i", b"{}")])
    batch = ours.take(10, 1 << 20)
    ours.delete([event.row_id for event in batch])
    assert len(ours.take(10, 1 << 20)) == 0
    assert [event.event_id for event in theirs.take(10, 1 << 20)] == ["x0", "x1", "x2"]


def test_two_threads_use_spools_at_once() -> None:
    """The fork guard lets the drainer and the sender work at the same time (it excludes only fork)."""
    inside = threading.Barrier(2, timeout=30)
    met: list[bool] = []

    def hold() -> None:
        with spool_module._fork_guard:
            inside.wait()  # raises BrokenBarrierError if the other thread cannot get in meanwhile
            met.append(True)

    other = threading.Thread(target=hold)
    other.start()
    hold()
    other.join()
    assert met == [True, True]


def test_bulk_body_escapes_ids_and_indices_that_need_it() -> None:
    """The NDJSON body has one create line per document; odd ids and index names are JSON-escaped."""
    batch = [
        SpooledEvent(1, "0190abcdef", "logloop-2026.01.01", b'{"m":1}'),
        SpooledEvent(2, 'id "quoted"', "logloop-2026.01.01", b'{"m":2}'),
        SpooledEvent(3, "plain", 'weird\\"index', b'{"m":3}'),
    ]
    lines = _ndjson(batch).split(b"\n")
    assert lines[-1] == b""
    assert [json.loads(line) for line in lines[:-1]] == [
        {"create": {"_index": "logloop-2026.01.01", "_id": "0190abcdef"}},
        {"m": 1},
        {"create": {"_index": "logloop-2026.01.01", "_id": 'id "quoted"'}},
        {"m": 2},
        {"create": {"_index": 'weird\\"index', "_id": "plain"}},
        {"m": 3},
    ]


def test_a_flush_marker_cuts_the_drainers_lingering_short() -> None:
    """Lingering to fill a batch ends when a flush marker is queued (it would last 5 minutes otherwise)."""
    inbox = Inbox(10)
    inbox.put("event")
    inbox.take(10)
    marker = threading.Event()
    timer = threading.Timer(0.05, inbox.put_control, args=(marker,))
    timer.start()
    inbox.linger(300)
    timer.join()
    assert inbox.take(10) == [marker]


def test_a_subclass_building_its_own_documents_is_never_split() -> None:
    """A formatter subclass that overrides document() gets its own document from lean_document()."""

    class Tagged(EcsFormatter):
        def document(self, captured: Any) -> dict[str, Any]:
            return {**super().document(captured), "labels": {"team": "payments"}}

    formatter = Tagged(service_name="billing")
    doc, rest = formatter.lean_document(formatter.capture(_record()))
    assert (doc["labels"], rest) == ({"team": "payments"}, b"")
