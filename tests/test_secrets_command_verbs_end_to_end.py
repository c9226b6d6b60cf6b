"""Command lines that set a secret by a verb or a flag (`setx`, `AUTH` typed in a traced script, `-p X
-h db`, a `CalledProcessError` of `echo X | passwd`), and Basic credentials in unpadded base64 as a URL's
user name, logged through a real handler into the real node, leave no planted secret in the stored
documents; the ordinary command lines logged beside them arrive unchanged."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.handler import ShipperHandler

# Each planted secret (all fake), by the class of shape it stands for.
SECRETS: dict[str, str] = {
    "E16setx1": "setx NAME value",
    "E16set2word": "SET NAME value in a log line",
    "E16auth3": "AUTH user value after a shell trace",
    "E16hello4": "HELLO 3 AUTH user value",
    "E16p5host": "-p value beside -h host",
    "E16passwd6": "echo value | passwd, in a CalledProcessError",
    "E16item7": "Set-Item Env:NAME -Value value",
    base64.urlsafe_b64encode(b"bob:E16b64?~x").decode().rstrip("="): "unpadded base64url userinfo",
}
ORDINARY = [
    "set the level to debug",
    "auth succeeded for bob",
    "running: docker run -p 8080:80 nginx",
    "running: export PATH=/usr/local/bin:/usr/bin",
    "running: pg_dump -h db -p 5432 app",
]


def _log_command_lines(logger: logging.Logger) -> None:
    """One event per class of shape (messages, %-arguments, an exception's command), then the ordinary."""
    logger.info("running: setx DB_PASSWORD E16setx1 /M")
    logger.info("2026-12-06 01:02:03 exec: SET DB_PASSWORD E16set2word")
    logger.info("+ %s", "AUTH default E16auth3")
    logger.info("sent %r", "HELLO 3 AUTH default E16hello4 SETNAME worker")
    logger.warning("$ mytool -p E16p5host -h db.internal")
    try:
        raise subprocess.CalledProcessError(1, "echo E16passwd6 | passwd --stdin bob")
    except subprocess.CalledProcessError:
        logger.exception("provisioning failed")
    logger.info('PS> Set-Item -Path Env:API_TOKEN -Value "E16item7"')
    encoded = next(secret for secret, shape in SECRETS.items() if "base64" in shape)
    logger.info("cloning https://%s@git.example.com/org/repo.git", encoded)
    for line in ORDINARY:
        logger.info(line)


@pytest.fixture
def stored(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> list[dict[str, Any]]:
    install_template(es, index_prefix)
    handler = ShipperHandler("verbs", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    _log_command_lines(logger_only_to("verbs", handler))
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "verbs"}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_node_documents_hold_no_secret_set_by_a_command_verb(
    stored: list[dict[str, Any]], es: Any, index_prefix: str
) -> None:
    """Every event reaches the node; no stored document holds a planted secret (read back, and searched
    for by the node itself); the ordinary command lines arrive exactly as logged."""
    assert len(stored) == len(SECRETS) + len(ORDINARY)  # one event per planted secret
    text = json.dumps(stored, ensure_ascii=False)
    leaked = {secret: shape for secret, shape in SECRETS.items() if secret in text}
    assert leaked == {}, f"the node's documents hold secrets: {leaked}"
    for secret in SECRETS:
        query = {"query_string": {"query": f'"{secret}"', "fields": ["*"], "lenient": True}}
        assert es.search(index=f"{index_prefix}-*", query=query)["hits"]["total"]["value"] == 0, secret
    messages = {doc["message"] for doc in stored}
    assert [line for line in ORDINARY if line not in messages] == []
    (failed,) = [doc for doc in stored if doc["message"] == "provisioning failed"]
    assert "| passwd --stdin bob" in failed["error"]["message"]  # the command kept, its secret gone
