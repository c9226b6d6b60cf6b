"""A five-week scenario of known truth for the digest: every group's events, releases and resolves.

Day d (1..35) is [BASE + (d - 1) days, BASE + d days). The final digest covers days 29..35 and
compares them with days 22..28. Services and their releases:

- `legacy` runs 3.0 throughout (no release: nothing there can be resolved by a version);
- `shop` runs 1.0 on days 1-14, 1.1 on days 15-25, 1.2 from day 26;
- `api` runs 2.0 on days 1-26, 2.1 from day 27 (an info line a day carries the running version);
- `php-legacy` is another shipper: message-only lines, no template, no grouping fields, no version.

The groups and the status each must end with (`EXPECTED`):

    steady            legacy, 6 a day every day                                       ongoing
    new               shop, 5 a day from day 31                                       new
    escalating        legacy, 2 a day, then 12 a day from day 29                      escalating
    persistent        legacy, a bug from day 20 at 10 a day (never escalating)        ongoing
    back_after_quiet  legacy, 3 a day on days 1-12, silent, 4 a day from day 32       regressed (day 32, 3.0)
    back_after_fix    shop, 3 a day on days 1-18, resolved on day 19 "in 1.2"; on
                      1.1 hosts on days 20-21 (older: no regression), back on 1.2
                      from day 33                                                     regressed (day 33, 1.2)
    fixed_this_week   shop, 4 a day on days 1-30, resolved on day 31 "in 1.3": its
                      window events all predate the resolve                           resolved in 1.3
    fixed_by_release  api, 5 a day on days 1-26 (2.0), none once 2.1 runs             resolved in 2.1 (day 30)
    gateway_timeout   php-legacy, 8 a day every day, numbers vary in every line       ongoing (one group)
    quota_exceeded    php-legacy, 3 a day from day 30                                 new (one group)
    session_expired   php-legacy, 3 a day on days 1-3, then 6 a day, a different
                      user name (a word, not a number) in each line: one group only
                      when mined across lines and days (day 1's three names first
                      look like three statements, day 2 shows the name varies)    ongoing (one group)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from shipper.grouping.fingerprint import fingerprint_event

BASE: Final = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
DAYS: Final = 35
DAY: Final = timedelta(days=1)
WINDOW_START: Final = BASE + 28 * DAY
UNTIL: Final = BASE + DAYS * DAY
PREVIOUS_START: Final = BASE + 21 * DAY


def day_start(day: int) -> datetime:
    return BASE + (day - 1) * DAY


def version(service: str, day: int) -> str | None:
    if service == "legacy":
        return "3.0"
    if service == "shop":
        return "1.0" if day <= 14 else "1.1" if day <= 25 else "1.2"
    if service == "api":
        return "2.0" if day <= 26 else "2.1"
    return None


@dataclass(frozen=True)
class Resolve:
    group: str
    at: datetime
    in_version: str


RESOLVES: Final = (
    Resolve("back_after_fix", day_start(19) + timedelta(hours=12), "1.2"),
    Resolve("fixed_this_week", day_start(31) + timedelta(hours=6), "1.3"),
)

EXPECTED: Final = {
    "steady": "ongoing",
    "new": "new",
    "escalating": "escalating",
    "persistent": "ongoing",
    "back_after_quiet": "regressed",
    "back_after_fix": "regressed",
    "fixed_this_week": "resolved",
    "fixed_by_release": "resolved",
    "gateway_timeout": "ongoing",
    "quota_exceeded": "new",
    "session_expired": "ongoing",
}
FOREIGN: Final = frozenset({"gateway_timeout", "quota_exceeded", "session_expired"})
USERS: Final = (
    "alice",
    "bruno",
    "chen",
    "dana",
    "emeka",
    "farah",
    "goran",
    "hana",
    "ivo",
    "jun",
    "kai",
    "lena",
)
SERVICE: Final = {
    "steady": "legacy",
    "new": "shop",
    "escalating": "legacy",
    "persistent": "legacy",
    "back_after_quiet": "legacy",
    "back_after_fix": "shop",
    "fixed_this_week": "shop",
    "fixed_by_release": "api",
    "gateway_timeout": "php-legacy",
    "quota_exceeded": "php-legacy",
    "session_expired": "php-legacy",
}


def per_day(group: str, day: int) -> int:
    """How many events `group` has on `day` (the truth everything else is checked against)."""
    table = {
        "steady": 6,
        "new": 5 if day >= 31 else 0,
        "escalating": 12 if day >= 29 else 2,
        "persistent": 10 if day >= 20 else 0,
        "back_after_quiet": 3 if day <= 12 else 4 if day >= 32 else 0,
        "back_after_fix": 3 if day <= 18 or day in (20, 21) or day >= 33 else 0,
        "fixed_this_week": 4 if day <= 30 else 0,
        "fixed_by_release": 5 if day <= 26 else 0,
        "gateway_timeout": 8,
        "quota_exceeded": 3 if day >= 30 else 0,
        "session_expired": 3 if day <= 3 else 6,
    }
    return table[group]


def event_version(group: str, day: int) -> str | None:
    """The version an event carries: the running one, except back_after_fix's stragglers on 1.1."""
    if group == "back_after_fix" and day in (20, 21):
        return "1.1"
    return version(SERVICE[group], day)


def _trace(group: str) -> str:
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/{SERVICE[group]}/app/{group}.py", line 40, in handle\n'
        f"    run_{group}(request)\n"
        f'  File "/srv/{SERVICE[group]}/app/{group}_impl.py", line 12, in run_{group}\n'
        f"    raise RuntimeError(f'{group} failed for {{request.id}}')\n"
        f"RuntimeError: {group} failed for request\n"
    )


def _foreign_message(group: str, n: int) -> str:
    if group == "gateway_timeout":
        return f"payment gateway timeout after {1000 + 37 * n} ms for order {88000 + n}"
    if group == "session_expired":
        return f"login session expired for user {USERS[n % len(USERS)]}"
    return f"disk quota exceeded on volume vol-{n % 7} ({90 + n % 10}% used)"


def _base_doc(at: datetime, service: str, day: int, host: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": {"id": uuid.uuid4().hex, "dataset": f"{service}.log"},
        "service": {"name": service},
        "host": {"name": host},
    }
    running = version(service, day)
    if running is not None:
        doc["service"]["version"] = running
    return doc


def group_event(group: str, day: int, n: int) -> dict[str, Any]:
    """The n-th event of `group` on `day`, as the logloop shipper or the other shipper stores it."""
    at = day_start(day) + timedelta(hours=1 + (n * 22) // max(per_day(group, day), 1), minutes=n)
    doc = _base_doc(at, SERVICE[group], day, host=f"{SERVICE[group]}-{n % 3 + 1}")
    if group in FOREIGN:  # another shipper: level and message, nothing else
        doc["log"] = {"level": "error", "logger": "php"}
        doc["message"] = _foreign_message(group, day * 6 + n)
        return doc
    doc["log"] = {"level": "error", "logger": f"{SERVICE[group]}.app"}
    doc["message"] = f"{group} failed"
    doc["error"] = {"type": "RuntimeError", "message": f"{group} failed", "stack_trace": _trace(group)}
    stamped = event_version(group, day)
    if stamped is not None:
        doc["service"]["version"] = stamped
    fingerprint = fingerprint_event(doc)
    assert fingerprint is not None
    doc["error"].update(grouping_key=fingerprint.key, grouping_name=fingerprint.name)
    doc["logloop"] = {"grouping_version": fingerprint.version}
    return doc


def info_event(service: str, day: int) -> dict[str, Any]:
    """One informational line a day per service: it shows which version runs."""
    doc = _base_doc(day_start(day) + timedelta(hours=23), service, day, host=f"{service}-1")
    doc["log"] = {"level": "info", "logger": f"{service}.app"}
    doc["message"] = "heartbeat"
    return doc


def events_of_day(day: int) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(group or None for info lines, document) for every event of `day`."""
    for group in EXPECTED:
        for n in range(per_day(group, day)):
            yield group, group_event(group, day, n)
    for service in ("legacy", "shop", "api"):
        yield None, info_event(service, day)


def count(group: str, first_day: int, last_day: int) -> int:
    return sum(per_day(group, day) for day in range(first_day, last_day + 1))


def first_event_at(group: str, day: int) -> datetime:
    """When the first event of `group` on `day` happened (the comeback time of a regression)."""
    return datetime.fromisoformat(group_event(group, day, 0)["@timestamp"].replace("Z", "+00:00"))
