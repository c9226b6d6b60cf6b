"""`shipper.text_log` on tracebacks written in the other layouts real tools give a log file: loguru's
(blank lines between frames, `> File`, variable values under frames), rich's box (its locals too, as
`RichHandler` or `rich.traceback.install` print it), and a worker process's failure re-raised by the
parent (concurrent.futures, multiprocessing: the worker's traceback quoted). Each event is one entry,
keyed as the shipper keys its stack trace; a sibling (the same message from another function) is
another group."""

from __future__ import annotations

import io
import json
import logging
import multiprocessing.pool
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import process
from pathlib import Path
from typing import Any

import pytest

from logloop.cli import main
from shipper.grouping.fingerprint import clear_caches, fingerprint_document
from shipper.text_log import entries

MODULE = """
def charge(amount):
    total = amount * 2
    raise ValueError(f"bad amount {amount}")

def refund(amount):
    total = amount * 3
    raise ValueError(f"bad amount {amount}")

def lookup(table, key):
    return table[key]

def chained(amount):
    try:
        charge(amount)
    except ValueError as exc:
        raise RuntimeError("payment failed") from exc
"""
BUGS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "charge": ((5,), (1234,)),
    "refund": ((5,), (77,)),
    "lookup": (({}, "user-1"), ({}, "user-982")),
    "chained": ((3,), (9,)),
}


@pytest.fixture
def installs(tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """The module in two installs (real files: rich prints a frame's path only for a file that exists),
    lines shifted as in another version."""
    namespaces = []
    for shift, where in enumerate(("ann/.venv/lib/python3.11/site-packages", "srv/bob/app")):
        path = tmp_path / where / "shop" / "core.py"
        path.parent.mkdir(parents=True)
        source = "\n" * (shift * 5) + MODULE
        path.write_text(source, encoding="utf-8")
        namespace: dict[str, Any] = {"__name__": "shop.core"}
        exec(compile(source, str(path), "exec"), namespace)
        namespaces.append(namespace)
    yield namespaces


def _raised(namespace: dict[str, Any], function: str, args: tuple[Any, ...]) -> BaseException:
    call = namespace[function]
    try:
        call(*args)
    except Exception as exc:  # every bug raises
        return exc
    raise AssertionError(f"{function} did not raise")


def _worker(kind: str, exc: BaseException) -> BaseException:
    """What the parent re-raises for `exc` raised in a worker process, as it rebuilds it."""
    wrapped = (
        process._ExceptionWithTraceback(exc, exc.__traceback__)
        if kind == "futures"
        else multiprocessing.pool.ExceptionWithTraceback(exc, exc.__traceback__)
    )
    function, args = wrapped.__reduce__()
    try:
        raise function(*args)
    except BaseException as raised:  # the parent's raise, as `Future.result()` and `Pool.map` do it
        return raised


def _logged(exc: BaseException) -> str:
    """`logger.exception` through a plain `logging.Formatter` with a time and level first."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord(
        "shop", logging.ERROR, __file__, 1, "charge failed", None, (type(exc), exc, exc.__traceback__)
    )
    return formatter.format(record) + "\n"


def _rich(exc: BaseException, *, locals_: bool, handler: bool) -> str:
    from rich.console import Console
    from rich.traceback import Traceback

    console = Console(file=io.StringIO(), width=100, color_system=None)
    if handler:  # `RichHandler`'s shape: its log line, then the box
        console.print("[12/05/26 03:00:07] ERROR    charge failed", highlight=False)
    console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=locals_))
    return str(console.file.getvalue())  # type: ignore[attr-defined]


def _loguru(call: Callable[[], object], *, diagnose: bool) -> str:
    from loguru import logger

    written = io.StringIO()
    sink = logger.add(
        written, format="{time:YYYY-MM-DD HH:mm:ss} | {level} | {message}", diagnose=diagnose, colorize=False
    )
    try:
        call()
    except Exception:
        logger.exception("charge failed")
    finally:
        logger.remove(sink)
    return written.getvalue()


# Each layout: (what the log holds for the failure `call` raises, the exception the shipper would log).
Layout = Callable[[Callable[[], object]], tuple[str, BaseException]]


def _raising(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def _prefixed(text: str, exc: BaseException, seconds: list[int] = [0]) -> str:  # noqa: B006 (a counter)
    """`text` with a prefix on every line, as a formatter that prefixes each line of a record writes it
    (its time and thread differ from one record to the next)."""
    seconds[0] += 1
    time = f"2026-12-05 03:00:{seconds[0] % 60:02d},{seconds[0] * 7 % 1000:03d}"
    prefix = f"{time} ERROR [worker-{seconds[0] % 5}] shop: "
    return "".join(prefix + line for line in text.splitlines(keepends=True))


LAYOUTS: dict[str, Layout] = {
    "loguru-diagnose": lambda call: (_loguru(call, diagnose=True), _raising(call)),
    "loguru": lambda call: (_loguru(call, diagnose=False), _raising(call)),
    "rich-locals": lambda call: (_rich(exc := _raising(call), locals_=True, handler=False), exc),
    "rich-handler": lambda call: (_rich(exc := _raising(call), locals_=False, handler=True), exc),
    "futures-logged": lambda call: (_logged(exc := _worker("futures", _raising(call))), exc),
    "pool-logged": lambda call: (_logged(exc := _worker("pool", _raising(call))), exc),
    "prefixed-logged": lambda call: (_prefixed(_logged(exc := _raising(call)), exc), exc),
    "prefixed-uncaught": lambda call: (
        _prefixed("".join(traceback.format_exception(exc := _raising(call))), exc),
        exc,
    ),
    "prefixed-worker": lambda call: (_prefixed(_logged(exc := _worker("pool", _raising(call))), exc), exc),
    "futures-uncaught": lambda call: (
        "".join(traceback.format_exception(exc := _worker("futures", _raising(call)))),
        exc,
    ),
}


def _key(doc: dict[str, Any]) -> str:
    clear_caches()
    return fingerprint_document({"log": {"level": "error", "logger": "shop"}, **doc}).key


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_traceback_in_another_layout_is_one_entry_keyed_as_its_stack_trace(
    installs: list[dict[str, Any]], layout: str
) -> None:
    """loguru's, rich's and a re-raised worker's tracebacks in a log were cut into an entry a line (or
    a few), every bug then one group of their first lines; each is now one entry with the key of its
    stack trace, a bug's failures from two installs one group, siblings apart."""
    log: list[str] = []
    expected: list[tuple[str, str]] = []
    for bug, arguments in BUGS.items():
        for namespace in installs:
            for args in arguments:
                text, raised = LAYOUTS[layout](lambda n=namespace, b=bug, a=args: n[b](*a))
                log.append(text if text.endswith("\n") else text + "\n")
                stack_trace = "".join(traceback.format_exception(raised))
                expected.append((bug, _key({"error": {"stack_trace": stack_trace}})))
    found = list(entries("".join(log).splitlines(keepends=True)))
    assert len(found) == len(expected)
    keys = [_key(entry.document()) for entry in found]
    assert keys == [key for _, key in expected]
    groups: dict[str, set[str]] = {}
    for (bug, _), key in zip(expected, keys, strict=True):
        groups.setdefault(bug, set()).add(key)
    assert all(len(group) == 1 for group in groups.values())
    assert len(set.union(*groups.values())) == len(BUGS)


_QUOTED = (
    'concurrent.futures.process._RemoteTraceback: \n"""\nTraceback (most recent call last):\n'
    '  File "w.py", line 3, in f\n    g()\nValueError: 1\n'
)
_ENDS: dict[str, tuple[str, int]] = {
    "quote cut short": ("a ERROR boom\n" + _QUOTED + "b INFO next\nc INFO after\n", 3),
    "quote closed": ("a ERROR boom\n" + _QUOTED + '"""\n\nb INFO next\n', 2),
    "loguru then a line": (
        'a | ERROR | boom\nTraceback (most recent call last):\n\n  File "w.py", line 3, in f\n    g()\n\n'
        '> File "w.py", line 5, in g\n    h()\n\nValueError: 1\n\nb | INFO | next\n',
        2,
    ),
    "rich box then a line": (
        "╭──── Traceback (most recent call last) ────╮\n│ /w.py:3 in f                              │\n"
        "│ ❱ 3 g()                                   │\n╰───────────────────────────────────────────╯\n"
        "ValueError: 1\nb INFO next\n",
        2,
    ),
    "a box that is no traceback": ("╭── status ──╮\n│ ok │\n╰────╯\n", 3),
    "a marked line outside a traceback": ('a INFO diff\n> File "w.py" changed\n', 2),
    "a message ending in a header, the traceback under it": (
        'a ERROR failed: Traceback (most recent call last):\n  File "w.py", line 3, in f\n    g()\n'
        "ValueError: 1\nb ERROR failed: next\n",
        2,
    ),
}


@pytest.mark.parametrize("shape", _ENDS)
def test_a_layouts_entry_ends_where_its_traceback_does(shape: str) -> None:
    """The new layouts take in only their own lines: a worker's quote cut short, loguru's blank lines,
    rich's box end where the traceback does, and the lines after them (or a box or `> File` line that
    is no traceback's) are entries of their own; every line is in exactly one entry, in order."""
    text, count = _ENDS[shape]
    found = list(entries(text.splitlines(keepends=True)))
    assert len(found) == count
    kept = [line for entry in found for line in entry.text.splitlines() if line.strip()]
    assert kept == [line for line in text.splitlines() if line.strip()]


def test_a_prefix_on_every_line_is_read_past_for_its_entry_only() -> None:
    """An application's prefix on every line of a record (its numbers differ from record to record) is
    learnt from the header's line and read past on the traceback's lines; the next record, prefixed
    too, is an entry of its own, and so is a line with another prefix."""
    log = (
        "a 1 ERROR x: boom\na 2 ERROR x: Traceback (most recent call last):\n"
        'a 3 ERROR x:   File "w.py", line 3, in f\na 4 ERROR x:     g()\na 5 ERROR x: ValueError: 1\n'
        "a 6 ERROR x: next\na 7 INFO x: done\n"
    )
    found = list(entries(log.splitlines()))
    assert [entry.line for entry in found] == [1, 6, 7]
    assert found[0].text == (
        "a 1 ERROR x: boom\nTraceback (most recent call last):\n"
        '  File "w.py", line 3, in f\n    g()\nValueError: 1\n'
    )


ASYNCIO_PROGRAM = """
import asyncio, gc, logging, sys
logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")

def work_a(value):
    raise ValueError(f"bad amount {value}")

def work_b(value):
    raise ValueError(f"bad amount {value}")

async def unawaited(work, value):
    async def job():
        work(value)
    task = asyncio.ensure_future(job())
    await asyncio.sleep(0.01)
    del task

async def callback(work, value):
    asyncio.get_running_loop().call_soon(work, value)
    await asyncio.sleep(0.01)

for report in (unawaited, callback):
    for work in (work_a, work_b):
        for value in (1, 22):
            asyncio.run(report(work, value))
            gc.collect()
"""


def test_asyncios_report_of_a_failure_is_one_entry(tmp_path: Path) -> None:
    """asyncio's report of a task nobody awaited or a failed callback (its message, a `future: <Task ...>`
    or `handle: <Handle ...>` line, the traceback) was two entries, the first line one group for every
    bug; each report is now one entry, keyed by its traceback (two functions, two groups)."""
    program = tmp_path / "app" / "jobs.py"
    program.parent.mkdir()
    program.write_text(ASYNCIO_PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60, check=True
    )
    found = list(entries(done.stderr.splitlines()))
    assert len(found) == 8, [entry.text.splitlines()[0] for entry in found]
    keys = [_key(entry.document()) for entry in found]
    functions = ["work_a", "work_a", "work_b", "work_b"] * 2
    assert len(set(keys)) == 2
    assert all(
        (keys[i] == keys[j]) is (functions[i] == functions[j])
        for i in range(len(keys))
        for j in range(len(keys))
    )


_UNITTESTS = '''
import unittest


def total(order):
    return order["amount"] / order["qty"]


class Orders(unittest.TestCase):
    def test_charge(self):
        total({"amount": 5, "qty": 0})

    def test_refund(self):
        """Refunds keep their sign."""
        self.assertEqual(total({"amount": 5, "qty": 1}), -5)

    def test_each(self):
        for qty in (1, 0):
            with self.subTest(qty=qty):
                total({"amount": 5, "qty": qty})

    def test_lines(self):
        self.assertEqual("total: 5\\nitems: 2\\n", "total: 6\\nitems: 2\\n")

    def test_rows(self):
        self.assertListEqual([1, 2, 3], [1, 2, 4])


unittest.main(verbosity={verbosity})
'''


_REPORTS = (
    ("ERROR:", "test_charge"),
    ("ERROR:", "test_each"),
    ("FAIL:", "test_lines"),
    ("FAIL:", "test_refund"),
    ("FAIL:", "test_rows"),
)


@pytest.mark.parametrize("verbosity", [1, 2])
@pytest.mark.parametrize("around", ["", "2026-12-04 10:00:00,000 INFO ci: running the tests\n"])
@pytest.mark.parametrize("failures_only", [False, True])
def test_a_unittest_report_of_a_failed_test_is_one_entry_keyed_by_its_traceback(
    tmp_path: Path, verbosity: int, around: str, failures_only: bool
) -> None:
    """unittest's report of a failed test (`ERROR: test_x (module.Case.test_x)`, its docstring's line,
    a line of dashes, the traceback, an assertion's diff after it) is one entry keyed as its traceback,
    titled by its header line (the header and the dashes were entries of their own, one message-only
    group per test name, and each line of a diff another)."""
    script = tmp_path / "test_orders.py"
    script.write_text(_UNITTESTS.replace("{verbosity}", str(verbosity)), encoding="utf-8")
    expected = [list(report) for report in _REPORTS if report[0] == "FAIL:" or not failures_only]
    names = [f"Orders.{name}" for _, name in expected]
    ran = subprocess.run([sys.executable, str(script), *names], capture_output=True, text=True, check=False)
    assert ran.returncode == 1
    found = list(entries((around + ran.stderr).splitlines(keepends=True)))
    reports = [entry for entry in found if entry.stack_trace is not None]
    headers = [entry.text.partition("\n")[0] for entry in reports]
    assert [header.split(" ")[:2] for header in headers] == expected
    for report in reports:
        assert report.text.split("\n")[1:3] in (
            ["-" * 70, "Traceback (most recent call last):"],
            ["Refunds keep their sign.", "-" * 70],
        )
        assert report.document()["message"] == report.text.partition("\n")[0]
        stack_trace = report.stack_trace
        assert stack_trace is not None and stack_trace.startswith("Traceback (most recent call last):")
        assert _key(report.document()) == _key({"error": {"stack_trace": stack_trace}})
    assert not any(entry.text.startswith(("ERROR: ", "FAIL: ")) for entry in found if entry not in reports)
    others = [entry.text for entry in found if entry not in reports]
    assert not any(text.startswith(("- ", "+ ", "? ", "First differing", "3\n", "4\n")) for text in others), (
        others
    )


def test_a_coloured_worker_traceback_is_keyed_as_the_plain_one() -> None:
    """Python 3.13's coloured report of a worker's failure the parent re-raised (its quoting exception's
    line in colour) is keyed as the same report printed plain (the entry's traceback started at the
    parent's header: the worker's quoted traceback was left out and the bug split by colour)."""
    plain = (
        "concurrent.futures.process._RemoteTraceback: \n"
        '"""\n'
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.13/concurrent/futures/process.py", line 253, in _process_worker\n'
        "    r = call_item.fn(*call_item.args, **call_item.kwargs)\n"
        '  File "/srv/app/shop/billing.py", line 5, in charge\n'
        '    total = order["amount"] / order["qty"]\n'
        "ZeroDivisionError: division by zero\n"
        '"""\n'
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/run.py", line 62, in <module>\n'
        "    pool.submit(charge, order).result()\n"
        '  File "/usr/lib/python3.13/concurrent/futures/_base.py", line 401, in __get_result\n'
        "    raise self._exception\n"
        "ZeroDivisionError: division by zero\n"
    )
    coloured = (
        plain.replace(
            "concurrent.futures.process._RemoteTraceback: \n",
            "\x1b[1;35mconcurrent.futures.process._RemoteTraceback\x1b[0m: \x1b[35m\n",
        )
        .replace('division by zero\n"""\n', 'division by zero\n"""\x1b[0m\n')
        .replace(
            "\nZeroDivisionError: division by zero\n",
            "\n\x1b[1;35mZeroDivisionError\x1b[0m: \x1b[35mdivision by zero\x1b[0m\n",
        )
    )
    keys = set()
    # (The line before names the logger the others are keyed with: one named `app` would take `/srv/app/`
    # for the program's package, and key `shop/billing.py` as its subpackage's module.)
    for text in (plain, coloured, "2026-12-04 10:00:00,000 INFO shop: charging\n" + coloured):
        entry = list(entries(text.splitlines(keepends=True)))[-1]
        stack_trace = entry.stack_trace
        assert stack_trace is not None and "_process_worker" in stack_trace
        keys.add(_key(entry.document()))
    assert len(keys) == 1


_COLOURED_LOG = [
    "2026-12-04 10:00:00,001 INFO app: started\n",
    "2026-12-04 10:00:01,002 ERROR app: save failed\n",
    "Traceback (most recent call last):\n",
    '  File "/srv/app/db.py", line 12, in save\n',
    "    cur.execute(sql)\n",
    "ValueError: bad row 7\n",
    "2026-12-04 10:00:02,003 INFO app: next\n",
]


@pytest.mark.parametrize("at", range(len(_COLOURED_LOG) + 1))
@pytest.mark.parametrize(
    "codes",
    [
        pytest.param("\x1b[0m\n", id="reset"),
        pytest.param("\x1b[1m\x1b[31m\x1b[0m\n", id="several"),
        pytest.param("\x1b[0m", id="no-line-break"),
        pytest.param("  \x1b[0m \t\n", id="blanks-around"),
        pytest.param("\x1b[0m\r\n", id="crlf"),
    ],
)
def test_a_line_of_colour_codes_alone_reads_as_a_blank_line(tmp_path: Path, at: int, codes: str) -> None:
    """A line holding only colour codes (a coloured log resetting its colours on a line of its own), at
    any position, is read as a blank line: `cluster --text` gives the entries and keys of the log
    without it (it ended in an IndexError traceback, nothing written)."""
    plain = tmp_path / "plain.log"
    plain.write_text("".join(_COLOURED_LOG))
    coloured = tmp_path / "coloured.log"
    lines = [*_COLOURED_LOG[:at], codes if codes.endswith("\n") or at == len(_COLOURED_LOG) else codes + "\n"]
    coloured.write_text("".join(lines + _COLOURED_LOG[at:]))
    assert main(["cluster", "--text", str(plain), "-o", str(tmp_path / "plain.jsonl")]) == 0
    assert main(["cluster", "--text", str(coloured), "-o", str(tmp_path / "coloured.jsonl")]) == 0

    def groups(name: str) -> list[tuple[str, str]]:
        rows = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        return [(row["cluster"], row["category"]) for row in rows]

    assert groups("coloured.jsonl") == groups("plain.jsonl")


def _group_of(values: list[str]) -> BaseException:
    """A real exception group of the failures of `int` on each value, with an OSError beside them."""
    failures: list[Exception] = []
    for value in values:
        try:
            int(value)
        except ValueError as exc:
            failures.append(exc)
    try:
        raise ExceptionGroup("batch failed", [ExceptionGroup("parse", failures), OSError(28, "disk full")])
    except ExceptionGroup as group:
        return group


def test_a_log_line_after_a_rich_exception_group_starts_an_entry() -> None:
    """rich draws an exception group's members in boxes after the group's line (`Sub-exception #N`); the
    stamped log line after the last box starts the next entry (it was taken for that box's exception
    line, and the traceback under it made an entry of its own)."""
    log = ""
    for second, values in enumerate((["a"], ["b", "c"])):
        log += f"2026-12-05 03:00:0{second},123 ERROR shop: batch failed\n"
        log += _rich(_group_of(values), locals_=False, handler=False)
    log += _logged(_raising(lambda: int("z")))
    assert "Sub-exception #2" in log
    found = list(entries(log.splitlines(keepends=True)))
    assert [entry.text.partition("\n")[0].partition(" ERROR ")[2] for entry in found] == [
        "shop: batch failed",
        "shop: batch failed",
        "shop: charge failed",
    ]
    assert all(entry.stack_trace is not None for entry in found)
