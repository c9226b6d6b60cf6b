"""Permanent recipient refusals are recorded per send identity (real aiosmtpd on loopback, real node for
the send markers): a re-run of the same digest does not try a recipient refused with a 5xx again and says
so in one line, while a temporary refusal (4xx, and 552 on RCPT), a refused sender or a refused message
is tried again; nobody is ever marked sent who was not."""

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
from analyzers.exceptions import DeliveryError
from analyzers.mailer import SmtpSettings, raise_for_failures, send_digest
from analyzers.store import Store
from kibana.setup import install_template

pytestmark = pytest.mark.es
BAD = "bad@example.org"
RECIPIENTS = ("good1@example.org", BAD, "good2@example.org")


class _Refusing(Inbox):
    """Refuses `bad@...` at RCPT (mode "recipient"), the sender (mode "sender") or the message to it at
    DATA (mode "message") with `reply` while `refusing`; counts the attempts that named `bad@`."""

    def __init__(self, mode: str, reply: str) -> None:
        super().__init__()
        self.mode, self.reply, self.refusing, self.attempts = mode, reply, True, 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == BAD:
            self.attempts += 1
            if self.refusing and self.mode == "recipient":
                return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing and self.mode == "message" and BAD in envelope.rcpt_tos:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="module")
def digests(es: Any) -> Iterator[tuple[str, Digest, Digest]]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    try:
        store = Store(es, prefix)
        index_events(es, prefix, [event("ab" * 16, NOW - timedelta(days=1))])
        this_week = build_digest(store, timedelta(days=7), NOW, NOW, title="permanent")
        later = NOW + timedelta(days=7)
        index_events(es, prefix, [event("ab" * 16, later - timedelta(days=1))])
        next_week = build_digest(store, timedelta(days=7), later, later, title="permanent")
        yield prefix, this_week, next_week
    finally:
        delete_prefix(es, prefix)


def _send(es: Any, prefix: str, built: Digest, handler: _Refusing) -> dict[str, Any]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, security="none", sender="logloop@example.org", recipients=RECIPIENTS
        )
        outcomes = send_digest(Store(es, prefix), built.report, built.images, settings, now=NOW)
    finally:
        controller.stop()
    return {o.recipient: o for o in outcomes}


PERMANENT = [
    "550 5.1.1 no such user",
    "551 5.1.6 user not local",
    "553 5.1.3 bad address",
    "550 5.1.1 <bad@example.org>: Recipient address rejected: User unknown in relay recipient table",
    "550 no such user here",
    "554 5.2.1 mailbox disabled",
]


@pytest.mark.parametrize("reply", PERMANENT)
def test_a_permanently_refused_recipient_is_not_tried_again_by_a_rerun(
    es: Any, digests: tuple[str, Digest, Digest], reply: str
) -> None:
    """A 5xx at RCPT is recorded: re-runs of the same digest skip the recipient with one line saying
    so (and fail the run: it was not delivered), the others are sent once, and the next window tries it."""
    prefix, this_week, next_week = digests
    es.options(ignore_status=404).indices.delete(index=f"{prefix}-digest-sends")
    handler = _Refusing("recipient", reply)
    first = _send(es, prefix, this_week, handler)
    assert first[BAD].state == "failed" and "(permanent)" in first[BAD].detail
    assert "later runs of this digest do not try it again" in first[BAD].detail
    for _run in range(2):
        again = _send(es, prefix, this_week, handler)
        assert again[BAD].state == "refused", again[BAD]
        assert reply in again[BAD].detail and "not tried again" in again[BAD].detail
        assert "\n" not in again[BAD].detail and again[BAD].marker_id in again[BAD].detail
        assert {again[r].state for r in RECIPIENTS if r != BAD} == {"already-sent"}
        with pytest.raises(DeliveryError, match=f"{BAD}: refused"):
            raise_for_failures(list(again.values()))
    assert handler.attempts == 1  # re-runs never asked the server again
    assert not handler.to(BAD) and len(handler.messages) == 2
    handler.refusing = False  # the address was fixed: the next window's digest reaches it
    later = _send(es, prefix, next_week, handler)
    assert later[BAD].state == "sent" and handler.attempts == 2 and len(handler.to(BAD)) == 1


@pytest.mark.parametrize(
    ("mode", "reply"),
    [
        ("recipient", "450 4.2.1 mailbox busy"),
        ("recipient", "451 4.3.0 try later"),
        ("recipient", "452 4.2.2 mailbox full"),
        ("recipient", "552 5.2.2 mailbox full"),  # RFC 5321 4.5.3.1.10: a 552 at RCPT is a 452
        ("message", "554 5.6.0 message refused"),  # the message, not the recipient: [smtp] or the digest
        ("message", "451 4.3.0 try later"),
        # refusals about the sending side, which fixing [smtp] cures (`configuration_refusal`)
        ("recipient", "550 relaying denied"),
        ("recipient", "554 5.7.1 <bad@example.org>: Relay access denied"),
        ("recipient", "550 5.7.1 Unable to relay for bad@example.org"),
        ("recipient", "530 5.7.0 Authentication required"),
        ("recipient", "550 Authentication required"),
        ("recipient", "553 5.1.8 sender address domain does not exist"),
        ("recipient", "554 5.7.1 no"),
    ],
)
def test_a_temporary_or_message_refusal_is_tried_again(
    es: Any, digests: tuple[str, Digest, Digest], mode: str, reply: str
) -> None:
    """A refusal that is not a permanent refusal of the recipient (temporary, of the message, or about
    the sending side such as relaying denied, whose detail names [smtp] as the fix) leaves it `failed`:
    a re-run of the same digest tries it again and, once the server takes it, sends it exactly once."""
    prefix, this_week, _next = digests
    es.options(ignore_status=404).indices.delete(index=f"{prefix}-digest-sends")
    handler = _Refusing(mode, reply)
    first = _send(es, prefix, this_week, handler)
    assert first[BAD].state == "failed" and "do not try it again" not in first[BAD].detail
    if mode == "recipient" and reply.startswith("5") and not reply.startswith("552"):
        assert "check [smtp] host, username and password" in first[BAD].detail, first[BAD].detail
    again = _send(es, prefix, this_week, handler)
    assert again[BAD].state == "failed" and handler.attempts == 2
    handler.refusing = False
    last = _send(es, prefix, this_week, handler)
    assert last[BAD].state == "sent" and handler.attempts == 3 and len(handler.to(BAD)) == 1
    assert _send(es, prefix, this_week, handler)[BAD].state == "already-sent"
