"""The spool's segments: documents kept as `_bulk` lines, many to a row, without changing what the
spool promises (order, exactly what was acknowledged is forgotten, old spool files still delivered)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

from shipper.formatter import EcsFormatter, dumps_with, lean_json
from shipper.spool import SEGMENT_EVENTS, NewEvent, Spool
from shipper.transports.elasticsearch import _ndjson
from shipper.worker import encode, event_ids


def _events(n: int, start: int = 0) -> list[NewEvent]:
    return [
        NewEvent(f"id{i}", "logloop-2026.01.01", json.dumps({"n": i}).encode())
        for i in range(start, start + n)
    ]


def test_a_batch_carries_the_bulk_body_of_its_documents(tmp_path: Path) -> None:
    """take() hands over the spool's bytes as the `_bulk` body: the same body as built per document."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(_events(3))
    spool.put(_events(2, start=3))
    batch = spool.take(10, 1 << 20)
    assert batch.ndjson == _ndjson(batch.events())
    assert [json.loads(event.body)["n"] for event in batch] == [0, 1, 2, 3, 4]


def test_a_large_put_is_cut_into_segments_and_taken_in_order(tmp_path: Path) -> None:
    """More documents than a segment holds come back whole, in order, over several takes."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(_events(SEGMENT_EVENTS * 2 + 5))
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT count(*) FROM segments").fetchone() == (3,)
    seen: list[int] = []
    while batch := spool.take(700, 1 << 30):
        seen.extend(json.loads(event.body)["n"] for event in batch)
        spool.delete(batch.row_ids())
    assert seen == list(range(SEGMENT_EVENTS * 2 + 5))
    assert spool.backlog() == 0


def test_a_partly_acknowledged_segment_keeps_the_rest_and_old_ids_match_nothing(tmp_path: Path) -> None:
    """Deleting some documents of a segment keeps the others; deleting by the old ids again (a second
    sender of the same process, say) never removes a document that was not acknowledged."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put(_events(5))
    first = spool.take(10, 1 << 20)
    acknowledged = [first[0].row_id, first[1].row_id, first[3].row_id]
    spool.delete(acknowledged)
    assert [event.event_id for event in spool.take(10, 1 << 20)] == ["id2", "id4"]
    spool.delete(first.row_ids())  # stale: the segment was rewritten under new ids
    assert [event.event_id for event in spool.take(10, 1 << 20)] == ["id2", "id4"]


def test_a_document_with_a_raw_newline_stays_one_document(tmp_path: Path) -> None:
    """A newline between JSON tokens would split a `_bulk` line: it is stored as a space instead."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put([NewEvent("a", "i", b'{"m":\n"x"}'), NewEvent("b", "i", b'{"m":"y"}')])
    batch = spool.take(10, 1 << 20)
    assert [json.loads(event.body) for event in batch] == [{"m": "x"}, {"m": "y"}]


def test_a_spool_of_one_row_per_document_is_converted_on_open(tmp_path: Path) -> None:
    """A spool file from logloop 0.1 (table `events`, a row per document) keeps every document, its
    owner and its order when a newer shipper opens it."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, event_id TEXT NOT NULL,"
            " idx TEXT NOT NULL, body BLOB NOT NULL)"
        )
        db.executemany(
            "INSERT INTO events (owner, event_id, idx, body) VALUES (?, ?, ?, ?)",
            [
                (os.getpid() if n % 3 else 1, f"e{n}", "logloop-2026.01.01", b'{"n":%d}' % n)
                for n in range(2500)
            ],
        )
    spool = Spool(path)
    mine = spool.take(5000, 1 << 30)
    assert [event.event_id for event in mine] == [f"e{n}" for n in range(2500) if n % 3]
    assert spool.backlog() == 2500
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'events'").fetchone() is None


def test_the_fused_row_is_the_document_built_the_plain_way() -> None:
    """lean_json(lean_fields()) gives exactly dumps_with(*lean_document()) with the same id stamped."""
    formatter = EcsFormatter(service_name="billing", service_version="1.2", environment="prod")
    for record in (
        logging.LogRecord("app.orders", logging.INFO, "/srv/app.py", 7, "order %s done", ("o-1",), None),
        logging.LogRecord("app", logging.WARNING, "/srv/ä.py", 9, 'quote " and \\ and ü', None, None),
        logging.LogRecord("app", logging.DEBUG, "x.py", 1, "password=hunter2 sent to %s", ("db",), None),
    ):
        captured = formatter.capture(record)
        event_id = event_ids.next()
        fields = formatter.lean_fields(captured)
        assert fields is not None
        row = lean_json(fields, event_id)
        doc, rest = formatter.lean_document(captured)
        doc["event"]["id"] = event_id
        assert row[0] + row[1] == dumps_with(doc, rest) == encode(doc, "logloop", rest).body
        assert row[2] == doc["@timestamp"]


def test_the_fused_row_declines_what_it_does_not_build() -> None:
    """Errors, extras and odd attribute types take the plain way (lean_fields says None)."""
    formatter = EcsFormatter(service_name="billing")
    error = logging.LogRecord("app", logging.ERROR, "x.py", 1, "failed", None, None)
    extra = logging.LogRecord("app", logging.INFO, "x.py", 1, "m", None, None)
    extra.customer = "c-1"
    odd = logging.LogRecord("app", logging.INFO, "x.py", 1, "m", None, None)
    odd.lineno = "7"  # type: ignore[assignment]
    for record in (error, extra, odd):
        assert formatter.lean_fields(formatter.capture(record)) is None


def test_the_drainers_check_agrees_with_lean_document() -> None:
    """lean_fields_many (the drainer's inlined check) packs only events lean_document splits (odd
    attribute types it leaves to the plain way), whatever the mix in one batch."""
    formatter = EcsFormatter(service_name="billing")
    records = [
        logging.LogRecord("app", logging.INFO, "x.py", 1, "plain %s", ("a",), None),
        logging.LogRecord("app", logging.ERROR, "x.py", 1, "error", None, None),
        logging.LogRecord("app", logging.INFO, "x.py", 1, "with extra", None, None),
        logging.LogRecord("app", logging.INFO, "x.py", 1, "stack", None, None),
        logging.LogRecord("app", logging.WARNING, "x.py", 1, "no thread id", None, None),
        logging.LogRecord("app", logging.INFO, "x.py", 1, "odd line", None, None),
        logging.LogRecord("app", logging.DEBUG, "x.py", 1, ["not", "a", "string"], None, None),  # type: ignore[arg-type]
    ]
    records[2].customer = "c-1"
    records[3].stack_info = "Stack (most recent call last):"
    records[4].thread = None
    records[5].lineno = "7"  # type: ignore[assignment]
    captured = [formatter.capture(record) for record in records]
    packed = formatter.lean_fields_many(captured)
    split = [formatter.lean_document(one)[1] != b"" for one in captured]
    packs = [fields is not None for fields in packed]
    assert packs == [True, False, False, False, True, False, True]
    assert split == [True, False, False, False, True, True, True]
