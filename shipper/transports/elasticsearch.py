"""The default transport: Elasticsearch `_bulk` with `create` semantics and per-item status.

Each document is indexed with `_id` = its `event.id` into its daily index, so a document sent twice
(after a crash or a lost acknowledgement) is refused with 409 and counted as delivered. The request
body is the spool's own bytes when the batch carries them (`SpooledBatch.ndjson`: the spool keeps
documents as `_bulk` lines), else built from the spooled JSON without re-serializing it.
Elasticsearch client errors are translated into outcomes here, at this one boundary.
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
        self._timed: tuple[float, Any] | None = None  # (timeout, client with it): see _with_timeout

    def _with_timeout(self, timeout: float) -> Any:
        """The client with this request timeout. `options()` builds a whole client (with its forty
        namespaces) per call; the timeout only changes while stopping, so the last one is kept."""
        timeout = max(timeout, 0.05)
        if self._timed is None or self._timed[0] != timeout:
            self._timed = (timeout, self._client.options(request_timeout=timeout))
        return self._timed[1]

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]:
        if not batch:
            return []
        from elasticsearch import ApiError, TransportError

        try:
            response = self._with_timeout(timeout).bulk(
                operations=getattr(batch, "ndjson", None) or _ndjson(batch), filter_path=_FILTER_PATH
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


def _ndjson(batch: Sequence[SpooledEvent]) -> bytes:
    """The request body: each spooled document's bytes after its `create` action line, joined once."""
    lines: list[bytes] = []
    append = lines.append
    prefixes: dict[str, bytes] = {}  # one daily index or two per batch: its part of the line built once
    for event in batch:
        index, event_id = event.index, event.event_id
        prefix = prefixes.get(index)
        if prefix is None:
            prefix = prefixes[index] = (
                f'{{"create":{{"_index":"{index}","_id":"'.encode() if _SAFE.fullmatch(index) else b""
            )
        if prefix and (event_id.isalnum() or _SAFE.fullmatch(event_id)):  # no JSON escaping needed
            append(prefix + event_id.encode() + b'"}}')
        else:
            action = {"create": {"_index": index, "_id": event_id}}
            append(json.dumps(action, separators=(",", ":")).encode())
        append(event.body)
    append(b"")  # the body ends with a newline
    return b"\n".join(lines)


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
