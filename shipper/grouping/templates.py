"""Message-only template mining: group log messages that come from the same logging statement.

Used by `logloop cluster` for events that carry neither a traceback nor the logging template. The
learning step (`mine`) sees the whole batch; the read-only step (`Template.matches`) only compares.

The algorithm (after the idea of Brain, Yu et al. 2023; written from the paper's description):

1. Tokenize: blank-separated words, with edge punctuation stripped. `key=value` gives `key` and a
   variable; `name:value` gives `name` and the value. Words with a digit, paths, URLs, e-mail
   addresses, `0x..` numbers and day/month/time-zone names become `<*>`; a unit after a number
   ("1.07 KB", "3 sec") belongs to it, and runs of `<*>` collapse, so values spanning a varying
   number of words (dates, lists, sizes) do not change a message's length.
2. Within messages of one length, count how often each word occurs at each position. The constant
   words of one template occur exactly as often as the template does, so each message's largest set
   of positions sharing one count (its "root", ties to the higher count) names its initial group.
3. Within a group, every other position either splits it (2..`split_max_values` distinct words: a
   different statement, e.g. "Starting"/"Ending") or is a variable (more distinct words, or `<*>`,
   or at least `shared_values` of its words occur off the root of other initial groups too: bare
   words that fill the slots of several statements, "requested by cron", "user cron exceeded").

Identical messages and identical words are processed once (memoized per `mine` call).
Deterministic for a given input order: no randomness, ties broken by first occurrence.

A template's title is its first message in input order as people wrote it, each word at a variable
position shown as a placeholder (`title_in`): `cache miss for key=<*>, retrying (attempt <NUM>)`, not the
tokens' `cache miss for key <*> retrying attempt <*>`. Its identity (`text`, `cluster_id`) stays the tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from shipper.grouping.digests import hex_digest
from shipper.grouping.masking import mask
from shipper.lazy_regex import compile_cached, compile_lazily

WILDCARD: Final = "<*>"

_UNITS: Final = frozenset(
    {"B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB", "bytes", "byte", "%", "ms", "us", "µs", "ns",
     "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hour", "hours",
     "day", "days"}
)  # fmt: skip
_DATE_WORD_RE: Final = compile_cached(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|"
    r"UTC|GMT|EST|EDT|CST|CDT|PST|PDT|CET|CEST)$"
)
_EDGE_PUNCTUATION: Final = "()[]{}<>,;:\"'.!?|"
_EMPTY_CONTAINERS: Final = frozenset({"[]", "()", "{}", "[],", "(),", "{},", '""', "''"})
_PAIR_RE: Final = compile_cached(r"^([A-Za-z_][\w.\-]*)[=:](.*)$")
_WINDOWS_PATH_RE: Final = compile_cached(r"^[A-Za-z]:\\")
_HAS_DIGIT_RE: Final = compile_cached(r"\d")
# A list or tuple written out of values only (quoted strings, numbers, None/True/False, JSON's
# null/true/false), not after a word (a call's arguments): one variable. Its words were tokens each, so
# `missing columns ['price', 'qty']` and `... ['sku']` were two groups, and so was each other list.
_LIST_VALUE: Final = (
    r"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|[+-]?\d[\w.+-]*"""
    r"|(?:None|True|False|null|true|false)(?!\w))"
)
_VALUE_LIST_RE: Final = compile_lazily(
    rf"(?<![\w\]\)])(?:\[\s*{_LIST_VALUE}(?:\s*,\s*{_LIST_VALUE})*\s*,?\s*\]"
    rf"|\(\s*{_LIST_VALUE}(?:\s*,\s*{_LIST_VALUE})+\s*,?\s*\)|\(\s*{_LIST_VALUE}\s*,\s*\))"
)
_LIST_MARK: Final = "[\u2026]"  # what such a list is read as: one variable, titled `[<LIST>]`
_LIST_CORE: Final = "\u2026"
_VALUE_RE: Final = compile_cached(r"^(?:0x[0-9a-fA-F]+|[\w.+-]+@[\w.-]+|[a-z]+://\S+|.*/.*|[A-Za-z]:\\\S*)$")


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """Tuning of the miner; one configuration serves every log source."""

    split_max_values: int = 4  # a position with more distinct words than this is a variable
    shared_values: int = 2  # ... and one with this many words that occur in other initial groups too


@dataclass(frozen=True, slots=True)
class Template:
    """A mined template: its tokens with `<*>` for variables, and a stable id."""

    tokens: tuple[str, ...]
    # How people read it (`title_in` of its first message); "" where only the tokens are known (a
    # template stored before titles were). Not part of its identity: equal tokens, equal templates.
    title: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def cluster_id(self) -> str:
        return "m-" + hex_digest(self.text, 8)

    def matches(self, message: str) -> bool:
        """Whether a message fits this template (read-only; mining never calls it)."""
        tokens = tokenize(message)
        if len(tokens) != len(self.tokens):
            return False
        return all(mine in (WILDCARD, theirs) for mine, theirs in zip(self.tokens, tokens, strict=True))


@dataclass(frozen=True, slots=True)
class MiningResult:
    """For each input message (same order) the index of its template in `templates`."""

    assignments: tuple[int, ...]
    templates: tuple[Template, ...]

    def template_of(self, index: int) -> Template:
        return self.templates[self.assignments[index]]


def tokenize(message: str, word_cache: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Split a message into tokens, mask value-like tokens as `<*>` and collapse runs of them.

    A unit after a masked number ("1.07 KB", "3 sec") belongs to the value. `word_cache` (owned by
    the caller, e.g. one `mine` call) memoizes the per-word work.
    """
    cache = {} if word_cache is None else word_cache
    message = _with_lists_marked(message)
    tokens: list[str] = []
    append = tokens.append
    last = ""
    for raw in message.split():
        parts = cache.get(raw)
        if parts is None:
            parts = cache[raw] = _token_parts(raw)
        for token in parts:
            if last == WILDCARD and (token == WILDCARD or token in _UNITS):
                continue  # runs of variables, and a unit after a number, are one variable
            append(token)
            last = token
    return tuple(tokens)


def _with_lists_marked(message: str) -> str:
    """`message` with each list of values only (`_VALUE_LIST_RE`) written `_LIST_MARK`."""
    if "[" in message or "(" in message:
        return _VALUE_LIST_RE.sub(_LIST_MARK, message)
    return message


def _token_parts(raw: str) -> tuple[str, ...]:
    """One blank-separated word as tokens: `key=value` gives the key and a variable."""
    word = raw.strip(_EDGE_PUNCTUATION)
    if not word:
        return (WILDCARD,) if raw in _EMPTY_CONTAINERS else ()
    if word == _LIST_CORE:
        return (WILDCARD,)
    if _WINDOWS_PATH_RE.match(word):
        return (WILDCARD,)  # not `name:value`
    pair = _PAIR_RE.match(word) if "=" in word or ":" in word else None
    if pair:
        key, value = pair.group(1), pair.group(2).strip(_EDGE_PUNCTUATION)
        if "=" in word[: len(key) + 1]:
            return (key, WILDCARD) if value else (key,)
        if not _HAS_DIGIT_RE.search(word):
            return (key, _mask_word(value)) if value else (key,)
        if "." not in key and not _HAS_DIGIT_RE.search(key):  # `name:value`, not `host.name:port`
            return (key, WILDCARD)
    return (_mask_word(word),)


def _mask_word(word: str) -> str:
    if _HAS_DIGIT_RE.search(word) or _VALUE_RE.match(word) or _DATE_WORD_RE.match(word):
        return WILDCARD
    return word


Row = tuple[str, ...]


def mine(messages: Sequence[str], config: MinerConfig = MinerConfig()) -> MiningResult:
    """Group messages by mined template; deterministic for a given input order."""
    word_cache: dict[str, tuple[str, ...]] = {}
    message_rows: dict[str, Row] = {}
    row_members: dict[Row, list[int]] = {}
    for index, message in enumerate(messages):
        row = message_rows.get(message)
        if row is None:
            row = message_rows[message] = tokenize(message, word_cache)
        members = row_members.get(row)
        if members is None:
            row_members[row] = [index]
        else:
            members.append(index)
    by_length: dict[int, list[Row]] = {}
    for row in row_members:
        by_length.setdefault(len(row), []).append(row)
    template_index: dict[Row, int] = {}
    templates: list[Template] = []
    assignments = [0] * len(messages)
    rooted = {
        length: _roots(rows, [len(row_members[row]) for row in rows], length)
        for length, rows in by_length.items()
    }
    spread = _spread(by_length, rooted)
    for length, rows in by_length.items():
        for group in _split_roots(rows, rooted[length], length, config, spread):
            tokens = _template_tokens([rows[i] for i in group], length)
            if tokens not in template_index:
                template_index[tokens] = len(templates)
                first = min(row_members[rows[i]][0] for i in group)
                templates.append(Template(tokens, title_in(tokens, messages[first])))
            for i in group:
                for member in row_members[rows[i]]:
                    assignments[member] = template_index[tokens]
    return MiningResult(tuple(assignments), tuple(templates))


_Roots = dict[tuple[tuple[int, str], ...], list[int]]


def _roots(rows: list[Row], weights: list[int], length: int) -> _Roots:
    """The initial groups of rows of one length, by root (see the module docstring, step 2)."""
    counts: list[dict[str, int]] = [{} for _ in range(length)]
    for row, weight in zip(rows, weights, strict=True):
        for position, token in enumerate(row):
            column = counts[position]
            column[token] = column.get(token, 0) + weight
    roots: _Roots = {}
    for index, row in enumerate(rows):
        roots.setdefault(_root(row, counts), []).append(index)
    return roots


def _spread(by_length: dict[int, list[Row]], rooted: dict[int, _Roots]) -> dict[str, int]:
    """For each word off its rows' roots, in how many initial groups it occurs. A word that fills a
    slot of several different statements (a user, a queue, a service name) is a value, whatever its
    form: what the masks cannot know, the batch tells (as Drain learns variables from the data)."""
    seen: dict[str, set[int]] = {}
    group_id = 0
    for length, rows_roots in rooted.items():
        rows = by_length[length]
        for root, members in rows_roots.items():
            group_id += 1
            root_words = {word for _, word in root}
            for word in {token for member in members for token in rows[member]}:
                if word not in root_words:
                    seen.setdefault(word, set()).add(group_id)
    return {word: len(groups) for word, groups in seen.items()}


def _split_roots(
    rows: list[Row], roots: _Roots, length: int, config: MinerConfig, spread: dict[str, int]
) -> list[list[int]]:
    groups: list[list[int]] = []
    for root, members in roots.items():
        root_positions = {position for position, _ in root}
        groups.extend(_split(rows, members, root_positions, length, config, spread))
    return groups


def _root(row: Row, counts: list[dict[str, int]]) -> tuple[tuple[int, str], ...]:
    """The row's largest set of constant-looking positions sharing one count (ties: the higher count)."""
    row_counts = [0 if token == WILDCARD else counts[position][token] for position, token in enumerate(row)]
    tally = Counter(count for count in row_counts if count)
    if not tally:
        return ()
    best = max(tally.items(), key=lambda item: (item[1], item[0]))[0]
    return tuple((position, row[position]) for position, count in enumerate(row_counts) if count == best)


def _split(
    rows: list[Row],
    members: list[int],
    root_positions: set[int],
    length: int,
    config: MinerConfig,
    spread: dict[str, int],
) -> list[list[int]]:
    """Split a group on its off-root positions, the one with the fewest distinct words first (the
    likeliest to be a statement's own word); a word that occurs under two of the groups split so far
    is a value of a slot they share, not a statement's word."""
    groups = [members]
    positions = [position for position in range(length) if position not in root_positions]
    positions.sort(key=lambda position: (len({rows[member][position] for member in members}), position))
    for position in positions:
        shared = _shared_words(rows, groups, position) if len(groups) > 1 else set()
        next_groups: list[list[int]] = []
        for group in groups:
            next_groups.extend(_split_position(rows, group, position, config, spread, shared))
        groups = next_groups
    return groups


def _shared_words(rows: list[Row], groups: list[list[int]], position: int) -> set[str]:
    """The words at `position` that occur in more than one of `groups`."""
    seen: Counter[str] = Counter()
    for group in groups:
        seen.update({rows[member][position] for member in group})
    return {word for word, count in seen.items() if count > 1}


def _split_position(
    rows: list[Row],
    group: list[int],
    position: int,
    config: MinerConfig,
    spread: dict[str, int],
    shared: set[str],
) -> list[list[int]]:
    values: dict[str, list[int]] = {}
    for member in group:
        values.setdefault(rows[member][position], []).append(member)
    if len(values) <= 1 or WILDCARD in values or len(values) > config.split_max_values:
        return [group]
    if sum(value in shared or spread.get(value, 0) > 1 for value in values) >= config.shared_values:
        return [group]  # values that fill slots of other statements too: a variable
    return list(values.values())


def title_in(tokens: Sequence[str], message: str) -> str:
    """`message`, which tokenizes to fit `tokens`, with each run of words at a variable position shown
    as one placeholder and everything else as written: punctuation, `key=` and `name:` kept, the value's
    placeholder typed where masking knows its shape (`<NUM>`, `<PATH>`, `<DATETIME>`, ...), else `<*>`
    (a bare word the miner learnt to vary). A unit after a value is kept; runs of blanks become one.
    "" if `message` does not fit `tokens`."""
    message = _with_lists_marked(message)
    words: list[str] = []  # as written, but a variable run's: its first word's constant prefix
    runs: dict[int, list[str]] = {}  # the index in `words` of each variable run -> its words
    position = 0
    last = ""
    for raw in message.split():
        parts = _token_parts(raw)
        kept = []
        for token in parts:
            if last == WILDCARD and (token == WILDCARD or token in _UNITS):
                continue  # merged into the value before it, as `tokenize` merges it
            kept.append(token)
            last = token
        if position + len(kept) > len(tokens):
            return ""
        variable = [tokens[position + index] == WILDCARD for index in range(len(kept))]
        position += len(kept)
        if not parts or (kept and not any(variable)) or (not kept and all(t in _UNITS for t in parts)):
            words.append(raw)  # punctuation alone, constant words, a unit
        elif not kept and len(words) - 1 in runs:
            runs[len(words) - 1].append(raw)  # more of the value before it (a date, a list)
        elif len(kept) == 2 and not variable[0]:  # `key=value` or `name:value` with a constant key
            core = raw.strip(_EDGE_PUNCTUATION)
            prefix = raw[: raw.index(core) + len(kept[0]) + 1]
            runs[len(words)] = [raw[len(prefix) :]]
            words.append(prefix)
        else:
            runs[len(words)] = [raw]
            words.append("")
    if position != len(tokens):
        return ""
    for index, run in runs.items():
        words[index] += _placeholder_run(run)
    return " ".join(words)


def _placeholder_run(words: list[str]) -> str:
    """Words of one variable value as a placeholder between the punctuation around them."""
    text = " ".join(words)
    core = text.strip(_EDGE_PUNCTUATION)
    if not core:
        return text
    lead = text[: text.index(core)]
    return f"{lead}{_placeholder(core)}{text[len(lead) + len(core) :]}"


def _placeholder(value: str) -> str:
    """The value as masking shows it (`91%` -> `<NUM>%`), or `<*>` where masking leaves it as it is."""
    if value == _LIST_CORE:
        return "<LIST>"
    masked = mask(value)
    return masked if masked != value and "<" in masked else WILDCARD


def _template_tokens(rows: list[Row], length: int) -> Row:
    first = rows[0]
    return tuple(
        first[position] if all(row[position] == first[position] for row in rows) else WILDCARD
        for position in range(length)
    )
