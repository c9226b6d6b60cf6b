"""How a command words an Elasticsearch answer that refuses: a temporary one (429, 5xx, 408) says so,
names the node and says to try again, whatever the body; a permanent one says "refused". Real
processes against a loopback server that answers like Elasticsearch (its JSON error body, with or
without its product header, as a proxy in front of it may answer)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_cli_outcomes import ES_COMMANDS, _run_against, assert_one_line


def _answering(status: int, *, product: bool, methods: frozenset[str] | None = None) -> type:
    """A handler answering `status` with Elasticsearch's JSON error body to `methods` (else every
    method), and an empty JSON object with the product header to the others."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            refuse = methods is None or self.command in methods
            error = {"type": "es_rejected_execution_exception", "reason": "queue full on the node"}
            payload = {"error": {"root_cause": [error], **error}, "status": status} if refuse else {}
            body = json.dumps(payload).encode()
            self.send_response(status if refuse else 200)
            self.send_header("Content-Type", "application/json")
            if product or not refuse:
                self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _serve(handler: type) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def busy_url() -> Iterator[str]:
    yield from _serve(_answering(429, product=True))


CHECK = pytest.param(["check"], id="check")


def _temporary(
    result: subprocess.CompletedProcess[str], url: str, status: int, *, check: bool = False
) -> str:
    if check:  # a Nagios plugin: UNKNOWN on stdout, status 3
        assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
        line: str = result.stdout.strip()
        assert line.startswith("LOGLOOP UNKNOWN - ") and "\n" not in line, line
    else:
        line = assert_one_line(result, status=1)
    for word in (f"HTTP {status} ", "temporary", "try again", url):
        assert word in line, line
    assert "refused" not in line and "not Elasticsearch" not in line, line
    return line


@pytest.mark.parametrize("argv", [*ES_COMMANDS, CHECK])
def test_a_busy_node_is_temporary_in_every_command(tmp_path: Path, busy_url: str, argv: list[str]) -> None:
    """HTTP 429 with Elasticsearch's JSON body is said to be temporary, with the node's URL and to try
    again, by every command; before, most said "refused ...: HTTP 429: ..." with no advice."""
    _temporary(_run_against(tmp_path, busy_url, argv), busy_url, 429, check=argv == ["check"])


@pytest.mark.parametrize("product", [True, False], ids=["node", "proxy"])
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("argv", [pytest.param(["digest", "-o", "{tmp}/d.html"], id="digest"), CHECK])
def test_every_temporary_status_is_temporary(
    tmp_path: Path, argv: list[str], status: int, product: bool
) -> None:
    """Each temporary status, with a JSON body from the node or from a proxy (no product header), is
    worded as temporary, never as a refusal nor as "not Elasticsearch"."""
    for url in _serve(_answering(status, product=product)):
        _temporary(_run_against(tmp_path, url, argv), url, status, check=argv == ["check"])


@pytest.mark.parametrize("status", [400, 409, 501])
def test_a_permanent_refusal_is_not_called_temporary(tmp_path: Path, status: int) -> None:
    """A status no retry changes is still a refusal with the node's reason, not "try again"."""
    for url in _serve(_answering(status, product=True)):
        line = assert_one_line(_run_against(tmp_path, url, ["digest", "-o", str(tmp_path / "d.html")]))
        assert "refused" in line and "queue full on the node" in line, line
        assert "try again" not in line and "temporary" not in line, line


@pytest.mark.parametrize("status", [429, 503])
def test_setup_words_a_temporary_template_refusal_the_same(status: int) -> None:
    """`setup`'s own translation of the index template's PUT uses the same temporary wording."""
    from elasticsearch import Elasticsearch

    from kibana.exceptions import SetupError
    from kibana.setup import install_template

    for url in _serve(_answering(status, product=True, methods=frozenset({"PUT"}))):
        client = Elasticsearch(url, request_timeout=5, max_retries=0)
        with pytest.raises(SetupError) as raised:
            install_template(client, "logs-probe")
        client.close()
        text = str(raised.value)
        for word in (f"HTTP {status} ", "temporary", "try again", url, "index template"):
            assert word in text, text
