"""Packed segments (`shipper.packing`): plain events spooled as captured give, when written out, the
very documents built the plain way; damage is contained and counted."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest

from shipper import packing
from shipper.exceptions import UnreadablePayload
from shipper.formatter import EcsFormatter, dumps_with
from shipper.spool import NewEvent, Spool, bulk_lines
from shipper.worker import event_ids, format_event_id, index_of_timestamp


def _plain(formatter: EcsFormatter, n: int) -> list[object]:
    records = [
        logging.LogRecord("app.orders", logging.INFO, "/srv/app.py", 7, "order %s done", (f"o-{i}",), None)
        for i in range(n)
    ]
    return [formatter.capture(record) for record in records]


def test_written_out_events_are_the_documents_built_the_plain_way() -> None:
    """expand(pack(...)) gives, for each plain event, the _bulk lines of the document built the plain
    way (dumps_with(*lean_document())) with the id the drainer reserved for its place; a finished row
    in between is kept as it is."""
    formatter = EcsFormatter(service_name="billing", environment="prod")
    captured = _plain(formatter, 3)
    fields = formatter.lean_fields_many(captured)  # type: ignore[arg-type]
    first, bits = event_ids.reserve(4), random.getrandbits(62)
    finished = bulk_lines("given-id", "logloop-2026.01.01", b'{"message":"finished"}')
    items: list[packing.PackedItem] = [(0, fields[0]), (1, fields[1]), finished, (3, fields[2])]  # type: ignore[list-item]
    lines = packing.expand(packing.pack("logloop", first, bits, items))
    expected = []
    for place, one in zip((0, 1, 3), captured, strict=True):
        event_id = format_event_id(first + place, bits ^ place)
        doc, rest = formatter.lean_document(one)  # type: ignore[arg-type]
        assert rest  # split: a plain event
        doc["event"]["id"] = event_id
        index = index_of_timestamp(doc["@timestamp"], "logloop")
        expected.append(bulk_lines(event_id, index, dumps_with(doc, rest)))
    assert lines == [expected[0], expected[1], finished, expected[2]]


def test_ids_of_one_batch_are_distinct_and_time_ordered() -> None:
    """Ids made from a reservation are unique and increase with the place, past 4096 in a millisecond."""
    first, bits = event_ids.reserve(5000), random.getrandbits(62)
    ids = [format_event_id(first + place, bits ^ place) for place in range(5000)]
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    assert ids[-1] < event_ids.next()


def test_an_event_that_cannot_be_written_out_ships_as_a_note() -> None:
    """One packed event with fields of the wrong types becomes a note naming the failure; the
    others of its segment are written out."""
    formatter = EcsFormatter(service_name="billing")
    good = formatter.lean_fields_many(_plain(formatter, 1))[0]  # type: ignore[arg-type]
    assert good is not None
    bad = (good[0], 42, *good[2:])  # a message that is not a string
    lines = packing.expand(packing.pack("logloop", event_ids.reserve(2), 0, [(0, bad), (1, good)]))  # type: ignore[list-item]
    documents = [json.loads(pair.split(b"\n")[1]) for pair in lines]
    assert "could not write out a spooled event" in documents[0]["message"]
    assert documents[1]["message"] == "order o-0 done"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not marshal at all", id="garbage"),
        pytest.param(packing.pack("logloop", 0, 0, [])[:-3], id="cut-short"),
        pytest.param(__import__("marshal").dumps((99, "logloop", 0, 0, [])), id="unknown-version"),
    ],
)
def test_a_damaged_payload_is_refused_with_a_clear_error(payload: bytes) -> None:
    """A payload that cannot be read raises UnreadablePayload, never another exception."""
    with pytest.raises(UnreadablePayload):
        packing.expand(payload)


def test_the_spool_drops_and_counts_a_damaged_packed_segment(tmp_path: Path) -> None:
    """take() deletes a packed segment it cannot read, reports its documents as lost, and still
    returns the readable segments after it."""
    spool = Spool(tmp_path / "s.sqlite")
    spool.put_packed([(3, b"damaged")])
    spool.put([NewEvent("ok", "i", b'{"m":1}')])
    batch = spool.take(10, 1 << 20)
    assert batch.lost == 3
    assert [event.event_id for event in batch] == ["ok"]
    assert spool.backlog() == 1
