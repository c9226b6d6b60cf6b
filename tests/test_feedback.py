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


def _spool_in_a_file(tmp_path: Path) -> Path:
    (tmp_path / "file").write_text("x")
    return tmp_path / "file"


@pytest.mark.es
@pytest.mark.parametrize(
    "spool",
    [
        pytest.param(lambda tmp: Path("/dev/null"), id="device"),
        pytest.param(_spool_in_a_file, id="regular-file"),
        pytest.param(lambda tmp: _spool_in_a_file(tmp) / "spool", id="under-a-file"),
    ],
)
def test_cli_feedback_that_cannot_be_spooled_is_an_error(
    es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, spool: Any
) -> None:
    """Feedback whose spool cannot be written, with no fallback directory either, is one error line
    and status 1; before, the command said "delivered" with status 0 while the event was dropped."""
    from logloop.cli import main
    from shipper import handler

    monkeypatch.setattr(handler, "_SPOOL_ROOTS", ())

    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    args = ["feedback", "export is slow", "--kind", "bug", "--spool-path", str(spool(tmp_path))]
    assert main([*args, "--timeout", "5"]) == 1
    captured = capsys.readouterr()
    assert "delivered" not in captured.out and "spooled" not in captured.out
    assert "logloop feedback: error: the feedback was not kept" in captured.err


@pytest.mark.es
@pytest.mark.parametrize(
    "spool",
    [
        pytest.param(_spool_in_a_file, id="regular-file"),
        pytest.param(lambda tmp: _spool_in_a_file(tmp) / "spool", id="under-a-file"),
    ],
)
def test_cli_feedback_whose_spool_cannot_be_written_is_delivered_through_a_fallback(
    es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, spool: Any
) -> None:
    """Feedback given a spool path that cannot be written goes through the user's fallback spool
    directory and is delivered (status 0)."""
    from logloop.cli import main

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    args = ["feedback", "export is slow", "--kind", "bug", "--spool-path", str(spool(tmp_path))]
    assert main([*args, "--timeout", "30"]) == 0
    captured = capsys.readouterr()
    assert "delivered" in captured.out, captured


@pytest.mark.es
def test_cli_feedback_the_node_refuses_is_an_error_naming_the_dead_letter_file(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Feedback the node refuses (here, today's index maps `message` as a number) is an error naming the
    dead-letter file, status 1; before, the command said "delivered"."""
    from datetime import UTC, datetime

    from logloop.cli import main

    index = schema.index_for(datetime.now(UTC), index_prefix)
    es.indices.create(index=index, mappings={"properties": {"message": {"type": "long"}}})
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    spool = tmp_path / "spool"
    assert (
        main(["feedback", "export is slow", "--kind", "bug", "--spool-path", str(spool), "--timeout", "30"])
        == 1
    )
    captured = capsys.readouterr()
    assert "delivered" not in captured.out
    assert f"refused the feedback: its reason is in {spool}.deadletter.jsonl" in captured.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        pytest.param(["", "--kind", "bug"], "argument text: is empty", id="empty-text"),
        pytest.param([" \t\n", "--kind", "bug"], "argument text: is empty", id="blank-text"),
        pytest.param(
            ["x", "--kind", "bug", "--service", ""], "argument --service: is empty", id="empty-service"
        ),
        pytest.param(
            ["x", "--kind", "bug", "--timeout", "nan"], "'nan' is not a number of seconds", id="nan"
        ),
        pytest.param(
            ["x", "--kind", "bug", "--timeout", "inf"], "'inf' is not a number of seconds", id="inf"
        ),
        pytest.param(
            ["x", "--kind", "bug", "--timeout", "-1"], "'-1' is not a number of seconds", id="negative"
        ),
        pytest.param(
            ["x", "--kind", "bug", "--timeout", "soon"], "'soon' is not a number of seconds", id="text"
        ),
    ],
)
def test_cli_feedback_usage_errors(capsys: Any, argv: list[str], words: str) -> None:
    """Empty feedback, an empty service and a timeout that is no finite number of seconds are usage
    errors (status 2) before anything is spooled; before, they were shipped, and `--timeout nan`
    waited for ever on an unreachable node."""
    from logloop.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["feedback", *argv])
    assert exited.value.code == 2 and words in capsys.readouterr().err
