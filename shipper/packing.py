"""Packed segments: a drained batch stored as it was captured, written out as `_bulk` lines when sent.

The drainer must keep up with the program (it moves events from the memory queue into the durable
spool), and while it works the program's threads wait for the GIL. So it does the least that makes
an event durable: a plain event (see `EcsFormatter.lean_fields`) is stored as its captured fields
and its id; whoever sends the segment writes its JSON (`lean_json`), on the sender thread or in the
delivery process (`shipper.relay`). Other events (errors, extras) are stored as finished `_bulk`
lines, as the drainer builds them.

A packed payload is `marshal` data of `(PACK_VERSION, index prefix, first stamp, random bits, items)`,
each item either the `_bulk` lines of one document (bytes) or `(place, lean fields)`. A plain event's
id is made from its place in the drained batch: `format_event_id(first + place, bits ^ place)`, the
id the drainer reserved for it (time-ordered, unique, and the same at every retry), without making
a string per event on the program's side. marshal reads and writes these builtins in C, several
times faster than JSON or pickle, and a repeated object (the constant rest of the documents) is
stored once. A payload that cannot be read back raises `UnreadablePayload`.
"""

from __future__ import annotations

import marshal
import time
from collections.abc import Sequence
from typing import Final

from shipper.exceptions import UnreadablePayload
from shipper.formatter import LeanFields, lean_json
from shipper.schema import DATASET_LOG

PACK_VERSION: Final = 1
_MARSHAL_VERSION: Final = 4  # the format since Python 3.4: references to repeated objects

PackedItem = bytes | tuple[int, LeanFields]


def pack(prefix: str, first: int, bits: int, items: Sequence[PackedItem]) -> bytes:
    """The payload of a packed segment holding `items`, in order; `first` and `bits` make the ids of
    its plain events (see the module's docstring)."""
    return marshal.dumps((PACK_VERSION, prefix, first, bits, list(items)), _MARSHAL_VERSION)


def expand(payload: bytes) -> list[bytes]:
    """The `_bulk` lines of each document of a packed payload, in order."""
    # Imported here: the worker module imports the spool, which imports this one.
    from shipper.spool import bulk_lines
    from shipper.worker import format_event_id, index_of_timestamp

    try:
        version, prefix, first, bits, items = marshal.loads(payload)
    except (EOFError, ValueError, TypeError) as exc:
        raise UnreadablePayload(f"packed segment cannot be read: {exc}") from exc
    if version != PACK_VERSION or not isinstance(prefix, str) or not isinstance(items, list):
        raise UnreadablePayload(f"packed segment of unknown version {version!r}")
    if not (isinstance(first, int) and isinstance(bits, int)):
        raise UnreadablePayload("packed segment without its id stamps")
    lines: list[bytes] = []
    for item in items:
        if type(item) is bytes:
            lines.append(item)
            continue
        try:
            place, fields = item
            event_id = format_event_id(first + place, bits ^ place)
        except (TypeError, ValueError) as exc:
            raise UnreadablePayload(f"packed event of unknown shape: {exc}") from exc
        try:
            head, rest, timestamp = lean_json(fields, event_id)
        except Exception as exc:  # one event the plain way cannot write: it says so, the others ship
            lines.append(_note(str(event_id), prefix, exc))
            continue
        lines.append(bulk_lines(event_id, index_of_timestamp(timestamp, prefix), head, rest))
    return lines


def _note(event_id: str, prefix: str, exc: Exception) -> bytes:
    """The lines of a document saying that a packed event could not be written out, in its place."""
    from shipper.formatter import dumps, format_timestamp
    from shipper.spool import bulk_lines
    from shipper.worker import index_of_timestamp

    timestamp = format_timestamp(time.time())
    doc = {
        "@timestamp": timestamp,
        "message": f"logloop could not write out a spooled event: {type(exc).__name__}: {exc}",
        "event": {"dataset": DATASET_LOG, "kind": "event", "id": event_id},
    }
    return bulk_lines(event_id, index_of_timestamp(timestamp, prefix), dumps(doc))
