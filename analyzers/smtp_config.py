"""`[smtp]`: where and how mail is sent, parsed and checked without loading anything that sends it
(every command's start parses the sections present in the configuration: see `logloop.config`).

The password is held with `repr=False`, handed to `smtplib.login` by `analyzers.mailer` and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from typing import Any, Final

from analyzers.exceptions import ConfigurationError
from shipper.connection import is_loopback_host
from shipper.schema import unknown_keys_message

SECURITY_MODES: Final = ("starttls", "ssl", "none")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """The `[smtp]` section."""

    host: str = "127.0.0.1"
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    recipients: tuple[str, ...] = ()
    send_empty: bool = False
    timeout: float = 30.0
    ca_certs: str | None = None


def address(value: Any, *, setting: str) -> str:
    """The bare address of `value` ("Ops <ops@example.com>" -> ops@example.com); ConfigurationError
    naming `setting` (e.g. "[smtp] sender") when it is not one or holds control characters."""
    text = str(value)
    _name, bare = parseaddr(text)
    if _CONTROL.search(text) or not bare or bare.count("@") != 1:
        raise ConfigurationError(f"{setting} {text!r} is not an email address like ops@example.com")
    return bare


def smtp_settings(table: Mapping[str, Any]) -> SmtpSettings:
    """Parse and validate `[smtp]`; ConfigurationError names the key and the fix."""
    known = {f.name for f in fields(SmtpSettings)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(unknown_keys_message("smtp", unknown, known))
    values = dict(table)
    security = str(values.get("security", "starttls")).lower()
    if security not in SECURITY_MODES:
        raise ConfigurationError(f"[smtp] security = {security!r}: use one of {', '.join(SECURITY_MODES)}")
    values["security"] = security
    recipients = values.get("recipients", ())
    if isinstance(recipients, str):
        recipients = [recipients]
    values["recipients"] = tuple(address(r, setting="[smtp] recipient") for r in recipients)
    if "sender" in values:
        values["sender"] = address(values["sender"], setting="[smtp] sender")
    settings = SmtpSettings(**values)
    if security == "none" and settings.username and not is_loopback_host(settings.host):
        raise ConfigurationError(
            f"[smtp] refusing to send the password in clear text to {settings.host}: "
            "use security = starttls or ssl"
        )
    return settings


def require_sendable(settings: SmtpSettings) -> None:
    if not settings.sender or not settings.recipients:
        raise ConfigurationError(
            '[smtp] needs sender and recipients to send the digest, e.g. recipients = ["ops@example.com"]'
        )
