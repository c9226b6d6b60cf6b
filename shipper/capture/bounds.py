"""Records too large to spool are cut before they are written: the rule is that no cut may leave part
of a secret where redaction can no longer tell it is one.

`emit()` encodes a record whole (`shipper.spool.records`); the agent keeps at most 256 KiB of a
message or a stack trace, 32 KiB of an exception's message, 8 KiB of a template or an extra's value
(`shipper.formatter`). A payload past `PAYLOAD_LIMIT` that the open segment cannot hold (a 50 MB
message, an exception whose `str()` is a dump, an ExceptionGroup of 20,000 members) is read back by
the writer, off its lock and off the common path (`SegmentWriter.append`), and every long text in it
is cut to more than the agent keeps, so the document sent is what it would have been and the spool holds a
bounded copy. A cut text keeps its head and, when the text is made of lines, its tail (a traceback's
final lines name the error grouping keys it by), joined by a marker giving the original length.

Cutting safely: the head ends at a line break (or, failing one, a blank) near the limit, and the tail
starts after a line break, never inside a line: a `password = two words` or a token split by the cut
would leave its second half without the key or the shape that marks it as a secret. A text without a
line break near its end keeps no tail. What the agent then cuts it redacts first (`formatter`).
"""

from __future__ import annotations

import marshal
from typing import Any, Final

from shipper.formatter import FIELD_LIMIT, MESSAGE_LIMIT, STACK_TRACE_LIMIT, STANDARD_ATTRIBUTES
from shipper.spool import records

PAYLOAD_LIMIT: Final = 1024 * 1024  # bytes of a payload past which its texts are cut
_SPOOL_LIMIT: Final = 4 * 1024 * 1024  # bytes of a cut payload past which it is refused
_MARGIN: Final = 16 * 1024  # characters kept past what the agent keeps, so its own cut sees context
_HEAD: Final = MESSAGE_LIMIT + _MARGIN
_TAIL: Final = STACK_TRACE_LIMIT + _MARGIN
_SMALL: Final = FIELD_LIMIT + _MARGIN  # the second pass, where the first left too much
_WINDOW: Final = 16 * 1024  # how far from the cut a line break (or blank) is looked for
_GROUP_WIDTH: Final = 15  # members of an ExceptionGroup a traceback shows (`max_group_width`)


def bounded(payload: bytes) -> bytes | None:
    """`payload` with its long texts cut (the same object if nothing needed it), or None if even cut
    it stays over the spool's limit for one record."""
    try:
        value = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return payload  # not ours to judge: the agent counts it as unreadable
    if not isinstance(value, tuple) or not value or value[0] not in (records.RECORD, records.PLAIN):
        return payload  # a finished document (at most 2 MiB) or the program's facts
    for head, tail in ((_HEAD, _TAIL), (_SMALL, _SMALL)):
        cut = marshal.dumps(_Cutter(head, tail).value(value), 4)
        if len(cut) <= _SPOOL_LIMIT:
            return cut
    if value[0] == records.RECORD and len(value) == 6 and isinstance(value[1], dict):
        # Many texts, none long (extras of 50,000 values): the event without them, as the agent's
        # `dumps` drops the extras of a document past its limit, rather than no event at all.
        cut = marshal.dumps(_Cutter(_SMALL, _SMALL).value(_without_extras(value, len(payload))), 4)
        if len(cut) <= _SPOOL_LIMIT:
            return cut
    return None


def _without_extras(value: tuple[Any, ...], size: int) -> tuple[Any, ...]:
    """A record payload with its extras and its context provider's answer replaced by a note."""
    kind, attributes, error, env_vars, context, failure = value
    kept = {key: item for key, item in attributes.items() if key in STANDARD_ATTRIBUTES}
    kept["logloop_cut"] = f"record of {size} bytes: extras dropped"
    if context is not None:
        context = {"provider_error": f"record of {size} bytes: context dropped"}
    return (kind, kept, error, env_vars, context, failure)


class _Cutter:
    """Cuts every text of a payload longer than head + tail; one cut per object (marshal writes an
    object seen twice, the message that is also the template, once)."""

    def __init__(self, head: int, tail: int) -> None:
        self.head, self.tail = head, tail
        self.done: dict[int, Any] = {}

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) <= self.head + self.tail:
                return value
            found = self.done.get(id(value))
            if found is None:
                found = self.done[id(value)] = cut_text(value, self.head, self.tail)
            return found
        if isinstance(value, dict):
            return {key: self._member(key, item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            items = [self.value(item) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    def _member(self, key: Any, item: Any) -> Any:
        if key == "exceptions" and isinstance(item, list) and len(item) > _GROUP_WIDTH:
            # A frozen ExceptionGroup: the traceback shows the first members and counts the rest.
            shown = [self.value(member) for member in item[:_GROUP_WIDTH]]
            return shown + [None] * (len(item) - _GROUP_WIDTH)
        return self.value(item)


def cut_text(text: str, head: int = _HEAD, tail: int = _TAIL) -> str:
    """`text` cut to about `head` + `tail` characters at line breaks (see the module's docstring)."""
    size = len(text)
    if size <= head + tail:
        return text
    end = _head_end(text, head)
    start = text.find("\n", size - tail, size - tail + _WINDOW)
    kept_tail = text[start + 1 :] if start >= 0 else ""
    marker = f"…[cut by logloop: {size} characters, kept the first {end}"
    if kept_tail:
        return f"{text[:end]}\n{marker} and the last {len(kept_tail)}]…\n{kept_tail}"
    return f"{text[:end]}{marker}]"


def _head_end(text: str, head: int) -> int:
    """Where the kept head ends: after the last line break near `head`, else the last blank, else at
    `head` (a run of text without a blank that long is no secret a rule knows)."""
    for separator in ("\n", " "):
        found = text.rfind(separator, head - _WINDOW, head)
        if found >= 0:
            return found + 1
    return head
