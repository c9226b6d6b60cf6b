"""Feedback events: the document they make, and their trip through the real handler into the node."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from kibana.setup import install_template
from shipper import schema
from shipper.exceptions import ConfigurationError
from shipper.feedback import feedback, feedback_event
from shipper.handler import ShipperHandler


@pytest.mark.parametrize("kind", [pytest.param(kind, id=kind) for kind in schema.FEEDBACK_KINDS])
def test_feedback_event_document(kind: str) -> None:
    """Each allowed kind gives a logloop.feedback document with the text, service, user and extras."""
    doc = feedback_event(
        "restart does nothing, 100% reproducible", kind=kind, service="service-manager", user="ana",
        extra={"screen": "status"},
    )  # fmt: skip
    assert doc["event"]["dataset"] == schema.DATASET_FEEDBACK
    assert doc["logloop"] == {"feedback": {"kind": kind}}
    assert doc["message"] == "restart does nothing, 100% reproducible"
    assert doc["service"]["name"] == "service-manager"
    assert doc["extra"] == {"user": "ana", "screen": "status"}
    assert doc["log"]["origin"]["function"] == "test_feedback_event_document"


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("complaint", id="unknown"),
        pytest.param("BUG", id="wrong-case"),
        pytest.param("", id="empty"),
    ],
)
def test_bad_kind_names_the_allowed_kinds(kind: str) -> None:
    """A kind outside bug|feature|usability is a ConfigurationError listing the allowed kinds."""
    with pytest.raises(ConfigurationError, match="not one of: bug, feature, usability"):
        feedback_event("x", kind=kind, service="svc")


def test_feedback_without_a_handler_says_what_to_do() -> None:
    """With no handler anywhere, shipper.feedback() raises instead of silently losing the feedback."""
    root = logging.getLogger()
    saved = list(root.handlers)
    for handler in saved:
        root.removeHandler(handler)
    try:
        with pytest.raises(ConfigurationError, match=r"call shipper.install\(...\) first"):
            feedback("nobody listens", kind="bug")
    finally:
        for handler in saved:
            root.addHandler(handler)


def test_feedback_secrets_are_redacted() -> None:
    """Pasted credentials in feedback text do not leave the process."""
    doc = feedback_event("login fails with password=hunter2", kind="bug", service="svc")
    assert doc["message"] == "login fails with password=[REDACTED]"


@pytest.mark.es
def test_feedback_is_shipped_through_the_installed_handler(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """shipper.feedback() goes through the root logger's ShipperHandler and arrives in the node once."""
    install_template(es, index_prefix)
    handler = ShipperHandler(
        "feedback-test", es_url=es_url, index_prefix=index_prefix, spool_path=tmp_path / "spool.sqlite"
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # feedback is INFO, yet must not be filtered by the logger level
    feedback("the status table is hard to read", kind="usability", user="bo")
    assert handler.wait_delivered(30)
    handler.close()
    es.indices.refresh(index=f"{index_prefix}-events")
    hits = es.search(
        index=f"{index_prefix}-events", query={"term": {"event.dataset": schema.DATASET_FEEDBACK}}
    )["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    assert source["message"] == "the status table is hard to read"
    assert source["logloop"]["feedback"]["kind"] == "usability"
    assert source["service"]["name"] == "feedback-test"
    assert source["extra"]["user"] == "bo"
    assert hits[0]["_id"] == source["event"]["id"]


@pytest.mark.es
def test_cli_feedback_spooled_while_down_is_delivered_by_the_next_run(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`logloop feedback` with the node unreachable says it spooled; the next run delivers both events."""
    from logloop.cli import main

    install_template(es, index_prefix)
    spool = str(tmp_path / "feedback.sqlite")
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("LOGLOOP_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")

    monkeypatch.setenv("LOGLOOP_ES_URL", "http://127.0.0.1:1")  # nothing listens on port 1
    args = ["feedback", "export is slow", "--kind", "feature", "--service", "cli-test", "--spool-path", spool]
    assert main([*args, "--timeout", "0.5"]) == 0
    assert "spooled in" in capsys.readouterr().out

    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    assert main(["feedback", "crash on start", "--kind", "bug", "--spool-path", spool, "--user", "cy"]) == 0
    assert "delivered to" in capsys.readouterr().out

    es.indices.refresh(index=f"{index_prefix}-events")
    query = {"term": {"event.dataset": schema.DATASET_FEEDBACK}}  # the shipper's health documents aside
    hits = es.search(index=f"{index_prefix}-events", query=query, sort=["event.id"])["hits"]["hits"]
    assert [(h["_source"]["message"], h["_source"]["logloop"]["feedback"]["kind"]) for h in hits] == [
        ("export is slow", "feature"),
        ("crash on start", "bug"),
    ]
    assert [h["_source"]["service"]["name"] for h in hits] == ["cli-test", "logloop"]
