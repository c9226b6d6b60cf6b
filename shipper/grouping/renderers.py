"""Stack dumps other renderers print, written as `traceback` prints a traceback, for the parser.

faulthandler's dump (a crashed or killed program's stderr: "Fatal Python error: Segmentation fault",
then each thread's frames, most recent call first) and rich's traceback (frames in a box drawn with
box-drawing characters, the line that ran marked "❱"), pytest's, Django's and stackprinter's reports,
Twisted's brief and verbose failures, and the report `logging` prints of a record it could not emit.
The one rule: what is written is only what the dump shows (file, line number, function, source line,
the error's text); nothing is made up but the exception line a dump lacks, `FatalPythonError: <its
first line>`, so a title reads as the dump did.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Final

from shipper.lazy_regex import compile_lazily

HEADER: Final = "Traceback (most recent call last):"  # the one spelling; the others import it


# faulthandler: "Current thread 0x00007f... (most recent call first):" (the thread that crashed),
# "Thread 0x... (most recent call first):" (the others), "Stack (most recent call first):" (no threads);
# each frame `  File "path", line N in function` (no comma; "???" where unknown), no source line.
FAULTHANDLER_MARK: Final = " (most recent call first):"
_FAULT_BLOCK_RE: Final = compile_lazily(
    r"^(?:(?P<current>Current thread)|Thread|Stack)(?: 0x[0-9a-fA-F]+)?(?: \[[^\]\n]*\])?"
    r" \(most recent call first\):[ \t]*$",
    re.MULTILINE,
)
_FAULT_FRAME_RE: Final = compile_lazily(
    r'[ \t]+File "(?P<file>[^\n]*)", line (?P<line>\d+|\?\?\?) in (?P<func>[^\n]*)'
)
# The line that says why: a fatal error (a signal, Py_FatalError), a Windows exception, a timeout
# (`dump_traceback_later`).
_FAULT_REASON_RE: Final = compile_lazily(
    r"^(?:Fatal Python error|Windows fatal exception): (?P<reason>[^\n]*)$"
    r"|^(?P<timeout>Timeout \([^\n]*\)!)$",
    re.MULTILINE,
)
FAULT_TYPE: Final = "FatalPythonError"


def from_faulthandler(text: str) -> str | None:
    """The crashing thread's frames of a faulthandler dump as a traceback (outermost first, each frame
    without source) ending in `FatalPythonError: <why>`; None when `text` holds no dump with a frame.

    The thread is the "Current thread" (the one that crashed), else the only stack, else the first
    thread listed (a timeout's dump); the other threads' frames (waiting in the standard library or
    elsewhere) are not the failure, and vary with what else ran. A fatal error's dump without its
    current thread (cut before it: faulthandler lists it last) is None: no thread of it is the failure.
    """
    blocks = list(_FAULT_BLOCK_RE.finditer(text))
    if not blocks:
        return None
    chosen = next((block for block in blocks if block["current"] or block[0].startswith("Stack")), None)
    reason = _FAULT_REASON_RE.search(text, 0, blocks[0].start())
    if chosen is None and reason is not None and reason["reason"] is not None:
        return None  # a fatal error's dump lists the crashing thread last: this one was cut before it
    chosen = chosen or blocks[0]
    end = next((block.start() for block in blocks if block.start() > chosen.start()), len(text))
    frames = []
    for line in text[chosen.end() : end].split("\n")[1:]:
        frame = _FAULT_FRAME_RE.fullmatch(line.rstrip())
        if frame is not None:
            number = frame["line"] if frame["line"].isdigit() else "0"
            frames.append(f'  File "{frame["file"]}", line {number}, in {frame["func"].strip()}')
        elif line.strip() and not line.startswith((" ", "\t")):
            break  # the dump's next part ("Extension modules: ...")
    if not frames:
        return None
    why = "" if reason is None else reason["reason"] or reason["timeout"]
    frames.reverse()
    return "\n".join((HEADER, *frames, f"{FAULT_TYPE}: {why}" if why else FAULT_TYPE)) + "\n"


# rich: a box whose top border holds the header, each frame a line `path:N in function` (wrapped over
# more lines when long; `in function:N` when the file cannot be read), then numbered lines of context, the
# one that ran marked `❱`, each indented by guides (`│   `); `show_locals` adds a box of locals under or
# beside the code; "... N frames hidden ..." stands for frames left out. The exception line follows the
# box; chains put the link sentence between boxes.
RICH_TOP: Final = "╭"
# (A box narrower than its header cuts the header: RichHandler's message column of an 80-column console,
# what rich assumes without a terminal, gives `╭─ Traceback (most recent call las─╮`.)
_RICH_TOP_RE: Final = compile_lazily(r"^[ \t]*╭─+ Traceback \([a-z )]*─*╮[ \t]*$", re.MULTILINE)
_RICH_SIDE: Final = "│"
# (a wrap takes a blank)
_RICH_FRAME_RE: Final = compile_lazily(r"(?P<file>.+):(?P<line>\d+) ?in ?(?P<func>\S+)")
_RICH_NO_FILE_RE: Final = compile_lazily(r"in (?P<func>\S+):(?P<line>\d+)")
_RICH_CODE_RE: Final = compile_lazily(r"(?P<mark>❱)?[ \t]*\d+(?: (?P<code>.*))?")
_RICH_BESIDE_RE: Final = compile_lazily(r"\s+[╭│╰].*")  # a locals box beside the code
_RICH_HIDDEN_RE: Final = compile_lazily(r"\.\.\. \d+ frames? hidden \.\.\.")


def from_rich(text: str) -> str | None:
    """`text` with each traceback box rich drew written as `traceback` prints it: a frame line for each
    frame (a wrapped one joined), its marked line as the source; None when it holds no such box."""
    if _RICH_TOP_RE.search(text) is None:
        return None
    out: list[str] = []
    lines = iter(text.split("\n"))
    column = 0  # where the last box stood: a handler's column (RichHandler's message) when not 0
    joining = False  # a line in that column continues the one before (wrapped at the column's width)
    members: list[list[str]] = []  # an exception group's members read so far (rich's sub-exception boxes)
    from_re = False  # the last box's innermost frame is in `re`'s parser: its exception line is not read yet
    for line in lines:
        if from_re and line.strip():
            line, from_re = _RICH_RE_ERROR_RE.sub(r"\1re.error", line, count=1), False
        if _RICH_SUB in line and _RICH_SUB_RE.fullmatch(line) is not None:
            members.append(_rich_member(lines, line.index(RICH_TOP)))
            continue
        if members and line.strip():
            _as_group(out, members)
            members = []
        top = _RICH_TOP_RE.fullmatch(line) is not None
        if not top and column and line[:column].isspace() and line[column : column + 1].strip():
            # the exception's lines after a box in a handler's column (a handler's other lines start
            # further left), or a link sentence: each a paragraph the column's width wrapped
            piece = line.strip()
            if joining:
                out[-1] += " " + piece
                joining = out[-1] not in LINK_SENTENCES
            else:
                out.append(piece)
                joining = piece not in LINK_SENTENCES
            continue
        joining = False
        if top:
            out.append(HEADER)
            out.extend(_rich_box(lines))
            column = line.index(RICH_TOP)
            innermost = next((frame for frame in reversed(out) if frame.startswith('  File "')), "")
            from_re = _RE_PARSER_FILE_RE.search(innermost) is not None
        elif (
            out
            and out[-1]
            and any(sentence.startswith(out[-1] + " " + line.strip()) for sentence in LINK_SENTENCES)
        ):
            out[-1] += " " + line.strip()  # a link sentence the console wrapped
        else:
            out.append(line.rstrip() if line.rstrip() in _LINK_STARTS else line)
    if members:
        _as_group(out, members)
    return "\n".join(out)


# rich names an exception's class by its `__name__`: `re.error` (Python <= 3.12; `PatternError` since) is a
# bare `error`, which is told from other classes of that name (`struct.error`, `zlib.error`) by where it
# was raised, `re`'s parser or compiler, and written as `traceback` writes it (the key renames it).
_RE_PARSER_FILE_RE: Final = compile_lazily(r'[/\\](?:re[/\\]_(?:parser|compiler)|sre_(?:parse|compile))\.py"')
_RICH_RE_ERROR_RE: Final = compile_lazily(r"^([ \t]*)error(?=:|[ \t]*$)")


# rich (13.8 on) draws an exception group's members after its exception line, each in a box of its own,
# `╭── Sub-exception #1 ──╮`, holding the member's traceback box and exception line.
_RICH_SUB: Final = "Sub-exception #"
_RICH_SUB_RE: Final = compile_lazily(r"[ \t]*╭─+ Sub-exception #\d* ?─*╮[ \t]*")  # (its number cut too)
_GROUP_HEAD: Final = "  + Exception Group Traceback (most recent call last):"


def _rich_member(lines: Iterator[str], column: int) -> list[str]:
    """The lines of one sub-exception box (its top read; the box standing at `column`), read from `lines`
    to its bottom border, as `traceback` prints the member: its own boxes written as tracebacks."""
    inner: list[str] = []
    joining = False  # after the member's traceback box: its exception's text, wrapped at the box's width
    for line in lines:
        content = line[column:].rstrip()
        if content.startswith("╰") or not content.startswith(_RICH_SIDE):
            break  # its bottom border, or the box was cut
        content = content[1:-1] if content.endswith(_RICH_SIDE) and len(content) > 1 else content[1:]
        content = content[1:].rstrip() if content.startswith(" ") else content.rstrip()
        if joining and content and content[0] not in "╭│╰" and content not in _LINK_STARTS:
            inner[-1] += " " + content.strip()
            continue
        joining = (
            bool(inner) and inner[-1].lstrip().startswith("╰") and bool(content) and content[0] not in "╭│"
        )
        inner.append(content)
    text = "\n".join(inner)
    written = from_rich(text) if RICH_TOP in text else None
    member = (written or text).split("\n")
    while member and not member[-1].strip():
        member.pop()
    return member


def _as_group(out: list[str], members: list[list[str]]) -> None:
    """`out`, whose last traceback is an exception group's, with it written as `traceback` prints a group:
    its frames and exception line behind `|`, then each member in a numbered block."""
    start = len(out) - 1 - out[::-1].index(HEADER) if HEADER in out else len(out)
    outer = out[start + 1 :]
    while outer and not outer[-1].strip():
        outer.pop()
    written = [_GROUP_HEAD, *("  | " + line for line in outer)]
    for number, member in enumerate(members, 1):
        written.append(
            f"  +-+---------------- {number} ----------------"
            if number == 1
            else f"    +---------------- {number} ----------------"
        )
        written.extend("    | " + line for line in member)
    written.append("    +------------------------------------")
    out[start:] = written


# The sentences between two tracebacks of a chain (a cause's, a context's), each on a line of its own.
LINK_SENTENCES: Final = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_LINK_STARTS: Final = frozenset(  # a link sentence's first words, where a console wrapped it
    " ".join(sentence.split()[:count])
    for sentence in LINK_SENTENCES
    for count in range(3, len(sentence.split()))
)


def _rich_box(lines: Iterator[str]) -> list[str]:
    """The frame lines of one rich box, read from `lines` (after its top border) to its bottom border.

    A frame line starts after a blank line of the box (or its top) and runs to the next blank line
    (rich wraps a long one); one of a frame without readable file (`in f:N`) is a line of its own.
    """
    out: list[str] = []
    header: list[str] = []  # the pieces of the frame line being read, and whether each fills the box
    after_blank = True
    for line in lines:
        stripped = line.strip()
        inner, full = _box_content(stripped)
        if inner is None:
            break  # the bottom border, or no line of the box: the box was cut
        body = inner.strip()
        no_file = _RICH_NO_FILE_RE.fullmatch(body)
        if not body or no_file is not None:
            if header:
                out.append(_rich_frame_line("".join(header)))
                header = []
            if no_file is not None:
                out.append(f'  File "<unknown>", line {no_file["line"]}, in {no_file["func"]}')
            after_blank = not body
            continue
        if header:
            header.append(body if full else body + " ")
            continue
        code = _RICH_CODE_RE.fullmatch(body)
        if after_blank and code is None and body[0] not in "╭│╰" and not _RICH_HIDDEN_RE.fullmatch(body):
            header.append(body if full else body + " ")
        elif code is not None and code["mark"] and code["code"] and out and out[-1].startswith("  File "):
            source = _RICH_BESIDE_RE.sub("", code["code"].lstrip(" \t│"))
            out.append("    " + source.rstrip())
        after_blank = False
    if header:
        out.append(_rich_frame_line("".join(header)))
    return out


def _box_content(line: str) -> tuple[str | None, bool]:
    """A box line's content between its sides ("│ " and " │"), and whether it fills the box's width (a
    word cut where the line wrapped: the next line continues it); None when it is no box line."""
    if not line.startswith(_RICH_SIDE):
        return None, False
    content = line[1:-1] if line.endswith(_RICH_SIDE) and len(line) > 1 else line[1:]
    inner = content[1:] if content.startswith(" ") else content
    inner = inner[:-1] if inner.endswith(" ") else inner
    return inner, not inner.endswith(" ")


def _rich_frame_line(header: str) -> str:
    """A frame line as `traceback` prints it, of the text of a rich frame line (wrapped lines joined)."""
    frame = _RICH_FRAME_RE.fullmatch(header.strip())
    if frame is None:
        return "    " + header.strip()  # not a frame line: a detail line of the frame before
    return f'  File "{frame["file"]}", line {frame["line"]}, in {frame["func"]}'


# pytest's failure report. `--tb=short` (and the middle entries of `--tb=auto`): each frame a line
# `path:N: in function`, then its source line (carets under it). `--tb=long` (and the first and last entries
# of `auto`): each frame its function's source, the line that ran marked `>`, the locals above it, then a
# line `path:N: ` (`path:N: ExceptionType` for the innermost); entries are parted by `_ _ _` lines. Both
# write the exception's lines prefixed `E   `; an assertion pytest rewrote is `E   assert ...`, its type
# only on the innermost long entry's line.
PYTEST_ERROR: Final = "\nE   "
# (A path without blanks or quotes, a type name after it: a line of locals, `u = 'http://h:80: x'`, is none.)
_PYTEST_LOCATION_RE: Final = compile_lazily(
    r"(?P<file>[^\s'\"=:][^\s'\"=]*?):(?P<line>\d+): ?(?:in (?P<func>\S+)|(?P<rest>[\w.]*))[ \t]*"
)
_PYTEST_ERROR_RE: Final = compile_lazily(r"E(?: +(?P<text>.*)|)")
_PYTEST_MARKED_RE: Final = compile_lazily(r">(?P<source>\s+.*)")
_PYTEST_DEF_RE: Final = compile_lazily(r"\s*(?:async\s+)?def\s+(?P<name>\w+)\s*\(")
_PYTEST_SECTION_RE: Final = compile_lazily(r"_{3,} .+ _{3,}")  # `____ test_name ____`: a test's report
_EXCEPTION_TYPE_RE: Final = compile_lazily(r"[^\W\d][\w.]*(?::|$)")


def from_pytest(text: str) -> str | None:
    """The first failure report pytest printed in `text` (`--tb=long`, `short` or `auto`) as a traceback
    (a chain as a chain); None when it holds no frame of such a report."""
    out: list[str] = []
    frames: list[str] = []
    errors: list[str] = []
    marked = function = ""
    seen_section = False
    for line in text.split("\n"):
        if _PYTEST_SECTION_RE.fullmatch(line.strip()):
            if seen_section and (frames or out):
                break  # the next test's report
            seen_section = True
            continue
        if line.strip() in LINK_SENTENCES:
            out += _pytest_exception(frames, errors)
            out += ["", line.strip(), ""]
            frames, errors, marked, function = [], [], "", ""
            continue
        location = _PYTEST_LOCATION_RE.fullmatch(line.rstrip())
        if location is not None and not line.startswith(" "):
            name = location["func"] or function or "<module>"
            frames.append(f'  File "{location["file"]}", line {location["line"]}, in {name}')
            if location["func"] is None:  # a long entry: its source came before
                if marked:
                    frames.append("    " + marked)
                named = location["rest"].strip()  # the innermost entry's exception type
                if errors and _EXCEPTION_TYPE_RE.fullmatch(named) and not _names_type(errors[0], named):
                    errors[0] = f"{named}: {errors[0]}"
            marked = function = ""
            continue
        error = _PYTEST_ERROR_RE.fullmatch(line.rstrip())
        if error is not None and (frames or marked):
            errors.append(error["text"] or "")
            continue
        found = _PYTEST_MARKED_RE.fullmatch(line.rstrip())
        if found is not None:
            marked = found["source"].strip()
            continue
        definition = _PYTEST_DEF_RE.match(line)
        if definition is not None:
            function = definition["name"]
        elif frames and frames[-1].startswith("  File ") and line.startswith("    ") and line.strip(" ^~"):
            frames.append("    " + line.strip())  # the short entry's source line
    if not frames:
        return None
    out += _pytest_exception(frames, errors)
    return "\n".join(out) + "\n"


def _names_type(line: str, exc_type: str) -> bool:
    """Whether an exception line starts with the type `exc_type` (qualified or not)."""
    named = line.split(":", 1)[0]
    return named == exc_type or named.endswith("." + exc_type)


def _pytest_exception(frames: list[str], errors: list[str]) -> list[str]:
    """One exception of a pytest report as `traceback` prints it: header, frames, exception lines."""
    lines = list(errors)
    if lines and _EXCEPTION_TYPE_RE.match(lines[0]) is None and lines[0].startswith("assert"):
        lines[0] = "AssertionError: " + lines[0]
    return [HEADER, *frames, *lines]


# stackprinter (`stackprinter.format()`, its excepthook): each frame a line `File "path", line N, in func`
# at the line start (no header, no indent), then numbered lines of context, the one that ran marked
# `-->`, then the frame's variables between dotted rules, all indented; a frame of a suppressed path is
# its frame line alone, and the frames of a long stack past the first few (a RecursionError's) are each
# their frame line and the line that ran, indented, as `traceback` prints them. A report of more than 50
# lines then gives every frame again so, after a line `---- (full traceback above) ----`. The exception
# line follows the frames, after a blank line; chains put the link sentence between the exceptions.
STACKPRINTER_FRAME: Final = 'File "'
_STACKPRINTER_FRAME_RE: Final = compile_lazily(
    r'File "(?P<file>[^\n]*)", line (?P<line>\d+), in (?P<func>\S[^\n]*)'
)
_STACKPRINTER_MARKED_RE: Final = compile_lazily(r"-->[ \t]*\d+(?:[ \t]+(?P<code>.*))?")
_STACKPRINTER_SUMMARY: Final = "---- (full traceback above) ----"
_STACKPRINTER_CONTEXT_RE: Final = compile_lazily(r"    (?:\d+ |\.{3})")  # a numbered line; a rule of dots


def from_stackprinter(text: str) -> str | None:
    """`text` with the frames and exceptions stackprinter wrote written as `traceback` prints them (the
    marked line as each frame's source; the context lines and variables left out); None when no line of
    it is such a frame line. What comes before the first frame (a log record's line) and after the last
    exception's lines is left out."""
    out: list[str] = []
    reading = ""  # "frames" (their lines, context, variables), "exception" (its lines), "after" it
    for line in text.split("\n"):
        frame = None
        if line.startswith(STACKPRINTER_FRAME):
            frame = _STACKPRINTER_FRAME_RE.fullmatch(line.rstrip())
        if frame is not None:
            if reading != "frames":
                out.append(HEADER)
            out.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["func"]}')
            reading = "frames"
        elif not reading:
            continue  # before the first frame
        elif reading == "frames" and line.rstrip() == _STACKPRINTER_SUMMARY:
            del out[len(out) - out[::-1].index(HEADER) :]  # the same frames follow, each in short
        elif reading == "frames" and line.startswith("-->"):
            marked = _STACKPRINTER_MARKED_RE.fullmatch(line.rstrip())
            if marked is not None and marked["code"] and out[-1].startswith("  File "):
                out.append("    " + marked["code"].strip())
        elif (
            reading == "frames"
            and out[-1].startswith("  File ")
            and line.startswith("    ")
            and line.strip()
            and _STACKPRINTER_CONTEXT_RE.match(line) is None
        ):
            out.append("    " + line.strip())  # a short frame's line that ran, right under its frame line
        elif not line.strip():
            reading = "after" if reading == "exception" else reading
        elif reading != "frames" and line.strip() in LINK_SENTENCES:
            out += ["", line.strip(), ""]
            reading = "link"
        elif reading in ("frames", "exception") and not line[:1].isspace():
            out.append(line.rstrip())  # the exception's line (a message's further lines too)
            reading = "exception"
        elif reading != "frames":
            break  # other text after the last exception
    return "\n".join(out) + "\n" if out else None


# Twisted's `Failure`: its default layout is `traceback`'s (a frame whose file it cannot read has a blank
# source line); `brief` (`getBriefTraceback`, `printBriefTraceback`) writes `Traceback: <type>: <value>`
# first, the type as `str` gives it (`<class 'json.decoder.JSONDecodeError'>`), then each frame a line
# `path:N:function`, no source; `verbose` (`getTraceback(detail="verbose")`) writes between
# `*--- Failure #N ---` and `*--- End of Failure #N ---` each frame as a line `path:N: function(...)`, then
# its locals and globals (indented, under ` [ Locals ]` and ` ( Globals )`, or once ` [Capture of Locals
# and Globals disabled ...]`), then `package.Type: value`. Neither prints a chain: a failure that wraps
# another writes ` (chained Failure)` and the inner one after its own.
TWISTED_BRIEF: Final = "Traceback: "
TWISTED_VERBOSE: Final = "*--- Failure #"
_TWISTED_BRIEF_HEADER_RE: Final = compile_lazily(
    r"^Traceback(?: \(failure with no frames\))?: "
    r"(?:<class '(?P<class>[^'\n]+)'>|(?P<name>[^\W\d][\w.]*)): ?",
    re.MULTILINE,
)
_TWISTED_BRIEF_FRAME_RE: Final = compile_lazily(r"(?P<file>[^\s:][^\n]*?):(?P<line>\d+):(?P<func>[^\s:()]+)")
_TWISTED_VERBOSE_RE: Final = compile_lazily(r"^\*--- Failure #\d+ (?:\(pickled\) )?---[ \t]*$", re.MULTILINE)
_TWISTED_VERBOSE_FRAME_RE: Final = compile_lazily(
    r"(?P<file>[^\s:][^\n]*?):(?P<line>\d+): (?P<func>\S+)\(\.\.\.\)"
)
_TWISTED_VERBOSE_END: Final = "*--- End of Failure #"


def from_twisted(text: str) -> str | None:
    """The first failure Twisted printed `brief` or `verbose` in `text` as a traceback (its frames without
    source, then its exception's lines); None when it holds no such failure with a frame (a failure
    without frames has no place to group by: its text stays message)."""
    verbose = _TWISTED_VERBOSE_RE.search(text)
    brief = _TWISTED_BRIEF_HEADER_RE.search(text)
    if verbose is not None and (brief is None or verbose.start() < brief.start()):
        return _from_twisted_verbose(text[verbose.end() :].split("\n")[1:])
    if brief is None:
        return None
    exc_type = brief["class"] or brief["name"]
    message: list[str] = []
    frames: list[str] = []
    for line in text[brief.end() :].split("\n"):
        frame = _TWISTED_BRIEF_FRAME_RE.fullmatch(line.rstrip())
        if frame is not None:
            frames.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["func"]}')
        elif frames:
            break  # what follows the failure
        else:
            message.append(line.rstrip())  # the value's line (a long value spans several)
    if not frames:
        return None
    value = "\n".join(message).rstrip()
    return "\n".join((HEADER, *frames, f"{exc_type}: {value}" if value else exc_type)) + "\n"


def _from_twisted_verbose(lines: list[str]) -> str | None:
    frames: list[str] = []
    exception: list[str] = []
    for line in lines:
        if line.startswith(_TWISTED_VERBOSE_END) or line.startswith(" (chained Failure)"):
            break
        frame = None if exception else _TWISTED_VERBOSE_FRAME_RE.fullmatch(line.rstrip())
        if frame is not None:
            frames.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["func"]}')
        elif exception or (frames and line.strip() and not line[:1].isspace()):
            exception.append(line.rstrip())  # (before it: a frame's locals and globals, indented)
    if not frames or not exception:
        return None
    exception[0] = exception[0].removeprefix("builtins.")  # (`reflect.qual`'s name: `traceback` writes none)
    return "\n".join((HEADER, *frames, *exception)).rstrip("\n") + "\n"


# Django's plain-text report (the debug page's copy-and-paste view, the admin e-mail's text) ends its
# frames with `Exception Type: KeyError at /path/` and `Exception Value: 'u1'`, not an exception line;
# a chain's cause is told in one line between the frames (see `_with_django_links`).
DJANGO_EXCEPTION: Final = "\nException Type: "
_DJANGO_EXCEPTION_RE: Final = compile_lazily(
    r"^Exception Type: (?P<type>[^\W\d][\w.]*)(?: at [^\n]*)?[ \t]*\n"
    r"Exception Value:[ \t]?(?P<value>[^\n]*)$",
    re.MULTILINE,
)


_DJANGO_NO_SOURCE: Final = "\n    <source code not available>\n"  # a frame whose file it could not read


# Its link sentence quotes the cause's message, not its type: `The above exception ('u1') was the direct
# cause of the following exception:`, `During handling of the above exception ('u1'), another exception
# occurred:`; the frames after it are the next exception's, without a header of their own. (The message
# may hold line ends: its end is looked for in the next _DJANGO_CAUSE_LIMIT characters, once for each
# start, so a text of many starts is read in linear time.)
_DJANGO_LINK_START_RE: Final = compile_lazily(
    r"^(?:The above exception|During handling of the above exception) \(", re.MULTILINE
)
_DJANGO_LINK_ENDS: Final = {
    "T": (") was the direct cause of the following exception:", LINK_SENTENCES[0]),
    "D": ("), another exception occurred:", LINK_SENTENCES[1]),
}
_DJANGO_CAUSE_LIMIT: Final = 4096


def _with_django_links(text: str) -> str:
    """`text` with each of Django's link sentences written as `traceback` writes it, then a header."""
    out: list[str] = []
    done = 0
    for start in _DJANGO_LINK_START_RE.finditer(text):
        if start.start() < done:
            continue  # (inside the cause's message of the sentence before)
        ending, sentence = _DJANGO_LINK_ENDS[start[0][0]]
        end = text.find(ending, start.end(), start.end() + _DJANGO_CAUSE_LIMIT)
        after = end + len(ending)
        if end < 0 or text[after : after + 1] not in ("\n", ""):
            continue
        out += (text[done : start.start()], f"\n{sentence}\n\n{HEADER}")
        done = after
    return "".join(out) + text[done:] if out else text


def with_django_exception_line(text: str) -> str:
    """`text` with Django's `Exception Type:` and `Exception Value:` lines written as the exception line
    `traceback` prints (`KeyError: 'u1'`; the request's path is no part of it), a frame it could not
    read the source of without a source line, as `traceback` prints it, and its link sentences as
    `traceback` writes them, each followed by a header: a chain is read as one (each exception before the
    last one without exception line: the report names only its message), keyed by each exception's
    raising statement, not as the last exception's outer frames (one wrapper re-raising many bugs)."""
    text = text.replace(_DJANGO_NO_SOURCE, "\n")
    if "above exception (" in text:
        text = _with_django_links(text)
    return _DJANGO_EXCEPTION_RE.sub(
        lambda found: f"{found['type']}: {found['value']}" if found["value"] else found["type"], text
    )


# `logging`'s report of a record it could not emit (`Handler.handleError`, on stderr): "--- Logging
# error ---", the exception's traceback (its frames in `logging` and the handler: the same for every bad
# call), then "Call stack:" and the frames of the program down to its logging call, then the record's
# "Message: 'template'" and "Arguments: (...)" (or "Unable to print the message and arguments ...").
LOGGING_CALL_STACK: Final = "\nCall stack:\n"
_LOGGING_ERROR_LINE: Final = "--- Logging error ---"
_LOGGING_RECORD_LINES: Final = (
    "Message: ",
    "Arguments: ",
    "Unable to print the message and arguments",
    "Use the traceback above to help find the error.",
)


def from_logging_error(text: str) -> str | None:
    """`text` with a logging error's call stack read as the outer frames of its exception: the program's
    frames down to the logging call written after the header of the traceback printed before it, then
    that traceback's frames and exception line; its line "--- Logging error ---" and the record's
    message and arguments (they vary with the call) left out. None when it holds no such report."""
    mark = text.find(LOGGING_CALL_STACK)
    header = text.rfind(HEADER + "\n", 0, mark)
    if mark < 0 or header < 0:
        return None
    lines = text[mark + len(LOGGING_CALL_STACK) :].split("\n")
    stack_end = next((n for n, line in enumerate(lines) if not line.startswith((" ", "\t"))), len(lines))
    rest = lines[stack_end:]
    while rest and rest[0].startswith(_LOGGING_RECORD_LINES):
        rest.pop(0)
    before = text[:header]
    if before.endswith(_LOGGING_ERROR_LINE + "\n"):
        before = before[: -len(_LOGGING_ERROR_LINE) - 1]
    after_header = header + len(HEADER) + 1
    stack = "".join(line + "\n" for line in lines[:stack_end])
    return before + text[header:after_header] + stack + text[after_header : mark + 1] + "\n".join(rest)


# structlog's structured tracebacks (`structlog.processors.dict_tracebacks`, `ExceptionDictTransformer`):
# a list of stacks, the raised exception first and then its cause or context (`is_cause`), each
# `{"exc_type", "exc_value", "frames": [{"filename", "lineno", "name", "locals"}], "syntax_error"}`; in
# an event as a list, or as its JSON text. No source lines: a frame is keyed by its function and the
# message, as a traceback printed without source is.
STRUCTURED_MARK: Final = '"exc_type"'
_STRUCTURED_STACKS: Final = 64  # stacks read of one chain (a chain is rarely longer than a few)
_STRUCTURED_FRAMES: Final = 2000  # frames read of a chain (a RecursionError's stack holds ~1000)
_CAUSE_LINE: Final = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT_LINE: Final = "\nDuring handling of the above exception, another exception occurred:\n\n"


def from_structured(value: object) -> str | None:
    """A structured traceback (structlog's: a list of stacks, one stack, or either as JSON text) written
    as `traceback` prints it; None for anything else."""
    if isinstance(value, str):
        if value[:1] not in ("[", "{") or STRUCTURED_MARK not in value:
            return None
        try:
            value = json.loads(value)
        except ValueError:  # (cut short by a size limit, or not JSON at all)
            return None
    stacks = [value] if isinstance(value, dict) else value
    if not isinstance(stacks, list) or not stacks or not all(_is_stack(stack) for stack in stacks):
        return None
    stacks = stacks[:_STRUCTURED_STACKS]
    frames = max(1, _STRUCTURED_FRAMES // len(stacks))
    parts: list[str] = []
    for index in range(len(stacks) - 1, -1, -1):  # the first cause first, as `traceback` prints a chain
        parts.append(_structured_stack(stacks[index], frames))
        if index:
            parts.append(_CAUSE_LINE if stacks[index].get("is_cause") else _CONTEXT_LINE)
    return "".join(parts)


def _is_stack(stack: object) -> bool:
    return (
        isinstance(stack, dict)
        and isinstance(stack.get("exc_type"), str)
        and isinstance(stack.get("frames", []), list)
    )


def _structured_stack(stack: dict[str, object], limit: int) -> str:
    """One stack of a structured traceback as `traceback` prints one exception of a chain (its
    innermost `limit` frames: the key is read from the innermost)."""
    lines = [HEADER]
    frames = stack.get("frames")
    for frame in frames[-limit:] if isinstance(frames, list) else ():
        if isinstance(frame, dict):
            filename, number, name = (
                _one_line(frame.get(field, "?")) for field in ("filename", "lineno", "name")
            )
            lines.append(f'  File "{filename}", line {number}, in {name}')
    syntax = stack.get("syntax_error")
    if isinstance(syntax, dict):  # (the location of a SyntaxError, as `traceback` prints it last)
        lines.append(
            f'  File "{_one_line(syntax.get("filename", "?"))}", line {_one_line(syntax.get("lineno", "?"))}'
        )
        if syntax.get("line"):
            lines.append(f"    {_one_line(syntax['line']).strip()}")
    value = stack.get("exc_value")
    message = value if isinstance(value, str) else ""
    if isinstance(syntax, dict) and isinstance(syntax.get("msg"), str):
        message = syntax["msg"]
    exc_type = _one_line(stack["exc_type"])
    lines.append(f"{exc_type}: {message}" if message else exc_type)
    return "\n".join(lines) + "\n"


def _one_line(value: object) -> str:
    """A field of a structured frame as one line of text (a line end in it would make another line)."""
    return str(value).replace("\r", " ").replace("\n", " ")


# A location line: `path:LINE: Type: message`, as `warnings` prints a warning (its source line after,
# indented) and pytest's `--tb=line` a failure; the first line of a message or stack trace.
_LOCATION_RE: Final = compile_lazily(
    r"(?P<path>(?:[A-Za-z]:)?[^:\n]*?[^\s:]\.pyw?|<[^>\n]+>):(?P<line>\d+): "
    r"(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Warning|Error|Exception|Exit|Interrupt)): ?(?P<message>[^\n]*)"
)


def from_location_line(text: str) -> str | None:
    """A location line (`shop/orders.py:12: DeprecationWarning: qty x7 is deprecated`) written as a
    traceback of one frame at module level, with the source line printed under it if any; None for other
    text."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    if ": " not in first or (".py" not in first and ">:" not in first):
        return None
    found = _LOCATION_RE.fullmatch(first.strip())
    if found is None:
        return None
    lines = [HEADER, f'  File "{found["path"]}", line {found["line"]}, in <module>']
    source = text[end + 1 :].partition("\n")[0] if end >= 0 else ""
    if source[:1] in (" ", "\t") and source.strip():
        lines.append(f"    {source.strip()}")
    message = found["message"]
    lines.append(f"{found['type']}: {message}" if message else found["type"])
    return "\n".join(lines) + "\n"
