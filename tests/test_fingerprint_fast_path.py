"""The fast path (`fingerprint_plain`, on `scan_plain`) gives the general parser's key wherever it answers.

Keys are persisted, so the fast path may decline any text (the general parser then decides) but must
never answer differently from `fingerprint_traceback(parse_traceback(text))`. Checked on every corpus
trace, on hand-written and really raised edge cases, and on every cut and every one-line deletion of
the corpus traces.
"""

from __future__ import annotations

import inspect
import json
import linecache
import random
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.inlined import as_python_312, in_orders
from helpers.raised import formatted

from shipper.grouping.fingerprint import (
    clear_caches,
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
    with_package_frames,
)
from shipper.grouping.tracebacks import parse_traceback

CORPUS = Path(__file__).resolve().parent / "data" / "tracebacks" / "corpus.jsonl"
TRACES = [
    json.loads(line)["error"]["stack_trace"] for line in CORPUS.read_text(encoding="utf-8").splitlines()
]


def _general(text: str) -> tuple[str, str]:
    fingerprint = fingerprint_traceback(parse_traceback(text))
    return fingerprint.key, fingerprint.name


def _fast(text: str) -> tuple[str, str] | None:
    fingerprint = fingerprint_plain(text)
    return None if fingerprint is None else (fingerprint.key, fingerprint.name)


def _raise(exc: BaseException) -> None:
    raise exc


def _recurse(depth: int) -> int:
    return _recurse(depth + 1)


def _ping(depth: int) -> int:
    return _pong(depth + 1)


def _pong(depth: int) -> int:
    return _ping(depth + 1)


def _chained(cause: bool) -> None:
    lookup: dict[str, int] = {}
    try:
        lookup["missing 7"]
    except KeyError as exc:
        if cause:
            raise RuntimeError("lookup 7 failed") from exc
        raise RuntimeError("lookup 7 failed")  # noqa: B904 - the implicit context chain is the point


def _missing_source() -> None:
    code = compile("def f():\n    raise ValueError('no source 12')\nf()\n", "/gone/deleted_module.py", "exec")
    exec(code, {})  # fresh globals: no module loader for linecache to read this test file's lines from


def _statement_over_lines() -> None:
    values: dict[str, int] = {}
    print(
        "total",
        values["a"] + values["b"],
    )


def _in_registered_module(path: str, source: str, call: str) -> str:
    """A traceback from `source` compiled as `path`, its lines known to `linecache` as a file's are."""
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    try:
        namespace: dict[str, object] = {}
        exec(compile(source, path, "exec"), namespace)
        return formatted(lambda: eval(call, namespace))
    finally:
        linecache.cache.pop(path, None)


WINDOWS = """Traceback (most recent call last):
  File "C:\\Users\\dev\\shop\\.venv\\Lib\\site-packages\\shop\\api.py", line 88, in handle
    return orders.checkout(order_id, qty)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "C:\\Python312\\Lib\\json\\decoder.py", line 355, in raw_decode
    raise JSONDecodeError("Expecting value", s, err.value) from None
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
"""

PY313_MULTILINE = """Traceback (most recent call last):
  File "/srv/app/report.py", line 9, in build
    total = sum(
        row.amount
    ...<2 lines>...
        if row.ok
    )
TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'
"""

MARKER_IN_THE_MIDDLE = """Traceback (most recent call last):
  File "/srv/app/walk.py", line 3, in walk
    return walk(node.child)
  [Previous line repeated 12 more times]
  File "/srv/app/walk.py", line 2, in walk
    return node.value + 1
AttributeError: 'NoneType' object has no attribute 'value'
"""

SOURCE_LIKE_A_FRAME = """Traceback (most recent call last):
  File "/srv/app/log.py", line 4, in emit
    File "x", line 1
ValueError: odd 3
"""

QUOTE_LINE_IN_NAME = """Traceback (most recent call last):
  File "/srv/app/a", line 1, in b.py", line 4, in emit
    emit(record)
ValueError: odd 4
"""

TAB_INDENTED = (
    "Traceback (most recent call last):\n\tFile \"/srv/app/a.py\", line 4, in f\n\t  g()\nKeyError: 'k'\n"
)

PREFIXED = (
    "2024-05-01 ERROR boom\n"
    'Traceback (most recent call last):\n  File "/srv/a.py", line 1, in f\n    g()\nKeyError: 1\n'
)

TWO_CYCLE = formatted(lambda: _ping(0))
COLOURED = (
    "Traceback (most recent call last):\n"
    '  File \x1b[35m"/srv/app/orders.py"\x1b[0m, line \x1b[35m12\x1b[0m, in \x1b[35mcheckout\x1b[0m\n'
    "    return int(text)\n"
    "\x1b[1;35mValueError\x1b[0m: \x1b[35minvalid literal for int() with base 10: 'x1'\x1b[0m\n"
)


_WINDOWS_FRAMES, _WINDOWS_LAST = WINDOWS.rstrip("\n").rsplit("\n", 1)

EDGE_CASES = [
    pytest.param(formatted(lambda: _chained(True)), True, id="chain-cause"),
    pytest.param(formatted(lambda: _chained(False)), True, id="chain-context"),
    pytest.param(formatted(lambda: int("x12")), True, id="carets-or-not"),
    pytest.param(formatted(lambda: json.loads("{bad")), True, id="stdlib-raise-site"),
    pytest.param(WINDOWS, True, id="windows-paths-stdlib-site"),
    pytest.param(formatted(_missing_source), True, id="missing-source-lines"),
    pytest.param(
        formatted(lambda: compile("foo(\n", "/srv/app/broken.py", "exec")), True, id="syntax-error-frame"
    ),
    pytest.param(  # text compiled at run time (`_compiled_text_site`): the general path decides
        formatted(lambda: compile("foo(\n", "broken.py", "exec")), False, id="syntax-error-in-compiled-text"
    ),
    pytest.param(formatted(lambda: _recurse(0)), True, id="recursion-error-marker"),
    pytest.param(TWO_CYCLE, True, id="recursion-error-two-cycle"),
    pytest.param(formatted(lambda: _statement_over_lines()), True, id="statement-over-several-lines"),
    pytest.param(PY313_MULTILINE, True, id="py313-multi-line-statement"),
    pytest.param(COLOURED, True, id="ansi-colours"),
    pytest.param(WINDOWS.replace("\n", "\r\n"), True, id="crlf"),
    pytest.param(WINDOWS + "\n\n", True, id="trailing-blank-lines"),
    pytest.param(WINDOWS.rstrip("\n"), True, id="no-final-newline"),
    pytest.param(WINDOWS[: WINDOWS.index("(char")], True, id="cut-in-the-message"),
    pytest.param(WINDOWS[: WINDOWS.index("from None")], False, id="cut-in-a-frame"),
    pytest.param(WINDOWS.rsplit("json.", 1)[0], False, id="frames-only"),
    pytest.param(
        formatted(lambda: (_ for _ in ()).throw(ValueError("first 1\nsecond 2\n  third"))),
        True,
        id="multi-line-message",
    ),
    pytest.param(formatted(lambda: _raise(ValueError())), True, id="empty-message"),
    pytest.param(
        formatted(lambda: _raise(ExceptionGroup("eg 2", [ValueError("a 1"), TypeError("b")]))),
        False,
        id="exception-group",
    ),
    pytest.param(MARKER_IN_THE_MIDDLE, True, id="recursion-marker-on-an-outer-frame"),
    pytest.param(SOURCE_LIKE_A_FRAME, False, id="source-line-like-a-frame-line"),
    pytest.param(QUOTE_LINE_IN_NAME, True, id="line-text-in-the-function-name"),
    pytest.param(TAB_INDENTED, False, id="tab-indented"),
    pytest.param(PREFIXED, False, id="text-before-the-header"),
    pytest.param("ValueError: not a traceback 5", False, id="exception-line-only"),
    pytest.param(
        _WINDOWS_FRAMES + "\n\n" + _WINDOWS_LAST + "\n", False, id="blank-line-before-exception-line"
    ),
    pytest.param(_WINDOWS_FRAMES + "\nValueError:bad 1\n", False, id="colon-without-space"),
    pytest.param(_WINDOWS_FRAMES + "\nKeyError: \n", True, id="colon-and-space-only"),
    pytest.param(_WINDOWS_FRAMES + "\nKeyError:\n", True, id="bare-colon"),
    pytest.param(_WINDOWS_FRAMES + "\n" + _WINDOWS_LAST + "\n\nmore 2\n\n", True, id="blank-line-in-message"),
    pytest.param("", False, id="empty"),
]


@pytest.mark.parametrize(("text", "answers"), EDGE_CASES)
def test_fast_path_agrees_with_the_general_parser_on_edge_cases(text: str, answers: bool) -> None:
    """On each edge case the fast path answers (or declines) as expected, with the general parser's key."""
    clear_caches()
    fast = _fast(text)
    assert (fast is not None) is answers
    if fast is not None:
        assert fast == _general(text)
        event = fingerprint_event({"error": {"stack_trace": text}})
        assert event is not None and (event.key, event.name) == fast


def _pass_on(message: str) -> None:
    raise RuntimeError(message)


def _written_here(name: str) -> None:
    _pass_on(f"user {name} was not found")


def _written_in_a_comprehension(name: str) -> None:
    [_pass_on(f"user {name} was not found") for _ in range(1)]


def _written_in_the_helper(name: str) -> None:
    message = f"user {name} was not found"
    raise RuntimeError(message)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: _written_here("alice"), id="caller-wrote-the-text"),
        pytest.param(lambda: _written_in_a_comprehension("bob"), id="written-in-a-comprehension"),
        pytest.param(lambda: _written_in_the_helper("carol"), id="text-built-before-the-raise"),
        pytest.param(lambda: _pass_on("x"), id="caller-wrote-a-word"),
        pytest.param(lambda: json.loads('{"a": }'), id="stdlib-raise"),
    ],
)
def test_fast_path_agrees_on_a_raise_passing_its_message_on(call: Callable[[], object]) -> None:
    """A raise of the message it was given (`raise RuntimeError(message)`), whoever wrote the text, gets
    the general key from the fast path, as printed by Python <= 3.11 and by 3.12+."""
    text = formatted(call)
    for variant in (text, as_python_312(text)):
        clear_caches()
        fast = _fast(variant)
        assert fast is not None and fast == _general(variant), variant


def test_fast_path_agrees_on_third_party_and_stdlib_frames_of_real_modules() -> None:
    """Really raised errors in modules installed under site-packages or the stdlib get the general key."""
    source = (
        "import json\ndef parse(text):\n    return json.loads(text)\ndef boom(n):\n    raise KeyError(n)\n"
    )
    for path in ("/usr/lib/python3.12/site-packages/lib/util.py", "/usr/lib/python3.12/lib/util.py"):
        for call in ("parse('{x')", "boom(3)"):
            text = _in_registered_module(path, source, call)
            assert _fast(text) == _general(text), (path, call)


def test_fast_path_answers_for_every_plain_corpus_trace_with_the_general_key() -> None:
    """Every corpus trace without ExceptionGroup boxes takes the fast path, and gets the general key."""
    answered = 0
    for text in TRACES:
        fast = _fast(text)
        if "+-+" in text:
            assert fast is None
            continue
        assert fast == _general(text)
        answered += 1
    assert answered >= len(TRACES) * 0.9


def test_fast_path_agrees_on_every_cut_and_every_deleted_line_of_the_corpus() -> None:
    """Traces cut after any line, or with any one line deleted, get the general key wherever the fast
    path answers (it answers for most of them)."""
    answered = tried = 0
    for text in TRACES[::3]:
        lines = text.split("\n")
        for index in range(1, len(lines)):
            for variant in ("\n".join(lines[:index]), "\n".join(lines[:index] + lines[index + 1 :])):
                fast = _fast(variant)
                tried += 1
                if fast is not None:
                    answered += 1
                    assert fast == _general(variant), variant
    assert answered > tried // 4


LINE_NUMBERS = """Traceback (most recent call last):
  File "/srv/app/a", line 1, in b.py", line {n}, in emit
    emit(record)
  File "/srv/app/orders.py", line {n}, in parse
    return int(text)
ValueError: invalid literal for int() with base 10: 'x'
"""


def test_frames_that_differ_in_line_numbers_get_the_general_key_in_any_order() -> None:
    """The memo shared by a frame's line numbers never gives one trace another's key, even when a
    file name holds '", line N, in' itself."""
    texts = [LINE_NUMBERS.format(n=n) for n in ("5", "55", "x", "5x", "")]
    texts.append(texts[0].replace('line 1, in b.py"', 'line 7, in b.py"'))
    answered = 0
    for order in (texts, texts[::-1]):
        clear_caches()
        for text in order:
            fast = _fast(text)
            answered += fast is not None
            assert fast is None or fast == _general(text), text
            if parse_traceback(text).final.type:  # else error.type stands in for it (frames only)
                event = fingerprint_event({"error": {"stack_trace": text}})
                assert event is not None and (event.key, event.name) == _general(text)
    assert answered >= 6


DIRECTORIES = """Traceback (most recent call last):
  File "/srv/app/main.py", line 3, in main
    load(text)
  File "{path}", line {n}, in load
    return int(text)
ValueError: invalid literal for int() with base 10: 'x'
"""


def test_frames_that_differ_in_directory_get_the_general_key_in_any_order() -> None:
    """The memo shared by a frame's install locations keeps what the whole path tells apart (standard
    library or not, the package of an __init__), so each trace gets the general parser's key."""
    paths = (
        "/usr/lib/python3.11/json/decoder.py",
        "/srv/app/json/decoder.py",
        "/venv/lib/python3.11/site-packages/json/decoder.py",
        "C:\\Python311\\Lib\\json\\decoder.py",
        "decoder.py",
        "/srv/a/__init__.py",
        "/srv/b/__init__.py",
        "<frozen decoder>",
    )
    texts = [DIRECTORIES.format(path=path, n=n) for path in paths for n in ("12", "40")]
    keys = set()
    for order in (texts, texts[::-1]):
        clear_caches()
        for text in order:
            fast = _fast(text)
            assert fast is not None and fast == _general(text), text
            keys.add(fast)
    assert len(keys) >= 4  # standard library, application, and each package's __init__ apart


RECURSION = """Traceback (most recent call last):
  File "/srv/app/tree.py", line {n}, in depth
    return 1 + depth(node["child"])
  [Previous line repeated {count} more time{s}]
RecursionError: maximum recursion depth exceeded
"""


def test_recursion_markers_that_differ_in_count_get_the_general_key_in_any_order() -> None:
    """Traces whose recursion markers differ in count get the general parser's key in any order, and
    the fast path answers where a frame repeats."""
    counts = (("2", "987", "s"), ("3", "5", "s"), ("2", "1", ""), ("2", "0", "s"), ("9", "00", "s"))
    texts = [RECURSION.format(n=n, count=count, s=s) for n, count, s in counts]
    for order in (texts, texts[::-1]):
        clear_caches()
        for text in order:
            event = fingerprint_event({"error": {"stack_trace": text}})
            assert event is not None and (event.key, event.name) == _general(text), text
    assert _fast(texts[0]) is not None and _fast(texts[3]) is None


_RECURSION_FRAMES = (
    '  File "/srv/app/tree.py", line 21, in size\n    return 1 + sum(size(child) for child in node)\n',
    '  File "/srv/app/tree.py", line 21, in <genexpr>\n    return 1 + sum(size(child) for child in node)\n',
    '  File "/srv/app/tree.py", line 30, in walk\n    return walk(node.parent)\n',
    '  File "/srv/venv/lib/python3.11/site-packages/mw/chain.py", line 7, in __call__\n'
    "    return self.inner(r)\n",
    '  File "/srv/app/tree.py", line 40, in leaf\n',
)


@pytest.mark.parametrize("seed", range(300))
def test_recursion_cycles_counted_by_frame_text_are_the_general_parsers(seed: int) -> None:
    """Random sequences of a few repeating frames, some with recursion markers, get the general
    parser's key from the fast path, which counts each distinct frame text instead of walking them."""
    rng = random.Random(seed)
    frames = []
    for _ in range(rng.randrange(1, 40)):
        frame = rng.choice(_RECURSION_FRAMES)
        if rng.random() < 0.1:
            frame += f"  [Previous line repeated {rng.randrange(0, 400)} more times]\n"
        frames.append(frame)
    text = "Traceback (most recent call last):\n" + "".join(frames)
    text += "RecursionError: maximum recursion depth exceeded\n"
    clear_caches()
    fast = _fast(text)
    assert fast is None or fast == _general(text)


def _raised_members() -> None:
    errors: list[Exception] = []
    for text in ("x1", "y2", "x1"):
        try:
            int(text)
        except ValueError as exc:
            errors.append(exc)
    lookup: dict[str, int] = {}
    try:
        lookup["k"]  # a member that is a chain
    except KeyError as exc:
        try:
            raise LookupError("no k 7") from exc
        except LookupError as chained:
            errors.append(chained)
    raise ExceptionGroup("3 of 4 failed", errors)


def _nested_group() -> None:
    inner = ExceptionGroup("inner 2", [TypeError("t 1"), KeyError("k")])
    raise ExceptionGroup("outer 3", [ValueError("v 1"), inner, OSError("o")])


def _group_from_cause() -> None:
    try:
        _raised_members()
    except ExceptionGroup as group:
        raise RuntimeError("batch 9 failed") from group


GROUPS = [
    formatted(_raised_members),
    formatted(_nested_group),
    formatted(lambda: _raise(ExceptionGroup("many", [ValueError(n) for n in range(20)]))),
    formatted(_group_from_cause),
]


def test_exception_groups_and_their_cuts_get_the_general_key() -> None:
    """Real groups (raised members, chains as members, nesting, 'and N more', a group as a cause), cut
    after any line or with any line deleted, get the key of the general parser."""
    for text in GROUPS:
        lines = text.split("\n")
        variants = [text, *("\n".join(lines[:i] + lines[i + 1 :]) for i in range(len(lines)))]
        variants += ["\n".join(lines[:i]) for i in range(1, len(lines))]
        clear_caches()
        for variant in variants:
            if parse_traceback(variant).final.type:  # else error.type stands in for it (frames only)
                event = fingerprint_event({"error": {"stack_trace": variant}})
                assert event is not None and (event.key, event.name) == _general(variant), variant


def _layer(layers: int, inner: Callable[[], object]) -> object:
    """A middleware chain: the same method once per layer, above whatever the innermost call does."""
    return inner() if layers == 0 else _layer(layers - 1, inner)


def _walk(node: list[object]) -> list[object]:
    return [_walk(child) for child in node]  # type: ignore[arg-type]


def _walk_self() -> object:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    return _walk(cyclic)


def _descend(node: list[object]) -> list[object]:
    return [_descend(child) for child in node]  # type: ignore[arg-type]


def _descend_self() -> object:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    return _descend(cyclic)


def _recursion_under(layers: int, recursion: Callable[[], object], limit: int = 200) -> str:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + len(inspect.stack()))  # the same room for the recursion in any runner
    try:
        return formatted(lambda: _layer(layers, recursion))
    finally:
        sys.setrecursionlimit(old)


@pytest.mark.parametrize("key_of", [_general, _fast], ids=["general-parser", "fast-path"])
def test_callers_that_repeat_above_a_recursion_do_not_split_it(
    key_of: Callable[[str], tuple[str, str] | None],
) -> None:
    """The same recursion under 5 or 60 layers of a repeating caller (a middleware chain), at other
    recursion limits, is one group, and another recursion under the same chain is another."""
    clear_caches()
    traces = [_recursion_under(layers, _walk_self, limit) for layers in (5, 60) for limit in (150, 400)]
    assert all("RecursionError" in text for text in traces)
    keys = {key_of(text) for text in traces}
    assert len(keys) == 1 and None not in keys
    other = key_of(_recursion_under(60, _descend_self))
    assert other is not None and other not in keys


COMPREHENSION_CALLS = [
    pytest.param('parse_rows(["1", "x7"])', {}, id="list-comprehension"),
    pytest.param('index_rows(["1", "x7"])', {}, id="dict-comprehension-over-lines"),
    pytest.param('unique_rows(["1", "x7"])', {}, id="set-comprehension"),
    pytest.param('parse_table([["1"], ["2", "x7"]])', {}, id="nested-comprehensions"),
    pytest.param("", {"ROWS": ["1", "x7"]}, id="at-module-level"),
    pytest.param('decode_rows(["{}", "{x7"])', {}, id="standard-library-raise"),
    pytest.param('convert_rows(["1", "x7"])', {}, id="library-raise"),
    pytest.param('load_or_fail(["1", "x7"])', {}, id="chain"),
    pytest.param('sum_rows(["1", "x7"])', {}, id="generator-expression"),
]


@pytest.mark.parametrize(("call", "names"), COMPREHENSION_CALLS)
@pytest.mark.parametrize("render", [str, as_python_312], ids=["python-3.11", "python-3.12"])
@pytest.mark.parametrize("package", ["", "shop"], ids=["no-package", "program-package"])
def test_fast_path_agrees_on_comprehensions_as_python_311_and_312_print_them(
    call: str, names: dict[str, object], render: Callable[[str], str], package: str
) -> None:
    """Failures in comprehensions, as Python 3.11 prints them and as 3.12+ does (inlined), with the
    program's package known or not, take the fast path, with the general parser's key."""
    text = render(in_orders(call, **names))
    clear_caches()
    fast = fingerprint_plain(text, package)
    general = fingerprint_traceback(parse_traceback(with_package_frames(text, package) if package else text))
    assert fast is not None and fast == general


_COMPREHENSION_FRAMES = (
    '  File "/srv/app/tree.py", line 21, in size\n    return 1 + max([size(child) for child in node])\n',
    '  File "/srv/app/tree.py", line 21, in <listcomp>\n'
    "    return 1 + max([size(child) for child in node])\n",
    '  File "/srv/app/tree.py", line 22, in <setcomp>\n    {size(c) for c in row}\n',
    '  File "/srv/app/tree.py", line 23, in <dictcomp>\n',
    '  File "/srv/app/tree.py", line 30, in walk\n    return walk(node.parent)\n',
    '  File "/srv/app/tree.py", line 31, in <genexpr>\n    return all(walk(c) for c in node)\n',
    '  File "/srv/app/other.py", line 5, in <listcomp>\n    return [walk(c) for c in node]\n',
    '  File "/srv/app/other.py", line 8, in load\n    return {k: walk(v) for k, v in rows}\n',
    '  File "/srv/app/other.py", line 9, in <dictcomp>\n',
    '  File "/srv/venv/lib/python3.11/site-packages/mw/chain.py", line 7, in __call__\n'
    "    return self.inner(r)\n",
    '  File "/srv/venv/lib/python3.11/site-packages/mw/chain.py", line 9, in <listcomp>\n'
    "    return [self.inner(r) for r in rs]\n",
    '  File "/usr/lib/python3.11/json/decoder.py", line 337, in <listcomp>\n'
    "    return [self.decode(s) for s in items]\n",
    '  File "/usr/lib/python3.11/json/decoder.py", line 353, in raw_decode\n'
    "    obj, end = self.scan_once(s, idx)\n",
)


@pytest.mark.parametrize("seed", range(300))
def test_comprehension_frames_in_any_order_get_the_general_key(seed: int) -> None:
    """Random sequences of frames with comprehension frames among them (nested, outermost, under a frame of
    another file, without source, under a recursion marker), ending in a RecursionError or another error,
    with the program's package known or not, get the general parser's key from the fast path."""
    rng = random.Random(seed)
    frames = []
    for _ in range(rng.randrange(1, 30)):
        frame = rng.choice(_COMPREHENSION_FRAMES)
        if rng.random() < 0.1:
            frame += f"  [Previous line repeated {rng.randrange(0, 400)} more times]\n"
        frames.append(frame)
    text = "Traceback (most recent call last):\n" + "".join(frames)
    text += rng.choice(("RecursionError: maximum recursion depth exceeded\n", "ValueError: bad 7\n"))
    package = rng.choice(("", "tree"))
    clear_caches()
    fast = fingerprint_plain(text, package)
    general = fingerprint_traceback(parse_traceback(with_package_frames(text, package) if package else text))
    assert fast is None or fast == general, text


WITHOUT_SOURCE_UNDER_SOURCE = """Traceback (most recent call last):
  File "/srv/app/tree.py", line 21, in size
    return 1 + max([size(child) for child in node])
  File "/srv/app/other.py", line 8, in load
    return {k: walk(v) for k, v in rows}
  File "/srv/app/other.py", line 9, in <dictcomp>
  File "/srv/venv/lib/python3.11/site-packages/mw/chain.py", line 7, in __call__
    return self.inner(r)
ValueError: bad 7
"""


def test_a_comprehension_without_source_under_its_function_with_source_gets_the_general_key() -> None:
    """A library raise called from a comprehension whose line was not printed (its function's was: the
    frame that stands in for both as Python 3.12+ prints them has none) gets the general parser's key
    with the program's package known."""
    clear_caches()
    fast = fingerprint_plain(WITHOUT_SOURCE_UNDER_SOURCE, "tree")
    general = fingerprint_traceback(parse_traceback(with_package_frames(WITHOUT_SOURCE_UNDER_SOURCE, "tree")))
    assert fast is None or fast == general
    assert general.name.endswith("(tree.size)")  # other.py is not the program's: its caller is
