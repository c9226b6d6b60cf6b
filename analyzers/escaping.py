"""Log content made safe for every output: text, Markdown, shell commands, mail headers (Jinja
autoescapes the HTML form).

The rule a reader must not break: every value that comes from logs (titles, host names, grouping keys:
another shipper may write any `error.grouping_key`) reaches an output through one of these functions,
one per kind of output. Markdown is read by renderers of several dialects (CommonMark and
GFM, but also Python-Markdown and the original Markdown.pl, which pass raw HTML through, do not
honour a backslash before `<` and may not know fenced code), so only escapes every dialect honours
are used: HTML entities for `<`, `>` and `&`, backslashes for Markdown's own punctuation, and
indented code blocks for tracebacks.
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from typing import Any, Final

# Characters a reader cannot see: the Unicode direction marks, embeddings, overrides and isolates
# that make a line read differently from what it holds ("Trojan Source", U+061C, U+200E/F,
# U+202A-E, U+2066-9), and the zero-width ones that make two different texts look the same
# (U+200B-D, the word joiner and invisible operators U+2060-4, the byte order mark U+FEFF).
_INVISIBLE: Final = r"\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
# C0 and C1 control characters but tab and newline (ANSI escapes start with ESC), and the invisible ones.
_UNSAFE: Final = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
# The same in a value that must stay on one line and be one word (a command argument): newlines
# and tabs too.
_UNSAFE_IN_WORD: Final = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_INVISIBLE}]")
# The zero-width non-joiner and joiner, which some scripts and emoji need (`_joins`).
_JOINERS: Final = "\u200c\u200d"
_INVISIBLE_IN_JSON: Final = re.compile(rf"[\x7f-\x9f\u2028\u2029{_INVISIBLE}]")
_MARKDOWN_PUNCTUATION: Final = re.compile(r"([\\`*_{}\[\]#|~])")
_ENTITIES: Final = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def _joins(text: str, at: int) -> bool:
    """Whether the zero-width (non-)joiner at `at` sits between two visible non-ASCII letters, marks or
    symbols: Persian, Kurdish and the Indic scripts spell words with it, emoji sequences (a family, a
    flag) are joined by it. Between ASCII letters, or beside another invisible one, it only hides a
    difference ("ad\u200cmin"), and is shown."""
    return 0 < at < len(text) - 1 and all(
        ord(text[i]) > 0x7F and unicodedata.category(text[i])[0] in "LMS" for i in (at - 1, at + 1)
    )


def _shown(pattern: re.Pattern[str], text: str, replacement: str) -> str:
    """`text` with every match of `pattern` replaced, but a joiner where the text needs it (`_joins`)."""
    return pattern.sub(
        lambda found: (
            found.group() if found.group() in _JOINERS and _joins(text, found.start()) else replacement
        ),
        text,
    )


def terminal_safe(value: Any) -> str:
    """The value's text with control characters and direction overrides shown as U+FFFD; newlines
    and tabs kept: it cannot move a terminal's cursor, colour it or reorder what a reader sees."""
    return _shown(_UNSAFE, str(value), "\ufffd")


def json_text(document: str) -> str:
    """A JSON text (`json.dumps(..., ensure_ascii=False)`) with every invisible character of its
    strings written as its `\\uXXXX` escape: a JSON reader gets the exact value, a person reading the
    file sees where a direction override or a zero-width character is (JSON's own syntax is ASCII)."""
    return _INVISIBLE_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", document)


def text_line(value: Any) -> str:
    """One line of the text digest: `terminal_safe`, and every run of whitespace (CR, LF...) one
    space, so a value cannot start a line that looks like a section or another group."""
    return terminal_safe(" ".join(str(value).split()))


def markdown_inline(value: Any) -> str:
    """A value inside a Markdown line or table cell: one line; `<`, `>`, `&` as entities (raw HTML,
    autolinks); Markdown punctuation escaped (links, images, emphasis, code, table pipes)."""
    text = text_line(value)
    for char, entity in _ENTITIES:
        text = text.replace(char, entity)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def markdown_code(value: Any) -> str:
    """A multi-line value (a traceback) as an indented code block: every dialect shows it verbatim,
    with nothing inside read as Markdown or HTML. The template puts a blank line before it."""
    lines = terminal_safe(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(f"    {line}" if line.strip() else "" for line in lines).rstrip("\n")


def shell_command(*words: Any) -> str:
    """A command line a reader may copy into a shell: each word quoted (`shlex.quote`) so that no
    log content (`;`, `$(...)`, backquotes, `#`) runs or is dropped, and on one line (a control
    character, newline or direction override is U+FFFD: such a word cannot be typed anyway)."""
    return " ".join(shlex.quote(_shown(_UNSAFE_IN_WORD, str(word), "\ufffd")) for word in words)


def markdown_code_span(value: Any) -> str:
    """A value as a Markdown code span, on one line: fenced by more backquotes than its longest run
    of them, padded when it starts or ends with one (CommonMark's rule), so it cannot close early."""
    text = text_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def header_line(value: Any, limit: int) -> str:
    """A mail header value: one line where every control character (CR, LF, NUL...), line separator
    and direction override is a space (no injected header, no reordered subject), at most `limit`
    characters."""
    flat = " ".join(_shown(_UNSAFE_IN_WORD, str(value), " ").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def source_text(value: Any, *, separator: str = ", ") -> str:
    """A field of an event's `_source` as text, whatever JSON kind another shipper gave it: a string
    as it is, a list as its items joined by `separator` (a newline for a stack trace, which a shipper
    may send as its lines), an object as JSON, `true`/`false`, a number (0 too) as written, null as ""
    (never Python's repr: `['a']`, `True`, `None`)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return separator.join(text for text in (source_text(item) for item in value) if text)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)
