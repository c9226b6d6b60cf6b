"""A week with known root causes, shipped by real processes (tests/helpers/simulated_process.py).

Five hosts of the `shop` service; web-4 and web-5 run Python 3.10, the others 3.12. Version 1.9.0
runs until RELEASE, 2.0.0 after it (a restart: new processes). Planted truth:

- noise (ValueError)        everywhere, at any time, also the week before: no suspect, no release;
- host_bug (KeyError)       only on web-2, each time right after "cache miss for cart N" in the same
                            process: suspect host web-2, that line in its breadcrumbs;
- python_bug (TypeError)    on web-4 and web-5 alternately: suspect Python 3.10;
- release_bug (AttributeError) from two hours after RELEASE on all hosts: suspect version 2.0.0,
                            started with release 2.0.0, last version without it 1.9.0;
- db_down (ConnectionError) eight times, each followed two seconds later on the same process by
  session_lost (LookupError): db_down is the root, session_lost its symptom;
- a bug report from web-2 45 s after a host_bug error of its process (linked to it, although a
  cron process on web-2 logged a noise error in between), a usability complaint sent by a CLI
  process on web-3 30 s after the db_down there (linked to the host's latest error, the session_lost
  2 s after it), and a feature wish from web-1 (linked to nothing).

Hourly info lines on every host give the population its shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

UNTIL = datetime(2026, 11, 23, 8, tzinfo=UTC)
WINDOW = timedelta(days=7)
START = UNTIL - WINDOW
RELEASE = UNTIL - timedelta(days=3)
HOSTS = ("web-1", "web-2", "web-3", "web-4", "web-5")
PYTHON = {"web-1": "3.12.1", "web-2": "3.12.1", "web-3": "3.12.1", "web-4": "3.10.4", "web-5": "3.10.4"}
SCRIPT = Path(__file__).with_name("simulated_process.py")

Action = tuple[datetime, str, str, str]  # time, host, kind, text
APP = "app"  # the service's own process on each host (one per version); others are named by role


def _spread(first: datetime, last: datetime, count: int) -> list[datetime]:
    step = (last - first) / count
    return [first + i * step for i in range(count)]


def actions() -> list[Action]:
    planned: list[Action] = []
    for hour in range(int(WINDOW / timedelta(hours=1))):
        for host in HOSTS:
            planned.append((START + timedelta(hours=hour, minutes=5), host, "info", "served page /cart"))
    for hour in range(0, int(WINDOW / timedelta(hours=1)), 6):
        for host in HOSTS:
            planned.append(
                (START - WINDOW + timedelta(hours=hour, minutes=5), host, "info", "served page /cart")
            )
    for i, moment in enumerate(_spread(START, UNTIL, 30)):
        planned.append((moment + timedelta(minutes=20), HOSTS[i % 5], "noise", f"q{i}"))
    for i, moment in enumerate(_spread(START - WINDOW, START, 5)):
        planned.append((moment + timedelta(minutes=20), HOSTS[i % 5], "noise", f"p{i}"))
    for i, moment in enumerate(HOST_BUG_TIMES):
        at = moment + timedelta(minutes=40)
        planned.append((at - timedelta(seconds=1), "web-2", "info", f"cache miss for cart {i}"))
        planned.append((at, "web-2", "host_bug", str(i)))
    for i, moment in enumerate(_spread(START + timedelta(hours=3), UNTIL - timedelta(hours=2), 16)):
        planned.append((moment + timedelta(minutes=50), ("web-4", "web-5")[i % 2], "python_bug", str(i)))
    for i, moment in enumerate(_spread(RELEASE + timedelta(hours=2), UNTIL - timedelta(hours=1), 15)):
        planned.append((moment + timedelta(minutes=10), HOSTS[i % 5], "release_bug", str(i)))
    for i, moment in enumerate(DB_DOWN_TIMES):
        at, host = moment + timedelta(minutes=25), HOSTS[(i * 2) % 5]
        planned.append((at, host, "db_down", f"primary-{i}"))
        planned.append((at + timedelta(seconds=2), host, "session_lost", f"s{i}"))
    planned.append((BUG_FEEDBACK_AT, "web-2", "feedback", "bug:the cart page crashed when I checked out"))
    planned.append((FEATURE_FEEDBACK_AT, "web-1", "feedback", "feature:please add a dark mode"))
    return sorted(planned)


def other_processes() -> list[tuple[str, Action]]:
    """Actions of processes beside the service's own: (role, action)."""
    return [
        ("cron", (BUG_FEEDBACK_AT - timedelta(seconds=25), "web-2", "noise", "cron")),
        (
            "cli",
            (USABILITY_FEEDBACK_AT, "web-3", "feedback", "usability:the error page does not say what failed"),
        ),
    ]


HOST_BUG_TIMES = _spread(START + timedelta(hours=2), UNTIL - timedelta(hours=2), 15)
BUG_FEEDBACK_AT = HOST_BUG_TIMES[7] + timedelta(minutes=40, seconds=45)
FEATURE_FEEDBACK_AT = START + timedelta(days=1, hours=12, minutes=33)
DB_DOWN_TIMES = _spread(START + timedelta(hours=5), UNTIL - timedelta(hours=1), 8)
USABILITY_FEEDBACK_AT = DB_DOWN_TIMES[1] + timedelta(minutes=25, seconds=30)  # on web-3


def ship(es_url: str, prefix: str, work: Path) -> None:
    """Run one real process per (host, version) and wait for all of them to deliver."""
    by_process: dict[tuple[str, str, str], list[list[object]]] = defaultdict(list)
    for role, (moment, host, kind, text) in [(APP, action) for action in actions()] + other_processes():
        version = "1.9.0" if moment < RELEASE else "2.0.0"
        by_process[(host, version, role)].append([moment.timestamp(), kind, text])
    env = {**os.environ, "REGION": "eu"}
    running = []
    for (host, version, role), planned in sorted(by_process.items()):
        plan = work / f"{host}-{version}-{role}.json"
        plan.write_text(
            json.dumps(
                {
                    "host": host,
                    "python": PYTHON[host],
                    "version": version,
                    "service": "shop",
                    "es_url": es_url,
                    "prefix": prefix,
                    "spool": str(work / f"spool-{host}-{version}-{role}"),
                    "actions": planned,
                }
            ),
            encoding="utf-8",
        )
        running.append(subprocess.Popen([sys.executable, str(SCRIPT), str(plan)], env=env))
    failures = [p.args for p in running if p.wait(timeout=300) != 0]
    assert not failures, f"simulated processes failed: {failures}"
