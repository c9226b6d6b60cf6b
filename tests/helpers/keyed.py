"""The key of a traceback text, with the fast path and the event path checked against the general
parser on the way (memos cleared, so each reads the text afresh)."""

from __future__ import annotations

from shipper.grouping.fingerprint import (
    Fingerprint,
    clear_caches,
    fingerprint_event,
    fingerprint_plain,
    fingerprint_traceback,
)
from shipper.grouping.tracebacks import parse_traceback


def checked_key(text: str, *, event_as_general: bool = True) -> Fingerprint:
    """The event's fingerprint of `text`; asserts the fast path (where it answers) gives what the general
    parser gives, and the event path too (`event_as_general`; else only that it gives one: the event path
    reads some shapes the parser alone does not)."""
    clear_caches()
    general = fingerprint_traceback(parse_traceback(text))
    fast = fingerprint_plain(text)
    assert fast is None or fast == general, text
    clear_caches()
    event = fingerprint_event({"error": {"stack_trace": text}})
    assert event is not None, text
    if event_as_general:
        assert event == general, text
    return event
