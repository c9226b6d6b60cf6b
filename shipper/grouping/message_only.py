"""Message-only events: which events the template miner groups, the line it sees, and learned templates.

An event with a parseable Python traceback, a Java exception's or a Go panic's frames
(`shipper.grouping.foreign`), a warning's or pytest's location line or a logging template
(`logloop.template`) has a key of its own (`shipper.grouping.fingerprint`). Any other event (another
shipper's log line, a bare message) is grouped by the template miner (`shipper.grouping.templates.mine`)
on its first message line, prefixed with the short `error.type` if any. `logloop cluster` and `logloop
regroup`/`analyze` both go through this module, so one event gets one group whichever command saw it.

`LearnedTemplates` keeps keys stable across runs: templates learned earlier are matched first
(read-only), and only the messages none of them fits are mined, among themselves, into new templates.
Pure and standard library only; storing the templates is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from shipper.grouping.foreign import has_foreign_frames, read_foreign
from shipper.grouping.renderers import from_location_line, from_structured
from shipper.grouping.templates import WILDCARD, MiningResult, Template, mine, tokenize
from shipper.grouping.titles import names_a_statement
from shipper.grouping.tracebacks import has_frame_lines, without_colours
from shipper.schema import get_field

EMPTY_TITLE: Final = "(empty message)"


def has_key_of_its_own(doc: Mapping[str, Any]) -> bool:
    """Events with a parseable traceback (in `error.stack_trace`, or in the message of an event without
    one: `traceback_in_message`) or a logging template group without the miner."""
    if keyed_template(doc):
        return True
    stack_trace = stack_trace_text(get_field(doc, "error.stack_trace"))
    if stack_trace:
        return has_frame_lines(stack_trace) or has_located_failure(stack_trace)
    return bool(traceback_in_message(doc)) or located_failure_in_message(doc)


def has_located_failure(text: str) -> bool:
    """Whether `text`, without a Python frame, still says where it failed: a Java exception's or a Go
    panic's frames (`shipper.grouping.foreign`), or a location line first (`shop/w.py:12:
    DeprecationWarning: ...`: `renderers.from_location_line`)."""
    if has_foreign_frames(text) and read_foreign(text) is not None:
        return True
    return from_location_line(text) is not None


def located_failure_in_message(doc: Mapping[str, Any]) -> bool:
    """Whether the message of an event (`error.message`, else `message`) says where it failed
    (`has_located_failure`)."""
    message = get_field(doc, "error.message") or doc.get("message")
    return isinstance(message, str) and has_located_failure(message)


def stack_trace_text(value: object) -> str:
    """An event's `error.stack_trace` as text: a string as it is; a structured traceback (structlog's
    dict tracebacks: a list of stacks of frames) as `traceback` prints it; else the value's lines."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, list | dict):
        written = from_structured(value)
        if written is not None:
            return written
    if isinstance(value, list | tuple):
        return "\n".join(str(item) for item in value)
    return str(value)


def keyed_template(doc: Mapping[str, Any]) -> str:
    """The event's logging template (`logloop.template`) when it names the statement that logged it;
    "" for none, or one of placeholders only (`%s`: `titles.names_a_statement`)."""
    template = get_field(doc, "logloop.template")
    return template if isinstance(template, str) and template and names_a_statement(template) else ""


def traceback_in_message(doc: Mapping[str, Any]) -> str:
    """The traceback an event without `error.stack_trace` carries as its message (`error.message`, else
    `message`): a program's stderr as a collector ships it, a traceback, a crash dump or a test report,
    after a log line or not; "" when its message holds no frame (a one-line message costs one test)."""
    error = doc.get("error")
    nested = error.get("message") if isinstance(error, Mapping) else None  # (direct reads: every message
    for text in (nested, doc.get("error.message"), doc.get("message")):  # line of a batch asks)
        # (a line end; JSON's escape of one; rsyslog's: `tracebacks.normalized` reads both)
        if (
            isinstance(text, str)
            and ("\n" in text or "\\n" in text or "#012" in text)
            and has_frame_lines(text)
        ):
            return text
    return ""


def message_of(doc: Mapping[str, Any]) -> str:
    """The line the miner sees: `Type: first message line` (detail lines vary in number)."""
    message = get_field(doc, "message") or get_field(doc, "error.message") or ""
    error_type = get_field(doc, "error.type")
    text = without_colours(message if isinstance(message, str) else json.dumps(message))
    text = text.strip().split("\n", 1)[0]
    if isinstance(error_type, str) and error_type:
        return f"{error_type.rsplit('.', 1)[-1]}: {text}"
    return text


def title_of(template: Template) -> str:
    """How a group of message-only events is titled: the template's title, else its tokens' text."""
    return template.title or template.text or EMPTY_TITLE


def template_from_text(text: str, title: str = "") -> Template:
    """The template a stored `Template.text` names (tokens never hold a blank), with its stored title."""
    return Template(tuple(text.split(" ")) if text else (), title)


@dataclass(frozen=True)
class Assignment:
    """For each message (same order) its template; the templates learned from these messages; and the
    known templates the new evidence generalizes, each with the template that replaces it."""

    templates: tuple[Template, ...]
    learned: tuple[Template, ...]
    merged: tuple[tuple[Template, Template], ...] = ()


def generalizes(general: Template, specific: Template) -> bool:
    """Whether every line `specific` fits also fits `general` (same length, variables or equal words)."""
    return len(general.tokens) == len(specific.tokens) and all(
        mine in (WILDCARD, theirs) for mine, theirs in zip(general.tokens, specific.tokens, strict=True)
    )


def _as_message(template: Template) -> str:
    """A line that tokenizes back to `template` (a number stands for each variable)."""
    return " ".join("0" if token == WILDCARD else token for token in template.tokens)


def _titled_by(mined: MiningResult, messages: Sequence[str]) -> MiningResult:
    """`mined` with the title of each template none of `messages` (the first lines mined) fits cleared:
    its first line is one made up by `_as_message` (a number for each variable), not a message."""
    firsts = {index: position for position, index in reversed(list(enumerate(mined.assignments)))}
    templates = tuple(
        template if firsts.get(index, len(messages)) < len(messages) else Template(template.tokens)
        for index, template in enumerate(mined.templates)
    )
    return MiningResult(mined.assignments, templates)


@dataclass(frozen=True)
class LearnedTemplates:
    """Templates learned by earlier runs, matched before anything is mined."""

    known: tuple[Template, ...] = ()
    _by_length: dict[int, list[Template]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_length: dict[int, list[Template]] = {}
        for template in self.known:
            by_length.setdefault(len(template.tokens), []).append(template)
        for templates in by_length.values():  # the most specific first; ties keep the learning order
            templates.sort(key=lambda template: template.tokens.count(WILDCARD))
        object.__setattr__(self, "_by_length", by_length)

    def match(self, message: str, word_cache: dict[str, tuple[str, ...]] | None = None) -> Template | None:
        """The most specific known template the message fits, or None (read-only)."""
        tokens = tokenize(message, word_cache)
        for template in self._by_length.get(len(tokens), ()):
            if all(mine in (WILDCARD, theirs) for mine, theirs in zip(template.tokens, tokens, strict=True)):
                return template
        return None

    def assign(self, messages: Sequence[str]) -> Assignment:
        """Known templates first; the rest mined together (as `logloop cluster` mines its input).

        The known templates of the lengths being mined join the miner's input as one line each, so the
        decision "a different statement or a variable" sees earlier runs' words too: a first run that
        saw three user names learns three templates, and the run that sees more names learns the
        general one and reports the three as `merged` into it.
        """
        word_cache: dict[str, tuple[str, ...]] = {}
        matched: dict[str, Template | None] = {}
        for message in messages:
            if message not in matched:
                matched[message] = self.match(message, word_cache)
        # Every occurrence goes to the miner, not only distinct messages: it weighs positions by count.
        rest = [message for message in messages if matched[message] is None]
        lengths = {len(tokenize(message, word_cache)) for message in rest}
        context = [
            template
            for template in self.known
            if len(template.tokens) in lengths
            and tokenize(_as_message(template), word_cache) == template.tokens
        ]
        mined = _titled_by(mine([*rest, *(_as_message(template) for template in context)]), rest)
        known = {template.text for template in self.known}
        learned: dict[str, Template] = {}
        for position, message in enumerate(rest):
            template = matched[message] = mined.template_of(position)
            if template.text not in known:
                learned.setdefault(template.text, template)
        merged = []
        for offset, old in enumerate(context):
            new = mined.template_of(len(rest) + offset)
            if new.text != old.text and generalizes(new, old):
                merged.append((old, new))
                if new.text not in known:
                    learned.setdefault(new.text, new)
        return Assignment(
            templates=tuple(matched[message] or Template(()) for message in messages),
            learned=tuple(learned.values()),
            merged=tuple(merged),
        )

    def with_learned(
        self, learned: Sequence[Template], merged: Sequence[tuple[Template, Template]] = ()
    ) -> LearnedTemplates:
        """These templates after a run: the learned ones added, the merged ones dropped."""
        gone = {old.text for old, _ in merged}
        kept = [template for template in self.known if template.text not in gone]
        seen = {template.text for template in kept}
        return LearnedTemplates((*kept, *(t for t in learned if t.text not in seen)))
