"""What a spool directory holds, read as the delivery agent reads it: the message of every whole record."""

from __future__ import annotations

from pathlib import Path

from shipper.spool import layout, records, segment


def payloads_in(spool: Path) -> list[object]:
    """Every frame of the segments of `spool`, decoded (a record's attributes, a plain record's captured
    attributes, a header's fields), in segment and frame order."""
    found: list[object] = []
    for path in layout.segments(spool):
        for frame in segment.scan(segment.read_segment(path), segment.HEADER.size).frames:
            kind, value = records.decode(frame.payload)
            if kind == records.RECORD:
                found.append(value.attributes)
            elif kind == records.PLAIN:
                found.append(records.captured_of_plain(value).attributes)
            else:
                found.append(value)
    return found


def messages_in(spool: Path) -> list[str]:
    """The message of every record in the segments of `spool`, in segment and frame order."""
    found = []
    for path in layout.segments(spool):
        for frame in segment.scan(segment.read_segment(path), segment.HEADER.size).frames:
            kind, value = records.decode(frame.payload)
            if kind == records.RECORD:
                found.append(value.attributes["message"])
            elif kind == records.PLAIN:
                found.append(records.captured_of_plain(value).attributes["message"])
    return found
