"""Two methods of one name in one file (`Reader.close`, `Writer.close`) failing on one statement's text
are two groups when the handler logged them: it records the qualified names of the frames whose bare
names collide in their file (`logloop.qualnames`), which a printed traceback cannot show; every other
frame keeps the key of its printed text. Real programs, run by 3.11, 3.12 and 3.13 where the machine has
them, from two install paths with shifted lines."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shipper.formatter import EcsFormatter
from shipper.frame_names import colliding_qualnames
from shipper.grouping.fingerprint import fingerprint_document, fingerprint_event
from shipper.grouping.qualnames import with_qualnames
from shipper.grouping.tracebacks import TextMemo
from shipper.spool.records import decode, encode_record

_PROGRAM = """
import logging, sys
from shipper.formatter import EcsFormatter


class Reader:
    def close(self, value):
        raise OSError(f"cannot close {value}")

    def parse(self, values):
        return [int(value) for value in values]


class Writer:
    def close(self, value):
        raise OSError(f"cannot close {value}")

    def parse(self, values):
        return [int(value) for value in values]


class Pool:
    def drain(self, value):
        raise OSError(f"cannot close {value}")


class Lines(logging.Handler):
    def emit(self, record):
        print(self.format(record), flush=True)


if __name__ == "__main__":
    handler = Lines()
    handler.setFormatter(EcsFormatter(service_name="twins"))
    logging.getLogger().addHandler(handler)
    owner, method, value = sys.argv[1:]
    try:
        getattr(globals()[owner](), method)(value if method != "parse" else [value])
    except Exception:
        logging.getLogger("twinapp.io").exception("failed")
"""

_CALLS = [
    ("Reader", "close"),
    ("Writer", "close"),
    ("Reader", "parse"),
    ("Writer", "parse"),
    ("Pool", "drain"),
]


def _pythons() -> list[str]:
    """This interpreter, 3.12 (which inlines a comprehension's frame) and 3.13, where the machine has them."""
    found = [sys.executable]
    for version in ("3.12", "3.13"):
        command = shutil.which(f"python{version}")
        if command is None:
            continue
        # (pyenv's shim runs only the versions selected: PYENV_VERSION selects it; other installs ignore it)
        env = {**os.environ, "PYENV_VERSION": version}
        asked = [command, "-c", "import sys; print(sys.executable)"]
        executable = subprocess.run(
            asked, capture_output=True, text=True, check=False, env=env
        ).stdout.strip()
        if executable and executable not in found:
            found.append(executable)
    return found


def _documents(root: Path, python: str, padding: int) -> dict[tuple[str, str], dict[str, Any]]:
    """The document the handler's formatter made of each call's failure, the program installed under
    `root` (`padding` blank lines above its code) and run by `python`."""
    package = root / "twinapp"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "io.py").write_text("\n" * padding + _PROGRAM, encoding="utf-8")
    shipper = str(Path(__file__).resolve().parents[1])
    documents = {}
    for owner, method in _CALLS:
        done = subprocess.run(
            [python, "-m", "twinapp.io", owner, method, "x1"],
            cwd=root,
            env={**os.environ, "PYTHONPATH": os.pathsep.join((str(root), shipper))},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert len(lines) == 1, done.stdout + done.stderr
        documents[(owner, method)] = json.loads(lines[0])
    return documents


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[dict[tuple[str, str], dict[str, Any]]]:
    """The documents of every call, from each interpreter, on two install paths with other line numbers."""
    base = tmp_path_factory.mktemp("twins")
    return [
        _documents(base / f"{index}" / root, python, padding)
        for index, python in enumerate(_pythons())
        for root, padding in (("venv/lib/python3/site-packages", 0), ("home/bob/src/twins", 7))
    ]


def test_same_named_methods_of_one_file_are_two_groups(runs: list[dict[tuple[str, str], Any]]) -> None:
    """`Reader.close` and `Writer.close` raising one statement's text are two groups, and so are their
    comprehensions; each is one group on every interpreter, install path and line number."""
    keys = {call: {fingerprint_event(run[call]).key for run in runs} for call in _CALLS}  # type: ignore[union-attr]
    assert all(len(found) == 1 for found in keys.values()), keys
    assert keys[("Reader", "close")] != keys[("Writer", "close")]
    assert keys[("Reader", "parse")] != keys[("Writer", "parse")]


def test_the_title_names_the_class(runs: list[dict[tuple[str, str], Any]]) -> None:
    """The title's culprit is the method's qualified name."""
    found = fingerprint_event(runs[0][("Writer", "close")])
    assert found is not None and "Writer.close" in found.name


def test_a_method_whose_name_is_unique_keeps_the_key_of_its_printed_text(
    runs: list[dict[tuple[str, str], Any]],
) -> None:
    """A frame whose bare name no other function of its file has gets no recorded name: the handler's key
    is the key of the traceback as printed (a text log of it, `logloop cluster` over plain text)."""
    for run in runs:
        doc = run[("Pool", "drain")]
        assert "qualnames" not in doc.get("logloop", {})
        text = {"log": doc["log"], "error": {"stack_trace": doc["error"]["stack_trace"]}}
        assert fingerprint_event(doc) == fingerprint_event(text)


def test_a_stored_document_is_regrouped_to_the_handlers_key(runs: list[dict[tuple[str, str], Any]]) -> None:
    """An event read back from the store (its JSON `_source`, dotted or nested) keys as the handler did,
    with or without `logloop cluster`'s memo; the same text without the field keys as printed."""
    doc = runs[0][("Writer", "close")]
    stored = json.loads(json.dumps(doc))
    dotted = json.loads(json.dumps(doc))
    dotted["logloop.qualnames"] = dotted["logloop"].pop("qualnames")
    memo: TextMemo[Any] = TextMemo(16, 100_000)
    expected = fingerprint_event(doc)
    assert expected is not None
    for source in (stored, dotted):
        assert fingerprint_event(source) == expected
        assert fingerprint_document(source, memo=memo) == expected
    printed = {"log": doc["log"], "error": {"stack_trace": doc["error"]["stack_trace"]}}
    assert fingerprint_event(printed) != expected
    assert fingerprint_event(printed) == fingerprint_event(
        {"log": doc["log"], "error": {"stack_trace": runs[0][("Reader", "close")]["error"]["stack_trace"]}}
    )


@pytest.mark.es
def test_regroup_moves_stored_events_to_the_handlers_keys(
    runs: list[dict[tuple[str, str], Any]], es: Any, prefix: str
) -> None:
    """`logloop regroup` over events stored unkeyed (or by an older version) gives each the key the handler
    gives: the two methods two groups, their stored names kept; the same text stored without the field
    (another shipper's) keys as printed."""
    from helpers.analysis_docs import NOW, index_events

    from analyzers.regroup import run_regroup
    from analyzers.store import Store

    stored = []
    for index, call in enumerate([("Reader", "close"), ("Writer", "close"), ("Writer", "close")]):
        doc = json.loads(json.dumps(runs[0][call]))
        doc["@timestamp"] = (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        doc["event"] = {"id": f"twin-{index}", "dataset": "logloop.log"}
        doc["logloop"]["grouping_version"] = 1
        stored.append(doc)
    del stored[2]["logloop"]["qualnames"]  # another shipper's: the text only
    index_events(es, prefix, stored)
    result = run_regroup(Store(es, prefix), since=None, until=NOW, progress=False)
    assert result.updated == 3
    response = es.search(index=f"{prefix}-20*", size=10, query={"match_all": {}})
    keys = {hit["_id"]: hit["_source"]["error"]["grouping_key"] for hit in response["hits"]["hits"]}
    sources = {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}
    for doc in stored[:2]:
        found = fingerprint_event(runs[0][("Reader", "close") if doc is stored[0] else ("Writer", "close")])
        assert found is not None and keys[doc["event"]["id"]] == found.key
        assert sources[doc["event"]["id"]]["logloop"]["qualnames"] == doc["logloop"]["qualnames"]
    printed = {"log": stored[2]["log"], "error": {"stack_trace": stored[2]["error"]["stack_trace"]}}
    assert keys["twin-2"] == fingerprint_event(printed).key != keys["twin-1"]  # type: ignore[union-attr]


# In-process: what is recorded, through the spool's codec too.

_TWINS = textwrap.dedent(
    """
    import functools

    def traced(function):
        @functools.wraps(function)
        def wrapper(*args):
            return function(*args)
        return wrapper

    class Outer:
        class Inner:
            def reset(self):
                raise KeyError("reset")

        @staticmethod
        def reset():
            raise KeyError("reset")

    class Cache:
        @classmethod
        def reset(cls):
            raise KeyError("reset")

        @property
        def size(self):
            raise KeyError("size")

        @traced
        def load(self):
            raise KeyError("load")

    class Store:
        @property
        def size(self):
            raise KeyError("size")

        def load(self):
            raise KeyError("load")

    def nested():
        def load():
            raise KeyError("load")
        return load()
    """
)


def _module(tmp_path: Path) -> dict[str, Any]:
    """The namespace of a module of same-named functions, run from a file."""
    path = tmp_path / "twins_module.py"
    path.write_text(_TWINS, encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "twins_module"}
    exec(compile(_TWINS, str(path), "exec"), namespace)
    return namespace


def _recorded(call: Callable[[], object]) -> list[str]:
    try:
        call()
    except KeyError as exc:
        return [item.rpartition(":")[2] for item in colliding_qualnames(exc, exc.__traceback__)]
    raise AssertionError("did not raise")


def test_static_class_properties_decorated_and_nested_classes_are_named(tmp_path: Path) -> None:
    """A method is found as a class holds it (static, class method, property, behind a decorator that
    wraps it, in a nested class); a nested function and a module's function stay bare."""
    names = _module(tmp_path)
    assert _recorded(lambda: names["Outer"].Inner().reset()) == ["Outer.Inner.reset"]
    assert _recorded(names["Outer"].reset) == ["Outer.reset"]
    assert _recorded(names["Cache"].reset) == ["Cache.reset"]
    assert _recorded(lambda: names["Cache"]().size) == ["Cache.size"]
    assert _recorded(names["Cache"]().load)[-1] == "Cache.load"
    assert _recorded(names["Store"]().load) == ["Store.load"]
    assert _recorded(names["nested"]) == []


class _Hostile(type):
    """A metaclass whose attributes raise: looking the methods up must not touch them."""

    def __getattribute__(cls, name: str) -> Any:
        if name in ("__dict__", "__module__", "__qualname__"):
            raise RuntimeError("looked up")
        return super().__getattribute__(name)


class _HostileStatic(staticmethod):  # type: ignore[type-arg]
    """A static method whose attributes raise."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError("looked up")


class _Proxy:
    """A module global that raises on any attribute (a lazy proxy)."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError("looked up")


def test_looking_up_never_runs_the_programs_attribute_code(tmp_path: Path) -> None:
    """A class whose metaclass raises on attribute access, a static method and a global proxy that raise
    on any: the names are still found, and nothing raises."""
    names = _module(tmp_path)
    names["proxy"] = _Proxy()
    namespace = {"__module__": "twins_module", "reset": names["Store"].load, "drop": _HostileStatic(len)}
    hostile = _Hostile("Hostile", (), namespace)
    names["Hostile"] = hostile
    assert _recorded(names["Cache"].reset) == ["Cache.reset"]


def test_the_names_travel_through_the_spool(tmp_path: Path) -> None:
    """A record captured, written to the spool and read back (the agent's side) still has the names."""
    names = _module(tmp_path)
    formatter = EcsFormatter(service_name="svc")
    try:
        names["Store"]().load()
    except KeyError:
        record = logging.LogRecord("twins", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    _, captured = decode(encode_record(formatter.capture(record)))
    doc = formatter.document(captured)
    assert [name.rpartition(":")[2] for name in doc["logloop"]["qualnames"]] == ["Store.load"]
    assert fingerprint_event(doc) == fingerprint_event(formatter.to_document(record))


@pytest.mark.parametrize(
    "recorded",
    [
        pytest.param(None, id="none"),
        pytest.param("a.py:3:A.close", id="not-a-list"),
        pytest.param([3, None], id="not-text"),
        pytest.param(
            ["a.py:x:A.close", "a.py:3:close", "a.py:3:A.<locals>.close", ":3:A.close"], id="malformed"
        ),
    ],
)
def test_a_malformed_record_leaves_the_traceback_as_printed(recorded: object) -> None:
    """A field that is no list of `<file>:<line>:<qualname>` changes nothing."""
    text = (
        'Traceback (most recent call last):\n  File "a.py", line 3, in close\n    raise OSError()\nOSError\n'
    )
    assert with_qualnames(text, recorded) == text


_GENERATED = textwrap.dedent(
    """
    class {first}:
        def total(self):
            raise KeyError("total")


    class {second}:
        def total(self):
            raise KeyError("total")
    """
)


def test_equal_code_of_two_files_is_named_by_its_own_file(tmp_path: Path) -> None:
    """Two generated modules whose methods stand at the same lines with the same bodies (code objects that
    compare equal): each failure is named by its own class, whichever module failed first in the process."""
    modules = []
    for name, first, second in (("orders", "Order", "Refund"), ("invoices", "Invoice", "CreditNote")):
        text = _GENERATED.format(first=first, second=second)
        path = tmp_path / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        namespace: dict[str, Any] = {"__name__": name}
        exec(compile(text, str(path), "exec"), namespace)
        modules.append(namespace)
    orders, invoices = modules
    assert orders["Order"].total.__code__ == invoices["Invoice"].total.__code__  # (the case: equal code)
    assert _recorded(lambda: orders["Order"]().total()) == ["Order.total"]
    assert _recorded(lambda: invoices["Invoice"]().total()) == ["Invoice.total"]
    assert _recorded(lambda: invoices["CreditNote"]().total()) == ["CreditNote.total"]
