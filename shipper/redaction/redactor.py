"""The `Redactor`: the default rules plus a user's key names and patterns, and the passes over a text,
a message and its %-template, an argv list, a mapping and a whole ECS document (a secret found once is
hidden where it stands again); the `[redaction]` configuration section; `DEFAULT`, the redactor
without user rules, and its methods as functions.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, unquote

from shipper.exceptions import ConfigurationError
from shipper.lazy_regex import compile_lazily
from shipper.redaction.code import _raised_message_findings
from shipper.redaction.formats import _delimited, _names_credentials
from shipper.redaction.keys import (
    _OPERATION_NAME,
    _PLACEHOLDER,
    _default_secret_key,
    _is_file_path,
    _looks_secret,
    _never_secret,
    key_words,
)
from shipper.redaction.model import (
    _KEY,
    _REFERENCE,
    REDACTED,
    Finding,
    Rule,
    _decoded,
    _folded,
    _has_escapes,
    _hide,
    _is_redacted,
    _join_literals,
    _lowered,
    _merge,
    _pattern_rule,
    _to_value_ends,
    _trie_pattern,
    _unjoin,
    _without_colours,
    _without_matches,
    _without_values_of_glued_flags,
)
from shipper.redaction.rules import (
    _ASCII_TRIGGERS,
    _OTHER_LETTERS_TRIGGER_PATTERN,
    _TRIGGER_PATTERN,
    DEFAULT_RULES,
)
from shipper.redaction.tokens import (
    _BASE64_ARMOUR,
    _JWK_PRIVATE_NAMES,
    _PADDED_END,
    _RANDOM_VALUE,
    _RANDOM_VALUE_GATE,
    _encoded_credentials,
)
from shipper.redaction.web import _SCHEMELESS_USERINFO, _USERINFO_TAIL, _address_password, _bare_userinfo

# --- a secret found once, hidden where it stands again ------------------------------------------------------


_REPEATED: Final = 16  # distinct secrets looked for again in a text, at most (one scan of it each)


# Letters, underscores and dots only: a name in code (`SECRET`, `settings.TOKEN`), not a credential.
_NAME: Final = compile_lazily(r"[A-Za-z_][A-Za-z_.]*")


def _secret_values(text: str, found: list[Finding]) -> list[str]:
    """The distinct secrets found in a text worth looking for again (6+ characters that read like a
    credential or a passphrase, not a word or a name in code), at most `_REPEATED`; of a long token
    (16+ characters), its first `_PREFIX`, so that a copy cut at another width is found too, and the
    whole of it, so that a copy a line break splits is found to its end (`_copies`)."""
    values: list[str] = []
    for finding in found:
        value = text[finding.start : finding.end].strip().rstrip("…").removesuffix("...")
        if len(value) >= 6 and (_looks_secret(value) or " " in value) and not _NAME.fullmatch(value):
            whole = value
            cut = len(value) >= 16 and " " not in value and not value.startswith(_BASE64_ARMOUR)
            value = value[:_PREFIX] if cut else value  # (a base64 PEM's first characters: every PEM's)
            # (and the whole of one whose run its first characters do not reach: `ab&cd`, `x'y`)
            for wanted in (value, whole) if cut or _COPY_RUN.fullmatch(whole) is None else (value,):
                if wanted not in values:
                    values.append(wanted)
            if len(values) >= _REPEATED:
                break
    return values[:_REPEATED]


_PREFIX: Final = 12  # characters of a long secret looked for: a copy cut at another width starts alike
_COPY_RUN: Final = compile_lazily(r"[A-Za-z0-9+/=_\-.~%]{1,8192}")  # a token's characters


def _stands_again(text: str, lowered: str, finding: Finding) -> bool:
    """The first characters of a found secret, or either half of it (a copy split by a line break keeps
    one half whole), stand elsewhere in the text too, in any case, as found or escaped another way (a
    few `find`s: the common case, a secret said once, is told cheaply)."""
    for needle, _ in _needles([text[finding.start : finding.end]]):
        half = len(needle) // 2
        ends = [needle[:_PREFIX], needle[:half], needle[-half:]] if len(needle) >= _PREFIX else [needle]
        for end in ends:
            if lowered.find(end, finding.end) >= 0 or lowered.find(end, 0, finding.start + len(end) - 1) >= 0:
                return True
    return False


def _repeated(text: str, found: list[Finding]) -> Iterator[Finding]:
    """Where a secret found once stands again in the same text, not next to its name (pytest's `assert
    'x' == ...` above `where 'x' = cfg.password`, a value both in a locals table and a message)."""
    starts = [finding.start for finding in found]
    for copy in _copies(text, _secret_values(text, found)):
        before = bisect.bisect_right(starts, copy.start) - 1
        # not the secret itself, where it was found; but a copy split by a line break that runs on past
        # the part another rule found (`token X` before the break, the rest below) is one
        if before < 0 or found[before].end <= copy.start or _split_past(text, found, found[before], copy):
            yield copy


def _split_past(text: str, found: list[Finding], finding: Finding, copy: Finding) -> bool:
    """A copy split by a line break that runs on past a finding, and is (the start of) a secret found
    whole elsewhere: not the run of the next line's words after a short secret."""
    if finding.end >= copy.end or _BREAK.search(text, copy.start, copy.end) is None:
        return False
    joined = _BREAK.sub("", text[copy.start : copy.end]).lower()
    return any(text[f.start : f.end].lower().startswith(joined) for f in found if f is not finding)


def _copies(text: str, values: list[str]) -> Iterator[Finding]:
    """Each copy of the values in the text, in any case and escaped as JSON, a repr or a URL writes
    it: a whole word, or from a long secret's first characters to the end of the run of characters it
    stands in; also a copy a line break splits (real or escaped, the next line indented)."""
    needles = _needles(values)
    yield from _copies_of(text, needles)
    if "\n" in text or "\\n" in text:
        broken = _without_breaks(text)
        if broken is not None:
            joined, origin = broken
            for copy in _copies_of(joined, needles, origin):
                start, end = origin[copy.start], origin[copy.end - 1] + 1
                if end - start != copy.end - copy.start:  # a break inside: not a copy found above
                    yield Finding(start, end, copy.rule)


def _needles(values: list[str]) -> list[tuple[str, bool]]:
    """What to look for of each value, lower-cased: itself (and itself unescaped, when it was found
    escaped) and its JSON, repr and percent escapes, each with whether it is a long secret's first
    characters (a copy runs on to the end of its run)."""
    needles: list[tuple[str, bool]] = []
    for value in values:
        prefix = len(value) == _PREFIX and " " not in value
        if _ESCAPED_ALIKE.fullmatch(value):  # (the common case: every escape writes it the same)
            if (value.lower(), prefix) not in needles:
                needles.append((value.lower(), prefix))
            continue
        for base in (value, *_unescaped(value)):
            for variant in (base, json.dumps(base)[1:-1], repr(base)[1:-1], quote(base, safe="")):
                needle = (variant.lower(), prefix)
                if needle not in needles:
                    needles.append(needle)
    return needles


# A value that JSON, a repr and percent-encoding all write as it is.
_ESCAPED_ALIKE: Final = compile_lazily(r"[A-Za-z0-9_.~\-]*")


def _unescaped(value: str) -> list[str]:
    """The value as it reads unescaped, when it was found escaped (inside a JSON string, a URL)."""
    unescaped = [unquote(value)] if "%" in value else []
    if "\\" in value:
        try:
            unescaped.append(json.loads(f'"{value}"'))
        except ValueError:
            unescaped.append(value.replace("\\\\", "\\").replace("\\'", "'").replace('\\"', '"'))
    return unescaped


def _copies_of(
    text: str, needles: list[tuple[str, bool]], origin: list[int] | None = None
) -> Iterator[Finding]:
    """The copies of the needles in `text`; `origin`: `text` is a text without its line breaks, and
    where each of its characters stood (`_without_breaks`)."""
    lowered = _lowered(text)
    for needle, prefix in needles:
        at = lowered.find(needle)
        while at >= 0:
            end = at + len(needle)
            if not (at and text[at - 1].isalnum()):
                if prefix and (run := _COPY_RUN.match(text, at)):
                    end = max(end, run.end())
                    if origin is not None:  # the run of a secret's first characters stops at a line
                        # break past them: the next line's first word is not the secret's rest (a copy
                        # the break splits is found whole by the whole secret, also looked for)
                        end = _at_break(origin, at + len(needle), end)
                    yield Finding(at, end, "repeated_secret")
                elif not (end < len(text) and text[end].isalnum()):
                    yield Finding(at, end, "repeated_secret")
            at = lowered.find(needle, end)


def _at_break(origin: list[int], start: int, end: int) -> int:
    """The first place in `start..end` of a text without its line breaks where one was, else `end`."""
    for at in range(max(start, 1), end):
        if origin[at] != origin[at - 1] + 1:
            return at
    return end


# A line break inside a copy (real, or escaped in a JSON or repr string), and the next line's indent.
_BREAK: Final = compile_lazily(r"(?:\r?\n|(?:\\r)?\\n)[ \t]{0,64}")


def _without_breaks(text: str) -> tuple[str, list[int]] | None:
    """The text with its line breaks (and the indents after them) taken out, and where each of its
    characters stands in `text`; None when there is none. One pass over the text."""
    return _without_matches(_BREAK, text)


# --- a log call's %-template --------------------------------------------------------------------------------


# A %-conversion of a log template (`%s`, `%(name)s`, `%-8.3f`, `%%`).
_CONVERSION: Final = compile_lazily(
    r"%(?:\((?P<name>[^)]{0,128})\))?[-#0 +]{0,8}(?:\*|\d{1,8})?(?:\.(?:\*|\d{1,8}))?[hlL]?"
    r"(?P<type>[diouxXeEfFgGcrsa%])"
)
# A template's literal text that ends with a secret key and its separator, before an argument.
_KEY_BEFORE_ARGUMENT: Final = compile_lazily(
    rf"(?P<key>{_KEY})(?P<q>[\"']?)[ \t]{{0,8}}(?:=>|[:=])[ \t]{{0,8}}(?P=q)\Z"
    r"|(?i:pass(?:word|wd|phrase)|pwd|secret|token|api[ _-]?key|secret[ _-]?key|private[ _-]?key"
    r"|credentials?)[ \t]{1,8}(?:(?:is|was|of):?[ \t]{1,8})?\Z"
)


def _template_layout(redactor: Redactor, template: str) -> tuple[list[str], list[bool]] | tuple[()]:
    """A template's literal texts (one more than its arguments) and, per argument, whether it holds
    a secret; `()` when none does."""
    literals: list[str] = []
    secret: list[bool] = []
    current: list[str] = []
    position = 0
    for conversion in _CONVERSION.finditer(template):
        current.append(template[position : conversion.start()])
        position = conversion.end()
        if conversion["type"] == "%":
            current.append("%")
            continue
        literal = "".join(current)
        literals.append(literal)
        current = []
        name = conversion["name"]
        if name is not None:
            secret.append(bool(name) and redactor.is_secret_key(name))
        else:
            before = _KEY_BEFORE_ARGUMENT.search(literal[-160:])
            secret.append(
                before is not None
                and (before["key"] is None or redactor.is_secret_key(before["key"], in_text=True))
            )
    literals.append("".join([*current, template[position:]]))
    return (literals, secret) if any(secret) else ()


def _argument_spans(message: str, literals: list[str]) -> list[tuple[int, int]] | None:
    """Where each argument stands in a message formatted from a template with these literal texts
    (each argument ends at the first place the next literal text follows, the last where the message's
    end is), or None if the message does not fit the template."""
    if not message.startswith(literals[0]):
        return None
    position = len(literals[0])
    spans: list[tuple[int, int]] = []
    for number, literal in enumerate(literals[1:], start=2):
        if number == len(literals):
            end = len(message) - len(literal)
            if end < position or not message.endswith(literal):
                return None
        else:
            end = message.find(literal, position) if literal else -1  # two arguments side by side: unknown
            if end < 0:
                return None
        spans.append((position, end))
        position = end + len(literal)
    return spans


# --- the redactor -------------------------------------------------------------------------------------------


# The parts of an ECS document whose keys a user chose (extras, context, environment variables): a
# key there that names a secret hides its whole value. Elsewhere keys are the schema's own.
FREE_FORM_FIELDS: Final = frozenset({"extra", "logloop.context", "logloop.env.vars", "labels"})
# Fields that never hold user text: skipped by the document pass.
_SKIPPED_FIELDS: Final = frozenset(
    {"@timestamp", "ecs", "event.id", "event.dataset", "event.kind", "log.level", "error.grouping_key"}
)
# The document pass remembers what it made of short texts: host, process, argv, frames and titles
# come back in every error event of a program, and a look-up costs a fiftieth of the trigger scan.
_REMEMBERED: Final = 2048  # texts, at most (then forgotten all at once)
_REMEMBERED_LENGTH: Final = 1024  # characters of a text worth remembering, at most
_LONG_LISTS: Final = 8  # longer lists of strings remembered (argv), at most
_LONG_LIST_LENGTH: Final = 64 * 1024  # characters of such a list, at most


@dataclass(frozen=True)
class Redactor:
    """The default rules plus a user's: `keys` are extra key names that hold secrets (matched by
    words, as `pin` matches `customer_pin`), `patterns` regular expressions whose match (or group
    `secret`) is hidden wherever it stands. Build it with `Redactor.build()` to have them checked."""

    keys: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    _user_words: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    _rules: tuple[Rule, ...] = field(default=DEFAULT_RULES, init=False, repr=False, compare=False)
    _triggers: re.Pattern[str] = field(default=_TRIGGER_PATTERN, init=False, repr=False, compare=False)
    _remembered: dict[str | tuple[str, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _long_lists: dict[tuple[str, ...], list[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        words = frozenset("".join(key_words(key)) for key in self.keys) - {""}
        user_rules = tuple(
            _pattern_rule(f"user_pattern_{number}", _compile_user_pattern(pattern), ())
            for number, pattern in enumerate(self.patterns, start=1)
        )
        object.__setattr__(self, "_user_words", words)
        object.__setattr__(self, "_rules", DEFAULT_RULES + user_rules)
        triggers = _trie_pattern((*_ASCII_TRIGGERS, *sorted(words)), kept=not words)  # (the user's words)
        object.__setattr__(self, "_triggers", triggers)

    @classmethod
    def build(cls, *, keys: Sequence[str] = (), patterns: Sequence[str] = ()) -> Redactor:
        """A redactor with the user's key names and patterns, checked: a ConfigurationError names a
        bad one."""
        for name, values in (("redact_keys", keys), ("redact_patterns", patterns)):
            if isinstance(values, str) or not all(isinstance(v, str) and v for v in values):
                raise ConfigurationError(f"{name}={values!r}: give a list of non-empty strings")
        for key in keys:
            if not key_words(key):
                raise ConfigurationError(f"redact_keys: {key!r} has no letters or digits to match keys by")
        return cls(keys=tuple(keys), patterns=tuple(patterns))

    # -- keys ----------------------------------------------------------------------------------------

    def is_secret_key(self, key: str, *, in_text: bool = False) -> bool:
        """True when a mapping key, variable or flag name looks like it holds a secret.

        `in_text=True` is the stricter reading for `name=value` pairs found inside free text.
        """
        if _OPERATION_NAME.fullmatch(key):
            return False
        words = key_words(key)
        if self._user_words and (
            "".join(words) in self._user_words or any(w in self._user_words for w in words)
        ):
            return True
        return _default_secret_key(words, in_text)

    # -- text ----------------------------------------------------------------------------------------

    def might_contain_secret(self, text: str) -> bool:
        if len(self._rules) > len(DEFAULT_RULES):
            return True  # a user pattern may match anything
        if not text.isascii():
            text = _folded(text)
        lowered = text.lower()
        if self._triggers.search(lowered) is not None:
            return True
        if not text.isascii() and _OTHER_LETTERS_TRIGGER_PATTERN.search(lowered) is not None:
            return True
        if (
            ("=" in text or ":" in text)
            and (run := _RANDOM_VALUE_GATE.search(text)) is not None
            and _RANDOM_VALUE.search(text, run.start()) is not None  # (cases and digits: the rule's reading)
        ):
            return True  # a generated value under a key that names nothing (`_random_value`)
        if ("3a" in lowered or ("=" in text and _PADDED_END.search(text) is not None)) and next(
            _encoded_credentials(self, text), None
        ) is not None:
            return True  # `user:password` in base64 or hex, bare
        if "Q~" in text or "1//0" in text:  # (an Entra ID client secret; a Google refresh token, bare)
            return True
        if "@" in text:
            if ("'" in text or '"' in text) and _SCHEMELESS_USERINFO.search(text) is not None:
                return (
                    True  # `'bob:pw@host'` without its scheme, in a library's error (`_schemeless_userinfo`)
                )
            if _USERINFO_TAIL.search(text) is not None and next(_bare_userinfo(self, text), None) is not None:
                return True  # `elastic:pw@localhost:9200` bare
            if ":" in text and next(_address_password(self, text), None) is not None:
                return True  # `bob@x.io:pw`
        # a trigger written with escapes (`https%3A%2F%2F`, `\u0022password`)
        return (
            # (`_has_escapes`, written out: a call costs 2% of an ordinary line's redaction)
            (
                "%" in text
                or "\\" in text
                or ("&" in text and ";" in text and _REFERENCE.search(text) is not None)
            )
            and (decoded := _decoded(text)) is not None
            and (
                self._triggers.search(lowered := decoded[0].lower()) is not None
                or _OTHER_LETTERS_TRIGGER_PATTERN.search(lowered) is not None
            )
        )

    def findings(self, text: str) -> list[Finding]:
        """The secrets in a text, in order, overlapping findings merged."""
        if not text or not self.might_contain_secret(text):
            return []
        return self._findings(text)

    def _findings(self, text: str, decodings: int = 2) -> list[Finding]:
        if decodings == 2 and not text.isascii():
            text = _folded(text)  # (character for character: the spans hold in the text as written)
        if decodings == 2 and "\x1b[" in text and (coloured := _without_colours(text)) is not None:
            # A coloured log (`colorlog`, rich, a terminal's copy): a colour code between a key and its
            # value breaks the pair's shape (or is taken for the value), so the rules read the text
            # without its codes, and each secret found there is hidden in the text as written, the
            # codes around it kept.
            plain, origin = coloured
            return [Finding(origin[f.start], origin[f.end - 1] + 1, f.rule) for f in self._findings(plain)]
        found = self._unescaped_findings(text)
        if decodings and _has_escapes(text) and (decoded := _decoded(text)) is not None:
            # `token%3D...`, `\u0022password\u0022`: the rules read the text decoded too; spans are
            # mapped back onto the escapes
            plain, origin = decoded
            found = _merge(
                [
                    *found,
                    *(
                        Finding(origin[f.start], origin[f.end], f.rule)
                        for f in self._findings(plain, decodings - 1)
                    ),
                ]
            )
        return found

    def _unescaped_findings(self, text: str) -> list[Finding]:
        if "'\n" in text or '"\n' in text:
            joined = _join_literals(text)
            if joined is not None:  # the rules read the strings whole; spans are mapped back
                rows = list(_delimited(self, text))  # (quoted cells end lines: read apart)
                return _merge(
                    [*(_unjoin(found, joined[1]) for found in self._rule_findings(joined[0])), *rows]
                )
        return self._rule_findings(text)

    def _rule_findings(self, text: str) -> list[Finding]:
        lowered = text.lower()
        found: list[Finding] = []
        for rule in self._rules:
            if rule.applies(lowered):
                found.extend(rule.find(self, text))
        merged = _merge(
            f for f in _without_values_of_glued_flags(text, found) if not _is_redacted(text[f.start : f.end])
        )
        if merged and any(_stands_again(text, _lowered(text), finding) for finding in merged):
            merged = _merge([*merged, *_repeated(text, merged)])
        return _to_value_ends(text, merged)

    def redact_text(self, text: str) -> str:
        """The text with every finding replaced by `[REDACTED]`."""
        if not text or not self.might_contain_secret(text):
            return text
        return self._redact_triggered(text)

    def redact_texts(self, texts: Sequence[str]) -> list[str]:
        """`redact_text` of each (the very object when nothing is hidden). Looking the trigger words
        up once in the joined batch was tried: some forty scans of the whole batch cost as much as
        forty per message."""
        redact = self.redact_text
        return [redact(text) for text in texts]

    def _redact_triggered(self, text: str) -> str:
        if "\0" in text and not _sasl_shaped(text):
            # NULs separate fields (`/proc/<pid>/environ`, `/proc/<pid>/cmdline`, `find -print0`): each is
            # read as a command line's argument, so no value runs on into the next field
            return "\0".join(self.redact_argv(text.split("\0")))
        return _hide(text, self._findings(text))

    def redact_message(self, message: str, template: str | None) -> str:
        """`redact_text` of a formatted log message, and also the arguments its %-template puts under
        a secret name (`%(password)s`) or right after a secret key (`token=%s`, `password: %s`), which
        the message alone no longer shows as such. When the message cannot be laid over its template
        (cut, or an argument holding the next literal text), all after the template's first
        literal text is hidden."""
        if template is None or "%" not in template:
            return self.redact_text(message)
        layout = self._remembered.get(("%", template))
        if layout is None:
            layout = self._remember(("%", template), _template_layout(self, template), len(template))
        if not layout:  # no argument under a secret name: the common case
            return self.redact_text(message)
        literals, secret = layout
        spans = _argument_spans(message, literals)
        if spans is None:
            hide = [(len(literals[0]), len(message))] if message.startswith(literals[0]) else []
        else:
            hide = [span for span, is_secret in zip(spans, secret, strict=True) if is_secret]
        arguments = [
            Finding(start, end, "format_argument")
            for start, end in hide
            if end > start
            and not _PLACEHOLDER.fullmatch(message[start:end])
            and not _is_redacted(message[start:end])
        ]
        found = self._findings(message) if self.might_contain_secret(message) else []
        return _hide(message, _merge([*found, *arguments]))

    def redact_argv(self, argv: Sequence[str]) -> list[str]:
        """Command-line arguments with `--password X`, `--token=X` and URL credentials hidden, and what
        the rules find in the command line they make (`["mysql", "-pX"]`: a `-p` that only the command
        makes a password)."""
        redacted: list[str] = []
        hide_next = False
        in_line = self._argv_findings(argv)
        for index, arg in enumerate(argv):
            if hide_next and not arg.startswith("-") and not _is_file_path(arg):
                redacted.append(REDACTED)
                hide_next = False
                continue
            hide_next = False
            name, equals, _ = arg.lstrip("-").partition("=")
            if arg.startswith("-") and name and self.is_secret_key(name):
                if equals:
                    redacted.append(f"{arg.split('=', 1)[0]}={REDACTED}")
                    continue
                hide_next = index not in in_line  # (a flag holding a secret had it glued: `-pS3cretPw`)
            found = in_line.get(index)
            redacted.append(
                self.redact_text(arg) if found is None else _hide(arg, _merge([*self.findings(arg), *found]))
            )
        return redacted

    def _argv_findings(self, argv: Sequence[str]) -> dict[int, list[Finding]]:
        """What the rules find in the arguments joined into one command line, as spans of each argument
        (by its index)."""
        if len(argv) < 2:
            return {}
        line = " ".join(argv)
        if not self.might_contain_secret(line):
            return {}
        starts = list(itertools.accumulate((len(arg) + 1 for arg in argv[:-1]), initial=0))
        spans: dict[int, list[Finding]] = {}
        for finding in self._findings(line):
            index = bisect.bisect_right(starts, finding.start) - 1
            while index < len(argv) and starts[index] < finding.end:
                start = max(finding.start - starts[index], 0)
                end = min(finding.end - starts[index], len(argv[index]))
                if end > start:
                    spans.setdefault(index, []).append(Finding(start, end, finding.rule))
                index += 1
        return spans

    # -- structures ----------------------------------------------------------------------------------

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with secret keys hidden at every depth and every string redacted.

        Expects already JSON-safe input (dicts, lists, scalars); it does not guard against cycles.
        """
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return self.redact_mapping(value)
        if isinstance(value, list | tuple):
            return self._redact_list(value)
        return value

    def redact_mapping(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of the mapping where values under secret-looking keys are `[REDACTED]`; a
        `{"name": ..., "value": ...}` object (HAR headers) whose name is secret loses its value."""
        named = _pair_name(mapping)
        jwk = "kty" in mapping  # a JSON Web Key: its private members are named by a letter or two
        redacted: dict[str, Any] = {}
        for key, value in mapping.items():
            named_secret = (named is not None and key == named[0] and self.is_secret_key(named[1])) or (
                jwk and key in _JWK_PRIVATE_NAMES
            )
            shown = self.redact_text(key) if isinstance(key, str) else key  # a key can hold a secret too
            if isinstance(value, Mapping) and _names_credentials(self, str(key)):
                named_secret = True  # composer's `github-oauth`: hosts and their tokens
            if (named_secret or self.is_secret_key(str(key))) and not _never_secret(key, value):
                redacted[shown] = REDACTED
            else:
                redacted[shown] = self.redact_value(value)
        return redacted

    def _redact_list(self, items: Sequence[Any]) -> list[Any]:
        """Items redacted; a `[name, value]` pair whose name is secret loses its value; a list of
        strings is also read as argv (`["mysql", "--password", "s3cret"]`)."""
        if len(items) == 2 and isinstance(items[0], str) and self.is_secret_key(items[0]):
            return [items[0], items[1] if _never_secret(items[0], items[1]) else REDACTED]
        if not items:
            return []
        key = tuple(items)
        try:  # (looked up first: only lists of strings are remembered, so a hit is one)
            found = self._remembered.get(key) or self._long_lists.get(key)
        except TypeError:  # an unhashable item: not a list of strings
            found = None
        if found is None and all(isinstance(item, str) for item in items):
            length = sum(map(len, items))
            if length <= _REMEMBERED_LENGTH:
                found = self._remember(key, self.redact_argv(items), length)
            else:
                found = self._long_list(key, length)
        if found is not None:
            return list(found)
        return [self.redact_value(item) for item in items]

    def _long_list(self, items: tuple[str, ...], length: int) -> list[str]:
        """`redact_argv` of a long list of strings, remembered: a program's argv (its facts, up to
        `environment.ARGV_KEPT` characters: 20,000 file names) goes with every document, and read anew
        it cost a record some 2 ms; a few such lists are kept, never one past `_LONG_LIST_LENGTH`."""
        found = self._long_lists.get(items)
        if found is None:
            found = self.redact_argv(items)
            if length <= _LONG_LIST_LENGTH:
                if len(self._long_lists) >= _LONG_LISTS:
                    self._long_lists.clear()
                self._long_lists[items] = found
        return found

    def _remember(self, key: str | tuple[str, ...], redacted: Any, length: int) -> Any:
        if length <= _REMEMBERED_LENGTH:
            if len(self._remembered) >= _REMEMBERED:
                self._remembered.clear()
            self._remembered[key] = redacted
        return redacted

    def redact_document(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a finished ECS document with every secret hidden (see the module docstring)."""
        changed: list[tuple[Any, Any]] = []  # (original, redacted) of each part redaction changed
        redacted = self._redact_fields(document, "", changed)
        self._redact_raised_message(document, redacted, changed)
        message, logloop = document.get("message"), document.get("logloop")
        template = logloop.get("template") if isinstance(logloop, Mapping) else None
        if isinstance(message, str) and isinstance(template, str) and "%" in template:
            redacted["message"] = self.redact_message(message, template)
            if redacted["message"] != message:
                changed.append((message, redacted["message"]))
        if not changed:
            return redacted
        values: list[str] = []
        for original, hidden in changed:
            _found_values(self, original, hidden, values)
        return _hide_repeated(redacted, values) if values else redacted

    def _redact_raised_message(
        self, document: Mapping[str, Any], redacted: dict[str, Any], changed: list[tuple[Any, Any]]
    ) -> None:
        """`error.message` redacted also as its stack trace shows it raised: a value passed under a
        secret's name (`int(api_token)`: `invalid literal for int() with base 10: 'x'`) is hidden."""
        error, shown = document.get("error"), redacted.get("error")
        if not isinstance(error, Mapping) or not isinstance(shown, dict):
            return
        message, trace = error.get("message"), error.get("stack_trace")
        if not isinstance(message, str) or not isinstance(trace, str):
            return
        found = _raised_message_findings(self, message, trace)
        if found:
            shown["message"] = _hide(message, _merge([*self.findings(message), *found]))
            changed.append((message, shown["message"]))

    def _redact_fields(
        self, node: Mapping[str, Any], path: str, changed: list[tuple[Any, Any]]
    ) -> dict[str, Any]:
        redacted: dict[str, Any] = {}
        hidden: Any
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            if dotted in _SKIPPED_FIELDS:
                redacted[key] = value
                continue
            if dotted in FREE_FORM_FIELDS:
                hidden = self.redact_value(value)
            elif isinstance(value, str):  # first: the most common, and never a Mapping (a slow check)
                hidden = self._remembered.get(value)
                if hidden is None:
                    hidden = self._remember(value, self.redact_text(value), len(value))
            elif isinstance(value, Mapping):
                redacted[key] = self._redact_fields(value, dotted, changed)
                continue
            elif isinstance(value, list | tuple):
                hidden = self._redact_list(value)
            else:
                hidden = value
            if hidden is not value and hidden != value:
                changed.append((value, hidden))
            redacted[key] = hidden
        return redacted


def _found_values(redactor: Redactor, original: Any, redacted: Any, values: list[str]) -> None:
    """The secrets redaction found in a document's texts (those that changed), at most `_REPEATED`."""
    if isinstance(original, str):
        if original is not redacted and original != redacted:
            whole = [Finding(0, len(original), "key_value")] if redacted == REDACTED else []  # under its key
            for value in _secret_values(original, whole or redactor.findings(original)):
                if value not in values and len(values) < _REPEATED:
                    values.append(value)
    elif isinstance(original, Mapping) and isinstance(redacted, Mapping):
        for key, value in original.items():
            if key in redacted:  # (a key that held a secret itself is redacted too: no pair)
                _found_values(redactor, value, redacted[key], values)
    elif isinstance(original, list | tuple) and isinstance(redacted, list) and len(original) == len(redacted):
        for item, redacted_item in zip(original, redacted, strict=True):
            _found_values(redactor, item, redacted_item, values)


def _sasl_shaped(text: str) -> bool:
    """Whether a text with NULs may be a SASL PLAIN message (`[authzid] NUL user NUL password`: three
    fields, the user's no setting), which the rules read whole, rather than NUL-separated fields."""
    return text.count("\0") == 2 and "=" not in text.split("\0", 2)[1]


def _hide_repeated(node: Any, values: list[str], path: str = "") -> Any:
    """The redacted document with every other copy of a secret found in one of its texts hidden too
    (a value in a traceback's locals, and again in the exception's message or the event's title)."""
    if isinstance(node, str):
        copies = list(_copies(node, values))
        return _hide(node, _merge(copies)) if copies else node
    if isinstance(node, Mapping):
        hidden = {}
        for key, value in node.items():
            dotted = f"{path}.{key}" if path else str(key)
            hidden[key] = value if dotted in _SKIPPED_FIELDS else _hide_repeated(value, values, dotted)
        return hidden
    if isinstance(node, list):
        return [_hide_repeated(item, values, path) for item in node]
    return node


# The members of a name and its value given apart, as they are spelt (AWS's `{"Name": ..., "Value": ...}` in
# ECS task definitions and SSM parameters, CloudFormation's `ParameterKey`/`ParameterValue`, a JSON
# Patch operation's `path`, a form's `field`).
_VALUE_MEMBERS: Final = ("value", "Value", "ParameterValue", "parameter_value")
_NAME_MEMBERS: Final = (
    "name", "key", "Name", "Key", "ParameterKey", "ParameterName", "parameter_key", "path", "field",
)  # fmt: skip
_PAIR_MEMBERS: Final = 8  # members of such an object, at most (SSM's parameter has seven)


def _pair_name(mapping: Mapping[str, Any]) -> tuple[str, str] | None:
    """The value's member and the name of a `{"name": "Authorization", "value": "..."}` object, else
    None; a parameter store's `SecureString` type names its value a secret whatever its name."""
    if len(mapping) > _PAIR_MEMBERS:
        return None
    value = next((member for member in _VALUE_MEMBERS if member in mapping), None)
    if value is None:
        return None
    if "SecureString" in (mapping.get("Type"), mapping.get("type")):
        return value, "secret"
    name = next((mapping[member] for member in _NAME_MEMBERS if member in mapping), None)
    return (value, name) if isinstance(name, str) else None


def _compile_user_pattern(pattern: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)  # (eager: a bad user pattern is a ConfigurationError now)
    except re.error as exc:
        raise ConfigurationError(f"redact_patterns: {pattern!r} is not a regular expression: {exc}") from None
    if compiled.fullmatch(""):
        raise ConfigurationError(
            f"redact_patterns: {pattern!r} matches the empty string; make it match the secret itself"
        )
    return compiled


def options_from_config(section: Mapping[str, Any]) -> dict[str, list[str]]:
    """The handler options (`redact_keys`, `redact_patterns`) of a TOML `[redaction]` section."""
    unknown = set(section) - {"keys", "patterns"}
    if unknown:
        known = "known: keys, patterns"
        raise ConfigurationError(f"unknown key(s) in [redaction]: {', '.join(sorted(unknown))}; {known}")
    options: dict[str, list[str]] = {}
    for name, option in (("keys", "redact_keys"), ("patterns", "redact_patterns")):
        values = section.get(name, [])
        if not isinstance(values, list):
            raise ConfigurationError(f"[redaction] {name} = {values!r}: give a list of strings")
        options[option] = values
    Redactor.build(keys=options["redact_keys"], patterns=options["redact_patterns"])  # checked now
    return options


DEFAULT: Final = Redactor()

# The default redactor's methods, for callers without user rules.
is_secret_key = DEFAULT.is_secret_key
might_contain_secret = DEFAULT.might_contain_secret
findings = DEFAULT.findings
redact_text = DEFAULT.redact_text
redact_message = DEFAULT.redact_message
redact_argv = DEFAULT.redact_argv
redact_value = DEFAULT.redact_value
redact_mapping = DEFAULT.redact_mapping
redact_document = DEFAULT.redact_document
