"""The fingerprint contract the shipper and the analyzers rely on."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipper.grouping.fingerprint import (
    GROUPING_VERSION,
    Fingerprint,
    FrameKind,
    classify_frame,
    fingerprint_event,
    get_field,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "tracebacks" / "corpus.jsonl"

TRACE = """Traceback (most recent call last):
  File "/srv/app/shop/orders.py", line 12, in checkout
    return int(text)
ValueError: invalid literal for int() with base 10: 'x1'
"""


def test_fingerprint_is_a_frozen_dataclass_with_the_contract_fields() -> None:
    """Fingerprint has exactly key, name and version, and cannot be mutated."""
    fingerprint = fingerprint_event({"error": {"stack_trace": TRACE}})
    assert isinstance(fingerprint, Fingerprint)
    assert [field.name for field in dataclasses.fields(Fingerprint)] == ["key", "name", "version"]
    assert fingerprint.version == GROUPING_VERSION and isinstance(GROUPING_VERSION, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fingerprint.key = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"message": "started", "log": {"level": "info"}}, id="info"),
        pytest.param({"message": "slow", "log.level": "warning"}, id="warning-dotted"),
        pytest.param({"message": "no level at all"}, id="no-level"),
        pytest.param({"error": {"type": "", "stack_trace": ""}, "log": {"level": "debug"}}, id="empty-error"),
    ],
)
def test_non_error_events_get_none(doc: dict[str, Any]) -> None:
    """Events that are not errors are not fingerprinted."""
    assert fingerprint_event(doc) is None


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"message": "disk full", "log": {"level": "ERROR"}}, id="level-error"),
        pytest.param({"message": "disk full", "log.level": "critical"}, id="level-critical-dotted"),
        pytest.param({"message": "disk full", "log": {"level": "fatal"}}, id="level-fatal"),
        pytest.param({"error": {"type": "builtins.OSError"}, "log": {"level": "info"}}, id="error-type"),
        pytest.param({"error.stack_trace": TRACE}, id="stack-trace-dotted"),
    ],
)
def test_error_events_get_a_fingerprint(doc: dict[str, Any]) -> None:
    """An error level, or an error.type / error.stack_trace, makes an event an error."""
    assert isinstance(fingerprint_event(doc), Fingerprint)


def test_nested_dotted_and_mixed_documents_agree() -> None:
    """The same event as nested, dotted or mixed keys gets the same fingerprint."""
    nested = {
        "log": {"level": "error", "logger": "shop"},
        "error": {"stack_trace": TRACE, "type": "ValueError"},
    }
    dotted = {
        "log.level": "error",
        "log.logger": "shop",
        "error.stack_trace": TRACE,
        "error.type": "ValueError",
    }
    mixed = {
        "log": {"level": "error"},
        "log.logger": "shop",
        "error": {"stack_trace": TRACE},
        "error.type": "ValueError",
    }
    assert fingerprint_event(nested) == fingerprint_event(dotted) == fingerprint_event(mixed)
    assert get_field({"a": {"b.c": {"d": 1}}}, "a.b.c.d") == 1


def test_message_only_errors_group_on_the_template() -> None:
    """Message-only errors with a logging template group on it, whatever the formatted values."""
    first = {
        "log": {"level": "error", "logger": "db"},
        "message": "lost 3 rows",
        "logloop.template": "lost %d rows",
    }
    second = {
        "log": {"level": "error", "logger": "db"},
        "message": "lost 9 rows",
        "logloop.template": "lost %d rows",
    }
    other = {
        "log": {"level": "error", "logger": "db"},
        "message": "lost 9 rows",
        "logloop.template": "kept %d rows",
    }
    assert fingerprint_event(first) == fingerprint_event(second) != fingerprint_event(other)


def test_message_only_errors_without_template_group_on_the_masked_message() -> None:
    """Without a template, variable tokens are masked and the rest must match."""

    def event(message: str) -> dict[str, Any]:
        return {"log": {"level": "error", "logger": "net"}, "message": message}

    same = [
        event("connect to 10.0.0.1:5432 failed after 3s"),
        event("connect to 10.2.3.4:6000 failed after 12s"),
    ]
    assert fingerprint_event(same[0]) == fingerprint_event(same[1])
    assert fingerprint_event(same[0]) != fingerprint_event(event("disconnect from 10.0.0.1:5432 after 3s"))
    fingerprint = fingerprint_event(same[0])
    assert fingerprint is not None and fingerprint.name == "connect to <IP> failed after <DURATION>"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param("/usr/lib/python3.11/json/decoder.py", FrameKind.STDLIB, id="system-stdlib"),
        pytest.param(
            "/root/.pyenv/versions/3.12.1/lib/python3.12/json/decoder.py", FrameKind.STDLIB, id="pyenv"
        ),
        pytest.param("C:\\Python311\\Lib\\json\\decoder.py", FrameKind.STDLIB, id="windows-stdlib"),
        pytest.param("/usr/lib64/python3.9/json/decoder.py", FrameKind.STDLIB, id="lib64-stdlib"),
        pytest.param(
            "/usr/lib64/python3.11/site-packages/yaml/reader.py", FrameKind.THIRD_PARTY, id="lib64-site"
        ),
        pytest.param("<frozen importlib._bootstrap>", FrameKind.STDLIB, id="frozen"),
        pytest.param(
            "/app/.venv/lib/python3.11/site-packages/requests/api.py", FrameKind.THIRD_PARTY, id="venv"
        ),
        pytest.param(
            "/usr/lib/python3/dist-packages/yaml/reader.py", FrameKind.THIRD_PARTY, id="dist-packages"
        ),
        pytest.param(
            "C:\\Py\\Lib\\site-packages\\requests\\api.py", FrameKind.THIRD_PARTY, id="windows-site"
        ),
        pytest.param("/home/dev/src/shop/orders.py", FrameKind.APPLICATION, id="checkout"),
    ],
)
def test_frames_are_classified_by_path(path: str, kind: FrameKind) -> None:
    """Standard library, third-party and application frames are told apart from the path alone."""
    assert classify_frame(path) is kind


def test_keys_are_identical_in_another_process_with_another_hash_seed() -> None:
    """Keys do not depend on the process: a fresh interpreter with another PYTHONHASHSEED agrees."""
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()[:40]]
    here = [fingerprint.key for doc in docs if (fingerprint := fingerprint_event(doc))]
    code = (
        "import json, sys; from shipper.grouping.fingerprint import fingerprint_event; "
        "docs = [json.loads(l) for l in sys.stdin.read().splitlines()[:40]]; "
        "print(json.dumps([fingerprint_event(d).key for d in docs]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=CORPUS.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert json.loads(result.stdout) == here and len(here) == 40


def test_labelled_corpus_is_grouped_exactly() -> None:
    """On the generated corpus, fingerprint groups equal the labelled groups (GA 1.0)."""
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    groups: dict[str, set[str]] = {}
    for doc in docs:
        fingerprint = fingerprint_event(doc)
        assert fingerprint is not None
        groups.setdefault(doc["label"], set()).add(fingerprint.key)
    assert all(len(keys) == 1 for keys in groups.values()), groups
    assert len({next(iter(keys)) for keys in groups.values()}) == len(groups)


def test_frames_only_stack_trace_takes_the_type_from_error_type() -> None:
    """A stack_trace of frames only (as traceback.format_tb prints) groups with error.type/message."""
    frames = TRACE.split("\n", 1)[1].rsplit("ValueError", 1)[0]
    full = {"error": {"stack_trace": TRACE}}
    frames_only = {
        "error": {"stack_trace": frames, "type": "builtins.ValueError", "message": "invalid literal"}
    }
    other_type = {
        "error": {"stack_trace": frames, "type": "builtins.TypeError", "message": "invalid literal"}
    }
    keys = [
        fingerprint.key for doc in (full, frames_only, other_type) if (fingerprint := fingerprint_event(doc))
    ]
    assert keys[0] == keys[1] != keys[2]


def test_multi_line_messages_group_on_their_first_line() -> None:
    """Message-only errors whose detail lines vary in number and content stay one group."""

    def event(message: str) -> dict[str, Any]:
        return {"log": {"level": "error", "logger": "import"}, "message": message}

    short = event("import failed for 2 rows:\n  row 3: bad date")
    long = event("import failed for 3 rows:\n  row 1: bad date\n  row 7: no id\n  row 9: bad date")
    assert fingerprint_event(short) == fingerprint_event(long)
