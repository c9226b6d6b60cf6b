"""Digest windows in the configured time zone across daylight-saving changes: weekly digests run at the
same local time tile the time line (no hour in none, none in two), and a retry hours later in a zone
far from UTC is the same window for sending."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers import digest_docs as docs

from analyzers import mailer
from analyzers.digest import build_digest
from analyzers.digest_options import DigestOptions
from analyzers.digest_window import Window
from analyzers.render import render
from analyzers.store import Store
from kibana.setup import install_template

WEEK = timedelta(days=7)
ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # southern hemisphere, changes at local midnight
    "Australia/Lord_Howe",  # half-hour daylight saving
    "Asia/Kolkata",  # half-hour offset, no daylight saving
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Tokyo",
]


def _mondays(zone: str, hour: int, count: int) -> list[datetime]:
    first = datetime(2026, 1, 5, hour, tzinfo=ZoneInfo(zone))
    return [datetime.combine(first.date() + n * WEEK, first.timetz()).astimezone(UTC) for n in range(count)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("hour", [0, 2, 8, 23])
def test_weekly_windows_at_one_local_time_tile_the_time_line(zone: str, hour: int) -> None:
    """For a year of Mondays at one local hour, each week's window starts where the last one ended
    and its previous window is exactly last week's, whatever daylight saving did in between."""
    windows = [Window.ending(end, WEEK, zone) for end in _mondays(zone, hour, 60)]
    for before, after in itertools.pairwise(windows):
        assert after.start == before.end
        assert (after.previous.start, after.previous.end) == (before.start, before.end)
        assert after.nominal == WEEK and after.bucket == timedelta(days=1)
    lengths = {window.length for window in windows}
    assert lengths <= {WEEK + timedelta(minutes=minutes) for minutes in (-60, -30, 0, 30, 60)}


def test_windows_not_of_whole_days_keep_their_length() -> None:
    """A window of hours (or 36 hours) is that duration, whatever the zone."""
    end = datetime(2026, 10, 25, 12, tzinfo=UTC)
    for length in (timedelta(hours=6), timedelta(hours=36)):
        window = Window.ending(end, length, "Europe/Berlin")
        assert window.length == length and window.previous.length == length


# (zone, the Monday after a change at 08:00 local): the events of the two weeks before it
CHANGES: list[Any] = [
    pytest.param("Europe/Berlin", datetime(2026, 10, 26, 8), id="berlin-autumn"),
    pytest.param("Europe/Berlin", datetime(2026, 3, 30, 8), id="berlin-spring"),
    pytest.param("America/New_York", datetime(2026, 11, 2, 8), id="new-york-autumn"),
    pytest.param("Australia/Lord_Howe", datetime(2026, 10, 5, 8), id="lord-howe-spring"),
]


@pytest.mark.es
@pytest.mark.parametrize(("zone", "local_monday"), CHANGES)
def test_two_weekly_digests_across_a_clock_change_count_every_event_once(
    es: Any, index_prefix: str, zone: str, local_monday: datetime
) -> None:
    """Events every 20 minutes over three weeks around a clock change: the digests of the two weeks
    ending Mondays 08:00 local count together exactly the events between them (168-hour windows left
    the hour the clocks went back in no digest and counted the hour they went forward twice)."""
    tz = ZoneInfo(zone)
    second_end = local_monday.replace(tzinfo=tz).astimezone(UTC)
    first_end = datetime.combine(local_monday.date() - WEEK, local_monday.time(), tz).astimezone(UTC)
    start = datetime.combine(local_monday.date() - 2 * WEEK, local_monday.time(), tz).astimezone(UTC)
    moments = [start - timedelta(days=2) + n * timedelta(minutes=20) for n in range(24 * 3 * 20)]
    install_template(es, index_prefix)
    docs.index_docs(es, index_prefix, [docs.event(moment) for moment in moments])
    options = DigestOptions(timezone=zone, root_causes=False)
    reports = [
        build_digest(Store(es, index_prefix), WEEK, end, end, options=options).report
        for end in (first_end, second_end)
    ]
    events = [{m.name: (m.current, m.previous) for m in report.measures}["events"] for report in reports]
    expected = [
        sum(1 for m in moments if a <= m < b) for a, b in ((start, first_end), (first_end, second_end))
    ]
    assert [current for current, _ in events] == expected
    assert events[1][1] == expected[0]  # the second digest's previous week is the first's week
    assert "New this week" in render(reports[1], "html") and "NEW THIS WEEK" in render(reports[1], "text")


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("late", [timedelta(0), timedelta(minutes=65), timedelta(hours=5)])
def test_a_retry_hours_after_a_morning_digest_is_the_same_window_to_send(zone: str, late: timedelta) -> None:
    """The send identity of a weekly digest run Monday 08:00 local, and of a retry up to hours later, is
    one window in every zone (floored to the UTC day, Tokyo's 08:00 and 09:05 were two windows)."""
    for end in _mondays(zone, 8, 53):
        on_time, retried = (Window.ending(moment, WEEK, zone) for moment in (end, end + late))
        assert mailer.window_key(retried) == mailer.window_key(on_time)
        assert mailer.marker_id(retried, "ops@example.org") == mailer.marker_id(on_time, "Ops@Example.org ")


def test_the_send_identity_in_utc_is_unchanged() -> None:
    """A UTC digest keeps the marker ids it had (markers sent before the change still match)."""
    window = Window.ending(datetime(2026, 11, 23, 8, 5, tzinfo=UTC), WEEK)
    assert mailer.window_key(window) == "604800s|2026-11-23T00:00:00+00:00"
    hourly = Window.ending(datetime(2026, 11, 23, 8, 5, tzinfo=UTC), timedelta(hours=6))
    assert mailer.window_key(hourly) == "21600s|2026-11-23T08:00:00+00:00"


@pytest.mark.es
def test_the_scheduled_digest_ends_on_the_minute_it_was_due(
    es: Any, index_prefix: str, es_settings: Any
) -> None:
    """`logloop schedule` runs the digest job a few seconds late, by varying amounts: its window ends on
    the minute (weeks tile with no seconds in between), and a second run that minute sends nothing."""
    from helpers.smtp_inbox import plain_smtp

    from analyzers import scheduler
    from logloop.config import Settings

    install_template(es, index_prefix)
    docs.index_docs(es, index_prefix, docs.scenario())
    due = datetime(2026, 11, 23, 8, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    late = iter([due + timedelta(seconds=7.25), due + timedelta(seconds=41)])
    with plain_smtp() as (inbox, port):
        settings = Settings(
            elasticsearch=es_settings,
            index_prefix=index_prefix,
            sections={
                "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": "l@example.org",
                         "recipients": ["ops@example.org"]},
                "schedule": {"timezone": "Europe/Berlin"},
            },
        )  # fmt: skip
        job = scheduler.digest_job(settings, clock=lambda: next(late))
        assert job is not None
        job()
        job()
    assert len(inbox.messages) == 1
    es.indices.refresh(index=Store(es, index_prefix).digest_sends)
    hits = es.search(index=Store(es, index_prefix).digest_sends)["hits"]["hits"]
    assert [hit["_source"]["window_end"] for hit in hits] == ["2026-11-23T07:00:00.000Z"]


@pytest.mark.parametrize("zone", [*ZONES, "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu"])
@pytest.mark.parametrize("days", [7, 2, 30])
def test_a_window_of_local_days_is_labelled_by_its_local_days(zone: str, days: int) -> None:
    """A window ending at local midnight says its first and last local day (and its zone), as its chart's
    day bars do; before, a zone away from UTC got UTC hours ("... 23:00 UTC")."""
    for monday in _mondays(zone, 0, 40)[::7]:  # through the year: both sides of daylight-saving changes
        window = Window.ending(monday, timedelta(days=days), zone)
        local_end = monday.astimezone(ZoneInfo(zone))
        first = (local_end.date() - timedelta(days=days)).isoformat()
        last = (local_end.date() - timedelta(days=1)).isoformat()
        suffix = "" if zone == "UTC" else f" ({zone})"
        assert window.label() == f"{first} – {last}{suffix}"
        assert window.previous.label().startswith((local_end.date() - timedelta(days=2 * days)).isoformat())
        bars = window.bucket_starts()
        assert bars[0].astimezone(ZoneInfo(zone)).date().isoformat() == first
        assert bars[-1].astimezone(ZoneInfo(zone)).date().isoformat() == last


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Kiritimati"])
def test_a_window_not_from_local_midnight_is_labelled_in_utc(zone: str) -> None:
    """A week ending at 08:00 local is labelled by its UTC start and end, as the digest writes every time."""
    end = datetime(2026, 11, 23, 8, tzinfo=ZoneInfo(zone))
    window = Window.ending(end, WEEK, zone)
    assert window.label().endswith(" UTC") and f"{end.astimezone(UTC):%Y-%m-%d %H:%M}" in window.label()
