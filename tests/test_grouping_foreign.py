"""Stack traces of other runtimes in the pipeline (`shipper.grouping.foreign`): a real JVM's exception
and a real Go panic, in `error.stack_trace` or in the message, are keyed by their frames: the same bug
on another build (lines shifted, another directory), with other values, threads and goroutines, one
group; the same failure from another method or function another; titled `Type: message (culprit)`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from logloop.cli import main
from shipper.grouping.fingerprint import Fingerprint, clear_caches, fingerprint_document, fingerprint_event
from shipper.grouping.foreign import read_foreign
from shipper.grouping.message_only import has_key_of_its_own

_JAVA = """{padding}package com.shop;

public class Orders {{
    static class Session implements AutoCloseable {{
        final boolean loud;
        Session(boolean loud) {{ this.loud = loud; }}
        public void close() {{ if (loud) throw new IllegalStateException("session close failed"); }}
    }}
    static void inSession(String which, String value) {{
        try (Session session = new Session(which.endsWith("loud"))) {{ parseQty(value); }}
    }}
    static int parseQty(String raw) {{ return Integer.parseInt(raw); }}
    static int parsePrice(String raw) {{ return Integer.parseInt(raw); }}
    static void handle(String which, String value) {{
        try {{
            if (which.equals("qty")) parseQty(value); else if (which.equals("price")) parsePrice(value);
            else throw new IllegalArgumentException("no field " + which);
        }} catch (NumberFormatException e) {{
            throw new IllegalStateException("bad order " + value, e);
        }}
    }}
    public static void main(String[] args) throws Exception {{
        if (args.length > 2) {{
            Thread worker = new Thread(() -> handle(args[0], args[1]), args[2]);
            worker.start();
            worker.join();
        }} else if (args[0].startsWith("session")) {{
            inSession(args[0], args[1]);
        }} else {{
            System.err.println("12:00:01.042 ERROR [main] com.shop.Orders - order refused");
            handle(args[0], args[1]);
        }}
    }}
}}
"""

_GO = """package main
{padding}
import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

type Server struct{{ rows []int }}

func (s *Server) parseQty(raw string) int {{ n, _ := strconv.Atoi(raw); return s.rows[n] }}
func (s *Server) parsePrice(raw string) int {{ n, _ := strconv.Atoi(raw); return s.rows[n] }}
func lookup(m map[string]*Server, k string) int {{ return len(m[k].rows) }}
func refuse(name string) {{ panic(fmt.Sprintf("user %s not found", name)) }}

func main() {{
	s := &Server{{rows: []int{{1, 2, 3}}}}
	switch os.Args[1] {{
	case "qty":
		s.parseQty(os.Args[2])
	case "price":
		s.parsePrice(os.Args[2])
	case "goroutine":
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {{ defer wg.Done(); s.parseQty(os.Args[2]) }}()
		wg.Wait()
	case "nil":
		lookup(map[string]*Server{{}}, os.Args[2])
	case "refuse":
		refuse(os.Args[2])
	}}
}}
"""


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False, env=env)
    return done.stderr


@pytest.fixture(scope="module")
def java(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a real JVM prints for failures of two builds of one program (lines shifted, another
    directory), the same bug with other values and threads, and its siblings."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK")
    base = tmp_path_factory.mktemp("java")
    builds = {}
    for name, padding in (("one", ""), ("two", "// a comment\n\n\n")):
        source = base / name / "com" / "shop" / "Orders.java"
        source.parent.mkdir(parents=True)
        source.write_text(_JAVA.format(padding=padding), encoding="utf-8")
        _run(["javac", "-d", str(base / name / "out"), str(source)], base)
        builds[name] = str(base / name / "out")

    def run(build: str, *args: str) -> str:
        return _run(["java", "-cp", builds[build], "com.shop.Orders", *args], base)

    return {
        "first": run("one", "qty", "x7"),
        "values": run("two", "qty", "zz"),
        "thread": run("two", "qty", "41x", "worker-3"),
        "sibling": run("one", "price", "x7"),
        "other-exception": run("one", "size", "x7"),
        "session": run("one", "session-quiet", "x7"),
        "session-suppressed": run("two", "session-loud", "y8"),
    }


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What real Go programs print when they panic: two builds (lines shifted, another directory), the
    same bug with other values and in a goroutine, and its siblings."""
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain")
    base = tmp_path_factory.mktemp("go")
    env = {**os.environ, "GOCACHE": str(base / "cache"), "GOPATH": str(base / "path"), "GOFLAGS": "-mod=mod"}
    env.setdefault("HOME", str(base))
    binaries = {}
    for name, padding in (("one", ""), ("two/nested", "\n// a comment\n\n")):
        directory = base / name
        directory.mkdir(parents=True)
        (directory / "main.go").write_text(_GO.format(padding=padding), encoding="utf-8")
        _run(["go", "build", "-o", "app", "main.go"], directory, env)
        binaries[name] = str(directory / "app")

    def run(build: str, *args: str) -> str:
        return _run([binaries[build], *args], base)

    return {
        "first": run("one", "qty", "7"),
        "values": run("two/nested", "qty", "12"),
        "goroutine": run("two/nested", "goroutine", "9"),
        "sibling": run("one", "price", "7"),
        "nil": run("one", "nil", "x"),
        "refuse": run("one", "refuse", "bob"),
        "refuse-again": run("two/nested", "refuse", "ann"),
    }


_FORMS = {
    "stack-trace": lambda text: {"message": "job failed", "error": {"stack_trace": text}},
    "message": lambda text: {"message": f"job failed\n{text}"},
    "error-message": lambda text: {"error": {"message": text}},
}


def _key(text: str, form: str) -> Fingerprint:
    doc: dict[str, Any] = {"log": {"level": "error"}, **_FORMS[form](text)}
    clear_caches()
    found = fingerprint_document(doc)
    assert fingerprint_event(doc) == found and has_key_of_its_own(doc)
    return found


@pytest.mark.parametrize("form", list(_FORMS))
def test_a_java_exception_is_keyed_by_its_chains_frames(java: dict[str, str], form: str) -> None:
    """A JVM exception is keyed by each exception of its chain and its innermost frame outside the JDK:
    another build, values and thread one group, with or without a suppressed exception; another method
    or exception another."""
    keys = {name: _key(text, form) for name, text in java.items()}
    first = keys["first"]
    assert keys["values"].key == keys["thread"].key == first.key, java
    assert len({first.key, keys["sibling"].key, keys["other-exception"].key}) == 3
    assert first.name == "IllegalStateException: bad order <ID> (com.shop.Orders.handle)"
    assert keys["other-exception"].name.startswith("IllegalArgumentException: no field")
    assert keys["session"].key == keys["session-suppressed"].key  # (a suppressed exception is not read)
    assert "Suppressed: " in java["session-suppressed"]
    assert (
        keys["session"].name == 'NumberFormatException: For input string: "<STR>" (com.shop.Orders.parseQty)'
    )


@pytest.mark.parametrize("form", list(_FORMS))
def test_a_go_panic_is_keyed_by_its_goroutines_frame(go: dict[str, str], form: str) -> None:
    """A Go panic is keyed by the panicking goroutine's innermost frame outside the runtime, and a runtime
    error's kind: another build, values, goroutine one group; another function or error another; a
    `panic(value)` one group whatever the value."""
    keys = {name: _key(text, form) for name, text in go.items()}
    first = keys["first"]
    assert keys["values"].key == keys["goroutine"].key == first.key, go
    assert len({first.key, keys["sibling"].key, keys["nil"].key, keys["refuse"].key}) == 4
    assert keys["refuse"].key == keys["refuse-again"].key
    assert first.name == (
        "panic: runtime error: index out of range [<NUM>] with length <NUM> (main.(*Server).parseQty)"
    )


def test_logloop_cluster_keys_foreign_traces_by_their_frames(
    java: dict[str, str], go: dict[str, str], tmp_path: Path
) -> None:
    """`logloop cluster` keys JVM and Go traces by their frames (category `traceback`), as the shipper
    does, not by the line logged with them."""
    texts = [java["first"], java["thread"], java["sibling"], go["first"], go["goroutine"], go["sibling"]]
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"message": "job failed", "log": {"level": "error"}, "error": {"stack_trace": t}})
        for t in texts
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["cluster", str(source), "-o", str(tmp_path / "out.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    clusters = [row["cluster"] for row in rows]
    assert clusters[0] == clusters[1] and clusters[3] == clusters[4]
    assert len(set(clusters)) == 4
    assert {row["category"] for row in rows} == {"traceback"}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("java.lang.RuntimeException: boom", id="java-without-frames"),
        pytest.param("charge failed\n\tat the till", id="at-in-prose"),
        pytest.param("panic: x\n\ngoroutine 1 [running]:\n", id="go-without-frames"),
        pytest.param("goroutine 1 [running]:\nmain.f()\n\t/a.go:1\npanic", id="go-without-panic-line"),
        pytest.param("Caused by: java.io.IOException: x\n\tat A.b(A.java:1)\n" * 3000, id="long"),
        pytest.param("\n\tat " * 10_000, id="only-marks"),
    ],
)
def test_text_that_only_looks_foreign_gets_a_key_without_raising(text: str) -> None:
    """Text with a mark of a foreign trace but not its shape is read in bounded time, never raises, and
    still gets a key."""
    read_foreign(text)
    for form in _FORMS:
        doc: dict[str, Any] = {"log": {"level": "error"}, **_FORMS[form](text)}
        assert fingerprint_document(doc).key
