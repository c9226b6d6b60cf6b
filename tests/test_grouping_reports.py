"""Reports the interpreter and the standard library print around a traceback (logging's "--- Logging
error ---", the suggestion an uncaught NameError gets, a KeyboardInterrupt's landing place, Django's
chain): each is keyed as the bug it reports, recurrences one group and other statements others."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.django_report import django_report
from helpers.keyed import checked_key
from helpers.raised import formatted

from shipper.grouping.fingerprint import (
    Fingerprint,
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
    with_package_frames,
)
from shipper.grouping.tracebacks import parse_traceback


def _key(text: str) -> Fingerprint:
    return checked_key(text, event_as_general=False)


def _stderr(directory: Path, name: str, source: str, *args: str) -> str:
    """What a script `name` with `source`, run in `directory` with `args`, writes to stderr."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=60, check=False
    )
    return done.stderr


# `logging.Handler.handleError`: a record that could not be formatted or written.

_BAD_CALLS = textwrap.dedent(
    """
    import io, logging, sys

    log = logging.getLogger("shop")

    class Broken:
        def __str__(self):
            raise ValueError("no text for " + sys.argv[2])

    def charge(n):
        log.error("charged %d of %d", n)

    def refund(n):
        log.error("refund %d to %s", sys.argv[2], n)

    def describe(n):
        log.error(Broken())

    def closed(n):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        log.addHandler(handler)
        stream.close()
        log.error("order %s shipped", n)
        log.removeHandler(handler)

    logging.basicConfig(format="%(message)s")
    {"charge": charge, "refund": refund, "describe": describe, "closed": closed}[sys.argv[1]](sys.argv[2])
    """
)


@pytest.mark.parametrize("call", ["charge", "refund", "describe", "closed"])
def test_a_logging_error_is_keyed_by_the_programs_logging_call(call: str, tmp_path: Path) -> None:
    """A record logging could not emit ("--- Logging error ---", a traceback inside `logging`, "Call
    stack:" with the program's frames, the record's message and arguments) is keyed by the program's
    logging call: that call again with other values, from another checkout, is one group; another call
    failing alike another (before, every bad call of a kind was one group keyed in `logging`)."""
    first = _stderr(tmp_path / "a", "app.py", _BAD_CALLS, call, "u1")
    again = _stderr(tmp_path / "b" / "checkout", "app.py", _BAD_CALLS, call, "user-9921")
    assert "--- Logging error ---\n" in first and "\nCall stack:\n" in first and "Arguments: " in first
    key = _key(first)
    assert key.name.endswith(f"(app.{call})") or call == "describe", key.name
    assert _key(again) == key
    others = {_key(_stderr(tmp_path / "a", "app.py", _BAD_CALLS, other, "u1")).key for other in _CALLS}
    assert len(others) == len(_CALLS) and key.key in others
    bare = first[first.index("Traceback") :]  # its first line shipped apart (a collector's line split)
    assert _key(bare) == key
    assert "Call stack" not in parse_traceback(first).final.message  # nor its frames, nor "Message:"


_CALLS = ("charge", "refund", "describe", "closed")


def test_a_logging_error_without_call_stack_frames_still_gets_a_key() -> None:
    """A logging error whose call stack holds no frame (the record was made inside `logging`), or whose
    message could not be printed, is keyed by its traceback, and never raises."""
    trace = formatted(lambda: "%d" % "x")  # noqa: UP031 (the point: a failing %-format)
    for tail in ("Message: '%d'\nArguments: ('x',)\n", "Unable to print the message and arguments\n", ""):
        text = f"--- Logging error ---\n{trace}Call stack:\n{tail}"
        assert _key(text).name.startswith("TypeError: %d format")


# The suggestion the interpreter adds to a NameError's, AttributeError's, ImportError's message where it
# prints it (3.10+; the `traceback` module only from 3.12, so a logged traceback lacks it on 3.11).

_TYPOS = """
import sys

class Order:
    total = 1

def show(order):
    return order.totl

def count(items):
    lenght = len(items)
    return lenght + lengh

show(Order()) if sys.argv[1] == "attr" else count([1])
"""

_SUGGESTIONS = [
    pytest.param(". Did you mean: 'tax'?", id="did-you-mean"),
    pytest.param(". Did you mean: 'self.tax'?", id="attribute-of-self"),
    pytest.param(". Did you forget to import 'tax'?", id="forgot-to-import"),
    pytest.param(". Did you mean: 'tax'? Or did you forget to import 'tax'?", id="both"),
    pytest.param(". Did you mean 'tax'?", id="3.14-keyword"),
]


@pytest.mark.parametrize("suggestion", _SUGGESTIONS)
def test_a_suggestion_after_a_message_is_no_part_of_its_key_or_title(suggestion: str) -> None:
    """An exception whose message carries the interpreter's suggestion (`. Did you mean: 'tax'?`, 3.12's
    `Did you forget to import 'sys'?`) is one group with the same exception printed without it, where
    its message is keyed (no source line: a frozen application; an error event without traceback) and
    in the title."""
    plain = "Traceback (most recent call last):\n"
    plain += '  File "shop/orders.py", line 12, in total\n'
    plain += "NameError: name 'taxx' is not defined\n"
    suggested = plain.rstrip("\n") + suggestion + "\n"
    assert _key(suggested) == _key(plain)
    assert _key(suggested).name == "NameError: name 'taxx' is not defined (orders.total)"
    events = [
        {"error": {"type": "NameError", "message": text.splitlines()[-1].partition(": ")[2]}}
        for text in (plain, suggested)
    ]
    keys = [fingerprint_event(event) for event in events]
    assert keys[0] == keys[1] is not None
    other = {"error": {"type": "NameError", "message": "name 'price' is not defined" + suggestion}}
    assert fingerprint_event(other) != keys[0]


@pytest.mark.parametrize("mistake", ["attr", "name"])
def test_an_uncaught_errors_suggestion_does_not_split_it_from_the_logged_one(
    mistake: str, tmp_path: Path
) -> None:
    """The traceback Python prints for an uncaught NameError or AttributeError (with its suggestion) and
    the one `traceback` formats for `logging.exception` (3.11: without) are one group and one title, with
    source lines or without (a frozen application)."""
    printed = _stderr(tmp_path, "app.py", _TYPOS, mistake)
    assert ". Did you mean: '" in printed
    logged = printed.replace(printed[printed.rindex(". Did you mean") :], "\n")
    assert _key(printed) == _key(logged)
    frozen = [
        "".join(line for line in text.splitlines(True) if not line.startswith("    "))
        for text in (printed, logged)
    ]
    assert _key(frozen[0]) == _key(frozen[1])
    assert "Did you" not in _key(frozen[0]).name


# A KeyboardInterrupt: raised wherever the signal found the program.

_INTERRUPTED = """
import json, os, signal, sys, threading, time

def fetch(n):
    if sys.argv[1] == "fetch":
        time.sleep(10)
    return n

def save(n):
    if sys.argv[1] == "save":
        json.dumps({"n": n}); time.sleep(10)
    return n

def loop():
    for n in range(3):
        save(fetch(n))
    while sys.argv[1] == "loop":
        pass

def main():
    # (Python leaves SIGINT ignored when it starts so, as a job a shell runs in the background does)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    loop()

main()
"""


def test_a_keyboard_interrupt_is_one_group_wherever_it_lands(tmp_path: Path) -> None:
    """A KeyboardInterrupt that lands in other statements of one program (a sleep in one function or
    another, a busy loop) is one group, keyed by the program's entry point (its outermost frame outside
    the standard library); another program's is another."""
    landed = [_stderr(tmp_path, "app.py", _INTERRUPTED, where) for where in ("fetch", "save", "loop")]
    assert all(text.rstrip().endswith("KeyboardInterrupt") for text in landed)
    assert len({text.rsplit("  File", 1)[1] for text in landed}) == 3  # three innermost frames
    keys = {_key(text) for text in landed}
    assert len(keys) == 1 and next(iter(keys)).name == "KeyboardInterrupt (app)"
    other = _stderr(tmp_path, "worker.py", _INTERRUPTED.replace("\nmain()\n", "\nmain()\n\n"), "fetch")
    assert _key(other).key not in {key.key for key in keys}
    via_runpy = landed[0].replace(
        "Traceback (most recent call last):\n",
        'Traceback (most recent call last):\n  File "<frozen runpy>", line 198, in _run_module_as_main\n',
    )
    assert _key(via_runpy) == next(iter(keys))


def test_a_chain_ended_by_a_keyboard_interrupt_is_keyed_by_its_entry_point() -> None:
    """A KeyboardInterrupt during the handling of another exception (a retry's sleep interrupted) is
    keyed by the first exception's statement and the interrupt's entry point, wherever it landed."""

    def retry(where: str, data: object) -> None:
        try:
            data["k"]  # type: ignore[index]
        except (KeyError, TypeError):
            if where == "sleep":
                time.sleep(0)
                raise KeyboardInterrupt  # noqa: B904 (as the signal lands: an implicit context)
            raise KeyboardInterrupt  # noqa: B904

    first, second = formatted(lambda: retry("sleep", {})), formatted(lambda: retry("raise", {}))
    assert "During handling" in first and first.rsplit("  File", 1)[1] != second.rsplit("  File", 1)[1]
    assert _key(first) == _key(second)
    assert _key(first).name == "KeyboardInterrupt (raised.formatted)"  # (the tests' entry point)
    other = formatted(lambda: retry("raise", []))  # a TypeError interrupted
    assert _key(other).key != _key(first).key


# A CancelledError: raised wherever its task was suspended when it was cancelled (a timeout's cause).

_TIMED_OUT = """
import asyncio, sys

async def connect():
    await asyncio.sleep(0.2)

async def read():
    await asyncio.sleep(0.2)

async def fetch():
    await connect()
    await read()

async def main(seconds):
    if sys.argv[2] == "wait_for":
        await asyncio.wait_for(fetch(), seconds)
    elif sys.argv[2] == "timeout":
        async with asyncio.timeout(seconds):
            await fetch()
    else:
        await asyncio.wait_for(read(), seconds)

asyncio.run(main(float(sys.argv[1])))
"""


@pytest.mark.parametrize("how", ["wait_for", "timeout"])
def test_a_timeout_is_one_group_wherever_the_cancelled_task_was_suspended(how: str, tmp_path: Path) -> None:
    """A TimeoutError whose cause is the CancelledError of the task it cut short (`asyncio.wait_for`,
    `asyncio.timeout`) is one group whether the time ran out in one await or another (connect, read:
    the CancelledError's innermost frames differ); a timeout around another call is another group."""
    early, late = (_stderr(tmp_path, "app.py", _TIMED_OUT, seconds, how) for seconds in ("0.05", "0.3"))
    assert all("CancelledError\n\nThe above exception" in text for text in (early, late))
    assert "in connect\n" in early and "in connect\n" not in late
    assert _key(early) == _key(late)
    assert _key(early).name == "TimeoutError (app.main)"
    for text in (early, late):  # the fast path's key where the program's package is known, too
        marked = fingerprint_traceback(parse_traceback(with_package_frames(text, "app")))
        assert fingerprint_plain(text, "app") == marked == _key(early)
    other = _stderr(tmp_path, "app.py", _TIMED_OUT, "0.05", "other")
    assert "in read\n" in other and _key(other).key != _key(early).key


# Django's plain-text report of a chain: its link sentence quotes the cause's message, not its type.


class ServiceError(Exception):
    """A wrapper's error: re-raises whatever failed under it."""


def _lookup(data: dict[str, int], key: str) -> int:
    return data[key]


def _number(text: str) -> int:
    return int(text)


def _wrapped(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except Exception as exc:
        raise ServiceError("request failed") from exc


def _handled(function: object, *args: object) -> object:
    try:
        return function(*args)  # type: ignore[operator]
    except Exception:
        raise ServiceError("request failed")  # noqa: B904 (the point: an implicit context)


def _django_chain(text: str) -> str:
    """A chain (as `traceback` prints it) as Django's plain-text report lays it out: one header, each
    exception's frames, Django's link sentence naming the cause's message, `Exception Type/Value`."""
    segments = text.split("\n\nThe above exception was the direct cause of the following exception:\n\n")
    link = "The above exception ({}) was the direct cause of the following exception:\n"
    if len(segments) == 1:
        segments = text.split("\n\nDuring handling of the above exception, another exception occurred:\n\n")
        link = "During handling of the above exception ({}), another exception occurred:\n"
    out, lines = "Traceback (most recent call last):\n", [""]
    for number, segment in enumerate(segments):
        cause, lines = lines[-1], segment.rstrip("\n").split("\n")
        frames = "\n".join(lines[1:-1]) + "\n"
        out += (link.format(cause.partition(": ")[2]) if number else "") + frames
    exc_type, _, value = lines[-1].partition(": ")
    head = f"{exc_type.rsplit('.', 1)[-1]} at /orders/7/\n{value}\n\nRequest Method: GET\n\n"
    tail = f"\nException Type: {exc_type.rsplit('.', 1)[-1]} at /orders/7/\nException Value: {value}\n"
    return head + out + tail


@pytest.mark.parametrize("wrapper", [_wrapped, _handled])
def test_a_django_report_of_a_wrapped_failure_is_keyed_by_what_failed_under_the_wrapper(
    wrapper: object,
) -> None:
    """Django's report of a chain (`The above exception ('u1') was the direct cause...`, no header after
    it) is keyed by each exception's raising statement, as the traceback is: two failures re-raised by one
    wrapper are two groups (they were one, keyed by the wrapper's raise), one failure again one group."""
    reports = [
        _django_chain(formatted(lambda: wrapper(_lookup, {}, "u1"))),  # type: ignore[operator]
        _django_chain(formatted(lambda: wrapper(_lookup, {}, "user-77"))),  # type: ignore[operator]
        _django_chain(formatted(lambda: wrapper(_number, "zz"))),  # type: ignore[operator]
    ]
    assert "The above exception ('u1')" in reports[0] or "exception ('u1'), another" in reports[0]
    keys = [_key(report) for report in reports]
    assert keys[0] == keys[1] and keys[2].key != keys[0].key
    assert keys[0].name == "ServiceError: request failed (test_grouping_reports.%s)" % wrapper.__name__  # type: ignore[attr-defined]  # noqa: UP031
    assert [record.type for record in parse_traceback(reports[0]).chain] == ["", "ServiceError"]


def test_a_real_django_report_of_a_wrapped_failure_is_keyed_by_what_failed() -> None:
    """Django's own report (where it is installed) of two failures one wrapper re-raised are two groups."""

    first = _key(django_report(lambda: _wrapped(_lookup, {}, "u1"), "/charge/77/"))
    again = _key(django_report(lambda: _wrapped(_lookup, {}, "user-9"), "/refund/1/"))
    other = _key(django_report(lambda: _wrapped(_number, "zz"), "/charge/77/"))
    assert first.key == again.key != other.key


def test_many_django_link_sentences_are_read_in_bounded_time() -> None:
    """A Django report with link sentences by the ten thousand, unclosed or closed, each start looked
    for its end in a bounded window, is keyed in well under a second (not each start against the whole
    text after it)."""
    unclosed = "The above exception (" + "x" * 100 + "\n"
    closed = '  File "/a.py", line 1, in f\n    g()\n'
    closed += "The above exception ('u') was the direct cause of the following exception:\n"
    for repeated in (unclosed, closed):
        text = "KeyError at /x/\n\nTraceback (most recent call last):\n" + repeated * 20_000
        text += "\nException Type: KeyError at /x/\nException Value: 'x'\n"
        started = time.perf_counter()
        assert _key(text).key
        assert time.perf_counter() - started < 3  # about 0.2 s; a regex spanning lines took minutes
