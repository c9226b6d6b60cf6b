"""Hand-built ECS event documents for the analyzer tests, indexed on the real node with known times."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from shipper.schema import index_for

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday: the frozen "now" of the analyzer tests

TRACE = """Traceback (most recent call last):
  File "/srv/app/jobs.py", line 12, in run
    result = compute(item)
ValueError: bad item
"""


def event(
    key: str | None,
    at: datetime,
    *,
    level: str = "error",
    trace: bool = True,
    version: str | None = "1.0",
    host: str = "host-a",
    service: str = "svc",
    dataset: str = "logloop.log",
    message: str = "bad item",
    feedback_kind: str | None = None,
    grouping_version: int | None = 1,
) -> dict[str, Any]:
    """A nested ECS document; `key=None` leaves out the grouping fields (another shipper's event)."""
    doc: dict[str, Any] = {
        "@timestamp": at.isoformat().replace("+00:00", "Z"),
        "message": message,
        "event": {"id": uuid.uuid4().hex, "dataset": dataset},
        "log": {"level": level, "logger": "app"},
        "service": {"name": service},
        "host": {"name": host},
    }
    if version is not None:
        doc["service"]["version"] = version
    if dataset == "logloop.log" and level in ("error", "critical"):
        doc["error"] = {"type": "builtins.ValueError", "message": message}
        if trace:
            doc["error"]["stack_trace"] = TRACE
    if feedback_kind is not None:
        doc["logloop"] = {"feedback": {"kind": feedback_kind}}
    if key is not None:
        doc.setdefault("error", {}).update({"grouping_key": key, "grouping_name": f"ValueError: {key}"})
        if grouping_version is not None:
            doc.setdefault("logloop", {})["grouping_version"] = grouping_version
    return doc


def index_events(es: Any, prefix: str, docs: Iterable[Mapping[str, Any]]) -> None:
    """Index into the daily indices with op_type create and refresh, as the shipper does."""
    operations: list[Mapping[str, Any]] = []
    for doc in docs:
        at = datetime.fromisoformat(str(doc["@timestamp"]).replace("Z", "+00:00"))
        operations.append({"create": {"_index": index_for(at, prefix), "_id": doc["event"]["id"]}})
        operations.append(doc)
    if operations:
        response = es.bulk(operations=operations, refresh=True)
        assert not response["errors"], response["items"][:3]
