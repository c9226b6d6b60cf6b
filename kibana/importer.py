"""Import saved objects through Kibana's Saved Objects import API, and wait for Kibana to be ready.

    POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true
    multipart/form-data with one part `file` (the NDJSON), header `kbn-xsrf: true`,
    `Authorization: ApiKey ...` or `Basic ...`; TLS verified by default (optionally against a CA file).

Kibana answers 200 even when some objects fail; those come back in `errors`, one per object, and
are turned into `ObjectError`s here. HTTP and connection failures are translated into
KibanaImportError at this one boundary. Only the standard library is used.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Final
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from analyzers.escaping import text_line
from kibana.exceptions import KibanaConfigError, KibanaImportError
from kibana.settings import KibanaSettings, validate


@dataclass(frozen=True)
class ObjectError:
    """One saved object Kibana refused, and why."""

    type: str
    id: str
    title: str
    reason: str

    def __str__(self) -> str:
        return f"{self.type} {self.title!r} ({self.id}): {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    success_count: int
    errors: tuple[ObjectError, ...]


def _reason(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", "unknown"))
    if kind == "missing_references":
        missing = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in error.get("references", []))
        return f"missing references: {missing or 'unknown'}"
    if kind in ("conflict", "ambiguous_conflict"):
        return f"{kind.replace('_', ' ')}: an object with this id exists (import with overwrite)"
    if kind == "unsupported_type":
        return "unsupported type: this Kibana does not know the object type"
    message = error.get("message") or error.get("reason") or json.dumps(dict(error), sort_keys=True)
    status = error.get("statusCode")
    return f"{kind}: {message}" + (f" (HTTP {status})" if status else "")


def parse_response(body: Mapping[str, Any]) -> ImportResult:
    """The import result from Kibana's JSON answer (pure)."""
    errors = []
    for entry in body.get("errors", []) or []:
        title = entry.get("title") or entry.get("meta", {}).get("title") or ""
        errors.append(
            ObjectError(
                type=str(entry.get("type", "?")),
                id=str(entry.get("id", "?")),
                title=str(title),
                reason=_reason(entry.get("error", {})),
            )
        )
    return ImportResult(success_count=int(body.get("successCount", 0)), errors=tuple(errors))


def _base(settings: KibanaSettings) -> str:
    base = settings.url.rstrip("/")
    return f"{base}/s/{quote(settings.space, safe='')}" if settings.space else base


def _headers(settings: KibanaSettings) -> dict[str, str]:
    headers = {"kbn-xsrf": "true", "Accept": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"ApiKey {settings.api_key}"
    elif settings.username:
        token = base64.b64encode(f"{settings.username}:{settings.password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def multipart_body(content: bytes, filename: str, boundary: str) -> bytes:
    """A multipart/form-data body with the NDJSON as the part `file` (pure)."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode()


def build_import_request(
    settings: KibanaSettings, ndjson: bytes, filename: str = "logloop.ndjson"
) -> Request:
    boundary = f"logloop-{uuid.uuid4().hex}"
    headers = _headers(settings)
    headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    url = f"{_base(settings)}/api/saved_objects/_import?overwrite=true"
    return Request(url, data=multipart_body(ndjson, filename, boundary), headers=headers, method="POST")


def _ssl_context(settings: KibanaSettings) -> ssl.SSLContext | None:
    if not settings.url.startswith("https"):
        return None
    if not settings.verify_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=settings.ca_certs)
    except (OSError, ssl.SSLError) as exc:
        raise KibanaConfigError(f"cannot load the Kibana CA file {settings.ca_certs}: {exc}") from None


# An answer's most bytes: an import's answer lists each object once (a few hundred bytes each, the
# NDJSON is a few dozen objects), `/api/status` a few hundred kB with every plugin; an error's body is
# read for its `message` only.
MAX_ANSWER: Final = 16 << 20
MAX_ERROR_ANSWER: Final = 64 << 10
MAX_LISTED: Final = 20  # refused objects a failed import names (it counts the others)
_PIECE: Final = 1 << 16


class _Unfinished(Exception):
    """An answer too long, or still coming at its deadline."""


def read_bounded(
    answer: Any, *, limit: int, deadline: float, clock: Callable[[], float] = time.monotonic
) -> bytes:
    """`answer`'s body read a receive at a time, at most `limit` bytes and not past `deadline`: the
    socket's timeout bounds each receive only, so a server (a wrong URL, a proxy) that streams without
    end, or drips a byte at a time under that timeout, held `logloop setup` for ever, its memory growing."""
    pieces = []
    size = 0
    try:
        while piece := answer.read1(_PIECE):
            pieces.append(piece)
            size += len(piece)
            if size > limit:
                raise _Unfinished(f"answered more than {limit >> 10:,} kB (Kibana never does)")
            if clock() > deadline:
                raise _Unfinished("its answer was still coming after the timeout")
    finally:
        answer.close()  # (`read()` closes a finished answer itself; `read1` leaves it open)
    return b"".join(pieces)


def _http_error_message(exc: HTTPError, settings: KibanaSettings) -> str:
    try:
        body = read_bounded(exc, limit=MAX_ERROR_ANSWER, deadline=time.monotonic() + settings.timeout)
        detail = json.loads(body or b"{}").get("message", "")
    except (ValueError, AttributeError, _Unfinished, OSError, HTTPException):
        detail = ""
    detail = text_line(detail)[:300] if isinstance(detail, str) else ""
    hints = {
        401: "Kibana rejected the credentials: check the API key or user/password",
        403: "the Kibana user may not import saved objects: it needs the saved objects management privilege",
        404: f"no saved objects API at {settings.url}: is this the Kibana URL (and space)?",
        413: "the NDJSON file is larger than Kibana's savedObjects.maxImportPayloadBytes",
    }
    message = hints.get(exc.code, f"Kibana answered HTTP {exc.code}")
    return f"{message} ({detail})" if detail else message


def _send(request: Request, settings: KibanaSettings) -> dict[str, Any]:
    deadline = time.monotonic() + settings.timeout
    try:
        with urlopen(request, timeout=settings.timeout, context=_ssl_context(settings)) as response:
            answer = json.loads(read_bounded(response, limit=MAX_ANSWER, deadline=deadline) or b"{}")
            if not isinstance(answer, dict):
                raise ValueError("not a JSON object")
            return answer
    except _Unfinished as exc:
        raise KibanaImportError(
            f"Kibana at {settings.url} {exc} (timeout {settings.timeout:g} s): is this the Kibana URL?"
        ) from None
    except HTTPError as exc:
        raise KibanaImportError(_http_error_message(exc, settings)) from None
    except URLError as exc:
        if isinstance(exc.reason, ssl.SSLCertVerificationError):
            raise KibanaImportError(
                f"TLS verification of {settings.url} failed ({exc.reason.verify_message}): "
                "pass --ca-certs with the CA that signed Kibana's certificate"
            ) from None
        reason = exc.reason
        raise KibanaImportError(f"cannot reach Kibana at {settings.url} ({reason}): is it running?") from None
    except (TimeoutError, HTTPException, OSError) as exc:
        raise KibanaImportError(f"Kibana at {settings.url} did not answer properly: {exc}") from None
    except ValueError:
        raise KibanaImportError(f"Kibana at {settings.url} answered something that is not JSON") from None


def import_ndjson(settings: KibanaSettings, ndjson: bytes, filename: str = "logloop.ndjson") -> ImportResult:
    """Import the objects (overwriting same-id objects); per-object failures are in the result."""
    validate(settings)
    return parse_response(_send(build_import_request(settings, ndjson, filename), settings))


def raise_for_errors(result: ImportResult) -> None:
    """KibanaImportError with one line naming every refused object, if any was refused."""
    if result.errors:
        shown = result.errors[:MAX_LISTED]
        listed = text_line("; ".join(str(error) for error in shown))
        if len(result.errors) > len(shown):
            listed += f"; and {len(result.errors) - len(shown)} more"
        raise KibanaImportError(
            f"{len(result.errors)} saved object(s) failed to import "
            f"({result.success_count} imported): {listed}"
        )


def wait_until_available(
    settings: KibanaSettings,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    interval: float = 5.0,
) -> None:
    """Poll `/api/status` until Kibana (or its saved objects service) is available; raise at `timeout`."""
    validate(settings)
    deadline = clock() + timeout
    request = Request(f"{settings.url.rstrip('/')}/api/status", headers=_headers(settings), method="GET")
    last = "no answer yet"
    while True:
        try:
            status = _send(request, settings).get("status", {})
            level = status.get("overall", {}).get("level")
            # A plugin can keep the overall level "degraded" for good; the import only needs the
            # saved objects service.
            saved_objects = status.get("core", {}).get("savedObjects", {}).get("level")
            if "available" in (level, saved_objects):
                return
            last = f"status {level}"
        except KibanaImportError as exc:
            last = str(exc)
        if clock() >= deadline:
            raise KibanaImportError(f"Kibana at {settings.url} was not available within {timeout:g}s: {last}")
        sleep(interval)
