"""The default transport: Elasticsearch `_bulk` with `create` semantics and per-item status.

Each document is indexed with `_id` = its `event.id` into its daily index, so a document sent twice
(after a crash or a lost acknowledgement) is refused with 409 and counted as delivered. The request
body is built from the spooled JSON bytes without re-serializing them. Elasticsearch client errors
are translated into outcomes here, at this one boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from shipper.connection import ElasticsearchSettings, make_client
from shipper.spool import SpooledEvent
from shipper.transports import DELIVERED, Outcome, retry_all

_FILTER_PATH: Final = "errors,items.*.status,items.*.error.type,items.*.error.reason"
_SAFE: Final = re.compile(r"[\w.+-]+")
_SPLIT_STATUSES: Final = (400, 413)  # whole request refused: find the culprit by halving the batch


class ElasticsearchTransport:
    """Sends batches to `_bulk`; one client (and connection pool) per transport."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        self._client = make_client(settings)

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]:
        if not batch:
            return []
        from elasticsearch import ApiError, TransportError

        try:
            response = self._client.options(request_timeout=max(timeout, 0.05)).bulk(
                operations=_ndjson(batch), filter_path=_FILTER_PATH
            )
        except ApiError as exc:
            return self._whole_request_failed(batch, timeout, exc.meta.status, str(exc.message))
        except TransportError as exc:  # connection refused, timeout, TLS: try again later
            return retry_all(batch, f"{type(exc).__name__}: {exc.message}")
        body: dict[str, Any] = response.body if hasattr(response, "body") else dict(response)
        if not body.get("errors"):
            return [DELIVERED] * len(batch)
        return [_item_outcome(item) for item in body.get("items", [])] or retry_all(batch, "empty response")

    def _whole_request_failed(
        self, batch: Sequence[SpooledEvent], timeout: float, status: int, reason: str
    ) -> list[Outcome]:
        if status in _SPLIT_STATUSES:
            if len(batch) == 1:
                return [Outcome("rejected", status, reason)]
            half = len(batch) // 2
            return self.send(batch[:half], timeout) + self.send(batch[half:], timeout)
        return retry_all(batch, reason, status)

    def close(self) -> None:
        self._client.close()


def _ndjson(batch: Sequence[SpooledEvent]) -> list[bytes]:
    lines: list[bytes] = []
    for event in batch:
        if _SAFE.fullmatch(event.index) and _SAFE.fullmatch(event.event_id):  # no JSON escaping needed
            lines.append(f'{{"create":{{"_index":"{event.index}","_id":"{event.event_id}"}}}}'.encode())
        else:
            action = {"create": {"_index": event.index, "_id": event.event_id}}
            lines.append(json.dumps(action, separators=(",", ":")).encode())
        lines.append(event.body)
    return lines


def _item_outcome(item: dict[str, Any]) -> Outcome:
    result: dict[str, Any] = next(iter(item.values()), {})
    status = int(result.get("status", 0))
    if status < 300 or status == 409:
        return DELIVERED
    error = result.get("error") or {}
    reason = (
        f"{error.get('type', 'error')}: {error.get('reason', '')}" if isinstance(error, dict) else str(error)
    )
    if status == 429 or status >= 500:
        return Outcome("retry", status, reason)
    return Outcome("rejected", status, reason)
