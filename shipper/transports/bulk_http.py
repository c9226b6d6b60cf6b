"""A `_bulk` HTTP client on the standard library, for the delivery agent.

Why it exists: importing the official client (`elasticsearch`, then `elastic_transport`, which also
loads httpx, requests and aiohttp when they are installed) costs the agent about 0.2 s of CPU at
every start, more than the 21 events of a short script cost in all. The agent sends `POST /_bulk`
(and, once per index prefix, reads or creates the index template: `call`), so this module sends
those requests the way the official client does for the same settings
(`shipper.connection.client_options`):

- the nodes in turn (round robin); a node that cannot be reached, or answers with a status other
  than 2xx, 400-404 or 409, is set aside for min(2^(failures-1), 30) s, and while every node is set
  aside the one due first is tried;
- a connection error (refused, reset, TLS) tries the next node, up to one try per node; a timeout
  is not tried again (the caller's deadline bounds the call); 429, 502, 503 and 504 try the next
  node while one is left;
- TLS as `elastic_transport` sets it up: TLS 1.2 at least, certificates verified against `ca_certs`
  (else certifi's bundle, when installed, and the system's), host names checked unless the host is an
  IP address; `verify_certs=False` turns both checks off;
- `Authorization: ApiKey <key>` or `Basic <user:password>`; the compatibility media types;
- a 2xx answer without `X-Elastic-Product: Elasticsearch` is not taken for an acknowledgement.

`shipper.connection.validate` checks the settings first, so the TLS and credential rules are the
same as everywhere else. Settings this client does not cover (`cloud_id`, `sniff`) keep the official
client (`shipper.transports.elasticsearch`).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import http.client
import ipaddress
import json
import select
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from shipper import descriptors
from shipper.connection import ElasticsearchSettings, validate

# A connection encodes the host name with the idna codec, which Python imports on first use: imported
# with this module, a request imports nothing (a program that forks while a delivery thread is in the
# middle of an import leaves its child waiting for ever on that module: see delivery.agent.preload).
codecs.lookup("idna")

# The official client's media types: compatible with its major version, 8 (pyproject pins elasticsearch
# below 9): 8.x servers refuse compatible-with=9, 9.x servers accept 8 (tests/test_transports.py checks
# that this is still what the installed client sends).
_MEDIA: Final = "application/vnd.elasticsearch+{}; compatible-with=8"
_RETRY_STATUSES: Final = frozenset((429, 502, 503, 504))
_NOT_DEAD_STATUSES: Final = frozenset((400, 401, 402, 403, 404, 409))
_MAX_DEAD: Final = 30.0  # seconds a failing node is set aside at most


class Unreachable(Exception):
    """The request reached no node (refused, reset, TLS failure): nothing was indexed."""


class TimedOut(Exception):
    """A node did not answer in time: the request may or may not have been indexed."""


@dataclass(frozen=True, slots=True)
class Response:
    """A node's answer: status, body (parsed JSON, or the text) and whether it is Elasticsearch."""

    status: int
    body: Any
    is_elasticsearch: bool


def covers(settings: ElasticsearchSettings) -> bool:
    """Whether this client sends as the official one would for these settings."""
    return not settings.cloud_id and not settings.sniff


class _Node:
    """One node: its address, its kept-alive connection and its failure record."""

    def __init__(self, url: str, settings: ElasticsearchSettings) -> None:
        parts = urlsplit(url)
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.base = parts.path.rstrip("/")  # a proxy's path before the API's
        self.context = _tls_context(settings, self.host) if self.https else None
        self.connection: http.client.HTTPConnection | None = None
        self.identity = descriptors.NONE  # of the connection's socket: is its descriptor still ours?
        self.failures = 0
        self.dead_until = 0.0

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        if self.connection is not None and (not self._ours() or _dropped(self.connection)):
            self.drop()  # closed by the node while idle: a new connection, not a failure (as urllib3)
        if self.connection is None:
            if self.https:
                self.connection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=timeout, context=self.context
                )
            else:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        self.connection.timeout = timeout
        if self.connection.sock is None:
            self.connection.connect()
        sock: socket.socket = self.connection.sock
        if self.identity == descriptors.NONE:
            self.identity = descriptors.identity(sock.fileno())
        sock.settimeout(timeout)
        return self.connection

    def drop(self) -> None:
        """Close the connection; one whose descriptor the program closed (and may have reused for
        a file or socket of its own) is let go of without closing that number."""
        if self.connection is not None:
            if not self._ours():
                with contextlib.suppress(OSError, ValueError):
                    self.connection.sock.detach()
                self.connection.sock = None
            self.connection.close()
            self.connection = None
            self.identity = descriptors.NONE

    def _ours(self) -> bool:
        sock = self.connection.sock if self.connection is not None else None
        if sock is None:
            return True
        try:
            return descriptors.ours(sock.fileno(), self.identity)
        except (OSError, ValueError):
            return False


class BulkClient:
    """Sends `_bulk` bodies to the configured nodes; `send` returns a `Response` or raises
    `Unreachable` / `TimedOut`."""

    def __init__(self, settings: ElasticsearchSettings) -> None:
        validate(settings)
        self._nodes = [_Node(url, settings) for url in settings.urls]
        self._next = 0
        common = {
            "Accept": _MEDIA.format("json"),
            "User-Agent": "logloop-agent (Python http.client)",
            **_authorization(settings),
        }
        self._headers = {"Content-Type": _MEDIA.format("x-ndjson"), **common}
        self._json_headers = {"Content-Type": _MEDIA.format("json"), **common}

    def send(self, body: bytes, query: str, timeout: float) -> Response:
        """`POST /_bulk?<query>` with the NDJSON `body`."""
        return self.call("POST", f"/_bulk?{query}", body, timeout, ndjson=True)

    def call(
        self, method: str, path: str, body: bytes | None, timeout: float, *, ndjson: bool = False
    ) -> Response:
        """One request (`path` from the API's root, with its query), to the nodes in turn as above."""
        headers = self._headers if ndjson else self._json_headers
        attempts = len(self._nodes)  # the official client's max_retries: one try per other node
        for attempt in range(attempts):
            node = self._pick()
            last = attempt == attempts - 1
            try:
                response = self._request(node, method, node.base + path, body, headers, timeout)
            except TimedOut:
                self._failed(node)
                raise
            except Unreachable:
                self._failed(node)
                if last:
                    raise
                continue
            if 200 <= response.status < 300 or response.status in _NOT_DEAD_STATUSES:
                node.failures, node.dead_until = 0, 0.0
            else:
                self._failed(node)
            if response.status not in _RETRY_STATUSES or last:
                return response
        raise Unreachable("no node configured")  # not reached: validate() requires one

    def close(self) -> None:
        for node in self._nodes:
            node.drop()

    def _pick(self) -> _Node:
        """The next node in turn that is not set aside; if all are, the one due back first."""
        now = time.monotonic()
        count = len(self._nodes)
        for step in range(count):
            node = self._nodes[(self._next + step) % count]
            if node.dead_until <= now:
                self._next = (self._next + step + 1) % count
                return node
        return min(self._nodes, key=lambda node: node.dead_until)

    def _failed(self, node: _Node) -> None:
        node.drop()
        node.failures += 1
        node.dead_until = time.monotonic() + min(2.0 ** (node.failures - 1), _MAX_DEAD)

    def _request(
        self, node: _Node, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> Response:
        try:
            connection = node.connect(timeout)
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            raw = _body(answer, node.url, time.monotonic() + timeout)
        except TimeoutError as exc:  # socket.timeout is TimeoutError
            node.drop()
            raise TimedOut(f"{node.url}: no answer within {timeout:.1f} s") from exc
        except TimedOut:  # an answer too long or too slow to read (`_body`): its connection is unusable
            node.drop()
            raise
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, TLS, a bad answer
            node.drop()
            raise Unreachable(f"{node.url}: {type(exc).__name__}: {exc}") from exc
        if answer.will_close:
            node.drop()
        return Response(answer.status, _parse(raw), answer.getheader("X-Elastic-Product") == "Elasticsearch")


def _body(answer: http.client.HTTPResponse, url: str, deadline: float) -> bytes:
    """The answer's body, read a receive at a time, at most `_MAX_ANSWER` bytes and not past
    `deadline`: TimedOut otherwise (the request may have been taken in). The socket's timeout bounds
    each receive only, so a server that streams without end, or drips a byte at a time under that
    timeout (a wrong URL, a hostile or broken proxy), held the agent for ever, its memory growing."""
    pieces = []
    size = 0
    while piece := answer.read1(_PIECE):
        pieces.append(piece)
        size += len(piece)
        if size > _MAX_ANSWER:
            raise TimedOut(f"{url}: answered more than {_MAX_ANSWER >> 20} MB (Elasticsearch never does)")
        if time.monotonic() > deadline:
            raise TimedOut(f"{url}: its answer still coming after the request's timeout")
    answer.close()  # (as `read()` does at the end: `read1` leaves a whole answer open, and the
    # connection then refuses its next request: ResponseNotReady)
    return b"".join(pieces)


# An answer's most bytes: `_bulk` asks for its items' status and errors only (`filter_path`), a few
# hundred bytes a document at most.
_MAX_ANSWER: Final = 64 << 20
_PIECE: Final = 1 << 16


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle kept-alive connection was closed by the other end: it reads as ready (end of
    file) though no request is out."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def error_message(body: Any) -> str:
    """An error answer as one line: `type: reason` of its root cause (as a `_bulk` item's error is
    read), or the error as given, or the whole body. The reason is kept because the type alone
    cannot tell a cluster limit (`validation_exception: ... maximum normal shards open`) from a bad
    request."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and "type" in error:
            causes = error.get("root_cause")
            root = causes[0] if isinstance(causes, list) and causes and isinstance(causes[0], dict) else error
            kind, reason = root.get("type", error["type"]), root.get("reason") or error.get("reason")
            return f"{kind}: {reason}" if reason else str(kind)
        return str(error)
    return str(body)


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _authorization(settings: ElasticsearchSettings) -> dict[str, str]:
    if settings.api_key:
        return {"Authorization": f"ApiKey {settings.api_key}"}
    if settings.username:
        pair = f"{settings.username}:{settings.password or ''}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode('ascii')}"}
    return {}


def _tls_context(settings: ElasticsearchSettings, host: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.verify_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context.check_hostname = not _is_ip(host)
    bundle = settings.ca_certs or _certifi_bundle()
    if bundle:
        context.load_verify_locations(bundle)
    return context


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _certifi_bundle() -> str | None:
    """certifi's CA bundle, which the official client uses when no `ca_certs` is given."""
    try:
        import certifi
    except ImportError:
        return None
    return str(certifi.where())
