"""The digest's time window: `[start, end)` and the window of the same length just before it.

Pure: the bucket geometry the trend charts use. Durations and times are parsed by `analyzers.config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Window:
    """A half-open time range `[start, end)` in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime, length: timedelta) -> Window:
        end = end.astimezone(UTC)
        return cls(end - length, end)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous(self) -> Window:
        return Window(self.start - self.length, self.start)

    @property
    def bucket(self) -> timedelta:
        """Chart bucket: a day for windows of two days or more, else an hour."""
        return timedelta(days=1) if self.length >= timedelta(days=2) else timedelta(hours=1)

    @property
    def bucket_offset_ms(self) -> int:
        """Offset that aligns histogram buckets on `start` instead of on UTC midnight."""
        bucket_ms = int(self.bucket.total_seconds() * 1000)
        return int(self.start.timestamp() * 1000) % bucket_ms

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def label(self) -> str:
        last = self.end - timedelta(microseconds=1)
        midnight = self.start.hour == self.start.minute == self.start.second == 0
        if self.bucket == timedelta(days=1) and midnight:
            return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"

    def es_range(self) -> dict[str, str]:
        return {"gte": self.start.isoformat(), "lt": self.end.isoformat()}
