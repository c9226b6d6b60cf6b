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
from helpers.keyed import checked_key
from helpers.raised import formatted

from shipper.grouping.fingerprint import Fingerprint, fingerprint_event
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
