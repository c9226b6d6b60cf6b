"""A plain-text log as events: each line is one, except the lines of a Python traceback (and of any
other multi-line entry), which belong to the entry they follow. Pure, standard library only.

`logloop cluster --text` groups such a log (a program's stderr, a `logging.basicConfig` file) as it
groups ECS events: a traceback gets the key the shipper would give it, whatever line it follows
(`logger.exception`'s message line, or nothing for an uncaught exception), so the same bug in a text
log and in Elasticsearch is the same group.

An entry continues with:
- an indented line (a traceback's frames, source lines and carets, an exception group's boxes, a
  multi-line message's rest);
- a traceback's header (`Traceback (most recent call last):`, an uncaught exception group's) right
  after a line of an entry with no traceback and no stack yet (`logger.exception` prints the
  traceback under its message, and a `stack_info` stack after it);
- `Stack (most recent call last):` (`stack_info=True`), and a chained traceback's separator, the
  blank lines around it and the traceback after it;
- the exception line that ends a traceback (the first unindented line after its frames);
- the other layouts of a traceback: loguru's (a blank line after the header, between frames and
  before the exception line, the frame that caught it marked `> File`), Twisted's `Failure` (its
  `--- <exception caught here> ---` line between frames, a blank source line under a frame whose file
  it could not read; printed brief, `Traceback: <type>: <value>` and a line `path:N:function` for each
  frame; printed verbose, from `*--- Failure #N ---` to `*--- End of Failure #N ---`), rich's box
  (its header's line `╭─── Traceback (most recent call last) ───╮`, then lines starting `│` up to `╰`),
  and a worker process's failure re-raised by the parent (concurrent.futures, multiprocessing: its
  first line ends `RemoteTraceback: `, then the worker's traceback between two lines of three double
  quotes);
- asyncio's context lines (`future: <Task ...>`, `handle: <Handle ...>`) after the line of its
  report of a failure ("Task exception was never retrieved"), before the traceback.
An exception's message may span lines, after its exception line: PostgreSQL's fields (`DETAIL:  `,
`HINT:  `, `LINE 2: ` and its caret...), SQLAlchemy's statement and parameters (`[SQL: ...]`, over
lines until its `]`, after a blank line) and its `(Background on this error at: ...)`, and the fields
pydantic lists (`2 validation errors for User`: as many names, each with indented lines). In a log
whose records start with a time or a level (`_HEAD_RE`; logfmt's `time=...` or `level=...` too), any
line without one that starts nothing of its own (a traceback, a warning's location line, a crash
dump...) continues the entry before it, blank lines before it too: the rest of a multi-line message, an
exception's notes (`add_note`).
The report `logging` prints of a record it could not format goes on past its exception line with its
`Call stack:` (and frames, or `Logged from file ...`), `Message: ...` and `Arguments: ...` lines.
unittest's report of a failed test (`ERROR: test_x (module.Case.test_x)` or `FAIL: ...`, its docstring's
line, a line of dashes, the traceback, what the assertion printed after it: a diff, blank lines, up to
the next separator line) is an entry of its own, keyed as its traceback.
stackprinter's report (no header: its first frame line `File "path", line N, in f` at the line start,
after a record's line or after nothing, then indented context and variables, lines marked `-->`, blank
lines, more frame lines, `---- (full traceback above) ----` and the frames again, up to its exception
line; a chain's separator and the next report after it) is one entry, even in a stamped log.
pytest's report of a failed test (its header `____ test_x ____`, its traceback in any `--tb` style and
its captured output, up to the next test's header or a `====` section line) is an entry of its own.
A compile error's display without a traceback above it (`  File "bad.py", line 7`, the source line, its
caret, `SyntaxError: ...`: Python's report of a main script it cannot compile) is an entry of its own.
A crash dump faulthandler writes (`Fatal Python error: Segmentation fault`, `Windows fatal exception:
...`, `Timeout (0:00:05)!`, or a thread's header first) is an entry of its own, whatever comes before
it: blank lines, each thread's header (`Current thread 0x... (most recent call first):`) and indented
frames, `Python runtime state: ...`, `Extension modules: ...` and a traceback it prints continue it.
Any other line starts an entry (a second traceback without a separator is a second event); blank
lines between entries belong to none. Terminal colours are read past.

Collectors write a prefix before every line a program printed, a traceback's lines too: syslog and
the journal (`Dec  4 10:00:01 vm backup.py[2231]: `, and with ISO times; not a program's own layout
with a level name where the host stands, `2026-12-04T10:00:01+0000 ERROR shop.rates: `),
containerd/Kubernetes (`2026-12-04T10:00:01.1Z stderr F `), `docker logs --timestamps` and Docker's
json-file lines (`{"log": "...\n", "stream": "stderr", ...}`). Such a prefix is read past, and its
source (host and process, or stream) kept apart: a line continues only an entry of its own source, so
the interleaved lines of two processes make two processes' entries. A line the collector cut in pieces
(a CRI `P` line, a json-file `log` without its line break: over 16 KiB) is put back together first.

Other prefixes on every line are learned from the line a traceback's header (or a worker's
`RemoteTraceback: `) ends: whatever stands before the header there (`web-1  | `, `0|backup | `,
`2026-12-04 10:00:01,123 ERROR backup: ` of a formatter applied line by line) is the shape of a
prefix, its digits free, and the lines of that shape are read past it wherever that lets them
continue an entry. Each shape is a source of its own too (the services `docker compose logs`
interleaves), so a log stays one entry a line only where no traceback shows its prefix. Past the
prefix, a source's lines are read as a log of their own: where they stamp their records, an unstamped
line continues the record before it (its exception's notes), from the record whose traceback showed the
prefix on. Where the line after such a header lacks the prefix (a message that ends in a header, the
traceback under it), the header's entry goes on with the unprefixed lines.

An entry's logger is the one its first line's layout names (`ERROR:shop.rates:...`, `ERROR shop.rates:
...`, `- shop.rates - ERROR -`; `ERROR shop.rates ...` when a frame of its traceback is that module's
file), as an ECS event's `log.logger`: the program's package for its key.

The rule not to break: every non-blank line of the input belongs to exactly one entry, in order.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from shipper import json_lines
from shipper.lazy_regex import compile_cached

TRACEBACK_HEADER: Final = "Traceback (most recent call last):"
_GROUP_HEADER: Final = "  + Exception Group Traceback (most recent call last):"  # an uncaught group's
_STACK_HEADER: Final = "Stack (most recent call last):"  # `stack_info=True`: frames, no exception line
_CHAIN_SEPARATORS: Final = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# A separator a handler's column wrapped (RichHandler's): its first line, three words or more of it.
_WRAPPED_SEPARATORS: Final = frozenset(
    " ".join(words[:count]) for words in map(str.split, _CHAIN_SEPARATORS) for count in range(3, len(words))
)
# rich's traceback: a box, its top line naming the header, its other lines starting with these.
_RICH_TOP: Final = "╭"
# (its start only: a box narrower than the header cuts it, `╭─ Traceback (most recent call las─╮`, as
# RichHandler's message column of an 80-column console without a terminal does)
_RICH_HEADER: Final = "─ Traceback ("
_RICH_BOTTOM: Final = "╰"
_RICH_SIDES: Final = ("│", _RICH_BOTTOM)
_RICH_SUB: Final = "─ Sub-exception #"  # (rich 13.8 on: an exception group's member, after the group's line)
_LOGURU_MARKED: Final = '> File "'  # loguru: the frame that caught the exception
# Twisted's `Failure` marks the frame that caught the exception with an unindented line between frames.
_TWISTED_CAUGHT: Final = "--- <exception caught here> ---"
# Twisted's `Failure` printed brief (`getBriefTraceback`): its header names the type and value, then a
# line for each frame; printed verbose: frames, variables and the exception's lines between two marks.
# (`shipper.grouping.renderers.from_twisted` reads both.)
_TWISTED_BRIEF_RE: Final = compile_cached(
    r"Traceback(?: \(failure with no frames\))?: (?:<class '[^'\n]+'>|[^\W\d][\w.]*): "
)
_TWISTED_BRIEF_FRAME_RE: Final = compile_cached(r"(?:[A-Za-z]:)?[^\s:][^:\n]*:\d+:[^\s:()]+\s*")
_TWISTED_VERBOSE_RE: Final = compile_cached(r"\*--- Failure #\d+ (?:\(pickled\) )?---\s*")
_TWISTED_VERBOSE_END: Final = "*--- End of Failure #"
_TWISTED_STARTS: Final = ("Traceback: ", "Traceback (failure with no frames): ", "*--- Failure #")
# stackprinter's report (`shipper.grouping.renderers.from_stackprinter` reads it): no header, each frame
# a line `File "path", line N, in func` at the line start, its context and variables indented, the line
# that ran marked `-->`, blank lines between frames; its exception line is the first other line.
_STACKPRINTER_FRAME: Final = 'File "'
_STACKPRINTER_FRAME_RE: Final = compile_cached(r'File "[^\n]*", line \d+, in \S[^\n]*?[ \t\r\n]*')
_STACKPRINTER_MARK: Final = "-->"
_STACKPRINTER_SUMMARY: Final = "---- (full traceback above) ----"  # then the frames again, in short
_STACKPRINTER_LINES_TAKEN: Final = (_STACKPRINTER_MARK, _STACKPRINTER_FRAME, _STACKPRINTER_SUMMARY)
_FRAME_MARKS: Final = (*_RICH_SIDES, _LOGURU_MARKED, _TWISTED_CAUGHT)  # unindented lines among the frames
_HEADERS: Final = (TRACEBACK_HEADER, _GROUP_HEADER, _RICH_TOP)  # (rich's top line: if it names the header)
# A worker's failure as the parent re-raises it: the exception quoting the worker's traceback
# (`concurrent.futures.process._RemoteTraceback: `, `multiprocessing.pool.RemoteTraceback: `), the quote.
_REMOTE: Final = "RemoteTraceback:"
_REMOTE_ENDS: Final = (_REMOTE, _REMOTE + " ")
_LEARNT_FROM: Final = (TRACEBACK_HEADER, *_REMOTE_ENDS)  # the lines a prefix is learnt from end so
_QUOTE: Final = '"""\n'
# asyncio's report of a failure in a callback or a task nobody awaited ("Task exception was never
# retrieved", "Exception in callback ..."): its context, a line for each object, before the traceback.
_ASYNCIO_CONTEXT: Final = tuple(
    f"{name}: <" for name in ("future", "task", "handle", "protocol", "transport", "socket", "asyncgen")
)
# Terminal colours (Python 3.13 colours its tracebacks on a terminal): read past, kept in the text.
_COLOUR_RE: Final = compile_cached(r"\x1b\[[0-9;]*m")
# faulthandler's dump of a crashed (or stalled) program: the line that says why, or a thread's header;
# then blank lines, thread headers (and 3.14's C stack's) ending `_DUMP_BLOCK`, indented frames, its parts.
_DUMP_STARTS: Final = (
    "Fatal Python error: ",
    "Windows fatal exception: ",
    "Timeout (",
    "Current thread ",
    "Thread 0x",
    "Stack (most recent call first):",
)
_DUMP_BLOCK: Final = " (most recent call first):"
_DUMP_START_RE: Final = compile_cached(
    r"(?:Fatal Python error|Windows fatal exception): |Timeout \([^)\n]*\)!(?:\n|$)"
    r"|(?:Current thread|Thread|Stack)(?: 0x[0-9a-fA-F]+)?(?: \[[^\]\n]*\])? \(most recent call first\):"
)
_DUMP_PARTS: Final = ("Python runtime state: ", "Extension modules: ")
_DUMP_INITIALS: Final = frozenset(start[0] for start in _DUMP_STARTS)  # (one test for most lines)
# `logging`'s report of a record it could not format (`Handler.handleError`): its first line, and the
# lines it writes after the traceback.
_LOGGING_ERROR: Final = "--- Logging error ---"
_LOGGING_ERROR_PARTS: Final = (
    "Call stack:",
    "Logged from file ",
    "Message: ",
    "Arguments: ",
    "Unable to print the message and arguments",
    "Use the traceback above to help find the error.",
)

# The lines an exception's message goes on with after its exception line, for the libraries that write
# such messages (PostgreSQL's fields as libpq and psycopg write them, SQLAlchemy's parts).
_MESSAGE_PARTS_RE: Final = compile_cached(
    r"(?:DETAIL|HINT|CONTEXT|QUERY|WHERE|LOCATION|STATEMENT|INTERNAL QUERY|SCHEMA NAME|TABLE NAME"
    r"|COLUMN NAME|CONSTRAINT NAME|DATATYPE NAME):  |LINE \d+: |\[SQL: |\[parameters: |\[generated in "
    r"|\(Background on this error at: "
)
_OPEN_SQL: Final = "[SQL: "  # SQLAlchemy's statement, over as many lines as it has, up to its `]`
_AFTER_A_BLANK: Final = (_OPEN_SQL,)  # (SQLAlchemy writes a blank line before it)
# pydantic's first line of a validation error: as many field names follow, each with indented lines.
_VALIDATION_RE: Final = compile_cached(r"(\d+) validation errors? for \S")
# The level names a log writes at a record's start (or after its time).
_LEVEL_WORDS: Final = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTICE|TRACE|SEVERE)"
# A date (ISO 8601's `T` before its time too) or a time.
_STAMP: Final = (
    r"\d{4}[-/.]\d\d[-/.]\d\d(?:\b|T\d)|\d\d?[-/.]\d\d[-/.]\d{2,4}[ T,]|\d\d?:\d\d:\d\d\b"
    r"|[A-Z][a-z]{2},? +\d\d?,? (?:\d{4} )?\d\d:\d\d"
)
# The start of a record in a log that stamps its records: a date or a time (in brackets or not), an epoch
# time, or a level name (`logging.basicConfig`'s default `ERROR:root:...`); or a key=value layout's first
# field holding a date, a time or a level name, quoted or not, in any case (logfmt's `time=2026-12-06T...`,
# `level=error`, structlog's `timestamp='...'`). (Not an epoch time there: `user_id=1733475790` may start
# a line of a message.)
_HEAD_RE: Final = compile_cached(
    rf"\[?(?:{_STAMP}|\d{{10}}(?:\.\d+)?\b|{_LEVEL_WORDS}\b)"
    rf"|[A-Za-z_]\w*=[\"']?(?:{_STAMP}|(?i:{_LEVEL_WORDS})\b)"
)
# Lines a program (or the interpreter) writes unstamped in a stamped log that start an entry of their
# own: a warning's location line, the reports of an exception nobody caught in a thread, an unraisable
# exception, an atexit function, a task; a JSON object's line.
# A location line (`path:N: ` then a class's name), as `warnings` and pytest's `--tb=line` print one.
_LOCATION: Final = r"(?:[A-Za-z]:)?[^\s:][^:\n]*:\d+: \w*"
_OWN_START_RE: Final = compile_cached(
    rf"{_LOCATION}(?:Warning|Error)\b"
    r"|Exception ignored in|Exception in thread |Error in atexit"
    r"|Task exception was never retrieved|Exception in callback |--- Logging error ---"
    r"|\{\s*\"[^\n]*\}\s*$"  # a JSON logger's line, among the lines of another
    r"|-{20,}\s*$"  # the line above IPython's traceback
    r"|_{3,} \S.* _{3,}\s*$|={3,}(?: .* ={3,})?\s*$"  # pytest's report of a test, its sections
    r"|(?:FAIL|UNEXPECTED SUCCESS): \w+ \([\w.]+\)"  # unittest's report of a test (ERROR is a level)
    # a web server's access line on the same stream (werkzeug's, gunicorn's `--access-logfile -`, Django's
    # runserver: the Common Log Format, its time in brackets, then the request)
    r'|(?:\S+ \S+ \S+ )?\[[^\]\n]{10,40}\] "(?:[A-Z]{3,10} \S+ HTTP/[\d.]{1,3}|-)" \d{3}\b'
    # Django's `django.request` line (`Not Found: /favicon.ico`, `Internal Server Error: /users/bob`): a
    # reason phrase (and why, in brackets), then the path
    r"|(?:[A-Z][a-z]+ ){0,4}[A-Z][a-z]+(?: \([^)\n]{1,64}\))?: /\S*[ \t\r]*$"
)
_STAMPED_SOURCES: Final = 4096  # the most sources remembered as stamped (a journal's pids are many)
# The most lines an entry takes in for being unstamped in a stamped log, and the most lines of a display
# read to its end (SQLAlchemy's statement, IPython's traceback, pytest's report): past them, a line starts
# an entry as it would without (a log whose stamps stop, a display cut short, is not one endless entry).
_UNSTAMPED_LINES: Final = 500
_DISPLAY_LINES: Final = 5000
# (stackprinter writes some 12 lines for each frame it shows whole: a RecursionError's report is long)
_STACKPRINTER_LINES: Final = 20 * _DISPLAY_LINES
_ALL_HEADERS: Final = (*_HEADERS, _STACK_HEADER, *_CHAIN_SEPARATORS, *_DUMP_STARTS)


# The display of a compile error with no traceback above it (`python bad.py`, a SyntaxError in the main
# script): its first line is a frame's without a function; the SyntaxError's line ends it.
_COMPILE_FRAME_RE: Final = compile_cached(r'  File "[^"\n]+", line \d+[ \t\r]*(?:\n|$)')


# IPython's (and Jupyter's) traceback: a line of dashes, a header naming the exception's type
# (`ZeroDivisionError          Traceback (most recent call last)`), then blocks of numbered source lines
# and blank lines up to the exception's line (the type again, its message after it).
_IPYTHON_HEADER_RE: Final = compile_cached(r"([\w.]+) +Traceback \(most recent call last\)[ \t\r]*$")
_IPYTHON_MARK: Final = "Traceback (most recent call last)"
_DASHES_RE: Final = compile_cached(r"-{20,}[ \t\r]*")


# unittest's report of a failed test: its header (`ERROR: test_x (module.Case.test_x)`, `FAIL: ...`, a
# subtest's `(qty=0)` after it), the first line of the test's docstring if it has one, a line of dashes,
# then the traceback.
_UNITTEST_HEADER_RE: Final = compile_cached(r"(?:ERROR|FAIL|UNEXPECTED SUCCESS): \w+ \([\w.]+\)")
_UNITTEST_INITIALS: Final = ("ERROR: ", "FAIL: ", "UNEXPECTED SUCCESS: ")
# What ends the report: the line of `=` before the next test's, the line of dashes before the summary.
_UNITTEST_END_RE: Final = compile_cached(r"(?:={20,}|-{20,})[ \t\r]*$")

# pytest's report of a failed test: its header (`____ test_charge[5] ____`), then its traceback in any
# `--tb` style, captured output and blank lines, up to the next test's header or a section's line (`====`).
_PYTEST_TEST_RE: Final = compile_cached(r"_{3,} \S.* _{3,}[ \t\r]*$")
_PYTEST_SECTION_RE: Final = compile_cached(r"={3,}(?: .* ={3,})?[ \t\r]*$")


def _starts_its_own(line: str) -> bool:
    """Whether an unstamped line starts an entry even in a stamped log: a traceback's header, a crash
    dump, one of the interpreter's reports (`_OWN_START_RE`), stackprinter's first frame line."""
    plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
    return (
        plain.startswith(_ALL_HEADERS)
        or _OWN_START_RE.match(plain) is not None
        or (plain.startswith(_STACKPRINTER_FRAME) and _STACKPRINTER_FRAME_RE.fullmatch(plain) is not None)
    )


# RichHandler's columns: the time (`[12/05/26 10:00:01]`), the level name padded, the message. A record
# logged in the same second as the one before has blanks for its time (`omit_repeated_times`, its
# default): it is a record of its own where its level name stands in the level's column.
_LEVEL_NAME_RE: Final = compile_cached(r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|NOTICE|TRACE) ")
_TIME_COLUMN_RE: Final = compile_cached(r"\[[^\]\n]*\d[^\]\n]*\] +")


def _level_column(line: str) -> int:
    """The column of the level name after a bracketed time that starts `line` (RichHandler's), else 0."""
    time = _TIME_COLUMN_RE.match(line)
    if time is None or _LEVEL_NAME_RE.match(line, time.end()) is None:
        return 0
    return time.end()


def _repeats_a_time(line: str, level: int) -> bool:
    """Whether `line` is a record whose repeated time was left blank: blanks up to `level`, the column of
    the level name on its source's stamped lines, then a level name."""
    return (
        line[level - 1 : level] == " "
        and not line[:level].strip()
        and _LEVEL_NAME_RE.match(line, level) is not None
    )


def _starts_a_dump(line: str) -> bool:
    return line.startswith(_DUMP_STARTS) and _DUMP_START_RE.match(line) is not None


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a text log: its first line's number (from 1) and its lines, joined; `message`, its
    first line as logged when the handler left out a repeated time (RichHandler), else ""."""

    line: int
    text: str
    message: str = ""

    @property
    def stack_trace(self) -> str | None:
        """The traceback the entry holds, from its header's line on (from the header itself, past a
        prefix its first line keeps; from rich's box's top line; from the exception that quotes it, for
        a worker's: see `_REMOTE`); None without one."""
        headers = (TRACEBACK_HEADER, _GROUP_HEADER, _RICH_HEADER)
        found = [at for at in map(self.text.find, headers) if at >= 0]
        if not found:
            start = self._ipython_header()
            if start >= 0:  # from the line of dashes above its header
                above = self.text.rfind("\n", 0, max(start - 1, 0)) + 1
                dashes = _DASHES_RE.fullmatch(_COLOUR_RE.sub("", self.text[above : max(start - 1, 0)]))
                return self.text[above if dashes and start else start :]
            if self.text.startswith("___") and _PYTEST_TEST_RE.match(self.text.partition("\n")[0]):
                return self.text.partition("\n")[2] or None  # a test's report: what its header heads
            if self._is_dump() or _COMPILE_FRAME_RE.match(self.text):
                return self.text
            twisted = self._twisted_failure()
            if twisted >= 0:
                return self.text[twisted:]
            return self._stackprinter_report()
        start = min(found)
        line_start = self.text.rfind("\n", 0, start) + 1
        if self.text[line_start:start].isspace() or self.text.startswith(_RICH_HEADER, start):
            start = line_start
        if self.text.endswith(_QUOTE, 0, line_start):  # a worker's traceback: from the exception quoting it
            remote = self.text.rfind("\n", 0, line_start - len(_QUOTE) - 1) + 1
            quoting = self.text[remote : line_start - len(_QUOTE)].rstrip()
            if "\x1b" in quoting:  # (Python 3.13's colours: the exception's name, read past them)
                plain = _COLOUR_RE.sub("", quoting).rstrip()
                if plain.endswith(_REMOTE):
                    start = remote + quoting.rfind(plain.rsplit(" ", 1)[-1].partition(":")[0])
            elif quoting.endswith(_REMOTE):
                start = remote + quoting.rfind(" ") + 1  # (past a prefix its line keeps)
        return self.text[start:]

    def document(self) -> dict[str, Any]:
        """The entry as the ECS event a shipper would have sent for it: its first line as the message
        (for an uncaught exception, which has no log line, its exception line), its traceback if any."""
        stack_trace = self.stack_trace
        message = self.message or self.text.partition("\n")[0]
        if stack_trace is None:
            return {"message": _captured_warning(message) or message}
        logged = "\n" in self.text[: len(self.text) - len(stack_trace)]
        if not logged and not self._is_dump():  # an uncaught exception (a dump's first line says why)
            message = _exception_line(stack_trace) or message
        doc: dict[str, Any] = {"message": message, "error": {"stack_trace": stack_trace}}
        first = self.text.partition("\n")[0]
        logger = (_logger_named(first) or _logger_of_frames(first, stack_trace)) if logged else None
        if logger is None and first.startswith(_THREAD_HEADER):
            # `threading.excepthook`'s report of a thread's failure: the standard library reports it, as
            # its loggers do (`asyncio`'s), and the grouping reads the program's package from the frames
            logger = "threading"
        if logger:  # the program's package, as an ECS event's `log.logger` names it
            doc["log"] = {"logger": logger}
        return doc

    def _twisted_failure(self) -> int:
        """Where the first line of Twisted's failure printed brief or verbose starts (see `_TWISTED_STARTS`);
        -1 without one."""
        starts = [0] if self.text.startswith(_TWISTED_STARTS) else []
        starts += [at + 1 for at in (self.text.find("\n" + start) for start in _TWISTED_STARTS) if at >= 0]
        failures = (
            at
            for at in sorted(starts)
            if _TWISTED_BRIEF_RE.match(self.text, at) or _TWISTED_VERBOSE_RE.match(self.text, at)
        )
        return next(failures, -1)

    def _stackprinter_report(self) -> str | None:
        """The text from stackprinter's first frame line on (see `_STACKPRINTER_FRAME`; without its
        colours, which its styles but "plaintext" write); None without one."""
        text = _COLOUR_RE.sub("", self.text) if "\x1b" in self.text else self.text
        at = 0 if text.startswith(_STACKPRINTER_FRAME) else text.find("\n" + _STACKPRINTER_FRAME) + 1
        while at > 0 or (at == 0 and text.startswith(_STACKPRINTER_FRAME)):
            end = text.find("\n", at)
            if _STACKPRINTER_FRAME_RE.fullmatch(text[at : end if end >= 0 else len(text)]):
                return text[at:]
            at = text.find("\n" + _STACKPRINTER_FRAME, at) + 1
        return None

    def _ipython_header(self) -> int:
        """Where the first line of IPython's traceback header starts (its colours read past); -1."""
        at = self.text.find(_IPYTHON_MARK)
        while at >= 0:
            start = self.text.rfind("\n", 0, at) + 1
            end = self.text.find("\n", at)
            line = self.text[start : end if end >= 0 else len(self.text)]
            if _IPYTHON_HEADER_RE.match(_COLOUR_RE.sub("", line) if "\x1b" in line else line):
                return start
            at = self.text.find(_IPYTHON_MARK, at + 1)
        return -1

    def _is_dump(self) -> bool:
        """Whether the entry is a faulthandler dump (its first line says why, or is a thread's header)."""
        return _starts_a_dump(_COLOUR_RE.sub("", self.text) if "\x1b" in self.text else self.text)


# The logger a `logging` layout writes beside the level name (`%(name)s`): basicConfig's default
# (`ERROR:shop.rates:...`); a level then the name and a colon, a line number, a dash or a bar, past
# fields in brackets (`ERROR shop.rates: ...`, `[ERROR] shop.rates: ...`, `ERROR [1234] shop.rates: ...`,
# `ERROR shop.rates:42 ...`, loguru's `| ERROR    | shop.rates:fetch:12 - ...`), or the name in brackets
# (`ERROR [shop.rates] ...`); the name before the level (`- shop.rates - ERROR -`, and the cookbook's
# `2005-03-19 15:10:26,618 shop.rates   ERROR    ...`, right after the time and its zone if any, and
# coloredlogs' `vm shop.rates[4242] ERROR ...`, the process after it); or a key's value, as logfmt and
# structlog's key=value layouts write it (`level=ERROR logger=shop.rates`, `logger='shop.rates'`).
_LEVELS: Final = r"(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|EXCEPTION)"
_NAME: Final = r"[A-Za-z_][\w.]*"
_LOGGER_RE: Final = compile_cached(
    rf"\b{_LEVELS}:(?P<plain>{_NAME}):"
    rf"|\b{_LEVELS}\]?(?: +\[[^\]\n]{{1,40}}\])* +(?:[-|] +)?"
    rf"(?:(?P<named>{_NAME})(?:: |:\w| - | \| )|\[(?P<bracketed>{_NAME})\][ :])"
    rf"| - (?P<before>{_NAME}) - {_LEVELS}\b"
    rf"|\d\d:\d\d:\d\d(?:[,.]\d{{1,6}})?(?:Z|[+-]\d\d:?\d\d)? (?P<first>{_NAME}) +{_LEVELS}\b"
    rf"| (?P<process>{_NAME})\[\d+\] +{_LEVELS}\b"
    rf"|(?<![\w.])logger(?:_name)?=[\"']?(?P<keyed>{_NAME})"
)
_LOGGER_SPAN: Final = 200  # a layout's fields come first: the rest of a long line is message


def _logger_named(line: str) -> str | None:
    """The logger a log line's layout names (see `_LOGGER_RE`; its colours read past), else None."""
    plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
    found = _LOGGER_RE.search(plain, 0, _LOGGER_SPAN)
    if found is None:
        return None
    return next((name for name in found.groupdict().values() if name), None)  # (its layout's one)


# A layout that writes the name after the level and a blank alone (`%(levelname)s %(name)s %(message)s`):
# nothing in the line tells the name from a message's first word (`ERROR Failed to connect`), but a
# logger named after its module (`logging.getLogger(__name__)`) names a frame's file of its traceback.
_BARE_NAME_RE: Final = compile_cached(rf"\b{_LEVELS} +(?P<name>{_NAME}) ")


_THREAD_HEADER: Final = "Exception in thread "  # (`threading.excepthook`: "... Thread-1 (work):")


def _logger_of_frames(line: str, stack_trace: str) -> str | None:
    """The name a log line writes after its level and a blank (`_BARE_NAME_RE`), if a frame of its
    traceback is that module's file (`shop.cfg`: `.../shop/cfg.py` or `.../shop/cfg/__init__.py`),
    else None."""
    plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
    found = _BARE_NAME_RE.search(plain, 0, _LOGGER_SPAN)
    if found is None:
        return None
    module = found["name"].replace(".", "/")
    paths = stack_trace.replace("\\", "/")  # (a Windows path's separators)
    return found["name"] if f"/{module}.py" in paths or f"/{module}/__init__.py" in paths else None


def _captured_warning(line: str) -> str | None:
    """The warning a log line holds when `logging.captureWarnings` logged it (`... WARNING py.warnings:
    /srv/app/jobs.py:9: DeprecationWarning: ...`): its location line, as `warnings` prints it unlogged
    (so both are one group); else None."""
    at = line.find(_WARNINGS_LOGGER, 0, _LOGGER_SPAN)
    if at < 0 or _logger_named(line) != "py.warnings":
        return None
    location = line[at + len(_WARNINGS_LOGGER) :].lstrip()
    return location if _WARNING_LOCATION_RE.match(location) else None


_WARNINGS_LOGGER: Final = "py.warnings:"
_WARNING_LOCATION_RE: Final = compile_cached(rf"{_LOCATION}Warning\b")


def _exception_line(stack_trace: str) -> str | None:
    """The line of the last exception of a traceback: the first unindented line after its last frame
    (its message may go on over more lines), else its last unindented line."""
    lines = stack_trace.splitlines()[1:]
    unindented = [at for at, line in enumerate(lines) if line[:1] not in ("", " ", "\t")]
    frames = [at for at, line in enumerate(lines) if line.lstrip(" \t|").startswith('File "')]
    after = [at for at in unindented if frames and at > frames[-1]]
    found = after[0] if after else (unindented[-1] if unindented else None)
    return None if found is None else lines[found]


def _blank_source(current: _Open, line: str) -> bool:
    """Whether a blank `line` is the source line of the frame line before it (indented, right under it):
    Twisted's `Failure` writes one for a frame whose file it cannot read (`<string>`), where `traceback`
    writes none. A blank line between frames or after a traceback is not (loguru's: not indented)."""
    return line[:1] == " " and current.state.frames and 'File "' in current.last


def _is_colour_only(line: str) -> bool:
    """Whether a line holds colour codes and nothing else but blanks (a coloured log resetting its
    colours on a line of its own): it is read as no line at all, since it holds no text of the program."""
    return "\x1b" in line and not _COLOUR_RE.sub("", line).strip()


def entries(lines: Iterable[str]) -> Iterator[Entry]:
    """The entries of a text log's lines (each with or without its line break; `\\r\\n` too), in the
    order of their first lines. A line a collector prefixed (`_PREFIX_RE`) is read without its prefix
    and continues only an entry of the same source: the lines of processes a journal interleaves are
    put back together, each process's entries apart. A prefix of another shape is learned where a
    traceback's header shows it (`_Prefixes`)."""
    open_entries: dict[str, _Open] = {}  # by source: the entry each source is writing
    done: list[tuple[int, Entry]] = []  # finished entries, a heap by first line
    prefixes = _Prefixes()
    pieces = _Pieces()
    headed: dict[str, str] = {}  # by source: the prefix's source whose entry has just read a header
    stamped: set[str] = set()  # the sources whose records start with a time or a level (`_HEAD_RE`)
    levels: dict[str, str] = {}  # by stamped source: its last time column, up to the level name
    for number, source, line in pieces.lines(lines):
        if _is_colour_only(line):
            continue
        if not line.strip():
            current = open_entries.get(source)
            if current is not None and _blank_source(current, line):
                current.take(line)
            elif current is not None:
                current.blanks.append(line)
            continue
        learned = prefixes.learn(source, line)
        if learned is not None and source in open_entries and learned[1].match(open_entries[source].last):
            moved = open_entries[learned[0]] = open_entries.pop(source)  # the entry its header continues
            if _stamped_past(learned[1], moved.lines[0]) and len(stamped) < _STAMPED_SOURCES:
                stamped.add(learned[0])  # (the lines after its traceback may be more of its message)
        shaped = prefixes.shape_of(source, line)
        raw = source
        if shaped is not None:
            source, rest = shaped
            current = open_entries.get(source)
            if _is_colour_only(rest):
                continue
            if not rest.strip():  # a blank line of the program's, the prefix before it
                if current is not None and _blank_source(current, rest):
                    current.take(line)
                elif current is not None:
                    current.blanks.append(rest)
                continue
        else:
            rest = line
            back = headed.pop(source, None) if headed else None
            if back is not None and back in open_entries and open_entries[back].state.headed:
                # The header's line only ended with text of the prefix's shape (a message that ends in a
                # header, `log.error("failed: %s", traceback.format_exc())`): its frames are not prefixed.
                if source in open_entries:
                    heapq.heappush(done, (open_entries[source].first, open_entries[source].entry()))
                open_entries[source] = open_entries.pop(back)
            current = open_entries.get(source)
        opened = (
            current is None
            or (rest[:1] == " " and source in levels and _repeats_a_time(rest, len(levels[source])))
            or not current.state.continues(rest, after_blank=bool(current.blanks))
        )
        if rest[:1] not in (" ", "\t"):  # (a learned prefix's source is stamped by the text after it)
            if _HEAD_RE.match(rest) is not None:
                if len(stamped) < _STAMPED_SOURCES:
                    stamped.add(source)
                    level = _level_column(rest)
                    if level:
                        levels[source] = rest[:level]
            elif (
                opened
                and current is not None
                and source in stamped
                and len(current.lines) < _UNSTAMPED_LINES
                and not _starts_its_own(rest)
            ):
                opened = False  # more of a stamped record's message (notes, a multi-line message)
        if current is not None and not opened:
            current.take(rest)
        else:
            if current is not None:
                heapq.heappush(done, (current.first, current.entry()))
            current = open_entries[source] = _Open(number, line, rest)
            if rest[:1] == " " and source in levels and _repeats_a_time(rest, len(levels[source])):
                # the time it left out (after a learned prefix, which the entry's text keeps)
                prefix = line[: len(line) - len(rest)]
                current.message = prefix + levels[source] + rest[len(levels[source]) :]
        if shaped is not None and current.state.headed:
            headed[raw] = source
        elif shaped is not None and headed:
            headed.pop(raw, None)
        if not opened:
            continue
        oldest_open = min(entry.first for entry in open_entries.values())
        oldest_open = min(oldest_open, pieces.oldest(oldest_open))
        while done and done[0][0] < oldest_open:
            yield heapq.heappop(done)[1]
    for current in open_entries.values():
        heapq.heappush(done, (current.first, current.entry()))
    while done:
        yield heapq.heappop(done)[1]


def _stamped_past(prefix: re.Pattern[str], line: str) -> bool:
    """Whether `line` is of the learned `prefix`'s shape and stamped past it (`_HEAD_RE`)."""
    found = prefix.match(line)
    return found is not None and _HEAD_RE.match(line, found.end()) is not None


class _Open:
    """An entry being read: its first line's number, its lines, the blank lines held after them (kept
    only if the next line continues it: a chain's separator), and where it stands."""

    def __init__(self, first: int, line: str, unprefixed: str) -> None:
        self.first = first
        self.message = ""  # the first line with the time RichHandler left out, if it did
        self.lines = [line]
        self.blanks: list[str] = []
        self.state = _State()
        self.state.start(unprefixed)

    @property
    def last(self) -> str:
        return self.lines[-1]

    def take(self, line: str) -> None:
        """Add `line`, which continues the entry, after the blank lines held before it."""
        self.lines.extend(self.blanks)
        self.lines.append(line)
        self.blanks.clear()

    def entry(self) -> Entry:
        return Entry(self.first, "\n".join(self.lines) + "\n", self.message)


# What log collectors write before every line of a program's output, so that a traceback's lines
# carry it too: the source (host and process, or the stream) and its time. Whatever the time, lines
# of one source belong together.
# Syslog's and the journal's source: the host, then the program (and its process). A program's own
# layout can look the same after its time: a level name where the host or the program stands (`ERROR
# shop.cfg: `, `shop.cfg ERROR: `; in brackets, any case: neither is named just so, `info-db-1` may be)
# is the program's, as is a "host" that ends with a colon (Heroku's `app[web.2]: `, then an exception
# line's `ValueError: `).
_NOT_A_LEVEL: Final = rf"(?!\[?(?i:{_LEVEL_WORDS})\]?[\s:\[])"
_HOST_AND_PROGRAM: Final = rf"{_NOT_A_LEVEL}\S+(?<!:) {_NOT_A_LEVEL}[^\s:\[]+(?:\[\d+\])?"
_PREFIX_RE: Final = compile_cached(
    # syslog and `journalctl` (short, short-precise): "Dec  4 10:00:01 vm backup.py[2231]: ",
    # "Dec 04 10:00:01.123456 vm backup.py[2231]: "
    rf"(?:[A-Z][a-z]{{2}} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? (?P<syslog>{_HOST_AND_PROGRAM}): "
    # `journalctl -o short-iso` and the like: "2026-12-04T10:00:01+0000 vm backup.py[2231]: "
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d) "
    rf"(?P<journal>{_HOST_AND_PROGRAM}): "
    # containerd/Kubernetes (CRI): "2026-12-04T10:00:01.123456789Z stderr F ", a piece of a line "P"
    r"|\d{4}-\d\d-\d\dT\S+ (?P<stream>stdout|stderr) (?P<tag>[FP]) "
    # `docker logs --timestamps`: "2026-12-04T10:00:01.123456789Z "
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )"
)


def _without_prefix(line: str) -> tuple[str, str, bool]:
    """The line's source ("" for none), the line without a collector's prefix, and whether it is a
    piece of a longer line (the rest follows in the next line of its source)."""
    if line.startswith('{"log":'):
        return _json_file_line(line)
    found = _PREFIX_RE.match(line) if line[:1].isalnum() else None
    if found is None:
        return "", line, False
    source = found["syslog"] or found["journal"] or found["stream"] or ""
    return source, line[found.end() :], found["tag"] == "P"


def _json_file_line(line: str) -> tuple[str, str, bool]:
    """`_without_prefix` of a line of Docker's json-file log driver: its `log`, which ends with the
    program's line break unless the driver cut the line; the line itself if it is no such record."""
    record, problem = json_lines.decode(line)
    if problem is not None:
        return "", line, False
    text = record.get("log") if isinstance(record, dict) else None
    if not isinstance(text, str):
        return "", line, False
    stream = record.get("stream")
    whole = text.endswith("\n")
    return (stream if isinstance(stream, str) else "json-file"), text.rstrip("\r\n"), not whole


class _Pieces:
    """The lines of a log without their collectors' prefixes, each with its number and source, the
    pieces of a line a collector cut put back together (numbered as their first: where it starts)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[int, list[str]]] = {}  # by source: a line's pieces so far

    def lines(self, raw_lines: Iterable[str]) -> Iterator[tuple[int, str, str]]:
        for number, raw in enumerate(raw_lines, start=1):
            source, line, piece = _without_prefix(raw.rstrip("\r\n"))
            held = self._held.get(source)
            if piece:
                if held is None:
                    self._held[source] = (number, [line])
                else:
                    held[1].append(line)
                continue
            if held is not None:
                del self._held[source]
                number, line = held[0], "".join(held[1]) + line
            yield number, source, line
        held_lines = sorted((first, source, "".join(parts)) for source, (first, parts) in self._held.items())
        self._held.clear()
        yield from held_lines  # a line cut short by the log's end

    def oldest(self, default: int) -> int:
        """The number of the oldest line still in pieces, else `default`."""
        return min((first for first, _ in self._held.values()), default=default)


# The longest text before a traceback's header taken for a prefix, and the most shapes kept for one
# source (the oldest is forgotten): a prefix is short, and a log has few.
_PREFIX_CHARACTERS: Final = 200
_SHAPES_PER_SOURCE: Final = 16
_DIGITS_RE: Final = compile_cached(r"\d+")


class _Prefixes:
    """The shapes of the prefixes an application (or a tool that multiplexes its output) writes before
    every line, learned from lines a traceback's header ends, by source."""

    def __init__(self) -> None:
        self._shapes: dict[str, dict[str, re.Pattern[str]]] = {}  # source -> shape -> its pattern

    def learn(self, source: str, line: str) -> tuple[str, re.Pattern[str]] | None:
        """The source and pattern of the prefix `line` shows before a traceback header that ends it,
        when that shape is new; else None."""
        if not line.endswith(_LEARNT_FROM):  # (most lines: one test)
            return None
        # (A group's header ends with a traceback's; a group's own boxes are indented.)
        if line.endswith(TRACEBACK_HEADER):
            header = _GROUP_HEADER if line.endswith(_GROUP_HEADER) else TRACEBACK_HEADER
        else:  # a worker's failure: its exception line, one word
            header = line[line.rstrip().rfind(" ") + 1 :]
        prefix = line[: len(line) - len(header)]
        if not (prefix and len(prefix) <= _PREFIX_CHARACTERS):
            return None
        if prefix[0] in " \t" or "\x1b" in prefix or self.shape_of(source, line) is not None:
            return None
        shape = _DIGITS_RE.sub("0", prefix)
        shapes = self._shapes.setdefault(source, {})
        if shape in shapes:
            return None
        body = prefix.rstrip(" \t")
        pieces = [re.escape(part) for part in _DIGITS_RE.split(body)]
        # The blanks after the prefix are its own; a blank line of the program's may lose them.
        pattern = re.compile(r"\d+".join(pieces) + f"(?:{re.escape(prefix[len(body) :])}|$)")
        if len(shapes) >= _SHAPES_PER_SOURCE:
            del shapes[next(iter(shapes))]
        shapes[shape] = pattern
        return f"{source}\0{shape}", pattern

    def shape_of(self, source: str, line: str) -> tuple[str, str] | None:
        """The source of a line of a learned shape (its source and the shape) and the line past the
        prefix; None for a line of no learned shape."""
        shapes = self._shapes.get(source)
        if not shapes:
            return None
        for shape, pattern in shapes.items():
            found = pattern.match(line)
            if found is not None:
                return f"{source}\0{shape}", line[found.end() :]
        return None


class _State:
    """Where an entry stands: before any traceback, in a traceback's frames, or after its end."""

    def __init__(self) -> None:
        self.traced = False  # the entry holds a traceback (another header starts a new entry)
        self.frames = False  # in a traceback's frames: its first unindented line is its exception line
        self.ended = False  # a traceback's end was read: a chain separator may follow
        self.chained = False  # a chain separator was read: the next traceback is the same entry's
        self.stacked = False  # a `stack_info` block was read: logging writes a record's traceback before it
        self.headed = False  # a header was the last line read (loguru's blank line may follow)
        self.loose = False  # loguru's layout: blank lines between the frames and before the exception line
        self.quote = 0  # a worker's traceback: 1 its quote may open next, 2 inside it
        self.inner: _State | None = None  # inside the quote: where the quoted traceback stands
        self.dump = False  # in a faulthandler dump
        self.logging_error = False  # `logging`'s report of a record it could not format
        self.sql = False  # inside SQLAlchemy's statement, after an exception line, until its `]`
        self.fields = 0  # pydantic's field names still to come after its exception line
        self.ipython = ""  # in IPython's traceback: the short name of the type its header names
        self.dashed = False  # the last line read was a line of dashes (IPython's, above its header)
        self.pytest = False  # in pytest's report of a failed test
        self.unittest = 0  # unittest's report: its lines still allowed before its line of dashes (2, 1)
        self.unittest_report = False  # in unittest's report: it goes on after its traceback (a diff)
        self.budget = 0  # the lines a display (SQL statement, IPython's, pytest's) may still take in
        self.member_box = False  # in rich's box of a group's member: its exception line is in the box
        self.stackprinter = False  # in stackprinter's frames (see `_STACKPRINTER_FRAME`)
        self.twisted = ""  # in Twisted's failure: "verbose", "brief" ("value" before its first frame)

    def start(self, line: str) -> None:
        """Take in the entry's first line: a dump's, or any other (an entry can start with a traceback's
        header: read past a prefix the entry keeps)."""
        plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
        if _starts_a_dump(plain):
            self.dump = True
        elif _COMPILE_FRAME_RE.match(plain):
            self.traced = self.frames = True  # a compile error's display: its exception line ends it
        elif _DASHES_RE.fullmatch(plain):
            self.dashed = True
        elif plain.startswith("___") and _PYTEST_TEST_RE.match(plain):
            self.pytest = self.traced = True
            self.budget = _DISPLAY_LINES
        elif plain.startswith(_UNITTEST_INITIALS) and _UNITTEST_HEADER_RE.match(plain):
            self.unittest, self.unittest_report = 2, True
            self.budget = _DISPLAY_LINES
        else:
            self.logging_error = plain.rstrip() == _LOGGING_ERROR
            self.continues(line, after_blank=False)

    def continues(self, line: str, *, after_blank: bool) -> bool:
        """Whether `line` continues the entry (and, if so, take it in)."""
        plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
        headed, self.headed = self.headed, False
        dashed, self.dashed = self.dashed, False
        if self.pytest:  # up to the next test's report or a section's line
            self.budget -= 1
            self.pytest = self.budget > 0 and not (plain.startswith(("___", "===")) and _ends_a_test(plain))
            return self.pytest
        if self.unittest_report and self.ended:  # what the assertion printed after its line, to a separator
            self.budget -= 1
            self.unittest_report = self.budget > 0 and not (
                _UNITTEST_END_RE.match(plain) or _HEAD_RE.match(plain) or _starts_a_dump(plain)
            )
            return self.unittest_report
        if self.unittest:  # its docstring's line, then its line of dashes (the traceback's header follows)
            dashes = _DASHES_RE.fullmatch(plain) is not None
            self.unittest = 0 if after_blank or dashes else self.unittest - 1
            if not after_blank and (dashes or self.unittest):
                return True
        if self.quote:
            return self._quoted(plain, after_blank=after_blank)
        if self.dump:
            if not plain.startswith(TRACEBACK_HEADER) or after_blank:
                return self._dumped(plain, after_blank=after_blank)
            self.dump = False  # a fatal error's traceback (`Py_FatalError` after an exception)
        elif plain[:1] in _DUMP_INITIALS and _starts_a_dump(plain):
            return False  # a dump is an entry of its own
        if self.stackprinter:
            return self._in_stackprinter(plain)
        if self.twisted:
            return self._in_twisted(plain, after_blank=after_blank)
        if plain.startswith(_TWISTED_STARTS) and self._twisted_starts(plain, after_blank=after_blank):
            return True
        if (
            plain.startswith(_STACKPRINTER_FRAME)
            and (self.chained or not (self.traced or self.stacked or after_blank))
            and _STACKPRINTER_FRAME_RE.fullmatch(plain)
        ):
            self.traced, self.stackprinter, self.chained, self.ended = True, True, False, False
            self.budget = _STACKPRINTER_LINES
            return True
        if plain.startswith(_CHAIN_SEPARATORS):
            self.chained = self.ended
            return self.ended
        if plain[:1] == " " and self._indented_chain(plain.strip()):
            return True
        if self.traced and _RICH_SUB in plain and plain.lstrip().startswith(_RICH_TOP):
            # an exception group's member in a box of its own (rich): its lines are read as a frame's
            # (in a handler's column, as the column's)
            self.frames, self.ended = plain[0] == _RICH_TOP, plain[0] != _RICH_TOP
            self.member_box = self.frames
            return True
        if self.member_box and plain.startswith(_RICH_BOTTOM):  # the member's box ends with the member
            self.frames = self.member_box = False
            self.ended = True
            return True
        if plain.startswith(_HEADERS) and (plain[0] != _RICH_TOP or _RICH_HEADER in plain):
            if not (self.chained or not (self.traced or self.stacked or after_blank)):
                return False
            single = not plain.startswith(_GROUP_HEADER)  # (a group's lines are all indented, its end too)
            self.traced, self.chained, self.frames, self.ended = True, False, single, not single
            self.headed, self.loose, self.sql, self.fields = single, False, False, 0
            return True
        if self.ended and not self.frames and self._message_goes_on(plain, after_blank=after_blank):
            return True
        if "Traceback (most" in plain and not plain.startswith(" "):
            ipython = _IPYTHON_HEADER_RE.match(plain)  # (its own; a worker's is quoted, indented: none)
            if ipython is not None:
                if not (self.chained or dashed or not (self.traced or self.stacked or after_blank)):
                    return False
                self.traced, self.chained, self.frames, self.ended = True, False, True, False
                self.ipython = ipython[1].rsplit(".", 1)[-1]
                self.budget = _DISPLAY_LINES
                return True
        if self.ipython and self.frames:
            return self._in_ipython(plain)
        if self.ended and self.chained and _DASHES_RE.fullmatch(plain):
            self.dashed = True  # (a chain's next IPython traceback may start with its line of dashes)
            return True
        if after_blank and self.frames and (headed or self.loose):
            self.loose = True  # loguru's: read on past the blank line
        elif after_blank:
            return False
        elif (
            not (self.traced or self.stacked) and plain.endswith(_REMOTE_ENDS) and _quotes_a_traceback(plain)
        ):
            self.quote = 1  # a worker's failure, its traceback quoted on the next lines
            return True
        elif not (self.traced or self.stacked) and plain.startswith(_ASYNCIO_CONTEXT):
            return True  # asyncio's report of a failure: its message, then its context, then the traceback
        if self.logging_error and self.ended and plain.startswith(_LOGGING_ERROR_PARTS):
            return True  # its call stack (frames indented), the record's message and arguments
        if plain.startswith(_STACK_HEADER):
            self.frames, self.stacked = False, True
            return True
        if plain[0] in " \t":
            # (a compile error's display after a line with no traceback starts an entry of its own)
            return self.traced or self.stacked or _COMPILE_FRAME_RE.match(plain) is None
        if self.frames and plain.startswith(_FRAME_MARKS):
            return True
        if self.frames:  # the exception line ends the traceback
            self.frames, self.ended = False, True
            counted = _VALIDATION_RE.search(plain) if "validation error" in plain else None
            self.fields = int(counted[1]) if counted is not None else 0
            return True
        return False

    def _indented_chain(self, inner: str) -> bool:
        """Whether an indented line (its blanks taken off: `inner`) goes on with a chain whose tracebacks
        are all indented, as RichHandler draws them in its message column: rich's box, the separator
        after it (wrapped over lines where the column is narrow), then the next box, blank lines between."""
        if inner.startswith(_RICH_TOP) and _RICH_HEADER in inner:
            self.traced, self.chained = True, False
            return True
        if self.traced and not self.chained and (inner in _CHAIN_SEPARATORS or inner in _WRAPPED_SEPARATORS):
            self.chained = True
            return True
        return self.chained and not inner.startswith(_RICH_TOP)  # (the rest of a wrapped separator)

    def _in_ipython(self, line: str) -> bool:
        """`continues` inside IPython's traceback: its blocks and blank lines, up to the exception's line
        (its type, then its message); a record's head or another traceback ends it (cut short)."""
        self.budget -= 1
        if (
            self.budget <= 0
            or line.startswith(_HEADERS)
            or _HEAD_RE.match(line) is not None
            or _DASHES_RE.fullmatch(line)
        ):
            self.frames, self.ended, self.ipython = False, True, ""
            return False
        named = line.partition(":")[0]
        if " " not in named and named.rsplit(".", 1)[-1] == self.ipython:
            self.frames, self.ended, self.ipython = False, True, ""
        return True

    def _in_stackprinter(self, line: str) -> bool:
        """`continues` inside stackprinter's frames: indented lines, marked lines, frame lines (blank
        lines between), up to its exception line; a record's head ends it (cut short)."""
        self.budget -= 1
        if self.budget <= 0 or _HEAD_RE.match(line) is not None:
            self.stackprinter, self.ended = False, True
            return False
        if line[:1] in " \t" or line.startswith(_STACKPRINTER_LINES_TAKEN):
            return True
        self.stackprinter, self.ended = False, True  # its exception line
        return True

    def _twisted_starts(self, line: str, *, after_blank: bool) -> bool:
        """Whether `line` starts Twisted's failure printed brief or verbose where a traceback's header
        would go on with the entry (see `continues`); if so, take it in."""
        if not (self.chained or not (self.traced or self.stacked or after_blank)):
            return False
        if _TWISTED_VERBOSE_RE.fullmatch(line):
            self.twisted = "verbose"
        elif _TWISTED_BRIEF_RE.match(line):
            self.twisted = "value"
        else:
            return False
        self.traced, self.chained, self.frames, self.ended = True, False, False, False
        self.budget = _DISPLAY_LINES
        return True

    def _in_twisted(self, line: str, *, after_blank: bool) -> bool:
        """`continues` inside Twisted's failure: brief, the value's further lines, then its frame lines
        (anything else, or a blank line, ends it); verbose, every line up to its end mark. A record's head
        ends either (cut short), as does the end of the budget."""
        self.budget -= 1
        if self.budget <= 0 or _HEAD_RE.match(line) is not None:
            self.twisted, self.ended = "", True
            return False
        if self.twisted == "verbose":
            if line.startswith(_TWISTED_VERBOSE_END):
                self.twisted, self.ended = "", True
            return True
        if after_blank:
            self.twisted, self.ended = "", True
            return False
        if _TWISTED_BRIEF_FRAME_RE.fullmatch(line):
            self.twisted = "brief"
            return True
        if self.twisted == "value":  # a value of several lines
            return True
        self.twisted, self.ended = "", True
        return False

    def _message_goes_on(self, line: str, *, after_blank: bool) -> bool:
        """Whether `line`, after an exception line, is more of its message (`_MESSAGE_PARTS_RE`,
        SQLAlchemy's statement up to its `]`, pydantic's field names)."""
        if self.sql:
            self.budget -= 1
            if self.budget <= 0 or _HEAD_RE.match(line) is not None or _starts_its_own(line):
                self.sql = False  # a statement cut short: the line is the next entry's
                return False
            self.sql = not line.rstrip().endswith("]")
            return True
        if after_blank and not line.startswith(_AFTER_A_BLANK):
            return False
        if _MESSAGE_PARTS_RE.match(line) is not None:
            self.sql = line.startswith(_OPEN_SQL) and not line.rstrip().endswith("]")
            self.budget = _DISPLAY_LINES
            return True
        if self.fields and line[0] not in " \t" and _HEAD_RE.match(line) is None:
            self.fields -= 1
            return True
        return False

    def _dumped(self, line: str, *, after_blank: bool) -> bool:
        """`continues` inside a dump: a thread's header (after a blank line or not), its frames, the
        dump's other parts."""
        if line.endswith(_DUMP_BLOCK) or line.startswith(_DUMP_PARTS):
            return True
        return not after_blank and line[0] in " \t"

    def _quoted(self, line: str, *, after_blank: bool) -> bool:
        """`continues` for a line after the exception that quotes a worker's traceback: the line that
        opens the quote, the quoted traceback's lines (read as a traceback of its own: a quote that is
        cut short does not take in the lines after it), the line that closes it."""
        if self.quote == 1:
            self.quote = 2 if line == _QUOTE[:-1] and not after_blank else 0
            self.inner = _State()
            return self.quote == 2 or self.continues(line, after_blank=after_blank)
        if line == _QUOTE[:-1]:
            self.quote, self.ended = 0, True  # the parent's traceback follows, after a chain separator
            return True
        if self.inner is not None and self.inner.continues(line, after_blank=after_blank):
            return True
        self.quote = 0
        return False


def _ends_a_test(line: str) -> bool:
    """Whether a line ends pytest's report of a failed test: the next test's header, a section's line."""
    return _PYTEST_TEST_RE.match(line) is not None or _PYTEST_SECTION_RE.match(line) is not None


def _quotes_a_traceback(line: str) -> bool:
    """Whether `line` is the exception line of a worker's failure the parent re-raised (the worker's
    traceback quoted after it): one word, `...RemoteTraceback:`."""
    stripped = line.rstrip()
    return stripped.endswith(_REMOTE) and " " not in stripped
