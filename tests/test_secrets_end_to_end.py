"""Secrets planted the ways a program leaks them never leave the process: not in the documents the real
node stores, the spool file on disk, the dead-letter file, the rendered digests (text, Markdown, HTML
as a real headless chromium shows it) or the email a real SMTP server on loopback receives; the text
around each secret stays readable. Hostile extra keys (NUL, empty, over-long) keep their event."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.ports import free_port
from helpers.shipping import logger_only_to
from helpers.smtp_inbox import Inbox, plain_smtp

from analyzers import mailer
from analyzers.digest import Digest, build_digest
from analyzers.store import Store
from kibana.setup import install_template
from shipper import schema
from shipper.handler import ShipperHandler
from shipper.redaction import REDACTED
from shipper.spool import layout

pytestmark = pytest.mark.es

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJQTDEwIjoxfQ.PL10signatureXYZ"
# Each planted secret, and a phrase of the text around it that must stay readable.
PLANTED: dict[str, str] = {
    "tok.PL01.sig": "rejected",
    "PL02hunter": "ValueError: password=",
    "PL03s3cret": "returned non-zero exit status 1",
    "PL04src": "database unreachable",
    "PL05pair": "upstream call failed",
    "PL06plain": "retrying with token=",
    "PL07cookie": "cookie jar: Cookie: sid=",
    "PL08pin": "order failed",
    "PL09emp": "logged in",
    "PL10signatureXYZ": "session for",
    "PL11pw": "@db.internal/orders",
    "PL12ctx": "payment failed",
    "PL13env": "payment failed",
    "PL14second": "rejected",
}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _source_module(tmp_path: Path) -> Any:
    """A module whose source line holding a secret is the raising line of a traceback."""
    path = tmp_path / "leaky_app.py"
    path.write_text(
        'def connect() -> None:\n    db_pass = "PL04src"; raise ConnectionError("database unreachable")\n'
    )
    spec = importlib.util.spec_from_file_location("leaky_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _log_every_leak(logger: logging.Logger, tmp_path: Path) -> None:
    """Log each planted secret the way programs leak them (messages, tracebacks, extras, argv...)."""
    for token in ("tok.PL01.sig", "tok.PL14second.sig"):
        try:
            raise PermissionError(f"Authorization: Bearer {token} rejected")
        except PermissionError:
            logger.exception("call refused")
    try:
        raise ValueError("password=PL02hunter")
    except ValueError:
        logger.exception("bad settings")
    try:
        raise subprocess.CalledProcessError(1, ["mysql", "--password", "PL03s3cret", "-e", "select 1"])
    except subprocess.CalledProcessError:
        logger.exception("backup failed")
    try:
        _source_module(tmp_path).connect()
    except ConnectionError:
        logger.exception("cannot connect")
    logger.error("upstream call failed", extra={"headers": [["Authorization", "Bearer PL05pair"]]})
    logger.info("retrying with token=PL06plain")
    logger.warning("cookie jar: Cookie: sid=PL07cookie; theme=dark")
    logger.error("order failed", extra={"customer_pin": "PL08pin"})
    logger.info("employee EMP-PL09emp logged in")
    logger.info("session for bob: %s", JWT)
    logger.error("cannot reach https://app:PL11pw@db.internal/orders")
    logger.error("payment failed")


def _handler(url: str, prefix: str, spool: Path, **options: Any) -> ShipperHandler:
    return ShipperHandler(
        "secrets-test",
        es_url=url,
        index_prefix=prefix,
        spool_path=spool,
        retry_max_delay=0.5,
        redact_keys=["pin"],
        redact_patterns=[r"EMP-\w+"],
        env_allowlist=["LOGLOOP_TEST_API_TOKEN"],
        context_provider=lambda: {"db_password": "PL12ctx", "region": "eu"},
        **options,
    )


def assert_no_secret(text: str, where: str) -> None:
    """None of the planted secrets is in the text."""
    leaked = [secret for secret in PLANTED if secret in text]
    assert leaked == [], f"{where} holds planted secrets: {leaked}"


def _search(es: Any, prefix: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{prefix}-*")
    found = es.search(index=f"{prefix}-*", query={"term": {"log.logger": "leaky"}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


@pytest.fixture
def shipped(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Every leak logged through a real handler and stored by the real node; the stored documents."""
    monkeypatch.setenv("LOGLOOP_TEST_API_TOKEN", "PL13env")
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool")
    _log_every_leak(logger_only_to("leaky", handler), tmp_path)
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    assert stats.dropped == 0 and stats.dead_lettered == 0
    return _search(es, index_prefix)


def test_stored_documents_hold_no_secret_and_stay_readable(shipped: list[dict[str, Any]]) -> None:
    """Every event is stored; no planted secret is in any field; the words around each are there."""
    assert len(shipped) == 13
    text = json.dumps(shipped, ensure_ascii=False)
    assert_no_secret(text, "the node's documents")
    assert [phrase for phrase in set(PLANTED.values()) if phrase not in text] == []
    assert text.count(REDACTED) >= len(PLANTED)


def test_grouping_does_not_depend_on_a_secret(shipped: list[dict[str, Any]]) -> None:
    """The same error with two different tokens gets one grouping key and a name without the token."""
    refused = [doc for doc in shipped if doc["message"] == "call refused"]
    assert len(refused) == 2
    assert refused[0]["error"]["grouping_key"] == refused[1]["error"]["grouping_key"]
    assert refused[0]["error"]["grouping_name"] == refused[1]["error"]["grouping_name"]
    assert "Bearer [REDACTED] rejected" in refused[0]["error"]["stack_trace"]


def test_context_and_environment_are_redacted_and_kept(shipped: list[dict[str, Any]]) -> None:
    """The context provider's secret and an allow-listed token variable are hidden, other values kept."""
    payment = next(doc for doc in shipped if doc["message"] == "payment failed")
    assert payment["logloop"]["context"] == {"db_password": REDACTED, "region": "eu"}
    assert payment["logloop"]["env"]["vars"] == {"LOGLOOP_TEST_API_TOKEN": REDACTED}


def _spooled_bytes(tmp_path: Path, log: Callable[[logging.Logger], None], **options: Any) -> bytes:
    """Everything in the spool directory's files after logging with the node unreachable."""
    spool = tmp_path / "spool"
    handler = ShipperHandler(
        "spool-test", es_url=f"http://127.0.0.1:{free_port()}", spool_path=spool, close_timeout=0.5, **options
    )
    log(logger_only_to("leaky", handler))
    handler.flush()
    assert handler.stats().dropped == 0
    raw = _files_under(spool)
    handler.close()
    return raw + _files_under(spool)


def _files_under(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"redact_before_spool": True}, id="redact-before-spool"),
        pytest.param(
            {"redact_before_spool": True, "redact_keys": ["pin"], "redact_patterns": [r"EMP-\w+"]},
            id="user-rules",
        ),
    ],
)
def test_spool_file_on_disk_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]
) -> None:
    """With the node unreachable every event stays in the spool; with `redact_before_spool` (and the
    user's rules, when given) its files hold none of the secrets, and the events' text is there."""
    monkeypatch.setenv("LOGLOOP_TEST_API_TOKEN", "PL13env")
    options = {"env_allowlist": ["LOGLOOP_TEST_API_TOKEN"], **options}
    options["context_provider"] = lambda: {"db_password": "PL12ctx", "region": "eu"}
    raw = _spooled_bytes(tmp_path, lambda logger: _log_every_leak(logger, tmp_path), **options)
    secrets = (
        PLANTED
        if "redact_keys" in options
        else {s: p for s, p in PLANTED.items() if s not in ("PL08pin", "PL09emp")}
    )
    assert [secret for secret in secrets if secret.encode() in raw] == []
    assert b"retrying with token=" in raw and b"database unreachable" in raw


def test_by_default_records_wait_in_the_spool_as_captured(tmp_path: Path) -> None:
    """What the README says sits on disk by default: every record as captured, in an owner-only
    directory (the agent redacts when it builds the document); `redact_before_spool` is the way out."""

    def log(logger: logging.Logger) -> None:
        logger.info("retrying with token=PL06plain")
        logger.warning("with extras token=PL16extra", extra={"order": 7})
        logger.error("failed with token=PL17error")

    raw = _spooled_bytes(tmp_path, log)
    assert b"PL06plain" in raw and b"PL16extra" in raw and b"PL17error" in raw
    assert (tmp_path / "spool").stat().st_mode & 0o077 == 0


def test_dead_letter_file_holds_no_secret(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """Documents the node rejects are dead-lettered redacted, with their text readable."""
    prefix = f"{index_prefix}-dl"
    es.indices.create(
        index=schema.index_for(datetime.now(UTC), prefix),
        mappings={"properties": {"message": {"type": "long"}}},
    )
    handler = _handler(es_url, prefix, tmp_path / "spool")
    _log_every_leak(logger_only_to("leaky", handler), tmp_path)
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    letters = layout.deadletter_path(tmp_path / "spool").read_text(encoding="utf-8")
    assert stats.dead_lettered >= 13 and len(letters.splitlines()) >= 13  # and health documents
    assert_no_secret(letters, "the dead-letter file")
    assert "retrying with token=" in letters and "database unreachable" in letters


def test_hostile_extra_keys_are_sanitised_and_the_event_kept(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A NUL, an empty key and a 40,000-character key in `extra` (the flattened field) are stored
    sanitised, with their values, instead of the node rejecting the event."""
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool")
    extra = {"extra_keys": {"k\x00ey": "nul", "": "empty", "x" * 40_000: "long", "tab\there": "tab"}}
    logger_only_to("leaky", handler).error("hostile keys", extra=extra)
    assert handler.wait_delivered(60)
    stats = handler.stats()
    handler.close()
    assert stats.dead_lettered == 0 and stats.dropped == 0
    (doc,) = _search(es, index_prefix)
    keys = doc["extra"]["extra_keys"]
    assert keys["k\\x00ey"] == "nul" and keys["[empty]"] == "empty" and keys["tab\\x09here"] == "tab"
    (long_key,) = [key for key in keys if key.startswith("xxx")]
    assert len(long_key.encode()) < 400 and "truncated by logloop" in long_key and keys[long_key] == "long"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 (aiosmtpd)."""
    with plain_smtp() as server:
        yield server


@pytest.fixture
def digest(es: Any, index_prefix: str, shipped: list[dict[str, Any]]) -> Digest:
    """The digest of the day in which the leaks were shipped."""
    now = datetime.now(UTC) + timedelta(minutes=1)
    return build_digest(Store(es, index_prefix), timedelta(days=1), now, now, title="secrets")


def _chromium_dom(page: Path) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    result = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.mark.browser
def test_digests_and_email_hold_no_secret(
    es: Any, index_prefix: str, digest: Digest, smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    """The text, Markdown and HTML digests (the HTML as chromium renders it) and the sent email hold
    none of the secrets and still show the errors."""
    rendered: dict[str, str] = {fmt: digest.render(fmt) for fmt in ("text", "markdown", "html", "json")}
    page = tmp_path / "digest.html"
    page.write_text(rendered["html"], encoding="utf-8")
    rendered["chromium"] = _chromium_dom(page)
    inbox, port = smtp
    settings = mailer.SmtpSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        sender="logloop@example.org",
        recipients=("ops@example.org",),
    )
    outcomes = mailer.send_digest(
        Store(es, index_prefix), digest.report, digest.images, settings, now=datetime.now(UTC)
    )
    assert [outcome.state for outcome in outcomes] == ["sent"]
    (message,) = inbox.to("ops@example.org")
    rendered["email"] = message.as_string() + "".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )
    for where, text in rendered.items():
        assert_no_secret(text, f"the {where} digest")
        assert "PermissionError" in text, where
    assert "Authorization: Bearer [REDACTED] rejected" in rendered["text"]


def test_argv_with_a_secret_is_redacted_in_every_event(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The program's own argv (`--password X`) is stored redacted in process.args and logloop.env.argv."""
    monkeypatch.setattr(sys, "argv", ["worker.py", "--db-password", "PL15argv", "--verbose"])
    install_template(es, index_prefix)
    handler = _handler(es_url, index_prefix, tmp_path / "spool")
    logger = logger_only_to("leaky", handler)
    logger.info("started")
    logger.error("stopped")
    assert handler.wait_delivered(60)
    handler.close()
    docs = _search(es, index_prefix)
    assert len(docs) == 2
    for doc in docs:
        assert doc["process"]["args"] == ["worker.py", "--db-password", REDACTED, "--verbose"]
    assert "PL15argv" not in str(docs)


def test_spool_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """The spool directory (and every directory under it) is created 0700, its segment files 0600."""
    spool = tmp_path / "new" / "spool"
    handler = ShipperHandler(
        "perm-test", es_url=f"http://127.0.0.1:{free_port()}", spool_path=spool, close_timeout=0.5
    )
    logger_only_to("leaky", handler).info("one event")
    files = [path for path in spool.rglob("*") if path.is_file()]
    modes = {path: path.stat().st_mode & 0o777 for path in [spool, *spool.rglob("*")]}
    handler.close()
    assert files, "the record was written to a segment file"
    assert {mode for path, mode in modes.items() if path.is_dir()} == {0o700}
    assert {mode for path, mode in modes.items() if path.is_file()} == {0o600}
