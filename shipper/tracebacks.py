"""Parse a Python traceback, as `traceback.format_exception` prints it, into small frozen dataclasses.

Handles what real logs contain: chained exceptions ("The above exception was the direct cause..." and
"During handling of the above exception..."), `ExceptionGroup` boxes (nested, with "and N more
exceptions"), recursion markers ("[Previous line repeated N more times]"), frames whose source line
is missing, 3.11+ caret/tilde lines, SyntaxError frames without a function, and multi-line messages.

Parsing is pure and lenient: text that is not a traceback still yields one `ExceptionRecord` whose
type is empty and whose message is the text, so callers never have to handle a parse failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Link = Literal["cause", "context", ""]

_CAUSE: Final = "The above exception was the direct cause of the following exception:"
_CONTEXT: Final = "During handling of the above exception, another exception occurred:"
_HEADER_RE: Final = re.compile(r"^(?:Exception Group )?Traceback \(most recent call last\):\s*$")
_FRAME_RE: Final = re.compile(r'^\s+File "(?P<file>.*)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
_REPEAT_RE: Final = re.compile(r"^\s*\[Previous line repeated (\d+) more times?\]\s*$")
_CARET_RE: Final = re.compile(r"^\s*[\^~]+[\^~ ]*$")
_EXC_LINE_RE: Final = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*)|:)?$")
_GROUP_FIRST_SEP_RE: Final = re.compile(r"^(?P<indent> *)\+-\+-+ 1 -+\s*$")
_MORE_RE: Final = re.compile(r"^and \d+ more exceptions?$")
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
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return _parse_chain(lines)


def _parse_chain(lines: list[str]) -> Traceback:
    records: list[ExceptionRecord] = []
    segment: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped in (_CAUSE, _CONTEXT) and not line.startswith((" ", "|")):
            link: Link = "cause" if stripped == _CAUSE else "context"
            if _has_content(segment):
                records.append(_with_link(_parse_segment(segment), link))
            segment = []
        else:
            segment.append(line)
    if _has_content(segment) or not records:
        records.append(_parse_segment(segment))
    return Traceback(chain=tuple(records))


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _with_link(record: ExceptionRecord, link: Link) -> ExceptionRecord:
    return ExceptionRecord(
        record.type, record.message, record.frames, link, record.members, record.more_members
    )


def _parse_segment(lines: list[str]) -> ExceptionRecord:
    lines = _trim(lines)
    for index, line in enumerate(lines):
        match = _GROUP_FIRST_SEP_RE.match(line)
        if match:
            return _parse_group(lines[:index], lines[index + 1 :], len(match.group("indent")))
    return _parse_plain(lines)


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


def _parse_group(head: list[str], body: list[str], column: int) -> ExceptionRecord:
    own = _parse_plain([_strip_box(line, column) for line in head])
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
            members.append(_parse_chain(content))
    return ExceptionRecord(own.type, own.message, own.frames, "", tuple(members), more)


def _parse_plain(lines: list[str]) -> ExceptionRecord:
    frames: list[Frame] = []
    index = 0
    lines = _trim(lines)
    while index < len(lines) and (not lines[index].strip() or _HEADER_RE.match(lines[index].strip())):
        index += 1
    while index < len(lines):
        line = lines[index]
        frame_match = _FRAME_RE.match(line)
        repeat_match = _REPEAT_RE.match(line)
        if frame_match:
            source, index = _read_source(lines, index + 1)
            frames.append(
                Frame(
                    filename=frame_match.group("file"),
                    lineno=int(frame_match.group("line")),
                    function=(frame_match.group("func") or "").strip(),
                    source=source,
                )
            )
            continue
        if repeat_match and frames:
            last = frames[-1]
            frames[-1] = Frame(last.filename, last.lineno, last.function, last.source, int(repeat_match[1]))
        elif line.startswith(" ") and frames and (_CARET_RE.match(line) or not line.strip()):
            pass
        elif line.startswith(" ") and frames:
            pass  # a detail line (e.g. SyntaxError's offending code) without a frame header
        else:
            break
        index += 1
    exc_type, message = _parse_exception_lines(lines[index:])
    return ExceptionRecord(type=exc_type, message=message, frames=tuple(frames))


def _read_source(lines: list[str], index: int) -> tuple[str | None, int]:
    """Return the source line after a frame header (None if missing) and the next index to read."""
    source: str | None = None
    if index < len(lines):
        candidate = lines[index]
        if (
            candidate.startswith("    ")
            and not _FRAME_RE.match(candidate)
            and not _REPEAT_RE.match(candidate)
            and not _CARET_RE.match(candidate)
        ):
            source = candidate.strip()
            index += 1
    while index < len(lines) and _CARET_RE.match(lines[index]) and lines[index].startswith(" "):
        index += 1
    return source, index


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
