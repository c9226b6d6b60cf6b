"""What the rules are made of: a `Finding` (a span to hide and the name of the rule that found it)
and a `Rule` (a name, a function that finds, the trigger words that gate it); a pattern of a list of
words laid out as a trie; a text read in another form than it is written in (escapes decoded, colour
codes taken out, split literals joined, full-width letters folded), with where each character stands
in the text as written; and the pieces of the rules' patterns (a key, a quoted or bare value).

A rule is handed the redactor that runs it as a `RuleRunner`: the rules' modules never import the
redactor (it imports them), so what a rule may ask of it is written here. Every repetition in a
pattern is bounded (`{0,N}`): that is what keeps a pathological text linear.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol

from shipper.lazy_regex import compile_lazily

# --- a pattern of a list of words, laid out as a trie -------------------------------------------------------


def _trie_pattern(words: Iterable[str], *, kept: bool = True) -> re.Pattern[str]:
    """A pattern matching any of the words, laid out as a trie (`p(?:ass|wd)`): one search over the
    text costs about a third of a substring test per word, and stays so as words are added. The trie
    is laid out when the pattern is first used, as it is compiled then (some 40 word lists: about
    2 ms of every program's start-up, which redacts only its argv). `kept=False` where a word is the
    user's (`lazy_regex.compile_lazily`)."""
    listed = tuple(words)
    return compile_lazily(lambda: _trie(listed), kept=kept)


def _trie(words: Iterable[str]) -> str:
    """The source of a pattern matching any of the words, laid out as a trie."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _branch(trie)


def _branch(node: dict[str, Any]) -> str:
    if "" in node:
        return ""  # a shorter word ends here: it matches whatever follows
    alternatives = [re.escape(char) + _branch(child) for char, child in sorted(node.items())]
    return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"


# --- findings and rules -------------------------------------------------------------------------------------

REDACTED: Final = "[REDACTED]"


def _is_redacted(span: str) -> bool:
    """A span that is (part of) an earlier `[REDACTED]`: redacting again changes nothing."""
    return span.replace(REDACTED, "").strip("[]") in ("", "REDACTED")


# A NamedTuple, not a frozen dataclass: every program that logs defines it at import (see
# docs/performance.md, "The short script in instructions").
class Finding(NamedTuple):
    """A secret found in a text: `text[start:end]` is hidden; `rule` names the rule that found it."""

    start: int
    end: int
    rule: str


class RuleRunner(Protocol):
    """What a rule may ask of the redactor that runs it (`Redactor` is one): whether a key names a
    secret (the user's key names included), whether a text may hold one, and the findings in a text
    with fewer decodings of its escapes left."""

    def is_secret_key(self, key: str, *, in_text: bool = False) -> bool: ...

    def might_contain_secret(self, text: str) -> bool: ...

    def _findings(self, text: str, decodings: int = 2) -> list[Finding]: ...


FindFn = Callable[[RuleRunner, str], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """A named rule: `find` yields the spans it hides; it runs only on a text that contains one of
    `triggers` (lower-case substrings every match contains; empty: always)."""

    name: str
    find: FindFn
    triggers: tuple[str, ...] = ()
    # whether a lower-cased text holds a trigger: one `in` for one word, one search of a trie for more (a
    # generator over the words cost a third of a line's redaction once rules were many; the trie of 46
    # token prefixes costs a fifth of their alternation)
    applies: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.triggers:
            applies: Callable[[str], bool] = _always
        elif len(self.triggers) == 1:
            applies = _contains(self.triggers[0])
        elif all(map(str.isascii, self.triggers)):
            pattern = _trie_pattern(self.triggers)  # compiled when first asked
            applies = lambda text: pattern.search(text) is not None  # noqa: E731
        else:  # the words with other letters only in a text that has such letters
            ascii_pattern = _trie_pattern([word for word in self.triggers if word.isascii()] or ["\0"])
            other = _trie_pattern(word for word in self.triggers if not word.isascii())
            applies = lambda text: (  # noqa: E731
                ascii_pattern.search(text) is not None
                or (not text.isascii() and other.search(text) is not None)
            )
        object.__setattr__(self, "applies", applies)


def _always(_: str) -> bool:
    return True


def _contains(word: str) -> Callable[[str], bool]:
    return lambda text: word in text


Keep = Callable[[re.Match[str], str], bool]  # whether a match's group, of this value, is a secret


def _group_findings(
    pattern: re.Pattern[str],
    text: str,
    rule: str,
    groups: tuple[str | int, ...] = ("secret",),
    keep: Keep | None = None,
) -> Iterator[Finding]:
    """A finding named `rule` of each of `groups` that took part in a match of `pattern` in `text` (not
    empty, and kept by `keep(match, value)` when given): the shape of most rules, a pattern whose named
    parts are the secret (the alternatives that write it, or a password and the old one it replaces)."""
    for match in pattern.finditer(text):
        for group in groups:
            value = match[group]
            if value and (keep is None or keep(match, value)):
                yield Finding(*match.span(group), rule)


def _not_redacted(_: re.Match[str], value: str) -> bool:
    """Whether a value is other than an earlier `[REDACTED]` (a `keep` of `_group_findings`)."""
    return value != REDACTED


def _pattern_rule(name: str, pattern: re.Pattern[str], triggers: tuple[str, ...]) -> Rule:
    """A rule that hides the group `secret` of each match, or the whole match if it has none."""
    groups: tuple[str | int, ...] = ()

    def find(_: RuleRunner, text: str) -> Iterator[Finding]:
        nonlocal groups
        if not groups:
            # (asked when the rule first runs: asked when the rule is made, it would compile a lazily
            # compiled pattern at import)
            groups = ("secret",) if "secret" in pattern.groupindex else (0,)
        return _group_findings(pattern, text, name, groups)

    return Rule(name, find, triggers)


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in order, overlapping ones merged (the first rule's name kept)."""
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            if finding.end > last.end:
                merged[-1] = Finding(last.start, finding.end, last.rule)
            continue
        merged.append(finding)
    return merged


# The rule that finds a flag's value (`--password X`): its findings are the ones told apart below.
FLAG_VALUE: Final = "flag_value"
# Between a flag and its value: blanks, and the quotes and comma of an argv's repr (`'-p', 'x'`).
_FLAG_GAP: Final = frozenset(" \t\"',\\")


def _without_values_of_glued_flags(text: str, findings: list[Finding]) -> list[Finding]:
    """The findings less each `flag_value` whose flag ends in another rule's finding: that flag was a
    short one with its value glued to it (`mysql -pS3cretPw db`: `-p` and the password), so the word
    after it is no value of it (`pS3cretPw` only looked like a flag named after a password)."""
    if not any(finding.rule == FLAG_VALUE for finding in findings):
        return findings  # (the usual case)
    ends = {finding.end for finding in findings if finding.rule != FLAG_VALUE}
    kept = []
    for finding in findings:
        if finding.rule == FLAG_VALUE:
            flag_end = finding.start
            while flag_end > 0 and text[flag_end - 1] in _FLAG_GAP:
                flag_end -= 1
            if flag_end in ends:
                continue
        kept.append(finding)
    return kept


def _hide(text: str, found: list[Finding]) -> str:
    """The text with each (merged, ordered) finding replaced by `[REDACTED]`."""
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for finding in found:
        parts.append(text[position : finding.start])
        parts.append(REDACTED)
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


# --- a text in other forms: escapes, colour codes, split literals, full-width letters -----------------------


# Full-width forms (`password=x` typed in full-width letters, as CJK input methods do) and the blanks
# other than a space (no-break, narrow, ideographic) read as their ASCII letters and a space: one
# character for one, so a span found in the folded text holds in the text as written.
_WIDE_OR_BLANK: Final = compile_lazily(r"[\uff01-\uff5e\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_TO_ASCII: Final = {
    **{0xFF01 + offset: 0x21 + offset for offset in range(94)},
    **dict.fromkeys((0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000), 0x20),
}


def _folded(text: str) -> str:
    """The text with full-width forms and other blanks as ASCII (the very text when it has none)."""
    return text.translate(_TO_ASCII) if _WIDE_OR_BLANK.search(text) is not None else text


# Where a pretty-printer split a string into adjacent literals over lines (pprint: `'Bearer '` then
# `'abc...'` on the next line, indented): a quote, a line break and the same quote.
_LITERAL_JOINT: Final = compile_lazily(r"(?P<q>['\"])[ \t]{0,8}\r?\n[ \t]{0,256}(?P=q)")


Joints = tuple[list[int], list[int]]  # where each joint is in the joined text; characters removed before it


def _join_literals(text: str) -> tuple[str, Joints] | None:
    """The text with split string literals joined (`'ab'\\n  'cd'` -> `'abcd'`), and its joints:
    each one's position in the joined text, and the characters taken by it and all before it; None
    when there is no joint."""
    parts: list[str] = []
    positions: list[int] = []
    removed: list[int] = [0]
    position = 0
    for joint in _LITERAL_JOINT.finditer(text):
        parts.append(text[position : joint.start()])
        positions.append(joint.start() - removed[-1])
        removed.append(removed[-1] + joint.end() - joint.start())
        position = joint.end()
    if not positions:
        return None
    parts.append(text[position:])
    return "".join(parts), (positions, removed)


def _unjoin(finding: Finding, joints: Joints) -> Finding:
    """A finding in the joined text as a span of the original (covering the joints inside it)."""
    positions, removed = joints
    start = finding.start + removed[bisect.bisect_right(positions, finding.start)]
    end = finding.end + removed[bisect.bisect_left(positions, finding.end)]
    return Finding(start, end, finding.rule)


# A percent escape (`%3D`, and `%253D` decoded twice), a `\uXXXX` / `\x3d` escape of a JSON or bytes
# repr, or an HTML/XML character reference (`&quot;`, `&lt;`, `&#61;`, `&#x3D;`: a payload echoed into a
# page or an XML document): a secret's key, separator or quotes may be written so.
_ESCAPE: Final = compile_lazily(
    # (and `\\"`, a JSON quote escaped again by a repr: `b'{"a": "{\\"password\\": ..."}'`)
    # (`\\u043f`: a JSON escape escaped again, by a bytes repr or a JSON string holding JSON)
    r"%[0-9A-Fa-f]{2}|\\{1,2}u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\\\\\\"|\\\\\""
    r"|&(?:quot|apos|lt|gt|amp|#[0-9]{2,3}|#[xX][0-9A-Fa-f]{2});"
)
_ENTITIES: Final = {"&quot;": '"', "&apos;": "'", "&lt;": "<", "&gt;": ">", "&amp;": "&"}


def _escaped_character(escape: str) -> str:
    """The character an escape writes (but `\\uXXXX`, which `_decoded` reads itself: the commonest)."""
    if escape.endswith('"'):
        # (`\\\"`, `\\"`: a quote of JSON inside a JSON string inside another, read one level less deep)
        return '"'
    if escape[0] != "&":
        return chr(int(escape[-2:], 16))
    if escape[1] != "#":
        return _ENTITIES[escape]
    number = int(escape[3:-1], 16) if escape[2] in "xX" else int(escape[2:-1])
    return chr(number) if number < 128 else "\ufffd"  # (beyond ASCII: no character shapes a pair)


def _has_escapes(text: str) -> bool:
    """Whether `_decoded` can find an escape in the text (a cheap look first: a query string's `&` is
    mostly not a character reference's)."""
    return (
        "%" in text or "\\" in text or ("&" in text and ";" in text and _REFERENCE.search(text) is not None)
    )


_REFERENCE: Final = compile_lazily(r"&(?:quot|apos|lt|gt|amp|#[0-9]{2,3}|#[xX][0-9A-Fa-f]{2});")


# The characters whose escapes can hide a pair's shape (blanks, quotes, separators, brackets) or a key's
# word (`\u0070assword`, `api\u005fkey`: an ASCII letter, digit or `_` escaped): a text whose escapes
# are all of others (`%C3%A9`, `\x00`) is not read again.
_SHAPE_CHARACTERS: Final = frozenset(
    " \t\"'=:&;,?/@#{}[]()<>%_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


# A terminal's colour or style code (SGR and the other CSI sequences `colorlog` and rich write).
_COLOUR_CODE: Final = compile_lazily(r"\x1b\[[0-9;?]{0,32}[A-Za-z]")


def _without_colours(text: str) -> tuple[str, list[int]] | None:
    """The text without its colour codes, and where each of its characters stands in `text`; None
    when it holds none."""
    return _without_matches(_COLOUR_CODE, text)


def _decoded(text: str) -> tuple[str, list[int]] | None:
    """The text with its escapes decoded, and where each of its characters (and its end) stands in
    `text`; None when no escape writes a character that shapes a pair. One pass over the text."""
    parts: list[str] = []
    origin: list[int] = []
    position, shaping = 0, False
    for escape in _ESCAPE.finditer(text):
        written, start = escape.group(), escape.start()
        if written[-5:-4] == "u":  # (the commonest, decoded here: a call per escape costs a third more)
            character = chr(int(written[-4:], 16))
            # (a letter of another script escaped, as `json.dumps` writes every one: `\u043f\u0430...`,
            # `пароль`, is a key's word the rules read too)
            shaping = shaping or character in _SHAPE_CHARACTERS or character.isalpha()
        else:
            character = _escaped_character(written)
            shaping = shaping or character in _SHAPE_CHARACTERS
        if start > position:
            parts.append(text[position:start])
            origin.extend(range(position, start))
        parts.append(character)
        origin.append(start)
        position = escape.end()
    if not shaping:
        return None
    parts.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(parts), origin


def _lowered(text: str) -> str:
    """The text in lower case, where that keeps every character at its place (else the text itself)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def _without_matches(pattern: re.Pattern[str], text: str) -> tuple[str, list[int]] | None:
    """The text with every match of `pattern` taken out, and where each of its characters (and its end)
    stands in `text`; None when nothing matches. One pass over the text."""
    parts: list[str] = []
    origin: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(text[position : match.start()])
        origin.extend(range(position, match.start()))
        position = match.end()
    if not parts:
        return None
    parts.append(text[position:])
    origin.extend(range(position, len(text) + 1))
    return "".join(parts), origin


# --- the pieces of the patterns: keys, quoted and bare values -----------------------------------------------


# Every repetition below is bounded; the `{0,N}` are what makes a pathological text linear.
_KEY: Final = r"[^\W\d][\w.\-]{0,127}"  # letters of any script: `contraseña`, `пароль`
# Before a key: not inside a word, or the `b` of a bytes literal (`b'password'`, ASGI header lists).
_KEY_START: Final = r"(?<![\w.\-])(?:b(?=\\?[\"']))?"
_QUOTED: Final = (
    r"\\\"(?:[^\"\\\n]|\\[^\"\n]){0,4096}(?:\\\"|$)"  # \"value\" (JSON inside a JSON string)
    r"|\\'(?:[^'\\\n]|\\[^'\n]){0,4096}(?:\\'|$)"
    # a string a table or a pretty-printer cut (`'abc…` then the border `│`) ends at the border or line
    r"|\"(?:[^\"\\\n│]|\\.){0,4096}(?:\"|$|(?=│|\r?\n))"
    # (SQL doubles a quote inside its string: `'it''s'`, as drivers echo a statement)
    r"|'(?:[^'\\\n│]|\\.|''){0,4096}(?:'|$|(?=│|\r?\n))"
    r"|\{(?:[^{}\n]|\}\}(?![\s,;}\"']|$)){0,4096}\}"  # ODBC: Pwd={va;lue}, `}}` a `}` in it
    r"|\$\{[^{}\s]{0,256}\}"  # ${VARIABLE}: a placeholder, kept whole so that it is recognised
)
_BARE: Final = r"[^\s\"'&,;()\[\]{}<>]{1,4096}"
# A value after a key is read only when the key names a secret (`_value_at`): a lookahead in the
# patterns above would read up to 4 KiB after every `word:` of a text.
_VALUE: Final = compile_lazily(rf"{_QUOTED}|{_BARE}")
_QUOTED_VALUE: Final = compile_lazily(_QUOTED)
_FLAG_BARE_VALUE: Final = compile_lazily(r"[^\s\-\"'<>|][^\s\"',;)\]]{0,4095}")  # (not a shell's `<`, `|`)
_QUERY_VALUE: Final = compile_lazily(r"[^&#;\s\"'<>]{1,8192}")
_NAME_EQUALS: Final = compile_lazily(r"[A-Za-z_]\w*=(?!=*$)")


def _strip_quotes(start: int, end: int, value: str) -> tuple[int, int]:
    """The span of a quoted value's content (quotes, escaped quotes or ODBC braces not included)."""
    for opener in ('\\"', "\\'", '"', "'", "{"):
        if value.startswith(opener):
            closer = "}" if opener == "{" else opener
            start += len(opener)
            if value.endswith(closer) and len(value) >= 2 * len(opener):
                end -= len(closer)
            else:  # cut short (`'abc…  │`): up to the blanks before the border or the line's end
                end = start + len(value[len(opener) :].rstrip(" \t"))
            return start, end
    return start, end


def _long_quoted(text: str, pos: int) -> tuple[int, int] | None:
    """The content of the quoted value that opens at `pos` (`"`, `'`, or `\\"` inside a JSON string)
    when it is longer than `_QUOTED` reads (a long JWT, a SAML assertion): to its closing quote, else
    to the line's end; None if it is not that long. One pass over the value."""
    quote = text[pos : pos + 2] if text[pos] == "\\" else text[pos]
    line_end = text.find("\n", pos)
    line_end = len(text) if line_end < 0 else line_end
    at = pos + len(quote)
    while True:
        close = text.find(quote, at, line_end)
        if close < 0:
            close = line_end
            break
        escapes = len(text[at:close]) - len(text[at:close].rstrip("\\"))
        if len(quote) == 2 or escapes % 2 == 0:
            break
        at = close + 1
    return (pos + len(quote), close) if close - pos > _LONG_VALUE else None


_QUOTE_OPENERS: Final = ('\\"', "\\'", '"', "'")  # (escaped first: `\\"` begins with a backslash)
# A value longer than this may have been cut by a pattern's bound ({0,4096} and the like): its rest is
# read by a linear scan (`_long_quoted`, `_to_value_ends`), never by a longer bound.
_LONG_VALUE: Final = 1024
_VALUE_RUN: Final = compile_lazily(r"[A-Za-z0-9+/=_\-.~%]+")


def _to_value_ends(text: str, findings: list[Finding]) -> list[Finding]:
    """The findings, each that a pattern's bound ended inside a run of value characters (a long token,
    a long bare value) extended to the end of that run: the rest of a secret is a secret."""
    whole = []
    for finding in findings:
        end = finding.end
        if (
            end - finding.start >= _LONG_VALUE
            and _VALUE_RUN.match(text, end - 1, end)
            and (run := _VALUE_RUN.match(text, end))
        ):
            finding = Finding(finding.start, run.end(), finding.rule)
        whole.append(finding)
    return _merge(whole) if len(whole) > 1 else whole


def _after_bytes_prefix(text: str, pos: int) -> int:
    """Where a value starts: past the prefix of a bytes or string literal (`b'sid=x'`, Python 2's
    `u'x'`, `r'x'`, `rb'x'`)."""
    prefix = _STRING_PREFIX.match(text, pos) if text[pos : pos + 1] in _PREFIX_LETTERS else None
    return pos if prefix is None else prefix.end()


_PREFIX_LETTERS: Final = frozenset("bBuUrRfFnNeE")
_STRING_PREFIX: Final = compile_lazily(
    r"(?:[bB][rR]?|[rR][bB]?|[uU]|[fF][rR]?|[rR][fF])(?=\\?[\"'])"
    r"|[nNeE](?=')"  # SQL Server's national `N'x'`, PostgreSQL's escape `E'x'`
)
_IS_A_KEY: Final = compile_lazily(r"[ \t]{0,8}[:=](?![:/=])")


def _value_finding(text: str, start: int, end: int, rule: str) -> Finding:
    """The finding of a printed value: its content when quoted, else the whole of it."""
    raw = text[start:end].rstrip()
    start, end = _strip_quotes(start, start + len(raw), raw)
    return Finding(start, end, rule)
