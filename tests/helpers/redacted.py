"""The one check every table of redaction cases makes of a text."""

from __future__ import annotations

import math
import time

from shipper.redaction import redact_text


def assert_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """`text` redacted shows none of `secrets`, still shows every word of `kept`, and is redacted again
    to itself (idempotent)."""
    redacted = redact_text(text)
    assert [secret for secret in secrets if secret in redacted] == [], redacted
    assert [word for word in kept if word not in redacted] == [], redacted
    assert redact_text(redacted) == redacted


def redaction_cost(text: str, runs: int = 3) -> float:
    """The least time, in seconds, of `runs` redactions of `text` (the run others disturbed least)."""
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        redact_text(text)
        best = min(best, time.perf_counter() - start)
    return best


def assert_linear_time(short: str, long: str, runs: int = 3) -> None:
    """Redacting `long` (four times `short`'s length) costs at most ten times `short`'s, and 50 ms: about
    four times for a linear reading, sixteen for a quadratic one."""
    assert redaction_cost(long, runs) <= 10 * redaction_cost(short, runs) + 0.05
