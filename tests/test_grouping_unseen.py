"""Error text of shapes the grouping had not seen, made by the real tools that print it: a logging call
whose template is only a placeholder (`log.error("%s", exc)`, `logging.captureWarnings`), structlog's
structured (dict) tracebacks, a warning line. The same bug elsewhere is one group, a sibling another,
and the title reads as the text."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from analyzers import digest_data
from logloop.cli import main
from shipper.formatter import EcsFormatter
from shipper.grouping.fingerprint import (
    Fingerprint,
    FrameKind,
    classify_frame,
    clear_caches,
    fingerprint_document,
    fingerprint_event,
)
from shipper.grouping.message_only import has_key_of_its_own

_FORMATTER = EcsFormatter(service_name="svc")


class _Documents(logging.Handler):
    """Keeps the ECS document the shipper's formatter builds for each record."""

    def __init__(self) -> None:
        super().__init__()
        self.docs: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.docs.append(_FORMATTER.to_document(record))


@pytest.fixture
def logged() -> Iterator[_Documents]:
    """The documents of what is logged to the `shop` logger (and warnings `logging` captures)."""
    handler = _Documents()
    loggers = [logging.getLogger("shop"), logging.getLogger("py.warnings")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
            logger.propagate = True


def _key(doc: dict[str, Any]) -> Fingerprint:
    clear_caches()
    found = fingerprint_document(doc)
    assert fingerprint_event(doc) in (None, found)
    return found


_LOG = logging.getLogger("shop")

# Logging calls whose template holds no word of its own: the message is all there is to group by.
_BARE_CALLS: list[Callable[[str, str], None]] = [
    lambda what, value: _LOG.error("%s", f"{what} {value} not found"),
    lambda what, value: _LOG.error("%s", LookupError(f"{what} {value} not found")),
    lambda what, value: _LOG.error("%s: %s", what, f"{value} not found"),
    lambda what, value: _LOG.error("[%s] %s", what, f"{value} not found"),
    lambda what, value: _LOG.error("%(what)s %(value)s", {"what": what, "value": f"{value} not found"}),
    lambda what, value: _LOG.critical(" %s -- %d ", f"{what} not found", len(value)),
]


@pytest.mark.parametrize(
    "call", [pytest.param(call, id=str(index)) for index, call in enumerate(_BARE_CALLS)]
)
def test_a_template_of_placeholders_only_groups_by_the_message(
    call: Callable[[str, str], None], logged: _Documents
) -> None:
    """A logging template that is only placeholders names no statement: events logged through it group
    by their masked message (one bug, whatever its values; two bugs apart), titled by it, not `<VAR>`."""
    for what, value in (("order", "4411"), ("order", "97"), ("customer", "4411")):
        call(what, value)
    first, again, other = (_key(doc) for doc in logged.docs)
    assert first.key == again.key != other.key
    assert "not found" in first.name and "<VAR>" not in first.name


def test_a_template_with_words_of_its_own_still_groups_by_the_statement(logged: _Documents) -> None:
    """A template with a word of its own (`charge failed: %s`) still keys the statement: its events are
    one group whatever the text they carry."""
    _LOG.error("charge failed: %s", "card declined")
    _LOG.error("charge failed: %s", "gateway timeout after 30s")
    assert _key(logged.docs[0]).key == _key(logged.docs[1]).key
    assert all(has_key_of_its_own(doc) for doc in logged.docs)


def test_an_event_of_a_placeholder_template_is_mined_as_a_message(logged: _Documents) -> None:
    """`logloop cluster` and `regroup` mine the message of an event whose template is only placeholders,
    as they do one without template."""
    _LOG.error("%s", "disk full on /var")
    assert not has_key_of_its_own(logged.docs[0])


def _clustered(docs: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    """`logloop cluster`'s rows for these documents."""
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    return [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]


def test_logloop_cluster_mines_the_messages_of_a_placeholder_template(
    logged: _Documents, tmp_path: Path
) -> None:
    """`logloop cluster` groups the lines `log.error("%s", ...)` logged by what they say: two messages two
    groups, each titled by its text, not one group titled `<VAR>`."""
    for value in ("17", "4411", "90"):
        _LOG.error("%s", f"order {value} not found")
        _LOG.error("%s", f"payment gateway timed out after {value}s")
    rows = _clustered(logged.docs, tmp_path)
    assert len({row["cluster"] for row in rows[0::2]}) == len({row["cluster"] for row in rows[1::2]}) == 1
    assert rows[0]["cluster"] != rows[1]["cluster"]
    assert "not found" in rows[0]["title"] and "timed out" in rows[1]["title"]


def test_the_digest_titles_a_placeholder_template_line_as_its_group(logged: _Documents) -> None:
    """The digest's list of error lines titles a line logged through `%s` as its group is titled (its
    masked message), not `<VAR>`."""
    _LOG.error("%s", "order 4411 not found")
    doc = logged.docs[0]
    found = _key(doc)
    doc["error"] = {"grouping_key": found.key, "grouping_name": found.name}
    assert digest_data.error_line_title(found.key, doc) == found.name
    assert found.name.startswith("order <NUM> not found")


# structlog's structured tracebacks (`structlog.processors.dict_tracebacks`): a list of stacks of frames
# (no source lines), shipped in `error.stack_trace` as the list or as its JSON text.

_ORDERS = """{padding}
def parse_qty(raw):
    return int(raw)


def parse_price(raw):
    return int(raw)


def {caller}(parse, raw, wrap):
    try:
        return parse(raw)
    except ValueError as exc:
        if wrap:
            raise RuntimeError(f"order line {{raw}} refused") from exc
        raise
"""


def _structlog_stacks(
    tmp_path: Path, host: str, function: str, value: str, *, caller: str = "handle", wrap: bool = False
) -> list[dict[str, Any]]:
    """The `exception` structlog's `dict_tracebacks` gives for `function` failing on `value`, in a module
    installed under `host` (its lines shifted) and called by `caller`."""
    structlog = pytest.importorskip("structlog")
    path = tmp_path / host / "shop" / "orders.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_ORDERS.format(padding="\n" * len(host), caller=caller), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"orders_{len(list(tmp_path.iterdir()))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        getattr(module, caller)(getattr(module, function), value, wrap)
    except Exception as exc:  # the point is to render what it raised
        event = structlog.processors.dict_tracebacks(
            None, "error", {"event": "charge failed", "exc_info": exc}
        )
        return json.loads(json.dumps(event["exception"]))  # (as it travels: JSON)
    raise AssertionError("did not raise")


_STRUCTURED_FORMS: list[Callable[[list[dict[str, Any]]], dict[str, Any]]] = [
    lambda stacks: {"error": {"stack_trace": stacks}},
    lambda stacks: {"error": {"stack_trace": json.dumps(stacks)}},
    lambda stacks: {"error.stack_trace": json.dumps(stacks, indent=2)},
]


@pytest.mark.parametrize(
    "form", [pytest.param(form, id=str(index)) for index, form in enumerate(_STRUCTURED_FORMS)]
)
def test_a_structlog_structured_traceback_is_keyed_as_the_traceback_it_holds(
    form: Callable[[list[dict[str, Any]]], dict[str, Any]], tmp_path: Path
) -> None:
    """structlog's dict traceback is keyed by its raising statement like a traceback: the same bug under
    another install path, with other values and callers, one group; the same exception from another
    function, or wrapped in a chain, another; titled `Type: masked message (culprit)`."""

    def key(host: str, function: str, value: str, **how: Any) -> Fingerprint:
        doc = {
            "message": "charge failed",
            "log": {"level": "error"},
            **form(_structlog_stacks(tmp_path, host, function, value, **how)),
        }
        return _key(doc)

    first = key("opt/app", "parse_qty", "x7")
    assert first.name == "ValueError: invalid literal for int() with base <NUM>: '<STR>' (orders.parse_qty)"
    assert key("home/bob/venv/src", "parse_qty", "y99", caller="dispatch").key == first.key
    assert key("opt/app", "parse_price", "x7").key != first.key
    chained = key("opt/app", "parse_qty", "x7", wrap=True)
    assert chained.key not in (first.key, key("opt/app", "parse_price", "q1", wrap=True).key)
    assert chained.key == key("srv/www", "parse_qty", "zz9", wrap=True).key
    assert chained.name.startswith("RuntimeError: order line <ID> refused")


def test_logloop_cluster_keys_structlog_tracebacks_as_tracebacks(tmp_path: Path) -> None:
    """`logloop cluster` keys structlog's dict tracebacks by their raising statement (category
    `traceback`), not by the event's message: two bugs logged by one statement are two groups."""
    docs = [
        {"message": "charge failed", "log": {"level": "error"}, "error": {"stack_trace": stacks}}
        for stacks in (
            _structlog_stacks(tmp_path, "a", "parse_qty", "x7"),
            _structlog_stacks(tmp_path, "bb", "parse_qty", "y8", caller="dispatch"),
            _structlog_stacks(tmp_path, "a", "parse_price", "x7"),
        )
    ]
    (tmp_path / "out").mkdir()
    rows = _clustered(docs, tmp_path / "out")
    assert [row["category"] for row in rows] == ["traceback"] * 3
    assert rows[0]["cluster"] == rows[1]["cluster"] != rows[2]["cluster"]
    assert rows[2]["title"].endswith("(orders.parse_price)")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param('[{"exc_type": "ValueError", "frames": [{"filename": "a.py", "lin', id="cut-json"),
        pytest.param('[{"exc_type": 3}]', id="type-not-text"),
        pytest.param([{"exc_type": "E", "frames": "x"}], id="frames-not-a-list"),
        pytest.param([{"exc_type": "E", "frames": [7, None, {"filename": "a\nb.py"}]}], id="odd-frames"),
        pytest.param({"exc_type": "E", "exc_value": "x\ny", "syntax_error": {"line": None}}, id="one-stack"),
        pytest.param([{"exc_type": "E", "frames": [{"name": "f"}] * 50_000}] * 200, id="huge"),
        pytest.param([], id="empty"),
        pytest.param(
            ["Traceback (most recent call last):", '  File "a.py", line 1, in f', "E: x"], id="lines"
        ),
    ],
)
def test_any_structured_stack_trace_gets_a_key_without_raising(value: object) -> None:
    """A stack trace field of any shape (cut JSON, fields of other kinds, a huge list) gets a key, in
    bounded time, and never an exception."""
    doc = {"log": {"level": "error"}, "message": "failed", "error": {"stack_trace": value}}
    assert _key(doc).key
    assert isinstance(has_key_of_its_own(doc), bool)


# A location line, `path:LINE: Type: message`: a warning as `warnings` prints it (its source line under
# it) and `logging.captureWarnings` logs it, a failure as pytest's `--tb=line` reports it.

_WARNS = """{padding}import warnings


def {function}(value):
    warnings.warn(f"qty {{value}} is deprecated, use amount", {category}, stacklevel=1)
"""


def _warned(tmp_path: Path, host: str, module: str, value: str, category: str = "DeprecationWarning") -> None:
    """Runs a module installed under `host` (its lines shifted) that warns about `value`, with warnings
    captured by `logging`."""
    path = tmp_path / host / "shop" / f"{module}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_WARNS.format(padding="\n" * len(host), function="check", category=category), "utf-8")
    spec = importlib.util.spec_from_file_location(f"warns_{len(list(tmp_path.rglob('*.py')))}", path)
    assert spec is not None and spec.loader is not None
    module_object = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module_object)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            module_object.check(value)
    finally:
        logging.captureWarnings(False)


def test_a_captured_warning_is_keyed_by_its_file_and_statement(logged: _Documents, tmp_path: Path) -> None:
    """A warning `logging` captured is keyed by its file's name, category and statement: the same warning
    from another install path, with other values, one group; from another file, or of another category,
    another; titled `Category: masked message (module)`; `logloop cluster` agrees."""
    _warned(tmp_path, "opt/app", "orders", "x7")
    _warned(tmp_path, "home/bob/src", "orders", "zz9")
    _warned(tmp_path, "opt/app", "billing", "x7")
    _warned(tmp_path, "opt/app2", "orders", "x7", category="FutureWarning")
    keys = [_key(doc) for doc in logged.docs]
    assert keys[0].key == keys[1].key
    assert len({keys[0].key, keys[2].key, keys[3].key}) == 3
    assert keys[0].name == "DeprecationWarning: qty <ID> is deprecated, use amount (orders)"
    assert all(has_key_of_its_own(doc) for doc in logged.docs)
    rows = _clustered(logged.docs, tmp_path)
    assert [row["cluster"] for row in rows] == [key.key for key in keys]


_PYTEST_TESTS = """{padding}from shop.orders import parse_qty
from shop.billing import parse_price


def test_qty():
    parse_qty("{value}")


def test_price():
    parse_price("{value}")
"""


def _pytest_lines(tmp_path: Path, host: str, value: str) -> list[str]:
    """The lines pytest's `--tb=line` prints for two failing tests of a checkout under `host`."""
    root = tmp_path / host
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "shop" / "__init__.py").write_text("", "utf-8")
    for module, function in (("orders", "parse_qty"), ("billing", "parse_price")):
        source = f"{chr(10) * len(host)}def {function}(raw):\n    return int(raw)\n"
        (root / "shop" / f"{module}.py").write_text(source, "utf-8")
    (root / "tests" / "test_it.py").write_text(
        _PYTEST_TESTS.format(padding="\n" * len(host), value=value), "utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--tb=line",
            "-W",
            "ignore",
            "tests",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    lines = [line for line in done.stdout.splitlines() if ": ValueError: " in line]
    assert len(lines) == 2, done.stdout
    return sorted(lines, key=lambda line: "billing" in line)


def test_a_pytest_line_report_is_keyed_by_its_file_and_error(tmp_path: Path) -> None:
    """pytest's `--tb=line` report of a failure is keyed by its file's name and error: the same failure in
    another checkout, with other values, one group; in another file another."""
    first = _pytest_lines(tmp_path, "ci/one", "x7")
    again = _pytest_lines(tmp_path, "home/ann/two", "q99")
    for form in ("message", "error.stack_trace"):
        keys = [_key({"log": {"level": "error"}, form: line}) for line in first + again]
        assert keys[0].key == keys[2].key != keys[1].key == keys[3].key
        assert keys[0].name == "ValueError: invalid literal for int() with base <NUM>: '<STR>' (orders)"


# The standard library where Red Hat, Fedora, CentOS, Amazon Linux and openSUSE install it: lib64.

_JSON_CALLERS = """
import json, sys

def load_config(text):
    return json.loads(text)

def load_order(text):
    return json.loads(text)

globals()[sys.argv[1]](sys.argv[2])
"""


def _json_failure(tmp_path: Path, function: str, text: str, lib: str) -> str:
    """A real traceback of `function` failing inside `json`, as a host whose standard library lives under
    `/usr/<lib>/pythonX.Y/` prints it (this interpreter's own directory written as that host's)."""
    script = tmp_path / "loader.py"
    script.write_text(_JSON_CALLERS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), function, text], capture_output=True, text=True, timeout=60, check=False
    )
    assert "json" in done.stderr, done.stderr
    stdlib = os.path.dirname(json.__file__.rstrip("/")).rsplit(os.sep, 1)[0]  # .../lib/python3.X
    version = stdlib.rsplit(os.sep, 1)[-1]
    return done.stderr.replace(stdlib, f"/usr/{lib}/{version}")


def test_a_standard_library_under_lib64_is_the_standard_library(tmp_path: Path) -> None:
    """A failure raised inside the standard library under `/usr/lib64/pythonX.Y` (Red Hat's layout) is
    keyed by the program's call as under `/usr/lib/`: one group on both kinds of host; the same failure
    from another caller another (it was keyed by the library's raising line: callers merged)."""
    debian = _json_failure(tmp_path, "load_config", "{x7", "lib")
    red_hat = _json_failure(tmp_path, "load_config", "[1,,", "lib64")
    sibling = _json_failure(tmp_path, "load_order", "{x7", "lib64")
    assert "/usr/lib64/python3." in red_hat
    keys = [
        _key({"log": {"level": "error"}, "error": {"stack_trace": text}})
        for text in (debian, red_hat, sibling)
    ]
    assert keys[0].key == keys[1].key != keys[2].key
    assert keys[1].name.endswith("(loader.load_config)")


# Windows paths ignore case: the standard library under `c:\python311\lib\` (an interpreter started by a
# path typed in lower case: a service's command line, a scheduled task) is the one under `C:\...\Lib\`.

_FILE_PATH_RE = re.compile(r'(?<=File ")[^"\n]+')


def _as_windows(text: str, script_dir: Path, stdlib: str) -> str:
    """`text` (of `_json_failure`, its standard library under `/usr/lib/pythonX.Y`) as a Windows host prints
    it: the script under `C:\\app`, the standard library under `stdlib`, paths with backslashes."""
    moved = re.sub(r"/usr/lib/python3\.\d+", lambda _: stdlib, text.replace(str(script_dir), "C:/app"))
    return _FILE_PATH_RE.sub(lambda path: path[0].replace("/", "\\"), moved)


@pytest.mark.parametrize(
    "stdlib",
    [
        pytest.param("c:\\python311\\lib", id="lower-case"),
        pytest.param("C:\\PYTHON311\\LIB", id="upper-case"),
        pytest.param("c:\\users\\ann\\appdata\\local\\programs\\python\\python312\\lib", id="user-install"),
        pytest.param("d:\\program files\\python313t\\lib", id="program-files-free-threaded"),
        pytest.param("\\\\tools\\share\\Python311\\lib", id="unc"),
        pytest.param("c:\\users\\ann\\miniconda3\\lib", id="conda"),
    ],
)
def test_a_windows_standard_library_in_any_letter_case_is_the_standard_library(
    tmp_path: Path, stdlib: str
) -> None:
    """A failure raised inside the standard library of a Windows host whose paths are printed in another
    letter case (`c:\\python311\\lib\\json\\`) is keyed by the program's call, as under `C:\\Python311\\Lib`:
    one group on both hosts, another caller another (it was keyed by the library's line: callers merged)."""
    texts = [
        _as_windows(_json_failure(tmp_path, function, value, "lib"), tmp_path, home)
        for function, value, home in [
            ("load_config", "{x7", "C:\\Python311\\Lib"),
            ("load_config", "[1,,", stdlib),
            ("load_order", "{x7", stdlib),
        ]
    ]
    assert stdlib + "\\json\\" in texts[1] and "C:\\app\\loader.py" in texts[1]
    keys = [_key({"log": {"level": "error"}, "error": {"stack_trace": text}}) for text in texts]
    assert keys[0].key == keys[1].key != keys[2].key
    assert keys[1].name.endswith("(loader.load_config)")


@pytest.mark.parametrize(
    "path",
    [
        "c:\\inetpub\\shop\\lib\\orders.py",
        "C:\\srv\\python-tools\\lib\\orders.py",
        "/home/ann/python3/lib/orders.py",
        "c:\\app\\venv\\lib\\site-packages\\shop\\orders.py",
    ],
)
def test_a_program_folder_named_lib_is_not_the_standard_library(path: str) -> None:
    """A program's own `lib` folder (on Windows, in any case) is not taken for the standard library."""
    assert classify_frame(path) is not FrameKind.STDLIB
