"""The ninth redaction sweep's shapes logged through a real handler (real exceptions raised with their
arguments, extras, messages) reach neither the real node's documents nor, with `redact_before_spool`
and the node down, the spool files; the ordinary values logged beside them arrive unchanged."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

from helpers.ports import free_port
from helpers.shipping import logger_only_to
from helpers.spooled import payloads_in

from kibana.setup import install_template
from shipper.handler import ShipperHandler

# Each planted secret (all fake), by the class of shape it stands for.
SECRETS: dict[str, str] = {
    "N9exc1Pw": "an exception's positional argument",
    "N9map2Token": "a mapping of hosts to tokens (composer's github-oauth)",
    "N9mail3Pw": "an address and its password",
    "4829": "a PIN",
    base64.b64encode(b"deploy:N9b64Pw").decode(): "user:password in bare base64",
    "N9pgp4Body": "a private key whose BEGIN line was cut",
    "N9wide5Pw": "a value after a full-width key",
    "N9call6Pw": "f-string debug output of a call",
    "N9acl7Pw": "a Redis ACL password",
}
KEPT = {"gpio_pin": 17, "oauth_client_id": "web-frontend", "arn": "arn:aws:secretsmanager:eu:1:secret:db-x"}
KEPT_PHRASES = ["login failed", "'bob'", "github.com", "relay bob@x.io", "git@github.com:org/repo.git"]


class AuthError(Exception):
    """An application's own error, raised with its arguments by position."""


def _log_shapes(logger: logging.Logger) -> None:
    try:
        raise AuthError("login failed", "bob", "N9exc1Pw")
    except AuthError:
        logger.exception("sign-in failed")
    logger.warning("composer auth %s", json.dumps({"github-oauth": {"github.com": "N9map2Token"}}))
    logger.info("composer settings loaded", extra={"github-oauth": {"github.com": "N9map2Token"}, **KEPT})
    logger.error("relay bob@x.io:N9mail3Pw refused; pushing to git@github.com:org/repo.git")
    logger.info("card verified", extra={"user_pin": "4829"})
    logger.info("proxy sent %s=", base64.b64encode(b"deploy:N9b64Pw").decode()[:-1])
    logger.error(
        "key:\nATE KEY BLOCK-----\n\nlQOYBN9pgp4BodyAbCd\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----"
    )
    logger.info("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff1dN9wide5Pw")
    logger.info("debug cfg.get('password')='N9call6Pw'")
    logger.info("acl: user alice on >N9acl7Pw ~* +@all")


def _assert_clean(text: str, where: str) -> None:
    """`text` is JSON: a secret of digits only (the PIN) is looked for as the whole string value it was
    logged as, since its four digits occur by chance in timestamps, durations and ids."""
    leaked = {
        secret: shape
        for secret, shape in SECRETS.items()
        if (f'"{secret}"' if secret.isdigit() else secret) in text
    }
    assert leaked == {}, f"{where} holds secrets: {leaked}"


def test_node_documents_hold_none_of_the_ninth_sweeps_secrets(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Every event reaches the node; none holds a planted secret; the ordinary values beside them stay."""
    install_template(es, index_prefix)
    handler = ShipperHandler("unnamed", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    _log_shapes(logger_only_to("unnamed", handler))
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "unnamed"}}, size=100)
    stored = [hit["_source"] for hit in found["hits"]["hits"]]
    assert len(stored) == 10
    text = json.dumps(stored, ensure_ascii=False)
    _assert_clean(text, "the node's documents")
    assert [phrase for phrase in KEPT_PHRASES if phrase not in text] == []
    (kept,) = [doc for doc in stored if doc["message"] == "composer settings loaded"]
    assert {key: kept["extra"][key] for key in KEPT} == KEPT


def test_spool_files_hold_none_of_the_ninth_sweeps_secrets(tmp_path: Path) -> None:
    """With `redact_before_spool` and the node unreachable, the spool files hold none of the secrets and
    every event is there."""
    spool = tmp_path / "spool"
    handler = ShipperHandler(
        "unnamed",
        es_url=f"http://127.0.0.1:{free_port()}",
        spool_path=spool,
        close_timeout=0.5,
        redact_before_spool=True,
    )
    _log_shapes(logger_only_to("unnamed", handler))
    files = b"".join(path.read_bytes() for path in sorted(spool.rglob("*")) if path.is_file())
    handler.close()
    assert handler.stats().dropped == 0 and b"sign-in failed" in files and b"relay bob@x.io" in files
    # The bytes as written, for every secret long enough never to occur by chance in binary framing;
    # the records as the agent decodes them, for all of them.
    long_enough = [secret for secret in SECRETS if not secret.isdigit()]
    assert [secret for secret in long_enough if secret.encode() in files] == []
    _assert_clean(json.dumps(payloads_in(spool), default=repr, ensure_ascii=False), "the spool's records")
