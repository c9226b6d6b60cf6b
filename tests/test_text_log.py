"""`logloop cluster --text`: a plain-text log read as events (shipper.text_log), a traceback with the
line it follows, grouped as the shipper groups; checked on what real programs wrote to stderr."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipper.grouping.fingerprint import fingerprint_document, fingerprint_event
from shipper.text_log import entries

# A program that logs the way scripts do (`logging.basicConfig` to stderr), then dies of an uncaught
# exception. Each event it writes is announced on stdout: `EVENT <kind>`.
PROGRAM = textwrap.dedent(
    """
    import logging, sys

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    log = logging.getLogger("backup")

    def announce(kind):
        print("EVENT", kind, flush=True)

    def read_config(path):
        return open(path).read()

    def sync(feed):
        return {"eu": 1}[feed]

    def upload(size):
        try:
            raise ConnectionError(f"peer reset after {size} bytes")
        except ConnectionError as exc:
            raise RuntimeError("upload failed") from exc

    for day, feed in enumerate(["us", "asia", "us-west"]):
        announce("info")
        log.info("day %d: starting with %d feeds", day, 3)
        announce("missing-feed")
        try:
            sync(feed)
        except KeyError:
            log.exception("feed %s could not be synced", feed)
        announce("missing-config")
        try:
            read_config(f"/etc/backup/{feed}.toml")
        except OSError:
            log.exception("no configuration for %s", feed)
        announce("upload")
        try:
            upload(1000 * (day + 1))
        except RuntimeError:
            log.error("upload of day %d failed", day, exc_info=True)
    announce("group")
    try:
        raise ExceptionGroup("checks failed", [ValueError("disk"), TypeError("quota")])
    except ExceptionGroup:
        log.exception("health checks")
    announce("stack")
    log.warning("slow disk:\\n  sda 120 ms\\n  sdb 95 ms", stack_info=True)
    announce("crash")
    sys.stdout.flush()
    1 / 0
    """
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("textlog")
    script = folder / "backup.py"
    script.write_text(PROGRAM, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=folder, check=False
    )
    assert done.returncode == 1, done.stderr
    log = folder / "backup.log"
    log.write_text(done.stderr, encoding="utf-8")
    kinds = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith("EVENT ")]
    return log, kinds


def _cluster(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logloop.cli", "cluster", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_event_of_a_real_log_is_one_entry(written: tuple[Path, list[str]]) -> None:
    """Every event the program wrote is one entry, in order: a traceback (chained, a group, a stack)
    with the log line it follows, the uncaught exception on its own."""
    log, kinds = written
    found = list(entries(log.read_text(encoding="utf-8").splitlines(keepends=True)))
    assert len(found) == len(kinds)
    traced = [entry.stack_trace is not None for entry in found]
    assert traced == [kind not in ("info", "stack") for kind in kinds]
    assert found[-1].text.startswith("Traceback (most recent call last):")
    assert found[-1].document()["message"] == "ZeroDivisionError: division by zero"
    chained = found[kinds.index("upload")].text
    assert "The above exception was the direct cause" in chained and chained.count("Traceback (") == 2


def test_cluster_text_groups_recurrences_and_keeps_siblings_apart(written: tuple[Path, list[str]]) -> None:
    """`logloop cluster --text` gives the three days' KeyError one group, the OSError and the upload
    failure one each, every info line one template, and names each event's first line."""
    log, kinds = written
    done = _cluster("--text", str(log))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["category"] for row in rows] == [
        "traceback" if kind not in ("info", "stack") else "message" for kind in kinds
    ]
    by_kind: dict[str, set[str]] = {}
    for kind, row in zip(kinds, rows, strict=True):
        by_kind.setdefault(kind, set()).add(row["cluster"])
    for kind in ("info", "missing-feed", "missing-config", "upload"):
        assert len(by_kind[kind]) == 1, kind
    clusters = [next(iter(by_kind[kind])) for kind in ("missing-feed", "missing-config", "upload", "group")]
    assert len(set(clusters)) == 4
    lines = log.read_text(encoding="utf-8").splitlines()
    assert all(lines[row["line"] - 1] for row in rows)
    assert lines[rows[-1]["line"] - 1] == "Traceback (most recent call last):"
    assert rows[-1]["title"] == "ZeroDivisionError: division by zero (backup)"


def test_a_traceback_in_a_text_log_has_the_shippers_key(written: tuple[Path, list[str]]) -> None:
    """The key a traceback gets from a text log is the one the shipper's fingerprint gives its text."""
    log, _ = written
    found = list(entries(log.read_text(encoding="utf-8").splitlines(keepends=True)))
    rows = [json.loads(line) for line in _cluster("--text", str(log)).stdout.splitlines()]
    for entry, row in zip(found, rows, strict=True):
        if entry.stack_trace is None:
            continue
        shipped = fingerprint_event({"error": {"stack_trace": entry.stack_trace}})
        assert shipped is not None and shipped.key == row["cluster"]


COLLECTORS = {
    "journal": lambda pid, n: f"Dec  4 10:00:{n % 60:02d} vm backup.py[{pid}]: ",
    "journal-iso": lambda pid, n: f"2026-12-04T10:00:{n % 60:02d}+0000 vm backup.py[{pid}]: ",
    "journal-precise": lambda pid, n: (
        f"Dec 04 10:00:{n % 60:02d}.{n * 7919 % 10**6:06d} vm backup.py[{pid}]: "
    ),
    "journal, a host named like a level": lambda pid, n: (
        f"Dec  4 10:00:{n % 60:02d} info-db-1 backup.py[{pid}]: "
    ),
    "kubernetes": lambda pid, n: f"2026-12-04T10:00:{n % 60:02d}.{pid:09d}Z stderr F ",
    "docker": lambda pid, n: f"2026-12-04T10:00:{n % 60:02d}.{pid:09d}Z ",
}


@pytest.mark.parametrize("collector", COLLECTORS)
def test_a_collectors_prefix_on_every_line_is_read_past(
    written: tuple[Path, list[str]], collector: str
) -> None:
    """The same log with a collector's prefix on every line (a timestamp that changes from line to
    line) has the same entries, with the same texts, as the log itself."""
    log, _ = written
    lines = log.read_text(encoding="utf-8").splitlines()
    prefix = COLLECTORS[collector]
    prefixed = [prefix(2231, n) + line for n, line in enumerate(lines)]
    assert [(e.line, e.text) for e in entries(prefixed)] == [(e.line, e.text) for e in entries(lines)]


@pytest.mark.parametrize("collector", ["journal", "journal-iso", "journal-precise"])
def test_interleaved_processes_in_a_journal_are_put_back_together(
    written: tuple[Path, list[str]], collector: str
) -> None:
    """Two processes' lines interleaved line by line in a journal make each process's entries, whole,
    in the order of their first lines, and they key as the log of one process does."""
    log, _ = written
    lines = log.read_text(encoding="utf-8").splitlines()
    journal = COLLECTORS[collector]
    mixed = [journal(pid, n) + line for n, line in enumerate(lines) for pid in (101, 202)]
    alone = list(entries(lines))
    together = list(entries(mixed))
    assert [e.text for e in together] == [e.text for e in alone for _ in (101, 202)]
    assert [e.line for e in together] == sorted(e.line for e in together)


def _cut(line: str, size: int) -> list[str]:
    """`line` in pieces of `size` characters (one empty piece for an empty line)."""
    return [line[at : at + size] for at in range(0, len(line), size)] or [""]


@pytest.mark.parametrize("size", [1, 7, 40])
def test_lines_a_collector_cut_in_pieces_are_put_back_together(
    written: tuple[Path, list[str]], size: int
) -> None:
    """A log whose long lines the collector cut in pieces (CRI `P` lines before the `F` line; Docker
    json-file records without the line break), interleaved with another stream's lines, has the
    entries of the log itself, each numbered at its first piece, in order."""
    log, _ = written
    lines = log.read_text(encoding="utf-8").splitlines()
    cri: list[str] = []
    json_file: list[str] = []
    firsts: list[int] = []  # the number of each line's first piece, in the CRI log
    for n, line in enumerate(lines):
        pieces = _cut(line, size)
        firsts.append(len(cri) + 1)
        for index, piece in enumerate(pieces):
            tag = "F" if index == len(pieces) - 1 else "P"
            cri.append(f"2026-12-04T10:00:{n % 60:02d}.5Z stderr {tag} {piece}")
            cri.append(f"2026-12-04T10:00:{n % 60:02d}.6Z stdout F progress {n}.{index}")
            end = "\n" if tag == "F" else ""
            json_file.append(
                json.dumps({"log": piece + end, "stream": "stderr", "time": "2026-12-04T10:00:00Z"})
            )
    alone = list(entries(lines))
    from_cri = [entry for entry in entries(cri) if not entry.text.startswith("progress ")]
    assert [e.text for e in from_cri] == [e.text for e in alone]
    assert [e.line for e in from_cri] == [firsts[e.line - 1] for e in alone]
    assert [e.text for e in entries(json_file)] == [e.text for e in alone]
    every = [e.line for e in entries(cri)]
    assert every == sorted(every) and len(every) == len(alone) + len(cri) // 2


def test_a_line_cut_short_by_the_logs_end_is_kept() -> None:
    """Pieces of a line whose last piece never came (the log ends) are one entry, not lost."""
    found = list(
        entries(["2026-12-04T10:00:00Z stderr P Traceback (most ", "2026-12-04T10:00:00Z stderr P recent"])
    )
    assert [(e.line, e.text) for e in found] == [(1, "Traceback (most recent\n")]


# Prefixes an application or the tool that runs it writes before every line (n: the line's number).
APP_PREFIXES: dict[str, Callable[[int], str]] = {
    "docker compose logs": lambda n: "backup-1  | ",
    "pm2": lambda n: "0|backup   | ",
    "honcho": lambda n: f"10:{n // 60 % 60:02d}:{n % 60:02d} backup.1  | ",
    "kubectl logs --prefix": lambda n: "[pod/backup-7d9f8c/app] ",
    "formatter applied line by line": lambda n: f"2026-12-04 10:00:{n % 60:02d},{n * 37 % 1000:03d} backup: ",
    "tab after a tag": lambda n: f"worker[{n % 3}]\t",
    "heroku logs": lambda n: f"2026-12-04T10:00:{n % 60:02d}.{n * 37 % 1000:06d}+00:00 app[web.2]: ",
}


@pytest.mark.parametrize("shape", APP_PREFIXES)
def test_an_applications_own_prefix_is_learned_from_a_traceback(
    written: tuple[Path, list[str]], shape: str
) -> None:
    """The log with an application's prefix on every line (its digits changing from line to line) has
    the entries of the log itself, each with its first line's prefix, and its tracebacks key the
    same; a trailing blank the tool trimmed from a blank line changes nothing."""
    log, _ = written
    lines = log.read_text(encoding="utf-8").splitlines()
    prefix = APP_PREFIXES[shape]
    prefixed = [
        (prefix(n) + line).rstrip(" ") if not line else prefix(n) + line for n, line in enumerate(lines)
    ]
    alone = list(entries(lines))
    found = list(entries(prefixed))
    assert [(e.line, e.text) for e in found] == [(e.line, prefix(e.line - 1) + e.text) for e in alone]
    for entry, plain in zip(found, alone, strict=True):
        assert entry.stack_trace == plain.stack_trace
        assert (
            plain.stack_trace is None
            or entry.document()["message"] == plain.document()["message"]
            or (entry.document()["message"] == prefix(plain.line - 1) + plain.document()["message"])
        )


def test_services_interleaved_by_their_prefixes_are_put_back_together(
    written: tuple[Path, list[str]],
) -> None:
    """Two services' lines interleaved line by line, each with its own prefix, make each service's
    tracebacks whole, keyed as in the log of one; only a service's first traceback, which teaches
    its prefix, may lose the log line before it (an entry of its own)."""
    log, _ = written
    lines = log.read_text(encoding="utf-8").splitlines()
    mixed = [f"{service}  | {line}" for line in lines for service in ("web-1", "worker-1")]
    alone = [e.stack_trace for e in entries(lines) if e.stack_trace is not None]
    together = list(entries(mixed))
    traced = [e.stack_trace for e in together if e.stack_trace is not None]
    assert sorted(traced) == sorted(alone * 2)
    assert len(together) <= 2 * len(list(entries(lines))) + 2
    assert [e.line for e in together] == sorted(e.line for e in together)


def test_a_header_inside_a_message_teaches_no_prefix() -> None:
    """Text before a traceback header that does not end its line is no prefix: lines stay as written."""
    lines = ["note: Traceback (most recent call last): follows", "note: x", "  indented"]
    assert [e.text for e in entries(lines)] == [
        "note: Traceback (most recent call last): follows\n",
        "note: x\n  indented\n",
    ]


def test_a_text_log_read_as_json_lines_gets_a_hint(written: tuple[Path, list[str]]) -> None:
    """A text log given without --text fails every line, and the last line says to pass --text."""
    done = _cluster(str(written[0]))
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].endswith("for a text log, pass --text")


TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app.py", line 3, in <module>\n'
    "    main()\n"
    "ValueError: bad\n"
)
SHAPES: dict[str, tuple[str, int]] = {
    "lines": ("a\nb\nc\n", 3),
    "blank lines between": ("a\n\n\nb\n", 2),
    "crlf": ("a\r\n" + TRACE.replace("\n", "\r\n") + "b\r\n", 2),
    "message then traceback": ("boom\n" + TRACE + "next\n", 2),
    "two tracebacks back to back": (TRACE + TRACE, 2),
    "traceback after a blank line": ("boom\n\n" + TRACE, 2),
    "chained": (
        TRACE + "\nDuring handling of the above exception, another exception occurred:\n\n" + TRACE,
        1,
    ),
    "separator without traceback": (
        "a\nDuring handling of the above exception, another exception occurred:\n",
        2,
    ),
    "coloured": (
        "boom\n\x1b[35mTraceback (most recent call last):\x1b[0m\n" + TRACE.split("\n", 1)[1],
        1,
    ),
    "indented continuation": ("config:\n  a = 1\n  b = 2\nnext\n", 2),
    "group": (
        "checks\n  + Exception Group Traceback (most recent call last):\n"
        '  |   File "x.py", line 1, in <module>\n'
        "  | ExceptionGroup: e (1 sub-exception)\n  +-+---------------- 1 ----------------\n"
        "    | ValueError: v\n    +------------------------------------\nafter\n",
        2,
    ),
    "uncaught group": (
        "before\n\n  + Exception Group Traceback (most recent call last):\n"
        "  | ExceptionGroup: e (1 sub-exception)\n  +-+---------------- 1 ----------------\n"
        "    | ValueError: v\n    +------------------------------------\n",
        2,
    ),
    "traceback after a stack": (
        'slow\nStack (most recent call last):\n  File "x.py", line 1, in <module>\n' + TRACE,
        2,
    ),
    "stack info": (
        'slow\nStack (most recent call last):\n  File "x.py", line 1, in <module>\n    f()\nnext\n',
        2,
    ),
    "indented first line": ("  orphan\nnext\n", 2),
    "cut short": ('boom\nTraceback (most recent call last):\n  File "x.py", line', 1),
    "fatal error with its traceback": (
        "boom\nFatal Python error: init_import_site: Failed to import the site module\n"
        "Python runtime state: initialized\n" + TRACE + "next\n",
        3,
    ),
    "crash dump": (
        "boom\nFatal Python error: Aborted\n\nCurrent thread 0x00007f5fa365db80 (most recent call first):\n"
        '  File "x.py", line 16 in <module>\n\nExtension modules: yaml._yaml (total: 1)\n\nnext\n',
        3,
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_line_is_in_exactly_one_entry(shape: str) -> None:
    """Whatever the shape, entries keep every non-blank line once and in order, and split as expected."""
    text, count = SHAPES[shape]
    found = list(entries(text.splitlines(keepends=True)))
    assert len(found) == count
    kept = [line for entry in found for line in entry.text.splitlines() if line.strip()]
    assert kept == [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    numbers = [entry.line for entry in found]
    assert numbers == sorted(numbers) and all(
        text.splitlines()[n - 1].rstrip("\r") == entry.text.splitlines()[0]
        for n, entry in zip(numbers, found, strict=True)
    )


def test_an_entry_documents_its_traceback_from_its_header() -> None:
    """A logged exception's document has the log line as message, the traceback from its header and the
    logger the line names."""
    doc: dict[str, Any] = next(entries(("2026-12-04 ERROR x: boom\n" + TRACE).splitlines())).document()
    assert doc == {
        "message": "2026-12-04 ERROR x: boom",
        "error": {"stack_trace": TRACE},
        "log": {"logger": "x"},
    }


def test_bytes_that_are_not_utf8_are_kept_as_escapes(tmp_path: Path) -> None:
    """A text log with bytes that are not UTF-8 (a Latin-1 line) is grouped, the bytes read as `\\xNN`,
    and an empty log gives no output and no error."""
    log = tmp_path / "latin1.log"
    log.write_bytes(b"caf\xe9 closed\ncaf\xe9 closed\n")
    done = _cluster("--text", str(log))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2 and rows[0]["cluster"] == rows[1]["cluster"]
    assert rows[0]["title"].startswith("caf\\")  # (the miner masks the escape's hex)
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    nothing = _cluster("--text", str(empty))
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "")


# A program that dies in native code with faulthandler on: its dump (the reason, a blank line, each
# thread's frames, "Extension modules: ...") is what its stderr holds of the crash.
CRASHING = textwrap.dedent(
    """
    import ctypes, faulthandler, logging, os, sys, threading, time

    faulthandler.enable()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    log = logging.getLogger("feeds")

    def parse_blob():
        ctypes.string_at(0)

    def parse_head():
        ctypes.string_at(0)

    def wait_forever():
        time.sleep(60)

    def stall():
        time.sleep(60)

    kind = sys.argv[1]
    log.info("starting %s run %d", kind, os.getpid())
    if kind == "threads":
        threading.Thread(target=wait_forever, daemon=True).start()
        time.sleep(0.1)
        parse_blob()
    elif kind == "timeout":
        faulthandler.dump_traceback_later(0.2, exit=True)
        stall()
    elif kind == "abort":
        os.abort()
    else:
        {"blob": parse_blob, "head": parse_head}[kind]()
    """
)


@pytest.fixture(scope="module")
def crashes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The stderr of each kind of crash, by kind; `moved-blob` ran from another directory."""
    written: dict[str, str] = {}
    runs = [("a", "blob"), ("b", "blob"), ("a", "head"), ("a", "threads"), ("a", "timeout"), ("a", "abort")]
    for folder_name, kind in runs:
        folder = tmp_path_factory.mktemp(folder_name)
        script = folder / "feeds.py"
        script.write_text(CRASHING, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", str(script), kind],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0 and "(most recent call first):" in done.stderr, done.stderr
        written[kind if folder_name == "a" else f"moved-{kind}"] = done.stderr
    return written


def test_a_crash_dump_in_a_text_log_is_one_entry_keyed_by_the_crashing_frame(
    crashes: dict[str, str], tmp_path: Path
) -> None:
    """A faulthandler dump in a service's log is one event (its reason, threads and extension modules,
    not an entry a part), keyed as the shipper keys the dump: one crash site from two install paths is
    one group, and other crash sites, a crash with other threads listed, a timeout and an abort apart."""
    order = ["blob", "moved-blob", "head", "threads", "timeout", "abort"]
    log = tmp_path / "feeds.log"
    log.write_text("".join(crashes[kind] for kind in order), encoding="utf-8")
    found = list(entries(log.read_text(encoding="utf-8").splitlines(keepends=True)))
    assert len(found) == 2 * len(order), [entry.text for entry in found]  # a start line and a dump each
    dumps = found[1::2]
    assert all(dump.document()["error"]["stack_trace"] == dump.text for dump in dumps)
    done = _cluster("--text", str(log))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["line"] for row in rows] == [entry.line for entry in found]
    keys = dict(zip(order, (row["cluster"] for row in rows[1::2]), strict=True))
    assert keys["blob"] == keys["moved-blob"] == keys["threads"]  # the crashing thread's frames decide
    assert len({keys["blob"], keys["head"], keys["timeout"], keys["abort"]}) == 4
    titles = {row["title"] for row in rows[1::2]}
    assert "FatalPythonError: Segmentation fault (feeds.parse_blob)" in titles


_DUMP_THREADS = (
    "Thread 0x00007faff01426c0 (most recent call first):\n"
    '  File "/usr/lib/python3.12/threading.py", line 982 in run\n\n'
)
_DUMP_CURRENT = (
    "Current thread 0x00007faff0fd1b80 (most recent call first):\n"
    '  File "/srv/feeds/parse.py", line 5 in parse_blob\n'
    '  File "/srv/feeds/main.py", line 12 in <module>\n'
)
DUMPS: dict[str, str] = {
    "segfault": "Fatal Python error: Segmentation fault\n\n" + _DUMP_CURRENT,
    "threads and modules": (
        "Fatal Python error: Segmentation fault\n\n"
        + _DUMP_THREADS
        + _DUMP_CURRENT
        + "\nExtension modules: numpy.core._multiarray_umath, yaml._yaml (total: 2)\n"
    ),
    "runtime state": (
        "Fatal Python error: _PyMem_DebugRawFree: bad ID\nPython runtime state: initialized\n\n"
        + _DUMP_CURRENT
    ),
    "windows": "Windows fatal exception: access violation\n\n" + _DUMP_CURRENT,
    "thread names and C stack (3.14)": (
        "Fatal Python error: Segmentation fault\n\n"
        + _DUMP_CURRENT.replace(" (most", " [feeds] (most")
        + "\nCurrent thread's C stack trace (most recent call first):\n"
        '  Binary file "/usr/bin/python3.14", at _Py_DumpStack+0x4c [0x55d0c1a2b3cc]\n'
        "  <truncated rest of calls>\n"
    ),
    "timeout": "Timeout (0:00:05)!\n" + _DUMP_CURRENT.replace("Current thread", "Thread"),
    "dump without reason": _DUMP_CURRENT,
    "no Python frame": (
        "Fatal Python error: Segmentation fault\n\n"
        + _DUMP_THREADS
        + "Current thread 0x00007faff0fd1b80 (most recent call first):\n  <no Python frame>\n"
    ),
}


@pytest.mark.parametrize("shape", DUMPS)
def test_a_crash_dump_of_any_shape_is_one_entry_between_log_lines(shape: str) -> None:
    """Each shape of faulthandler dump between two log lines is one entry (every line once, in order),
    documented with the dump as its stack trace, and the log line after it is an entry of its own."""
    dump = DUMPS[shape]
    text = "2026-12-04 10:00:01 INFO feeds: start\n" + dump + "2026-12-04 10:00:09 INFO feeds: start\n"
    found = list(entries(text.splitlines(keepends=True)))
    assert [entry.text for entry in found] == [
        text.split("\n", 1)[0] + "\n",
        dump,
        text.rsplit("\n", 2)[1] + "\n",
    ]
    assert found[1].document() == {"message": dump.split("\n", 1)[0], "error": {"stack_trace": dump}}


# A program whose logging calls do not match their templates: `logging` prints a report of each to
# stderr ("--- Logging error ---", the traceback, "Call stack:" and its frames, "Message:", "Arguments:").
BAD_CALLS = textwrap.dedent(
    """
    import logging

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    log = logging.getLogger("shop")

    def charge(amount, currency):
        log.info("charged %s", amount, currency)

    def refund(amount):
        log.info("refunded %d", amount)

    log.info("start")
    charge(1, "EUR")
    refund("x")
    charge(30, "USD")
    log.info("end")
    """
)


def test_a_logging_error_report_is_one_entry_keyed_by_the_bad_call(tmp_path: Path) -> None:
    """Each report `logging` prints of a record it could not format is one entry (its call stack, message
    and arguments too, not an entry each), keyed by the program's logging call: the same bad call twice is
    one group, another bad call another (all were one group inside `logging`)."""
    script = tmp_path / "shop.py"
    script.write_text(BAD_CALLS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False
    )
    assert done.stderr.count("--- Logging error ---") == 3, done.stderr
    log = tmp_path / "shop.log"
    log.write_text(done.stderr, encoding="utf-8")
    found = list(entries(log.read_text(encoding="utf-8").splitlines(keepends=True)))
    assert [entry.text.split("\n", 1)[0].rsplit(" ", 1)[-1] for entry in found] == [
        "start",
        "---",
        "---",
        "---",
        "end",
    ]
    assert all(entry.text.rstrip().splitlines()[-1].startswith("Arguments: ") for entry in found[1:4])
    clustered = _cluster("--text", str(log))
    assert clustered.returncode == 0, clustered.stderr
    keys = [json.loads(line)["cluster"] for line in clustered.stdout.splitlines()][1:4]
    assert keys[0] == keys[2] != keys[1]


LOGGING_ERRORS: dict[str, str] = {
    "logged from file": (
        "--- Logging error ---\n" + TRACE + "Call stack:\nLogged from file shop.py, line 7\n"
        "Message: 'charged %s'\nArguments: (1, 'EUR')\n"
    ),
    "unprintable message": (
        "--- Logging error ---\n" + TRACE + 'Call stack:\n  File "shop.py", line 7, in charge\n'
        "    log.info(msg, amount)\n"
        "Unable to print the message and arguments - possible formatting error.\n"
        "Use the traceback above to help find the error.\n"
    ),
}


@pytest.mark.parametrize("shape", LOGGING_ERRORS)
def test_a_logging_error_report_of_any_shape_is_one_entry(shape: str) -> None:
    """Each shape of the report `logging` prints of a bad record is one entry between two log lines."""
    report = LOGGING_ERRORS[shape]
    text = "2026-12-04 10:00:01 INFO shop: start\n" + report + "2026-12-04 10:00:09 INFO shop: end\n"
    found = list(entries(text.splitlines(keepends=True)))
    assert [entry.text for entry in found][1] == report and len(found) == 3


_LIBRARY_RAISE = """Traceback (most recent call last):
  File "/srv/app/shop/{module}.py", line 12, in {function}
    response.raise_for_status()
  File "/srv/app/.venv/lib/python3.11/site-packages/requests/models.py", line 1024, in raise_for_status
    raise HTTPError(http_error_msg, response=self)
requests.exceptions.HTTPError: 404 Client Error: Not Found for url: http://partner/x
"""
# `logging`'s layouts that name the logger: basicConfig's default, `%(asctime)s %(levelname)s %(name)s:
# %(message)s`, the cookbook's `%(asctime)s - %(name)s - %(levelname)s - %(message)s` and `%(asctime)s
# %(name)-12s %(levelname)-8s %(message)s`, a bracketed level, fields in brackets before the name (the
# process, the thread), the name in brackets, the name with the line number, loguru's default layout;
# the time as ISO 8601 with a zone or as syslog writes it (`datefmt="%Y-%m-%dT%H:%M:%S%z"`, `"%b %d
# %H:%M:%S"`), where a collector's host and program would stand; coloredlogs' default layout (the
# host, then the name with the process; coloured on a terminal), logfmt's and structlog's key=value; the
# name after the level and a blank alone, told from the message by the program's frame of its module.
_LOGGER_LAYOUTS = {
    "basicConfig": "ERROR:shop.{module}:sync failed",
    "level name": "2026-12-05 10:00:01,123 ERROR shop.{module}: sync failed",
    "cookbook": "2026-12-05 10:00:01,123 - shop.{module} - ERROR - sync failed",
    "cookbook, padded columns": "2026-12-05 10:00:01,123 shop.{module:<12} ERROR    sync failed",
    "bracketed level": "2026-12-05 10:00:01 [ERROR] shop.{module}: sync failed",
    "process in brackets": "2026-12-05 10:00:01,123 ERROR [4242] shop.{module}: sync failed",
    "thread in brackets": "2026-12-05 10:00:01,123 [ERROR] [MainThread] shop.{module}: sync failed",
    "name in brackets": "2026-12-05 10:00:01,123 ERROR [shop.{module}] sync failed",
    "name and line": "2026-12-05 10:00:01,123 ERROR shop.{module}:42 sync failed",
    "loguru": "2026-12-05 10:00:01.123 | ERROR    | shop.{module}:sync:42 - sync failed",
    "ISO time, zone +0000": "2026-12-05T10:00:01+0000 ERROR shop.{module}: sync failed",
    "ISO time, zone +01:00": "2026-12-05T10:00:01.123+01:00 ERROR shop.{module}: sync failed",
    "ISO time, zone Z": "2026-12-05T10:00:01Z ERROR shop.{module}: sync failed",
    "ISO time, zone, bracketed level": "2026-12-05T10:00:01+0000 [ERROR] shop.{module}: sync failed",
    "ISO time, zone, padded columns": "2026-12-05T10:00:01+0000 shop.{module:<12} ERROR    sync failed",
    "syslog's time": "Dec 05 10:00:01 ERROR shop.{module}: sync failed",
    "coloredlogs": "2026-12-05 10:00:01 vm shop.{module}[4242] ERROR sync failed",
    "name after the level, no colon": "2026-12-05T10:00:01+0000 ERROR shop.{module} sync failed",
    "coloredlogs, coloured": (
        "\x1b[32m2026-12-05 10:00:01\x1b[0m \x1b[35mvm\x1b[0m \x1b[34mshop.{module}\x1b[0m[4242]"
        " \x1b[1;31mERROR\x1b[0m \x1b[31msync failed\x1b[0m"
    ),
    "logfmt": 'time=2026-12-05T10:00:01+0000 level=ERROR logger=shop.{module} msg="sync failed: timeout"',
    "logfmt, quoted": 'ts="2026-12-05 10:00:01" logger_name="shop.{module}" level=error msg="sync failed"',
    "structlog key=value": "timestamp='2026-12-05T10:00:01Z' level='error' logger='shop.{module}' event='x'",
}


@pytest.mark.parametrize("layout", _LOGGER_LAYOUTS)
def test_the_logger_a_log_line_names_marks_the_programs_frames(layout: str) -> None:
    """The logger a line's layout names (`%(name)s`) is the entry's, as an ECS event's `log.logger`: a
    library's raise under it is keyed by the program's calling statement, as the shipper keys it."""
    docs = []
    for module, function in (("rates", "fetch_rates"), ("orders", "push_order")):
        line = _LOGGER_LAYOUTS[layout].format(module=module)
        text = line + "\n" + _LIBRARY_RAISE.format(module=module, function=function)
        (entry,) = entries(text.splitlines(keepends=True))
        docs.append(entry.document())
    assert [doc["log"]["logger"] for doc in docs] == ["shop.rates", "shop.orders"]
    keys = [fingerprint_event(doc) for doc in docs]
    shipped = fingerprint_event({"log": {"logger": "shop.rates"}, "error": docs[0]["error"]})
    assert keys[0] is not None and keys[1] is not None and shipped is not None
    assert keys[0].key == shipped.key != keys[1].key


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-05T10:00:01+0000 ERROR shop.rates: sync failed",
        "2026-12-05T10:00:01.123456+01:00 [ERROR] shop.rates: sync failed",
        "2026-12-05T10:00:01+0000 error shop.rates: sync failed",
        "Dec 05 10:00:01 CRITICAL shop.rates: sync failed",
        "2026-12-05T10:00:01+0000 shop.rates ERROR: sync failed",
        "Dec 05 10:00:01 [shop.rates] ERROR: sync failed",
    ],
)
def test_a_programs_own_time_and_level_are_not_a_journals_host_and_program(line: str) -> None:
    """A log line whose layout puts a level name after a journal's time, where its host or program would
    stand (`ERROR shop.rates: `, `shop.rates ERROR: `), is the program's own, not a journal's: it and
    its traceback are one entry, kept whole."""
    text = line + "\n" + _LIBRARY_RAISE.format(module="rates", function="f")
    assert [entry.text for entry in entries(text.splitlines(keepends=True))] == [text]


def test_a_line_naming_no_logger_gives_its_entry_none() -> None:
    """A line whose layout names no logger (a bare message, Flask's `ERROR in app:` module, a level then
    prose, a first word after the level that names no frame's module) gives none."""
    for line in (
        "sync failed",
        "[2026-12-05 10:00:01] ERROR in app: Exception on /x [GET]",
        "2026-12-05 10:00:01 ERROR Failed to connect to http://partner/x",
        "2026-12-05 10:00:01 ERROR config.yaml is missing a key",
    ):
        (entry,) = entries(
            (line + "\n" + _LIBRARY_RAISE.format(module="rates", function="f")).splitlines(True)
        )
        assert "log" not in entry.document()


_VIEW_TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/shop/views.py", line 4, in user
    return USERS[name]
           ~~~~~^^^^^^
KeyError: 'bob'
"""


@pytest.mark.parametrize(
    "other",
    [
        pytest.param('172.18.0.1 - - [04/Dec/2026 10:00:01] "GET /users/bob HTTP/1.1" 500 -', id="werkzeug"),
        pytest.param(
            '10.0.0.7 - - [06/Dec/2026:12:31:23 +0000] "GET /users/bob HTTP/1.1" 500 141 "-" "curl/8.5.0"',
            id="gunicorn-access",
        ),
        pytest.param('[06/Dec/2026 10:00:01] "GET /users/bob HTTP/1.1" 500 1234', id="django-runserver"),
        pytest.param("Not Found: /favicon.ico", id="django-not-found"),
        pytest.param("Internal Server Error: /users/bob", id="django-server-error"),
        pytest.param("Forbidden (CSRF token missing.): /orders", id="django-forbidden"),
    ],
)
def test_another_producers_line_in_a_stamped_log_is_an_entry_of_its_own(other: str) -> None:
    """A web server's access line (the Common Log Format) or Django's request line, written unstamped on
    the stream of a stamped log, starts an entry: it is not taken into the record before it, and a
    traceback after it is its own."""
    text = (
        "2026-12-06 10:00:01,100 INFO shop.requests: handling /users/bob\n"
        + _VIEW_TRACEBACK
        + other
        + "\n"
        + _VIEW_TRACEBACK
        + "2026-12-06 10:00:02,100 INFO shop.requests: done\n"
    )
    found = list(entries(text.splitlines(keepends=True)))
    firsts = [entry.text.partition("\n")[0] for entry in found]
    assert firsts == ["2026-12-06 10:00:01,100 INFO shop.requests: handling /users/bob", other, firsts[2]]
    assert firsts[2].startswith("2026-12-06 10:00:02,100") and "KeyError" in found[1].text


def test_a_stamped_records_unstamped_message_lines_still_continue_it() -> None:
    """A stamped record's message that goes on over unstamped lines (a path after a colon included) stays
    one entry: only whole access or request lines start their own."""
    text = "2026-12-06 10:00:01,100 INFO shop: moved files:\n  /srv/a.txt\nfrom: /srv/in\n"
    assert len(list(entries(text.splitlines(keepends=True)))) == 1


def test_a_warning_logging_captured_is_keyed_as_the_warning_printed_raw() -> None:
    """A warning `logging.captureWarnings` logged (`... py.warnings: path:N: XWarning: ...`) is keyed as
    the same warning `warnings` printed without logging: one group; another logger's line is not read so."""
    warning = "/srv/app/jobs.py:9: DeprecationWarning: legacy() is deprecated, use modern()"
    raw = warning + "\n  work.legacy(1)\n"
    captured = "2026-12-06 10:00:01,251 WARNING [MainThread] py.warnings: " + raw
    other = "2026-12-06 10:00:01,251 WARNING [MainThread] shop.jobs: " + raw
    keys = []
    for text in (raw, captured, other):
        (entry,) = entries(text.splitlines(keepends=True))
        keys.append(fingerprint_document(entry.document()).key)
    assert keys[0] == keys[1] != keys[2]
