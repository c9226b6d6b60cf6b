"""A failure a standard-library logger reports (asyncio's "Task exception was never retrieved" and
"Exception in callback", `concurrent.futures`' "exception calling callback", `threading.excepthook`'s
"Exception in thread") names no program package:
its traceback's own frames tell which are the program's, so a library raise in a task is keyed by the
program's call, as when the program's own logger logs it. Real programs, run by real interpreters from
a checkout and as a package installed in dist-packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.keyed import checked_key

from shipper.grouping.fingerprint import fingerprint_document, fingerprint_event, frames_package
from shipper.grouping.tracebacks import TextMemo
from shipper.text_log import entries

# An installed library whose raising statement depends on its input (and its message on the value).
_LIBRARY = """
def parse(text):
    if text.startswith("["):
        raise ValueError(f"unclosed list in {text!r}")
    if text.startswith("{"):
        raise ValueError(f"unclosed mapping in {text!r}")
    return text
"""

# The program: two functions call the library alike (siblings); each runs in a task, a callback or a
# pool's done-callback, whose failure the standard library logs; or the program logs it itself.
_PROGRAM = """
import asyncio, concurrent.futures, gc, json, logging, sys, threading, traceback
import tinyparse


def load_config(text):
    return tinyparse.parse(text)


def load_rules(text):
    return tinyparse.parse(text)


async def job(function, text):
    function(text)


class Lines(logging.Handler):
    def emit(self, record):
        error = {"stack_trace": "".join(traceback.format_exception(*record.exc_info))}
        print(json.dumps({"log": {"logger": record.name, "level": record.levelname}, "error": error,
                          "message": record.getMessage()}), flush=True)


def main(mode, function, text):
    logging.getLogger().addHandler(Lines())
    if mode == "task":
        loop = asyncio.new_event_loop()
        task = loop.create_task(job(function, text))
        loop.run_until_complete(asyncio.sleep(0.01))
        del task
        gc.collect()
        loop.close()
    elif mode == "callback":
        loop = asyncio.new_event_loop()
        loop.call_soon(function, text)
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.close()
    elif mode == "thread":  # threading.excepthook prints the report to stderr: no logger
        thread = threading.Thread(target=function, args=(text,))
        thread.start()
        thread.join()
    elif mode == "pool":
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(len, text).add_done_callback(lambda future: function(text))
    else:
        try:
            function(text)
        except ValueError:
            logging.getLogger("taskapp.jobs").exception("load failed")


if __name__ == "__main__":
    main(sys.argv[1], globals()[sys.argv[2]], sys.argv[3])
"""


def _run(root: Path, layout: str, python: str, mode: str, function: str, text: str) -> dict[str, Any]:
    """The one error event the program logs in `mode`, installed under `root` as `layout` says (a
    checkout, or the program and the library in dist-packages), run by `python`."""
    packages = root / "lib/python3/dist-packages"
    library = packages / "tinyparse"
    program = (packages if layout == "installed" else root / "src") / "taskapp"
    for directory, text_of in ((library, _LIBRARY), (program, _PROGRAM)):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "__init__.py").write_text(text_of if directory == library else "", encoding="utf-8")
    (program / "jobs.py").write_text(_PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [python, "-m", "taskapp.jobs", mode, function, text],
        cwd=program.parent,
        env={**os.environ, "PYTHONPATH": str(packages)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    if mode == "thread":  # its stderr read as a text log, as `logloop cluster --text` reads one
        return next(entry.document() for entry in entries(done.stderr.splitlines(keepends=True)))
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(events) == 1, done.stdout + done.stderr
    event: dict[str, Any] = events[0]
    return event


def _pythons() -> list[str]:
    """This interpreter, and 3.10 (which prints no carets) where the machine has one."""
    older = shutil.which("python3.10")
    asked = [older, "-c", "import sys; print(sys.executable)"] if older else []
    # (pyenv's shim runs only the versions selected: PYENV_VERSION selects it; other installs ignore it)
    env = {**os.environ, "PYENV_VERSION": "3.10"}
    found = (
        subprocess.run(asked, capture_output=True, text=True, check=False, env=env).stdout if older else ""
    )
    return [sys.executable, *([found.strip()] if found.strip() and found.strip() != sys.executable else [])]


@pytest.mark.parametrize("mode", ["task", "callback", "pool", "thread"])
def test_a_library_raise_a_stdlib_logger_reports_is_keyed_by_the_programs_call(
    tmp_path: Path, mode: str
) -> None:
    """A library raise in a task, a callback or a pool's callback, logged by `asyncio` or
    `concurrent.futures`, or in a thread, reported by `threading.excepthook` (a text log), is one group
    whatever library statement raised, whatever the install (a checkout of another user, dist-packages)
    and the Python version; the same library call from another function of the program is another group."""
    pythons = _pythons()
    keys = {
        (function, text, layout, python): fingerprint_event(
            _run(tmp_path / f"{layout}-{index}", layout, python, mode, function, text)
        )
        for index, python in enumerate(pythons)
        for layout in ("checkout", "installed")
        for function in ("load_config", "load_rules")
        for text in ("[1, 2", "{a: 1")
    }
    assert None not in keys.values()
    for function in ("load_config", "load_rules"):
        mine = {found.key for (name, *_), found in keys.items() if name == function and found is not None}
        assert len(mine) == 1, (function, keys)
    config, rules = (keys[(name, "[1, 2", "checkout", pythons[0])] for name in ("load_config", "load_rules"))
    assert config is not None and rules is not None and config.key != rules.key


@pytest.mark.parametrize("layout", ["checkout", "installed"])
def test_a_task_failure_is_keyed_as_the_programs_logger_keys_it(tmp_path: Path, layout: str) -> None:
    """A task's failure asyncio logged has the key of the same failure the program's own logger logged
    (`taskapp.jobs`), on a checkout and on an installed host; `logloop cluster`'s memo gives the same."""
    task = _run(tmp_path / "task", layout, sys.executable, "task", "load_config", "[1")
    logged = _run(tmp_path / "logged", layout, sys.executable, "logged", "load_config", "{b")
    assert task["log"]["logger"] == "asyncio" and logged["log"]["logger"] == "taskapp.jobs"
    found, expected = fingerprint_event(task), fingerprint_event(logged)
    assert found is not None and expected is not None and found.key == expected.key
    memo: TextMemo[Any] = TextMemo(16, 100_000)
    assert fingerprint_document(task, memo=memo).key == found.key
    assert fingerprint_document(task, memo=memo).key == found.key  # (from the memo)


_TRACE = """Traceback (most recent call last):
  File "{program}", line 9, in job
    function(text)
  File "{program}", line 6, in load_config
    return tinyparse.parse(text)
  File "/usr/lib/python3/dist-packages/tinyparse/__init__.py", line 4, in parse
    raise ValueError(f"unclosed list in {{text!r}}")
ValueError: unclosed list in '[1'
"""


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        pytest.param("/home/ann/src/taskapp/jobs.py", "taskapp", id="checkout"),
        pytest.param("C:\\Users\\ann\\taskapp\\jobs.py", "taskapp", id="windows"),
        pytest.param("/usr/lib/python3/dist-packages/taskapp/jobs.py", "taskapp", id="installed"),
        pytest.param("/opt/venv/lib/python3.11/site-packages/taskapp.py", "taskapp", id="installed-module"),
        pytest.param("jobs.py", "jobs", id="relative-file"),
    ],
)
def test_the_package_a_tracebacks_frames_show(program: str, expected: str) -> None:
    """The program's package is the directory its frames outside installed packages share, else the
    outermost installed frame's package."""
    assert frames_package(_TRACE.format(program=program)) == expected


_CHAINED = """Traceback (most recent call last):
  File "/srv/venv/lib/python3.11/site-packages/urllib3/connection.py", line 204, in _new_conn
    sock = connection.create_connection(
ConnectionRefusedError: [Errno 111] Connection refused

{separator}

Traceback (most recent call last):
  File "/srv/venv/lib/python3.11/site-packages/taskapp/tokens.py", line 8, in {function}
    return requests.get(url, timeout=2)
  File "/srv/venv/lib/python3.11/site-packages/requests/adapters.py", line 700, in send
    raise ConnectionError(e, request=request)
requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded
"""


@pytest.mark.parametrize(
    "separator",
    [
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    ],
    ids=["cause", "context"],
)
def test_a_chained_failure_of_an_installed_program_is_read_from_its_final_traceback(separator: str) -> None:
    """The program's package of a chain (its program installed, a library's frame first in its cause) is
    read from the final exception's traceback: two coroutines' failures a stdlib logger reported in one
    library call stay two groups (the cause's `urllib3` was taken for the program: one group)."""
    names = ("refresh_tokens", "refresh_users")
    texts = [_CHAINED.format(separator=separator, function=name) for name in names]
    assert [frames_package(text) for text in texts] == ["taskapp", "taskapp"]
    events = [{"log": {"logger": "asyncio"}, "error": {"stack_trace": text}} for text in texts]
    found = [fingerprint_event(event) for event in events]
    assert found[0] is not None and found[1] is not None and found[0].key != found[1].key
    assert found[0].name.endswith("(tokens.refresh_tokens)"), found[0].name


def test_a_stdlib_raise_of_a_stdlib_logger_keeps_its_key() -> None:
    """Where a traceback shows no frame outside the standard library, no package is read, and the key is
    the one it had (the traceback's own)."""
    text = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/asyncio/events.py", line 84, in _run\n'
        "    self._context.run(self._callback, *self._args)\n"
        "ValueError: bad\n"
    )
    assert frames_package(text) == ""
    found = fingerprint_event({"log": {"logger": "asyncio"}, "error": {"stack_trace": text}})
    assert found is not None and found.key == checked_key(text).key
