"""The digest's time window: `[start, end)` and the window of the same length just before it.

Pure: the bucket geometry the trend charts use. Durations and times are parsed by `analyzers.config`.
Chart buckets are calendar days (or hours) in the window's time zone, aligned to midnight there: the
bar labelled "Thu 26" holds Thursday's events in that zone, and the first and last bars may be partial.

A window of whole days is that many calendar days in its zone, not that many times 24 hours: the week
ending Monday 08:00 in Europe/Berlin starts the Monday before at 08:00 there, 167 or 169 hours earlier
across a daylight-saving change, so weekly digests run at the same local time tile the time line (with
168 hours, the hour the clocks went back fell in no digest, and the hour they went forward in two).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """A half-open time range `[start, end)` in UTC; `tz` is the zone its chart buckets follow."""

    start: datetime
    end: datetime
    tz: str = "UTC"
    days: int = 0  # a window of this many calendar days in `tz` (`ending`); 0 for a plain duration

    @classmethod
    def ending(cls, end: datetime, length: timedelta, tz: str = "UTC") -> Window:
        end = end.astimezone(UTC)
        if length < _DAY or length % _DAY:
            return cls(end - length, end, tz)
        days = length // _DAY
        local = end.astimezone(ZoneInfo(tz))
        start = datetime.combine(local.date() - timedelta(days=days), local.timetz())  # same wall clock
        return cls(start.astimezone(UTC), end, tz, days)

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def nominal(self) -> timedelta:
        """The length asked for: whole days stay whole across a daylight-saving change (`length` not)."""
        return timedelta(days=self.days) if self.days else self.length

    @property
    def previous(self) -> Window:
        return Window.ending(self.start, self.nominal, self.tz)

    @property
    def bucket(self) -> timedelta:
        """Chart bucket: a day for windows of two days or more, else an hour."""
        return _DAY if self.nominal >= 2 * _DAY else timedelta(hours=1)

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
        """The days of a window of whole days from midnight in its zone ("2026-11-16 - 2026-11-22", the
        zone named unless UTC); else its start and end in UTC, as every time of the digest is written."""
        start, last = (
            self.start.astimezone(self.zone),
            (self.end - timedelta(microseconds=1)).astimezone(self.zone),
        )
        if self.bucket == _DAY and start.hour == start.minute == start.second == 0:
            zone = "" if self.tz == "UTC" else f" ({self.tz})"
            return f"{start:%Y-%m-%d} – {last:%Y-%m-%d}{zone}"
        return f"{self.start:%Y-%m-%d %H:%M} – {self.end:%Y-%m-%d %H:%M} UTC"
