"""Hand-built ECS documents with known timestamps for the digest tests, and how to index them.

The scenario (window 7d until UNTIL; the previous window is the 7 days before it):
- group "ongoing" (KeyError) first seen in the previous window: 3 events there, 12 in this window;
- group "new" (ValueError whose message carries HTML) first seen in this window: 5 events;
- group "gone" (only in the previous window): 2 events, absent from this window;
- error line template "disk %s is full" without traceback: 4 events now, 1 before;
- operation "db.query": this window 10..100 ms, previous 5..50 ms;
- feedback: 2 bugs, 1 feature request; shipper health: 3 dropped, 1 dead-lettered, backlog 2 (latest);
- 20 informational events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import helpers

from shipper.schema import (
    DATASET_FEEDBACK,
    DATASET_LOG,
    DATASET_SHIPPER,
    index_for,
)

UNTIL = datetime(2026, 11, 23, tzinfo=UTC)
WINDOW = timedelta(days=7)
START = UNTIL - WINDOW
KEY_ONGOING = "a" * 40
KEY_NEW = "b" * 40
KEY_GONE = "c" * 40
# The grouping fields the shipper stores on a templated error line (its key is the template's).
DISK_LINE = {
    "logloop.template": "disk %s is full",
    "error.grouping_key": "d" * 40,
    "error.grouping_name": "disk %s is full",
    "logloop.grouping_version": 2,
}
NEW_TITLE = "ValueError: bad <script>alert(1)</script> input"
_ids = itertools.count()

TRACE = """Traceback (most recent call last):
  File "/srv/app/jobs.py", line 42, in run
    handle(job)
  File "/srv/app/handlers.py", line 7, in handle
    return lookup[job["user"]]
KeyError: 'user'
"""


def event(at: datetime, **fields: Any) -> dict[str, Any]:
    """A dotted ECS document at `at`; fields override the defaults."""
    doc: dict[str, Any] = {
        "@timestamp": at.isoformat(),
        "event.id": f"ev-{next(_ids)}",
        "event.dataset": DATASET_LOG,
        "log.level": "info",
        "message": "ok",
        "service.name": "billing",
        "service.version": "1.4.0",
        "host.name": "web-1",
    }
    doc.update(fields)
    return doc


def error(at: datetime, key: str, title: str, etype: str, message: str, **fields: Any) -> dict[str, Any]:
    return event(
        at,
        **{
            "log.level": "error",
            "message": message,
            "error.type": etype,
            "error.message": message,
            "error.stack_trace": TRACE.replace("KeyError: 'user'", f"{etype}: {message}"),
            "error.grouping_key": key,
            "error.grouping_name": title,
            "logloop.grouping_version": 1,
            **fields,
        },
    )


def scenario(until: datetime = UNTIL, *, new_title: str = NEW_TITLE) -> list[dict[str, Any]]:
    start, prev = until - WINDOW, until - 2 * WINDOW
    docs = [
        error(
            prev + timedelta(days=1, hours=h), KEY_ONGOING, "KeyError: 'user'", "builtins.KeyError", "'user'"
        )
        for h in range(3)
    ]
    docs += [
        error(
            start + timedelta(hours=10 * i),
            KEY_ONGOING,
            "KeyError: 'user'",
            "builtins.KeyError",
            "'user'",
            **{"host.name": f"web-{i % 3 + 1}", "service.version": "1.5.0" if i > 6 else "1.4.0"},
        )
        for i in range(12)
    ]
    docs += [
        error(
            until - timedelta(days=2, hours=i),
            KEY_NEW,
            new_title,
            "builtins.ValueError",
            "bad <script>alert(1)</script> input",
        )
        for i in range(5)
    ]
    docs += [
        error(prev + timedelta(days=2, hours=i), KEY_GONE, "OSError: gone", "builtins.OSError", "gone")
        for i in range(2)
    ]
    docs += [
        event(
            start + timedelta(days=1, hours=i),
            **{"log.level": "error", "message": f"disk sd{i} is full", **DISK_LINE},
        )
        for i in range(4)
    ]
    docs += [
        event(
            prev + timedelta(days=3),
            **{"log.level": "error", "message": "disk sdz is full", **DISK_LINE},
        )
    ]
    docs += [
        event(
            start + timedelta(hours=5 * i),
            **{"event.action": "db.query", "event.duration": (i + 1) * 10_000_000},
        )
        for i in range(10)
    ]
    docs += [
        event(
            prev + timedelta(hours=5 * i),
            **{"event.action": "db.query", "event.duration": (i + 1) * 5_000_000},
        )
        for i in range(10)
    ]
    docs += [
        event(
            start + timedelta(days=2, hours=i),
            **{
                "event.dataset": DATASET_FEEDBACK,
                "log.level": "info",
                "logloop.feedback.kind": "bug",
                "message": f"export broken {i}",
            },
        )
        for i in range(2)
    ]
    docs += [
        event(
            start + timedelta(days=3),
            **{
                "event.dataset": DATASET_FEEDBACK,
                "logloop.feedback.kind": "feature",
                "message": "please add CSV",
            },
        )
    ]
    docs += [
        event(
            start + timedelta(days=d),
            **{
                "event.dataset": DATASET_SHIPPER,
                "process.pid": 100,
                "logloop.shipper.dropped": dropped,
                "logloop.shipper.dead_lettered": dead,
                "logloop.shipper.sent": 100 * d,
                "logloop.shipper.spool_backlog": backlog,
            },
        )
        for d, dropped, dead, backlog in ((1, 1, 0, 5), (2, 3, 1, 2))
    ]
    docs += [event(start + timedelta(hours=7 * i)) for i in range(20)]
    return docs


def index_docs(es: Any, prefix: str, docs: Iterable[dict[str, Any]]) -> None:
    """Bulk-create `docs` into their daily indices and refresh."""
    actions = (
        {
            "_op_type": "create",
            "_index": index_for(datetime.fromisoformat(d["@timestamp"]), prefix),
            "_id": d["event.id"],
            "_source": d,
        }
        for d in docs
    )
    helpers.bulk(es, actions, refresh=True)
