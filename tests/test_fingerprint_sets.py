"""A fingerprint (or any `extra` value) given by the program as a set reads the same in every process:
a set of strings iterates in the order of PYTHONHASHSEED, so its document, and the key the agent
computes from it, differed from one process of the same program to the next (the group split)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each program logs one error with `extra`; it prints the document's `extra` and the event's key.
PROGRAM = """
import json, logging, sys
from shipper.formatter import EcsFormatter
from shipper.grouping.fingerprint import fingerprint_document
extra = eval(sys.argv[1])
try:
    1 / 0
except ZeroDivisionError:
    record = logging.LogRecord("jobs", logging.ERROR, "jobs.py", 1, "charge failed", None, sys.exc_info())
record.__dict__.update(extra)
document = json.loads(EcsFormatter(service_name="billing").format(record))
print(json.dumps([document.get("extra"), fingerprint_document(document).key]))
"""

EXTRAS = [
    pytest.param('{"fingerprint": {"payment", "stripe", "timeout", "{{ default }}"}}', id="set-with-default"),
    pytest.param('{"fingerprint": frozenset({"payment", "stripe", "card", "eu"})}', id="frozenset"),
    pytest.param('{"fingerprint": {"payment", 3, 2.5, None, "x"}}', id="mixed-types"),
    pytest.param('{"tags": {"alpha", "beta", "gamma", "delta"}, "fingerprint": ["a"]}', id="a-set-elsewhere"),
    pytest.param('{"fingerprint": {("a", "b"), ("c",), ("d", "e")}}', id="set-of-tuples"),
]


def _run(extra: str, seed: int) -> list[object]:
    environment = {**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, extra], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("extra", EXTRAS)
def test_a_set_gives_one_document_and_one_key_in_every_process(extra: str) -> None:
    """Six processes with different hash seeds write the same `extra` and get the same grouping key."""
    answers = {json.dumps(_run(extra, seed)) for seed in range(1, 7)}
    assert len(answers) == 1, answers
