"""The analyzers' one I/O boundary with Elasticsearch: a client, an index prefix, and what they ask.

`Store` holds the client and the prefix, names every index the analyzers read or write (the names
come from `shipper.schema`, which owns them), and offers the few operations the analyzers need. The
rule a reader must not break: nothing else in `analyzers/` calls the client or imports
`elasticsearch`, so `elasticsearch` errors become AnalyzerError subclasses with a one-line message
naming the action in exactly one place (a broken import contract in `.importlinter` says so). The
rest of the package sees plain dicts.

`Client` is the slice of `elasticsearch.Elasticsearch` the store uses, as a Protocol: the real client
satisfies it (mypy checks that below), and so does any stand-in with these methods.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from analyzers import queries
from analyzers.deadline import Deadlined, DeadlinePassed
from analyzers.exceptions import (
    AnalyzerError,
    ElasticsearchUnavailable,
    MappingConflict,
    NotElasticsearch,
    PartialAnswer,
    TooManyBuckets,
)
from shipper import schema
from shipper.connection import TRANSIENT_STATUSES, transient_refusal

if TYPE_CHECKING:
    import elasticsearch

    from shipper.connection import Deployment

# Every client method answers with an ObjectApiResponse (a stand-in may answer with a dict): the
# store reads either through `_body`, so the Protocol promises only `object`.


class _Indices(Protocol):
    def exists(self, *, index: str) -> object: ...
    def create(self, *, index: str, body: dict[str, Any]) -> object: ...
    def refresh(self, *, index: str) -> object: ...
    def put_mapping(self, *, index: str, properties: Mapping[str, Mapping[str, Any]]) -> object: ...
    def put_settings(self, *, index: str, settings: Mapping[str, Any]) -> object: ...
    def delete(self, *, index: str) -> object: ...
    def get_settings(
        self,
        *,
        index: str,
        name: str,
        include_defaults: bool,
        flat_settings: bool,
        ignore_unavailable: bool,
        allow_no_indices: bool,
    ) -> object: ...
    def get_index_template(self, *, name: str) -> object: ...
    def simulate_index_template(self, *, name: str, filter_path: str) -> object: ...
    def put_index_template(
        self,
        *,
        name: str,
        index_patterns: str,
        priority: int,
        template: Mapping[str, Any],
        meta: Mapping[str, Any],
    ) -> object: ...


class _Cluster(Protocol):
    def health(self) -> object: ...
    def get_settings(self, *, include_defaults: bool, flat_settings: bool) -> object: ...


class _Nodes(Protocol):
    def stats(self, *, metric: str) -> object: ...


class _Ilm(Protocol):
    def get_status(self) -> object: ...
    def put_lifecycle(self, *, name: str, policy: Mapping[str, Any]) -> object: ...


class _Cat(Protocol):
    def indices(
        self, *, index: str, h: str, format: str, expand_wildcards: str, bytes: str | None = ...
    ) -> object: ...


class Client(Protocol):
    """The methods of `elasticsearch.Elasticsearch` the analyzers use, and nothing more."""

    @property
    def indices(self) -> _Indices: ...
    @property
    def cluster(self) -> _Cluster: ...
    @property
    def nodes(self) -> _Nodes: ...
    @property
    def ilm(self) -> _Ilm: ...
    @property
    def cat(self) -> _Cat: ...
    def field_caps(
        self, *, index: str, fields: Sequence[str], ignore_unavailable: bool, allow_no_indices: bool
    ) -> object: ...
    def options(self, *, ignore_status: int | Collection[int]) -> Client: ...
    def search(
        self,
        *,
        index: str,
        ignore_unavailable: bool,
        allow_no_indices: bool,
        allow_partial_search_results: bool | None = ...,
        request_cache: bool | None = ...,
        filter_path: str | None = ...,
        body: dict[str, Any],
    ) -> object: ...
    def bulk(self, *, operations: Sequence[Mapping[str, Any]], refresh: bool) -> object: ...
    def create(
        self, *, index: str, id: str, document: Mapping[str, Any], refresh: bool | str | None
    ) -> object: ...
    def index(
        self,
        *,
        index: str,
        id: str,
        document: Mapping[str, Any],
        if_seq_no: int,
        if_primary_term: int,
    ) -> object: ...
    def get(self, *, index: str, id: str) -> object: ...
    def delete(self, *, index: str, id: str, refresh: bool) -> object: ...
    def close(self) -> None: ...


if TYPE_CHECKING:

    def _the_real_client_is_a_client(client: elasticsearch.Elasticsearch) -> Client:
        return client  # mypy fails here when the Protocol asks for something the client lacks


# --- error translation (the one place) -------------------------------------------------------------


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


def _error_types(error: object) -> Iterator[str]:
    """Every `type` in an error body, its causes and shard failures included."""
    if isinstance(error, Mapping):
        if isinstance(error.get("type"), str):
            yield error["type"]
        for value in error.values():
            yield from _error_types(value)
    elif isinstance(error, list):
        for item in error:
            yield from _error_types(item)


def _body(response: object) -> Any:
    """The JSON body of a client response (an ObjectApiResponse, or a plain dict from a stand-in)."""
    return getattr(_answered(response), "body", response)


def _answered(response: Any) -> Any:
    """`response`, if Elasticsearch gave it. The client checks the product header of 2xx answers only,
    and a status the store ignores (404: "no such index", read as none) comes back as an answer: a web
    server or proxy that answers 404 to every path would read as an empty cluster (`check` OK, an
    empty digest), so an error status without the header is NotElasticsearch here."""
    meta = getattr(response, "meta", None)
    status = getattr(meta, "status", None)
    if not isinstance(status, int) or status < 400:
        return response
    if getattr(meta, "headers", {}).get("x-elastic-product") == "Elasticsearch":
        return response
    node = getattr(meta, "node", None)
    where = f"{node.scheme}://{node.host}:{node.port}{node.path_prefix or ''}" if node else "the node"
    raise NotElasticsearch(
        f"{where} is not Elasticsearch (it answered HTTP {status} without Elasticsearch's product header): "
        "check the host, port and path in [elasticsearch] url"
    )


def _mapping(response: object) -> dict[str, Any]:
    body = _body(response)
    return dict(body) if isinstance(body, Mapping) else {}


def _node(exc: Exception) -> str:
    """`http://127.0.0.1:9200` for the node an API error came from, else "the configured node"."""
    node = getattr(getattr(exc, "meta", None), "node", None)
    if node is None or not getattr(node, "host", None):
        return "the configured node"
    return f"{node.scheme}://{node.host}:{node.port}{node.path_prefix or ''}"


# What a connection failure's text means and what the user does about it (first match wins), and
# whether the library's own reason adds anything (an OpenSSL code or a socket repr does not).
_CONNECTION_ADVICE: Final = (
    (
        ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure", "http request"),
        "the node speaks plain http, not https: write http:// in [elasticsearch] url",
        False,
    ),
    (
        ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
        "its TLS certificate is not trusted: set [elasticsearch] ca_certs to the CA that signed it",
        False,
    ),
    (
        ("Failed to resolve", "Name or service not known", "nodename nor servname"),
        "the host name does not resolve: check the host in [elasticsearch] url",
        True,
    ),
    (
        ("Connection refused",),
        "nothing listens at that host and port: is the node running? "
        "(`logloop es start` for the embedded one)",
        True,
    ),
    (
        ("Connection aborted", "reset by peer", "RemoteDisconnected", "closed connection", "EOF occurred"),
        "the port closed the connection without an answer: check the scheme and port in [elasticsearch] url "
        "(a node with TLS needs https://)",
        False,
    ),
)


def _unreachable(
    exc: Exception, action: str, *, timed_out: bool, timeout: float | None
) -> ElasticsearchUnavailable:
    text = " ".join(str(part) for part in (getattr(exc, "message", ""), exc, *getattr(exc, "errors", ())))
    if timed_out or "timed out" in text.lower():
        return _too_slow(action, timeout)
    advice = "is the node running? (`logloop es start` for the embedded one)"
    show_reason = True
    for needles, text_of_advice, reason_helps in _CONNECTION_ADVICE:
        if any(needle.lower() in text.lower() for needle in needles):
            advice, show_reason = text_of_advice, reason_helps
            break
    if not show_reason:
        return ElasticsearchUnavailable(f"cannot reach Elasticsearch to {action}: {advice}")
    reason = _describe(exc).rsplit(": ", 1)[-1]
    return ElasticsearchUnavailable(f"cannot reach Elasticsearch to {action} ({reason}): {advice}")


def _too_slow(action: str, seconds: float | None) -> ElasticsearchUnavailable:
    """The one wording of a request not answered in time: silent, or answering too slowly (a drip)."""
    within = f"{seconds:g}s" if seconds is not None else "[elasticsearch] request_timeout"
    return ElasticsearchUnavailable(
        f"Elasticsearch did not answer within {within} to {action} (the deadline for a request's whole "
        "answer): the node is overloaded, or the URL reaches something that is not Elasticsearch; raise "
        "[elasticsearch] request_timeout if the node is only slow"
    )


# Refusals a proxy in front of the node gives in its own name (credentials, its own authentication):
# told as such, not as "not Elasticsearch" (5xx and 429 are told before: the node may be starting).
_PROXY_STATUSES: Final = frozenset({401, 403, 407})


def _refused(exc: Exception, action: str) -> ElasticsearchUnavailable:
    import elasticsearch

    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "meta", None), "status", None)
    body = getattr(exc, "body", None)
    if isinstance(exc, elasticsearch.UnsupportedProductError):
        return ElasticsearchUnavailable(
            f"{_node(exc)} is not Elasticsearch (it answered HTTP {status} without Elasticsearch's product "
            f"header, asked to {action}): check the host and port in [elasticsearch] url"
        )
    if "too_many_buckets_exception" in _error_types(body):
        return TooManyBuckets(f"Elasticsearch refused to {action}: {_describe(exc)}")
    blocked = _read_only_advice(body.get("error") if isinstance(body, Mapping) else None)
    if blocked:  # (a flood-stage block is HTTP 429, but no retry lifts it)
        return ElasticsearchUnavailable(f"Elasticsearch refused to {action}: {blocked}")
    if status in TRANSIENT_STATUSES:  # whatever the body: a proxy's page, or the node's JSON
        reason = _describe(exc).partition(": ")[2] if isinstance(body, Mapping) else None
        wording = transient_refusal(_node(exc), status, _phrase(status), action, reason)
        return ElasticsearchUnavailable(wording)
    headers = getattr(getattr(exc, "meta", None), "headers", None) or {}
    if isinstance(status, int) and status not in _PROXY_STATUSES and headers.get("x-elastic-product") is None:
        return NotElasticsearch(
            f"{_node(exc)} is not Elasticsearch (it answered HTTP {status} without Elasticsearch's product "
            f"header, asked to {action}): check the host, port and path in [elasticsearch] url"
        )
    if status in (401, 403):
        return ElasticsearchUnavailable(
            f"Elasticsearch refused to {action}: HTTP {status} {_phrase(status)}: check [elasticsearch] "
            "api_key or username/password, and that the user may read and write the logloop indices"
        )
    if status == 400 and (body is None or "no handler found for uri" in str(body)):
        # The node's answer to a path it has no handler for (a HEAD's without a body): the URL has a
        # path the node does not take (`http://host:9200/es`), or a proxy's prefix is wrong.
        return ElasticsearchUnavailable(
            f"{_node(exc)} has no such endpoint (HTTP 400, asked to {action}): check the path in "
            "[elasticsearch] url; Elasticsearch takes none, unless a proxy in front of it adds one"
        )
    return ElasticsearchUnavailable(f"Elasticsearch refused to {action}: {_describe(exc)}")


_BLOCKED_INDEX: Final = re.compile(r"index \[([^\]]+)\]")


def _read_only_advice(error: object) -> str | None:
    """What to do about a write refused by an index block, or None for any other error."""
    if "cluster_block_exception" not in _error_types(error):
        return None
    reason = str(error.get("reason") or "") if isinstance(error, Mapping) else ""
    if isinstance(error, Mapping) and not _BLOCKED_INDEX.search(reason):
        causes = error.get("root_cause") or []
        reason = str(causes[0].get("reason") or "") if causes and isinstance(causes[0], Mapping) else reason
    found = _BLOCKED_INDEX.search(reason)
    index = found.group(1) if found else "an index"
    if "flood-stage" in reason or "read_only_allow_delete" in reason:
        return (
            f"{index} is read-only because the node's disk passed the flood-stage watermark "
            "(index.blocks.read_only_allow_delete): free disk space; Elasticsearch lifts the block itself "
            "once usage falls below the high watermark"
        )
    setting = (
        "index.blocks.read_only" if "read-only" in reason or "read_only" in reason else "index.blocks.write"
    )
    return (
        f"{index} is read-only ({setting}): lift the block with "
        f'PUT {index}/_settings {{"{setting}": null}} once whoever set it agrees'
    )


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


@contextmanager
def translated(action: str, *, timeout: float | None = None) -> Iterator[None]:
    """Turn any elasticsearch error raised inside into ElasticsearchUnavailable naming `action` (and
    `timeout`, the client's request timeout in seconds, when a request timed out)."""
    import elasticsearch  # here, not at the top: `import analyzers.store` stays cheap for the CLI

    try:
        yield
    except AnalyzerError:
        raise
    except DeadlinePassed as exc:  # the answer did not end in time, however its bytes came
        raise _too_slow(action, exc.seconds) from None
    except (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout) as exc:
        timed_out = isinstance(exc, elasticsearch.ConnectionTimeout)
        raise _unreachable(exc, action, timed_out=timed_out, timeout=timeout) from exc
    except (elasticsearch.ApiError, elasticsearch.TransportError) as exc:
        raise _refused(exc, action) from exc


# Mapping types that answer the analyzers' queries alike: a field mapped in the same family as
# `shipper.schema.FIELDS` says is no conflict (a constant_keyword service.name aggregates like keyword).
_FAMILY: Final = {
    "keyword": "keyword",
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "long": "number",
    "integer": "number",
    "short": "number",
    "byte": "number",
    "unsigned_long": "number",
    "date": "date",
    "date_nanos": "date",
}


def _conflict_text(conflicts: Sequence[tuple[str, str, str, tuple[str, ...]]]) -> str:
    """`index x maps error.grouping_key as text (logloop needs keyword) and 3 more fields`."""
    name, found, want, indices = conflicts[0]
    where = (
        f"index {indices[0]}"
        if len(indices) == 1
        else f"{len(indices)} indices ({', '.join(indices[:2])}, ...)"
    )
    more = f" and {len(conflicts) - 1} more field(s)" if len(conflicts) > 1 else ""
    return f"{where} maps {name} as {found} (logloop needs {want}){more}"


# --- answers the cluster gave in part --------------------------------------------------------------


class PartialAnswers:
    """What the cluster left out of the answers a store received: one line per cause (a shard that
    failed, a search that timed out, a closed index), each said once, in the order first met.

    Elasticsearch answers a search with HTTP 200 when some shards failed (`_shards.failed`) or the
    search timed out (`timed_out`), with the counts of what it did read: a reader must be told the
    numbers are lower bounds. Thread-safe (group pages are read ahead on a worker thread)."""

    def __init__(self) -> None:
        self._lines: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.setdefault(line, None)

    def lines(self, since: int = 0) -> tuple[str, ...]:
        """The lines added after the first `since` (a `mark()`)."""
        with self._lock:
            return tuple(self._lines)[since:]

    def mark(self) -> int:
        with self._lock:
            return len(self._lines)


def partial_line(body: Mapping[str, Any], action: str) -> str | None:
    """One line saying what a search answer left out, or None when it is whole."""
    shards = body.get("_shards")
    failed = shards.get("failed") if isinstance(shards, Mapping) else 0
    failed = failed if isinstance(failed, int) else 0
    timed_out = body.get("timed_out") is True
    if not failed and not timed_out:
        return None
    parts = []
    if failed:
        total = shards.get("total") if isinstance(shards, Mapping) else None
        of = f" of {total}" if isinstance(total, int) else ""
        failures = shards.get("failures") if isinstance(shards, Mapping) else None
        first = failures[0] if isinstance(failures, list) and failures else {}
        reason = first.get("reason") if isinstance(first, Mapping) else None
        index = first.get("index") if isinstance(first, Mapping) else None
        why = (
            ": ".join(str(part) for part in (reason.get("type"), reason.get("reason")) if part)
            if isinstance(reason, Mapping)
            else str(reason or "no reason given")
        )
        where = f" (first: {index}, {why})" if index else f" ({why})"
        parts.append(f"{failed}{of} shards failed{where}")
    if timed_out:
        parts.append("the search timed out and answered with what it had read")
    said = "; ".join(parts)
    line = " ".join(
        f"Elasticsearch answered in part to {action}: {said}; its counts are lower bounds".split()
    )
    return line[:400]


def _raise_for_failed(body: Sequence[Mapping[str, Any]], action: str, *, total: int | None = None) -> None:
    """Raise ElasticsearchUnavailable naming the first failed item of a `_bulk` answer's `items` (and
    how to lift an index block), if any failed."""
    failed = [item for entry in body for item in entry.values() if item.get("error")]
    if failed:
        first = failed[0]["error"]
        blocked = _read_only_advice(first)
        raise ElasticsearchUnavailable(
            f"{action}: {len(failed)} of {total if total is not None else len(body)} bulk items failed, "
            + (blocked or f"first: {first.get('type')}: {first.get('reason')}")
        )


def closed_line(closed: Sequence[str]) -> str | None:
    """One line naming closed indices and what to do, or None when there are none."""
    if not closed:
        return None
    shown = ", ".join(closed[:3]) + (f" and {len(closed) - 3} more" if len(closed) > 3 else "")
    return (
        f"{len(closed)} closed index{'es' if len(closed) != 1 else ''} ({shown}) cannot be read: "
        "what they hold is left out; open them (POST <index>/_open) or delete them"
    )


_MISSING_SHARD: Final = re.compile(
    r"\[([^\[\]]+)\]\[\d+\]"
)  # "[index][0]" in "missing shards [[index][0], ...]"


def _unreadable_indices(exc: BaseException | None) -> tuple[str, ...]:
    """The indices a refused search names as holding the shards it could not read (sorted)."""
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return ()
    names = set(_MISSING_SHARD.findall(str(error)))
    for cause in (error, error.get("caused_by")):
        for failure in (cause.get("failed_shards") or ()) if isinstance(cause, Mapping) else ():
            if isinstance(failure, Mapping) and isinstance(failure.get("index"), str):
                names.add(failure["index"])
    return tuple(sorted(names))


def _shards_refused(exc: BaseException | None) -> str | None:
    """What a search sent with `allow_partial_search_results=false` says about the shards it could not
    read (HTTP 5xx or 429 `search_phase_execution_exception`, or a timeout), or None for another error."""
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    if "search_phase_execution_exception" not in _error_types(error) and "timeout" not in str(error).lower():
        return None
    cause = error.get("caused_by")
    reasons = [cause.get("reason") if isinstance(cause, Mapping) else None]  # "missing shards [[x][0]]"
    for failure in error.get("failed_shards") or ():
        if isinstance(failure, Mapping) and isinstance(failure.get("reason"), Mapping):
            reason = failure["reason"]
            reasons.append(f"{failure.get('index')}: {reason.get('type')}: {reason.get('reason')}")
    reasons.append(error.get("reason"))  # the phase's own reason says least ("start", "")
    said = next((str(reason) for reason in reasons if reason), "shards failed")
    missing = _missing_shards_text(said)
    if missing is not None:
        return missing
    said = " ".join(
        said.replace(
            "Consider using `allow_partial_search_results` setting to bypass this error.", ""
        ).split()
    )
    return said[:300]


def _missing_shards_text(reason: str) -> str | None:
    """ "Search rejected due to missing shards [[a][1], [b][1], ...]" (one pair per shard, every daily
    index of a prefix when a node without replicas left) said in a line of bounded length: how many
    shards of how many indices, the first indices, and where to look; None for another reason."""
    if "missing shards" not in reason:
        return None
    pairs = _MISSING_SHARD_PAIR.findall(reason)
    if not pairs:
        return None
    indices = sorted({index for index, _ in pairs})
    shown = ", ".join(indices[:3]) + (f" and {len(indices) - 3} more" if len(indices) > 3 else "")
    shards = f"{len(pairs)} shard{'s' if len(pairs) != 1 else ''}"
    return (
        f"missing shards: {shards} of {len(indices)} index{'es' if len(indices) != 1 else ''} ({shown}) "
        f"{'have' if len(pairs) != 1 else 'has'} no active copy "
        "(a node left and they have no replica there, or the index is red): "
        "GET _cluster/allocation/explain says why"
    )


_MISSING_SHARD_PAIR: Final = re.compile(r"\[([^\[\]]+)\]\[(\d+)\]")


# Pauses (seconds) before asking again a search that must be whole and came back partial: a shard
# relocating or a node restarting is back within seconds; a red index is not, and then the caller stops.
WHOLE_ANSWER_RETRIES: tuple[float, ...] = (1.0, 5.0)


# --- the store -------------------------------------------------------------------------------------


# Search options that travel in the URL, not the JSON body. A body built in `analyzers.queries` or
# `group_pages` may carry them beside `query`/`aggs`; `Store.search` moves them to the URL.
# The analyzers' own indices are small: one shard, and the replicas of `[indices] replicas` (by default
# one wherever a second node can hold it: these settings; `Store.bookkeeping_settings` is the configured).
BOOKKEEPING_SETTINGS: Final = {"index.number_of_shards": 1, "index.auto_expand_replicas": "0-1"}
# The index template each bookkeeping index gets (`Store.ensure_bookkeeping_index`): one per index, its
# pattern the index's exact name, at a priority no event template of logloop's uses (the events' is 200).
BOOKKEEPING_TEMPLATE_PRIORITY: Final = 510


def bookkeeping_template_name(index: str) -> str:
    """`<index>-bookkeeping`: under the prefix, so what removes a prefix's templates removes it too."""
    return f"{index}-bookkeeping"


_URL_PARAMETERS: Final = ("allow_partial_search_results", "request_cache", "filter_path")


@dataclass(frozen=True)
class Store:
    """The indices under one prefix on one cluster, and the requests the analyzers send them.

    `client` is an `elasticsearch.Elasticsearch` (or anything satisfying `Client`); `prefix` is the
    `[elasticsearch] index_prefix`. `close()` closes the client: the commands, which build both with
    `connect`, use `contextlib.closing(connect(settings))`; a caller that passes its own client keeps it.
    """

    client: Client
    prefix: str = schema.DEFAULT_INDEX_PREFIX
    # What the cluster answered only in part, for the commands to say (`PartialAnswers`).
    partial: PartialAnswers = field(default_factory=PartialAnswers, compare=False, repr=False)
    # Every search must be answered whole (`requiring_whole_answers`): a partial one raises PartialAnswer.
    whole: bool = False
    # Event indices a reader that may answer in part (the digest, check, group show) leaves out of every
    # search because they map a field the analyzers query with another type (`_leave_out_conflicts`).
    left_out: set[str] = field(default_factory=set, compare=False, repr=False)
    # Bookkeeping indices whose index template this store (and its `requiring_whole_answers` twin) put
    # and then found the index present: `ensure_bookkeeping_index` puts a template once per command, not
    # once per write (an alert claim each), each PUT being a cluster-state update on the master.
    ensured: set[str] = field(default_factory=set, compare=False, repr=False)
    # `[indices] replicas` ("auto" or a number): the bookkeeping indices get the events' replicas.
    replicas: int | str = schema.AUTO_REPLICAS

    # Index names, all from shipper.schema.
    @property
    def events(self) -> str:
        """The wildcard over every daily event index."""
        return schema.index_pattern(self.prefix)

    @property
    def event_template(self) -> str:
        """The composable index template of the daily event indices."""
        return schema.template_name(self.prefix)

    @property
    def registry(self) -> str:
        return schema.registry_index(self.prefix)

    @property
    def group_edits(self) -> str:
        return schema.group_edits_index(self.prefix)

    @property
    def templates(self) -> str:
        return schema.templates_index(self.prefix)

    @property
    def alerts(self) -> str:
        return schema.alerts_index(self.prefix)

    @property
    def digest_sends(self) -> str:
        return schema.digest_sends_index(self.prefix)

    def close(self) -> None:
        self.client.close()

    @property
    def bookkeeping_settings(self) -> dict[str, Any]:
        """One shard, and the configured replicas (`[indices] replicas`, as the daily indices have)."""
        return schema.IndexLayout(shards=1, replicas=self.replicas).settings()

    def _translated(self, action: str) -> AbstractContextManager[None]:
        """`translated(action)` with this client's request timeout, which a timeout message names."""
        # The deadline `connect` set, else the request timeout elasticsearch-py keeps there.
        seconds = getattr(self.client, "deadline_seconds", None) or getattr(
            self.client, "_request_timeout", None
        )
        return translated(action, timeout=seconds if isinstance(seconds, int | float) else None)

    def requiring_whole_answers(self) -> Store:
        """This store (same client, prefix and `partial` lines) for a caller that writes what it
        concludes from the answers (`logloop analyze` and the registry): every search is sent with
        `allow_partial_search_results=false`, asked again after a pause when shards failed, were missing
        or it timed out (`WHOLE_ANSWER_RETRIES`), and then raises PartialAnswer instead of answering
        with lower bounds. A group whose events sat on the missing shards would otherwise look gone."""
        return dataclasses.replace(self, whole=True)

    def closed_indices(self, *, action: str) -> list[str]:
        """The closed event and registry indices under the prefix (searches skip them silently), sorted;
        empty when `_cat/indices` is refused (a role without the privilege) or the node is unreachable."""
        try:
            with self._translated(action):
                response = self.client.options(ignore_status=404).cat.indices(
                    index=f"{self.prefix}-*", h="index,status", format="json", expand_wildcards="closed"
                )
        except ElasticsearchUnavailable:
            return []
        rows = _body(response)
        return sorted(
            str(row.get("index"))
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, Mapping)
            and row.get("status") == "close"
            and (fnmatch.fnmatchcase(str(row.get("index")), self.events) or row.get("index") == self.registry)
        )

    # Documents and searches.
    def search(self, *, index: str, body: Mapping[str, Any], action: str = "search") -> dict[str, Any]:
        """Run one search; missing indices are treated as empty (a fresh deployment has none yet).
        On a store `requiring_whole_answers`, a partial answer is asked again, then raises PartialAnswer."""
        if not self.whole:
            return self._leave_out_conflicts(index=index, body=body, action=action)
        for pause in (*WHOLE_ANSWER_RETRIES, None):
            try:
                return self._search(
                    index=index, body={**body, "allow_partial_search_results": False}, action=action
                )
            except PartialAnswer:
                if pause is None:
                    raise
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _leave_out_conflicts(self, *, index: str, body: Mapping[str, Any], action: str) -> dict[str, Any]:
        """`_search`, leaving out the event indices a MappingConflict names, or whose shards a request
        that must be whole (a page of groups) could not read (a red index), said as a `partial` line:
        one index created without logloop's template (another shipper's, or written before `logloop
        setup`) or one lost shard does not stop the digest or the check; they say what they could not
        read. When no event index is left, the error is raised: there is nothing to report from."""
        refused: MappingConflict | PartialAnswer | None = None
        while True:
            excluded = [f"-{name}" for name in sorted(self.left_out)] if index == self.events else []
            try:
                answer = self._search(index=",".join([index, *excluded]), body=body, action=action)
            except (MappingConflict, PartialAnswer) as exc:
                culprits = set(exc.indices) - self.left_out
                if index != self.events or not culprits:
                    raise
                self.left_out.update(culprits)
                refused = exc
                continue
            shards = answer.get("_shards")
            if refused is not None and isinstance(shards, Mapping) and shards.get("total") == 0:
                raise refused  # no event index is left
            if isinstance(refused, MappingConflict):
                self.partial.add(f"{refused.what} is left out: {refused.advice}")
            elif refused is not None:
                names = ", ".join(refused.indices[:3]) + (" and more" if len(refused.indices) > 3 else "")
                advice = (
                    ""
                    if "allocation/explain" in str(refused)
                    else " (GET _cluster/allocation/explain says why a shard is unassigned)"
                )
                self.partial.add(f"{names} left out: {refused}{advice}")
            return answer

    def _search(self, *, index: str, body: Mapping[str, Any], action: str) -> dict[str, Any]:
        request = dict(body)
        partial, cache, path = (request.pop(name, None) for name in _URL_PARAMETERS)
        try:
            with self._translated(action):
                response = self.client.options(ignore_status=404).search(
                    index=index,
                    ignore_unavailable=True,
                    allow_no_indices=True,
                    allow_partial_search_results=partial,
                    request_cache=cache,
                    filter_path=path,
                    body=request,
                )
        except ElasticsearchUnavailable as exc:
            status = getattr(getattr(exc.__cause__, "meta", None), "status", None)
            conflicts = self.mapping_conflicts(index) if status == 400 and self.events in index else []
            refused = str(exc)
            conflicts.sort(key=lambda conflict: f"[{conflict[0]}]" not in refused)  # the field refused first
            if conflicts:
                what = _conflict_text(conflicts)
                advice = (
                    "the index was created without logloop's index template: run `logloop setup` (new daily "
                    "indices then get it), and reindex or delete the index"
                )
                indices = tuple(dict.fromkeys(name for conflict in conflicts for name in conflict[3]))
                raise MappingConflict(
                    f"cannot {action}: {what}; {advice}", what=what, advice=advice, indices=indices
                ) from exc
            refused_whole = (
                partial is False
                and not isinstance(exc, TooManyBuckets)
                and (status == 429 or (isinstance(status, int) and status >= 500))
            )
            missing = _shards_refused(exc.__cause__) if refused_whole else None
            if missing is not None:
                raise PartialAnswer(
                    f"Elasticsearch could not read every shard to {action}: {missing}",
                    indices=_unreadable_indices(exc.__cause__),
                ) from exc
            raise
        answer = _mapping(response)
        note = partial_line(answer, action)
        if note and self.whole:
            raise PartialAnswer(note)
        if note:
            self.partial.add(note)
        shards = answer.get("_shards")
        if index == self.events and isinstance(shards, Mapping) and shards.get("total") == 0:
            self.partial.add(
                f"no index matches {self.events}: nothing was shipped under the index prefix "
                f"{self.prefix!r} yet, or [elasticsearch] index_prefix is wrong"
            )
        return answer

    def note_unreadable_indices(self, *, action: str) -> None:
        """Add a `partial` line for every closed event or registry index: searches skip them silently,
        so what they hold is missing from every count. One `_cat/indices` request over the prefix; a
        refusal (a role without the privilege) or an unreachable node adds nothing (the searches that
        follow report the latter). A prefix no event index matches is told by the searches themselves
        (`_shards.total` 0), which need no more than the read privilege."""
        line = closed_line(self.closed_indices(action=action))
        if line:
            self.partial.add(line)

    def max_terms_count(self, index: str) -> int:
        """The most values a `terms` query over `index` may hold (`index.max_terms_count`, the lowest
        of its indices'; queries.MAX_TERMS_COUNT when none says, or the settings cannot be read)."""
        setting = "index.max_terms_count"
        try:
            with self._translated("read the event indices' terms limit"):
                response = self.client.indices.get_settings(
                    index=index,
                    name=setting,
                    include_defaults=True,
                    flat_settings=True,
                    ignore_unavailable=True,
                    allow_no_indices=True,
                )
        except ElasticsearchUnavailable:
            return queries.MAX_TERMS_COUNT  # a role without the monitor privilege: the default holds
        found = [
            int(value)
            for entry in (_body(response) or {}).values()
            if isinstance(entry, Mapping)
            for part in ("settings", "defaults")
            if (value := (entry.get(part) or {}).get(setting)) is not None
        ]
        return min(found, default=queries.MAX_TERMS_COUNT)

    def mapping_conflicts(self, index: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
        """Fields of `index` mapped other than `shipper.schema.FIELDS` says, as (field, found type,
        wanted type, indices); one `_field_caps` request, asked only after a search was refused."""
        wanted = {name: spec["type"] for name, spec in schema.FIELDS.items() if spec.get("type") in _FAMILY}
        try:
            with self._translated("read the field types of the event indices"):
                response = self.client.field_caps(
                    index=index, fields=list(wanted), ignore_unavailable=True, allow_no_indices=True
                )
        except ElasticsearchUnavailable:
            return []  # the diagnosis is a courtesy: the search's own error is reported instead
        body = _mapping(response)
        everywhere = tuple(body.get("indices") or ())
        conflicts = []
        for name, want in wanted.items():
            for found, caps in (body.get("fields") or {}).get(name, {}).items():
                if found != "unmapped" and _FAMILY.get(found, found) != _FAMILY[want]:
                    indices = tuple(caps.get("indices") or everywhere) if isinstance(caps, Mapping) else ()
                    conflicts.append((name, found, want, indices))
        return conflicts

    def bulk(self, *, operations: Sequence[Mapping[str, Any]], action: str, refresh: bool = False) -> int:
        """Send one `_bulk` request; raise on any failed item; return the number of items."""
        if not operations:
            return 0
        body = self.bulk_items(operations=operations, action=action, refresh=refresh)
        _raise_for_failed(body, action)
        return len(body)

    def bulk_conditional(
        self, *, operations: Sequence[Mapping[str, Any]], action: str, refresh: bool = False
    ) -> list[str]:
        """`bulk` for conditional writes (`if_seq_no`, `create`): the ids of the items refused with a
        version conflict (HTTP 409, written by someone else meanwhile); any other failure raises."""
        body = self.bulk_items(operations=operations, action=action, refresh=refresh)
        items = [item for entry in body for item in entry.values()]
        others = [{"item": item} for item in items if item.get("status") != 409]
        _raise_for_failed(others, action, total=len(items))
        return [str(item.get("_id")) for item in items if item.get("status") == 409]

    def bulk_items(
        self, *, operations: Sequence[Mapping[str, Any]], action: str, refresh: bool = False
    ) -> list[dict[str, Any]]:
        """Send one `_bulk` request and return its items as they are, failed ones included."""
        if not operations:
            return []
        with self._translated(action):
            response = self.client.bulk(operations=list(operations), refresh=refresh)
        return list(_mapping(response).get("items") or [])

    def create_doc(
        self,
        *,
        index: str,
        doc_id: str,
        document: Mapping[str, Any],
        action: str,
        refresh: bool | str | None = "wait_for",
    ) -> dict[str, Any] | None:
        """Index with create semantics; the response (`_seq_no`, `_primary_term`), or None when a
        document with this id already exists. `refresh=None` returns before the document is searchable."""
        with self._translated(action):
            response = self.client.options(ignore_status=409).create(
                index=index, id=doc_id, document=dict(document), refresh=refresh
            )
        body = _mapping(response)
        return None if "error" in body else body

    def replace_doc(
        self,
        *,
        index: str,
        doc_id: str,
        document: Mapping[str, Any],
        seq_no: int,
        primary_term: int,
        action: str,
        conflict_ok: bool = False,
    ) -> dict[str, Any] | None:
        """Compare-and-set: overwrite the document only if it is still at (seq_no, primary_term). The
        response, or None on a conflict when `conflict_ok` (otherwise the conflict raises)."""
        client = self.client.options(ignore_status=409) if conflict_ok else self.client
        with self._translated(action):
            response = client.index(
                index=index,
                id=doc_id,
                document=dict(document),
                if_seq_no=seq_no,
                if_primary_term=primary_term,
            )
        body = _mapping(response)
        return None if "error" in body else body

    def get_doc(self, *, index: str, doc_id: str, action: str) -> dict[str, Any]:
        """One document with its `_source`, `_seq_no` and `_primary_term`; a missing one raises."""
        with self._translated(action):
            return _mapping(self.client.get(index=index, id=doc_id))

    def delete_doc(self, *, index: str, doc_id: str, action: str) -> None:
        """Delete one document (refreshed); a missing one is not an error."""
        with self._translated(action):
            self.client.options(ignore_status=404).delete(index=index, id=doc_id, refresh=True)

    # Indices.
    def ensure_bookkeeping_index(self, *, index: str, mappings: Mapping[str, Any] | None = None) -> bool:
        """`ensure_index` for one of the analyzers' own indices (the registry, group edits, templates,
        alerts, digest sends): `BOOKKEEPING_SETTINGS`, and `mappings` if given; True when created now.

        First puts an index template matching exactly this index with the same body: a write that
        reaches the index after someone deleted it (during a run, between two runs) makes Elasticsearch
        auto-create it, and without the template it would get a dynamic mapping (text where the
        analyzers need keyword, a strict mapping lost) that only deleting it again repairs. A node that
        refuses the template (no `manage_index_templates` privilege) still gets the index created here.

        Once this store has put the template and seen the index, later calls for the same index and
        mapping only ask whether it still exists (a read): the template stays on the cluster, so a
        write after a deletion still recreates the index with its mapping, and a missing index (perhaps
        deleted with its template) gets the template put again before it is created."""
        body: dict[str, Any] = {"settings": self.bookkeeping_settings}
        if mappings is not None:
            body["mappings"] = mappings
        known = f"{index}\x1f{json.dumps(body, sort_keys=True)}"
        if known in self.ensured and self.index_exists(index=index, action=f"create index {index}"):
            return False
        self.put_bookkeeping_template(index=index, mappings=mappings)
        created = self.ensure_index(index=index, body=body)
        self.ensured.add(known)
        return created

    def put_bookkeeping_template(
        self, *, index: str, mappings: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """PUT (or replace: the mapping grows with new versions) the index template of one bookkeeping
        index, and return the index body it holds. A refusal is not an error: for lack of privilege (the
        analyzer role has no `manage_index_templates`; `logloop setup` installs them), or HTTP 400 for
        another template of the same priority whose patterns overlap; the index is still created whole."""
        body: dict[str, Any] = {"settings": self.bookkeeping_settings}
        if mappings is not None:
            body["mappings"] = mappings
        with self._translated(f"install the index template of {index}"):
            self.client.options(ignore_status=(400, 401, 403)).indices.put_index_template(
                name=bookkeeping_template_name(index),
                index_patterns=index,
                priority=BOOKKEEPING_TEMPLATE_PRIORITY,
                template=dict(body),
                meta={"managed_by": "logloop"},
            )
        return body

    def apply_bookkeeping_replicas(self, *, index: str) -> None:
        """Give an existing bookkeeping index the configured replicas (`logloop setup` after `[indices]
        replicas` changed: the index was created with the replicas of its day); a missing one is left
        to be created with them."""
        # A number of replicas also turns off the auto-expansion the index may have (it would win).
        replicas = {"index.auto_expand_replicas": "false"}
        replicas.update((key, value) for key, value in self.bookkeeping_settings.items() if "replicas" in key)
        with self._translated(f"set the replicas of {index}"):
            self.client.options(ignore_status=404).indices.put_settings(index=index, settings=replicas)

    def ensure_index(self, *, index: str, body: Mapping[str, Any]) -> bool:
        """Create `index` with `body` unless it exists; True when this call created it."""
        with self._translated(f"create index {index}"):
            if _answered(self.client.indices.exists(index=index)):  # a HeadApiResponse: true when it exists
                return False
            response = self.client.options(ignore_status=400).indices.create(index=index, body=dict(body))
        error = _mapping(response).get("error")
        if error and error.get("type") != "resource_already_exists_exception":
            raise ElasticsearchUnavailable(
                f"Elasticsearch refused to create index {index}: {error.get('reason')}"
            )
        return not error

    def index_exists(self, *, index: str, action: str) -> bool:
        """Whether `index` (an exact name) exists, open or closed."""
        with self._translated(action):
            return bool(_answered(self.client.indices.exists(index=index)))  # a HeadApiResponse: true if so

    def index_uuid(self, *, index: str, action: str) -> str | None:
        """The uuid of `index` (an exact name), which changes when it is deleted and created again; None
        when it does not exist."""
        with self._translated(action):
            response = self.client.options(ignore_status=404).cat.indices(
                index=index, h="uuid", format="json", expand_wildcards="open,closed"
            )
        rows = _body(response)
        row = rows[0] if isinstance(rows, list) and rows else None
        return str(row["uuid"]) if isinstance(row, Mapping) and row.get("uuid") else None

    def put_mapping(self, *, index: str, properties: Mapping[str, Mapping[str, Any]], action: str) -> None:
        with self._translated(action):
            self.client.indices.put_mapping(index=index, properties=properties)

    def refresh(self, *, index: str) -> None:
        with self._translated(f"refresh {index}"):
            self.client.options(ignore_status=404).indices.refresh(index=index)

    def list_indices(self, *, pattern: str, action: str) -> list[str]:
        """Names of the open and closed indices matching `pattern`, sorted; none is not an error."""
        with self._translated(action):
            response = self.client.options(ignore_status=404).cat.indices(
                index=pattern, h="index", format="json", expand_wildcards="open,closed"
            )
        rows = _body(response)
        if not isinstance(rows, list):
            return []
        return sorted(str(row["index"]) for row in rows if isinstance(row, Mapping))

    def delete_indices(self, *, names: Sequence[str], action: str) -> None:
        """DELETE the indices by their exact names in one request (never a pattern)."""
        if any(char in name for name in names for char in "*?,"):
            raise ValueError(f"refusing to delete by a pattern: {list(names)}")
        with self._translated(action):
            self.client.options(ignore_status=404).indices.delete(index=",".join(names))

    def index_template(self, *, name: str, action: str) -> dict[str, Any]:
        """`GET _index_template/<name>`; an empty dict when there is none."""
        with self._translated(action):
            body = _mapping(self.client.options(ignore_status=404).indices.get_index_template(name=name))
        return {} if "error" in body else body

    def simulate_index(self, *, index: str, action: str) -> dict[str, Any]:
        """What index templates would make of `index` (an exact name) if it were created now:
        `template.settings` of the template that wins, and `overlapping`, the templates that match
        it too and lose (`POST _index_template/_simulate_index/<index>`); {} when none matches."""
        with self._translated(action):
            return _mapping(
                self.client.indices.simulate_index_template(
                    name=index, filter_path="template.settings,overlapping"
                )
            )

    # The cluster.
    def cluster_health(self, *, action: str) -> dict[str, Any]:
        with self._translated(action):
            return _mapping(self.client.cluster.health())

    def closed_shard_copies(self, *, action: str) -> int:
        """Shard copies (primaries x (1 + replicas)) of every closed index in the cluster, hidden ones
        included: cluster health counts them, the shard limit does not (it counts open indices only).
        Raises AnalyzerError when `_cat/indices` is refused."""
        with self._translated(action):
            rows = _body(
                self.client.cat.indices(
                    index="*", h="status,pri,rep", format="json", expand_wildcards="closed,hidden"
                )
            )
        return sum(
            int(row.get("pri") or 0) * (1 + int(row.get("rep") or 0))
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, Mapping) and row.get("status") == "close"
        )

    def primary_sizes(self, *, index: str, action: str) -> dict[str, Any] | None:
        """`index` (an exact name)'s primary shards, documents and primary store bytes, as
        `_cat/indices` says them (`pri`, `docs.count`, `pri.store.size`); None when it does not exist."""
        with self._translated(action):
            rows = _body(
                self.client.options(ignore_status=404).cat.indices(
                    index=index,
                    h="pri,docs.count,pri.store.size",
                    format="json",
                    expand_wildcards="open",
                    bytes="b",
                )
            )
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) else None
        return dict(row) if row is not None and row.get("pri") is not None else None

    def cluster_settings(self, *, action: str) -> dict[str, Any]:
        """Every cluster setting, defaults included, with flat (dotted) names."""
        with self._translated(action):
            return _mapping(self.client.cluster.get_settings(include_defaults=True, flat_settings=True))

    def nodes_fs_stats(self, *, action: str) -> Any:
        """`GET _nodes/stats/fs`, as the node answers."""
        with self._translated(action):
            return _body(self.client.nodes.stats(metric="fs"))

    def ilm_available(self) -> bool:
        """Whether the cluster has index lifecycle management (the embedded node has not)."""
        with self._translated("ask whether the cluster has index lifecycle management"):
            response = self.client.options(ignore_status=(400, 404, 405, 410)).ilm.get_status()
        return "operation_mode" in _mapping(response)

    def put_lifecycle(self, *, name: str, policy: Mapping[str, Any]) -> None:
        with self._translated(f"install the lifecycle policy {name}"):
            self.client.ilm.put_lifecycle(name=name, policy=policy)


def connect(deployment: Deployment) -> Store:
    """A store on the configured cluster (`[elasticsearch]`) and index prefix; the commands close it."""
    from shipper.connection import make_client

    settings = deployment.elasticsearch
    replicas = schema.index_layout(deployment.section("indices")).replicas
    # The client tries each node once (`client_options`), each for up to request_timeout.
    seconds = settings.request_timeout * max(len(settings.urls), 1)
    client = cast("Client", Deadlined(make_client(settings), seconds=seconds))
    return Store(client, deployment.index_prefix, replicas=replicas)
