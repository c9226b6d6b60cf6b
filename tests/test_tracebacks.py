"""Golden tests for the traceback parser: real formatted tracebacks and literal real-world texts."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from shipper.grouping import tracebacks
from shipper.grouping.tracebacks import Frame, Traceback, parse_traceback


def formatted(function: object, *args: object) -> str:
    try:
        function(*args)  # type: ignore[operator]
    except BaseException as exc:  # the point is to format whatever it raises
        return "".join(traceback.format_exception(exc))
    raise AssertionError("did not raise")


def _recurse(depth: int) -> int:
    return _recurse(depth + 1)


def _chained(cause: bool) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        if cause:
            raise RuntimeError("lookup failed") from exc
        raise RuntimeError("lookup failed")  # noqa: B904 - the implicit context chain is the point


def _group() -> None:
    raise ExceptionGroup(
        "outer", [ValueError("v 1"), ExceptionGroup("inner", [TypeError("t"), KeyError("k")]), OSError("o")]
    )


def _many() -> None:
    raise ExceptionGroup("many", [ValueError(n) for n in range(20)])


def _missing_source() -> None:
    exec(compile("def f():\n    raise ValueError('no source')\nf()\n", "/gone/deleted_module.py", "exec"))


PY310_TEXT = """Traceback (most recent call last):
  File "/home/dev/.venv/lib/python3.10/site-packages/shop/api.py", line 88, in handle
    return orders.checkout(order_id, qty)
  File "/home/dev/.venv/lib/python3.10/site-packages/shop/orders.py", line 41, in checkout
    order["qty"] = int(qty)
ValueError: invalid literal for int() with base 10: 'ten'
"""

PY312_TEXT = """Traceback (most recent call last):
  File "C:\\Users\\dev\\shop\\.venv\\Lib\\site-packages\\shop\\api.py", line 88, in handle
    return orders.checkout(order_id, qty)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "C:\\Users\\dev\\shop\\.venv\\Lib\\site-packages\\shop\\orders.py", line 41, in checkout
    order["qty"] = ORDERS[order_id]["qty"] + int(qty)
                   ~~~~~~^^^^^^^^^^
KeyError: 'B-17'
"""


def test_plain_traceback_frames_and_exception() -> None:
    """Frames come out outermost first with file, line, function and source; carets are dropped."""
    parsed = parse_traceback(PY312_TEXT)
    assert len(parsed.chain) == 1
    final = parsed.final
    assert (final.type, final.message) == ("KeyError", "'B-17'")
    assert final.frames[-1] == Frame(
        filename="C:\\Users\\dev\\shop\\.venv\\Lib\\site-packages\\shop\\orders.py",
        lineno=41,
        function="checkout",
        source='order["qty"] = ORDERS[order_id]["qty"] + int(qty)',
    )


def test_python310_text_without_carets() -> None:
    """A 3.10-style traceback (no caret lines) parses into the same structure."""
    final = parse_traceback(PY310_TEXT).final
    assert [frame.function for frame in final.frames] == ["handle", "checkout"]
    assert final.frames[-1].source == 'order["qty"] = int(qty)'
    assert final.type == "ValueError"


@pytest.mark.parametrize(
    ("cause", "link"),
    [pytest.param(True, "cause", id="raise-from"), pytest.param(False, "context", id="during-handling")],
)
def test_chained_exceptions(cause: bool, link: str) -> None:
    """Chains come out root cause first, each record saying how the next one relates to it."""
    parsed = parse_traceback(formatted(_chained, cause))
    assert [record.type for record in parsed.chain] == ["KeyError", "RuntimeError"]
    assert [record.link for record in parsed.chain] == [link, ""]
    assert parsed.chain[0].frames[-1].source == '{}["missing"]'


def test_recursion_marker() -> None:
    """'[Previous line repeated N more times]' is attached to the repeated frame, not taken as a frame."""
    parsed = parse_traceback(formatted(_recurse, 0))
    assert parsed.final.type == "RecursionError"
    repeated = [frame.repeated for frame in parsed.final.frames if frame.repeated]
    assert len(repeated) == 1 and repeated[0] > 900
    assert all(frame.function in ("formatted", "_recurse") for frame in parsed.final.frames)


def test_nested_exception_group() -> None:
    """ExceptionGroup boxes parse into members, nested groups included."""
    final = parse_traceback(formatted(_group)).final
    assert final.type == "ExceptionGroup" and final.message == "outer (3 sub-exceptions)"
    members = [member.final for member in final.members]
    assert [member.type for member in members] == ["ValueError", "ExceptionGroup", "OSError"]
    assert [inner.final.type for inner in members[1].members] == ["TypeError", "KeyError"]


def test_exception_group_with_truncated_members() -> None:
    """'and N more exceptions' is counted, not parsed as a member."""
    final = parse_traceback(formatted(_many)).final
    assert len(final.members) == 15 and final.more_members == 5


def test_missing_source_lines() -> None:
    """A frame whose source file is gone has source None and does not swallow the next frame."""
    final = parse_traceback(formatted(_missing_source)).final
    assert [frame.source for frame in final.frames[-2:]] == [None, None]
    assert [frame.function for frame in final.frames[-2:]] == ["<module>", "f"]
    assert (final.type, final.message) == ("ValueError", "no source")


def test_syntax_error_frame_without_function() -> None:
    """SyntaxError's `File "x", line N` frame (no function) and its detail lines parse."""
    final = parse_traceback(formatted(compile, "foo(\n", "broken.py", "exec")).final
    assert final.type == "SyntaxError"
    assert final.frames[-1].filename == "broken.py" and final.frames[-1].function == ""


def test_multi_line_message_and_qualified_type() -> None:
    """A message spanning lines is kept whole; a qualified type name is kept as printed."""
    text = (
        'Traceback (most recent call last):\n  File "/app/x.py", line 3, in f\n    raise Boom(msg)\n'
        "app.errors.Boom: first line\nsecond line\n"
    )
    final = parse_traceback(text).final
    assert final.type == "app.errors.Boom"
    assert final.message == "first line\nsecond line"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("just a log message, no traceback", id="plain-text"),
        pytest.param("Traceback (most recent call last):\n  File", id="truncated"),
    ],
)
def test_non_tracebacks_never_raise(text: str) -> None:
    """Text that is not a traceback still parses, into one record without a type."""
    parsed = parse_traceback(text)
    assert isinstance(parsed, Traceback) and len(parsed.chain) == 1
    assert parsed.final.type == ""


def test_truncated_middle_is_skipped() -> None:
    """A trace cut in the middle by a size limit still yields its last frames and the exception."""
    text = formatted(_recurse, 0)
    cut = text[:300] + "\n…[truncated by logloop: 99999 bytes, kept the first and last 1000]…\n" + text[-700:]
    final = parse_traceback(cut).final
    assert final.type == "RecursionError"
    assert final.frames[-1].function == "_recurse" and final.frames[0].function == "formatted"


def test_remote_traceback_in_a_message_is_not_taken_for_frames() -> None:
    """Frames quoted inside an exception message (multiprocessing's RemoteTraceback) stay message."""
    text = (
        'multiprocessing.pool.RemoteTraceback: \n"""\nTraceback (most recent call last):\n'
        '  File "/usr/lib/python3.11/multiprocessing/pool.py", line 125, in worker\n'
        '    result = (True, func(*args, **kwds))\nValueError: boom\n"""\n'
    )
    final = parse_traceback(text).final
    assert final.type == "multiprocessing.pool.RemoteTraceback" and final.frames == ()
    assert "ValueError: boom" in final.message


def _in_comprehension() -> list[int]:
    return [int(text) for text in ("1", "x")]


def _in_generator() -> list[int]:
    return list(int(text) for text in ("1", "y"))


class _Widget:
    def __init__(self, size: object) -> None:
        self.size = size + 1  # type: ignore[operator]


def _with_note() -> None:
    error = ValueError("noted")
    error.add_note("a note\nwith two lines")
    raise error


def _lambda_failure() -> None:
    (lambda mapping: mapping["ключ"])({})  # non-ASCII source and message


REAL_FAILURES = [
    pytest.param(lambda: int("x"), id="int-parse"),
    pytest.param(lambda: {}["k"], id="key-error"),
    pytest.param(lambda: [][1], id="index-error"),
    pytest.param(lambda: None.attribute, id="attribute-error"),  # type: ignore[attr-defined]
    pytest.param(lambda: 1 / 0, id="zero-division"),
    pytest.param(lambda: Path("/nonexistent/file.txt").read_text(), id="file-not-found"),
    pytest.param(lambda: __import__("json").loads("{"), id="stdlib-json"),
    pytest.param(lambda: __import__("datetime").datetime.strptime("x", "%Y"), id="stdlib-strptime"),
    pytest.param(lambda: __import__("re").compile("("), id="stdlib-re"),
    pytest.param(lambda: __import__("no_such_module_xyz"), id="import-error"),
    pytest.param(lambda: "a" + 1, id="type-error"),  # type: ignore[operator]
    pytest.param(_in_comprehension, id="list-comprehension"),
    pytest.param(_in_generator, id="generator-expression"),
    pytest.param(lambda: _Widget("big"), id="in-init"),
    pytest.param(_with_note, id="exception-notes"),
    pytest.param(_lambda_failure, id="non-ascii"),
    pytest.param(lambda: _chained(True), id="chained-cause"),
]


@pytest.mark.parametrize("failure", REAL_FAILURES)
def test_parse_agrees_with_the_interpreter(failure: Callable[[], object]) -> None:
    """For real exceptions the parsed chain, types and frames equal what the interpreter recorded."""
    try:
        failure()
    except Exception as exc:
        text = "".join(traceback.format_exception(exc))
        chain: list[BaseException] = []
        current: BaseException | None = exc
        while current is not None:
            chain.insert(0, current)
            current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    else:
        raise AssertionError("did not raise")
    parsed = parse_traceback(text)
    assert len(parsed.chain) == len(chain)
    for record, raised in zip(parsed.chain, chain, strict=True):
        module = type(raised).__module__
        qualified = (
            type(raised).__qualname__ if module == "builtins" else f"{module}.{type(raised).__qualname__}"
        )
        assert record.type == qualified
        expected = [
            (f.filename, f.lineno, f.name, f.line or None) for f in traceback.extract_tb(raised.__traceback__)
        ]
        assert [(f.filename, f.lineno, f.function, f.source) for f in record.frames] == expected


PY313_MULTILINE = """Traceback (most recent call last):
  File "/srv/app/shop/jobs.py", line 40, in run
    check(
    ~~~~~^
        order,
        ^^^^^^
        limit=10,
        ^^^^^^^^^
    )
    ^
  File "/srv/app/shop/jobs.py", line 12, in check
    raise LimitError(
    ...<2 lines>...
    )
shop.errors.LimitError: order 17 exceeds 10
"""


def test_python313_multi_line_statements() -> None:
    """3.13 prints every line of a multi-line statement; the first line is the frame's source."""
    final = parse_traceback(PY313_MULTILINE).final
    assert [(frame.function, frame.source) for frame in final.frames] == [
        ("run", "check("),
        ("check", "raise LimitError("),
    ]
    assert (final.type, final.message) == ("shop.errors.LimitError", "order 17 exceeds 10")


def test_broken_frame_header_is_skipped() -> None:
    """A frame header cut in the middle (seen in size-limited traces) is a gap, not an endless loop."""
    text = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/dist-packages/shop/api.py", line 13, in handle\n    return checkout(q)\n'
        '  File "/usr/lib/python3/dist-pack    +------------------------------------\n^^^^^^^^\n'
        '  File "/usr/lib/python3/dist-packages/shop/orders.py", line 13, in parse\n    return int(text)\n'
        "ValueError: invalid literal for int() with base 10: ''\n"
    )
    final = parse_traceback(text).final
    assert [frame.function for frame in final.frames] == ["handle", "parse"]
    assert final.type == "ValueError"


def test_ansi_colours_are_ignored() -> None:
    """A traceback captured from a colour terminal (3.13 style) parses like the plain text."""
    coloured = PY312_TEXT.replace("KeyError", "\x1b[1;35mKeyError\x1b[0m").replace(
        'File "', '\x1b[35mFile \x1b[0m\x1b[35m"'
    )
    assert parse_traceback(coloured) == parse_traceback(PY312_TEXT)


@pytest.mark.parametrize(
    ("head", "column"),
    [
        pytest.param(
            '  + Exception Group Traceback (most recent call last):\n  |   File "a.py", line 1', 2, id="usual"
        ),
        pytest.param(
            "+ Exception Group Traceback (most recent call last):\n|   x\n| ExceptionGroup: g", 0, id="nested"
        ),
        pytest.param("  + Exception Group Traceback\n  |\n  | ExceptionGroup: g", 2, id="lone-bar"),
        pytest.param("  + Exception Group Traceback\n\t| x\n  | y", 2, id="tab"),
        pytest.param("  | Exception Group Traceback\n  | x", 2, id="no-plus"),
        pytest.param("    + Exception Group Traceback\n  | x", 2, id="deeper-first"),
        pytest.param("  + E\n  | a\n\n  | b", 2, id="blank-line"),
        pytest.param("  + E\n  |  | inner", 2, id="bar-in-text"),
    ],
)
def test_a_group_head_unboxed_by_replace_is_what_the_box_pattern_gives(head: str, column: int) -> None:
    """The head of a group box unboxed by a replace is exactly the text the per-line pattern gives."""
    assert tracebacks._unboxed_head(head, column) == "\n".join(tracebacks._unboxed(head, column))


_SEP = "    +---------------- 2 ----------------"
_END = "    +------------------------------------"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"    | a\n    | b\n{_SEP}\n    | c\n{_END}", id="usual"),
        pytest.param(f"    | a\n{_SEP}\n{_END}\n    | c", id="consecutive-separators"),
        pytest.param(f"    | a\n{_SEP}\n\n{_END}\n", id="blank-run-and-newline-after-last"),
        pytest.param(f"    | a\n{_SEP} \t\x0c\n    | b\n{_END}\xa0", id="trailing-whitespace"),
        pytest.param(f"    | a\n    +-- not a separator\n    | b\n{_END}", id="not-a-separator"),
        pytest.param("    | a\n    +---------------- ... ----------------\n    | b", id="dots"),
        pytest.param(f"    | a\n      +---------------- 1 ----\n    | b\n{_END}", id="deeper-box"),
        pytest.param(f"{_SEP}\n    | a\n{_END}", id="separator-first"),
        pytest.param("    | a\n    | b", id="no-separator"),
        pytest.param("", id="empty"),
        pytest.param(f"\n{_SEP}\n    | a", id="blank-first-line"),
        pytest.param("    | a\n    +---------------- \u0663 ----\n    | b", id="unicode-digit"),
    ],
)
def test_member_blocks_split_at_once_are_those_found_line_by_line(body: str) -> None:
    """Splitting a group body at its separators with one regex gives the runs found a line at a time
    (a run of no line left out of both; an empty run from the split is no member either)."""
    by_line = list(tracebacks._blocks_by_line(body, 4))
    split = tracebacks._blocks(body, 4)
    assert [block for block in split if block] == [block for block in by_line if block]
    assert tracebacks._unboxed_block("", 4) == ""  # why an empty run is no member
