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
lines between entries belong to none. Terminal colours are read past. A line of a traceback that
carries a prefix of its own (a timestamp on every line, as some collectors write) is not recognised:
such a log is one entry a line.

The rule not to break: every non-blank line of the input belongs to exactly one entry, in order.
"""

from __future__ import annotations

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
    """The entries of a text log's lines (each with or without its line break; `\\r\\n` too)."""
    current: list[str] = []
    first = 0
    blanks: list[str] = []  # blank lines held until the next line says whether they continue a chain
    state = _State()
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if current:
                blanks.append(line)
            continue
        if current and state.continues(line, after_blank=bool(blanks)):
            current.extend(blanks)
            current.append(line)
        else:
            if current:
                yield Entry(first, "\n".join(current) + "\n")
            current, first, state = [line], number, _State()
            state.continues(line, after_blank=False)  # (an entry can start with a traceback's header)
        blanks = []
    if current:
        yield Entry(first, "\n".join(current) + "\n")


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
