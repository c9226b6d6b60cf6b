"""The spool: what capture writes and delivery reads, on disk.

    segment   the framed, append-only segment file (length + crc32 frames, seal, event ids)
    records   the payload of a frame: a captured record, a program's facts, a finished document
    layout    the directory: segment names, acknowledgement files, lock, permissions
    bulk      the one `_bulk` codec the transports send

Rule: this package imports neither `shipper.capture` nor `shipper.delivery`; both import it.
"""

from shipper.spool.bulk import SpooledEvent

__all__ = ["SpooledEvent"]
