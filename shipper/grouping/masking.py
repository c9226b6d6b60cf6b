"""Named rules that replace variable tokens (ids, numbers, paths, addresses, ...) with placeholders.

Masking is the "normalize" step between parsing and grouping: `mask("user 42 not found in /tmp/x")`
gives `"user <NUM> not found in <PATH>"`. Rules run in order; each is a compiled regex and a
placeholder, so what is masked can be read (and tested) rule by rule. Pure and stateless.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from shipper.lazy_regex import compile_cached, compile_lazily


@dataclass(frozen=True, slots=True)
class MaskRule:
    """Replace every match of `pattern` with `placeholder`.

    `needs` lists characters of which every match contains at least one ("0" stands for any digit):
    a text with none of them skips the rule without running its pattern. `requires` lists substrings
    with the number of times every match contains each: a text (as earlier rules left it) with fewer
    skips the rule too, and so does one in which `gate` (a simpler pattern that finds something in
    every text where `pattern` does) finds nothing. All three are only shortcuts: a skipped rule could
    not have matched.
    """

    name: str
    pattern: re.Pattern[str]
    placeholder: str
    needs: str
    requires: tuple[tuple[str, int], ...] = ()
    gate: re.Pattern[str] | None = None


def _rule(
    name: str,
    pattern: str,
    placeholder: str,
    needs: str,
    requires: tuple[tuple[str, int], ...] = (),
    gate: str | None = None,
    *,
    lazy: bool = False,
) -> MaskRule:
    """A rule; `lazy`: its pattern compiled when a text first passes its shortcuts (a rare shape's long
    pattern then costs a program's start-up nothing)."""
    compiled = compile_lazily(pattern) if lazy else compile_cached(pattern)
    return MaskRule(name, compiled, placeholder, needs, requires, compile_cached(gate) if gate else None)


_HEX: Final = r"[0-9a-fA-F]"
_B: Final = r"(?<![\w.\-])"  # token start: not inside a word
_E: Final = r"(?![\w\-])"  # token end
# A date written day first, its month named (`5 January 2024`, `4th Dec`; an HTTP or mail date, `Fri, 05
# Jan 2024`; the common log format's `05/Jan/2024`): the month's name whole, so that a word only starting
# like one (`Marketing`) is none.
_MONTH: Final = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAY_FIRST: Final = (
    rf"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?\d{{1,2}}(?:st|nd|rd|th)?(?:\s+|[-/]){_MONTH}\b\.?"
    r"(?:(?:\s+|[-/])\d{4}\b)?"
)

RULES: Final[tuple[MaskRule, ...]] = (
    # A UNC path (`\\server\share\dir\file`), first: its server may be an address or hold digits.
    _rule(
        "unc_path", r"(?<![\w\\:])\\\\[\w.$\-]+\\[^\s'\",:;<>|]*", "<PATH>", "\\", (("\\\\", 1),), lazy=True
    ),
    _rule(
        "uuid",
        rf"{_B}{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}{_E}",
        "<UUID>",
        "-",
        (("-", 4),),
    ),
    _rule("url", r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+", "<URL>", ":", (("://", 1),)),
    _rule("email", r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b", "<EMAIL>", "@", (("@", 1), (".", 1))),
    _rule(
        "datetime",
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b",
        "<DATETIME>",
        "-",
        (("-", 2),),
    ),
    _rule(
        "month_day",
        r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
        r"\.?\s+\d{1,2}(?:,?\s+\d{4})?\b"
        rf"|{_DAY_FIRST}",
        "<DATETIME>",
        "0",
        gate="Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec",
        lazy=True,
    ),
    # A MAC address (`00:1a:2b:3c:4d:5e`, `AA-BB-CC-DD-EE-FF`), before a time or an IPv6 address takes
    # its first parts: one without digits was left as text, one with them masked as an address.
    _rule(
        "mac_address",
        r"(?<![\w:\-])[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}(?![\w:\-])",
        "<MAC>",
        ":",
        ((":", 5),),
        lazy=True,
    ),
    _rule(
        "mac_address_dashed",
        r"(?<![\w:\-])[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}(?![\w:\-])",
        "<MAC>",
        "-",
        (("-", 5),),
        lazy=True,
    ),
    # A time on a 12-hour clock (`9:05 PM`, `10:00:01 AM`): the half of the day is part of it.
    _rule(
        "clock_time",
        r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s?[AP]M\b",
        "<TIME>",
        ":",
        (("M", 1), (":", 1)),
        gate=r"\d\s?[AP]M\b",
        lazy=True,
    ),
    _rule("time", r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<TIME>", ":", ((":", 2),)),
    _rule("ipv4", r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])", "<IP>", ".", ((".", 3),)),
    _rule(
        "ipv6",
        r"(?<![\w:])(?=[:0-9a-fA-F]*\d)(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])",
        "<IP>",
        ":",
        ((":", 2),),
    ),
    _rule("hex_address", r"\b0[xX][0-9a-fA-F]+\b", "<HEX>", "xX", (("0", 1),)),
    _rule("windows_path", r"\b[A-Za-z]:\\[^\s'\",:;<>|]*", "<PATH>", "\\", ((":\\", 1),)),
    # A drive's path written with slashes (`C:/data/in.csv`; URLs are masked already).
    _rule("drive_path", r"\b[A-Za-z]:/[^\s'\",:;<>|]*", "<PATH>", "/", ((":/", 1),), lazy=True),
    _rule(
        "unix_path",
        r"(?<![\w.<>])(?:~|\.{1,2})?/[^\s'\",:;<>()\[\]{}]*[^\s'\",:;<>()\[\]{}.]",
        "<PATH>",
        "/",
    ),
    _rule("host_port", r"\b[\w\-]+(?:\.[\w\-]+)+:\d{1,5}\b", "<HOST>", ":", ((".", 1),)),
    # A number in scientific notation (`1.5e+308`, `2E-7`): a number, not a word with digits.
    _rule(
        "scientific_number",
        r"(?<![\w.])[+\-]?\d+(?:\.\d+)?[eE][+\-]?\d+(?![\w.])",
        "<NUM>",
        "0",
        gate=r"\d[eE][+\-]?\d",
        lazy=True,
    ),
    # A digest a word names (`commit 1234567`, `sha256: 9f86d0...`, `revision a1b2c3d`): hexadecimal
    # whatever its digits (a short SHA of digits only was a number, one with letters a word or <HEX>).
    _rule(
        "named_digest",
        r"(?i)\b((?:commit|revision|rev|sha(?:1|256|512)?|hash|digest|checksum|changeset)(?:\s*[:#]\s*|\s+))"
        r"[0-9a-f]{7,128}(?![\w\-]|\.\w)",
        r"\g<1><HEX>",
        "0",
        gate=r"[0-9a-fA-F]{7}",  # (the digest: a run of hexadecimal digits is cheaper to find than the words)
        lazy=True,
    ),
    _rule(
        "hex_id",
        rf"{_B}(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{{8,}}{_E}",
        "<HEX>",
        "0",
        gate=r"[0-9a-fA-F]{8}",
    ),
    _rule(
        "duration",  # (one of several units too: `1h30m`, `2m30.5s`)
        r"(?<![\w.])[+\-]?(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|h|d))+\b",
        "<DURATION>",
        "0",
        gate=r"\d[nuµmshd]",  # the last digit of the number, then the unit's first letter
    ),
    # A size in a multiple of bytes, as humans write it (`10KB`, `1.5 GiB`, `512 MB`): its unit varies with
    # its magnitude, so the number and the unit are one value.
    _rule(
        "size",
        r"(?<![\w.])\d+(?:[.,]\d+)?\s?[KMGTPE]i?B(?!\w)",
        "<SIZE>",
        "0",
        (("B", 1),),
        gate=r"\d\s?[KMGTPE]i?B",
        lazy=True,
    ),
    _rule("double_quoted", r'"(?:[^"\\\n]|\\.)*"', '"<STR>"', '"', (('"', 2),)),
    # A bytes literal as Python writes one (`b'...'`) is a quoted string too.
    _rule("bytes_quoted", r"(?<![A-Za-z])b'(?:[^'\\\n]|\\.)*'", "'<STR>'", "'", (("b'", 1),), lazy=True),
    _rule(
        "single_quoted",
        r"(?<![A-Za-z])'(?:[^'\\\n]|\\.)*'",
        "'<STR>'",
        "'",
        (("'", 2),),
    ),
    # (A value an earlier rule made a placeholder is a value too: `id=abc123def` and `id=zz91x` alike.)
    _rule("key_value", r"(?<=[A-Za-z_])=(?!=)(?:<[A-Z]+>(?![\w<])|[^\s,;'\"()\[\]{}<>]+)", "=<VAL>", "="),
    _rule(
        "word_with_digits", r"(?<![\w.\-])(?=[\w.\-]*\d)(?=[\w.\-]*[A-Za-z_])\w+(?:[\-.]+\w+)*", "<ID>", "0"
    ),
    _rule("number", r"(?<![\w.])[+\-]?\d+(?:[.,]\d+)*(?:[eE][+\-]?\d+)?(?![\w])", "<NUM>", "0"),
)

_TRIGGERS: Final = "-:@\\/\"'.xX="
_DIGIT_RE: Final = compile_cached(r"\d")

# Placeholders separated by commas/spaces (a list of variable length) collapse into one.
_PLACEHOLDER: Final = r"(?:'<\w+>'|\"<\w+>\"|#?<[A-Z]+>)"  # (`#<NUM>`: an issue's, an order's number)
_SEQUENCE_RE: Final = compile_cached(rf"{_PLACEHOLDER}(?:\s*[,;]?\s*{_PLACEHOLDER})+")
_FIRST_RE: Final = compile_cached(_PLACEHOLDER)
# A list or tuple written out whose items are all values once masked, of several kinds (a literal such as
# None is a kind of its own: `[3, 'a', None]`, `(None, 2.5)`): one value, `[<VAL>]`. It was its first
# item's kind, and a literal broke the run: `[3, 'a']` and `['a', 3]`, or a None at another place, were
# each a group of their own. A list of one kind (`[3, 4]`) stays as `_SEQUENCE_RE` collapses it.
# (A bracketed run without brackets inside, holding a comma, found by a cheap pattern; its items are then
# tested one by one: `_list_value`.)
_LIST_RE: Final = compile_cached(r"(?<=[\[(])(?=[^\[\]()\n]*<)(?=[^\[\]()\n]*,)[^\[\]()\n]*(?=[\])])")
_LITERALS: Final = frozenset(("None", "True", "False", "null", "true", "false"))
_QUOTES: Final = frozenset("'\"")
MIXED: Final = "<VAL>"
# Sequences of sequences (`((1, 2), (3, 4))`, `[[1], [2], [3]]`, `((5, 6),)`) whose items are one
# collapsed sequence each: their count varies with the data as a flat list's does, and was a group each.
# A run of identical bracketed items filling its brackets is one item, and so is a one-item tuple's
# (`(x,)`); read from the inside out, as deep as `NESTING_DEPTH`.
_BRACKETED: Final = rf"[(\[]*{_PLACEHOLDER}[)\]]*"
_NESTED_RUN_RE: Final = compile_cached(
    rf"(?<=[(\[])([(\[]+{_PLACEHOLDER}[)\]]+)(?:,\s*\1)+(?=[)\]])|(?<=\()({_BRACKETED}),(?=\))"
)
NESTING_DEPTH: Final = 4
# What every such list holds: the end of a placeholder, then (after blanks and a comma) the start of one.
_PAIR_RE: Final = compile_cached(r">['\"]?\s*[,;]?\s*['\"#]?<")
_SPACES_RE: Final = compile_cached(r"[ \t]+")


def mask(text: str, rules: tuple[MaskRule, ...] = RULES) -> str:
    """Replace variable tokens by placeholders; collapse lists of them and runs of blanks."""
    triggers = "".join(filter(text.__contains__, _TRIGGERS))
    digits = _DIGIT_RE.search(text) is not None  # in the original text (gates "0") and now (skips)
    had_digits = digits
    steps = _candidates(triggers, digits) if rules is RULES else _applicable(_steps(rules), triggers, digits)
    for digit_only, requires, gate, substitute, placeholder in steps:
        if digit_only and not digits:
            continue
        if requires and text.count(requires[0][0]) < requires[0][1]:  # the first of `_contains`, inline
            continue
        if len(requires) > 1 and not _contains(text, requires[1:]):
            continue
        if gate is not None and gate.search(text) is None:
            continue
        masked = substitute(placeholder, text)
        if masked is not text:  # sub returns its argument itself when nothing matched
            text = masked
            if had_digits:
                digits = _DIGIT_RE.search(text) is not None
    if "<" in text and ", " in text and ("[" in text or "(" in text):  # a list that may hold values only
        text = _LIST_RE.sub(_list_value, text)
    if text.count("<") > 1 and _PAIR_RE.search(text):  # a list holds two placeholders or more
        text = _SEQUENCE_RE.sub(_first_placeholder, text)
    if ">)," in text or ">]," in text or ",)" in text:  # a sequence of sequences, or of one item
        text = _without_nested_runs(text)
    if "{<" in text or "{'<" in text or '{"<' in text:  # a mapping that may hold only values
        text = _without_mapping_values(text)
    if "  " in text or "\t" in text:  # else every run of blanks is one space already
        text = _SPACES_RE.sub(" ", text)
    return text.strip()


_Step = tuple[bool, str, tuple[tuple[str, int], ...], re.Pattern[str] | None, Callable[[str, str], str], str]
_Applicable = tuple[bool, tuple[tuple[str, int], ...], re.Pattern[str] | None, Callable[[str, str], str], str]


def _steps(rules: tuple[MaskRule, ...]) -> tuple[_Step, ...]:
    """The rules as plain tuples, what `mask` reads of each (attribute lookups cost on this hot path)."""
    return tuple(
        (rule.needs == "0", rule.needs, rule.requires, rule.gate, _substitute(rule.pattern), rule.placeholder)
        for rule in rules
    )


def _applicable(steps: tuple[_Step, ...], triggers: str, digits: bool) -> tuple[_Applicable, ...]:
    """The steps whose `needs` a text with these trigger characters (and digits or not) can meet, in
    order: the other rules cannot match it, whatever the earlier ones replace."""
    present = set(triggers)
    if digits:
        present.add("0")
    return tuple(
        (digit_only, requires, gate, substitute, placeholder)
        for digit_only, needs, requires, gate, substitute, placeholder in steps
        if (digits if digit_only else not present.isdisjoint(needs))
    )


def _substitute(pattern: re.Pattern[str]) -> Callable[[str, str], str]:
    """`pattern.sub`, without compiling a pattern that compiles on first use (`compile_lazily`) now."""
    if isinstance(pattern, re.Pattern):
        return pattern.sub
    return functools.partial(_lazy_sub, pattern)


def _lazy_sub(pattern: re.Pattern[str], placeholder: str, text: str) -> str:
    return pattern.sub(placeholder, text)


_DEFAULT_STEPS: Final = _steps(RULES)


@functools.lru_cache(maxsize=1024)  # keyed by which triggers a text holds: few sets occur; thread-safe
def _candidates(triggers: str, digits: bool) -> tuple[_Applicable, ...]:
    """`_applicable` for the default rules: one memo lookup per text instead of a test per rule."""
    return _applicable(_DEFAULT_STEPS, triggers, digits)


def _contains(text: str, requires: tuple[tuple[str, int], ...]) -> bool:
    for part, times in requires:  # noqa: SIM110 (all() over a generator is slower on this hot path)
        if text.count(part) < times:
            return False
    return True


# A mapping written out (a dict's repr, a JSON object) whose keys and values are all placeholders, literals
# and punctuation once masked: its contents vary with the data (other keys, other kinds of values), so
# the whole of it is one value, `{<VAL>}`. Innermost first: such a mapping inside one is a value of it.
MAPPING_RE: Final = compile_cached(r"\{(?:[^{}]|\{<VAL>\})*\}")
_VALUES_ONLY_RE: Final = compile_cached(
    r"(?:\s|[\[\](),:;]|'<[A-Z]+>'|\"<[A-Z]+>\"|<[A-Z]+>|\{<VAL>\}|None|True|False|null|true|false)*"
)
MAPPING_DEPTH: Final = 4  # the deepest nesting of mappings read (deeper ones stay as masked)
MAPPING_VALUE: Final = "{<VAL>}"


def _without_mapping_values(text: str) -> str:
    """`text` with each mapping that holds only masked values written `{<VAL>}`."""
    for _ in range(MAPPING_DEPTH):
        collapsed = MAPPING_RE.sub(_mapping_value, text)
        if collapsed == text:
            break
        text = collapsed
    return text


def _without_nested_runs(text: str) -> str:
    """`text` with each sequence of identical collapsed sequences written as one (`_NESTED_RUN_RE`)."""
    for _ in range(NESTING_DEPTH):
        collapsed = _NESTED_RUN_RE.sub(_run_item, text)
        if collapsed == text:
            break
        text = collapsed
    return text


def _run_item(match: re.Match[str]) -> str:
    return match[1] or match[2]


def _mapping_value(match: re.Match[str]) -> str:
    inner = match.group(0)[1:-1]
    if ":" in inner and "<" in inner and _VALUES_ONLY_RE.fullmatch(inner):
        return MAPPING_VALUE
    return match.group(0)


def _first_placeholder(match: re.Match[str]) -> str:
    first = _FIRST_RE.match(match.group(0))
    return first.group(0) if first else match.group(0)


def _list_value(match: re.Match[str]) -> str:
    """A list whose items are all values once masked (placeholders, literals): `<VAL>` when they are of
    several kinds (a literal one of its own); the list itself when of one kind (`_SEQUENCE_RE` collapses
    it), when it holds no placeholder (`[None, True]`), or when an item is a word (no list of values)."""
    items = match.group(0)
    kinds: set[str] = set()  # `<NUM>`, `<STR>` (quoted or not), a literal's word
    for item in items.split(","):
        item = item.strip()
        if len(item) > 2 and item[0] in _QUOTES and item[-1] == item[0]:
            item = item[1:-1]
        if item in _LITERALS or _is_placeholder(item):
            kinds.add(item)
        elif item:  # a word, not a value (an empty item: a trailing comma)
            return items
    placeholders = sum(kind[0] == "<" for kind in kinds)
    return MIXED if placeholders and len(kinds) > 1 else items


def _is_placeholder(text: str) -> bool:
    return (
        len(text) > 2 and text[0] == "<" and text[-1] == ">" and text[1:-1].isupper() and text[1:-1].isalpha()
    )
