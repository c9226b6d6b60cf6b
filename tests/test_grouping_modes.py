"""Tracebacks in the other modes and layouts real tools print them in: IPython's `%xmode Verbose`
(locals under each frame) and `%xmode Plain` (`File path:N in f` frame lines), and a worker's
re-raised failure (concurrent.futures, multiprocessing) logged with a prefix on every line. The same
bug from two installs is one group; a sibling (the same exception and message raised by another
function) is another."""

from __future__ import annotations

import linecache
import logging
import multiprocessing.pool
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import process
from typing import Any

import pytest

from shipper.grouping.fingerprint import Fingerprint, clear_caches, fingerprint_document

IPython = pytest.importorskip("IPython")
from IPython.core.ultratb import AutoFormattedTB  # noqa: E402

MODULE = """
class QueueFull(Exception):
    pass

def charge(amount):
    total = amount * 2
    raise ValueError(f"bad amount {amount}")

def refund(amount):
    total = amount * 3
    raise ValueError(f"bad amount {amount}")

def enqueue(name):
    raise QueueFull(f"Queue {name} is full")

def lookup(table, key):
    return table[key]

def chained(amount):
    try:
        charge(amount)
    except ValueError as exc:
        raise RuntimeError("payment failed") from exc
"""
INSTALLS = (
    "/home/ann/.venv/lib/python3.11/site-packages/shop/core.py",
    "C:\\Users\\bob\\AppData\\Roaming\\Python\\Python311\\site-packages\\shop\\core.py",
)
# Each bug: (function, arguments of one failure, arguments of another).
BUGS: dict[str, tuple[str, tuple[Any, ...], tuple[Any, ...]]] = {
    "charge": ("charge", (5,), (1234,)),
    "refund": ("refund", (5,), (77,)),
    "enqueue": ("enqueue", ("jobs",), ("jobs",)),
    "lookup": ("lookup", ({}, "user-1"), ({}, "user-982")),
    "chained": ("chained", (3,), (9,)),
}


@pytest.fixture
def installs() -> Iterator[list[dict[str, Any]]]:
    """The module compiled under each install's path (its source in linecache, as a file's would be),
    lines shifted as in another version."""
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


def _raised(namespace: dict[str, Any], function: str, args: tuple[Any, ...]) -> BaseException:
    call = namespace[function]
    try:
        call(*args)
    except Exception as exc:  # every bug raises
        return exc
    raise AssertionError(f"{function} did not raise")


def _key(text: str, where: str) -> Fingerprint:
    clear_caches()
    doc: dict[str, Any] = {"log": {"level": "error", "logger": "shop"}, "message": text}
    if where == "stack_trace":
        doc = {
            "log": {"level": "error", "logger": "shop"},
            "message": "failed",
            "error": {"stack_trace": text},
        }
    return fingerprint_document(doc)


def _ipython(mode: str) -> Callable[[BaseException], str]:
    def render(exc: BaseException) -> str:
        return str(AutoFormattedTB(mode=mode, color_scheme="NoColor").text(type(exc), exc, exc.__traceback__))

    return render


def _plain(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def _groups(
    installs: list[dict[str, Any]], render: Callable[[BaseException], str], where: str
) -> dict[str, set[str]]:
    """Each bug's keys over both installs and both of its failures, rendered by `render`."""
    keys: dict[str, set[str]] = {}
    for bug, (function, *arguments) in BUGS.items():
        keys[bug] = {
            _key(render(_raised(namespace, function, args)), where).key
            for namespace in installs
            for args in arguments
        }
    return keys


@pytest.mark.parametrize("where", ["stack_trace", "message"])
@pytest.mark.parametrize("mode", ["Verbose", "Plain", "Context"])
def test_an_ipython_traceback_in_each_mode_groups_as_the_plain_one(
    installs: list[dict[str, Any]], mode: str, where: str
) -> None:
    """IPython's Verbose (locals under frames) and Plain (`File path:N in f`) modes were read as one
    frame-less text: every bug one group; each bug is now one group, the group of its plain traceback."""
    groups = _groups(installs, _ipython(mode), where)
    assert all(len(keys) == 1 for keys in groups.values()), groups
    assert len(set.union(*groups.values())) == len(BUGS)  # siblings (charge, refund) apart
    assert groups == _groups(installs, _plain, "stack_trace")


class _EveryLine(logging.Formatter):
    """A formatter that writes its prefix on every line of the record, the traceback's too."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = super().format(
            logging.makeLogRecord({**record.__dict__, "msg": "", "args": None, "exc_info": None})
        )
        text = record.getMessage() + "\n" + self.formatException(record.exc_info) if record.exc_info else ""
        return "\n".join(prefix + line for line in text.splitlines())


def _worker_failure(kind: str) -> Callable[[BaseException], BaseException]:
    """What the parent re-raises for a failure in a worker process: its own exception, caused by the
    worker's traceback quoted (`concurrent.futures`' `_RemoteTraceback`, `multiprocessing.pool`'s)."""

    def rebuild(exc: BaseException) -> BaseException:
        wrapped = (
            process._ExceptionWithTraceback(exc, exc.__traceback__)
            if kind == "futures"
            else multiprocessing.pool.ExceptionWithTraceback(exc, exc.__traceback__)
        )
        function, args = wrapped.__reduce__()
        rebuilt: BaseException = function(*args)
        try:
            raise rebuilt
        except BaseException as raised:  # the parent's raise, as `Future.result()` does it
            return raised

    return rebuild


_PREFIXES = [
    pytest.param("%(asctime)s %(levelname)s [%(threadName)s] %(name)s: ", id="time-level-thread"),
    pytest.param("%(process)d %(levelname)s ", id="pid"),
    pytest.param("[%(name)s] | ", id="logger"),
]


@pytest.mark.parametrize("where", ["stack_trace", "message"])
@pytest.mark.parametrize("kind", ["futures", "pool"])
@pytest.mark.parametrize("prefix", _PREFIXES)
def test_a_worker_failure_prefixed_on_every_line_is_keyed_by_the_worker_statement(
    installs: list[dict[str, Any]], kind: str, prefix: str, where: str
) -> None:
    """A worker's failure re-raised by the parent, logged with a prefix on every line (the quoted
    worker traceback's lines too), was not read past its prefix (every worker bug one group), nor, with
    the log line before the quote, keyed as its stack trace alone; each is now its own group, the group
    of its stack trace."""
    handler = logging.Handler()
    handler.setFormatter(_EveryLine(prefix))
    rebuild = _worker_failure(kind)
    groups: dict[str, set[str]] = {}
    unprefixed: dict[str, set[str]] = {}
    for bug, (function, *arguments) in BUGS.items():
        for namespace in installs:
            for args in arguments:
                exc = rebuild(_raised(namespace, function, args))
                record = logging.LogRecord(
                    "shop", logging.ERROR, __file__, 1, "failed", None, (type(exc), exc, exc.__traceback__)
                )
                text = handler.format(record)
                groups.setdefault(bug, set()).add(_key(text, where).key)
                unprefixed.setdefault(bug, set()).add(_key(_plain(exc), "stack_trace").key)
    assert all(len(keys) == 1 for keys in groups.values()), groups
    assert groups == unprefixed
    assert len(set.union(*groups.values())) == len(BUGS)


def _load_rules(text: str, name: str) -> object:
    return compile(text, name, "exec")


def _load_plugin(text: str, name: str) -> object:
    return compile(text, name, "exec")


@pytest.mark.parametrize("name", ["rules.py", "plugin", "settings.cfg"])
def test_a_syntax_error_in_text_compiled_under_a_bare_name_is_keyed_by_the_compiling_statement(
    name: str,
) -> None:
    """Text compiled at run time under a file name without a directory (`compile(text, "rules.py",
    "exec")`) was keyed by its failing line, the input: one group per input; it is now keyed as a
    pseudo-file's, by the statement that compiled it (another compiling statement, another group)."""
    inputs = ["x = (1, 2", "x = (1, yy", "rule = (a,\n", "y = [3, 4"]
    keys = {
        _key(_plain(_raised({"f": _load_rules}, "f", (text, name))), "stack_trace").key for text in inputs
    }
    other = {
        _key(_plain(_raised({"f": _load_plugin}, "f", (text, name))), "stack_trace").key for text in inputs
    }
    assert len(keys) == 1 and len(other) == 1 and keys != other
