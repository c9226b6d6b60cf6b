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
- the exception line that ends a traceback (the first unindented line after its frames).
Any other line starts an entry (a second traceback without a separator is a second event); blank
lines between entries belong to none. Terminal colours are read past.

Collectors write a prefix before every line a program printed, a traceback's lines too: syslog and
the journal (`Dec  4 10:00:01 vm backup.py[2231]: `, and with ISO times), containerd/Kubernetes
(`2026-12-04T10:00:01.1Z stderr F `) and `docker logs --timestamps`. Such a prefix is read past, and
its source (host and process, or stream) kept apart: a line continues only an entry of its own
source, so the interleaved lines of two processes make two processes' entries. Another prefix on
every line (an application's own) is not recognised: such a log is one entry a line.

The rule not to break: every non-blank line of the input belongs to exactly one entry, in order.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

TRACEBACK_HEADER: Final = "Traceback (most recent call last):"
_GROUP_HEADER: Final = "  + Exception Group Traceback (most recent call last):"  # an uncaught group's
_STACK_HEADER: Final = "Stack (most recent call last):"  # `stack_info=True`: frames, no exception line
_CHAIN_SEPARATORS: Final = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# Terminal colours (Python 3.13 colours its tracebacks on a terminal): read past, kept in the text.
_COLOUR_RE: Final = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a text log: its first line's number (from 1) and its lines, joined."""

    line: int
    text: str

    @property
    def stack_trace(self) -> str | None:
        """The traceback the entry holds, from its header's line on; None without one."""
        found = [at for at in (self.text.find(TRACEBACK_HEADER), self.text.find(_GROUP_HEADER)) if at >= 0]
        if not found:
            return None
        return self.text[self.text.rfind("\n", 0, min(found)) + 1 :]

    def document(self) -> dict[str, Any]:
        """The entry as the ECS event a shipper would have sent for it: its first line as the message
        (for an uncaught exception, which has no log line, its exception line), its traceback if any."""
        stack_trace = self.stack_trace
        message = self.text.partition("\n")[0]
        if stack_trace is None:
            return {"message": message}
        if len(stack_trace) == len(self.text):  # no log line before it
            unindented = [line for line in stack_trace.splitlines()[1:] if line[:1] not in ("", " ", "\t")]
            message = unindented[-1] if unindented else message
        return {"message": message, "error": {"stack_trace": stack_trace}}


def entries(lines: Iterable[str]) -> Iterator[Entry]:
    """The entries of a text log's lines (each with or without its line break; `\\r\\n` too), in the
    order of their first lines. A line a collector prefixed (`_PREFIX_RE`) is read without its prefix
    and continues only an entry of the same source: the lines of processes a journal interleaves are
    put back together, each process's entries apart."""
    open_entries: dict[str, _Open] = {}  # by source: the entry each source is writing
    done: list[tuple[int, Entry]] = []  # finished entries, a heap by first line
    for number, raw in enumerate(lines, start=1):
        source, line = _without_prefix(raw.rstrip("\r\n"))
        current = open_entries.get(source)
        if not line.strip():
            if current is not None:
                current.blanks.append(line)
            continue
        if current is not None and current.state.continues(line, after_blank=bool(current.blanks)):
            current.lines.extend(current.blanks)
            current.lines.append(line)
            current.blanks.clear()
            continue
        if current is not None:
            heapq.heappush(done, (current.first, current.entry()))
        open_entries[source] = _Open(number, line)
        oldest_open = min(entry.first for entry in open_entries.values())
        while done and done[0][0] < oldest_open:
            yield heapq.heappop(done)[1]
    for current in open_entries.values():
        heapq.heappush(done, (current.first, current.entry()))
    while done:
        yield heapq.heappop(done)[1]


class _Open:
    """An entry being read: its first line's number, its lines, the blank lines held after them (kept
    only if the next line continues it: a chain's separator), and where it stands."""

    def __init__(self, first: int, line: str) -> None:
        self.first = first
        self.lines = [line]
        self.blanks: list[str] = []
        self.state = _State()
        self.state.continues(line, after_blank=False)  # (an entry can start with a traceback's header)

    def entry(self) -> Entry:
        return Entry(self.first, "\n".join(self.lines) + "\n")


# What log collectors write before every line of a program's output, so that a traceback's lines
# carry it too: the source (host and process, or the stream) and its time. Whatever the time, lines
# of one source belong together.
_PREFIX_RE: Final = re.compile(
    # syslog and `journalctl` (short): "Dec  4 10:00:01 vm backup.py[2231]: "
    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (?P<syslog>\S+ [^\s:\[]+(?:\[\d+\])?): "
    # `journalctl -o short-iso` and the like: "2026-12-04T10:00:01+0000 vm backup.py[2231]: "
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d) "
    r"(?P<journal>\S+ [^\s:\[]+(?:\[\d+\])?): "
    # containerd/Kubernetes (CRI): "2026-12-04T10:00:01.123456789Z stderr F "
    r"|\d{4}-\d\d-\d\dT\S+ (?P<stream>stdout|stderr) F "
    # `docker logs --timestamps`: "2026-12-04T10:00:01.123456789Z "
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z )"
)


def _without_prefix(line: str) -> tuple[str, str]:
    """The line's source ("" for none) and the line without a collector's prefix."""
    found = _PREFIX_RE.match(line) if line[:1].isalnum() else None
    if found is None:
        return "", line
    return found["syslog"] or found["journal"] or found["stream"] or "", line[found.end() :]


class _State:
    """Where an entry stands: before any traceback, in a traceback's frames, or after its end."""

    def __init__(self) -> None:
        self.traced = False  # the entry holds a traceback (another header starts a new entry)
        self.frames = False  # in a traceback's frames: its first unindented line is its exception line
        self.ended = False  # a traceback's end was read: a chain separator may follow
        self.chained = False  # a chain separator was read: the next traceback is the same entry's
        self.stacked = False  # a `stack_info` block was read: logging writes a record's traceback before it

    def continues(self, line: str, *, after_blank: bool) -> bool:
        """Whether `line` continues the entry (and, if so, take it in)."""
        plain = _COLOUR_RE.sub("", line) if "\x1b" in line else line
        if plain.startswith(_CHAIN_SEPARATORS):
            self.chained = self.ended
            return self.ended
        if plain.startswith((TRACEBACK_HEADER, _GROUP_HEADER)):
            if not (self.chained or not (self.traced or self.stacked or after_blank)):
                return False
            single = plain.startswith(TRACEBACK_HEADER)  # (a group's lines are all indented, its end too)
            self.traced, self.chained, self.frames, self.ended = True, False, single, not single
            return True
        if after_blank:
            return False
        if plain.startswith(_STACK_HEADER):
            self.frames, self.stacked = False, True
            return True
        if plain[0] in " \t":
            return True
        if self.frames:  # the exception line ends the traceback
            self.frames, self.ended = False, True
            return True
        return False
