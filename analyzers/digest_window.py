"""The digest's time window: `[start, end)` and the window of the same length just before it.

Pure: the bucket geometry the trend charts use. Durations and times are parsed by `analyzers.config`.
Chart buckets are calendar days (or hours) in the window's time zone, aligned to midnight there: the
bar labelled "Thu 26" holds Thursday's events in that zone, and the first and last bars may be partial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """A half-open time range `[start, end)` in UTC; `tz` is the zone its chart buckets follow."""

    start: datetime
    end: datetime
    tz: str = "UTC"

    @classmethod
    def ending(cls, end: datetime, length: timedelta, tz: str = "UTC") -> Window:
        end = end.astimezone(UTC)
        return cls(end - length, end, tz)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def previous(self) -> Window:
        return Window(self.start - self.length, self.start, self.tz)

    @property
    def bucket(self) -> timedelta:
        """Chart bucket: a day for windows of two days or more, else an hour."""
        return timedelta(days=1) if self.length >= timedelta(days=2) else timedelta(hours=1)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def calendar_interval(self) -> str:
        """The date_histogram `calendar_interval` of a bucket."""
        return "1d" if self.bucket == timedelta(days=1) else "1h"

    def bucket_starts(self) -> list[datetime]:
        """The start (UTC) of every bucket overlapping the window: local midnights (or hours)."""
        local = self.start.astimezone(self.zone)
        if self.bucket == timedelta(days=1):
            day = datetime(local.year, local.month, local.day, tzinfo=self.zone)
            starts = []
            while day.astimezone(UTC) < self.end:
                starts.append(day.astimezone(UTC))
                day = datetime.combine(day.date() + timedelta(days=1), day.timetz())  # wall-clock days
            return starts
        moment = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        hours = []
        while moment < self.end:
            hours.append(moment)
            moment += timedelta(hours=1)
        return hours

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def label(self) -> str:
        last = self.end - timedelta(microseconds=1)
        midnight = self.start.hour == self.start.minute == self.start.second == 0
        if self.bucket == timedelta(days=1) and midnight:
            return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"
