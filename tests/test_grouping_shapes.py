"""Traceback shapes the grouping must read like any other: each class gets recurrences of one bug into
one group, sibling bugs into others, and the fast path (where it answers) the general parser's key."""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import dataclasses
import functools
import json
import linecache
import multiprocessing.pool
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.inlined import INLINED_BY_312, as_python_312, in_orders, recursion_in_orders
from helpers.keyed import checked_key
from helpers.raised import formatted

from logloop.cli import main
from shipper.grouping import message_only
from shipper.grouping.fingerprint import (
    Fingerprint,
    clear_caches,
    fingerprint_document,
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
    with_package_frames,
)
from shipper.grouping.options import options_from_table
from shipper.grouping.tracebacks import parse_traceback

_key = functools.partial(checked_key, event_as_general=False)


# Exception classes defined in a function, and classes named in a non-Latin script.


def _raise_local(name: str, value: int) -> None:
    kind = type(name, (Exception,), {})
    kind.__qualname__ = f"_raise_local.<locals>.{name}"
    raise kind(f"bad {value}")


def test_a_local_or_non_ascii_exception_class_keeps_its_type() -> None:
    """An exception class defined in a function (`f.<locals>.Error`) or named in a non-Latin script is
    read as an exception line: the title names it, and two such classes raised by one statement are two
    groups (not both read as a message without type)."""
    local = formatted(lambda: _raise_local("LocalError", 1))
    assert local.rstrip().endswith(".<locals>.LocalError: bad 1")
    assert parse_traceback(local).final.type.endswith("_raise_local.<locals>.LocalError")
    assert _key(local).name.startswith("LocalError: bad")
    assert _key(formatted(lambda: _raise_local("LocalError", 22))).key == _key(local).key
    assert _key(formatted(lambda: _raise_local("OtherError", 1))).key != _key(local).key
    script = formatted(lambda: _raise_local("Ошибка", 1))
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
    return formatted(lambda: pool.submit(function, key).result())


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


def _in_mp_pool(pool: multiprocessing.pool.Pool, function: Callable[[str], int], key: str) -> str:
    return formatted(lambda: pool.apply(function, (key,)))


@pytest.mark.parametrize("kind", ["concurrent.futures", "multiprocessing"])
def test_a_worker_process_failure_is_titled_by_the_workers_function(kind: str) -> None:
    """The title of a failure a pool re-raises names the worker's function that raised it
    (`test_grouping_shapes._worker_lookup`), not the parent's call that waited for the result: every
    worker bug of one pool call named one culprit. A worker's exception the parent wraps in another
    keeps the parent's site."""
    if kind == "concurrent.futures":
        with concurrent.futures.ProcessPoolExecutor(1) as pool:
            first, other = _in_pool(pool, _worker_lookup, "k1"), _in_pool(pool, _worker_index, "k1")
    else:
        with multiprocessing.get_context("spawn").Pool(1) as mp_pool:
            first = _in_mp_pool(mp_pool, _worker_lookup, "k1")
            other = _in_mp_pool(mp_pool, _worker_index, "k1")
    assert _key(first).name == "KeyError: '<STR>' (test_grouping_shapes._worker_lookup)"
    assert _key(other).name == "KeyError: '<STR>' (test_grouping_shapes._worker_index)"
    wrapped = first.rstrip("\n").rsplit("\n", 1)[0] + "\nLookupFailed: k1\n"  # the parent's own exception
    assert _key(wrapped).name == "LookupFailed: <ID> (test_grouping_shapes)"


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


def test_a_traceback_quoted_in_itself_or_cut_after_its_header_still_gets_a_key() -> None:
    """Reading the traceback a message quotes ends: a text cut right after a header, a quote of such a
    text and quotes nested in quotes each get a key."""
    header = "Traceback (most recent call last):\\"  # cut inside an escape after the header
    quoted = f'RemoteTraceback: \n"""\n{header}\n"""\n'
    nested = f'RemoteTraceback: \n"""\n{header}\n  File "/w.py", line 1, in f\n    g()\n{quoted}"""\n'
    deep = "".join(
        f'E{level}: \n"""\nTraceback (most recent call last):\n  File "/w.py", line 1, in f\n'
        for level in range(2000)
    )
    for text in (header, header + "\n", quoted, nested, nested + "\n" + header, deep + "E: x\n"):
        assert _key(text).key


def test_quoted_link_sentences_are_told_apart_in_bounded_time() -> None:
    """Link sentences inside and outside quotes, by the ten thousand, are told apart in well under a
    second (each sentence is looked up among the quotes, not compared with each)."""
    link = "The above exception was the direct cause of the following exception:\n"
    text = "E: \n" + ('"""\n' + link + '"""\n' + link) * 20_000 + "ValueError: x\n"
    started = time.perf_counter()
    assert len(parse_traceback(text).chain) == 20_001
    assert time.perf_counter() - started < 3  # about 0.15 s; each against each took minutes


# Tracebacks as IPython and Jupyter print them (IPython 8.12 on Python 3.11, `InteractiveShell.run_cell`;
# colours as its default scheme writes them), and as IPython 7 printed them.

_IPY_RULE = "-" * 75 + "\n"
_IPY_LOAD = (
    _IPY_RULE + "KeyError                                  Traceback (most recent call last)\n"
    "Cell In[{run}], line {line}\n"
    "      1 x = 1\n"
    "----> {line} load(d, '{key}')\n\n"
    "Cell In[2], line 2, in load(d, k)\n"
    "      1 def load(d, k):\n"
    "----> 2     return d[k]\n\n"
    "KeyError: '{key}'\n"
)
_IPY_OTHER = _IPY_LOAD.replace("load", "other")
_IPY_CHAINED = (
    _IPY_RULE + "KeyError                                  Traceback (most recent call last)\n"
    "File /home/{user}/shop/work.py:8, in chained(n)\n"
    "      7 try:\n"
    '----> 8     return {{"a": 1}}[n]\n'
    "      9 except KeyError as e:\n\n"
    "KeyError: '{key}'\n\n"
    "The above exception was the direct cause of the following exception:\n\n"
    "ValueError                                Traceback (most recent call last)\n"
    "Cell In[{run}], line 1\n"
    "----> 1 w.chained('{key}')\n\n"
    "File /home/{user}/shop/work.py:10, in chained(n)\n"
    '      8     return {{"a": 1}}[n]\n'
    "      9 except KeyError as e:\n"
    '---> 10     raise ValueError(f"bad key {{n}}") from e\n\n'
    "ValueError: bad key {key}\n"
)
_IPY_COLOURED = (
    "\x1b[0;31m" + _IPY_RULE[:-1] + "\x1b[0m\n"
    "\x1b[0;31mKeyError\x1b[0m                                  Traceback (most recent call last)\n"
    "Cell \x1b[0;32mIn[1], line 1\x1b[0m\n"
    "\x1b[0;32m----> 1\x1b[0m \x1b[43mw\x1b[49m\x1b[38;5;241;43m.\x1b[39;49m\x1b[43mcompute\x1b[49m"
    "\x1b[43m(\x1b[49m\x1b[38;5;124;43m'\x1b[39;49m\x1b[38;5;124;43mzz\x1b[39;49m\x1b[38;5;124;43m'"
    "\x1b[39;49m\x1b[43m)\x1b[49m\n"
    "\n"
    "File \x1b[0;32m/tmp/pkg/shop/work.py:5\x1b[0m, in \x1b[0;36mcompute\x1b[0;34m(n)\x1b[0m\n"
    "\x1b[1;32m      4\x1b[0m \x1b[38;5;28;01mdef\x1b[39;00m\x1b[38;5;250m \x1b[39m\x1b[38;5;21mcompute"
    "\x1b[39m(n):\n"
    '\x1b[0;32m----> 5\x1b[0m     \x1b[38;5;28;01mreturn\x1b[39;00m \x1b[43m{\x1b[49m\x1b[38;5;124;43m"'
    '\x1b[39;49m\x1b[38;5;124;43ma\x1b[39;49m\x1b[38;5;124;43m"\x1b[39;49m\x1b[43m:\x1b[49m\x1b[43m '
    "\x1b[49m\x1b[38;5;241;43m1\x1b[39;49m\x1b[43m}\x1b[49m\x1b[43m[\x1b[49m\x1b[43mn\x1b[49m\x1b[43m]"
    "\x1b[49m\n"
    "\n"
    "\x1b[0;31mKeyError\x1b[0m: 'zz'\n"
)

_IPY7_LOAD = (
    _IPY_RULE + "KeyError                                  Traceback (most recent call last)\n"
    "<ipython-input-{run}-2f6f5d3c9a4e> in <module>\n"
    "      1 x = 1\n"
    "----> 2 load(d, '{key}')\n\n"
    "<ipython-input-2-0a5b7c1d2e3f> in load(d, k)\n"
    "      1 def load(d, k):\n"
    "----> 2     return d[k]\n\n"
    "KeyError: '{key}'\n"
)


def test_an_ipython_traceback_is_read_as_the_traceback_it_shows() -> None:
    """A traceback as IPython or Jupyter prints it (cells `Cell In[N]`, frames `File path:N, in f(...)`,
    `---->` marking the line, colours) is read frame by frame: one statement failing in cells run at
    other counts is one group, other statements are other groups (not all one group per header line)."""
    first = _IPY_LOAD.format(run=3, line=2, key="u1")
    parsed = parse_traceback(first).final
    assert (parsed.type, parsed.message) == ("KeyError", "'u1'")
    assert [(frame.function, frame.source) for frame in parsed.frames] == [
        ("<module>", "load(d, 'u1')"),
        ("load", "return d[k]"),
    ]
    load = _key(first)
    assert load.name.startswith("KeyError")
    assert _key(_IPY_LOAD.format(run=17, line=5, key="user-9812")).key == load.key
    chained = _key(_IPY_CHAINED.format(run=4, user="ann", key="q1"))
    assert _key(_IPY_CHAINED.format(run=12, user="bob", key="zz7")).key == chained.key
    assert len(parse_traceback(_IPY_CHAINED.format(run=4, user="ann", key="q1")).chain) == 2
    coloured = _key(_IPY_COLOURED)
    assert parse_traceback(_IPY_COLOURED).final.frames[-1].filename == "/tmp/pkg/shop/work.py"
    other = _key(_IPY_OTHER.format(run=3, line=2, key="u1"))
    assert len({load.key, chained.key, coloured.key, other.key}) == 4
    ipython7 = _key(_IPY7_LOAD.format(run=3, key="u1"))
    assert _key(_IPY7_LOAD.format(run=41, key="u8")).key == ipython7.key
    assert parse_traceback(_IPY7_LOAD.format(run=3, key="u1")).final.frames[-1].source == "return d[k]"


def test_a_long_line_in_an_ipython_traceback_is_read_in_bounded_time() -> None:
    """A frame-like line of 150,000 characters in an IPython traceback (colons, numbers and parentheses
    by the thousand) is read in well under a second, not by trying each colon against the whole line."""
    for line in ("File " + "a:1" * 50_000 + " (", "File " + "a:1 b(" * 25_000, "/" + "a.py in " * 20_000):
        text = (
            _IPY_RULE + "KeyError          Traceback (most recent call last)\n" + line + "\nKeyError: 'x'\n"
        )
        started = time.perf_counter()
        assert _key(text).key
        assert time.perf_counter() - started < 3  # a few ms; a backtracking read took minutes


# Tracebacks as other tools pass them on.


def _load(data: dict[str, int], key: str) -> int:
    return data[key]


def _other(data: dict[str, int], key: str) -> int:
    return data[key]


def _indented(text: str, prefix: str) -> str:
    return "".join(prefix + line for line in text.splitlines(keepends=True))


def test_a_traceback_indented_as_a_whole_is_read_as_printed() -> None:
    """A traceback whose every line carries one indent (a formatter that indents the exception text, a
    quote in Markdown) gets the key of the traceback as `traceback` printed it."""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    sibling = _key(formatted(lambda: _other({}, "u1")))
    for prefix in ("\t", "    ", "  "):
        indented = _indented(first, prefix)
        assert parse_traceback(indented).final.type == "KeyError"
        assert _key(indented) == _key(first) == _key(_indented(again, prefix))
        assert _key(_indented(formatted(lambda: _other({}, "u1")), prefix)) == sibling != _key(first)


def test_a_traceback_whose_line_ends_were_escaped_is_read_as_printed() -> None:
    """A traceback encoded once more as a JSON string (its line ends written `\\n`, its quotes `\\"`),
    as a pipeline that serialises a JSON log line twice passes it on, gets the key of the traceback."""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    escaped = json.dumps(first)[1:-1]
    assert "\n" not in escaped
    assert parse_traceback(escaped).final.type == "KeyError"
    assert _key(escaped) == _key(first) == _key(json.dumps(again)[1:-1])
    assert _key(json.dumps(formatted(lambda: _other({}, "u1")))[1:-1]) != _key(first)
    newlines_only = first.replace("\n", "\\n")  # only the line ends escaped (a repr, a sed)
    assert _key(newlines_only) == _key(first)


def _syslog_escaped(text: str) -> str:
    """`text` as rsyslog writes a message received with control characters (its default
    `$EscapeControlCharactersOnReceive on`): each as `#` and its three octal digits. (rsyslog cannot run
    here: this function applies the escape its documentation gives.)"""
    return "".join(f"#{ord(character):03o}" if ord(character) < 32 else character for character in text)


def test_a_traceback_as_rsyslog_escapes_it_is_read_as_printed(tmp_path: Path) -> None:
    """A traceback a service logged through syslog, as rsyslog writes it (one line after the record's
    text: line ends `#012`, tabs `#011`), gets the key of the traceback, as an event's message and in a
    text log of such lines (`logloop cluster --text`: each line one event), its sibling apart. (Each was
    a message line mined: bugs of one logging call merged, a bug split by its frames' values.)"""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    sibling = formatted(lambda: _other({}, "u1"))

    def logged(text: str) -> str:
        return _syslog_escaped("charge failed\n" + text.rstrip("\n").replace("    ", "\t"))

    escaped = logged(first)
    assert "\n" not in escaped and "#012" in escaped and "#011" in escaped
    assert parse_traceback(escaped).final.type == "KeyError"
    assert _key(escaped) == _key(first) == _key(logged(again)) != _key(logged(sibling))
    assert message_only.traceback_in_message({"message": escaped}) == escaped
    log = tmp_path / "syslog"
    lines = [
        f"Dec  6 10:00:0{n} vm shop.py[2231]: {logged(text)}\n"
        for n, text in enumerate((first, again, sibling))
    ]
    log.write_text("".join(lines), encoding="utf-8")
    assert main(["cluster", "--text", str(log), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["traceback"] * 3, rows
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"], rows
    assert rows[0]["title"].startswith("KeyError"), rows


def _in_pseudo_file(name: str, function: str, key: str) -> str:
    source = f"def {function}(data, key):\n    return data[key]\n"
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # as the REPL registers it
    try:
        namespace: dict[str, Callable[[dict[str, int], str], int]] = {}
        exec(compile(source, name, "exec"), namespace)
        return formatted(lambda: namespace[function]({}, key))
    finally:
        linecache.cache.pop(name, None)


def test_a_pseudo_file_named_with_a_run_counter_is_one_file_whatever_the_count() -> None:
    """Code from an interactive session is in a pseudo-file named with the count of its input (Python
    3.13's REPL `<python-input-3>`, IPython's `<ipython-input-3-5e1c1f1c4b1a>`): one statement failing
    in inputs of other counts is one group, another statement another."""
    for name in ("<python-input-{n}>", "<ipython-input-{n}-2f6f5d3c9a4e>"):
        first = _key(_in_pseudo_file(name.format(n=3), "load", "u1"))
        assert _key(_in_pseudo_file(name.format(n=41), "load", "user-9")) == first
        assert _key(_in_pseudo_file(name.format(n=3), "other", "u1")).key != first.key


def test_text_before_the_header_does_not_decide_the_key() -> None:
    """A traceback after other text (the line `logging.exception` prints with the default format,
    `ERROR:root:charge failed`; a message on the header's line), an ExceptionGroup's box too, is keyed as
    the traceback alone: that text neither merges every traceback it precedes nor splits one bug from
    its bare trace."""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    sibling = _key(formatted(lambda: _other({}, "u1")))
    preambles = ("ERROR:root:charge failed\n", "Error\n", "ERROR: charge failed: ", "boom: ", "x\n\n")
    group, other_group = formatted(lambda: _group(_load, _other)), formatted(lambda: _group(_load, _load))
    for preamble in preambles:
        assert parse_traceback(preamble + first).final.type == "KeyError", preamble
        assert _key(preamble + first) == _key(first) == _key(preamble + again)
        assert _key(preamble + formatted(lambda: _other({}, "u1"))) == sibling != _key(first)
        assert _key(preamble + group) == _key(group) != _key(preamble + other_group)
        assert _key(preamble + other_group) == _key(other_group)


@pytest.mark.parametrize(
    "preamble",
    [
        pytest.param("2026-12-05 22:11:01+0000 [-] Unhandled Error\n", id="twisted-log"),
        pytest.param("ERROR job failed\n", id="message-line"),
        pytest.param("a\nb: job failed\n", id="two-lines"),
    ],
)
@pytest.mark.parametrize("indent", ["\t", "    ", "  "], ids=["tab", "four-spaces", "two-spaces"])
def test_an_indented_traceback_after_a_message_is_read_as_printed(preamble: str, indent: str) -> None:
    """A traceback whose every line carries one indent after an unindented message line (twisted's log
    writes a failure so, tab-indented under `Unhandled Error`; formatters that indent the exception text
    under the record's line) gets the key and type of the traceback as `traceback` printed it."""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    sibling = _key(formatted(lambda: _other({}, "u1")))
    text = preamble + _indented(first, indent)
    assert parse_traceback(text).final.type == "KeyError"
    assert _key(text) == _key(first) == _key(preamble + _indented(again, indent))
    assert _key(preamble + _indented(formatted(lambda: _other({}, "u1")), indent)) == sibling != _key(first)


def _group(*functions: Callable[[dict[str, int], str], int]) -> None:
    errors = []
    for function in functions:
        try:
            function({}, "k1")
        except KeyError as exc:
            errors.append(exc)
    raise ExceptionGroup("2 lookups failed", errors)


def _prefixed(text: str, prefix: Callable[[int, int], str], run: int) -> str:
    """`text` with `prefix(run, n)` before its line n."""
    return "".join(prefix(run, number) + line for number, line in enumerate(text.splitlines(keepends=True)))


def test_a_prefix_on_every_line_of_a_traceback_does_not_decide_the_key() -> None:
    """A traceback whose every line carries the prefix a log collector writes (a container runtime's
    time and stream, journald's time, host and pid) is keyed as the traceback: times and pids that
    differ do not split it, nor does the prefix make every traceback one group."""
    first, again = formatted(lambda: _load({}, "u1")), formatted(lambda: _load({}, "user-77"))
    sibling = formatted(lambda: _other({}, "u1"))
    prefixes: list[Callable[[int, int], str]] = [
        lambda run, n: f"2024-05-0{run}T10:00:{n:02d}.{123456 + n * 7919}Z stderr F ",
        lambda run, n: f"Dec 0{run} 10:00:{n:02d} web-1 app[{812 * run}]: ",
    ]
    for prefix in prefixes:
        prefixed = _prefixed(first, prefix, 1)
        assert parse_traceback(prefixed).final.type == "KeyError"
        assert _key(prefixed) == _key(first) == _key(_prefixed(again, prefix, 2))
        assert _key(_prefixed(sibling, prefix, 3)) == _key(sibling) != _key(first)


def _parse_filter(text: str) -> object:
    return ast.literal_eval(text)


def _calculate(expression: str) -> object:
    return eval(expression, {})  # the point: text compiled at run time


def test_a_syntax_error_in_text_compiled_at_run_time_is_keyed_by_the_statement_that_compiled_it() -> None:
    """A SyntaxError in text the program compiles at run time (`ast.literal_eval`, `eval`, `compile` of
    input: its location is a pseudo-file, `<unknown>`, `<string>`, with the input as its line) is keyed
    by the statement that compiled it: other inputs are the same bug, another compiling statement another."""
    first = formatted(lambda: _parse_filter("{1: 2"))
    assert '  File "<unknown>", line 1\n    {1: 2\n' in first
    inputs = ("[1, 2 3]", "x y", "'open")
    assert {_key(formatted(lambda text=text: _parse_filter(text))).key for text in inputs} == {
        _key(first).key
    }
    assert _key(first).name.endswith("(test_grouping_shapes._parse_filter)")
    calculated = {
        _key(formatted(lambda text=text: _calculate(text))).key for text in ("1 +", "foo(", "2 * * 3")
    }
    assert len(calculated) == 1 and calculated != {_key(first).key}
    module = formatted(lambda: compile("x = 1\nif x = 2:\n    pass\n", "/srv/app/conf.py", "exec"))
    other_line = formatted(lambda: compile("x = 1\ndef f(:\n    pass\n", "/srv/app/conf.py", "exec"))
    # a module's file (a path) is keyed as the file: the line the parser points at varies with the version
    assert _key(module).key == _key(other_line).key


def test_logloop_cluster_keys_every_shape_by_its_traceback(tmp_path: Path) -> None:
    """`logloop cluster` (and with it `regroup`, through `message_only`) takes a traceback whose frame
    lines show only once it is read as printed (IPython's, one encoded as a JSON string) for a traceback,
    not for a message: it gets the traceback's key, not the template miner's one group for them all."""
    first = formatted(lambda: _load({}, "u1"))
    texts = [
        _IPY_LOAD.format(run=3, line=2, key="u1"),
        _IPY_LOAD.format(run=9, line=4, key="u2"),
        _IPY_OTHER.format(run=3, line=2, key="u1"),
        _IPY_COLOURED,
        json.dumps(first)[1:-1],
        json.dumps(formatted(lambda: _other({}, "u1")))[1:-1],
    ]
    documents = [{"log": {"level": "error"}, "error": {"stack_trace": text}} for text in texts]
    assert all(message_only.has_key_of_its_own(document) for document in documents)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [row["category"] for row in rows] == ["traceback"] * len(texts)
    assert [row["cluster"] for row in rows] == [_key(text).key for text in texts]
    assert len({row["cluster"] for row in rows}) == 5  # the two runs of one cell are one group


# Comprehensions as Python 3.12+ prints them (see `helpers.inlined`).


def _orders_key(text: str, logger: str = "") -> Fingerprint:
    """`_key`, for an event logged by `logger` (the program's package: `logger`'s first part)."""
    if not logger:
        return _key(text)
    package = logger.partition(".")[0]
    clear_caches()
    general = fingerprint_traceback(parse_traceback(with_package_frames(text, package)))
    fast = fingerprint_plain(text, package)
    assert fast is None or fast == general, text
    clear_caches()
    event = fingerprint_event({"log": {"logger": logger}, "error": {"stack_trace": text}})
    assert event == general
    return event


COMPREHENSION_FAILURES = [
    pytest.param('parse_rows(["1", "x7"])', {}, "", id="list-comprehension"),
    pytest.param('index_rows(["1", "x7"])', {}, "", id="dict-comprehension-over-lines"),
    pytest.param('unique_rows(["1", "x7"])', {}, "", id="set-comprehension"),
    pytest.param('parse_table([["1"], ["2", "x7"]])', {}, "", id="nested-comprehensions"),
    pytest.param("", {"ROWS": ["1", "x7"]}, "", id="at-module-level"),
    pytest.param('decode_rows(["{}", "{x7"])', {}, "", id="standard-library-raise"),
    pytest.param('convert_rows(["1", "x7"])', {}, "shop.orders", id="library-raise"),
    pytest.param('load_or_fail(["1", "x7"])', {}, "", id="chain"),
    pytest.param('parse_batches([["x7"], ["1", "y8"]])', {}, "", id="exception-group"),
]


@pytest.mark.parametrize(("call", "names", "logger"), COMPREHENSION_FAILURES)
def test_a_comprehension_is_keyed_alike_as_python_311_and_312_print_it(
    call: str, names: dict[str, object], logger: str
) -> None:
    """A failure in a list, dict or set comprehension (nested, at module level, calling into the standard
    library or a library, in a chain or an ExceptionGroup) has one key and title whether Python <= 3.11
    printed it (a `<listcomp>` frame under its function's) or 3.12+ (no such frame: PEP 709)."""
    text = in_orders(call, **names)
    inlined = as_python_312(text)
    assert any(f"in {name}\n" in text for name in INLINED_BY_312)
    assert not any(name in inlined for name in INLINED_BY_312)
    assert _orders_key(inlined, logger) == _orders_key(text, logger)


def test_the_same_comprehension_in_two_functions_is_two_groups() -> None:
    """The same failure of the same comprehension text in two functions is two groups as Python 3.11
    prints it (both frames `<listcomp>`) and as 3.12+ does: a comprehension is keyed by its function."""
    for render in (str, as_python_312):
        first = _key(render(in_orders('parse_rows(["1", "x7"])')))
        assert _key(render(in_orders('parse_rows(["y8"])'))) == first
        assert _key(render(in_orders('parse_counts(["1", "x7"])'))).key != first.key


def test_a_recursion_through_a_comprehension_is_keyed_alike_as_python_311_and_312_print_it() -> None:
    """A RecursionError through a list comprehension is one group at any recursion limit, whether Python
    3.11 printed it (function and `<listcomp>` frames alternating) or 3.12+ (the function's frame
    repeated, with a "[Previous line repeated N more times]" line)."""
    texts = [recursion_in_orders(limit) for limit in (150, 400)]
    assert all("in <listcomp>\n" in text for text in texts)
    inlined = [as_python_312(text) for text in texts]
    assert all("more times]\n" in text and "<listcomp>" not in text for text in inlined)
    assert len({_key(text) for text in texts + inlined}) == 1


def test_a_generator_expression_keeps_its_frame() -> None:
    """A generator expression, which Python 3.12 does not inline (it prints its `<genexpr>` frame), is
    keyed by its own frame: not as a comprehension inlined into its function would be."""
    text = in_orders('sum_rows(["1", "x7"])')
    assert "in <genexpr>\n" in text and as_python_312(text) == text
    as_if_inlined = as_python_312(text.replace("in <genexpr>\n", "in <listcomp>\n"))
    assert _key(as_if_inlined).key != _key(text).key


def test_the_caller_rule_takes_a_comprehensions_caller_as_python_312_prints_it() -> None:
    """A `group_by = "caller"` rule keys a raise called from a comprehension by the comprehension's
    function and line, as Python 3.12+ prints its caller, whichever version printed the traceback."""
    by_caller = options_from_table({"rules": [{"type": "RuntimeError", "group_by": "caller"}]})
    text = in_orders('check_rows(["1"])')
    keys = {
        fingerprint_event({"error": {"stack_trace": shown}}, by_caller)
        for shown in (text, as_python_312(text))
    }
    assert len(keys) == 1 and None not in keys
    assert keys != {fingerprint_event({"error": {"stack_trace": text}})}  # the rule applies


# Frames of one file, and of another, as Python 3.11 prints them: a comprehension's only right under a
# frame of its file (the code it runs in, or the comprehension it is nested in).
_TREE_FRAMES = [
    ("tree", '  File "/srv/app/tree.py", line 21, in size\n    return 1 + max([size(c) for c in node])\n'),
    ("tree", '  File "/srv/app/tree.py", line 30, in walk\n    return walk(node.parent)\n'),
    ("tree", '  File "/srv/app/tree.py", line 31, in <genexpr>\n    return all(walk(c) for c in node)\n'),
    ("other", '  File "/srv/app/other.py", line 8, in load\n    return {k: walk(v) for k, v in rows}\n'),
]
_TREE_COMPREHENSIONS = {
    "tree": [
        '  File "/srv/app/tree.py", line 21, in <listcomp>\n    return 1 + max([size(c) for c in node])\n',
        '  File "/srv/app/tree.py", line 22, in <setcomp>\n    {size(c) for c in row}\n',
    ],
    "other": ['  File "/srv/app/other.py", line 9, in <dictcomp>\n    v: walk(v) for v in rows\n'],
}


@pytest.mark.parametrize("seed", range(200))
def test_random_recursions_through_comprehensions_are_keyed_alike_as_python_311_and_312_print_them(
    seed: int,
) -> None:
    """Random call sequences of a few functions and the comprehensions in them (nested, under frames a
    recursion marker repeats), ending in a RecursionError or another error, have one key as Python 3.11
    prints them and as 3.12+ does (`as_python_312`)."""
    rng = random.Random(seed)
    lines, file = [], ""
    for _ in range(rng.randrange(1, 40)):
        if file and rng.random() < 0.4:
            lines.append(rng.choice(_TREE_COMPREHENSIONS[file]))  # a comprehension run by the frame above
            continue
        file, frame = rng.choice(_TREE_FRAMES)
        lines.append(frame)
        if rng.random() < 0.15:
            lines.append(f"  [Previous line repeated {rng.randrange(1, 60)} more times]\n")
    text = "Traceback (most recent call last):\n" + "".join(lines)
    text += rng.choice(("RecursionError: maximum recursion depth exceeded\n", "ValueError: bad 7\n"))
    assert _key(as_python_312(text)) == _key(text), text


_COLOURS = ("\x1b[31m", "\x1b[1;33m", "\x1b[0m", "\x1b[38;5;196m", "\x1b[2K")


def _coloured(text: str, rng: random.Random) -> str:
    """`text` with terminal colour sequences around some of its words, as a coloured console prints it."""
    words = text.split(" ")
    return " ".join(f"{rng.choice(_COLOURS)}{word}\x1b[0m" if rng.random() < 0.5 else word for word in words)


@pytest.mark.parametrize("seed", range(20))
def test_a_coloured_copy_of_an_error_line_is_the_line(seed: int, tmp_path: Path) -> None:
    """Terminal colours around the words of an error message (an exception without frames, a line of
    another shipper the miner groups) change neither its key nor its title; other messages stay apart."""
    rng = random.Random(seed)
    plain = (
        [
            {"error": {"type": "ConnectionError", "message": f"upstream {host} refused the connection"}}
            for host in ("billing", "search", "auth")
        ]
        + [
            {"message": f"queue {name} is full, dropping message {n}", "log": {"level": "error"}}
            for n, name in enumerate(("jobs", "mail", "mail"))
        ]
        + [{"error": {"type": "ConnectionError", "message": "disk quota exceeded on /srv"}}]
    )
    coloured = json.loads(json.dumps(plain))
    for doc in coloured:
        if "error" in doc:
            doc["error"]["message"] = _coloured(doc["error"]["message"], rng)
        else:
            doc["message"] = _coloured(doc["message"], rng)
    for pair in zip(plain, coloured, strict=True):
        keys = [fingerprint_event(doc) for doc in pair]
        assert keys[0] is not None and keys[1] is not None
        assert (keys[0].key, keys[0].name) == (keys[1].key, keys[1].name) and "\x1b" not in keys[1].name
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in plain + coloured), encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    half = len(plain)
    assert [(r["cluster"], r["title"]) for r in rows[:half]] == [
        (r["cluster"], r["title"]) for r in rows[half:]
    ]
    assert rows[half - 1]["cluster"] not in {r["cluster"] for r in rows[: half - 1]}  # another statement


# loguru's traceback (`logger.exception`, `backtrace=True, diagnose=True`): a blank line after the header
# and after each frame, the frame that caught the exception marked "> File", the values of the names
# of each source line drawn under it.


def _loguru(text: str, caught: str, *, ascii_marks: bool = False) -> str:
    """`text` (a traceback as `traceback` prints it) as loguru prints it, the frame of function `caught`
    marked as the one that caught the exception; `ascii_marks`: its marks when the stream is not UTF-8."""
    stem, tick = ("|", "->") if ascii_marks else ("│", "└")
    out = []
    for line in text.splitlines():
        if line.startswith("Traceback"):
            out += [line, ""]
        elif line.startswith('  File "'):
            if out[-1].startswith("    "):
                out.append("")  # the blank line after the frame before
            out.append(("> " + line[2:]) if line.endswith(f", in {caught}") else line)
        elif line.startswith("    ") and not line.strip().strip("^~"):
            continue  # loguru draws values, not carets
        elif line.startswith("    "):
            column = len(line) - len(line.lstrip())
            out += [
                line,
                " " * column + f"{stem}   {tick} 'u-{len(out)}'",
                " " * column + f"{tick} <object at 0x7f3a>",
            ]
        else:
            if out[-1].startswith(" "):
                out.append("")
            out.append(line)
    return "\n".join(out) + "\n"


def _catching(function: Callable[[dict[str, int], str], int], key: str) -> str:
    try:
        return str(function({}, key))
    except KeyError:
        raise


@pytest.mark.parametrize("ascii_marks", [False, True])
@pytest.mark.parametrize(
    "preamble", ["", "failed to charge\n", "2024-05-01 10:00:01.123 | ERROR    | app:run:12 - failed\n"]
)
def test_a_loguru_traceback_is_keyed_as_the_traceback_it_shows(preamble: str, ascii_marks: bool) -> None:
    """A traceback as loguru prints it (blank lines between frames, the catching frame marked `> File`,
    values drawn under the source, after its log line) gets the key of the traceback: also where the
    marked frame is the one that raised, which was read as no frame (another statement keyed)."""
    for caught in ("_catching", "_load"):
        for function, key in ((_load, "u1"), (_load, "user-77"), (_other, "u1")):
            text = formatted(lambda function=function, key=key: _catching(function, key))
            shown = preamble + _loguru(text, caught, ascii_marks=ascii_marks)
            assert ("> File" in shown) == (caught == "_catching" or function is _load)
            assert parse_traceback(shown).final.frames[-1].function == function.__name__
            assert _key(shown) == _key(text), shown


def test_a_real_loguru_traceback_is_keyed_as_the_traceback_it_shows() -> None:
    """loguru's own output (where it is installed) of a failure caught where it was raised gets the key
    the traceback has; another statement another."""
    loguru = pytest.importorskip("loguru")
    lines: list[str] = []
    sink = loguru.logger.add(lines.append, format="{message}", backtrace=True, diagnose=True, colorize=False)
    try:
        for function, key in ((_load, "u1"), (_load, "user-77"), (_other, "u1")):
            try:
                function({}, key)
            except KeyError:
                loguru.logger.exception("failed")
    finally:
        loguru.logger.remove(sink)
    keys = [_key(line) for line in lines]
    assert keys[0] == keys[1] != keys[2] and keys[0].name.endswith("(test_grouping_shapes._load)")


# Indentation written with tabs (a pipeline or an editor that turns runs of spaces into tabs).


@pytest.mark.parametrize(
    "retab",
    [
        pytest.param(lambda text: text.replace("    ", "\t"), id="four-spaces-a-tab"),
        pytest.param(lambda text: text.replace("  ", "\t"), id="two-spaces-a-tab"),
        pytest.param(lambda text: text.replace("\n    ", "\n\t"), id="source-lines-a-tab"),
    ],
)
def test_a_traceback_indented_with_tabs_is_keyed_as_printed(retab: Callable[[str], str]) -> None:
    """A traceback whose indents are tabs instead of spaces keeps its source lines and exception line:
    the key and title of the traceback, not a typeless group keyed by the frame alone."""
    first = formatted(lambda: _load({}, "u1"))
    assert "\t" in retab(first)
    assert parse_traceback(retab(first)).final.type == "KeyError"
    assert _key(retab(first)) == _key(first) == _key(retab(formatted(lambda: _load({}, "user-77")))), retab(
        first
    )
    assert _key(retab(formatted(lambda: _other({}, "u1")))) == _key(formatted(lambda: _other({}, "u1")))
    assert _key(retab(formatted(lambda: _other({}, "u1")))) != _key(first)


# PyPy: its standard library is under lib/pypy3.X (lib-python/3 and lib_pypy in its source layout).


def _parse_config(text: str) -> object:
    return json.loads(text)


def _parse_reply(text: str) -> object:
    return json.loads(text)


@pytest.mark.parametrize(
    "prefix",
    [
        "/opt/pypy3.10-v7.3.15-linux64/lib/pypy3.10",
        "/usr/lib/pypy3/lib-python/3",
        "C:\\pypy3.10\\lib\\pypy3.10",
    ],
)
def test_a_standard_library_raise_under_pypy_is_keyed_by_the_programs_call(prefix: str) -> None:
    """A raise in PyPy's standard library (its paths, no carets) is keyed like CPython's: by the
    program's statement that called into it, so two callers of `json.loads` are two groups and a fleet
    running both interpreters one group per bug (not keyed by PyPy's json line)."""
    stdlib = json.__file__.rsplit("/json/", 1)[0]

    def as_pypy(text: str) -> str:
        lines = [line for line in text.replace(stdlib, prefix).splitlines(True) if line.strip().strip("^~")]
        return "".join(lines).replace("/json/", "\\json\\") if "\\" in prefix else "".join(lines)

    config = formatted(lambda: _parse_config("{x"))
    reply = formatted(lambda: _parse_reply("{x"))
    assert prefix in as_pypy(config)
    assert (
        _key(as_pypy(config)).key
        == _key(config).key
        == _key(as_pypy(formatted(lambda: _parse_config("[1,")))).key
    )
    assert _key(as_pypy(reply)).key == _key(reply).key != _key(config).key
    assert _key(as_pypy(config)).name.endswith("(test_grouping_shapes._parse_config)")


# Tracebacks cut by a log collector's size limit: the text ends inside a frame, without a line end.


def _outer_step(data: dict[str, int], key: str) -> int:
    return _inner_step(data, key)


def _inner_step(data: dict[str, int], key: str) -> int:
    return _load(data, key)


def _cuts_inside(text: str, function: str) -> list[str]:
    """`text` cut at every character from inside the "File" line of `function`'s frame (after its
    `File "`) to the end of that frame's lines (the next frame's "File" line, or the exception line),
    but right after a line end (that text is a whole frame: `traceback.format_tb` prints frames so)."""
    start = text.index(f", in {function}\n")
    line = text.rindex('  File "', 0, start) + len('  File "')
    following = text.find('\n  File "', start)
    end = following if following >= 0 else text.index("\nKeyError")
    return [text[:cut] for cut in range(line + 1, end) if text[cut - 1] != "\n"]


def test_a_traceback_cut_inside_a_frame_is_keyed_by_the_frames_before_the_cut() -> None:
    """A traceback cut inside a frame (its file name, line number, function name, source or caret line,
    as a collector's byte or line limit cuts it, without the line end) is keyed by the frames before that
    one: every cut inside one
    frame, on any host, is one group (not one group per cut position, keyed by half a source line or a
    function read as none); cuts inside another frame are another group."""
    first = formatted(lambda: _outer_step({}, "u1"))
    moved = formatted(lambda: _outer_step({}, "user-9912")).replace(
        str(Path(__file__).parent), "/home/someone/checkout/tests"
    )
    inner = {_key(text).key for text in _cuts_inside(first, "_load") + _cuts_inside(moved, "_load")}
    middle = {
        _key(text).key for text in _cuts_inside(first, "_inner_step") + _cuts_inside(moved, "_inner_step")
    }
    assert len(inner) == 1 and len(middle) == 1 and inner != middle
    assert inner != {_key(first).key}
    cut = _cuts_inside(first, "_load")[-5]
    assert parse_traceback(cut).final.frames[-1].function == "_inner_step"
    frames_only = first[: first.index("KeyError")]  # as traceback.format_tb prints: no cut
    assert parse_traceback(frames_only).final.frames[-1].function == "_load"


# Compiled (Cython) frames: `File "src/lxml/parser.pxi", line 690, in lxml.etree._raiseParseError`, the
# function named with its module, the file a `.pyx`/`.pxi` source or a `.so`.


def _parse_xml(text: bytes) -> object:
    etree = pytest.importorskip("lxml.etree")
    return etree.fromstring(text)


@pytest.mark.parametrize(
    ("frame", "culprit"),
    [
        pytest.param(
            '  File "shop/fast.pyx", line 41, in shop.fast.parse_row\n', "shop.fast.parse_row", id="pyx"
        ),
        pytest.param(
            '  File "src/lxml/parser.pxi", line 690, in lxml.etree._raise\n', "lxml.etree._raise", id="pxi"
        ),
        pytest.param(
            '  File "/v/site-packages/shop/fast.cpython-311-x86_64-linux-gnu.so", line 9, in run\n',
            "fast.run",
            id="so",
        ),
        pytest.param('  File "C:\\shop\\fast.cp311-win_amd64.pyd", line 9, in run\n', "fast.run", id="pyd"),
    ],
)
def test_a_compiled_frame_names_its_culprit_readably(frame: str, culprit: str) -> None:
    """A group raised in a compiled (Cython) frame is titled with the function as Cython names it
    (`shop.fast.parse_row`) or the module without its file's suffix (`fast.run`), not the file name
    glued to the qualified name (`fast.pyx.shop.fast.parse_row`); keys are unchanged."""
    text = 'Traceback (most recent call last):\n  File "/srv/shop/app.py", line 3, in main\n    run()\n'
    text += f"{frame}ValueError: bad row 7\n"
    assert _key(text).name == f"ValueError: bad row <NUM> ({culprit})"


def test_a_real_cython_failure_is_titled_by_its_function() -> None:
    """lxml's real parse failure (Cython frames, a SyntaxError location without function) is titled with
    the Cython function that raised it."""
    text = formatted(lambda: _parse_xml(b"<a><b></a>"))
    assert '.pxi", line' in text
    assert _key(text).name.endswith("(lxml.etree._raiseParseError)")


# A frozen application (PyInstaller, cx_Freeze): each module's file named relative to its archive's root,
# the standard library's too (`json/decoder.py`), and no source lines (only bytecode is bundled).


def _as_frozen(text: str) -> str:
    """A traceback as a frozen application prints it: paths relative to the bundle, no source lines."""
    stdlib = json.__file__.rsplit("/json/", 1)[0] + "/"
    relative = text.replace(stdlib, "").replace(str(Path(__file__).parent) + "/", "")
    relative = relative.replace(str(Path(__file__).parent.parent) + "/", "")
    return "".join(line for line in relative.splitlines(True) if not line.startswith("    "))


def test_a_standard_library_raise_in_a_frozen_application_is_keyed_by_the_programs_call() -> None:
    """In a frozen application's traceback (relative paths, `json/decoder.py`; no source lines), a raise
    in the standard library is keyed by the program's frame that called into it, so two program
    functions failing in `json.loads` are two groups (not one, keyed by json's own frame), and the same
    failure again is one."""
    config = _as_frozen(formatted(lambda: _parse_config("{x")))
    assert '  File "json/decoder.py", line' in config and "    " not in config
    key = _key(config)
    assert key.name.endswith("(test_grouping_shapes._parse_config)")
    assert _key(_as_frozen(formatted(lambda: _parse_config("{y")))).key == key.key
    assert _key(_as_frozen(formatted(lambda: _parse_reply("{x")))).key != key.key


# A group of one failure: asyncio's TaskGroup, anyio 4 and trio 0.25+ raise an ExceptionGroup even for
# one failed task, where `gather`, anyio 3 and older trio raised the failure itself.


async def _charge(qty: int) -> float:
    return 10 / qty


async def _ship(sku: str) -> None:
    raise KeyError(sku)


def _gathered(task: Callable[[Any], Any], value: object) -> None:
    async def main() -> None:
        await asyncio.gather(task(value))

    asyncio.run(main())


def _in_task_group(task: Callable[[Any], Any], value: object, copies: int = 1) -> None:
    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            for _ in range(copies):
                group.create_task(task(value))

    asyncio.run(main())


def _in_nested_groups(task: Callable[[Any], Any], value: object) -> None:
    async def inner() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(task(value))

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(inner())

    asyncio.run(main())


# A library that wraps whatever its task raised in a group, as trio's strict nurseries do (compiled
# under the path such a library is installed at; its frames print without source).
_NURSERY = compile(
    "def strict_nursery(task, value):\n"
    "    try:\n"
    "        asyncio.run(task(value))\n"
    "    except Exception as exc:\n"
    "        raise ExceptionGroup('Exceptions from Trio nursery', [exc]) from None\n",
    "/srv/venv/lib/python3.12/site-packages/trio/_core/_run.py",
    "exec",
)
_LIBRARY: dict[str, Any] = {"asyncio": asyncio}
exec(_NURSERY, _LIBRARY)


_GROUPS_OF_ONE = {
    "task group": lambda task, value: _in_task_group(task, value),
    "task group, the same failure twice": lambda task, value: _in_task_group(task, value, copies=2),
    # (Python shows fifteen members, then "and 5 more exceptions": a fleet's runs fail in more or fewer tasks)
    "task group, the same failure past the fifteen shown": lambda task, value: _in_task_group(
        task, value, copies=20
    ),
    "nested task groups": _in_nested_groups,
    "strict nursery": _LIBRARY["strict_nursery"],
}


@pytest.mark.parametrize("shape", _GROUPS_OF_ONE)
def test_a_group_of_one_failure_is_keyed_as_that_failure(shape: str) -> None:
    """An ExceptionGroup whose members are one failure (once or repeated, nested in groups of one) is
    keyed and titled as that failure raised alone (members past the fifteen shown counted as more of
    them): one group across the library versions that wrap a lone failure in a group and those that do
    not; another failure, or a group of two failures, apart."""
    wrap = _GROUPS_OF_ONE[shape]
    plain = checked_key(formatted(lambda: _gathered(_charge, 0)))
    grouped_text = formatted(lambda: wrap(_charge, 0))
    assert "Exception Group Traceback" in grouped_text
    grouped = checked_key(grouped_text)
    assert grouped.key == plain.key
    assert grouped.name == plain.name and grouped.name.startswith("ZeroDivisionError: division by zero")
    sibling = checked_key(formatted(lambda: wrap(_ship, "sku-4")))
    assert sibling.key == checked_key(formatted(lambda: _gathered(_ship, "sku-91"))).key != plain.key


def test_a_group_of_two_failures_or_of_a_member_never_raised_keeps_its_own_key() -> None:
    """A group of two different failures is a group of its own; a group the program raised of the failures
    it collected (one) stays a group, as does a group of one member built but never raised (keyed by
    the statement that raised the group: two such statements two groups)."""

    async def both() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(_charge(0))
            group.create_task(_ship("sku-4"))

    mixed = checked_key(formatted(lambda: asyncio.run(both())))
    alone = {
        checked_key(formatted(lambda task=task, value=value: _gathered(task, value))).key
        for task, value in [(_charge, 0), (_ship, "x")]
    }
    assert mixed.key not in alone

    def collect(values: list[str]) -> None:
        errors = []
        for value in values:
            try:
                int(value)
            except ValueError as exc:
                errors.append(exc)
        raise ExceptionGroup("lines failed", errors)

    alone = formatted(lambda: int("x"))
    assert checked_key(formatted(lambda: collect(["x"]))).key != checked_key(alone).key

    def reject_order() -> None:
        raise ExceptionGroup("rejected", [ValueError("bad line 3")])

    def reject_refund() -> None:
        raise ExceptionGroup("rejected", [ValueError("bad line 3")])

    assert checked_key(formatted(reject_order)).key != checked_key(formatted(reject_refund)).key


# A notebook's cell as ipykernel (Jupyter, papermill, VS Code) and xeus-python compile it: a file named
# by a hash of the cell's text under a directory named by the kernel's pid. An edit anywhere in the cell
# renames it.
_CELL = (
    "Traceback (most recent call last):\n"
    '  File "{path}", line {line}, in <module>\n'
    "    {statement}\n"
    "ZeroDivisionError: division by zero\n"
)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/tmp/ipykernel_{pid}/{hash}.py", id="ipykernel"),
        pytest.param(
            "C:\\Users\\ann\\AppData\\Local\\Temp\\ipykernel_{pid}\\{hash}.py", id="ipykernel-windows"
        ),
        pytest.param("/var/folders/x1/T/xpython_{pid}/{hash}.py", id="xeus-python"),
    ],
)
def test_a_notebook_cell_is_one_file_whatever_its_text_hashes_to(path: str) -> None:
    """The same statement failing in a notebook cell is one group whatever the cell's file is named (a hash
    of its text: another after any edit of the cell) and whichever kernel ran it; another statement is
    another group, and the title names the cell, not its hash."""
    runs = [(24567, 3016483423, 3), (812, 2749104418, 5), (9120, 118800217, 2)]
    texts = [
        _CELL.format(path=path.format(pid=pid, hash=digest), line=line, statement="total = price / qty")
        for pid, digest, line in runs
    ]
    keys = [_key(text) for text in texts]
    assert len({found.key for found in keys}) == 1
    assert "3016483423" not in keys[0].name and "cell" in keys[0].name
    other = _CELL.format(path=path.format(pid=1, hash=3016483423), line=3, statement="rate = price / qty")
    assert _key(other).key != keys[0].key


# IPython (its terminal, an embedded shell) compiles each cell as `<ipython-input-<count>-<hash of the
# cell's text>>`: a plain traceback (`traceback.print_exc()`, `logging.exception` in a cell's function)
# names that file; IPython's own report of an uncaught exception names the cell `<ipython-input>`.
_IPYTHON_SESSION = """
import os
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.colors = "nocolor"
shell.run_cell(os.environ["CELL"])
shell.run_cell("print_failure()")
print("=" * 40, flush=True)
shell.run_cell("fail()")
"""
_IPYTHON_CELL = """{edit}import traceback
def fail():
    {statement}

def print_failure():
    try:
        fail()
    except Exception:
        traceback.print_exc()
"""


def _ipython_reports(statement: str, edit: str = "") -> tuple[str, str]:
    """What a real IPython session prints when the function a cell defines runs `statement` and fails
    (`edit` above it in the cell): the plain traceback `traceback.print_exc()` writes, and IPython's
    report of it uncaught."""
    done = subprocess.run(
        [sys.executable, "-c", _IPYTHON_SESSION],
        env={**os.environ, "CELL": _IPYTHON_CELL.format(statement=statement, edit=edit)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<ipython-input-1-" in done.stderr, done.stderr
    return done.stderr, done.stdout.split("=" * 40, 1)[1]


def test_an_ipython_cell_in_a_plain_traceback_is_one_file_whatever_its_text_hashes_to() -> None:
    """The same statement failing in a function an IPython cell defines is one group whatever the cell's
    text (its pseudo-file is named by a hash of it: another after any edit of the cell), in a plain
    traceback and in IPython's own report alike; another statement of the cell is another group."""
    plain, reported = _ipython_reports("total = 120 / 0")
    again, _ = _ipython_reports("total = 120 / 0", edit="PRICE = 75  # an edit of the cell\n\n")
    other, _ = _ipython_reports("rate = 120 / 0")
    assert _key(plain).key == _key(again).key == _key(reported).key
    assert _key(other).key != _key(plain).key
    assert _key(plain).name == "ZeroDivisionError: division by zero (<ipython-input>.fail)"


# A module that does not compile, imported, as Python 3.8 and 3.9 print it (their parser points at the
# statement after an unclosed bracket) and as 3.10+ print it (at the bracket): one deployment, one bug.
_IMPORT_FAILS = """Traceback (most recent call last):
  File "{root}/run.py", line {outer}, in <module>
    boot()
  File "{root}/run.py", line 109, in boot
    import ledger.broken
  File "{root}/ledger/{name}.py", line {line}
{statement}
SyntaxError: {message}
"""
_OLD_PARSER = ("    def other():\n    ^", "invalid syntax")
_NEW_PARSER = ("    return sum(\n              ^", "'(' was never closed")


def _import_fails(root: str, parser: tuple[str, str], name: str = "broken", line: int = 5) -> str:
    statement, message = parser
    text = _IMPORT_FAILS.format(
        root=root, outer=110 + line, name=name, line=line, statement=statement, message=message
    )
    return text.replace("/", "\\") if root.startswith("C:") else text


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(_import_fails("/srv/app", _OLD_PARSER, line=9), id="python-3.8-parser"),
        pytest.param(
            _import_fails("/home/ann/proj", _NEW_PARSER, line=7), id="python-3.10-parser-other-root"
        ),
        pytest.param(_import_fails("C:/Users/bob/proj", _OLD_PARSER, line=12), id="windows-3.9"),
        pytest.param(
            _import_fails("/srv/app", ("    return sum(\n              ~~~^", "'(' was never closed")),
            id="other-caret",
        ),
        pytest.param(
            _import_fails("/srv/app", ("", "unexpected EOF while parsing")).replace("\n\n", "\n"),
            id="no-source",
        ),
    ],
)
def test_a_module_that_does_not_compile_is_one_bug_whatever_line_the_parser_points_at(variant: str) -> None:
    """A SyntaxError in a module's file (its location a path, no function) is keyed by the file, not by
    the statement the parser points at and names (Python 3.8/3.9 and 3.10+ point at other lines of one
    error): the same broken file is one group on every version and host, another file another."""
    expected = checked_key(_import_fails("/srv/app", _NEW_PARSER))
    assert checked_key(variant).key == expected.key
    assert checked_key(_import_fails("/srv/app", _NEW_PARSER, name="settings")).key != expected.key
    assert expected.name == "SyntaxError: '<STR>' was never closed (broken)"


# One module whose function has no body left (`def rates():` at its end), imported, as Python 3.8 prints
# it (SyntaxError) and as 3.9+ print it (IndentationError), then the same file broken by a mixed indent
# (TabError); printed by those interpreters.
_NO_BODY_38 = """Traceback (most recent call last):
  File "imp.py", line 4, in <module>
    import shop.rates
  File "/srv/app/shop/rates.py", line 4
    def rates():
               ^
SyntaxError: unexpected EOF while parsing
"""
_NO_BODY_312 = """Traceback (most recent call last):
  File "/home/ann/proj/imp.py", line 4, in <module>
    import shop.rates
  File "/home/ann/proj/shop/rates.py", line 4
    def rates():
                ^
IndentationError: expected an indented block after function definition on line 4
"""
_MIXED_INDENT_312 = """Traceback (most recent call last):
  File "/srv/app/imp.py", line 4, in <module>
    import shop.rates
  File "/srv/app/shop/rates.py", line 4
    \treturn 2
TabError: inconsistent use of tabs and spaces in indentation
"""


def test_a_module_that_does_not_compile_is_one_bug_whichever_syntax_error_class_the_parser_names() -> None:
    """A module's file that does not compile is one group whether the parser calls it a SyntaxError, an
    IndentationError (one broken file is each on Python 3.8 and 3.9+) or a TabError, each titled by
    its own class; another file is another group, and a text `compile` refuses keeps its class."""
    keys = {checked_key(text) for text in (_NO_BODY_38, _NO_BODY_312, _MIXED_INDENT_312)}
    assert len({found.key for found in keys}) == 1
    assert {found.name.partition(":")[0] for found in keys} == {"SyntaxError", "IndentationError", "TabError"}
    other = _NO_BODY_312.replace("rates", "taxes")
    assert checked_key(other).key not in {found.key for found in keys}
    compiled = _import_fails("/srv/app", _NEW_PARSER).replace(
        "import ledger.broken", "compile(text, '<rule>', 'exec')"
    )
    compiled = compiled.replace("/srv/app/ledger/broken.py", "<rule>")
    indented = compiled.replace("SyntaxError: '(' was never closed", "IndentationError: unexpected indent")
    assert checked_key(compiled).key != checked_key(indented).key


@dataclasses.dataclass(frozen=True)
class _Order:
    qty: int
    price: int


def _bump(order: _Order) -> None:
    order.qty = 2  # type: ignore[misc]  # the point: a frozen dataclass refuses it


def _reprice(order: _Order) -> None:
    order.price = 3  # type: ignore[misc]


def _formula(text: str) -> object:
    return eval(text, {})  # the point: code compiled at run time, its frame without source


def _rule(text: str) -> object:
    return eval(text, {})


def test_a_raise_in_code_generated_at_run_time_is_keyed_by_the_statement_that_called_it() -> None:
    """A raise in code generated at run time (a dataclass's `__setattr__`, an `eval`: a pseudo-file printed
    without source) is keyed by the program's statement that called it and the masked message, not by
    the generated frame: every frozen field assigned anywhere in a program was one group, and every
    name missing from any evaluated text another."""
    bump = formatted(lambda: _bump(_Order(1, 2)))
    assert '  File "<string>", line ' in bump
    assert _key(bump).key == _key(formatted(lambda: _bump(_Order(5, 9)))).key
    assert _key(bump).key != _key(formatted(lambda: _reprice(_Order(1, 2)))).key
    missing = formatted(lambda: _formula("price * qty"))
    assert _key(missing).key == _key(formatted(lambda: _formula("total / count"))).key
    assert _key(missing).key != _key(formatted(lambda: _rule("price * qty"))).key
    assert _key(missing).key != _key(formatted(lambda: _formula("1 / 0"))).key  # another message


def test_an_interactive_session_without_source_keeps_its_own_frame() -> None:
    """A program read from standard input (`python - < job.py`: every frame `<stdin>`, without source) is
    keyed by its innermost frame and message as before, not by an outer frame of the same input."""
    text = (
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 9, in <module>\n'
        '  File "<stdin>", line 4, in charge\n'
        "ZeroDivisionError: division by zero\n"
    )
    assert _key(text).key != _key(text.replace("in charge", "in refund")).key
    assert _key(text).key == _key(text.replace("line 9", "line 12")).key


# A module whose two classes' finalizers fail on one statement's text (`__del__` of each), run for real:
# the interpreter prints each failure below its `sys.unraisablehook` header, which names the method.
_FINALIZERS = """
import sys


class Conn:
    def __init__(self, key):
        self.key = key

    def __del__(self):
        {"a": 1}[self.key]


class Cursor:
    def __init__(self, key):
        self.key = key

    def __del__(self):
        {"a": 1}[self.key]


for key in sys.argv[1:]:
    conn = Conn(key)
    del conn
    cursor = Cursor(key)
    del cursor
"""


def _ignored(tmp_path: Path, lines_before: int, *keys: str) -> list[str]:
    """The unraisable reports a program of `_FINALIZERS` (shifted by `lines_before` lines) prints."""
    program = tmp_path / f"v{lines_before}" / "db.py"
    program.parent.mkdir(parents=True)
    program.write_text("#\n" * lines_before + _FINALIZERS, encoding="utf-8")
    stderr = subprocess.run(
        [sys.executable, str(program), *keys], capture_output=True, text=True, check=True
    ).stderr
    reports = stderr.split("Exception ignored in")[1:]
    assert len(reports) == 2 * len(keys)
    return ["Exception ignored in" + report for report in reports]


def test_a_finalizers_failure_is_keyed_by_the_method_its_unraisable_header_names(tmp_path: Path) -> None:
    """A failure the interpreter could not raise (a `__del__`'s), printed below the header naming the
    method it was ignored in (`<function Conn.__del__ at 0x...>`), is one group per method: two classes'
    finalizers failing on one statement's text were one group (their frames print `__del__` alone); one
    class's with other values and lines is one group, shipped as a message or as a stack trace, with
    Windows line ends too (the fast path's key is the general path's)."""
    first = _ignored(tmp_path, 0, "x1", "user 7")
    moved = _ignored(tmp_path, 3, "k-9")

    def key(text: str) -> str:
        return fingerprint_document({"message": text, "log": {"level": "error"}}).key

    conns, cursors = {key(text) for text in (*first[0::2], moved[0])}, {key(text) for text in first[1::2]}
    assert len(conns) == len(cursors) == 1
    assert conns != cursors
    windows = first[0].replace("\n", "\r\n")
    assert fingerprint_document({"error": {"stack_trace": windows}}).key in conns
    fast = fingerprint_plain(windows)
    assert fast is None or fast.key in conns


def _timed_out(job: str, queue: str) -> None:
    error = TimeoutError()
    error.add_note(f"job {job} gave no answer from {queue}")
    exec("raise error", {"error": error})  # (code printed without source: a message would join the key)


def test_the_notes_of_an_exception_without_a_message_are_not_its_message() -> None:
    """The notes printed below a message-less exception's type (they vary with the failure's values) are
    not read as its message: they neither split its group nor title it, from the text alone."""
    texts = [
        formatted(functools.partial(_timed_out, job, queue))
        for job, queue in (("build", "runners"), ("deploy-7", "releases"))
    ]
    assert "\njob build gave no answer from runners\n" in texts[0]
    assert parse_traceback(texts[0]).final.message == ""
    first, second = (checked_key(text) for text in texts)
    assert first.key == second.key
    assert "runners" not in first.name and first.name.startswith("TimeoutError")
