"""Tracebacks as Python 3.12+ prints them, made from real ones of the Python <= 3.11 the tests run on.

PEP 709 (Python 3.12) inlines list, dict and set comprehensions: their frame (`<listcomp>`, `<dictcomp>`,
`<setcomp>`) is gone and the frame of the code they run in shows their line. The tests run on one
interpreter, so the 3.12+ rendering of a failure is made by editing its real traceback the way 3.12 prints
it (`as_python_312`: checked against what CPython 3.12.1 printed for the same failures, identical but for
how deep a recursion gets); generator expressions are not inlined and keep their frame.
"""

from __future__ import annotations

import inspect
import linecache
import re
import sys

from helpers.raised import formatted

INLINED_BY_312 = ("<listcomp>", "<dictcomp>", "<setcomp>")
# A frame as `traceback` prints it, inside an ExceptionGroup's box ("    | ") or not: its "File" line, the
# more indented lines under it (source, carets), and the recursion marker that may follow.
_PRINTED_FRAME = re.compile(
    r'^(?P<box>(?: *\| )?)  File "(?P<file>[^"\n]*)", line (?P<line>\d+), in (?P<function>[^\n]*)\n'
    r"(?P<lines>(?:(?P=box)    [^\n]*\n)*)"
    r"(?:(?P=box)  \[Previous line repeated (?P<repeated>\d+) more times?\]\n)?",
    re.MULTILINE,
)
# A frame to print: what `traceback` tells repeats by (box, file, line number, function), its lines, and
# how many calls in a row it stands for.
_Shown = tuple[tuple[str, str, str, str], str, int]


def as_python_312(text: str) -> str:
    """A real traceback of Python <= 3.11 as Python 3.12+ prints the same failure: each list, dict and set
    comprehension's frame dropped (a nested comprehension's outer ones too), the frame of the code it runs
    in (the next outer frame, of the same file) showing the comprehension's line number, source and carets
    instead of its own (the other calls a recursion marker on that frame stands for stay as they were);
    then, as `traceback` prints them, a run of more than three frames of one file, line and function (a
    recursion that went through a comprehension) printed as three and a "[Previous line repeated N more
    times]" line."""
    frames = list(_PRINTED_FRAME.finditer(text))
    shown: list[_Shown | None] = [
        (
            (frame["box"], frame["file"], frame["line"], frame["function"]),
            text[frame.start() : frame.end("lines")],
            1 + int(frame["repeated"] or 0),
        )
        for frame in frames
    ]
    for index in range(len(frames) - 1, -1, -1):
        inner, held = frames[index], shown[index]
        if inner["function"] not in INLINED_BY_312 or held is None:
            continue
        outer = index - 1
        while frames[outer]["function"] in INLINED_BY_312:
            shown[outer] = None
            outer -= 1
        enclosing, around = frames[outer], shown[outer]
        assert (enclosing["file"], enclosing["box"]) == (inner["file"], inner["box"]) and around, "not real"
        box, file, line, function = inner["box"], inner["file"], inner["line"], enclosing["function"]
        merged = f'{box}  File "{file}", line {line}, in {function}\n' + inner["lines"]
        shown[index] = ((box, file, line, function), merged, 1)
        shown[outer] = None if around[2] == 1 else (around[0], around[1], around[2] - 1)
    out: list[str] = []
    done, run = 0, 0
    last: tuple[str, str, str, str] | None = None
    for index, frame in enumerate(frames):
        gap = text[done : frame.start()]
        done = frame.end()
        if gap:
            out.append(gap)
            last = None
        entry = shown[index]
        if entry is None:
            continue
        key, lines, calls = entry
        for _ in range(calls):
            run = run + 1 if key == last else 1
            last = key
            if run <= 3:
                out.append(lines)
                continue
            times = "time" if run == 4 else "times"
            marker = f"{key[0]}  [Previous line repeated {run - 3} more {times}]\n"
            if run == 4:
                out.append(marker)
            else:
                out[-1] = marker
    out.append(text[done:])
    return "".join(out)


# A program's module (package `shop`) whose functions fail in comprehensions of each kind, in a chain, an
# ExceptionGroup, a recursion, a call into the standard library or into a library (`_VENDOR`), at module
# level (`ROWS`); `parse_counts` is `parse_rows` again under another name, `sum_rows` a generator expression.
_ORDERS_PATH = "/srv/app/shop/orders.py"
_ORDERS = """import json


def parse_rows(rows):
    return [int(row) for row in rows]


def parse_counts(rows):
    return [int(row) for row in rows]


def index_rows(rows):
    return {
        row: int(row)
        for row in rows
    }


def unique_rows(rows):
    return {int(row) for row in rows}


def parse_table(table):
    return [[int(cell) for cell in row] for row in table]


def decode_rows(rows):
    return [json.loads(row) for row in rows]


def convert_rows(rows):
    return [vendor_convert(row) for row in rows]


def depth(node):
    return 1 + max([depth(child) for child in node["children"]], default=0)


def load_or_fail(rows):
    try:
        return parse_rows(rows)
    except ValueError as exc:
        raise LookupError("rows not loaded") from exc


def parse_batches(batches):
    errors = []
    for rows in batches:
        try:
            parse_rows(rows)
        except ValueError as exc:
            errors.append(exc)
    raise ExceptionGroup("batches failed", errors)


def check(row):
    raise RuntimeError("row rejected")


def check_rows(rows):
    return [check(row) for row in rows]


def sum_rows(rows):
    return sum(int(row) for row in rows)


TOTALS = [int(row) for row in ROWS] if ROWS else []
"""
_VENDOR_PATH = "/srv/app/.venv/lib/python3.11/site-packages/vendorlib/convert.py"
_VENDOR = """def vendor_convert(text):
    if not text.isdigit():
        raise ValueError(f"not a number: {text}")
    return int(text)
"""


def in_orders(call: str, **names: object) -> str:
    """The traceback of `call` in the module `_ORDERS` (compiled as a program's file, with `names` in its
    namespace), which calls into a library's file; both known to `linecache`. Without `call`, of the
    module's own statements (`ROWS` in `names`: a failure at module level)."""
    sources = {_ORDERS_PATH: _ORDERS, _VENDOR_PATH: _VENDOR}
    for path, source in sources.items():
        linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    try:
        library: dict[str, object] = {}
        exec(compile(_VENDOR, _VENDOR_PATH, "exec"), library)
        namespace = {"ROWS": None, "vendor_convert": library["vendor_convert"], **names}
        if not call:
            return formatted(lambda: exec(compile(_ORDERS, _ORDERS_PATH, "exec"), namespace))
        exec(compile(_ORDERS, _ORDERS_PATH, "exec"), namespace)
        return formatted(lambda: eval(call, namespace))
    finally:
        for path in sources:
            linecache.cache.pop(path, None)


def _cyclic_tree() -> dict[str, list[object]]:
    node: dict[str, list[object]] = {"children": []}
    node["children"].append({"children": [node]})
    return node


def recursion_in_orders(limit: int) -> str:
    """A RecursionError through a list comprehension (`depth` of a cyclic tree) at the recursion limit
    `limit` above the caller's depth."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + len(inspect.stack()))  # the same room for the recursion in any runner
    try:
        return in_orders("depth(tree)", tree=_cyclic_tree())
    finally:
        sys.setrecursionlimit(old)
