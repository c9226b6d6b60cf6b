"""`shipper.text_log` on the displays of a failure that have no `Traceback (most recent call last):` line:
IPython's and Jupyter's tracebacks (a line of dashes, `ZeroDivisionError    Traceback (most recent call
last)`, numbered source lines, blank lines between frames; in colour or not), and Python's report of a
main script it cannot compile (`  File "bad.py", line 7`, the line, its caret, `SyntaxError: ...`). Each
is one entry of a text log, keyed as the same text in `error.stack_trace`; the lines around it stay
entries of their own."""

from __future__ import annotations

import linecache
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipper.grouping.fingerprint import clear_caches, fingerprint_document
from shipper.text_log import entries

IPython = pytest.importorskip("IPython")
from IPython.core.ultratb import AutoFormattedTB  # noqa: E402

MODULE = """
def charge(amount):
    total = amount * 2
    raise ValueError(f"bad amount {amount}")

def refund(amount):
    total = amount * 3
    raise ValueError(f"bad amount {amount}")

def chained(amount):
    try:
        charge(amount)
    except ValueError as exc:
        raise RuntimeError("payment failed") from exc
"""
INSTALLS = ("/home/ann/.venv/lib/python3.11/site-packages/shop/core.py", "C:\\Users\\bob\\shop\\core.py")
BUGS = {"charge": (5, 1234), "refund": (5, 77), "chained": (3, 9)}
# What surrounds each failure: a stamped log, an unstamped one.
AROUND = {
    "stamped": ("2026-12-04 10:00:00,000 INFO app: cell ran\n", "2026-12-04 10:00:01,000 INFO app: next\n"),
    "unstamped": ("running cell\n", "next cell\n"),
}


@pytest.fixture
def installs() -> Iterator[list[dict[str, Any]]]:
    """The module compiled under each install's path, lines shifted as in another version."""
    namespaces = []
    for shift, filename in enumerate(INSTALLS):
        source = "\n" * (shift * 5) + MODULE
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        namespace: dict[str, Any] = {"__name__": "shop.core"}
        exec(compile(source, filename, "exec"), namespace)
        namespaces.append(namespace)
    yield namespaces
    for filename in INSTALLS:
        linecache.cache.pop(filename, None)


def _raised(call: Any, value: int) -> BaseException:
    try:
        call(value)
    except Exception as exc:  # every bug raises
        return exc
    raise AssertionError(f"{call} did not raise")


def _key(doc: dict[str, Any]) -> str:
    clear_caches()
    return fingerprint_document({"log": {"level": "error", "logger": "shop"}, **doc}).key


@pytest.mark.parametrize("around", AROUND)
@pytest.mark.parametrize("colours", ["NoColor", "Linux"])
@pytest.mark.parametrize("mode", ["Context", "Verbose"])
def test_an_ipython_traceback_in_a_text_log_is_one_entry(
    installs: list[dict[str, Any]], mode: str, colours: str, around: str
) -> None:
    """IPython's traceback was cut into an entry a line (every bug one group of its lines); it is one
    entry keyed as its text, one group for each bug over installs and values, the lines around apart."""
    before, after = AROUND[around]
    render = AutoFormattedTB(mode=mode, color_scheme=colours)
    log, keys = [], {}
    for bug, values in BUGS.items():
        for namespace in installs:
            for value in values:
                exc = _raised(namespace[bug], value)
                text = str(render.text(type(exc), exc, exc.__traceback__)).rstrip("\n") + "\n"
                log += [before, text, after]
                keys.setdefault(bug, []).append(_key({"error": {"stack_trace": text}}))
    found = list(entries("".join(log).splitlines(keepends=True)))
    assert [entry.text for entry in found] == log
    found_keys = [_key(entry.document()) for entry in found[1::3]]
    assert found_keys == [key for bug in BUGS for key in keys[bug]]
    assert all(len(set(keys[bug])) == 1 for bug in BUGS) and len({keys[bug][0] for bug in BUGS}) == len(BUGS)


@pytest.mark.parametrize("around", AROUND)
def test_a_script_that_does_not_compile_is_one_entry_keyed_by_its_statement(
    tmp_path: Path, around: str
) -> None:
    """Python's report of a main script it cannot compile (no traceback header) was indented lines
    taken into the line before and its SyntaxError line an entry of its own; it is one entry, keyed by
    the script's file (the statement the parser points at varies with the Python version), the same
    script in two places one group, another script another."""
    reports = []
    for place, (name, source) in enumerate(
        [
            ("job.py", "x = 1\ndef f(:\n    pass\n"),
            ("job.py", "x = 1\n\n\ndef f(:\n    pass\n"),
            ("job.py", "print((1)\n"),
            ("report.py", "x = 1\ndef f(:\n    pass\n"),
        ]
    ):
        folder = tmp_path / f"install{place}"
        folder.mkdir()
        (folder / name).write_text(source, encoding="utf-8")
        ran = subprocess.run(
            [sys.executable, str(folder / name)], capture_output=True, text=True, check=False
        )
        assert ran.returncode == 1 and "Traceback" not in ran.stderr
        reports.append(ran.stderr)
    before, after = AROUND[around]
    log = [part for report in reports for part in (before, report, after)]
    found = list(entries("".join(log).splitlines(keepends=True)))
    assert [entry.text for entry in found] == log
    keys = [_key(entry.document()) for entry in found[1::3]]
    assert keys == [_key({"error": {"stack_trace": report}}) for report in reports]
    assert keys[0] == keys[1] == keys[2] != keys[3]


_TESTS = """
import pytest

def charge(amount):
    total = amount * 2
    raise ValueError(f"bad amount {amount}")

def refund(amount):
    raise ValueError(f"bad amount {amount}")

@pytest.mark.parametrize("amount", [5, 1234])
def test_charge(amount):
    print("charging", amount)
    charge(amount)

def test_refund():
    refund(7)

def test_passes():
    assert True
"""


@pytest.mark.parametrize("style", ["long", "short", "auto", "native"])
def test_pytests_report_of_each_failed_test_is_one_entry_keyed_by_its_bug(tmp_path: Path, style: str) -> None:
    """A CI log of a pytest run: each failed test's report (its traceback, captured output) was an entry
    a line, every line its own group; it is one entry, the two failures of one bug one group, the
    sibling (the same error from another function) another, the session's lines entries of their own."""
    (tmp_path / "test_shop.py").write_text(_TESTS, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--tb={style}", "-q", "test_shop.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1, ran.stdout
    found = list(entries(ran.stdout.splitlines(keepends=True)))
    reports = [entry for entry in found if entry.text.startswith("___")]
    assert [entry.text.partition("\n")[0].strip("_ ") for entry in reports] == [
        "test_charge[5]",
        "test_charge[1234]",
        "test_refund",
    ]
    assert all(entry.stack_trace and "bad amount" in entry.stack_trace for entry in reports)
    keys = [_key(entry.document()) for entry in reports]
    assert keys[0] == keys[1] != keys[2]
    assert any(entry.text.startswith("FAILED test_shop.py::test_refund") for entry in found)
