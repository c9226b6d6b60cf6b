"""Parse a Python traceback, as `traceback.format_exception` prints it, into small frozen dataclasses.

Handles what real logs contain: chained exceptions ("The above exception was the direct cause..." and
"During handling of the above exception..."), `ExceptionGroup` boxes (nested, with "and N more
exceptions"), recursion markers ("[Previous line repeated N more times]"), frames whose source line
is missing, 3.11+ caret/tilde lines, 3.13 multi-line statements, SyntaxError frames without a
function, multi-line messages, ANSI colours, and traces cut in the middle by a size limit.

Parsing is pure and lenient: text that is not a traceback still yields one `ExceptionRecord` whose
type is empty and whose message is the text, so callers never have to handle a parse failure.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal

Link = Literal["cause", "context", ""]

_LINK_RE: Final = re.compile(
    r"^(The above exception was the direct cause of the following exception:"
    r"|During handling of the above exception, another exception occurred:)[ \t]*$",
    re.MULTILINE,
)
_ANSI_RE: Final = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADER_RE: Final = re.compile(
    r"(?:[ \t]*\n)*(?:Exception Group )?Traceback \(most recent call last\):[ \t]*\n"
)
# One frame: header, optional source line, then any deeper-indented lines (3.11+ caret lines, the
# further lines of a multi-line statement and "...<N lines>..." as 3.13 prints them), then an optional
# recursion marker. Only the first source line is kept: it is the same in every Python version.
_FRAME_BLOCK_RE: Final = re.compile(
    r'[ \t]+File "(?P<file>[^\n]*)", line (?P<line>\d+)(?:, in (?P<func>[^\n]*))?\n'
    r"(?:    (?![ \t]*(?:[\^~][\^~ \t]*\n|File \"|\[Previous line))[ \t]*(?P<source>[^\n]*)\n)?"
    r"(?:    (?![ \t]*(?:File \"|\[Previous line))[^\n]*\n)*"
    r"(?:[ \t]*\[Previous line repeated (?P<repeated>\d+) more times?\][ \t]*\n)?"
)
_FRAME_LINE_RE: Final = re.compile("^" + _FRAME_BLOCK_RE.pattern, re.MULTILINE)  # at a line start
_NEXT_FRAME_RE: Final = re.compile(r'^[ \t]+File "', re.MULTILINE)
_EXC_LINE_START_RE: Final = re.compile(r"^[A-Za-z_][\w.]*(?::|$)", re.MULTILINE)
_EXC_LINE_RE: Final = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*)|:)?$")
_GROUP_FIRST_SEP_RE: Final = re.compile(r"^(?P<indent> *)\+-\+-+ 1 -+\s*$")
_MORE_RE: Final = re.compile(r"^and \d+ more exceptions?$")
_MAX_GROUP_DEPTH: Final = 12  # Python prints at most 10 levels; deeper text is not from it
_DEPTH_RE: Final = re.compile(r"^\.\.\. \(max_group_depth is \d+\)$")


@dataclass(frozen=True, slots=True)
class Frame:
    """One `File "...", line N, in func` entry; `source` is None when the line was not printed."""

    filename: str
    lineno: int
    function: str
    source: str | None
    repeated: int = 0  # from a following "[Previous line repeated N more times]" marker


@dataclass(frozen=True, slots=True)
class ExceptionRecord:
    """One exception as printed: its type, message, frames (outermost first) and group members."""

    type: str
    message: str
    frames: tuple[Frame, ...] = ()
    link: Link = ""  # how the NEXT printed exception relates to this one ("cause"/"context")
    members: tuple[Traceback, ...] = ()  # sub-exceptions of an ExceptionGroup
    more_members: int = 0  # "and N more exceptions"

    @property
    def is_group(self) -> bool:
        return bool(self.members) or self.more_members > 0


@dataclass(frozen=True, slots=True)
class Traceback:
    """An exception chain in printed order: the root cause first, the exception finally raised last."""

    chain: tuple[ExceptionRecord, ...]

    @property
    def final(self) -> ExceptionRecord:
        return self.chain[-1]


def parse_traceback(text: str) -> Traceback:
    """Parse traceback text; never raises (non-traceback text becomes a message-only record)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b[" in text:  # colours, as 3.13 prints tracebacks to a terminal
        text = _ANSI_RE.sub("", text)
    return _parse_chain(text, 0)


def _parse_chain(text: str, depth: int) -> Traceback:
    chained = "The above exception" in text or "During handling" in text
    parts = _LINK_RE.split(text) if chained else [text]  # [segment, sentence, segment, ..., segment]
    records: list[ExceptionRecord] = []
    for index in range(0, len(parts), 2):
        segment = parts[index]
        if not segment.strip() and (records or index + 1 < len(parts)):
            continue
        link: Link = ""
        if index + 1 < len(parts):
            link = "cause" if parts[index + 1].startswith("The above") else "context"
        record = _parse_segment(segment, depth)
        records.append(_with_link(record, link) if link else record)
    return Traceback(chain=tuple(records))


def _with_link(record: ExceptionRecord, link: Link) -> ExceptionRecord:
    return ExceptionRecord(
        record.type, record.message, record.frames, link, record.members, record.more_members
    )


def _parse_segment(text: str, depth: int) -> ExceptionRecord:
    if "+-+" in text and depth < _MAX_GROUP_DEPTH:
        lines = _trim(text.split("\n"))
        for index, line in enumerate(lines):
            match = _GROUP_FIRST_SEP_RE.match(line)
            if match:
                return _parse_group(lines[:index], lines[index + 1 :], len(match.group("indent")), depth)
    return _parse_plain(text)


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _strip_box(line: str, column: int) -> str:
    rest = line[column:] if line[:column].strip() == "" else line.lstrip()
    if rest.startswith(("| ", "+ ")):
        return rest[2:]
    return rest[1:] if rest in ("|", "+") else rest


def _parse_group(head: list[str], body: list[str], column: int, depth: int) -> ExceptionRecord:
    own = _parse_plain("\n".join(_strip_box(line, column) for line in head))
    inner = column + 2
    separator = re.compile(r"^ {" + str(inner) + r"}\+-+(?: (?:\d+|\.\.\.) -+)?\s*$")
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in body:
        if separator.match(line):
            if current is not None:
                blocks.append(current)
            current = []
        elif current is not None:
            current.append(_strip_box(line, inner))
        else:  # first member: lines before any inner separator
            current = [_strip_box(line, inner)]
    if current:
        blocks.append(current)
    members: list[Traceback] = []
    more = 0
    for block in blocks:
        content = _trim(block)
        if not content:
            continue
        first = content[0].strip()
        if len(content) == 1 and _MORE_RE.match(first):
            more += int(first.split()[1])
        elif len(content) == 1 and _DEPTH_RE.match(first):
            continue
        else:
            members.append(_parse_chain("\n".join(content), depth + 1))
    return ExceptionRecord(own.type, own.message, own.frames, "", tuple(members), more)


def _parse_plain(text: str) -> ExceptionRecord:
    if not text.endswith("\n"):
        text += "\n"
    header = _HEADER_RE.match(text)
    start = header.end() if header else 0
    # Frames end at the first exception line (no line of a frame starts like one). Before it, every
    # frame is kept and the lines that are neither (a cut made by a size limit, "...[truncated]..."
    # markers) are skipped; after it, "File" lines belong to the message.
    exception_line = _EXC_LINE_START_RE.search(text, start)
    end = exception_line.start() if exception_line else len(text)
    frames, offset = (
        _frames_in(text[start:end]) if end - start <= _CACHED_BLOCK else _scan_frames(text[start:end])
    )
    position = start + offset if frames or header else 0
    exc_type, message = _parse_exception_lines(_trim(text[position:].split("\n")))
    return ExceptionRecord(type=exc_type, message=message, frames=frames)


def _scan_frames(block: str) -> tuple[tuple[Frame, ...], int]:
    """The frames of a block of frame lines, and where its exception lines would start.

    That is after the last frame, or at the last "File" line that is not a frame (a broken one).
    """
    frames = []
    offset = 0
    for match in _FRAME_LINE_RE.finditer(block):
        filename, lineno, function, source, repeated = match.groups()
        frames.append(
            Frame(
                filename,
                int(lineno),
                function.strip() if function else "",
                source.rstrip() or None if source else None,
                int(repeated) if repeated else 0,
            )
        )
        offset = match.end()
    for broken in _NEXT_FRAME_RE.finditer(block, offset):
        offset = broken.start()
    return tuple(frames), offset


# The frame block of a traceback repeats while its message varies: parse each distinct block once.
# Bounded (entries and size of each); lru_cache is safe to call from several threads.
_CACHED_BLOCK: Final = 16_384
_frames_in: Final = functools.lru_cache(maxsize=1024)(_scan_frames)


def _parse_exception_lines(lines: list[str]) -> tuple[str, str]:
    if not lines:
        return "", ""
    first = lines[0]
    match = _EXC_LINE_RE.match(first)
    rest = "\n".join(lines[1:]).rstrip()
    if match is None:
        return "", "\n".join(lines).strip()
    message = match.group("msg") or ""
    if rest:
        message = f"{message}\n{rest}" if message else rest
    return match.group("type"), message
