"""Stack dumps other renderers print (`shipper.grouping.renderers`): faulthandler's dump of a crashed
program and rich's boxed traceback are each keyed by the failing statement like a traceback, one bug
one group, sibling bugs apart, with a readable title."""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.django_report import django_report
from helpers.keyed import checked_key
from helpers.raised import formatted

from logloop.cli import main
from shipper.grouping.fingerprint import fingerprint_event
from shipper.grouping.tracebacks import parse_traceback

_key = checked_key


# faulthandler: a program that really crashes (a segfault, an abort) in one of its functions.

_CRASHY = """
import ctypes, faulthandler, sys, threading, time

faulthandler.enable()

def parse_record(data):
    faulthandler._sigsegv()

def load_record(data):
    faulthandler._sigsegv()

def abort_record(data):
    faulthandler._sigabrt()

def read_pointer(address):
    return ctypes.string_at(address)  # the crash is in the standard library's frame

def read_header(address):
    return ctypes.string_at(address)

def {caller}(function, value):
    function(value)

if __name__ == "__main__":
    if sys.argv[2] == "thread":
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        time.sleep(0.05)
    {caller}(globals()[sys.argv[1]], {value})
"""


def _crash(
    directory: Path, function: str, *, caller: str = "handle", value: int = 0, thread: bool = False
) -> str:
    """What a real crash of `function` in a script under `directory` leaves on stderr (its dump)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "crashy.py"
    script.write_text(textwrap.dedent(_CRASHY.format(caller=caller, value=value)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), function, "thread" if thread else "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "(most recent call first):" in done.stderr, done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def crashes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Dumps of real crashes: one bug under other install paths, callers, values and threads; siblings."""
    base = tmp_path_factory.mktemp("crash")
    return {
        "first": _crash(base / "opt/app", "parse_record"),
        "moved": _crash(base / "home/bob/checkout/app", "parse_record", value=91),
        "caller": _crash(base / "srv/app", "parse_record", caller="dispatch"),
        "thread": _crash(base / "opt/app2", "parse_record", thread=True),
        "sibling": _crash(base / "opt/app", "load_record"),
        "abort": _crash(base / "opt/app", "abort_record"),
        "stdlib": _crash(base / "opt/app", "read_pointer"),
        "stdlib-again": _crash(base / "home/ann/app", "read_pointer", caller="dispatch", thread=True),
        "stdlib-sibling": _crash(base / "opt/app", "read_header"),
    }


def test_a_crash_dump_is_keyed_by_the_crashing_threads_statement(crashes: dict[str, str]) -> None:
    """A faulthandler dump (`Fatal Python error: Segmentation fault`, `Current thread 0x...`, frames
    `File "...", line N in f`) is keyed by the function that crashed: recurrences under other paths,
    callers, values and other threads' stacks are one group; another function, another fatal error, or a
    standard-library crash reached from another function are other groups (not one group for every
    segfault)."""
    assert "Thread 0x" in crashes["thread"]  # another thread's stack is in that dump
    first = _key(crashes["first"])
    assert first.name == "FatalPythonError: Segmentation fault (crashy.parse_record)"
    for name in ("moved", "caller", "thread"):
        assert _key(crashes[name]).key == first.key, name
    stdlib = _key(crashes["stdlib"])
    assert stdlib.name.endswith("(crashy.read_pointer)")  # the program's statement, not ctypes'
    assert _key(crashes["stdlib-again"]).key == stdlib.key
    siblings = {_key(crashes[name]).key for name in ("first", "sibling", "abort", "stdlib", "stdlib-sibling")}
    assert len(siblings) == 5
    assert "Aborted" in _key(crashes["abort"]).name


def test_a_crash_dump_reads_as_its_frames(crashes: dict[str, str]) -> None:
    """The dump's crashing thread reads as a traceback of its frames, outermost first, without the
    other threads' frames or the list of extension modules."""
    final = parse_traceback(crashes["thread"]).final
    assert (final.type, final.message) == ("FatalPythonError", "Segmentation fault")
    assert [frame.function for frame in final.frames] == ["<module>", "handle", "parse_record"]
    assert all(frame.source is None for frame in final.frames)


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("Fatal Python error: Aborted", id="abort"),
        pytest.param("Windows fatal exception: access violation", id="windows"),
        pytest.param("Timeout (0:00:05)!", id="dump-later"),
    ],
)
def test_a_dump_of_another_kind_is_keyed_by_its_thread_and_reason(reason: str) -> None:
    """Dumps written otherwise (an abort, Windows' access violation with its thread ids, a
    `dump_traceback_later` timeout listing every thread, a stack dump without threads) are keyed by the
    current thread's innermost frame (a timeout's: the first thread listed) and titled by their first
    line; the other threads' frames do not count."""
    frames = '  File "C:\\app\\jobs.py", line 12 in wait_for\n  File "C:\\app\\main.py", line 3 in <module>\n'
    other = 'Thread 0x0004 (most recent call first):\n  File "C:\\app\\other.py", line 5 in run\n\n'
    if reason.startswith("Timeout"):  # every thread, the one that waited first
        text = f"{reason}\nThread 0x00001a2c (most recent call first):\n{frames}\n{other}"
    else:  # the crashing thread last, as "Current thread"
        text = f"{reason}\n\n{other}Current thread 0x00001a2c (most recent call first):\n{frames}"
    key = _key(text)
    assert key.name.startswith("FatalPythonError: ") and key.name.endswith("(jobs.wait_for)")
    assert _key(text.replace("line 12", "line 40").replace("0x00001a2c", "0x0bad")).key == key.key
    assert _key(text.replace("wait_for", "poll")).key != key.key
    stack = f"{reason}\n\nStack (most recent call first):\n{frames}"
    assert _key(stack).name == key.name


def test_logloop_cluster_groups_crash_dumps(crashes: dict[str, str], tmp_path: Path) -> None:
    """`logloop cluster` keys crash dumps by their crashing statement: the recurrences one group, the
    siblings others, each titled by the fatal error and its culprit."""
    names = ["first", "moved", "thread", "sibling", "abort", "stdlib", "stdlib-again"]
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"log": {"level": "critical"}, "error": {"stack_trace": crashes[name]}}) for name in names
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    clusters = [row["cluster"] for row in rows]
    assert clusters[0] == clusters[1] == clusters[2] and clusters[5] == clusters[6]
    assert len(set(clusters)) == 4
    assert all(row["title"].startswith("FatalPythonError: ") for row in rows)


# rich: tracebacks as `rich.traceback.Traceback` renders them (a console of a given width, no colours).


def _deep_lookup(data: dict[str, int], key: str) -> int:
    return data[key]


def _deep_other(data: dict[str, int], key: str) -> int:
    return data[key]


def _deep_chained(key: str) -> int:
    try:
        return {"a": 1}[key]
    except KeyError as exc:
        raise ValueError(f"no entry {key}") from exc


def _rich(function: Callable[[], object], width: int, *, show_locals: bool = False) -> str:
    """The traceback `function` raises as rich renders it on a console `width` columns wide."""
    rich_console = pytest.importorskip("rich.console")
    rich_traceback = pytest.importorskip("rich.traceback")
    try:
        function()
    except Exception as exc:  # the point is to render what it raises
        console = rich_console.Console(file=io.StringIO(), width=width, color_system=None)
        console.print(
            rich_traceback.Traceback.from_exception(
                type(exc), exc, exc.__traceback__, show_locals=show_locals
            )
        )
        output: str = console.file.getvalue()
        return output
    raise AssertionError("did not raise")


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("show_locals", [False, True])
def test_a_rich_traceback_is_keyed_as_the_traceback_it_shows(width: int, show_locals: bool) -> None:
    """A traceback rich rendered (a box, frames `path:N in function`, wrapped when long, the line that ran
    marked `❱`, locals boxes) gets the key of the same exception as `traceback` prints it, whatever the
    width (where the source line fits) and the values; another function or a chain is another group; the
    title reads as usual."""
    first = _rich(lambda: _deep_lookup({}, "u1"), width, show_locals=show_locals)
    assert "❱" in first and "╭" in first
    plain = _key(formatted(lambda: _deep_lookup({}, "u1")))
    assert _key(first) == plain
    assert plain.name == "KeyError: '<STR>' (test_grouping_renderers._deep_lookup)"
    again = _rich(lambda: _deep_lookup({"b": 2}, "user-9182"), width, show_locals=show_locals)
    assert _key(again).key == plain.key
    sibling = _key(_rich(lambda: _deep_other({}, "u1"), width, show_locals=show_locals))
    assert sibling == _key(formatted(lambda: _deep_other({}, "u1"))) != plain
    chained = _rich(lambda: _deep_chained("u1"), width, show_locals=show_locals)
    assert len(parse_traceback(chained).chain) == 2
    assert _key(chained).key == _key(_rich(lambda: _deep_chained("k77"), width, show_locals=show_locals)).key
    if width >= 80:  # (rich crops a source line at the box's edge: this one is whole from 80 columns)
        assert _key(chained) == _key(formatted(lambda: _deep_chained("u1")))
    assert _key(chained).key not in {plain.key, sibling.key}


def test_a_rich_traceback_of_a_library_raise_is_keyed_by_the_loggers_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library's raise that rich drew, logged by the program's logger, is keyed by the program's calling
    statement as the traceback `traceback` prints is: the logger's package is found in rich's frames
    too (two features calling one library statement, two groups)."""
    packages = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (packages / "ratelib").mkdir(parents=True)
    (packages / "ratelib" / "__init__.py").write_text("def parse(v):\n    raise ValueError('bad ' + v)\n")
    (tmp_path / "app" / "shop").mkdir(parents=True)
    for module, function in (("rates", "fetch_rates"), ("orders", "push_order")):
        source = f"import ratelib\n\ndef {function}(v):\n    return ratelib.parse(v)\n"
        (tmp_path / "app" / "shop" / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(packages))
    monkeypatch.syspath_prepend(str(tmp_path / "app"))
    rates = importlib.import_module("shop.rates")
    orders = importlib.import_module("shop.orders")
    for name in ("shop", "shop.rates", "shop.orders", "ratelib"):  # (the functions are held: forgotten)
        sys.modules.pop(name, None)

    def logged(text: str, logger: str) -> str:
        found = fingerprint_event({"log": {"logger": logger}, "error": {"stack_trace": text}})
        assert found is not None
        return found.key

    fetch = logged(_rich(lambda: rates.fetch_rates("a"), 100), "shop.rates")
    assert fetch == logged(formatted(lambda: rates.fetch_rates("b")), "shop.rates")
    assert fetch != logged(_rich(lambda: orders.push_order("a"), 100), "shop.orders")


def test_a_rich_traceback_after_a_log_line_with_long_paths_is_read() -> None:
    """A rich traceback after the log line a RichHandler prints, its frame paths longer than the box
    (wrapped mid-word) and under other install directories, is keyed as `traceback` prints it."""
    text = _rich(lambda: _deep_lookup({}, "u1"), 70)
    here = str(Path(__file__).parent)
    longer = here + "/" + "/".join(["very-long-directory-name"] * 4)
    moved = _rich(lambda: _deep_lookup({}, "u1"), 70).replace(here, longer)  # (rewrapped below)
    moved_plain = formatted(lambda: _deep_lookup({}, "u1")).replace(here, longer)
    rewrapped = _rewrapped(moved, 70)
    assert "very-long" in rewrapped
    prefix = "[12/04/26 10:00:01] ERROR    charge failed                          app.py:12\n"
    assert _key(prefix + text) == _key(text) == _key(formatted(lambda: _deep_lookup({}, "u1")))
    assert _key(rewrapped) == _key(moved_plain) == _key(text)


def _rewrapped(text: str, width: int) -> str:
    """`text` with each box line whose content outgrew the box (a path made longer) wrapped at the box's
    width, character by character, as rich folds a long word."""
    out = []
    for line in text.split("\n"):
        if line.startswith("│ ") and line.endswith(" │") and len(line) > width:
            content = line[2:-2].rstrip()
            inner = width - 4
            out.extend(f"│ {content[at : at + inner]:<{inner}} │" for at in range(0, len(content), inner))
        else:
            out.append(line)
    return "\n".join(out)


# pytest's failure reports, as a real pytest run prints them with `--tb=long`, `short`, `auto` and `native`.

_PYTEST_APP = """
import json

def lookup(data, key):
    return data[key]

def other(data, key):
    return data[key]

def parse(text):
    return json.loads(text)

def wrapped(key):
    try:
        return lookup({{}}, key)
    except KeyError as exc:
        raise ValueError(f"no entry {{key}}") from exc

def check(value):
    assert value == 1, "value must be one"
"""
_PYTEST_TESTS = """
from app import check, lookup, other, parse, wrapped

def test_lookup():
    lookup({{}}, "{value}")

def test_other():
    other({{}}, "{value}")

def test_parse():
    parse("{{{value}")

def test_wrapped():
    wrapped("{value}")

def test_check():
    check(len("{value}"))
"""


def _pytest_reports(directory: Path, tb: str, *, value: str, padding: int) -> dict[str, str]:
    """Each failing test's report, by test name, as a real pytest run with `--tb=tb` prints it on a
    project under `directory` (`padding` blank lines above the code: other line numbers)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text("\n" * padding + _PYTEST_APP.format(), encoding="utf-8")
    (directory / "test_app.py").write_text(_PYTEST_TESTS.format(value=value), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--tb={tb}", "test_app.py"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    reports: dict[str, str] = {}
    name = ""
    for line in done.stdout.split("\n"):
        if line.startswith("____") and line.endswith("____"):
            name = line.strip("_ ")
            reports[name] = ""
        elif line.startswith("===") and name:
            break
        elif name:
            reports[name] += line + "\n"
    assert len(reports) == 5, done.stdout
    return reports


@pytest.fixture(scope="module")
def pytest_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, str]]:
    """Reports of two runs (other install paths, values and line numbers) in each `--tb` format."""
    base = tmp_path_factory.mktemp("pytest")
    return {
        (tb, run): _pytest_reports(base / run / tb, tb, value=value, padding=padding)
        for tb in ("long", "short", "auto", "native")
        for run, value, padding in (("first", "u1", 0), ("again", "user-812", 7))
    }


def test_a_pytest_failure_report_is_keyed_as_its_traceback(
    pytest_runs: dict[tuple[str, str], dict[str, str]],
) -> None:
    """A test failure as pytest reports it (`--tb=long`: sources with `>` marks and `path:N: Type` lines;
    `short`: `path:N: in function`; `auto`: both; `E   ` exception lines) gets the key of its traceback
    (`--tb=native`): one test's failure in two runs (other paths, values, line numbers) is one group,
    each other failing statement (another function, a standard-library call, a chain, an assertion)
    another, titled by its exception (not one typeless group per format)."""
    keys = {
        (tb, run, name): _key(report)
        for (tb, run), reports in pytest_runs.items()
        for name, report in reports.items()
    }
    names = sorted({name for _, _, name in keys})
    for name in names:
        assert len({keys[(tb, run, name)].key for tb, run, other in keys if other == name}) == 1, name
    assert len({keys[("long", "first", name)].key for name in names}) == len(names)
    titles = {name: keys[("short", "first", name)].name for name in names}
    assert titles["test_lookup"] == "KeyError: '<STR>' (app.lookup)"
    assert titles["test_parse"].startswith("JSONDecodeError: ") and titles["test_parse"].endswith(
        "(app.parse)"
    )
    assert titles["test_wrapped"].startswith("ValueError: no entry")
    assert titles["test_check"].startswith("AssertionError: value must be one")
    chain = parse_traceback(pytest_runs[("long", "first")]["test_wrapped"]).chain
    assert [record.type for record in chain] == ["KeyError", "ValueError"]


# Django's plain-text report (`ExceptionReporter.get_traceback_text()`: the debug page's copy-and-paste
# view, the admin e-mail's text).


def test_a_django_text_report_is_keyed_by_its_raising_statement() -> None:
    """Django's plain-text report (`KeyError at /path/`, settings and request data, the traceback without
    exception line, `Exception Type: KeyError at /path/`, `Exception Value: 'u1'`) is keyed as the
    traceback: one statement failing for other requests and values is one group, titled by its
    exception; another statement, or a chain raised elsewhere, another (not one typeless group)."""
    first = django_report(lambda: _deep_lookup({}, "u1"), "/charge/77/")
    assert "\nException Type: KeyError at /charge/77/\n" in first
    key = _key(first)
    assert key == _key(formatted(lambda: _deep_lookup({}, "u1")))
    assert key.name == "KeyError: '<STR>' (test_grouping_renderers._deep_lookup)"
    assert _key(django_report(lambda: _deep_lookup({}, "user-90"), "/refund/9/")).key == key.key
    other = _key(django_report(lambda: _deep_other({}, "u1"), "/charge/77/"))
    chained = _key(django_report(lambda: _deep_chained("u1"), "/charge/77/"))
    assert len({key.key, other.key, chained.key}) == 3
    assert chained.name.startswith("ValueError: no entry")


def _as_django_writes_it(text: str, path: str) -> str:
    """A traceback (as `traceback` prints it, one exception) as Django's plain-text report lays it out
    (`technical_500.txt`): the type and path first, request and settings, the frames, then `Exception
    Type:` and `Exception Value:` lines, then the request's data."""
    frames, _, exception = text.rstrip("\n").rpartition("\n")
    exc_type, _, value = exception.partition(": ")
    short = exc_type.rsplit(".", 1)[-1]
    head = f"{short} at {path}\n{value}\n\nRequest Method: GET\nRequest URL: http://shop.example{path}\n"
    head += "Django Version: 5.2.19\nPython Version: 3.11.7\nInstalled Applications:\n['shop']\n\n\n"
    tail = f"\n\nException Type: {short} at {path}\nException Value: {value}\n\nRequest information:\n"
    return head + frames + tail + "GET: No GET data\n\nMETA:\nPATH_INFO = '" + path + "'\n"


def test_a_traceback_laid_out_as_djangos_report_is_keyed_as_the_traceback() -> None:
    """A traceback laid out as Django's plain-text report (whether or not Django is installed here) is
    keyed and titled as the traceback; other requests and values are one group, another statement
    another."""
    first = formatted(lambda: _deep_lookup({}, "u1"))
    report = _as_django_writes_it(first, "/charge/77/")
    assert parse_traceback(report).final.type == "KeyError"
    assert _key(report) == _key(first)
    again = _as_django_writes_it(formatted(lambda: _deep_lookup({}, "user-9")), "/refund/1/")
    assert _key(again).key == _key(first).key
    other = _as_django_writes_it(formatted(lambda: _deep_other({}, "u1")), "/charge/77/")
    assert _key(other) == _key(formatted(lambda: _deep_other({}, "u1"))) != _key(first)


# A program's stderr as a collector ships it: the traceback or dump is the event's message, with no
# `error.stack_trace`.


def test_a_traceback_in_the_message_of_an_event_without_stack_trace_is_keyed_as_a_traceback(
    crashes: dict[str, str], tmp_path: Path
) -> None:
    """An error event whose message is a traceback (after the log line `logging.exception` prints, or
    not), a crash dump or a rich traceback, and which has no `error.stack_trace`, is keyed as that
    traceback, by the handler's path and by `logloop cluster` alike: not one group for every traceback
    (titled `Traceback (most recent call last):`) or every crash; a message without frames stays a
    message."""
    texts = [
        formatted(lambda: _deep_lookup({}, "u1")),
        "ERROR:root:charge failed\n" + formatted(lambda: _deep_lookup({}, "user-2")),
        formatted(lambda: _deep_other({}, "u1")),
        crashes["first"],
        crashes["sibling"],
        _rich(lambda: _deep_chained("u1"), 100),
    ]
    in_message = [{"log": {"level": "error"}, "message": text} for text in texts]
    in_stack_trace = [{"log": {"level": "error"}, "error": {"stack_trace": text}} for text in texts]
    keys = [fingerprint_event(doc) for doc in in_message]
    assert keys == [fingerprint_event(doc) for doc in in_stack_trace]
    assert keys[0] is not None and keys[0].name.startswith("KeyError")
    assert len({key.key for key in keys if key is not None}) == 5  # the first two: one bug
    plain = [
        {"log": {"level": "error"}, "message": "charge failed for order 12"},
        {"log": {"level": "error"}, "message": "charge failed for order 13\n  retrying"},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in in_message + plain), encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["traceback"] * len(texts) + ["message"] * 2
    assert [row["cluster"] for row in rows[: len(texts)]] == [key.key for key in keys if key is not None]


def test_a_crash_dump_cut_before_its_crashing_thread_is_not_keyed_by_another_thread(
    crashes: dict[str, str],
) -> None:
    """A fatal error's dump cut before its current thread (faulthandler lists it last) is not keyed or
    titled by another thread's frames (a thread waiting in `time.sleep` is not the crash)."""
    dump = crashes["thread"]
    cut = dump[: dump.index("Current thread")]
    assert "Thread 0x" in cut
    key = fingerprint_event({"error": {"stack_trace": cut}})
    assert key is not None
    assert "waiter" not in key.name and "sleep" not in key.name and "<module>" not in key.name
    assert key.name.startswith("Fatal Python error: Segmentation fault")


# RichHandler without a terminal: rich takes the console as 80 columns wide (or `COLUMNS`), and the
# handler draws the traceback's box in its message column, narrower than the box's header.


def _parse_order(value: str) -> int:
    return int(value)


def _open_settings(name: str) -> str:
    with open(f"/nonexistent/settings-dir/{name}.toml") as handle:
        return handle.read()


def _charge(value: str) -> int:
    try:
        return _parse_order(value)
    except ValueError as exc:
        raise RuntimeError(f"charge of order {value!r} failed") from exc


def _rich_handler_log(width: int, calls: list[tuple[Callable[[str], object], str]]) -> str:
    """What a RichHandler with rich tracebacks writes to a console of `width` columns that is no terminal:
    a log line and a `logger.exception` for each call."""
    import logging

    from rich.console import Console
    from rich.logging import RichHandler

    out = io.StringIO()
    handler = RichHandler(
        console=Console(file=out, width=width), rich_tracebacks=True, omit_repeated_times=False
    )
    logger = logging.getLogger(f"shapes9.rich.{width}")
    logger.addHandler(handler)
    logger.setLevel("INFO")
    logger.propagate = False
    try:
        for function, value in calls:
            logger.info("handling %s", value)
            try:
                function(value)
            except Exception:
                logger.exception("request %s failed", value)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 100, 120, 160])
@pytest.mark.parametrize("bug", [_parse_order, _charge], ids=["one-exception", "chained"])
def test_a_rich_handlers_tracebacks_in_its_column_are_grouped_by_bug(
    tmp_path: Path, width: int, bug: Callable[[str], object]
) -> None:
    """RichHandler's records on a console without a terminal, as it writes them by default (the box in
    its message column, its header cut, the exception's text and a chain's separator wrapped; the time
    left blank when it repeats): each record one event, the tracebacks grouped by bug and titled by the
    exception, the same log line one group whether its time was written or left out."""
    source = tmp_path / "rich.log"
    calls = [(bug, "x1"), (bug, "order-22222222222222"), (_open_settings, "a"), (_open_settings, "eu-west-b")]
    source.write_text(_rich_handler_log(width, calls), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["cluster", "--text", str(source), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["message", "traceback"] * 4
    traced = rows[1::2]
    assert traced[0]["cluster"] == traced[1]["cluster"] != traced[2]["cluster"] == traced[3]["cluster"]
    expected = "RuntimeError: charge of order" if bug is _charge else "ValueError: invalid literal for int()"
    assert str(traced[0]["title"]).startswith(expected)
    assert str(traced[2]["title"]).startswith("FileNotFoundError: [Errno <NUM>] No such file or directory")
    assert rows[0]["cluster"] == rows[2]["cluster"]  # `handling x1`, `handling order-22...`: one template


@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_a_rich_handlers_chain_in_its_column_is_keyed_as_the_chain(width: int) -> None:
    """A chain RichHandler drew in its column (the link sentence wrapped too) is keyed as `traceback`
    prints the chain (its source lines as cropped): one bug with other values one key, titled by the
    outermost exception, apart from its cause raised alone."""
    first, second = (_rich_handler_log(width, [(_charge, value)]) for value in ("x1", "order-22222222222"))
    keys = {_key(first), _key(second)}
    assert len(keys) == 1 and _key(first).name.startswith("RuntimeError: charge of order '<STR>' failed")
    assert _key(first) != _key(_rich_handler_log(width, [(_parse_order, "x1")]))


# rich 13.8 on draws an exception group's members after its exception line, each in a `Sub-exception #N`
# box holding the member's traceback box and exception line.


def _batch(function: Callable[[str], object], value: str) -> None:
    failures = []
    for suffix in ("a", "b"):
        try:
            function(value + suffix)
        except Exception as exc:
            failures.append(exc)
    raise ExceptionGroup(f"batch {value} failed", failures)


def _task_group(function: Callable[[str], object], value: str) -> None:
    import asyncio

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(asyncio.to_thread(function, value))

    asyncio.run(main())


def _rich_printed(raiser: Callable[[], object]) -> str:
    """What `Console.print_exception()` prints (a console of 200 columns: no source line cropped)."""
    from rich.console import Console

    out = io.StringIO()
    try:
        raiser()
    except Exception:
        Console(file=out, width=200).print_exception()
    return out.getvalue()


@pytest.mark.parametrize("group", [_batch, _task_group], ids=["exception-group", "task-group-of-one"])
@pytest.mark.parametrize("bug", [_parse_order, _open_settings])
def test_a_rich_exception_group_is_keyed_as_traceback_prints_it(
    group: Callable[[Callable[[str], object], str], None], bug: Callable[[str], object]
) -> None:
    """An exception group rich drew (its members in `Sub-exception` boxes) has the key of the same group
    as `traceback` prints it: by its members, not the group's raise alone."""
    for value in ("x1", "order-22222"):
        raiser = functools.partial(group, bug, value)
        assert _key(_rich_printed(raiser)) == _key(formatted(raiser))
    assert _key(_rich_printed(lambda: group(_parse_order, "x1"))) != _key(
        _rich_printed(lambda: group(_open_settings, "x1"))
    )


@pytest.mark.parametrize("width", [80, 120, 200])
def test_a_rich_handlers_exception_groups_are_events_grouped_by_their_members(
    tmp_path: Path, width: int
) -> None:
    """`--text`: exception groups a RichHandler drew (in its column, or wide) are one event each, grouped
    by their members' bug."""
    calls = [(lambda v: _batch(_parse_order, v), "x1"), (lambda v: _batch(_parse_order, v), "y2")]
    calls += [(lambda v: _batch(_open_settings, v), "x1"), (lambda v: _batch(_open_settings, v), "y2")]
    source = tmp_path / "rich.log"
    source.write_text(_rich_handler_log(width, calls), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["cluster", "--text", str(source), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["message", "traceback"] * 4
    traced = rows[1::2]
    assert traced[0]["cluster"] == traced[1]["cluster"] != traced[2]["cluster"] == traced[3]["cluster"]
    assert all(str(row["title"]).startswith("ExceptionGroup: batch <") for row in traced)


def _bad_pattern(pattern: str) -> object:
    return re.compile(pattern)


@pytest.mark.parametrize("width", [80, 200])
def test_a_rich_pattern_error_is_keyed_as_traceback_prints_it(width: int) -> None:
    """rich names an exception's class without its module: `re.error` (Python <= 3.12) as a bare `error`,
    which the key's renaming to `PatternError` (one bug on every version) did not know; read from a box
    whose innermost frame is in `re`'s parser, it is `re.error`, keyed and titled as `traceback`'s text."""
    found = _key(_rich(lambda: _bad_pattern("a(b"), width))
    expected = _key(formatted(lambda: _bad_pattern("a(b")))
    assert (found.key, found.name) == (expected.key, expected.name)


def test_a_bare_error_outside_re_keeps_its_name() -> None:
    """A class named `error` raised elsewhere (`struct.error`) is not taken for `re`'s: its key is still
    not `PatternError`'s."""
    found = _key(_rich(lambda: struct.unpack("<I", b"\x00"), 120))
    assert found.name.startswith("error: ")


def _short_module(directory: Path, source: str) -> dict[str, object]:
    """The namespace of a module of `source` run from a file under `directory`: a function of a short
    file, whose line numbers rich draws in a narrow gutter whatever the length of this test file."""
    path = directory / "short_module.py"
    path.write_text(source, encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "short_module", "re": re}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_a_rich_handlers_pattern_error_in_its_column_is_keyed_as_traceback_prints_it(tmp_path: Path) -> None:
    """The same `re.error`, drawn by a RichHandler in its message column (the exception line wrapped at
    the column's width), has the key of `traceback`'s text. (Its function is in a file of its own: rich
    crops a source line at its box, and a gutter widened by a long file's line numbers moves the crop;
    a cropped statement is another group: see README, "Other renderings".)"""
    from shipper.text_log import entries

    bad_pattern = _short_module(tmp_path, "def bad_pattern(pattern):\n    return re.compile(pattern)\n")[
        "bad_pattern"
    ]
    assert callable(bad_pattern)
    log = _rich_handler_log(100, [(bad_pattern, "a(b")])
    stack_traces = [
        entry.stack_trace for entry in entries(log.splitlines(keepends=True)) if entry.stack_trace
    ]
    assert len(stack_traces) == 1
    found = fingerprint_event({"error": {"stack_trace": stack_traces[0]}})
    assert found is not None and found.key == _key(formatted(lambda: bad_pattern("a(b"))).key


# stackprinter: a program that formats its failures with stackprinter (its excepthook, or `format()`
# in a logging formatter), run from two install paths with other values and line numbers.

# The functions both programs fail in: `parse` (and `other`, a sibling: the same error in another
# function; `parse(None)`, another error in the same function).
_FAILING = """
def parse(value):
    count = len(value)
    return int(value) + count


def other(value):
    return int(value)
"""

_STACKPRINTER_APP = (
    """
import logging, sys
import stackprinter
"""
    + _FAILING
    + """

def walk(value):
    return walk(value)


class JobError(Exception):
    pass


def job(function, value):
    try:
        return function(value)
    except Exception as exc:
        raise JobError("job failed") from exc


class StackFormatter(logging.Formatter):
    def formatException(self, exc_info):
        return stackprinter.format(
            exc_info, style=STYLE, source_lines=LINES, suppressed_paths=[r"stackprinter"]
        )


if __name__ == "__main__":
    function, value = globals()[sys.argv[1]], None if sys.argv[2] == "None" else sys.argv[2]
    sys.setrecursionlimit(300)
    if sys.argv[3] == "native":
        function(value)
    if sys.argv[3] == "excepthook":
        stackprinter.set_excepthook(style="plaintext")
        function(value)
    handler = logging.StreamHandler()
    handler.setFormatter(StackFormatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        job(function, value) if sys.argv[3] == "chain" else function(value)
    except Exception:
        logging.getLogger("app.worker").exception("order %s failed", value)
"""
)
_STACKPRINTER_WAYS = {  # how a failure is written: (STYLE, LINES, how it is raised)
    "excepthook": ("'plaintext'", 5, "excepthook"),
    "logging-formatter": ("'plaintext'", 5, "plain"),
    "colours": ("'darkbg2'", 5, "plain"),
    "one-source-line": ("'plaintext'", 1, "plain"),
    "chain": ("'plaintext'", 5, "chain"),
}


def _stackprinted(directory: Path, way: str, function: str, value: str, padding: int) -> str:
    """What the program at `directory` (`padding` blank lines above its code) writes to stderr when
    `function(value)` fails, its failure written by stackprinter the `way` named."""
    style, lines, raised = _STACKPRINTER_WAYS.get(way, ("'plaintext'", 5, way))
    source = _STACKPRINTER_APP.replace("STYLE", style).replace("LINES", str(lines))
    return _failed(directory, source, padding, function, value, raised)


def _failed(directory: Path, source: str, padding: int, *arguments: str) -> str:
    """What the program `source` (written to `directory` once, `padding` blank lines above its code)
    writes to stderr when run with `arguments`, which must make it fail."""
    program = directory / "app.py"
    if not program.exists():
        directory.mkdir(parents=True)
        program.write_text("\n" * padding + source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program), *arguments], capture_output=True, text=True, timeout=60, check=False
    )
    assert "Error" in done.stderr, done.stderr
    return done.stderr


def _key_of(text: str) -> str:
    found = fingerprint_event({"error": {"stack_trace": text}})
    assert found is not None
    return found.key


@pytest.mark.parametrize("way", [pytest.param(way, id=way) for way in _STACKPRINTER_WAYS])
def test_a_stackprinter_report_is_keyed_as_the_traceback_it_shows(tmp_path: Path, way: str) -> None:
    """stackprinter's report (frame lines at the line start, no header, numbered context with the line
    that ran marked `-->`, variables between dotted rules) gets the key `traceback`'s print of the same
    failure gets: one bug from other install paths, line numbers and values one group, the same error in
    another function and another error in the same function other groups, the title the exception's."""
    first = _stackprinted(tmp_path / "home" / "ann" / "app", way, "parse", "abc", 0)
    again = _stackprinted(tmp_path / "srv" / "releases" / "42" / "app", way, "parse", "x-19", 9)
    sibling = _stackprinted(tmp_path / "home" / "ann" / "app", way, "other", "abc", 0)
    other_bug = _stackprinted(tmp_path / "home" / "ann" / "app", way, "parse", "None", 0)
    texts = (first, again, sibling, other_bug)
    keys = [fingerprint_event({"error": {"stack_trace": text}}) for text in texts]
    assert keys[0] is not None and keys[1] is not None and keys[0].key == keys[1].key, (first, again)
    assert len({key.key for key in keys if key is not None}) == 3, (first, sibling, other_bug)
    assert parse_traceback(first).final.type == ("JobError" if way == "chain" else "ValueError")
    expected = "JobError: job failed (app.job)" if way == "chain" else "ValueError: invalid literal"
    assert keys[0].name.startswith(expected) and keys[0].name.endswith(")"), keys[0].name
    if way != "chain":  # the key of the traceback Python prints of the same failure
        for function in ("parse", "walk"):  # (a RecursionError: its frames past the first few short)
            native = _stackprinted(tmp_path / "native" / way / function, "native", function, "abc", 0)
            printed = _stackprinted(tmp_path / "home" / "ann" / "app", way, function, "abc", 0)
            assert checked_key(native).key == _key_of(printed), printed


@pytest.mark.parametrize("way", [pytest.param(way, id=way) for way in _STACKPRINTER_WAYS])
def test_logloop_cluster_text_groups_stackprinter_reports(tmp_path: Path, way: str) -> None:
    """`logloop cluster --text` over a program's stderr holding stackprinter's reports (each after its
    record's line, or alone: the excepthook's; a RecursionError's of thousands of lines, its frames given
    again after `---- (full traceback above) ----`) makes each report one event with the key of the
    report alone: the recurrence one group, the siblings others, the lines around events of their own."""
    runs = [
        ("home", "parse", "abc", 0),
        ("srv", "parse", "x-19", 9),
        ("home", "other", "abc", 0),
        ("home", "parse", "None", 0),
        ("home", "walk", "abc", 0),
        ("srv", "walk", "x-19", 9),
    ]
    reports = [_stackprinted(tmp_path / root / way, way, *run) for root, *run in runs]
    log = tmp_path / "stderr.log"
    # (a blank line after each: an uncaught exception's report right under a record is the record's)
    log.write_text(
        "".join(f"INFO starting run {n}\n\n{text}" for n, text in enumerate(reports)), encoding="utf-8"
    )
    assert main(["cluster", "--text", str(log), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    traced = [row for row in rows if row["category"] == "traceback"]
    assert [row["cluster"] for row in traced] == [_key_of(text) for text in reports], rows
    clusters = [row["cluster"] for row in traced]
    assert clusters[0] == clusters[1] and clusters[4] == clusters[5] and len(set(clusters)) == 4
    assert len(rows) == 2 * len(runs), rows  # each report one event, each "starting" line another


# Twisted: a program that logs its failures as Twisted's `Failure` prints them (brief, default, verbose,
# verbose with the frames' variables), each raised through `eval` (a frame without a source file: the
# default layout writes its source line blank), run from two install paths with other values and lines.

_TWISTED_APP = (
    """
import logging, sys
from twisted.python.failure import Failure
"""
    + _FAILING
    + """

if __name__ == "__main__":
    function, value = globals()[sys.argv[1]], None if sys.argv[2] == "None" else sys.argv[2]
    detail, captured = sys.argv[3].partition("+")[::2]
    if detail == "native":
        eval("function(value)")  # Python's own print of the failure
    logging.basicConfig(format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    try:
        eval("function(value)")
    except Exception:
        failure = Failure(captureVars=bool(captured))
        text = failure.getTraceback(detail=detail)
        logging.getLogger("app.worker").error("order %s failed\\n%s", value, text)
"""
)
_TWISTED_WAYS = ("brief", "default", "verbose", "verbose+variables")


def _twisted_failure(directory: Path, way: str, function: str, value: str, padding: int) -> str:
    """What the program at `directory` (`padding` blank lines above its code) writes to stderr when
    `function(value)` fails, the failure printed as Twisted's `Failure` prints it the `way` named."""
    return _failed(directory, _TWISTED_APP, padding, function, value, way)


@pytest.mark.parametrize("way", _TWISTED_WAYS)
def test_a_twisted_failure_is_keyed_by_where_it_failed_in_every_layout(tmp_path: Path, way: str) -> None:
    """Twisted's `Failure` as a program logs it (brief: type and value first, a line `path:N:function` a
    frame; verbose: frames as `path:N: function(...)`, their variables, between two marks; default:
    `traceback`'s layout, a blank source line for `eval`'s frame) is keyed by its frames: one bug from
    other install paths, line numbers and values one group, the same error in another function and another
    error in the same function other groups (they were one group: every failure was its log line), the
    title the exception's; the default layout's key is that of `traceback`'s print of the same failure."""
    first = _twisted_failure(tmp_path / "home" / "ann" / "app", way, "parse", "abc", 0)
    again = _twisted_failure(tmp_path / "srv" / "releases" / "42" / "app", way, "parse", "x19", 9)
    sibling = _twisted_failure(tmp_path / "home" / "ann" / "app", way, "other", "abc", 0)
    other_bug = _twisted_failure(tmp_path / "home" / "ann" / "app", way, "parse", "None", 0)
    keys = [
        fingerprint_event({"error": {"stack_trace": text}}) for text in (first, again, sibling, other_bug)
    ]
    assert all(key is not None for key in keys)
    assert keys[0] is not None and keys[1] is not None and keys[0].key == keys[1].key, (first, again)
    assert len({key.key for key in keys if key is not None}) == 3, (first, sibling, other_bug)
    assert keys[0].name.startswith("ValueError: invalid literal") and keys[0].name.endswith("(app.parse)"), (
        keys
    )
    assert parse_traceback(first).final.type.removeprefix("builtins.") == "ValueError"  # (default: `qual`'s)
    if way == "default":
        native = _twisted_failure(tmp_path / "native", "native", "parse", "abc", 0)
        assert checked_key(native).key == keys[0].key, (native, first)


def test_logloop_cluster_text_groups_twisted_failures(tmp_path: Path) -> None:
    """`logloop cluster --text` over a program's stderr holding Twisted's failures in every layout (each
    after its record's line, the lines of another record between them) makes each failure one event
    with the key of its text alone, a layout's recurrence one group, and the lines around events of their
    own (a brief failure's frame lines, a verbose one's variables and marks were events of their own)."""
    runs = [("home", "parse", "abc", 0), ("srv", "parse", "x19", 9), ("home", "other", "abc", 0)]
    failures = [
        _twisted_failure(tmp_path / root / way, way, *run) for way in _TWISTED_WAYS for root, *run in runs
    ]
    log = tmp_path / "stderr.log"
    log.write_text(
        "".join(
            f"{text}2026-12-06 10:00:0{n % 10},000 INFO [app] run {n}\n" for n, text in enumerate(failures)
        )
    )
    assert main(["cluster", "--text", str(log), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2 * len(failures), rows  # each failure one event, each "run" line another
    traced = [row["cluster"] for row in rows if row["category"] == "traceback"]
    assert traced == [_key_of(text) for text in failures], rows
    for way in range(len(_TWISTED_WAYS)):  # the recurrence with its first, the sibling apart
        first, again, sibling = traced[3 * way : 3 * way + 3]
        assert first == again != sibling, (_TWISTED_WAYS[way], rows)


# A notebook run by nbclient (`jupyter nbconvert --execute`, papermill, nbmake use it): a failing cell
# raises CellExecutionError in the runner's process, its message the cell's source and the kernel's
# IPython report of the failure (coloured), its frames the runner's.

# The runner's traceback goes to a file of its own: the kernel shares the runner's standard error, and
# on a loaded machine a line it wrote there could land inside the traceback.
_NOTEBOOK_RUNNER = """
import os, sys, traceback
import nbformat
from nbclient import NotebookClient

notebook = nbformat.v4.new_notebook()
notebook.cells = [nbformat.v4.new_code_cell(os.environ[name]) for name in ("PREPARE", "RUN")]
try:
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
except Exception:
    with open(os.environ["TRACEBACK_FILE"], "w", encoding="utf-8") as out:
        traceback.print_exc(file=out)
    sys.exit(1)
"""
_NOTEBOOK_MODULE = """
def parse(value):
    count = len(value)
    return int(value) + count


def other(value):
    return int(value)
"""


def _notebook_failure(directory: Path, run: str, padding: int = 0) -> str:
    """What a notebook runner prints when the cell `run` fails (a module of `directory` imported by the
    cell before, `padding` blank lines above its code): the kernel's log lines, then the traceback."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "orders.py").write_text("\n" * padding + _NOTEBOOK_MODULE, encoding="utf-8")
    prepare = f"import sys\nsys.path.insert(0, {str(directory)!r})\nfrom orders import parse, other"
    printed = directory / "traceback.txt"
    printed.unlink(missing_ok=True)  # (the same directory serves several runs)
    done = subprocess.run(
        [sys.executable, "-c", _NOTEBOOK_RUNNER],
        env={**os.environ, "PREPARE": prepare, "RUN": run, "TRACEBACK_FILE": str(printed)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert printed.exists(), done.stderr
    traceback_text = printed.read_text(encoding="utf-8")
    assert "CellExecutionError" in traceback_text, traceback_text
    kernel_log = [line for line in done.stderr.splitlines(keepends=True) if line.startswith("[IPKernelApp]")]
    return "".join(kernel_log) + traceback_text


def test_a_notebook_runners_cell_failure_is_keyed_by_the_kernels_traceback(tmp_path: Path) -> None:
    """A cell's failure a notebook runner re-raises (CellExecutionError, raised by the runner's code, its
    message the cell and the kernel's report) is keyed by the kernel's traceback: the same bug in
    another install, cell and values one group, another bug (the same error elsewhere, another error in
    the same function) another (every failing notebook was one group)."""
    nbclient = pytest.importorskip("nbclient")
    assert nbclient
    first = _notebook_failure(tmp_path / "home" / "ann", "parse('abc')")
    again = _notebook_failure(tmp_path / "srv" / "app", "x = 1\nparse('x-19')", padding=7)
    sibling = _notebook_failure(tmp_path / "home" / "ann", "other('abc')")
    other_bug = _notebook_failure(tmp_path / "home" / "ann", "parse(None)")
    texts = (first, again, sibling, other_bug)
    traceback_only = [text[text.index("Traceback (most recent call last):") :] for text in texts]
    for keyed in (texts, traceback_only):  # (the kernel may write its warnings above)
        keys = [_key_of(text) for text in keyed]
        assert keys[0] == keys[1], keyed[:2]
        assert len(set(keys)) == 3, keyed
    named = fingerprint_event({"error": {"stack_trace": traceback_only[0]}})
    assert named is not None and named.name.endswith("(orders.parse)"), named
