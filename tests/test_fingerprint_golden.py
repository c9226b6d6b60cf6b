"""Golden tests: real raised exceptions in, expected groups out (the issue's split / no-split lists).

Every traceback here is really raised: module source is compiled under the file name a given install
would have (venv, site-packages, dist-packages, a checkout, Windows) and registered in `linecache`
so `traceback.format_exception` prints its source lines exactly as for a file on disk.
"""

from __future__ import annotations

import linecache
import re
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shipper.grouping.fingerprint import Fingerprint, fingerprint_event

MODULE = """
import os

class StorageError(Exception):
    pass

def parse_quantity(text):
    return int(text)

def checkout(text):
    return parse_quantity(text)

def api_handler(text):
    return checkout(text)

def get_user(users, user_id):
    return users[user_id]

def validate_user(name):
    raise ValueError("invalid input")

def validate_item(name):
    raise ValueError("invalid input")

def check_limits(count):
    if count > 10:
        raise ValueError(f"too many: {count}")
    raise ValueError(f"too few: {count}")

def load(path):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        raise StorageError(f"cannot load {path}") from exc
    os.close(fd)

def load_wrapped(cause):
    try:
        raise cause
    except OSError as exc:
        raise StorageError("cannot load the store") from exc

def walk(node):
    return walk(node)

def walk_from(depth):
    if depth:
        return walk_from(depth - 1)
    return walk({})

def bump(n):
    return n + 1

def descend(n):
    m = bump(n)
    return descend(m)

def descend_from(depth):
    if depth:
        return descend_from(depth - 1)
    return descend(0)

def fail_with(message):
    raise RuntimeError(message)

def convert(value):
    raise TypeError(f"cannot convert {value!r}")

def batch(texts):
    errors = []
    for text in texts:
        try:
            parse_quantity(text)
        except ValueError as exc:
            errors.append(exc)
    raise ExceptionGroup(f"{len(errors)} lines failed", errors)
"""

INSTALLS = {
    "checkout": "/home/dev/src/shop/shop/core.py",
    "venv": "/home/dev/.venv/lib/python3.11/site-packages/shop/core.py",
    "site-packages": "/usr/local/lib/python3.11/site-packages/shop/core.py",
    "dist-packages": "/usr/lib/python3/dist-packages/shop/core.py",
    "windows": "C:\\Users\\dev\\AppData\\Roaming\\Python\\Python311\\site-packages\\shop\\core.py",
}
_CARET = re.compile(r"^\s*[\^~]+[\^~ ]*\n", re.MULTILINE)


class App:
    """One install of the module: call its functions and get the logged ECS error event."""

    def __init__(self, filename: str, shift: int) -> None:
        source = "\n" * shift + MODULE
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        self.namespace: dict[str, Any] = {"__name__": "shop.core"}
        exec(compile(source, filename, "exec"), self.namespace)

    def event(self, function: str, *args: Any, strip_carets: bool = False) -> dict[str, Any]:
        try:
            self.namespace[function](*args)
        except BaseException as exc:  # every scenario raises; the event is what the shipper logs
            text = "".join(traceback.format_exception(exc))
            if strip_carets:
                text = _CARET.sub("", text)
            return {
                "log": {"level": "error", "logger": "shop"},
                "error": {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "stack_trace": text},
            }
        raise AssertionError(f"{function}{args} did not raise")


@pytest.fixture
def install() -> Iterator[Callable[..., App]]:
    """Build App installs; their fake files are removed from linecache afterwards."""
    names: list[str] = []

    def make(where: str = "checkout", shift: int = 0) -> App:
        filename = INSTALLS[where]
        names.append(filename)
        return App(filename, shift)

    yield make
    for name in names:
        linecache.cache.pop(name, None)


def key(event: dict[str, Any]) -> str:
    fingerprint = fingerprint_event(event)
    assert isinstance(fingerprint, Fingerprint)
    return fingerprint.key


Scenario = Callable[[Callable[..., App]], tuple[dict[str, Any], dict[str, Any]]]

SAME_GROUP: list[Any] = [
    pytest.param(
        lambda i: (i(shift=0).event("api_handler", "x"), i(shift=17).event("api_handler", "y")),
        id="line-numbers-shifted-between-versions",
    ),
    pytest.param(
        lambda i: (i("checkout").event("checkout", "x"), i("venv").event("checkout", "x")),
        id="checkout-vs-venv",
    ),
    pytest.param(
        lambda i: (i("site-packages").event("checkout", "x"), i("dist-packages").event("checkout", "x")),
        id="site-packages-vs-dist-packages",
    ),
    pytest.param(
        lambda i: (i("venv").event("checkout", "x"), i("windows", shift=3).event("checkout", "x")),
        id="linux-venv-vs-windows-path",
    ),
    pytest.param(
        lambda i: (i().event("checkout", "x"), i().event("checkout", "x", strip_carets=True)),
        id="python311-carets-vs-310-without",
    ),
    pytest.param(
        lambda i: (i().event("api_handler", "x"), i().event("parse_quantity", "x")),
        id="different-callers-same-failing-statement",
    ),
    pytest.param(
        lambda i: (i().event("walk_from", 0), i().event("walk_from", 40)),
        id="recursion-depth",
    ),
    pytest.param(
        lambda i: (i().event("descend_from", 0), i().event("descend_from", 7)),
        id="recursion-depth-with-a-helper-per-level",
    ),
    pytest.param(
        lambda i: (i().event("get_user", {}, "user-1234"), i().event("get_user", {}, 987654)),
        id="variable-ids-in-message",
    ),
    pytest.param(
        lambda i: (i().event("batch", ["a", "b"]), i().event("batch", ["x", "y", "z", "w"])),
        id="exception-group-with-more-members",
    ),
    pytest.param(
        lambda i: (i().event("load", "/nonexistent/a.json"), i().event("load", "/nonexistent/other/b.json")),
        id="chained-exception-variable-path",
    ),
]

VARIABLE_DATA: list[Any] = [
    pytest.param("order 17 not found", "order 90210 not found", id="ids"),
    pytest.param("expected 3 items, got -12.5", "expected 40 items, got 7", id="numbers"),
    pytest.param("cannot read /var/data/a.txt", "cannot read /home/bob/in/b.csv", id="paths"),
    pytest.param("cannot read C:\\data\\a.txt", "cannot read D:\\in\\b.csv", id="windows-paths"),
    pytest.param(
        "no route to db-1.example.com:5432", "no route to cache.internal:6379", id="hosts-and-ports"
    ),
    pytest.param("peer 10.0.0.7 reset", "peer 192.168.1.20 reset", id="ip-addresses"),
    pytest.param(
        "bad <Conn object at 0x7f3a2b9c0d10>", "bad <Conn object at 0x55d0c0ffee00>", id="0x-addresses"
    ),
    pytest.param(
        "job 123e4567-e89b-12d3-a456-426614174000 lost",
        "job 9b2f0c1e-0000-4a4a-8b8b-000000000001 lost",
        id="uuids",
    ),
    pytest.param("unknown colour 'teal'", "unknown colour 'dark olive green'", id="quoted-values"),
    pytest.param("timed out after 3.5s", "timed out after 120ms", id="durations"),
    pytest.param("expired at 2024-05-01T10:00:00Z", "expired at 2025-12-31 23:59:59", id="dates"),
    pytest.param("3 retries left", "12 retries left", id="counts"),
    pytest.param("rejected ids [1, 2, 3]", "rejected ids [7]", id="lists-of-variable-length"),
    pytest.param(
        "bad rows:\n  row 1: 'a'\n  row 2: 'b'", "bad rows:\n  row 7: 'zz'", id="multi-line-messages"
    ),
]


@pytest.mark.parametrize(("first", "second"), VARIABLE_DATA)
def test_variable_data_in_a_raised_message_does_not_split(
    install: Callable[..., App], first: str, second: str
) -> None:
    """One raise statement with different data in its message is one group."""
    app = install()
    assert key(app.event("fail_with", first)) == key(app.event("fail_with", second))


@pytest.mark.parametrize(("first", "second"), VARIABLE_DATA)
def test_variable_data_in_a_logged_message_does_not_split(first: str, second: str) -> None:
    """Message-only error events (no template) whose messages differ only in variable data are one group."""

    def event(message: str) -> dict[str, Any]:
        return {"log": {"level": "error", "logger": "shop.jobs"}, "message": message}

    assert key(event(first)) == key(event(second))


DIFFERENT_GROUPS: list[Any] = [
    pytest.param(
        lambda i: (i().event("walk_from", 0), i().event("descend_from", 0)),
        id="two-different-infinite-recursions",
    ),
    pytest.param(
        lambda i: (i().event("check_limits", 11), i().event("check_limits", 1)),
        id="different-raising-statement",
    ),
    pytest.param(
        lambda i: (i().event("get_user", {}, "u1"), i().event("get_user", None, "u1")),
        id="different-exception-type",
    ),
    pytest.param(
        lambda i: (
            i().event("load_wrapped", FileNotFoundError(2, "No such file")),
            i().event("load_wrapped", PermissionError(13, "Permission denied")),
        ),
        id="different-cause-in-chain",
    ),
    pytest.param(
        lambda i: (i().event("validate_user", "x"), i().event("validate_item", "x")),
        id="same-exception-and-message-from-two-functions",
    ),
]


@pytest.mark.parametrize("scenario", SAME_GROUP)
def test_same_bug_stays_one_group(install: Callable[..., App], scenario: Scenario) -> None:
    """Two occurrences of one bug that differ only in incidental ways get the same grouping key."""
    first, second = scenario(install)
    assert first["error"]["stack_trace"] != second["error"]["stack_trace"]  # the texts really differ
    assert key(first) == key(second)


@pytest.mark.parametrize("scenario", DIFFERENT_GROUPS)
def test_different_bugs_get_different_groups(install: Callable[..., App], scenario: Scenario) -> None:
    """Two different bugs get different grouping keys."""
    first, second = scenario(install)
    assert key(first) != key(second)


def test_title_is_type_and_parameterized_message(install: Callable[..., App]) -> None:
    """The group name is the final exception's type and its message with variable tokens masked."""
    fingerprint = fingerprint_event(install().event("get_user", {}, "user-1234"))
    assert fingerprint is not None
    assert fingerprint.name == "KeyError: '<STR>' (core.get_user)"


def test_stdlib_failures_from_two_program_statements_split(install: Callable[..., App]) -> None:
    """json.loads failing for two different calls of the program are two groups; same call, one group."""
    app = install()
    exec(
        compile("import json\ndef a(t):\n    return json.loads(t)\ndef b(t):\n    return json.loads(t)\n",
                INSTALLS["checkout"], "exec"),
        app.namespace,
    )  # fmt: skip
    linecache.cache[INSTALLS["checkout"]] = (
        0, None, ["import json\n", "def a(t):\n", "    return json.loads(t)\n", "def b(t):\n",
                  "    return json.loads(t)\n"], INSTALLS["checkout"],
    )  # fmt: skip
    from_a_1, from_a_2, from_b = app.event("a", "{"), app.event("a", "[1, 2"), app.event("b", "{")
    assert key(from_a_1) == key(from_a_2)
    assert key(from_a_1) != key(from_b)


def _http_error(prefix: str, sep: str, shift: int, carets: bool, invoice: int) -> str:
    """A literal real-world traceback (requests' raise_for_status) as one install and Python print it."""
    path = prefix.replace("/", sep)
    caret = "              ^^^^^^^^^^^^^^^^^^^^^^^^^\n" if carets else ""  # 3.11+ prints carets, 3.10 none
    return (
        "Traceback (most recent call last):\n"
        f'  File "{path}{sep}billing{sep}jobs.py", line {57 + shift}, in run\n'
        "    invoice = fetch_invoice(invoice_id)\n"
        f"{caret}"
        f'  File "{path}{sep}billing{sep}client.py", line {31 + shift}, in fetch_invoice\n'
        "    response.raise_for_status()\n"
        f'  File "{path}{sep}requests{sep}models.py", line {1021 + shift}, in raise_for_status\n'
        "    raise HTTPError(http_error_msg, response=self)\n"
        "requests.exceptions.HTTPError: 404 Client Error: Not Found for url: "
        f"https://api.example.com/invoices/{invoice}\n"
    )


LITERAL_INSTALLS = [
    pytest.param(
        "/home/ci/.venv/lib/python3.10/site-packages", "/", 0, False, 8812, id="py310-venv-no-carets"
    ),
    pytest.param("/usr/lib/python3/dist-packages", "/", 4, True, 17, id="py312-dist-packages"),
    pytest.param("/usr/local/lib/python3.11/site-packages", "/", 2, True, 5, id="py311-site-packages"),
    pytest.param("C:/Users/ci/.venv/Lib/site-packages", "\\", 0, True, 99, id="windows-venv"),
]


@pytest.mark.parametrize(("prefix", "sep", "shift", "carets", "invoice"), LITERAL_INSTALLS)
def test_literal_tracebacks_from_other_installs_share_the_group(
    prefix: str, sep: str, shift: int, carets: bool, invoice: int
) -> None:
    """Literal texts of one bug from other installs, OSes and Python versions get the reference key."""
    reference = _http_error("/home/dev/.venv/lib/python3.11/site-packages", "/", 9, True, 1)
    text = _http_error(prefix, sep, shift, carets, invoice)
    assert text != reference
    assert key({"error": {"stack_trace": text}}) == key({"error": {"stack_trace": reference}})


def test_multi_line_statement_as_python311_and_python313_print_it() -> None:
    """3.11 prints a multi-line raise statement's first line only, 3.13 all of it: one group."""
    py311 = (
        "Traceback (most recent call last):\n"
        '  File "/home/ann/.venv/lib/python3.11/site-packages/shop/jobs.py", line 38, in run\n'
        "    check(\n"
        '  File "/home/ann/.venv/lib/python3.11/site-packages/shop/jobs.py", line 10, in check\n'
        "    raise LimitError(\n"
        "shop.errors.LimitError: order 4 exceeds 3\n"
    )
    py313 = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/shop/jobs.py", line 40, in run\n'
        "    check(\n    ~~~~~^\n        order,\n        ^^^^^^\n    )\n    ^\n"
        '  File "/srv/app/shop/jobs.py", line 12, in check\n'
        "    raise LimitError(\n    ...<2 lines>...\n    )\n"
        "shop.errors.LimitError: order 17 exceeds 10\n"
    )
    assert key({"error": {"stack_trace": py311}}) == key({"error": {"stack_trace": py313}})
