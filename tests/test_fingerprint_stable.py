"""Golden keys: grouping keys are persisted, so a change to the code must not move any recorded event.

tests/data/tracebacks/expected_keys.json holds the (key, name) that `fingerprint_event` gave, at
GROUPING_VERSION 2, to the first event of each (label, host) of the labelled corpus, and to the same
event's message logged as a message-only error. Regenerate it only together with a GROUPING_VERSION bump.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipper.fingerprint import GROUPING_VERSION, fingerprint_event

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
    assert EXPECTED["grouping_version"] == GROUPING_VERSION == 2
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
