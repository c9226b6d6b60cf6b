"""The shapes of tests/test_redaction_formats_and_transcripts.py, logged through a real handler into the
real node (with real errors of argparse, requests, http.client and subprocess, and a real smtplib debug
transcript), leave no planted secret in the stored documents; the ordinary lines logged beside them
arrive unchanged."""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.shipping import logger_only_to

from kibana.setup import install_template
from shipper.handler import ShipperHandler

PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQE6pemBodyE6x\n-----END PRIVATE KEY-----\n"
# Each planted secret (all fake), by the class of shape it stands for.
SECRETS: dict[str, str] = {
    "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": "provider token known by its prefix",
    "E6splitTail9": "second half of a copy split by a line break",
    base64.b64encode(b"\0bob\0E6smtp1x").decode(): "SMTP AUTH PLAIN in a debug transcript",
    "E6argp2x": "argparse's error for a secret option (real)",
    "E6schemeless3x": "user:password@host without a scheme (real requests and http.client errors)",
    "E6twine4x": "-p beside -u in a CalledProcessError (real)",
    "E6pgkey5x": "PostgreSQL Key (column)=(value) detail",
    base64.b64encode(PEM.encode()).decode(): "PEM private key in base64",
    "E6clave7x": "secret named in Spanish",
}
ORDINARY = [
    "--- PASS: TestLogin (0.00s)",
    "PASS  src/components/App.test.js",
    "Engine(postgresql+psycopg2://app:***@db:5432/shop)",
    "DETAIL:  Key (email)=(bob@example.com) already exists.",
    "docker run -u 1000 -p 8080:80 nginx",
    "sending 'mailto:bob@example.com' link",
]


def _log_shapes(logger: logging.Logger) -> None:
    """One event per class of shape (messages, real library errors as exceptions), then the ordinary
    lines."""
    logger.info("client ready with 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")
    logger.warning("token=E6splitHead1E6splitTail9 rejected; retried with token E6splitHead1\n  E6splitTail9")
    logger.debug("send: 'AUTH PLAIN %s\\r\\n'", base64.b64encode(b"\0bob\0E6smtp1x").decode())
    parser = argparse.ArgumentParser(prog="app", exit_on_error=False)
    parser.add_argument("--token", type=int)
    try:
        parser.parse_args(["--token", "E6argp2x"])
    except argparse.ArgumentError:
        logger.exception("bad arguments")
    try:
        requests.get("bob:E6schemeless3x@example.com/x", timeout=1)
    except requests.RequestException:
        logger.exception("fetch failed")
    try:
        http.client.HTTPConnection("bob:E6schemeless3x@127.0.0.1")
    except http.client.InvalidURL:
        logger.exception("connect failed")
    try:
        raise subprocess.CalledProcessError(
            1, ["twine", "upload", "-u", "bob", "-p", "E6twine4x", "dist/x.whl"]
        )
    except subprocess.CalledProcessError:
        logger.exception("upload failed")
    logger.error("DETAIL:  Key (api_token)=(E6pgkey5x) already exists.")
    logger.info("client-key-data: %s", base64.b64encode(PEM.encode()).decode())
    logger.info("clave: E6clave7x")
    for line in ORDINARY:
        logger.info(line)


@pytest.fixture
def stored(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> list[dict[str, Any]]:
    install_template(es, index_prefix)
    handler = ShipperHandler("formats", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "s")
    logger = logger_only_to("formats", handler)
    logger.setLevel(logging.DEBUG)
    _log_shapes(logger)
    assert handler.wait_delivered(60)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-*")
    found = es.search(index=f"{index_prefix}-*", query={"term": {"log.logger": "formats"}}, size=100)
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_node_documents_hold_no_secret_of_the_sixth_sweeps_shapes(
    stored: list[dict[str, Any]], es: Any, index_prefix: str
) -> None:
    """Every event reaches the node; no stored document holds a planted secret (read back, and searched
    for by the node itself); the ordinary lines arrive exactly as logged."""
    assert len(stored) == 10 + len(ORDINARY)  # one event a shape (two for the schemeless errors)
    text = json.dumps(stored, ensure_ascii=False)
    leaked = {secret: shape for secret, shape in SECRETS.items() if secret in text}
    assert leaked == {}, f"the node's documents hold secrets: {leaked}"
    for secret in SECRETS:
        query = {"query_string": {"query": f'"{secret}"', "fields": ["*"], "lenient": True}}
        assert es.search(index=f"{index_prefix}-*", query=query)["hits"]["total"]["value"] == 0, secret
    messages = {doc["message"] for doc in stored}
    assert [line for line in ORDINARY if line not in messages] == []
