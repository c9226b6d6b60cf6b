"""Build the grouping evaluation set from real exceptions raised by real installed libraries.

Every bug of `fleetapp` (a made-up program: each registered function misuses a library one way) is
called through the program's entry points with several input values; the traceback Python prints is
recorded. Recurrences are then derived the way a fleet produces them:

- other install locations and user names: Linux venvs, a Docker image, a Debian package (the program
  itself under dist-packages), Windows (backslashes, drive letters);
- other library versions: the line numbers of library and standard-library frames shifted;
- Python 3.10's format (no caret lines) besides 3.11's, and the `<frozen runpy>` frames of `python -m`;
- other input values (variable text in messages) and other outer callers (other frames above).

The label of an event is its bug: the statement that failed, and how (the exception types of the
chain: an input that makes the statement raise another exception is another failure). Siblings stay
apart: the same exception and message raised from another function or file is another bug. Plug-in
failures raised again by a dispatcher (a funnel, with and without the cause chained) are labelled by
the plug-in's bug. Message-only error lines (see `messages.py`) complete the set. A bug whose library
is not installed, or that did not fail, is skipped and listed.

    python bench/evalset/generate.py [-o evalset.jsonl] [--seed N]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import importlib
import json
import random
import re
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = Path("/tmp/logloop-evalset/evalset.jsonl")
MODULES = (
    "billing", "shipping", "accounts", "storage", "reports", "web", "data", "views", "parsers", "db",
    "plugins", "tree", "tasks",
)  # fmt: skip
VALUES = ("alice", "cron", "42", "eu-west-1", "order 17", "Zoë", "a1b2c3d4", "")
RUNS_PER_BUG = 3  # raised for real: other values, other callers
VARIANTS_PER_RUN = 2  # derived by rewriting: other installs, versions, formats
_CARET_LINE = re.compile(r"^[ \t]*[\^~]+[\^~ \t]*\n", re.MULTILINE)
_FILE_LINE = re.compile(r'(File ")([^"]*)(", line )(\d+)')


@dataclass(frozen=True)
class Layout:
    """Where a host keeps the program, its libraries and the standard library."""

    name: str
    program: str
    packages: str
    stdlib: str
    windows: bool = False


LAYOUTS = (
    Layout("venv", "/home/{user}/fleet/src", "/home/{user}/fleet/.venv/lib/python3.11/site-packages",
           "/usr/lib/python3.11"),
    Layout("docker", "/app", "/usr/local/lib/python3.11/site-packages", "/usr/local/lib/python3.11"),
    Layout("debian", "/usr/lib/python3/dist-packages", "/usr/lib/python3/dist-packages",
           "/usr/lib/python3.11"),
    Layout("conda", "/opt/{user}/service", "/opt/conda/envs/fleet/lib/python3.11/site-packages",
           "/opt/conda/envs/fleet/lib/python3.11"),
    Layout("windows", "C:\\Users\\{user}\\fleet", "C:\\Users\\{user}\\fleet\\.venv\\Lib\\site-packages",
           "C:\\Program Files\\Python311\\Lib", windows=True),
)  # fmt: skip
USERS = ("dev", "ci", "maria", "svc-fleet", "jenkins")


class _Server(http.server.BaseHTTPRequestHandler):
    """Loopback partner API: /status/N answers N, /garbage answers non-JSON, /slow answers late."""

    def do_GET(self) -> None:
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            self.send_response(code)
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"<html>not json</html>")

    do_POST = do_GET

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # a client that timed out on purpose hung up
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def start_server() -> str:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def load_bugs() -> tuple[list[Any], list[str]]:
    """Import every bug module; a module that cannot be imported is skipped with its reason."""
    sys.path.insert(0, str(HERE))
    skipped = []
    for name in MODULES:
        try:
            importlib.import_module(f"fleetapp.{name}")
        except ImportError as exc:
            skipped.append(f"module fleetapp.{name}: {exc}")
    registry = importlib.import_module("fleetapp.registry")
    return list(registry.BUGS), skipped


def raise_once(bug: Any, value: str, caller: Any, recursion_limit: int) -> BaseException | None:
    """Call the bug through `caller` (and its funnel); the exception it raised, or None."""
    plugins = importlib.import_module("fleetapp.plugins")
    target = bug.function
    if bug.funnel:
        dispatch = plugins.dispatch if bug.funnel == "unchained" else plugins.dispatch_chained
        target = lambda v: dispatch(bug.function, v)  # noqa: E731
    old_limit = sys.getrecursionlimit()
    if bug.library == "recursion":
        sys.setrecursionlimit(recursion_limit)
    registry = importlib.import_module("fleetapp.registry")
    registry.MISSED.clear()
    try:
        caller(target, value)
    except BaseException as exc:
        if registry.MISSED:
            # The library is not installed: the bug is skipped, never recorded as a `Missing` failure
            # (an unchained funnel raises its own error with no link to the `Missing` it caught).
            raise registry.Missing(registry.MISSED[0]) from None
        return exc
    finally:
        sys.setrecursionlimit(old_limit)
    return None


def rewrite(text: str, layout: Layout, user: str, shift: int) -> str:
    """The traceback as printed on a host of `layout` with libraries `shift` lines off."""
    program = str(HERE)
    packages = sysconfig.get_paths()["purelib"]
    stdlib = sysconfig.get_paths()["stdlib"]

    def place(match: re.Match[str]) -> str:
        path, line = match[2], int(match[4])
        if path.startswith(packages):
            path, line = layout.packages.format(user=user) + path[len(packages) :], line + shift
        elif path.startswith(program):
            path = layout.program.format(user=user) + path[len(program) :]
        elif path.startswith(stdlib):
            path, line = layout.stdlib.format(user=user) + path[len(stdlib) :], line + shift // 2
        if layout.windows and not path.startswith("<"):
            path = path.replace("/", "\\")
        return f"{match[1]}{path}{match[3]}{line}"

    return _FILE_LINE.sub(place, text)


def as_py310(text: str) -> str:
    """Python 3.10 prints no caret lines (an ExceptionGroup does not exist there: left as it is)."""
    return text if "ExceptionGroup" in text else _CARET_LINE.sub("", text)


def with_runpy(text: str) -> str:
    """Run with `python -m`: two `<frozen runpy>` frames above the program's, as 3.11 prints them."""
    head = "Traceback (most recent call last):\n"
    frames = (
        '  File "<frozen runpy>", line 198, in _run_module_as_main\n'
        '  File "<frozen runpy>", line 88, in _run_code\n'
    )
    index = text.rfind(head)
    return text if index < 0 else text[: index + len(head)] + frames + text[index + len(head) :]


def failure_mode(exc: BaseException) -> str:
    """The exception types of the chain, root cause first: one input can make a statement fail
    another way (another exception raised, or a cause chained or not): another failure, another bug."""
    types = []
    seen: BaseException | None = exc
    while seen is not None and len(types) < 10:
        types.append(type(seen).__name__)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return ">".join(reversed(types))


def document(exc: BaseException, text: str, label: str, host: str) -> dict[str, Any]:
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return {
        "@timestamp": "2026-11-30T10:00:00Z",
        "log": {"level": "error", "logger": "fleetapp"},
        "message": f"{label.split('.')[-1]} failed",
        "error": {"type": name, "message": str(exc), "stack_trace": text},
        "host": {"name": host},
        "label": label,
    }


def recurrences(bug: Any, rng: random.Random) -> Iterator[dict[str, Any]]:
    entry = importlib.import_module("fleetapp.entry")
    for run in range(RUNS_PER_BUG):
        value = rng.choice(VALUES)
        caller = entry.CALLERS[run % len(entry.CALLERS)]
        exc = raise_once(bug, value, caller, recursion_limit=rng.choice((120, 160, 210)))
        if exc is None:
            return
        text = "".join(traceback.format_exception(exc))
        for variant in range(VARIANTS_PER_RUN):
            layout = rng.choice(LAYOUTS)
            user = rng.choice(USERS)
            shifted = rewrite(text, layout, user, shift=rng.choice((0, 3, 17, -2)) * (variant + run % 2))
            if rng.random() < 0.35:
                shifted = as_py310(shifted)
            if rng.random() < 0.25:
                shifted = with_runpy(shifted)
            yield document(exc, shifted, f"{bug.name}|{failure_mode(exc)}", f"{layout.name}-{user}")


def message_documents(rng: random.Random) -> Iterator[dict[str, Any]]:
    messages = importlib.import_module("messages")
    for statement in messages.STATEMENTS:
        label = "message:" + statement
        for _ in range(12):
            fields = {name: rng.choice(values) for name, values in messages.WORDS.items()}
            yield {
                "@timestamp": "2026-11-30T10:00:00Z",
                "log": {"level": "error", "logger": "fleet.ops"},
                "message": statement.format(**fields),
                "host": {"name": rng.choice(USERS)},
                "label": label,
            }


def build(seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The documents of the set and a summary (bugs, libraries, what was skipped and why)."""
    bugs, skipped = load_bugs()
    registry = importlib.import_module("fleetapp.registry")
    registry.BASE_URL = start_server()
    rng = random.Random(seed)
    docs: list[dict[str, Any]] = []
    used: set[str] = set()
    libraries: set[str] = set()
    for bug in bugs:
        try:
            found = list(recurrences(bug, rng))
        except registry.Missing as missing:
            skipped.append(f"{bug.name}: needs {missing} (not installed)")
            continue
        if not found:
            skipped.append(f"{bug.name}: did not fail")
            continue
        docs.extend(found)
        used.add(bug.name)
        libraries.add(bug.library)
    sys.path.insert(0, str(HERE))
    docs.extend(message_documents(rng))
    summary = {
        "bugs": len(used),
        "message_statements": len({doc["label"] for doc in docs if doc["label"].startswith("message:")}),
        "libraries": sorted(libraries),
        "events": len(docs),
        "skipped": skipped,
    }
    return docs, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    docs, summary = build(args.seed)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    print(
        f"wrote {summary['events']} events of {summary['bugs']} bugs raised in {len(summary['libraries'])} "
        f"libraries and {summary['message_statements']} message-only statements to {args.output}"
    )
    for reason in summary["skipped"]:
        print(f"skipped {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
