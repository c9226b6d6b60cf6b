"""The secret shapes of tests/test_redaction_shapes.py, logged through a real handler, reach neither the
real node's documents, nor the spool files (`redact_before_spool`, node down), nor the Logstash tcp
payloads, nor stderr; the ordinary values logged beside them (identifier keys, flags, a working
directory, a git SHA, a UUID) arrive unchanged."""

from __future__ import annotations

import json
import logging
import pprint
from pathlib import Path
from typing import Any

import pytest
from helpers.logstash_servers import JsonLinesServer
from helpers.ports import free_port
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.handler import ShipperHandler

AWS_ID = "AKIAQ3EGRTZ7FAKE0002"
# Each planted secret (all fake), by the class of shape it stands for.
SECRETS: dict[str, str] = {
    "E2rocket1": "Ruby '=>' pair",
    "E2xml2secret": "XML element",
    "E2lang3": "password in another language",
    "E2lang4": "password in another script",
    "E2ab/cd5": "URL password with a raw '/'",
    "E2bytes6": "bytes literal in a header list",
    "E2pem7body": "private key body without its armour",
    "E2awsE2awsE2awsE2awsE2awsE2awsE2awsE2aws": "AWS secret key beside its id",
    "whsec_E2webhookE2webhookE2webhook": "provider token format",
    "E2yaml8": "YAML block scalar",
    "E2named9": "name and value given apart",
    "E2args10": "%(password)s argument",
    "E2args11": "%(password)s argument of an error",
    "E2pp12": "string pprint split over lines",
    "E2tuple13": "tuple under a secret key",
    "E3diag14x": "value loguru's diagnose annotates under a secret name",
    "E3pyd15x": "pydantic input_value of a secret field",
    "E3sql16x": "SQLAlchemy positional parameter of a secret column",
    "E3echo17x": "secret found in an extra, repeated in the message",
    "E3k8s18x": "value of a Kubernetes Secret",
    "E3rich19x": "string rich cut at its table's border",
}
# Ordinary values that must arrive as they were logged.
KEPT = {
    "cache_key": "a1b2c3d4e5f6a7b8",
    "routing_key": "orders.created",
    "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2",
    "private": False,
    "commit": "4f2a9c1de8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3",
    "request": "123e4567-e89b-12d3-a456-426614174000",
}
KEPT_PHRASES = ["password reset succeeded", "PWD=/home/e2bob", "@db:5432/shop", "<ns:ClientSecret>"]


def _log_shapes(logger: logging.Logger) -> None:
    """One event per class of shape (messages, %-arguments, extras, an exception)."""
    logger.info('ruby config {:password => "E2rocket1"} loaded')
    logger.warning("soap fault for <ns:ClientSecret>E2xml2secret</ns:ClientSecret>")
    logger.info("login contraseña=E2lang3 then пароль: E2lang4")
    logger.error("cannot reach postgresql://app:E2ab/cd5@db:5432/shop")
    logger.info("asgi headers %r", [(b"host", b"api"), (b"x-api-key", b"E2bytes6")])
    logger.info("key body MIIEvQIBADANBgkqhkiG9w0BAQEFAASCE2pem7body")
    logger.info("uploading with %s / %s", AWS_ID, "E2aws" * 8)
    logger.info("webhook rejected: whsec_E2webhookE2webhookE2webhook")
    try:
        raise ValueError("bad settings:\npassword: |\n  E2yaml8\nuser: bob")
    except ValueError:
        logger.exception("config failed")
    logger.warning("env %s", json.dumps([{"name": "DB_PASSWORD", "value": "E2named9"}]))
    logger.info("connecting as %(user)s with %(password)s", {"user": "bob", "password": "E2args10"})
    logger.error("refused %(user)s with %(password)s", {"user": "bob", "password": "E2args11"})
    logger.info("config:\n%s", pprint.pformat({"api_key": "E2pp12 " * 10}, width=40))
    logger.info("request options %s", {"auth": ("bob", "E2tuple13"), "timeout": 5})
    logger.info("password reset succeeded; PWD=/home/e2bob", extra=KEPT)
    try:
        raise ValueError("    connect(host, secret)\n    │       │     └ 'E3diag14x'\n    │       └ 'db'")
    except ValueError:
        logger.exception("connect failed")
    try:
        raise ValueError(
            "1 validation error for Login\npassword\n  String should have at least 40 characters "
            "[type=string_too_short, input_value='E3pyd15x', input_type=str]"
        )
    except ValueError:
        logger.exception("bad login form")
    logger.error(
        "(sqlite3.IntegrityError) UNIQUE constraint failed: users.name\n"
        "[SQL: INSERT INTO users (name, password_hash) VALUES (?, ?)]\n[parameters: ('bob', 'E3sql16x')]"
    )
    logger.warning("login rejected: E3echo17x for bob", extra={"form": {"password": "E3echo17x"}})
    logger.info("applied:\nkind: Secret\nmetadata:\n  name: db\ndata:\n  DB_URL: E3k8s18x\n")
    logger.error("│ │ api_key = 'E3rich19x" + "0" * 60 + "… │ │\n│ │ user = 'bob' │ │")


def assert_clean(text: str, where: str) -> None:
    """No planted secret is in the text (named with its class), and the ordinary values are."""
    leaked = {secret: shape for secret, shape in SECRETS.items() if secret in text}
    assert leaked == {}, f"{where} holds secrets: {leaked}"
    assert AWS_ID not in text


@pytest.fixture
def stored(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> list[dict[str, Any]]:
    install_template(es, index_prefix)
    handler = ShipperHandler("shapes", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    _log_shapes(logger_only_to("shapes", handler))
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "shapes"}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_node_documents_hold_no_secret_of_any_shape(stored: list[dict[str, Any]]) -> None:
    """Every event reaches the node; none holds a planted secret; ordinary values beside them stay."""
    assert len(stored) == 21
    text = json.dumps(stored, ensure_ascii=False)
    assert_clean(text, "the node's documents")
    assert [phrase for phrase in KEPT_PHRASES if phrase not in text] == []
    (kept,) = [doc for doc in stored if doc["message"].startswith("password reset")]
    assert {key: kept["extra"][key] for key in KEPT} == KEPT


def test_spool_files_and_stderr_hold_no_secret_of_any_shape(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """With `redact_before_spool` and the node unreachable, the spool directory's files and what the
    shipper printed on stderr hold none of the secrets."""
    spool = tmp_path / "spool"
    handler = ShipperHandler(
        "shapes",
        es_url=f"http://127.0.0.1:{free_port()}",
        spool_path=spool,
        close_timeout=0.5,
        redact_before_spool=True,
    )
    _log_shapes(logger_only_to("shapes", handler))
    files = b"".join(path.read_bytes() for path in sorted(spool.rglob("*")) if path.is_file())
    handler.close()
    assert handler.stats().dropped == 0 and b"password reset succeeded" in files
    assert_clean(files.decode("utf-8", "replace"), "the spool files")
    assert_clean(capfd.readouterr().err, "stderr")


def test_logstash_payloads_hold_no_secret_of_any_shape(tmp_path: Path) -> None:
    """Through the Logstash tcp transport (a loopback json_lines reader standing in for Logstash) every
    event arrives, without a planted secret."""
    server = JsonLinesServer()
    handler = ShipperHandler(
        "shapes", transport="logstash-tcp", logstash_port=server.port, spool_path=tmp_path / "s"
    )
    _log_shapes(logger_only_to("shapes", handler))
    assert handler.wait_delivered(60)
    handler.close()
    received: list[dict[str, Any]] = []
    for _ in range(50):  # the reader thread parses each connection once the shipper closed it
        received = [d for d in server.received if d.get("log", {}).get("logger") == "shapes"]
        if len(received) >= 21:
            break
        server.served.clear()
        server.served.wait(0.1)
    server.close()
    assert len(received) == 21
    assert_clean(json.dumps(received, ensure_ascii=False), "the Logstash payloads")
