"""An SMTP server that refuses the sender, a recipient or the message (real aiosmtpd on loopback, real
node for the send markers): each recipient's outcome says who was refused, the server's code and words
and whether a later run can help, never a Python repr of bytes; the other recipients still get it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from helpers.analysis_docs import NOW, event, index_events
from helpers.ports import free_port
from helpers.prefixes import delete_prefix
from helpers.smtp_inbox import Inbox

from analyzers.digest import Digest, build_digest
from analyzers.mailer import SmtpSettings, send_digest
from analyzers.store import Store
from kibana.setup import install_template

pytestmark = pytest.mark.es
RECIPIENTS = ("good1@example.org", "bad@example.org", "good2@example.org")


class _Refusing(Inbox):
    """Refuses as `mode` says: the sender, the recipient `bad@...`, or the message at DATA."""

    def __init__(self, mode: str, code: int, words: str) -> None:
        super().__init__()
        self.mode, self.reply = mode, f"{code} {words}"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mode == "sender":
            return self.reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mode == "recipient" and address.startswith("bad"):
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "message" and "bad@" in envelope.rcpt_tos[0]:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def digest(es: Any) -> Iterator[tuple[str, Digest]]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    try:
        index_events(es, prefix, [event("ab" * 16, NOW - timedelta(days=1))])
        yield prefix, build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW, title="refusals")
    finally:
        delete_prefix(es, prefix)


SENDER = "the sender logloop@example.org ([smtp] sender): "
LATER = "(temporary: a later run tries again)"
BAD = ("bad@example.org",)


@pytest.mark.parametrize(
    ("mode", "code", "words", "refused", "said"),
    [
        pytest.param(
            "sender",
            550,
            "5.7.1 rejected",
            RECIPIENTS,
            f"{SENDER}550 5.7.1 rejected (permanent)",
            id="sender-550",
        ),
        pytest.param(
            "sender",
            451,
            "4.7.1 greylisted",
            RECIPIENTS,
            f"{SENDER}451 4.7.1 greylisted {LATER}",
            id="sender-451",
        ),
        pytest.param(
            "recipient",
            550,
            "5.1.1 no such user",
            BAD,
            "the recipient bad@example.org: 550 5.1.1 no such user (permanent)",
            id="recipient-550",
        ),
        pytest.param(
            "recipient",
            452,
            "4.2.2 mailbox full",
            BAD,
            f"the recipient bad@example.org: 452 4.2.2 mailbox full {LATER}",
            id="recipient-452",
        ),
        pytest.param(
            "message", 554, "5.7.1 spam", BAD, "the message: 554 5.7.1 spam (permanent)", id="message-554"
        ),
        pytest.param(
            "recipient",
            550,
            "5.1.1 x\u202e\x1b[31m y",
            BAD,
            "550 5.1.1 x\ufffd\ufffd[31m y (permanent)",
            id="hostile-reply",
        ),
    ],
)
def test_a_refusal_says_who_was_refused_and_why(
    es: Any, digest: tuple[str, Digest], mode: str, code: int, words: str, refused: tuple[str, ...], said: str
) -> None:
    """Each refused recipient's outcome is `failed`, the server's refusal in words; the others are sent."""
    prefix, built = digest
    handler = _Refusing(mode, code, words)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="logloop@example.org", recipients=RECIPIENTS
        )
        now = NOW + timedelta(hours=1, seconds=free_port() % 3600)  # a send of its own (markers are per run)
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-digest-sends")
        outcomes = {
            o.recipient: o
            for o in send_digest(Store(es, prefix), built.report, built.images, settings, now=now)
        }
    finally:
        controller.stop()
    for recipient, outcome in outcomes.items():
        if recipient in refused:
            assert outcome.state == "failed"
            assert outcome.detail.startswith("the server refused ") and said in outcome.detail, outcome.detail
            assert "b'" not in outcome.detail and "\x1b" not in outcome.detail
        else:
            assert outcome.state == "sent", outcome
    assert len(handler.messages) == len(RECIPIENTS) - len(refused)
