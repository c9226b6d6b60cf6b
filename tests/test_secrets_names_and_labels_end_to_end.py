"""The fifteenth session's redaction shapes logged through a real handler (a secret's name in another
language or abbreviated, in extras, messages and a real traceback's locals; a secret below its label)
reach neither the real node's documents nor, with `redact_before_spool` and the node down, the spool
files; the ordinary values logged beside them arrive unchanged."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from typing import Any

from helpers.ports import free_port
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.handler import ShipperHandler

# Each planted secret (all fake), by the class of shape it stands for.
SECRETS: dict[str, str] = {
    "N15hu1Pw": "an extra named in Hungarian, inflected (`jelszava`)",
    "N15tok2Val": "an extra under a short name (`tok`)",
    "N15lv3Pw": "a Latvian name in a message (`DB_PAROLE=`)",
    "N15below4Pw": "a password alone below its label",
    "N15pl5Pw": "a traceback's local named in Polish (`hasło`)",
    "N15psw6Val": "a keyword argument under a short name (`psw=`)",
}
KEPT = {"gpio_pin": 17, "region": "eu-west-1"}
KEPT_PHRASES = ["password set for alice:", "Client(host='db'", "hasło = ", "parole hearing scheduled"]


def _login(user: str) -> None:
    hasło = "N15pl5Pw"  # noqa: F841  (a local the traceback shows)
    raise PermissionError(f"login refused for {user}")


def _log_shapes(logger: logging.Logger) -> None:
    logger.info("user loaded", extra={"jelszava": "N15hu1Pw", "tok": "N15tok2Val", **KEPT})
    logger.warning("config read: DB_PAROLE=N15lv3Pw")
    logger.info("password set for alice:\n    N15below4Pw\nparole hearing scheduled")
    try:
        _login("bob")
    except PermissionError as error:
        locals_shown = "".join(
            traceback.TracebackException.from_exception(error, capture_locals=True).format()
        )
        logger.error("sign-in failed:\n%s", locals_shown)
    logger.error("connect failed: Client(host='db', psw='N15psw6Val')")


def _assert_clean(text: str, where: str) -> None:
    leaked = {secret: shape for secret, shape in SECRETS.items() if secret in text}
    assert leaked == {}, f"{where} holds secrets: {leaked}"


def test_node_documents_hold_none_of_the_fifteenth_sessions_secrets(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Every event reaches the node; none holds a planted secret; the ordinary values beside them stay."""
    install_template(es, index_prefix)
    handler = ShipperHandler("names", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    _log_shapes(logger_only_to("names", handler))
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "names"}}, size=100)
    stored = [hit["_source"] for hit in found["hits"]["hits"]]
    assert len(stored) == 5
    text = json.dumps(stored, ensure_ascii=False)
    _assert_clean(text, "the node's documents")
    assert [phrase for phrase in KEPT_PHRASES if phrase not in text] == []
    (kept,) = [doc for doc in stored if doc["message"] == "user loaded"]
    assert {key: kept["extra"][key] for key in KEPT} == KEPT


def test_spool_files_hold_none_of_the_fifteenth_sessions_secrets(tmp_path: Path) -> None:
    """With `redact_before_spool` and the node unreachable, the spool files hold none of the secrets and
    every event is there."""
    spool = tmp_path / "spool"
    handler = ShipperHandler(
        "names",
        es_url=f"http://127.0.0.1:{free_port()}",
        spool_path=spool,
        close_timeout=0.5,
        redact_before_spool=True,
    )
    _log_shapes(logger_only_to("names", handler))
    files = b"".join(path.read_bytes() for path in sorted(spool.rglob("*")) if path.is_file())
    handler.close()
    assert handler.stats().dropped == 0 and b"sign-in failed" in files and b"user loaded" in files
    _assert_clean(files.decode("utf-8", "replace"), "the spool files")
