"""The loopback SMTP stand-in's handler shared by the digest-mailer and alert-email tests (aiosmtpd)."""

from __future__ import annotations

import contextlib
import email
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any


@dataclass
class Inbox:
    """What the SMTP server received: one (envelope recipients, parsed message) per DATA."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, recipient: str) -> list[EmailMessage]:
        return [message for rcpts, message in self.messages if recipient in rcpts]


@contextlib.contextmanager
def plain_smtp() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server on 127.0.0.1 (no AUTH, no TLS) for the duration: its inbox and port."""
    from aiosmtpd.controller import Controller

    from helpers.ports import free_port

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
