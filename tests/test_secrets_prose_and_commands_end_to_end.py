"""The shapes of tests/test_redaction_prose_and_commands.py, logged through a real handler into the real
node (a real traceback whose source line signs in with literals, a real `CalledProcessError`), leave no
planted secret in the stored documents; the ordinary lines logged beside them arrive unchanged."""

from __future__ import annotations

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
    "fourplainword": "plain word after `->`",
    "tabbedplainword": "plain word after a tab",
    "E4u7prefix": "Python 2 u'' literal",
    "E4dash8x!": "credential after a dash",
    "E4htp5x": "htpasswd's positional password",
    "sunflowerfield": "mysqladmin password <plain word>",
    "E4sudo3x": "echo X | sudo -S",
    "E4chp2x": "printf 'bob:X' | chpasswd",
    "E4argv1x": "argv list of a CalledProcessError",
    "E4call0x": "literal passed by position to login()",
    "E4cjk1x": "password told in Japanese",
    "E4zh2x": "password told in Chinese",
    "E4ko3x": "password told in Korean",
    "ghp_e4abcd12": "token as a URL's user name",
}
ORDINARY = [
    "passing the token to handler2",
    "token count 12",
    "password reset email sent to bob",
    "tokenizer loaded: bert-base-uncased",
    "secret santa draw done",
    "docker run --rm -u 1000:1000 app:latest",
    "パスワードを忘れた場合",
]


def _sign_in(user: str, password: str) -> None:
    raise PermissionError(f"denied for {user}")


def _log_shapes(logger: logging.Logger) -> None:
    """One event per class of shape (messages, %-arguments, exceptions), then the ordinary lines."""
    logger.info("temporary password -> fourplainword")
    logger.info("PASSWORD\ttabbedplainword")
    logger.info("settings %s", "{'password': u'E4u7prefix'}")
    logger.info("password - E4dash8x!")
    logger.warning("ran htpasswd bob E4htp5x")
    logger.warning("ran mysqladmin -u root password sunflowerfield")
    logger.warning("ran echo E4sudo3x | sudo -S systemctl restart app")
    logger.warning("ran printf 'bob:E4chp2x' | chpasswd")
    try:
        raise subprocess.CalledProcessError(1, ["htpasswd", "-b", "/etc/x", "bob", "E4argv1x"])
    except subprocess.CalledProcessError:
        logger.exception("provisioning failed")
    try:
        _sign_in("bob", "E4call0x")
    except PermissionError:
        logger.exception("sign-in failed")
    logger.info("パスワードはE4cjk1xです")
    logger.info("密码是E4zh2x")
    logger.info("비밀번호는 E4ko3x입니다")
    logger.info("cloning https://ghp_e4abcd12@github.com/org/repo.git")
    for line in ORDINARY:
        logger.info(line)


@pytest.fixture
def stored(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> list[dict[str, Any]]:
    install_template(es, index_prefix)
    handler = ShipperHandler("prose", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    _log_shapes(logger_only_to("prose", handler))
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "prose"}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_node_documents_hold_no_secret_told_in_prose_or_commands(
    stored: list[dict[str, Any]], es: Any, index_prefix: str
) -> None:
    """Every event reaches the node; no stored document holds a planted secret (read back, and searched
    for by the node itself); the ordinary lines arrive exactly as logged."""
    assert len(stored) == len(SECRETS) + len(ORDINARY)  # one event per planted secret
    text = json.dumps(stored, ensure_ascii=False)
    leaked = {secret: shape for secret, shape in SECRETS.items() if secret in text}
    assert leaked == {}, f"the node's documents hold secrets: {leaked}"
    for secret in SECRETS:
        query = {"query_string": {"query": f'"{secret}"', "fields": ["*"], "lenient": True}}
        assert es.search(index=f"{index_prefix}-*", query=query)["hits"]["total"]["value"] == 0, secret
    messages = {doc["message"] for doc in stored}
    assert [line for line in ORDINARY if line not in messages] == []
    (traced,) = [doc for doc in stored if doc["message"] == "sign-in failed"]
    assert '_sign_in("bob", "[REDACTED]")' in traced["error"]["stack_trace"]  # the source line
