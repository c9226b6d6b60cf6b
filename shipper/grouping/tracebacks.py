"""Parse a Python traceback, as `traceback.format_exception` prints it, into small frozen dataclasses.

Handles what real logs contain: chained exceptions ("The above exception was the direct cause..." and
"During handling of the above exception..."), `ExceptionGroup` boxes (nested, with "and N more
exceptions"), recursion markers ("[Previous line repeated N more times]"), frames whose source line
is missing, 3.11+ caret/tilde lines, 3.13 multi-line statements, SyntaxError frames without a
function, multi-line messages, ANSI colours, and traces cut in the middle by a size limit; also as
other tools pass them on (see `normalized`): as IPython/Jupyter prints them, indented as a whole,
encoded once more as a JSON string, after other text (`ERROR:root:...`) or with a log collector's
prefix on every line, as loguru marks its catching frame (`> File`), indented with tabs, and as other
renderers print them (faulthandler, rich, pytest, Django, stackprinter, Twisted's brief and verbose
failures, logging's "--- Logging error ---": see `renderers`), and as rsyslog escapes its line ends
(`#012`); a chain quoted in a message (a RemoteTraceback's) stays message. A text cut inside its
innermost frame does not read that frame.

Parsing is pure and lenient: text that is not a traceback still yields one `ExceptionRecord` whose
type is empty and whose message is the text, so callers never have to handle a parse failure.

`scan_traceback` gives the same chain with each exception's frames parsed on demand, innermost first
(for the fingerprint, which needs the raising statement). Distinct frame blocks, frames and group
members are parsed once each (bounded memos, safe across threads; `clear_caches()` empties them).

`scan_plain` is the fast path for the shape nearly every logged traceback has (the output of
`traceback.format_exception` for a plain exception or chain): it finds each exception's line and
innermost frame with `str.rfind` and one search, and hands out frames as the text `read_frame` reads
with the frame regex; it says None at anything else, for which `scan_traceback` or `parse_traceback`
must be used. Where it answers, it agrees with them. `group_parts` takes an ExceptionGroup box apart:
`group_box` cuts it at its separators (one regex split), `block_member` unboxes one run of it.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final, Generic, Literal, NamedTuple, TypeVar

from shipper.grouping import renderers
from shipper.lazy_regex import compile_cached

Link = Literal["cause", "context", ""]
_K = TypeVar("_K")
_V = TypeVar("_V")

_ANSI_RE: Final = compile_cached(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADER: Final = renderers.HEADER + "\n"
_HEADER_RE: Final = compile_cached(
    r"(?:[ \t]*\n)*(?:Exception Group )?Traceback \(most recent call last\):[ \t]*\n"
)
# One frame: header, optional source line, then any deeper-indented lines (3.11+ caret lines, the
# further lines of a multi-line statement and "...<N lines>..." as 3.13 prints them), then an optional
# recursion marker. Only the first source line is kept: it is the same in every Python version.
_FRAME_BLOCK_RE: Final = compile_cached(
    r'[ \t]+File "(?P<file>[^\n]*)", line (?P<line>\d+)(?:, in (?P<func>[^\n]*))?\n'
    r"(?:    (?![ \t]*(?:[\^~][\^~ \t]*\n|File \"|\[Previous line))[ \t]*(?P<source>[^\n]*)\n)?"
    r"(?:    (?![ \t]*(?:File \"|\[Previous line))[^\n]*\n)*"
    r"(?:[ \t]*\[Previous line repeated (?P<repeated>\d+) more times?\][ \t]*\n)?"
)
_FRAME_LINE_RE: Final = compile_cached("^" + _FRAME_BLOCK_RE.pattern, re.MULTILINE)  # at a line start
_NEXT_FRAME_RE: Final = compile_cached(r'^[ \t]+File "', re.MULTILINE)
_FILE_LINE_RE: Final = compile_cached(r'\n(?=[ \t]+File ")')  # a "File" line after the newline: fast to find
# An exception's type as `traceback` prints it: module and qualified name, dotted; its first character
# a letter of any script or "_" (a class named in another script, `Ошибка`), and a class defined in a
# function holds "<locals>." (`app.jobs.run.<locals>.RetryError`).
_EXC_TYPE: Final = r"[^\W\d][\w.]*+(?:<locals>\.[\w.]*+)*+"
_EXC_LINE_START_RE: Final = compile_cached(rf"^{_EXC_TYPE}(?::|$)", re.MULTILINE)
_EXC_LINE_AFTER_RE: Final = compile_cached(rf"\n(?={_EXC_TYPE}(?::|$))", re.MULTILINE)  # idem
_EXC_LINE_RE: Final = compile_cached(rf"^(?P<type>{_EXC_TYPE})(?:: (?P<msg>.*)|:)?$")
_GROUP_FIRST_SEP_RE: Final = compile_cached(r"( *)\+-\+-+ 1 -+\s*\Z")  # a line (`endpos` at its end)
_MORE_RE: Final = compile_cached(r"^and \d+ more exceptions?$")
_MAX_GROUP_DEPTH: Final = 12  # Python prints at most 10 levels; deeper text is not from it
_DEPTH_RE: Final = compile_cached(r"^\.\.\. \(max_group_depth is \d+\)$")


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
    return _parse_chain(_normalized(text), 0)


def scan_traceback(text: str) -> tuple[ScannedException, ...] | None:
    """The chain `parse_traceback` gives, with the frames of each exception parsed on demand.

    For callers that need few frames (a fingerprint needs the raising statement): the innermost
    frames are parsed first, and the others only when asked for. None when the text has
    `ExceptionGroup` boxes: use `parse_traceback` for those.
    """
    text = _normalized(text)
    if "+" in text and "+-+" in text:  # (a rare character is found much faster: checked first)
        return None
    if "above exception" not in text:  # in both sentences that link a chain
        return (_scan_plain(text, ""),)
    return tuple(_scan_plain(segment, link) for segment, link in _segments(text))


def without_colours(text: str) -> str:
    """`text` without ANSI colour and style sequences (a terminal's colours: a coloured copy of a line
    and a plain one are the same line)."""
    return _ANSI_RE.sub("", text) if "\x1b[" in text else text


def _normalized(text: str) -> str:
    # (Most tracebacks start with the header: the shapes other tools give are looked for only in others.)
    if not text.startswith(_HEADER):  # (a traceback on one line: its line ends escaped)
        if _ESCAPED_HEADER in text and "\n" not in text.rstrip("\n"):
            text = _unescaped(text)
        elif _SYSLOG_ESCAPED_HEADER in text and "\n" not in text.rstrip("\n"):
            text = re.sub(_SYSLOG_ESCAPE, _syslog_unescaped, text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = without_colours(text)  # as 3.13 prints tracebacks to a terminal
    if text.count(_FRAME_START) != text.count(_PLAIN_FRAME_START):  # a frame line `traceback` did not write
        text = _IPYTHON_PLAIN_FRAME_RE.sub(_as_plain_frame, text)
    if renderers.LOGGING_CALL_STACK in text:  # a record `logging` could not emit: its call stack's frames
        text = renderers.from_logging_error(text) or text
    if _TAB_INDENT in text:  # indents written as tabs (a pipeline, an editor): as `traceback` indents
        text = re.sub(_TABS, _as_spaces, text)
    # loguru: a blank line after the header (after a log line, its header is not first), the frame that
    # caught the exception marked "> File".
    if (text.startswith(_LOGURU_HEADER) or not text.startswith(_HEADER)) and _MARKED_FRAME in text:
        text = text.replace(_MARKED_FRAME, _PLAIN_FRAME)
    if not text.startswith(_HEADER):
        if text[:1] in _STRUCTURED_STARTS and renderers.STRUCTURED_MARK in text:  # structlog's, as JSON
            text = renderers.from_structured(text) or text
        if renderers.DJANGO_EXCEPTION in text:  # (its report starts with the type, or "Environment:")
            text = renderers.with_django_exception_line(text)
        if _IPYTHON_HEADER in text:  # (no colon: not in `traceback`'s header)
            text = _from_ipython(text)
        elif renderers.RICH_TOP in text:
            text = renderers.from_rich(text) or text
        elif renderers.FAULTHANDLER_MARK in text and _HEADER not in text:
            text = renderers.from_faulthandler(text) or text
        elif renderers.PYTEST_ERROR in text and _HEADER not in text:
            text = renderers.from_pytest(text) or text
        elif text.startswith(renderers.STACKPRINTER_FRAME) or (
            _STACKPRINTER_FRAME in text and _HEADER not in text
        ):
            text = renderers.from_stackprinter(text) or text
        elif (renderers.TWISTED_BRIEF in text or renderers.TWISTED_VERBOSE in text) and _HEADER not in text:
            text = renderers.from_twisted(text) or text
        if text[:1] in _INDENTS:  # (`traceback` starts its header at the line start)
            text = _dedented(text)
        if not text.startswith(_HEADER):
            text = _without_preamble(text)
    return text


_STRUCTURED_STARTS: Final = ("[", "{")


def _without_preamble(text: str) -> str:
    """`text` from its traceback's header on, when other text comes before it (the line of the record
    `logging.exception` printed, `ERROR:root:charge failed`; a message on the header's line) and the
    header is followed by a frame; not when that text holds a frame, a link sentence or a quote (a
    chain, a quoted traceback), nor for an ExceptionGroup's header. When the text before the header on
    its line comes before each line (a log collector's time, host, pid: see `_without_line_prefixes`),
    without it on each line."""
    at = text.find(_HEADER)
    if at <= 0:
        return text
    before = text[:at]
    if before.endswith(_BOX_HEADER):  # an ExceptionGroup's box: from its first line, at its column
        return _box_without_preamble(text, at - len(_BOX_HEADER))
    if not before.strip() or "+-+" in before:
        return text
    start = text.rfind("\n", 0, at) + 1
    if start and at > start:  # a prefix on the header's line, and lines before it: on every line?
        unprefixed = _without_line_prefixes(text, start, at, everywhere=True)
        if unprefixed is not None:
            return unprefixed if unprefixed.startswith(_HEADER) else _without_preamble(unprefixed)
    if before.endswith(_QUOTE_LINE):  # the traceback a frameless exception quotes (a worker's) comes first
        start = before.rfind("\n", 0, len(before) - len(_QUOTE_LINE)) + 1
        head = before[:start]
        if head.strip() and 'File "' not in head and "above exception" not in head and '"""' not in head:
            return text[start:]
    if 'File "' in before or "above exception" in before or '"""' in before:
        return text
    line_start = text.rfind("\n", 0, at) + 1
    if at > line_start and not text[line_start:at].strip(" \t"):
        # the whole traceback indented under the message's line (twisted's log, a formatter that
        # indents the exception text): as printed, when every line of it carries that indent
        dedented = _dedented(text[line_start:])
        if dedented.startswith(_HEADER):
            return dedented
    after = at + len(_HEADER)
    while text.startswith("\n", after) and after - at < _LINE_PREFIX_LIMIT:  # loguru: a blank line first
        after += 1
    if text.startswith(_PLAIN_FRAME_LINE, after):
        return text[at:]
    return _without_line_prefixes(text, text.rfind("\n", 0, at) + 1, at) or text


_BOX_HEADER: Final = "+ Exception Group "


def _box_without_preamble(text: str, box: int) -> str:
    """`text` from the first line of the ExceptionGroup box whose header's "+" is at `box`, that "+"
    at the column of the box's next line ("|"), when other text comes before it (see `_without_preamble`)."""
    start = text.rfind("\n", 0, box) + 1
    before = text[:box]
    if not before[start:].strip() and not before[:start].strip():
        return text  # no text before the box
    if "+-+" in before or 'File "' in before or "above exception" in before or '"""' in before:
        return text
    line_end = text.find("\n", box)
    following = text[line_end + 1 :] if line_end >= 0 else ""
    column = len(following) - len(following.lstrip(" "))
    if not following[column:].startswith("|"):
        return text
    return " " * column + text[box:]


def _without_line_prefixes(text: str, start: int, at: int, *, everywhere: bool = False) -> str | None:
    """`text` from `start` (the start of the line whose header is at `at`) with the text before the
    header taken off each line that starts with text like it (its numbers may differ: times, pids), when
    the line after the header does and a frame follows; None when it does not. `everywhere`: the whole
    text so, when its first line starts with that text too (a chain, a quoted worker's traceback, every
    line of which a logger prefixed); else None."""
    prefix = text[start:at]
    if not prefix.strip() or len(prefix) > _LINE_PREFIX_LIMIT:
        return None
    pattern = re.compile(
        "^"
        + "".join(r"\d+" if part.isdigit() else re.escape(part) for part in _DIGITS_RE.split(prefix) if part),
        re.MULTILINE,
    )
    after = at + len(_HEADER)
    following = pattern.match(text, after)
    if following is None or not text.startswith(_PLAIN_FRAME_LINE, following.end()):
        return None
    if everywhere:
        return pattern.sub("", text) if pattern.match(text) else None
    return pattern.sub("", text[start:])


_DIGITS_RE: Final = compile_cached(r"(\d+)")
_LINE_PREFIX_LIMIT: Final = 200  # a collector's prefix is a few dozen characters; a longer one is message


# A traceback encoded once more as a JSON string (a pipeline that serialises a JSON log line twice):
# one line, its line ends written "\n".
_ESCAPED_HEADER: Final = "Traceback (most recent call last):\\n"
# A traceback as rsyslog writes a message's control characters: each as `#` and its three octal digits,
# a line end `#012`, a tab `#011` (`/var/log/syslog`, `/var/log/messages` of a service that logs to
# syslog): one line. Only such a line is unescaped (`#012` in another text is the text's).
_SYSLOG_ESCAPED_HEADER: Final = "Traceback (most recent call last):#012"
_SYSLOG_ESCAPE: Final = r"#0([0-3][0-7])"  # (compiled when first used, by `re`'s cache: a rare shape)


def _syslog_unescaped(escape: re.Match[str]) -> str:
    return chr(int(escape[1], 8))  # (a control character: below 32)


_INDENTS: Final = ("\n", " ", "\t")
_PLAIN_FRAME_LINE: Final = '  File "'
_MARKED_FRAME: Final = '\n> File "'
_STACKPRINTER_FRAME: Final = "\n" + renderers.STACKPRINTER_FRAME  # a frame line at a line's start
_LOGURU_HEADER: Final = _HEADER + "\n"
_TAB_INDENT: Final = "\n\t"
_TABS: Final = r"(?m)^\t+"  # (compiled when first used, by `re`'s cache: a rare shape)


def _as_spaces(tabs: re.Match[str]) -> str:
    return "    " * len(tabs[0])


def _unescaped(text: str) -> str:
    """The traceback `text` holds encoded as a JSON string's content; where that is not valid JSON (only
    the line ends escaped: a repr, a sed), with its line ends alone restored."""
    try:
        decoded = json.loads('"' + text.strip("\n") + '"')
    except ValueError:
        return text.replace("\\r\\n", "\n").replace("\\n", "\n")
    return decoded if isinstance(decoded, str) else text


def _dedented(text: str) -> str:
    """`text` less the indent that each of its lines carries, when its first line (blank ones aside) is a
    traceback's header so indented (a formatter that indents the exception text, a Markdown quote)."""
    header = text.find(_HEADER)
    start = text.rfind("\n", 0, header) + 1
    indent = text[start:header]
    if header < 0 or not indent or indent.strip(" \t") or text[:start].strip():
        return text
    lines = text.split("\n")
    if not all(line.startswith(indent) or not line.strip() for line in lines):
        return text
    return "\n".join(line[len(indent) :] if line.startswith(indent) else line.strip() for line in lines)


# IPython's (and so Jupyter's) traceback: a rule of dashes, then "KeyError   Traceback (most recent call
# last)" for each exception; each frame a line `Cell In[3], line 2, in load(d, k)` (a cell: IPython 8),
# `File /srv/app/x.py:12, in load(d, k)`, or `<ipython-input-3-5e1c...> in load(d, k)` and
# `/srv/app/x.py in load(d, k)` (IPython 7), then numbered lines of context, the one that ran marked
# `---->` (`%xmode Verbose`: each local's value under it, indented, and the arguments' in the frame
# line); blank lines between frames; then the exception line. `%xmode Plain` prints `traceback`'s
# header and layout but each frame line as `  File /srv/app/x.py:12 in load` (`_IPYTHON_PLAIN_FRAME_RE`).
_IPYTHON_HEADER: Final = " Traceback (most recent call last)\n"
IPYTHON_REPORT: Final = _IPYTHON_HEADER  # (in a message: a notebook runner's CellExecutionError quotes one)
_IPYTHON_HEADER_RE: Final = compile_cached(r"[^\W\d][\w.<>]* +Traceback \(most recent call last\)")
_IPYTHON_RULE_RE: Final = compile_cached(r"-{20,}")
# A frame line up to its function (a lookahead where each candidate end is told at once: no backtracking
# over the rest of a long line).
_IPYTHON_FRAME_RE: Final = compile_cached(
    r"(?:Cell In\[\d+\], line (?P<cell_line>\d+)|File (?P<file>.+?):(?P<line>\d+)"
    r"|(?P<input><[^\n>]+>|(?:[/~\\]|[A-Za-z]:[/\\])[^\n]*?\.pyw?)(?= in \S))(?=, in \S|\Z| in \S)"
)
_IPYTHON_MARKED_RE: Final = compile_cached(r"-*> ?(?P<line>\d+) ?(?P<source>.*)")
_IPYTHON_SKIPPED_RE: Final = compile_cached(r"[ \t]*(?:\d+[ \t].*|\d+|\(\.\.\.\)|\[\.\.\. skipping .*\])?")
IPYTHON_CELL: Final = "<ipython-input>"  # a cell's count (`In[3]`) varies from run to run
# The pseudo-file IPython compiles a cell as: `<ipython-input-3-5e1c1f1c4b1a>`, its count and a hash of its
# text (another after any edit of the cell).
IPYTHON_INPUT: Final = "<ipython-input-"
_FRAME_START: Final = "\n  File "
_PLAIN_FRAME_START: Final = '\n  File "'
_IPYTHON_PLAIN_FRAME_RE: Final = compile_cached(
    r'^  File (?P<file>[^"\n][^\n]*?):(?P<line>\d+),? in (?P<function>[^\n]*)$', re.MULTILINE
)


def _as_plain_frame(frame: re.Match[str]) -> str:
    """An IPython `%xmode Plain` frame line as `traceback` writes it."""
    return f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}'


def _from_ipython(text: str) -> str:
    """`text` with each traceback IPython printed in it written as `traceback` prints it: the frames of
    cells in the file `<ipython-input>` (its count differs from run to run), each function by its name
    (IPython prints its qualified name and parameters), the marked line as the frame's source."""
    lines = text.split("\n")
    out: list[str] = []
    in_frames = False
    pending: tuple[str, str, str] | None = None  # a frame until its marked line (IPython 7: its number)
    for line in lines:
        if _IPYTHON_HEADER_RE.fullmatch(line):
            if out and _IPYTHON_RULE_RE.fullmatch(out[-1]):
                out.pop()
            out.append("Traceback (most recent call last):")
            in_frames = True
            continue
        if not in_frames:
            out.append(line)
            continue
        frame = _ipython_frame(line)
        if frame is not None:
            if pending is not None:
                out.append(_ipython_frame_line(*pending))
            pending = frame
            continue
        marked = _IPYTHON_MARKED_RE.fullmatch(line) if pending is not None else None
        if pending is not None and marked is not None:
            filename, number, function = pending
            out.append(_ipython_frame_line(filename, number or marked["line"], function))
            out.append("    " + marked["source"].strip())
            pending = None
            continue
        if _IPYTHON_SKIPPED_RE.fullmatch(line):  # context, an elision, a blank line, recursion
            continue
        if pending is None and line[:1] in (" ", "\t"):  # `%xmode Verbose`: a local's value, under the line
            continue
        if pending is not None:
            out.append(_ipython_frame_line(*pending))
            pending = None
        in_frames = False  # the exception line
        out.append(line)
    if pending is not None:
        out.append(_ipython_frame_line(*pending))
    return "\n".join(out)


def _ipython_frame(line: str) -> tuple[str, str, str] | None:
    """The file name, line number ("" when only the marked line tells it) and function of the frame of
    an IPython frame line, as `traceback` prints them; None for another line."""
    frame = _IPYTHON_FRAME_RE.match(line)
    if frame is None:
        return None
    filename = frame["file"] or frame["input"] or IPYTHON_CELL
    if filename.startswith(IPYTHON_INPUT):
        filename = IPYTHON_CELL
    rest = line[frame.end() :]
    called = rest[rest.index(" in ") + 4 :] if rest else "<module>"
    function = called.partition("(")[0].strip().rsplit(".", 1)[-1]  # `Box.open`, `f.<locals>.<lambda>`
    return filename, frame["cell_line"] or frame["line"] or "", function or "<module>"


def _ipython_frame_line(filename: str, number: str, function: str) -> str:
    return f'  File "{filename}", line {number or 0}, in {function}'


def _parse_chain(text: str, depth: int) -> Traceback:
    records: list[ExceptionRecord] = []
    for segment, link in _segments(text):
        record = _parse_segment(segment, depth)
        records.append(_with_link(record, link) if link else record)
    return Traceback(chain=tuple(records))


def _segments(text: str, links_from: int = 0) -> Iterator[tuple[str, Link]]:
    """The text of each exception of a chain, with how the next one relates to it. No link sentence
    starts before `links_from` (when the caller knows where the first exception's frames end)."""
    chained = text.find("above exception", links_from) >= 0  # in both sentences: one search, not two
    parts = _split_links(text, links_from) if chained else [text]  # [segment, sentence, ..., segment]
    found = False
    for index in range(0, len(parts), 2):
        segment = parts[index]
        if (found or index + 1 < len(parts)) and (not segment or segment.isspace()):
            continue
        link: Link = ""
        if index + 1 < len(parts):
            link = "cause" if parts[index + 1].startswith("The above") else "context"
        found = True
        yield segment, link


def _split_links(text: str, links_from: int = 0) -> list[str]:
    """`text` split at its link sentences (`renderers.LINK_SENTENCES`, each alone on its line but for
    blanks after it), the sentences kept between the parts as a multi-line regex's `split` keeps its
    group: found with `str.find` (much faster than such a regex), for text
    with no link sentence before `links_from`; a sentence quoted in a message (`_quoted_spans`) is no
    link."""
    found = []
    for sentence in renderers.LINK_SENTENCES:
        start = text.find(sentence, links_from)
        while start >= 0:
            if start == 0 or text[start - 1] == "\n":  # at a line start
                found.append((start, sentence))
            start = text.find(sentence, start + 1)
    found.sort()
    if found and _QUOTE_LINE in text:
        spans = _quoted_spans(text)
        opens = [open_ for open_, _ in spans]
        found = [link for link in found if not _in_span(link[0], opens, spans)]
    parts: list[str] = []
    done = 0
    for start, sentence in found:
        end = start + len(sentence)
        while end < len(text) and text[end] in " \t":
            end += 1
        if end == len(text) or text[end] == "\n":  # "[ \t]*$"
            parts += (text[done:start], sentence)
            done = end
    parts.append(text[done:])
    return parts


# A worker process's traceback as concurrent.futures and multiprocessing quote it in the message of the
# RemoteTraceback they chain to the failure they re-raise: between two lines of three double quotes.
_QUOTE_LINE: Final = '\n"""\n'


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Where text is quoted in a message: from each line of three double quotes to the next such line
    (to the end of a text cut before it)."""
    lines = []
    at = text.find(_QUOTE_LINE)
    while at >= 0:
        lines.append(at + 1)
        at = text.find(_QUOTE_LINE, at + 4)  # (its newline may start the next one)
    if text.endswith('\n"""'):
        lines.append(len(text) - 3)
    lines.append(len(text))
    return list(zip(lines[::2], lines[1::2], strict=False))


def _in_span(at: int, opens: list[int], spans: list[tuple[int, int]]) -> bool:
    """Whether `at` is in one of `spans` (in order, apart; `opens`: where each starts)."""
    index = bisect.bisect_right(opens, at) - 1
    return index >= 0 and at < spans[index][1]


def _with_link(record: ExceptionRecord, link: Link) -> ExceptionRecord:
    return ExceptionRecord(
        record.type, record.message, record.frames, link, record.members, record.more_members
    )


def _parse_segment(text: str, depth: int) -> ExceptionRecord:
    parts = group_parts(text, depth)
    if parts is None:
        return _parse_plain(text)
    own = _parse_plain(parts.own)
    members = tuple(_parse_member(member, depth + 1) for member in parts.members)
    return ExceptionRecord(own.type, own.message, own.frames, "", members, parts.more)


class GroupParts(NamedTuple):
    """An ExceptionGroup box taken apart, its text unboxed: the group's own exception (a traceback of
    its own frames), each member's text (a traceback or chain, maybe a group again), and how many
    members "and N more exceptions" lines leave out."""

    own: str
    members: tuple[str, ...]
    more: int


def group_parts(text: str, depth: int = 0) -> GroupParts | None:
    """The parts of the ExceptionGroup box `text` (one exception of a chain, normalized) starts with;
    None when it has none, or when it is nested `depth` levels deep already (Python prints at most 10)."""
    box = group_box(text, depth)
    if box is None:
        return None
    members = []
    more = 0
    for block in box.blocks:
        member, left_out = block_member(block, box.column)
        if member:
            members.append(member)
        more += left_out
    return GroupParts(box.own, tuple(members), more)


class GroupBox(NamedTuple):
    """An ExceptionGroup box cut at its separators: the group's own exception (unboxed), and the text
    of each run of lines between member separators, still boxed at `column` (see `block_member`)."""

    own: str
    blocks: list[str]
    column: int


def group_box(text: str, depth: int = 0) -> GroupBox | None:
    """The box `text` starts with, cut (see `group_parts`, which takes each run's member out of it)."""
    # Where a first separator line can be: its lines are tested one by one.
    at = text.find("+-+") if depth < _MAX_GROUP_DEPTH else -1
    while True:
        if at < 0:
            return None
        start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
        first = _GROUP_FIRST_SEP_RE.match(text, start, end if end >= 0 else len(text))
        if first is not None:
            break
        at = text.find("+-+", end) if end >= 0 else -1
    # The lines before the separator (less leading blank ones), and those after it (less trailing ones):
    # from the start of the first line that is not blank, to the end of the last one.
    start = first.start()
    head = text[text.rfind("\n", 0, len(text) - len(text.lstrip())) + 1 : start - 1] if start else ""
    body = text[first.end() + 1 :]
    end = len(body.rstrip())
    last = body.find("\n", end) if end else 0
    column = len(first.group(1))
    own = _unboxed_head(head, column) if head else ""
    return GroupBox(own, _blocks(body if last < 0 else body[:last], column + 2), column + 2)


def block_member(block: str, column: int) -> tuple[str, int]:
    """The text of the member a run of a group box (see `group_box`) holds, unboxed ("" for none: a
    blank run, "and N more exceptions", a depth marker), and how many members it says are left out."""
    content = (
        _unboxed_block_of(block, column) if len(block) <= _CACHED_BLOCK else _unboxed_block(block, column)
    )
    if not content:
        return "", 0
    first = content.strip() if "\n" not in content else ""
    if first and _MORE_RE.match(first):
        return "", int(first.split()[1])
    if first and _DEPTH_RE.match(first):
        return "", 0
    return content, 0


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _unboxed(text: str, column: int) -> list[str]:
    """The lines of `text` without the box drawn at `column`.

    From each line: the first `column` characters when they are blank (all of a shorter blank line),
    else all the leading blanks; then a leading "| " or "+ " (or a lone "|" or "+").
    """
    return _box_re(column).findall(text)  # one match (the rest of the line) per line


@functools.lru_cache(maxsize=16)
def _box_re(column: int) -> re.Pattern[str]:
    # Each match is a whole line (an empty match would let a longer one follow at the same place).
    return re.compile(r"^(?:[^\S\n]{" + str(column) + r"}|[^\S\n]*)(?:[|+] |[|+]$)?(.*)$", re.MULTILINE)


def _unboxed_head(head: str, column: int) -> str:
    """`"\\n".join(_unboxed(head, column))`, by a replace for the usual head of a box: "+ " at `column`
    on its first line ("+ Exception Group Traceback ..."), "| " at `column` on every other line."""
    indent = " " * column
    prefix = "\n" + indent + "| "
    if head.startswith(indent + "+ "):
        unboxed = head[column + 2 :].replace(prefix, "\n")
        # Every line had the prefix when the replace took one off per newline.
        if len(head) - column - 2 - len(unboxed) == head.count("\n") * (len(prefix) - 1):
            return unboxed
    return "\n".join(_unboxed(head, column))


def _blocks(body: str, column: int) -> list[str]:
    """The text of each run of lines of `body` between the member separator lines drawn at `column`
    (a run before the first and one after each; runs of no line are skipped)."""
    if body.startswith(" " * column + "+-"):  # a separator on the first line: not preceded by a newline
        return list(_blocks_by_line(body, column))
    # One regex split (a scan in C) instead of a search and a test per line: each separator takes the
    # newline before it, so every piece after the first starts with the newline that ended it.
    pieces = _separators_re(column).split(body)
    blocks = [pieces[0]]
    blocks.extend(piece[1:] for piece in pieces[1:] if piece)
    return blocks


@functools.lru_cache(maxsize=16)
def _separators_re(column: int) -> re.Pattern[str]:
    """A member separator line at `column` (`_separator_re`) with the newline before it."""
    return re.compile(r"\n {" + str(column) + r"}\+-+(?: (?:\d+|\.\.\.) -+)?[^\S\n]*(?=\n|\Z)")


def _blocks_by_line(body: str, column: int) -> Iterator[str]:
    """`_blocks`, a line at a time."""
    separator, starts = _separator_re(column), "\n" + " " * column + "+-"  # how a separator line starts
    done = 0  # where the current run starts
    at = 0 if body.startswith(starts[1:]) else body.find(starts)
    while at >= 0:
        start = at + 1 if body[at] == "\n" else at
        end = body.find("\n", start)
        end = len(body) if end < 0 else end
        if separator.match(body, start, end):
            if start > done:
                yield body[done : start - 1]
            done = end + 1
        at = body.find(starts, end)
    if done <= len(body) and body:
        yield body[done:]


def _unboxed_block(block: str, column: int) -> str:
    """`"\\n".join(_trim(_unboxed(block, column)))`, by a replace for the usual box lines ("| " at
    `column` on every line) whose first and last lines are not blank."""
    prefix = " " * column + "| "
    if block.startswith(prefix) and block.count("\n") == block.count("\n" + prefix):
        content = block[len(prefix) :].replace("\n" + prefix, "\n")
        if content and not (content[0].isspace() or content[-1].isspace()):
            return content
    return "\n".join(_trim(_unboxed(block, column)))


# Members repeat (the same failure for several items, in one group and across groups): unboxed once each.
_unboxed_block_of: Final = functools.lru_cache(maxsize=256)(_unboxed_block)


@functools.lru_cache(maxsize=16)
def _separator_re(column: int) -> re.Pattern[str]:
    """A line that separates members of the group box drawn at `column` (`endpos` at the line's end)."""
    return re.compile(r" {" + str(column) + r"}\+-+(?: (?:\d+|\.\.\.) -+)?\s*\Z")


def _parse_member(text: str, depth: int) -> Traceback:
    """`_parse_chain` for a group member: members repeat (the same failure for several items)."""
    return _members_in(text, depth) if len(text) <= _CACHED_BLOCK else _parse_chain(text, depth)


def _parse_plain(text: str) -> ExceptionRecord:
    text, header, start, end = _frame_block(text)
    block = text[start:end]
    frames, offset = _frames_in(block) if len(block) <= _CACHED_BLOCK else _scan_frames(block)
    position = start + offset if frames or header else 0
    exc_type, message = _parse_exception_lines(_trim(text[position:].split("\n")))
    return ExceptionRecord(type=exc_type, message=message, frames=frames)


def _frame_block(text: str) -> tuple[str, bool, int, int]:
    """The text (ending with a newline), whether it has a header, and where its frame lines are.

    Frames end at the first exception line (no line of a frame starts like one). Before it, every
    frame is kept and the lines that are neither (a cut made by a size limit, "...[truncated]..."
    markers) are skipped; after it, "File" lines belong to the message. A text that ends inside its
    frames without a line end was cut there (a collector's size limit): its last frame, whose lines may
    be cut short (`line 7, in loo`, half a source line), is no frame, so that where in it the cut fell
    does not decide the key (the frame before it does).
    """
    cut = not text.endswith("\n")
    if cut:
        text += "\n"
    if text.startswith(_HEADER):  # what _HEADER_RE matches at the start of most traces
        header, start = True, len(_HEADER)
    else:
        found = _HEADER_RE.match(text)
        header, start = found is not None, found.end() if found else 0
    if _EXC_LINE_START_RE.match(text, start):
        return text, header, start, start
    exception_line = _EXC_LINE_AFTER_RE.search(text, start)
    if exception_line is not None:
        return text, header, start, exception_line.end()
    last = _last_file_line(text, start, len(text)) if cut else -1
    return text, header, start, last if last >= 0 else len(text)


def _scan_frames(block: str) -> tuple[tuple[Frame, ...], int]:
    """The frames of a block of frame lines, and where its exception lines would start.

    That is after the last frame, or at the last "File" line that is not a frame (a broken one).
    """
    frames = []
    offset = 0
    for match in _FRAME_LINE_RE.finditer(block):
        frames.append(_frame(match))
        offset = match.end()
    broken = _file_lines(block, offset)
    return tuple(frames), broken[-1] if broken else offset


def _file_lines(block: str, start: int) -> list[int]:
    """Where the lines that start like a frame ('  File "') start, from `start` (a line start) on."""
    found = [start] if _NEXT_FRAME_RE.match(block, start) else []
    found.extend(match.end() for match in _FILE_LINE_RE.finditer(block, start))
    return found


def _frame(match: re.Match[str]) -> Frame:
    filename, lineno, function, source, repeated = match.groups()
    return Frame(
        filename,
        int(lineno),
        function.strip() if function else "",
        source.rstrip() or None if source else None,
        int(repeated) if repeated else 0,
    )


# The frame block of a traceback repeats while its message varies: parse each distinct block once.
# Bounded (entries and size of each); lru_cache is safe to call from several threads.
_CACHED_BLOCK: Final = 8192  # each memo holds at most about 2 million characters of keys
_frames_in: Final = functools.lru_cache(maxsize=256)(_scan_frames)
_members_in: Final = functools.lru_cache(maxsize=256)(_parse_chain)  # Traceback is immutable


def clear_caches() -> None:
    """Forget the parsed frames (results never depend on them; benchmarks measure cold)."""
    for memo in (_frames_in, _frame_in, _members_in, _shapes, _unboxed_block_of):
        memo.cache_clear()


class LazyFrames:
    """The frames of one printed exception (outermost first, as `ExceptionRecord.frames`), parsed when
    asked for: `innermost()` parses one frame at a time from the innermost out."""

    __slots__ = ("_block", "_last", "_last_end", "_last_start")

    def __init__(self, block: str) -> None:
        """The frames of `block`, the frame lines of one exception (see `_frame_block`)."""
        self._block = block
        self._last_start = _UNKNOWN
        self._last: Frame | None = None  # the innermost frame, when the last "File" line is one
        self._last_end = -1

    def _find_last(self) -> None:
        if self._last_start == _UNKNOWN:
            block = self._block
            self._last_start = self._last_end = line = _last_file_line(block, 0, len(block))
            found = _frame_at(block, line, len(block)) if line >= 0 else None
            if found is not None:
                self._last, self._last_end = found

    def shape(self) -> tuple[int, bool]:
        """Where the exception lines start in the block (after the last frame or broken "File" line),
        and whether there is any frame: memoized by block, so a known block parses no frame."""
        block = self._block
        known = _shapes.get(block) if len(block) <= _CACHED_SHAPE else None
        if known is None:
            self._find_last()
            known = (max(self._last_end, 0), self.first() is not None)
            if len(block) <= _CACHED_SHAPE:
                _shapes.put(block, known)
        return known

    def __bool__(self) -> bool:
        return self.shape()[1]

    def first(self) -> Frame | None:
        """The innermost frame; None if there are none."""
        self._find_last()
        return self._last if self._last is not None else next(self.innermost(), None)

    def innermost(self) -> Iterator[Frame]:
        """The frames from the innermost out, each parsed when reached."""
        self._find_last()
        block = self._block
        if self._last is not None:
            yield self._last
        line = self._last_start
        while line > 0:
            upper, line = line, _last_file_line(block, 0, line)
            if line < 0:
                return
            found = _frame_at(block, line, upper)  # no frame spans a "File" line: it ends before `upper`
            if found is not None:
                yield found[0]

    def block(self) -> str:
        """The text of the frame lines (frames are a function of it)."""
        return self._block

    def all(self) -> tuple[Frame, ...]:
        """Every frame, outermost first."""
        block = self._block
        return _frames_in(block)[0] if len(block) <= _CACHED_BLOCK else _scan_frames(block)[0]


class BoundedMemo(Generic[_K, _V]):
    """A memo of at most `size` entries (the oldest goes first), for values computed from more than
    their key. `get` is one dict read; `put` holds a lock, so threads can share it."""

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._entries: dict[_K, _V] = {}
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: _K) -> _V | None:
        return self._entries.get(key)

    def put(self, key: _K, value: _V) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = value

    def cache_clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Missing(Enum):
    """What `TextMemo.get` gives for a text it does not hold (a memoized value may be None)."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING
# Every this many characters of a text, one goes into the sample `TextMemo` hashes.
_SAMPLE_STEP: Final = 32


class TextMemo(Generic[_V]):
    """A memo keyed by a long text (a whole traceback) and a short tag, bounded in entries and in the
    characters of the texts it holds (oldest first out).

    A text fresh from a JSON decoder has no hash yet, and hashing 5,000 characters costs several
    microseconds: a lookup hashes a sample instead (the tag, the length and every `_SAMPLE_STEP`th
    character) and compares the whole text with each text of that sample. Equal texts only: texts
    that share a sample cost a comparison each, never a wrong value. `get` reads without the lock
    (a race costs a miss), `put` holds it; a text longer than a quarter of the character bound is
    never held.
    """

    __slots__ = ("_buckets", "_characters", "_lock", "_max_characters", "_max_entries", "_order")

    def __init__(self, entries: int, characters: int) -> None:
        self._buckets: dict[tuple[str, int, str], list[tuple[str, _V]]] = {}
        self._order: deque[tuple[tuple[str, int, str], str]] = deque()
        self._characters = 0
        self._lock = threading.Lock()
        self._max_entries = entries
        self._max_characters = characters

    def get(self, text: str, tag: str = "") -> _V | Missing:
        """The value held for `text` with `tag`, else MISSING."""
        return self._held((tag, len(text), text[::_SAMPLE_STEP]), text)

    def put(self, text: str, tag: str, value: _V) -> None:
        """Hold `value` for `text` with `tag` (the oldest entries go while a bound is passed)."""
        self._hold((tag, len(text), text[::_SAMPLE_STEP]), text, value)

    def get_or_compute(self, text: str, tag: str, compute: Callable[[str, str], _V]) -> _V:
        """The value held for `text` with `tag`, else `compute(text, tag)`, then held: `get` and `put`
        with the sample taken once (a batch's usual call: most texts are looked up, then computed)."""
        key = (tag, len(text), text[::_SAMPLE_STEP])
        found = self._held(key, text)
        if not isinstance(found, Missing):
            return found
        value = compute(text, tag)
        self._hold(key, text, value)
        return value

    def _held(self, key: tuple[str, int, str], text: str) -> _V | Missing:
        bucket = self._buckets.get(key)
        if bucket is not None:
            for held, value in bucket:
                if held == text:
                    return value
        return MISSING

    def _hold(self, key: tuple[str, int, str], text: str, value: _V) -> None:
        if len(text) * 4 > self._max_characters:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = [(text, value)]
            else:
                for held, _ in bucket:  # (another thread may have held it since it was looked up)
                    if held == text:
                        return
                bucket.append((text, value))
            self._order.append((key, text))
            self._characters += len(text)
            while len(self._order) > self._max_entries or self._characters > self._max_characters:
                old_key, old_text = self._order.popleft()
                old_bucket = self._buckets[old_key]
                old_bucket[:] = [entry for entry in old_bucket if entry[0] is not old_text]
                if not old_bucket:
                    del self._buckets[old_key]
                self._characters -= len(old_text)

    def __len__(self) -> int:
        return len(self._order)

    @property
    def characters(self) -> int:
        """How many characters of text it holds (the bound its memory is kept under)."""
        return self._characters

    def cache_clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._order.clear()
            self._characters = 0


_UNKNOWN: Final = -2
_CACHED_SHAPE: Final = 4096
_shapes: Final[BoundedMemo[str, tuple[int, bool]]] = BoundedMemo(512)


def _frame_at(text: str, line: int, end: int) -> tuple[Frame, int] | None:
    """The frame whose "File" line starts at `line` (a frame cannot pass `end`), and where it ends."""
    lines = text[line:end]
    found = _frame_in(lines) if len(lines) <= _CACHED_LINES else _first_frame(lines)
    return None if found is None else (found[0], line + found[1])


def _first_frame(lines: str) -> tuple[Frame, int] | None:
    """The frame at the start of `lines` and its length in characters; None if it is not a frame."""
    match = _FRAME_LINE_RE.match(lines)
    return None if match is None else (_frame(match), match.end())


# A frame's lines repeat from event to event (the raising statement above all, also when the outer
# frames differ): parse each distinct text once. Bounded like _frames_in.
_CACHED_LINES: Final = 2048
_frame_in: Final = functools.lru_cache(maxsize=1024)(_first_frame)


def _last_file_line(text: str, start: int, end: int) -> int:
    """Where the last line of `text[start:end]` that starts like a frame ('  File "') starts; -1 if none.

    `start` is a line start. Equal to the last of `_file_lines`, found from the end.
    """
    at = text.rfind('File "', start, end)
    for _ in range(16):
        if at < 0:
            return -1
        line = max(text.rfind("\n", start, at) + 1, start)
        if line < at and not text[line:at].strip(" \t"):
            return line
        at = text.rfind('File "', start, at)
    if at < 0:
        return -1
    found = _file_lines(text[start : at + 6], 0)  # many 'File "' inside lines: scan the rest forwards
    return start + found[-1] if found else -1


class ScannedException(NamedTuple):
    """One exception of a chain as `scan_traceback` gives it (see ExceptionRecord)."""

    type: str
    message: str
    frames: LazyFrames
    link: Link


def _scan_plain(segment: str, link: Link) -> ScannedException:
    text, header, start, end = _frame_block(segment)
    frames = LazyFrames(text[start:end])
    offset, any_frame = frames.shape()
    position = start + offset if header or any_frame else 0
    exc_type, message = _exception_of(text[position:])
    return ScannedException(exc_type, message, frames, link)


def _exception_of(rest: str) -> tuple[str, str]:
    """`_parse_exception_lines(_trim(rest.split("\\n")))`, faster for the usual single line."""
    if rest.find("\n") == len(rest) - 1:
        line = rest[:-1]
        if not line.strip():
            return "", ""
        match = _EXC_LINE_RE.match(line)
        return ("", line.strip()) if match is None else (match.group("type"), match.group("msg") or "")
    return _parse_exception_lines(_trim(rest.split("\n")))


def _parse_exception_lines(lines: list[str]) -> tuple[str, str]:
    if not lines:
        return "", ""
    first = lines[0]
    match = _EXC_LINE_RE.match(first)
    rest = "\n".join(lines[1:]).rstrip()
    if match is None:
        return "", "\n".join(lines).strip()
    message = match.group("msg")
    if message is None and first == match.group("type"):
        # `traceback` prints the type alone for an exception whose text is empty: the lines below it
        # are its notes (`add_note`, Python 3.11+), which say where it failed, not what
        return first, ""
    if rest:
        message = f"{message}\n{rest}" if message else rest
    return match.group("type"), message or ""


# The fast path (`scan_plain`). Every frame line `traceback.format_exception` prints starts with
# exactly this after a newline; its other lines start with 4 spaces (source, carets, the further lines
# of a statement) or 2 spaces and "[" (recursion markers), so this never matches inside a frame.
_PLAIN_FRAME: Final = '\n  File "'
_GROUP_HEADER: Final = "Exception Group " + _HEADER
# In one search: the newline before the first line after the frames (the first unindented one, in plain
# text) and, when that line is the exception line and the text's last (blank lines aside), its type and
# message as `_exception_of` reads them (`_EXC_LINE_RE`, the line up to the trailing newlines). Possessive
# quantifiers: where more lines follow (a chain, a longer message), giving characters back could not make
# it match, so the search fails at once instead of trying every shorter type and message.
_AFTER_FRAMES_RE: Final = compile_cached(rf"\n(?=[^ \t])(?:({_EXC_TYPE})(?:: ([^\n]*+)|:)?+\n*+\Z)?")


class PlainFrame(NamedTuple):
    """A frame as `read_frame` gives it: what `Frame` holds but the line number."""

    filename: str
    function: str
    source: str | None
    repeated: int


class PlainException(NamedTuple):
    """One exception of a plain chain: its type, message and link (as in `ExceptionRecord`), the
    lines of its innermost frame (for `read_frame`), and where they start in `text` (its segment),
    for `outer_frame_lines`."""

    type: str
    message: str
    link: Link
    frame_lines: str
    text: str
    frame_line: int  # the newline before them


# A NamedTuple's generated __new__ is a Python call (half the cost of reading a plain exception's line):
# its fields are given in order, so the tuple is built directly.
_new_plain: Final = functools.partial(tuple.__new__, PlainException)


def scan_plain(text: str) -> tuple[PlainException, ...] | None:
    """The chain `scan_traceback` gives, when every exception of it is printed the plain way.

    That is: a "Traceback (most recent call last):" header (after blank lines), frame lines as
    `traceback` indents them, then a line with the exception's type right after the innermost frame's
    lines; links as `parse_traceback` finds them. None for anything else (ExceptionGroup boxes, frame
    lines indented otherwise, no header, a cut before the exception line, a line of no exception
    type): the general parser handles those. The frames are read by `read_frame`, which declines the
    innermost one when its lines hold more than one frame has (it spans all of them in a plain trace).
    """
    if "\r" in text or "\x1b" in text:
        text = _normalized(text)
    if "+" in text and "+-+" in text:
        return None
    frames = _plain_frames(text)
    if frames is None:
        return None  # a chain's first exception starts as the text does: not plain either
    # A link sentence starts a line, and every line before `end` (the header's, the frames') does not:
    # only the text after the first exception's frames is searched for one. (`end` is counted in the text
    # less its leading newlines: with any, it is that much early, which only searches a little more.)
    end = frames[2].start()
    if text.find("above exception", end) < 0:  # in both sentences that link a chain
        found = _plain_exception(*frames, "")
        return None if found is None else (found,)
    chain = []
    for segment, link in _segments(text, end):
        found = plain_exception(segment, link)
        if found is None:
            return None
        chain.append(found)
    return tuple(chain)


def plain_exception(text: str, link: Link = "") -> PlainException | None:
    """One exception of a normalized chain (see `segments`) as `scan_plain` reads it; None when it is
    not printed the plain way. An ExceptionGroup's own exception (see `group_parts`) may be."""
    frames = _plain_frames(text)
    return None if frames is None else _plain_exception(*frames, link)


def _plain_frames(text: str) -> tuple[str, int, re.Match[str]] | None:
    """For `plain_exception`: the text less leading blank lines, where its frame lines start (the
    header's newline), and the `_AFTER_FRAMES_RE` match at the newline that ends them; None when there
    is no header or no line after the frames."""
    if text.startswith(_HEADER):
        top = len(_HEADER) - 1  # the header's newline: frame lines start after it
    else:
        text = text.lstrip("\n")  # a chain's later segments start after a blank line
        top = text.find("\n")
        if not (text.startswith(_HEADER) or text.startswith(_GROUP_HEADER)):
            return None
    after = _AFTER_FRAMES_RE.search(text, top)
    if after is None:
        return None  # frames only, or cut before the exception line
    return text, top, after


def _plain_exception(text: str, top: int, after: re.Match[str], link: Link) -> PlainException | None:
    """`plain_exception` of `text` whose frame lines `_plain_frames` found after `top`."""
    end = after.start()  # the newline that ends the frames
    line = text.rfind(_PLAIN_FRAME, top, end)  # the innermost frame: the last frame line's
    if line < 0:
        return None
    if after[1] is not None:  # the usual one-line message (blank lines after it are trimmed)
        return _new_plain((after[1], after[2] or "", link, text[line + 1 : end + 1], text, line))
    if not _EXC_LINE_START_RE.match(text, end + 1) or renderers.LOGGING_CALL_STACK in text:
        return None  # (a logging error's call stack follows its exception: `renderers.from_logging_error`)
    exc_type, message = _exception_of(text[end + 1 :] if text[-1] == "\n" else text[end + 1 :] + "\n")
    return _new_plain((exc_type, message, link, text[line + 1 : end + 1], text, line)) if exc_type else None


def read_frame(lines: str) -> PlainFrame | None:
    """The frame of `lines` (from its "File" line to the next frame's, or to the exception line) as
    `_first_frame` reads it, when it spans all of them; else None. For the innermost frame that also
    means `_frame_block` finds the exception lines right after them, as `scan_plain` does."""
    match = _FRAME_BLOCK_RE.match(lines)
    if match is None or match.end() != len(lines):
        return None
    filename, _, function, source, repeated = match.groups()
    return _new_frame(
        (
            filename,
            function.strip() if function else "",
            source.rstrip() or None if source else None,
            int(repeated) if repeated else 0,
        )
    )


_new_frame: Final = functools.partial(tuple.__new__, PlainFrame)  # as `_new_plain`: no Python __new__


def outer_frame_lines(exception: PlainException) -> Iterator[str | None]:
    """The lines of each frame of a plain exception outside its innermost one, from the innermost
    out, as `LazyFrames.innermost` finds them; a None means it might find others (a frame line
    indented otherwise): the caller must use the general parser then."""
    text, upper = exception.text, exception.frame_line
    top = text.find("\n")  # the header's newline
    while True:
        line = text.rfind(_PLAIN_FRAME, top, upper)
        if line < 0:
            if 'File "' in text[top:upper]:
                yield None
            return
        yield text[line + 1 : upper + 1]
        upper = line


def bare_exception(text: str) -> tuple[str, str] | None:
    """The type and message of an exception printed without traceback (a group member never raised,
    the cause in `raise X from Y()`), as `parse_traceback` reads it; None when `text` holds more."""
    if 'File "' in text or "Traceback (most recent call last)" in text:
        return None
    exc_type, message = _exception_of(text if text.endswith("\n") else text + "\n")
    return (exc_type, message) if exc_type else None


def has_frame_lines(text: str) -> bool:
    """Whether `text` holds a frame line (`File "..."`) as `traceback` prints it, read as `normalized`
    reads it (IPython's traceback, one encoded as a JSON string): a traceback that has a key of its own."""
    return 'File "' in text or 'File "' in _normalized(text)


def normalized(text: str) -> str:
    """`text` with the line ends and colours `traceback` may print taken out, as the parser reads it;
    written as `traceback` prints it when another tool printed or passed it on otherwise (IPython, an
    indent, JSON escapes, text before the header, a prefix on every line)."""
    return _normalized(text)


def segments(text: str) -> Iterator[tuple[str, Link]]:
    """The text of each exception of a chain (`text` normalized), with how the next one relates to it."""
    return _segments(text)
