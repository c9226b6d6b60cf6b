"""The one `_bulk` codec: documents to the NDJSON body of a `create` request.

Each document becomes two lines, `{"create":{"_index":…,"_id":…}}` and its JSON. Index names and
ids that need no JSON escaping (the usual case) take a pre-built action head.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

_SAFE: Final = re.compile(r"[\w.+-]*")  # index names and ids that need no JSON escaping
_ACTION_HEAD: Final = b'{"create":{"_index":"'
_ACTION_MIDDLE: Final = b'","_id":"'


class SpooledEvent(NamedTuple):
    """A document ready to send; `row_id` is what the sender uses to find it again (a tuple: one
    is made per document)."""

    row_id: int
    event_id: str
    index: str  # type: ignore[assignment]  # the field hides tuple.index(), which nothing here uses
    body: bytes


def bulk_lines(event_id: str, index: str, body: bytes) -> bytes:
    """One document's two lines of a `_bulk` body: its `create` action, then the document."""
    if b"\n" in body:  # in valid JSON a raw newline is whitespace between tokens
        body = body.replace(b"\n", b" ")
    if _SAFE.fullmatch(index) and event_id.isascii() and _SAFE.fullmatch(event_id):
        return b"".join(
            (_ACTION_HEAD, index.encode(), _ACTION_MIDDLE, event_id.encode(), b'"}}\n', body, b"\n")
        )
    action = json.dumps({"create": {"_index": index, "_id": event_id}}, separators=(",", ":"))
    return b"".join((action.encode(), b"\n", body, b"\n"))


def bulk_body(batch: Sequence[SpooledEvent]) -> bytes:
    """The request body that creates every document of `batch`, in order."""
    return b"".join(bulk_lines(event.event_id, event.index, event.body) for event in batch)
