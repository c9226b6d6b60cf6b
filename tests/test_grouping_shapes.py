"""Traceback shapes the grouping must read like any other: each class gets recurrences of one bug into
one group, sibling bugs into others, and the fast path (where it answers) the general parser's key."""

from __future__ import annotations

import concurrent.futures
import traceback
from collections.abc import Callable

from shipper.grouping.fingerprint import (
    Fingerprint,
    clear_caches,
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
)
from shipper.grouping.tracebacks import parse_traceback


def _trace(function: Callable[[], object]) -> str:
    try:
        function()
    except BaseException as exc:  # the point is to format whatever it raises
        return "".join(traceback.format_exception(exc))
    raise AssertionError("did not raise")


def _key(text: str) -> Fingerprint:
    """The event's key, with the fast path checked against the general parser on the way."""
    clear_caches()
    general = fingerprint_traceback(parse_traceback(text))
    fast = fingerprint_plain(text)
    assert fast is None or fast == general, text
    clear_caches()
    event = fingerprint_event({"error": {"stack_trace": text}})
    assert event is not None
    return event


# Exception classes defined in a function, and classes named in a non-Latin script.


def _raise_local(name: str, value: int) -> None:
    kind = type(name, (Exception,), {})
    kind.__qualname__ = f"_raise_local.<locals>.{name}"
    raise kind(f"bad {value}")


def test_a_local_or_non_ascii_exception_class_keeps_its_type() -> None:
    """An exception class defined in a function (`f.<locals>.Error`) or named in a non-Latin script is
    read as an exception line: the title names it, and two such classes raised by one statement are two
    groups (not both read as a message without type)."""
    local = _trace(lambda: _raise_local("LocalError", 1))
    assert local.rstrip().endswith(".<locals>.LocalError: bad 1")
    assert parse_traceback(local).final.type.endswith("_raise_local.<locals>.LocalError")
    assert _key(local).name.startswith("LocalError: bad")
    assert _key(_trace(lambda: _raise_local("LocalError", 22))).key == _key(local).key
    assert _key(_trace(lambda: _raise_local("OtherError", 1))).key != _key(local).key
    script = _trace(lambda: _raise_local("Ошибка", 1))
    script = script.replace(script.rstrip().rsplit("\n", 1)[-1], "Ошибка: плохо 1")  # as `__main__` prints it
    assert parse_traceback(script).final.type == "Ошибка"
    assert _key(script).name.startswith("Ошибка: плохо")
    assert _key(script).key != _key(local).key


# Exceptions raised in a worker process: the pool quotes the worker's traceback in a RemoteTraceback.


def _worker_lookup(key: str) -> int:
    return {"known": 1}[key]


def _worker_index(key: str) -> int:
    return {"other": 2}[key]


def _worker_wrapped(key: str) -> int:
    try:
        return {"known": 1}[key]
    except KeyError as exc:
        raise ValueError(f"no entry {key}") from exc


def _in_pool(pool: concurrent.futures.Executor, function: Callable[[str], int], key: str) -> str:
    return _trace(lambda: pool.submit(function, key).result())


def test_a_worker_process_failure_is_grouped_by_the_workers_raising_statement() -> None:
    """A failure a process pool re-raises (its cause a RemoteTraceback quoting the worker's traceback) is
    keyed by the worker's statement: two worker functions failing with one exception type from one
    `.result()` call are two groups; recurrences (other values, another install path) are one."""
    with concurrent.futures.ProcessPoolExecutor(1) as pool:
        first = _in_pool(pool, _worker_lookup, "k1")
        again = _in_pool(pool, _worker_lookup, "user-2291")
        sibling = _in_pool(pool, _worker_index, "k1")
        wrapped = _in_pool(pool, _worker_wrapped, "k1")
    assert '"""\nTraceback (most recent call last):' in first  # the worker's traceback, quoted
    directory = __file__.rsplit("/", 1)[0]
    moved = again.replace(directory, "/opt/other/checkout/tests")
    assert moved != again
    keys = {name: _key(text) for name, text in [("first", first), ("again", again), ("moved", moved)]}
    assert keys["first"].key == keys["again"].key == keys["moved"].key
    assert _key(sibling).key != keys["first"].key
    assert len({keys["first"].key, _key(sibling).key, _key(wrapped).key}) == 3


def test_a_chain_quoted_in_a_remote_traceback_does_not_split_the_outer_chain() -> None:
    """A chained traceback quoted in a RemoteTraceback's message is message: its link sentence does not
    start another exception of the outer chain."""
    with concurrent.futures.ProcessPoolExecutor(1) as pool:
        wrapped = _in_pool(pool, _worker_wrapped, "k1")
    assert wrapped.count("The above exception was the direct cause") == 2  # one quoted, one outer
    chain = parse_traceback(wrapped).chain
    assert [record.type.rsplit(".", 1)[-1] for record in chain] == ["_RemoteTraceback", "ValueError"]
    assert "KeyError: 'k1'" in chain[0].message and "ValueError: no entry k1" in chain[0].message
    assert chain[0].link == "cause" and chain[0].frames == ()
