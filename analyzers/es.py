"""The analyzers' one I/O boundary with Elasticsearch.

Every request goes through here so that `elasticsearch` errors become AnalyzerError subclasses with
a one-line message in exactly one place; the rest of the package sees plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from analyzers.exceptions import AnalyzerError, ElasticsearchUnavailable, TooManyBuckets


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", None)
    info = getattr(exc, "info", None) or getattr(exc, "body", None)
    reason = None
    if isinstance(info, Mapping):
        error = info.get("error")
        if isinstance(error, Mapping):
            root = (error.get("root_cause") or [error])[0]
            reason = root.get("reason") if isinstance(root, Mapping) else None
        elif isinstance(error, str):
            reason = error
    text = reason or getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first_line = str(text).splitlines()[0] if str(text) else type(exc).__name__
    return f"HTTP {status}: {first_line}" if status else first_line


def _error_types(error: Any) -> Iterator[str]:
    """Every `type` in an error body, its causes and shard failures included."""
    if isinstance(error, Mapping):
        if isinstance(error.get("type"), str):
            yield error["type"]
        for value in error.values():
            yield from _error_types(value)
    elif isinstance(error, list):
        for item in error:
            yield from _error_types(item)


def _body(response: Any) -> Any:
    """The JSON body of a client response (an ObjectApiResponse, or a plain dict from a stand-in)."""
    return response.body if hasattr(response, "body") else response


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn any elasticsearch error raised inside into ElasticsearchUnavailable naming `action`."""
    import elasticsearch

    try:
        yield
    except AnalyzerError:
        raise
    except (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout) as exc:
        reason = _describe(exc).rsplit(": ", 1)[-1]  # "[Errno 111] Connection refused", not the repr chain
        raise ElasticsearchUnavailable(
            f"cannot reach Elasticsearch to {action} ({reason}): is the node running? "
            "(`logloop es start` for the embedded one)"
        ) from exc
    except (elasticsearch.ApiError, elasticsearch.TransportError) as exc:
        if "too_many_buckets_exception" in _error_types(getattr(exc, "body", None)):
            raise TooManyBuckets(f"Elasticsearch refused to {action}: {_describe(exc)}") from exc
        raise ElasticsearchUnavailable(f"Elasticsearch refused to {action}: {_describe(exc)}") from exc


def search(client: Any, *, index: str, body: Mapping[str, Any], action: str = "search") -> dict[str, Any]:
    """Run one search; missing indices are treated as empty (a fresh deployment has none yet)."""
    with translated(action):
        response = client.options(ignore_status=404).search(
            index=index, ignore_unavailable=True, allow_no_indices=True, **body
        )
    return dict(_body(response))


def ensure_index(client: Any, *, index: str, body: Mapping[str, Any]) -> bool:
    """Create `index` with `body` unless it exists; True when this call created it."""
    with translated(f"create index {index}"):
        if client.indices.exists(index=index):
            return False
        response = client.options(ignore_status=400).indices.create(index=index, **body)
    error = _body(response).get("error")
    if error and error.get("type") != "resource_already_exists_exception":
        raise ElasticsearchUnavailable(
            f"Elasticsearch refused to create index {index}: {error.get('reason')}"
        )
    return not error


def bulk(client: Any, *, operations: Sequence[Mapping[str, Any]], action: str, refresh: bool = False) -> int:
    """Send one `_bulk` request; raise on any failed item; return the number of items."""
    if not operations:
        return 0
    with translated(action):
        response = client.bulk(operations=list(operations), refresh=refresh)
    body = _body(response)
    if body.get("errors"):
        failed = [item for entry in body["items"] for item in entry.values() if item.get("error")]
        first = failed[0]["error"]
        raise ElasticsearchUnavailable(
            f"{action}: {len(failed)} of {len(body['items'])} bulk items failed, "
            f"first: {first.get('type')}: {first.get('reason')}"
        )
    return len(body["items"])


def create_doc(client: Any, *, index: str, doc_id: str, document: Mapping[str, Any], action: str) -> bool:
    """Index with create semantics; False when a document with this id already exists."""
    with translated(action):
        response = client.options(ignore_status=409).create(
            index=index, id=doc_id, document=dict(document), refresh="wait_for"
        )
    body = _body(response)
    return "error" not in body


def refresh(client: Any, *, index: str) -> None:
    with translated(f"refresh {index}"):
        client.options(ignore_status=404).indices.refresh(index=index)
