"""Kibana's answers are read bounded (a loopback server standing in for a broken Kibana or proxy, as the
project allows for Kibana): an answer without end, a drip under the socket's timeout or a huge error
body ends `logloop setup`'s import and its wait in one clear error within the timeout, never holding it
for ever or growing its memory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from kibana import importer
from kibana.exceptions import KibanaImportError

NDJSON = b'{"type":"index-pattern","id":"x","attributes":{"title":"logs-*"}}\n'
TIMEOUT = 1.5


def _serve(kind: str, stop: threading.Event, listener: socket.socket) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_answer, args=(kind, conn, stop), daemon=True).start()


def _answer(kind: str, conn: socket.socket, stop: threading.Event) -> None:
    try:
        conn.settimeout(5)
        conn.recv(1 << 20)
        status = "500 Internal Server Error" if kind == "huge-error" else "200 OK"
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".encode()
        )
        if kind == "drip":  # a byte at a time, each well under the socket's timeout
            conn.sendall(b'{"status": "')
            while not stop.is_set():
                conn.sendall(b"a")
                time.sleep(0.05)
        elif kind in ("stream", "huge-error"):  # at full speed, without end
            conn.sendall(b'{"message": "')
            chunk = b"\x1b[31m" + b"x" * 65536
            while not stop.is_set():
                conn.sendall(chunk)
        elif kind == "not-an-object":
            conn.sendall(b"[1, 2, 3]")
    except OSError:
        pass
    finally:
        conn.close()


@pytest.fixture(params=["drip", "stream", "huge-error", "not-an-object"])
def broken(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(request.param, stop, listener), daemon=True)
    thread.start()
    try:
        yield request.param, f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_an_import_against_a_broken_answer_ends_in_one_error_within_the_timeout(
    broken: tuple[str, str],
) -> None:
    """The import's answer is read at most MAX_ANSWER bytes and not past the timeout: a drip, an endless
    stream, an endless error body or a JSON answer that is no object is one KibanaImportError line."""
    kind, url = broken
    settings = importer.KibanaSettings(url=url, allow_plain_http=True, timeout=TIMEOUT)
    started = time.monotonic()
    with pytest.raises(KibanaImportError) as caught:
        importer.import_ndjson(settings, NDJSON)
    assert time.monotonic() - started < TIMEOUT + 3, kind
    message = str(caught.value)
    assert url in message or "HTTP 500" in message, message
    assert "\n" not in message and "\x1b" not in message and len(message) < 1000


def test_waiting_for_a_broken_kibana_gives_up_at_its_timeout(broken: tuple[str, str]) -> None:
    """`wait_until_available` against an answer that never ends gives up near its own timeout."""
    kind, url = broken
    settings = importer.KibanaSettings(url=url, allow_plain_http=True, timeout=TIMEOUT)
    started = time.monotonic()
    with pytest.raises(KibanaImportError, match="was not available within"):
        importer.wait_until_available(settings, 2.0, interval=0.2)
    assert time.monotonic() - started < 2.0 + TIMEOUT + 3, kind


def test_a_failed_import_names_a_bounded_number_of_objects_on_one_line() -> None:
    """However many objects Kibana refuses, the error names MAX_LISTED of them, counts the rest, and
    shows their text on one line without terminal escapes."""
    errors = tuple(
        importer.ObjectError(type="dashboard", id=str(n), title=f"t\x1b[2J{n}\nx", reason="conflict")
        for n in range(500)
    )
    with pytest.raises(KibanaImportError) as caught:
        importer.raise_for_errors(importer.ImportResult(success_count=0, errors=errors))
    message = str(caught.value)
    assert message.endswith(f"and {500 - importer.MAX_LISTED} more") and "500 saved object(s)" in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 5000
