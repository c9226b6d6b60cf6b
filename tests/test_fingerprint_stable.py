"""Golden keys: grouping keys are persisted, so a change to the code must not move any recorded event.

tests/data/tracebacks/expected_keys.json holds the (key, name) that `fingerprint_event` gave, at
GROUPING_VERSION 3, to the first event of each (label, host) of the labelled corpus, and to the same
event's message logged as a message-only error. Regenerate it only together with a GROUPING_VERSION bump.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipper.grouping.fingerprint import GROUPING_VERSION, clear_caches, fingerprint_event
from shipper.grouping.tracebacks import parse_traceback, scan_traceback

DATA = Path(__file__).resolve().parent / "data" / "tracebacks"
EXPECTED = json.loads((DATA / "expected_keys.json").read_text(encoding="utf-8"))
CORPUS_LINES = (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines()


def _event(line: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CORPUS_LINES[line - 1])
    doc.pop("label")
    return doc


def _message_only(doc: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"level": "error", "logger": doc["log"]["logger"]}, "message": doc["message"]}


CASES = [
    pytest.param(case, id=f"line{case['line']}-{case['label']}-{case['host']}") for case in EXPECTED["cases"]
]


def test_recorded_keys_belong_to_the_current_grouping_version() -> None:
    """The golden file was recorded at the GROUPING_VERSION the code still claims."""
    assert EXPECTED["grouping_version"] == GROUPING_VERSION == 3
    assert len(CASES) >= 50


@pytest.mark.parametrize("case", CASES)
def test_traceback_event_keeps_its_recorded_key_and_name(case: dict[str, Any]) -> None:
    """A corpus event with its stack trace still gets the recorded key and name."""
    fingerprint = fingerprint_event(_event(case["line"]))
    assert fingerprint is not None
    assert [fingerprint.key, fingerprint.name] == case["traceback"]
    assert fingerprint.version == GROUPING_VERSION


@pytest.mark.parametrize("case", CASES)
def test_message_only_event_keeps_its_recorded_key_and_name(case: dict[str, Any]) -> None:
    """The corpus event's message, logged as a message-only error, still gets the recorded key and name."""
    fingerprint = fingerprint_event(_message_only(_event(case["line"])))
    assert fingerprint is not None
    assert [fingerprint.key, fingerprint.name] == case["message_only"]


def test_memos_never_change_a_key() -> None:
    """Every corpus event gets the same fingerprint with empty memos, with warm ones, and as recorded."""
    docs = {line: _event(line) for line in range(1, len(CORPUS_LINES) + 1)}
    cold = {}
    for line, doc in docs.items():
        clear_caches()
        cold[line] = fingerprint_event(doc)
    clear_caches()
    first_pass = {line: fingerprint_event(doc) for line, doc in docs.items()}
    warm = {line: fingerprint_event(doc) for line, doc in docs.items()}
    assert cold == first_pass == warm
    assert None not in cold.values()
    for case in EXPECTED["cases"]:
        fingerprint = cold[case["line"]]
        assert fingerprint is not None and [fingerprint.key, fingerprint.name] == case["traceback"]


def test_scan_gives_the_chain_of_the_full_parse() -> None:
    """The lazy scan keys are built from gives each corpus trace the full parse's types, messages, frames."""
    scanned_any = False
    for line in CORPUS_LINES:
        text = json.loads(line)["error"]["stack_trace"]
        scanned = scan_traceback(text)
        if scanned is None:  # ExceptionGroup boxes: the full parse is used
            assert "+-+" in text
            continue
        scanned_any = True
        full = parse_traceback(text).chain
        assert [(r.type, r.message, r.link) for r in scanned] == [(r.type, r.message, r.link) for r in full]
        assert [r.frames.all() for r in scanned] == [r.frames for r in full]
        assert [tuple(reversed(list(r.frames.innermost()))) for r in scanned] == [r.frames for r in full]
        assert [r.frames.first() for r in scanned] == [r.frames[-1] if r.frames else None for r in full]
    assert scanned_any
