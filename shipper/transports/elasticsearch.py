"""The default transport: Elasticsearch `_bulk` with `create` semantics and per-item status.

Each document is indexed with `_id` = its `event.id` into its daily index, so a document sent twice
(after a crash or a lost acknowledgement) is refused with 409 and counted as delivered. The request
body is written by the spool's one `_bulk` codec (`shipper.spool.bulk`). A request goes out through
the standard-library `_bulk` client (`shipper.transports.bulk_http`: the agent then never imports the
official client, 0.2 s of CPU at each start) or, for settings only the official client covers
(`cloud_id`, `sniff`), through `elasticsearch.Elasticsearch`. Either one's failures become an
`_Answer` here, and outcomes are decided once, from it. A node that refuses to create an index
because of a cluster limit (the max-shards-per-node `validation_exception`) is a retry with cause
`SHARD_LIMIT`, never a rejection: freeing shards or raising the limit lets it through.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import quote

from shipper.connection import ElasticsearchSettings, make_client
from shipper.schema import index_template, template_name
from shipper.spool.bulk import SpooledEvent, bulk_body
from shipper.transports import bulk_http
from shipper.transports.base import DELIVERED, SHARD_LIMIT, Outcome, TemplateCheck, retry_all

_FILTER_PATH: Final = "errors,items.*.status,items.*.error.type,items.*.error.reason"
_SPLIT_STATUSES: Final = (400, 413)  # whole request refused: find the culprit by halving the batch


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one `_bulk` request came to: the body of an accepted request, or the status and reason
    of a refused one, or (`unreachable`) the reason no node took it."""

    body: dict[str, Any] | None = None
    status: int = 0
    reason: str = ""
    unreachable: bool = False


class _Poster(Protocol):
    def post(self, body: bytes, timeout: float) -> _Answer: ...

    def template(self, prefix: str, timeout: float) -> TemplateCheck: ...

    def close(self) -> None: ...


class ElasticsearchTransport:
    """Sends batches to `_bulk`; one client (and connection pool) per transport."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        light = bulk_http.covers(settings)
        self._poster: _Poster = _LightPoster(settings) if light else _OfficialPoster(settings)

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]:
        if not batch:
            return []
        answer = self._poster.post(bulk_body(batch), max(timeout, 0.05))
        if answer.unreachable:  # connection refused, timeout, TLS: try again later
            return retry_all(batch, answer.reason)
        if answer.body is None:
            return self._whole_request_failed(batch, timeout, answer.status, answer.reason)
        items = answer.body.get("items")
        if not isinstance(items, list) or len(items) != len(batch):
            # An answer that does not account for every document (a proxy, a cache or a gateway in front
            # of the cluster answering `{"errors": false}` alone) acknowledges none of them: each
            # document's result is what says it was indexed (the ids make a second send harmless).
            count = len(items) if isinstance(items, list) else 0
            return retry_all(batch, f"the answer holds {count} results for {len(batch)} documents")
        if not answer.body.get("errors"):
            return [DELIVERED] * len(batch)
        return [_item_outcome(item) for item in items]

    def _whole_request_failed(
        self, batch: Sequence[SpooledEvent], timeout: float, status: int, reason: str
    ) -> list[Outcome]:
        if is_shard_limit(status, reason):  # before splitting: no half of the batch would fare better
            return [Outcome("retry", status, reason, SHARD_LIMIT)] * len(batch)
        if status in _SPLIT_STATUSES:
            if len(batch) == 1:
                return [Outcome("rejected", status, reason)]
            half = len(batch) // 2
            return self.send(batch[:half], timeout) + self.send(batch[half:], timeout)
        return retry_all(batch, reason, status)

    def ensure_template(self, prefix: str, timeout: float) -> TemplateCheck:
        """The events' index template for `prefix` exists, or is created now (`base`'s docstring)."""
        return self._poster.template(prefix, max(timeout, 0.05))

    def close(self) -> None:
        self._poster.close()


def _template_answer(status: int, reason: str) -> TemplateCheck:
    """A refused `PUT _index_template?create=true`: present after all when another writer (`logloop
    setup`, a second agent) created it meanwhile; a server in trouble is asked again later."""
    if status == 429 or status >= 500:
        return TemplateCheck("unreachable", reason)
    if status == 400 and "already exists" in reason:
        return TemplateCheck("present")
    return TemplateCheck("refused", f"{status} {reason}")


class _LightPoster:
    """`_bulk` through the standard-library client (`shipper.transports.bulk_http`)."""

    _QUERY: Final = "filter_path=" + quote(_FILTER_PATH, safe=",*")

    def __init__(self, settings: ElasticsearchSettings) -> None:
        self._client = bulk_http.BulkClient(settings)

    def post(self, body: bytes, timeout: float) -> _Answer:
        try:
            response = self._client.send(body, self._QUERY, timeout)
        except bulk_http.TimedOut as exc:
            return _Answer(reason=f"ConnectionTimeout: {exc}", unreachable=True)
        except bulk_http.Unreachable as exc:
            return _Answer(reason=f"ConnectionError: {exc}", unreachable=True)
        if not 200 <= response.status < 300:
            return _Answer(status=response.status, reason=bulk_http.error_message(response.body))
        if not response.is_elasticsearch:  # as the official client: not an acknowledgement
            reason = "UnsupportedProductError: the server is not Elasticsearch"
            return _Answer(status=response.status, reason=reason)
        if not isinstance(response.body, dict):
            return _Answer(reason="SerializationError: the answer is not a JSON object", unreachable=True)
        return _Answer(body=response.body)

    def template(self, prefix: str, timeout: float) -> TemplateCheck:
        path = "/_index_template/" + quote(template_name(prefix), safe="")
        try:
            found = self._client.call("GET", path + "?filter_path=index_templates.name", None, timeout)
            if found.status == 200:
                return TemplateCheck("present")
            if found.status != 404:
                return _template_answer(found.status, bulk_http.error_message(found.body))
            body = json.dumps(index_template(prefix)).encode()
            made = self._client.call("PUT", path + "?create=true", body, timeout)
        except (bulk_http.TimedOut, bulk_http.Unreachable) as exc:
            return TemplateCheck("unreachable", str(exc))
        if 200 <= made.status < 300:
            return TemplateCheck("installed")
        return _template_answer(made.status, bulk_http.error_message(made.body))

    def close(self) -> None:
        self._client.close()


class _OfficialPoster:
    """`_bulk` through `elasticsearch.Elasticsearch`, for the settings only it covers."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        self._client = make_client(settings)
        self._timed: tuple[float, Any] | None = None  # (timeout, client with it): see _with_timeout

    def _with_timeout(self, timeout: float) -> Any:
        """The client with this request timeout. `options()` builds a whole client (with its forty
        namespaces) per call; the timeout only changes while stopping, so the last one is kept."""
        if self._timed is None or self._timed[0] != timeout:
            self._timed = (timeout, self._client.options(request_timeout=timeout))
        return self._timed[1]

    def post(self, body: bytes, timeout: float) -> _Answer:
        from elasticsearch import ApiError, TransportError

        try:
            response = self._with_timeout(timeout).bulk(operations=body, filter_path=_FILTER_PATH)
        except ApiError as exc:
            return _Answer(status=exc.meta.status, reason=bulk_http.error_message(exc.body))
        except TransportError as exc:
            return _Answer(reason=f"{type(exc).__name__}: {exc.message}", unreachable=True)
        found: dict[str, Any] = response.body if hasattr(response, "body") else dict(response)
        return _Answer(body=found)

    def template(self, prefix: str, timeout: float) -> TemplateCheck:
        from elasticsearch import ApiError, TransportError

        indices = self._with_timeout(timeout).indices
        name = template_name(prefix)
        try:
            if indices.exists_index_template(name=name):
                return TemplateCheck("present")
            indices.put_index_template(name=name, create=True, **index_template(prefix))
        except ApiError as exc:
            return _template_answer(exc.meta.status, bulk_http.error_message(exc.body))
        except TransportError as exc:
            return TemplateCheck("unreachable", f"{type(exc).__name__}: {exc.message}")
        return TemplateCheck("installed")

    def close(self) -> None:
        self._client.close()


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
    if is_shard_limit(status, reason):
        return Outcome("retry", status, reason, SHARD_LIMIT)
    if reason.startswith(_PASSING_REFUSALS):
        return Outcome("retry", status, reason)
    return Outcome("rejected", status, reason)


# An index's refusals that an operator lifts, the document unchanged: a write block (the disk's flood
# stage, `index.blocks.write`) and a closed index (reopened). Dead-lettered, such documents were never
# sent again once it was lifted; they wait in the spool instead, within its bound, as for a busy node.
_PASSING_REFUSALS: Final = ("cluster_block_exception", "index_closed_exception")


def is_shard_limit(status: int, reason: str) -> bool:
    """The node refused to create an index because the cluster has too many shards open."""
    text = reason.lower()
    return status == 400 and "validation" in text and "shards" in text and "maximum" in text
