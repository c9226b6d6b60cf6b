"""The evaluation set's recurrences (bench/evalset/generate.py): other installs, versions and formats
of one real traceback keep its group for logloop, and the labels tell failures apart."""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
import traceback
from pathlib import Path
from types import ModuleType

import pytest

from shipper.grouping.fingerprint import fingerprint_event

GENERATOR = Path(__file__).resolve().parent.parent / "bench" / "evalset" / "generate.py"


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evalset_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evalset_generate"] = module
    spec.loader.exec_module(module)
    return module


def _json_failure() -> str:
    import json

    try:
        json.loads("{bad")
    except ValueError as exc:
        return "".join(traceback.format_exception(exc))
    raise AssertionError("did not raise")


@pytest.mark.parametrize("layout", range(5))
def test_rewritten_trace_keeps_its_group(generate: ModuleType, layout: int) -> None:
    """A trace rewritten for another host layout, user, library version and 3.10's format keeps its key."""
    text = _json_failure()
    other = generate.as_py310(generate.rewrite(text, generate.LAYOUTS[layout], "maria", shift=17))
    assert sysconfig.get_paths()["stdlib"] not in other
    first = fingerprint_event({"error": {"stack_trace": text}})
    second = fingerprint_event({"error": {"stack_trace": generate.with_runpy(other)}})
    assert first is not None and second is not None and first.key == second.key


def test_windows_layout_writes_backslashes_and_shifts_library_lines(generate: ModuleType) -> None:
    """The Windows layout prints backslashed paths under a drive; standard-library lines move."""
    text = _json_failure()
    windows = next(layout for layout in generate.LAYOUTS if layout.windows)
    other = generate.rewrite(text, windows, "dev", shift=4)
    assert 'File "C:\\Program Files\\Python311\\Lib\\json\\__init__.py"' in other
    assert other != text


def test_failure_mode_names_the_chain(generate: ModuleType) -> None:
    """The label's failure mode lists the chain's exception types, root cause first."""
    try:
        try:
            {}["k"]
        except KeyError as exc:
            raise ValueError("bad") from exc
    except ValueError as exc:
        assert generate.failure_mode(exc) == "KeyError>ValueError"


@pytest.mark.parametrize("funnel", ["", "chained", "unchained"])
def test_a_bug_whose_library_is_missing_is_skipped_even_behind_a_funnel(
    generate: ModuleType, funnel: str
) -> None:
    """A bug that needs an uninstalled library raises `Missing` out of `raise_once` (so the set skips it and
    says so), never returns it as the bug's failure, including when a plug-in funnel wraps it."""
    generate.load_bugs()
    registry = importlib.import_module("fleetapp.registry")
    absent = "logloop_no_such_library"
    bug = registry.Bug("tests.needs_absent", "absent", lambda v: registry.need(absent), funnel)
    entry = importlib.import_module("fleetapp.entry")
    with pytest.raises(registry.Missing, match=absent):
        generate.raise_once(bug, "x", entry.CALLERS[0], recursion_limit=1000)
