"""The dead-letter file: documents the server rejected for good, one JSON line each, with the reason.

It sits next to the spool (`<spool>.deadletter.jsonl`) so an operator finds both in one place.
Each line: `{"time", "event_id", "index", "status", "reason", "document", "document_bytes"}` where
`document` is the JSON text that was sent, cut to its first `DOCUMENT_KEPT` bytes (an eighth of the
bound if that is less; `document_bytes` is its whole size). Nothing here is ever retried
automatically: a mapping or parse rejection would fail again; fix the cause, then replay by hand if
the events matter.

The file is bounded: once a write would take it past `max_bytes`, it becomes `<file>.1` (replacing
the one before, whose entries are counted lost) and a new file starts, so both hold at most
2 x `max_bytes` however many documents are refused.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".deadletter.jsonl"
DOCUMENT_KEPT = 64 * 1024  # bytes of a refused document kept in its entry (enough to tell which)


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """One document the server refused, and why."""

    event_id: str
    index: str
    status: int
    reason: str
    document: bytes


def path_for(spool_path: Path) -> Path:
    """The dead-letter file that belongs to a spool file."""
    return spool_path.with_name(spool_path.name + SUFFIX)


class DeadLetterFile:
    """Appends rejections to a JSONL file; thread-safe, opens the file per write batch."""

    def __init__(self, path: Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def write(self, rejections: list[Rejection]) -> int:
        """Append the rejections; the number of older entries given up to stay within the bound."""
        if not rejections:
            return 0
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        kept = min(DOCUMENT_KEPT, self.max_bytes // 8)  # a small bound still holds several entries
        data = "".join(_line(now, r, kept) for r in rejections).encode("ascii")
        with self._lock:
            discarded = self._make_room(len(data))
            # 0600: the documents are redacted, but still the program's own data.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            with open(fd, "ab") as out:
                out.write(data)
        return discarded

    def _make_room(self, size: int) -> int:
        """Rotate the file if `size` more bytes would take it past the bound; entries dropped."""
        try:
            used = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        if used == 0 or used + size <= self.max_bytes:
            return 0
        older = self.path.with_name(self.path.name + ".1")
        dropped = _count_lines(older)
        os.replace(self.path, older)
        return dropped

    def read(self) -> list[dict[str, object]]:
        """Every entry written so far (for tests and operators)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as source:
            return [json.loads(line) for line in source if line.strip()]


def _line(now: str, rejection: Rejection, kept: int) -> str:
    entry = {
        "time": now,
        "event_id": rejection.event_id,
        "index": rejection.index,
        "status": rejection.status,
        "reason": rejection.reason,
        "document": rejection.document[:kept].decode("utf-8", "replace"),
        "document_bytes": len(rejection.document),
    }
    return json.dumps(entry, ensure_ascii=True) + "\n"


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as source:
            return sum(block.count(b"\n") for block in iter(lambda: source.read(1 << 20), b""))
    except FileNotFoundError:
        return 0
