"""The dead-letter file: documents the server rejected for good, one JSON line each, with the reason.

It sits next to the spool (`<spool>.deadletter.jsonl`) so an operator finds both in one place.
Each line: `{"time", "event_id", "index", "status", "reason", "document"}` where `document` is
the JSON text that was sent. Nothing here is ever retried automatically: a mapping or parse
rejection would fail again; fix the cause, then replay by hand if the events matter.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SUFFIX = ".deadletter.jsonl"


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

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, rejections: list[Rejection]) -> None:
        if not rejections:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [_line(now, r) for r in rejections]
        with self._lock:
            # 0600: the documents are redacted, but still the program's own data.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            with open(fd, "a", encoding="utf-8", errors="backslashreplace") as out:
                out.writelines(lines)

    def read(self) -> list[dict[str, object]]:
        """Every entry written so far (for tests and operators)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as source:
            return [json.loads(line) for line in source if line.strip()]


def _line(now: str, rejection: Rejection) -> str:
    entry = {
        "time": now,
        "event_id": rejection.event_id,
        "index": rejection.index,
        "status": rejection.status,
        "reason": rejection.reason,
        "document": rejection.document.decode("utf-8", "replace"),
    }
    return json.dumps(entry, ensure_ascii=True) + "\n"
