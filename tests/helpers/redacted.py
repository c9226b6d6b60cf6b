"""The one check every table of redaction cases makes of a text."""

from __future__ import annotations

from shipper.redaction import redact_text


def assert_hidden(text: str, secrets: list[str], kept: list[str]) -> None:
    """`text` redacted shows none of `secrets`, still shows every word of `kept`, and is redacted again
    to itself (idempotent)."""
    redacted = redact_text(text)
    assert [secret for secret in secrets if secret in redacted] == [], redacted
    assert [word for word in kept if word not in redacted] == [], redacted
    assert redact_text(redacted) == redacted
