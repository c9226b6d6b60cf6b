"""Log content made safe for the digest's text and Markdown forms (Jinja autoescapes the HTML form).

The rule a reader must not break: every value that comes from logs reaches a text or Markdown digest
through one of these functions. Markdown is read by renderers of several dialects (CommonMark and
GFM, but also Python-Markdown and the original Markdown.pl, which pass raw HTML through, do not
honour a backslash before `<` and may not know fenced code), so only escapes every dialect honours
are used: HTML entities for `<`, `>` and `&`, backslashes for Markdown's own punctuation, and
indented code blocks for tracebacks.
"""

from __future__ import annotations

import re
from typing import Any, Final

# C0 and C1 control characters but tab and newline (ANSI escapes start with ESC), and the Unicode
# direction overrides that make a line read differently from what it holds ("Trojan Source").
_UNSAFE: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_PUNCTUATION: Final = re.compile(r"([\\`*_{}\[\]#|~])")
_ENTITIES: Final = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def terminal_safe(value: Any) -> str:
    """The value's text with control characters and direction overrides shown as U+FFFD; newlines
    and tabs kept: it cannot move a terminal's cursor, colour it or reorder what a reader sees."""
    return _UNSAFE.sub("\ufffd", str(value))


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
