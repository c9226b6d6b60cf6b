"""The segment format: a file-backed, append-only sequence of framed records.

    header   32 bytes: MAGIC (8), random token (8), writer pid (4), created ms (8), reserved (4)
    frame    length (u32, little-endian), crc32 of the payload (u32), payload, zero padding to 8 bytes
    end      a zero length: nothing written yet (the file is allocated ahead, so it reads as zeros)
    seal     a zero length with crc SEAL: the writer moved to another segment and writes here no more

A process killed in the middle of copying a frame leaves one whose crc does not match (torn); a
damaged file leaves one whose length runs past the end or whose crc fails. Either way the reader
stops at the damage (nothing after it can be trusted) and says so (`Scan.torn`); the agent counts it
only once the writer is known to be dead: while it lives, a mismatch is a frame still being copied.

Pure functions over bytes: no I/O besides reading a file into memory, no locks.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from typing import Final, NamedTuple

MAGIC: Final = b"LLSEG\x01\x00\x00"
HEADER: Final = struct.Struct("<8sQIQ4x")
FRAME: Final = struct.Struct("<II")
SEAL: Final = 0x5EA1ED00
ALIGN: Final = 8
SUFFIX: Final = ".seg"


# Header, Frame and Scan are NamedTuples, not frozen dataclasses: every program that logs defines
# them at import (see docs/performance.md, "The short script in instructions").
class Header(NamedTuple):
    token: int  # 64 random bits: the segment's share of every event id written in it
    pid: int
    created_ms: int


class Frame(NamedTuple):
    offset: int  # where the frame starts in the file: its identity (see `event_id`)
    end: int  # where the next frame starts
    payload: bytes


class Scan(NamedTuple):
    """What a read found from some offset: whole frames, and why it stopped."""

    frames: list[Frame]
    end: int  # the offset after the last whole frame (where reading resumes)
    sealed: bool = False
    torn: bool = False  # a frame that fails its length or crc check (damage, or a write in progress)
    reason: str = ""


def encode_header(token: int, pid: int, created_ms: int) -> bytes:
    return HEADER.pack(MAGIC, token, pid, created_ms)


def decode_header(data: bytes) -> Header | None:
    """The header of a segment, or None if `data` does not start with one."""
    if len(data) < HEADER.size:
        return None
    magic, token, pid, created = HEADER.unpack_from(data)
    return Header(token, pid, created) if magic == MAGIC else None


def frame_size(payload_length: int) -> int:
    """Bytes a frame with this payload takes, padding included."""
    size = FRAME.size + payload_length
    return size + (-size % ALIGN)


def frame_header(payload: bytes) -> bytes:
    return FRAME.pack(len(payload), zlib.crc32(payload))


def frame(payload: bytes) -> bytes:
    """The whole frame of `payload`: header, payload, padding."""
    size = FRAME.size + len(payload)
    return frame_header(payload) + payload + bytes(-size % ALIGN)


def seal_frame() -> bytes:
    return FRAME.pack(0, SEAL)


def scan(data: bytes | memoryview | mmap.mmap, start: int, *, limit: int | None = None) -> Scan:
    """Whole frames from `start` (at most `limit`), stopping at the end, a seal or damage."""
    frames: list[Frame] = []
    offset, size = start, len(data)
    while limit is None or len(frames) < limit:
        if offset + FRAME.size > size:
            return Scan(frames, offset, reason="end of file")
        length, crc = FRAME.unpack_from(data, offset)
        if length == 0:
            return Scan(frames, offset, sealed=crc == SEAL, torn=crc not in (0, SEAL), reason="end")
        end = offset + frame_size(length)
        if offset + FRAME.size + length > size:
            return Scan(
                frames, offset, torn=True, reason=f"frame at {offset} runs past the end ({length} bytes)"
            )
        payload = bytes(data[offset + FRAME.size : offset + FRAME.size + length])
        if zlib.crc32(payload) != crc:
            return Scan(frames, offset, torn=True, reason=f"frame at {offset} fails its checksum")
        frames.append(Frame(offset, end, payload))
        offset = end
    return Scan(frames, offset, reason="limit")


def read_segment(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as source:
        return source.read()


def event_id(header: Header, offset: int, created: float) -> str:
    """The event id of the frame at `offset`: uuid7-shaped (32 hex digits), time-ordered by the
    record's creation, fixed by where the record was written, so every attempt to send it (from any
    agent, after any crash) carries the same id and the server's create semantics refuse a copy."""
    millis = int(created * 1000) & 0xFFFFFFFFFFFF
    sequence = (offset // ALIGN) & 0xFFF
    bits = (header.token ^ offset) & ((1 << 62) - 1)
    return f"{millis:012x}7{sequence:03x}{0x8000000000000000 | bits:016x}"
