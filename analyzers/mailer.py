"""Email the digest: SMTP (STARTTLS, SSL or plain on loopback) with auth, at most one message per
(window, recipient), and no header built from anything but sanitized single-line values.

Other mail (the alerts) uses the same pieces: `analyzers.smtp_config` for `[smtp]`, `new_message` for the
sanitized headers and `send_message(settings, message, recipients)`, which raises DeliveryError. The
digest and `send_message` share one connection (connect, STARTTLS/SSL, AUTH) and one place where SMTP
errors are classified: failed (nothing delivered), in doubt (lost in flight) or sent.

Message: multipart/alternative with the text digest and, preferred, the HTML digest inside a
multipart/related part that carries the charts as inline PNGs referenced by `cid:`.

Exactly once per (window, recipient), with retries, restarts and several schedulers:
a marker document in `<prefix>-digest-sends`, `_id` = sha256(window length | window end floored to
the day in the digest's time zone (an hour for windows under two days) | recipient), so a scheduler's
retry minutes later, or a second scheduler firing a little late, names the same window. The marker is
*created* (op_type=create, atomic on the id) in state `sending` before the SMTP transaction. Only the
process whose create succeeded sends. Then:
- accepted by the server      -> marker updated to `sent`; later runs skip the recipient.
- refused before or by DATA   -> `failed` (nothing was delivered): a later run may re-claim it, with a
  compare-and-set on the marker's seq_no, so two re-claimers cannot both win.
- the recipient refused permanently (a 5xx reply to RCPT, but 552, which RFC 5321 says to treat as
  the temporary 452, and but a refusal about the sending side, such as "550 relaying denied" or "530
  5.7.0 authentication required", which fixing [smtp] cures: `configuration_refusal`) -> `refused`:
  nothing was delivered and a later run of the same digest does not try again; it reports the
  recipient `refused` in one line with the server's reply (fix [smtp] recipients, or delete the marker
  to try again). The next window's digest tries it again. A
  temporary refusal (4xx) stays `failed` and is retried.
- anything else (the connection died while the message was in flight, the process crashed) -> the
  marker stays `sending`. A later run never resends it: while it is younger than STALE_AFTER
  (15 minutes) it is reported as `sending-elsewhere`, after that as *in doubt*. Delivery cannot be
  known then, and for a weekly email a duplicate is the worse failure than a missing one, which the
  report surfaces. To resend after checking the mailbox, delete the marker (its id is in the report).

Password: held in SmtpSettings with `repr=False`, handed to `smtplib.login` and nowhere else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from analyzers.escaping import header_line, text_line
from analyzers.exceptions import DeliveryError
from analyzers.queries import iso
from analyzers.smtp_config import SmtpSettings, require_sendable
from analyzers.store import Store
from analyzers.wording import counted

if TYPE_CHECKING:  # the digest model loads pandas: alert emails (`logloop check`) must not pay for it
    from analyzers.digest_model import Report
    from analyzers.digest_window import Window

HEADER_CHARS: Final = 200
STALE_AFTER: Final = timedelta(minutes=15)
MARKER_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "state": {"type": "keyword"},
        "recipient": {"type": "keyword"},
        "window_start": {"type": "date"},
        "window_end": {"type": "date"},
        "claimed_at": {"type": "date"},
        "claimed_by": {"type": "keyword"},
        "finished_at": {"type": "date"},
        "message_id": {"type": "keyword"},
        "error": {"type": "text"},
    },
}


@dataclass(frozen=True, kw_only=True)
class SendOutcome:
    """One recipient's result: sent, already-sent, sending-elsewhere, in-doubt, failed, refused (refused
    permanently by an earlier run of the same digest: not tried again) or skipped-empty."""

    recipient: str
    state: str
    marker_id: str | None = None
    detail: str = ""


def sanitize_header(value: str, limit: int = HEADER_CHARS) -> str:
    """One line, no control character or direction override, at most `limit` characters (the one
    rule for header values, `analyzers.escaping.header_line`)."""
    return header_line(value, limit)


def subject(report: Report) -> str:
    """A one-line subject; the top group's title is log content, so it is sanitized like the rest."""
    counts = report.status_counts
    partial = "[partial] " if report.partial else ""
    parts = [f"[logloop] {partial}{report.title}: {counted(report.measure('errors').current, 'error')}"]
    warnings = report.measure("warnings").current
    if warnings:
        parts.append(counted(warnings, "warning"))
    parts += [f"{counts[s]} {s}" for s in ("new", "escalating", "regressed") if counts.get(s)]
    text = ", ".join(parts) + f" ({report.window.label()})"
    if report.top_groups:
        text += f" – top: {report.top_groups[0].title}"
    return sanitize_header(text)


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2] or "logloop.invalid"


def new_message(*, subject: str, sender: str, recipient: str, now: datetime, kind: str) -> EmailMessage:
    """An empty message with every header set from sanitized single-line values (no header injection).

    `kind` names the message in its Message-ID (digest, alert); the body is the caller's.
    """
    message = EmailMessage(policy=SMTP)
    message["Subject"] = sanitize_header(subject)
    message["From"] = Address(addr_spec=sanitize_header(sender))
    message["To"] = Address(addr_spec=sanitize_header(recipient))
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = make_msgid(idstring=kind, domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    return message


def build_message(
    report: Report, images: Mapping[str, bytes], *, sender: str, recipient: str, now: datetime
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related(text/html, image/png...)."""
    from analyzers.render import render  # jinja2 and the digest model, only when a digest is mailed

    cids = {name: make_msgid(idstring=name, domain=_domain(sender)) for name in images}
    message = new_message(subject=subject(report), sender=sender, recipient=recipient, now=now, kind="digest")
    message.set_content(render(report, "text"))
    html = render(report, "html", images={name: f"cid:{cid[1:-1]}" for name, cid in cids.items()})
    message.add_alternative(html, subtype="html")
    html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    for name, png in images.items():
        html_part.add_related(png, maintype="image", subtype="png", cid=cids[name], filename=f"{name}.png")
    return message


def window_key(window: Window) -> str:
    """The window's identity for sending: its length as asked and its end floored to the chart bucket in
    the window's zone (the local day for weekly digests, the hour for short windows), so a retry hours
    after a run at 08:00 in Tokyo (23:00 UTC the day before) is the same window (it was not, past
    midnight UTC: the recipients already sent to got the digest again). In UTC the key is unchanged."""
    local = window.end.astimezone(window.zone)
    if window.bucket >= timedelta(days=1):
        floored = datetime(local.year, local.month, local.day, tzinfo=window.zone)
    else:
        floored = local.replace(minute=0, second=0, microsecond=0)
    return f"{int(window.nominal.total_seconds())}s|{floored.astimezone(UTC).isoformat()}"


def marker_id(window: Window, recipient: str) -> str:
    key = f"{window_key(window)}|{recipient.strip().lower()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Claim:
    marker_id: str
    seq_no: int
    primary_term: int


class MarkerStore:
    """The send markers in `<prefix>-digest-sends` (create / compare-and-set / finish)."""

    def __init__(self, store: Store, *, owner: str | None = None) -> None:
        self._store = store
        self._index = store.digest_sends
        self._owner = owner or f"{socket.gethostname()}:{os.getpid()}"

    def ensure(self) -> None:
        self._store.ensure_bookkeeping_index(index=self._index, mappings=MARKER_MAPPING)

    def _document(self, window: Window, recipient: str, now: datetime) -> dict[str, Any]:
        return {
            "state": "sending",
            "recipient": recipient,
            "window_start": iso(window.start),
            "window_end": iso(window.end),
            "claimed_at": iso(now),
            "claimed_by": self._owner,
        }

    def claim(
        self, window: Window, recipient: str, now: datetime
    ) -> tuple[_Claim | None, SendOutcome | None]:
        """Own the (window, recipient) send, or say why not."""
        mid = marker_id(window, recipient)
        document = self._document(window, recipient, now)
        body = self._store.create_doc(
            index=self._index,
            doc_id=mid,
            document=document,
            action="create a digest send marker",
            refresh=None,
        )
        if body is not None:
            return _Claim(mid, body["_seq_no"], body["_primary_term"]), None
        return self._claim_existing(mid, document, recipient, now)

    def _claim_existing(
        self, mid: str, document: dict[str, Any], recipient: str, now: datetime
    ) -> tuple[_Claim | None, SendOutcome | None]:
        current = self._store.get_doc(index=self._index, doc_id=mid, action="read a digest send marker")
        source = current["_source"]
        state = source.get("state")
        if state == "sent":
            return None, SendOutcome(
                recipient=recipient,
                state="already-sent",
                marker_id=mid,
                detail=f"sent at {source.get('finished_at')} by {source.get('claimed_by')}",
            )
        if state == "refused":
            return None, SendOutcome(
                recipient=recipient,
                state="refused",
                marker_id=mid,
                detail=(
                    f"refused permanently at {source.get('finished_at')} "
                    f"({text_line(str(source.get('error') or ''))[:400]}); not tried again: "
                    f"fix [smtp] recipients, or delete document {mid} from {self._index} to try again"
                ),
            )
        if state == "sending":
            claimed_at = datetime.fromisoformat(str(source.get("claimed_at")).replace("Z", "+00:00"))
            if now - claimed_at < STALE_AFTER:
                return None, SendOutcome(
                    recipient=recipient,
                    state="sending-elsewhere",
                    marker_id=mid,
                    detail=f"claimed at {source.get('claimed_at')} by {source.get('claimed_by')}",
                )
            return None, SendOutcome(
                recipient=recipient,
                state="in-doubt",
                marker_id=mid,
                detail=(
                    f"a send started at {source.get('claimed_at')} by {source.get('claimed_by')} "
                    "never finished; "
                    f"check the mailbox, then delete document {mid} from {self._index} to resend"
                ),
            )
        # failed: nothing was delivered; re-claim with compare-and-set so only one retrier wins.
        body = self._store.replace_doc(
            index=self._index,
            doc_id=mid,
            document=document,
            seq_no=current["_seq_no"],
            primary_term=current["_primary_term"],
            action="re-claim a digest send marker",
            conflict_ok=True,
        )
        if body is None:
            return None, SendOutcome(
                recipient=recipient,
                state="sending-elsewhere",
                marker_id=mid,
                detail="another process re-claimed it",
            )
        return _Claim(mid, body["_seq_no"], body["_primary_term"]), None

    def finish(
        self, claim: _Claim, *, state: str, now: datetime, message_id: str = "", error: str = ""
    ) -> None:
        action = "update a digest send marker"
        current = self._store.get_doc(index=self._index, doc_id=claim.marker_id, action=action)["_source"]
        document = {
            **current,
            "state": state,
            "finished_at": iso(now),
            "message_id": message_id,
            "error": error,
        }
        self._store.replace_doc(
            index=self._index,
            doc_id=claim.marker_id,
            document=document,
            seq_no=claim.seq_no,
            primary_term=claim.primary_term,
            action=action,
        )


class _SMTP(smtplib.SMTP):
    """smtplib's client, telling whether the current transaction's message began to leave: until the
    server answers the DATA command with 354, whatever fails, the server holds nothing of it
    (`data_started` is reset by `_Sender.send`); and with a deadline on each whole reply (`getreply`)."""

    data_started = False
    _in_data = False  # inside data(): a 354 reply is the server's go-ahead for the message

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def _go_ahead(self, reply: tuple[int, bytes]) -> tuple[int, bytes]:
        """`reply`, noting a 354 to DATA: from here on the message is in flight. Set on the DATA
        command itself, a connection the server closed before answering it (between transactions)
        made a message that never left "in doubt", never retried."""
        if self._in_data and reply[0] == 354:
            self.data_started = True
        return reply

    def getreply(self) -> tuple[int, bytes]:
        """smtplib's, due whole within [smtp] timeout: smtplib's timeout bounds each read of the socket,
        so a server that sent its replies a byte at a time held the send for as long as it liked. At the
        deadline the socket is shut, and the reply fails as a lost connection naming the timeout."""
        sock, seconds = self.sock, self.timeout
        if sock is None or not isinstance(seconds, int | float):
            return self._go_ahead(super().getreply())
        cut = threading.Event()

        def shut() -> None:
            cut.set()
            with contextlib.suppress(OSError):  # (the plain socket's: TLS state is left to the reader)
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(seconds, shut)
        timer.daemon = True
        timer.start()
        try:
            reply = super().getreply()
        except smtplib.SMTPServerDisconnected:
            if not cut.is_set():
                raise
        finally:
            timer.cancel()
        if cut.is_set():  # (a cut reply may parse: the first line's part read so far, "220 mail.exa")
            self.close()
            raise smtplib.SMTPServerDisconnected(
                f"the server's reply did not end within {seconds:g}s ([smtp] timeout)"
            )
        return self._go_ahead(reply)


class _SMTPSSL(smtplib.SMTP_SSL, _SMTP):
    """`_SMTP` over implicit TLS."""


def _connect(settings: SmtpSettings) -> _SMTP:
    context = ssl.create_default_context(cafile=settings.ca_certs)
    if settings.security == "ssl":
        connection: _SMTP = _SMTPSSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        connection = _SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            connection.starttls(context=context)
    # EHLO here, where a failure means nothing was sent: left to send_message, a server that hangs up
    # on EHLO looked like a connection lost with the message in flight (in doubt, never retried).
    connection.ehlo_or_helo_if_needed()
    if settings.username:
        connection.login(settings.username, settings.password or "")
    return connection


def _describe(exc: BaseException) -> str:
    """What went wrong, in a line: a refusal says who was refused, the server's code and words, and
    whether a later run can help (4xx: it retries) or [smtp] must change (5xx); other errors by type."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            _refusal(f"the recipient {address}", code, reply, recipient=True)
            for address, (code, reply) in exc.recipients.items()
        )[:600]
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _refusal(
            f"the sender {_reply_text(exc.sender)} ([smtp] sender)", exc.smtp_code, exc.smtp_error
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return _refusal("the message", exc.smtp_code, exc.smtp_error)
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _refusal(what: str, code: int, reply: bytes | str, *, recipient: bool = False) -> str:
    """ "the server refused the recipient x@y: 550 5.1.1 no such user (permanent)" (pure); a
    `recipient` refusal is permanent by `permanently_refused`'s rule (552 and refusals about the
    sending side are not)."""
    if recipient and 500 <= code < 600 and configuration_refusal(code, reply):
        kind = (
            "refused for the sending side, not the address: check [smtp] host, username and password; "
            "a later run tries again"
        )
    elif not permanently_refused({"": (code, b"")}) if recipient else 400 <= code < 500:
        kind = "temporary: a later run tries again"
    else:
        kind = "permanent"
    return f"the server refused {what}: {code} {_reply_text(reply)[:200]} ({kind})"


def _reply_text(reply: bytes | str) -> str:
    """A server's reply as one line of text: it is the server's (any bytes), shown, never interpreted."""
    return text_line(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)


class _Sender:
    """One SMTP connection (connect, STARTTLS or SSL, AUTH), opened on the first message and again after
    the server ended it (a transaction cut, a 421, an idle timeout)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._connection: _SMTP | None = None
        self.reused = False  # the connection carried an earlier transaction (it may have gone stale)

    def connect(self) -> None:
        if self._connection is not None and self.ended:
            self.drop()
        if self._connection is None:
            self._connection = _connect(self._settings)
            self.reused = False

    def send(self, message: EmailMessage, recipients: Sequence[str]) -> dict[str, tuple[int, bytes]]:
        """The recipients the server refused (smtplib raises when it refused them all)."""
        assert self._connection is not None, "connect() first"
        self._connection.data_started = False
        try:
            return self._connection.send_message(
                message, from_addr=self._settings.sender, to_addrs=list(recipients)
            )
        finally:
            self.reused = True

    @property
    def data_started(self) -> bool:
        """Whether the last transaction's message began to leave (the server may hold it)."""
        return self._connection is not None and self._connection.data_started

    @property
    def ended(self) -> bool:
        """Whether the connection is closed (smtplib closes it on a 421 or on losing it)."""
        return self._connection is None or self._connection.sock is None

    def drop(self) -> None:
        """Forget the connection without a word to the server (it ended it, or it is unusable)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None


# Replies that refuse the transaction: the server took nothing.
_DEFINITELY_NOT_DELIVERED: Final = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


@dataclass(frozen=True)
class _Attempt:
    """What one SMTP transaction did: `sent`, `failed` (nothing delivered) or `in-doubt`; `permanent`:
    failed because every recipient was refused permanently (a later try cannot help)."""

    state: str
    detail: str = ""
    permanent: bool = False


# RFC 5321 4.5.3.1.10: a 552 ("too much mail data", a full mailbox) in reply to RCPT is to be treated
# as the temporary 452.
_TEMPORARY_RCPT_CODES: Final = frozenset({552})
# Refusals about the sending side, not the address, whatever the recipient (RFC 3463's X.7.x security or
# policy codes: relaying denied, authentication required; X.1.7/X.1.8: the sender's address; 530 and 535,
# RFC 4954's authentication replies; a reply without an enhanced code that words relaying or
# authentication): fixing [smtp] cures them, so a re-run after that fix must try the recipient again.
_CONFIGURATION_RCPT_CODES: Final = frozenset({530, 535, 538})
_ENHANCED_RE: Final = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")
_CONFIGURATION_WORDS_RE: Final = re.compile(
    r"relay|authenticat|\bauth\b|not permitted to send", re.IGNORECASE
)


def configuration_refusal(code: int, reply: bytes | str) -> bool:
    """Whether a RCPT refusal is about the sending side (relaying, authentication, the sender's
    address: see _CONFIGURATION_RCPT_CODES' comment), not the recipient's address."""
    if code in _CONFIGURATION_RCPT_CODES:
        return True
    text = _reply_text(reply)
    enhanced = _ENHANCED_RE.match(text)
    if enhanced:
        subject, detail = enhanced[2], enhanced[3]
        return subject == "7" or (subject == "1" and detail in ("7", "8"))
    return _CONFIGURATION_WORDS_RE.search(text) is not None


def permanently_refused(refusals: Mapping[str, tuple[int, bytes]]) -> bool:
    """Whether every recipient refusal (address -> (code, reply)) is a permanent refusal of the address:
    a 5xx other than 552 and not about the sending side (`configuration_refusal`)."""
    return bool(refusals) and all(
        500 <= code < 600 and code not in _TEMPORARY_RCPT_CODES and not configuration_refusal(code, reply)
        for code, reply in refusals.values()
    )


def _transmit(sender: _Sender, message: EmailMessage, recipients: Sequence[str]) -> _Attempt:
    """Connect if needed and hand `message` over; SMTP and socket errors are classified here and only here.

    Only a failure once the message began to leave (DATA answered 354) leaves it in doubt. One that came
    before, on a connection an earlier message used (the server closed it meanwhile, or answered 421),
    is tried once more on a new connection; otherwise it is `failed`: nothing was delivered."""
    while True:
        try:
            sender.connect()  # connect, STARTTLS, AUTH: no message has left yet, whatever goes wrong
        except (smtplib.SMTPException, OSError) as exc:
            return _Attempt("failed", _describe(exc))
        reused = sender.reused
        try:
            refused = sender.send(message, recipients)
        except _DEFINITELY_NOT_DELIVERED as exc:
            if sender.ended and reused and not sender.data_started:  # a 421: smtplib closed it
                sender.drop()
                continue
            permanent = isinstance(exc, smtplib.SMTPRecipientsRefused) and permanently_refused(exc.recipients)
            return _Attempt("failed", _describe(exc), permanent=permanent)
        except (smtplib.SMTPException, OSError) as exc:
            in_flight = sender.data_started
            sender.drop()
            if in_flight:
                return _Attempt("in-doubt", f"{_describe(exc)} while the message was in flight")
            if reused:
                continue
            return _Attempt("failed", _describe(exc))
        if refused:
            detail = "; ".join(
                _refusal(f"the recipient {address}", code, reply, recipient=True)
                for address, (code, reply) in refused.items()
            )[:600]
            return _Attempt("failed", detail, permanent=permanently_refused(refused))
        return _Attempt("sent")


def send_message(settings: SmtpSettings, message: EmailMessage, recipients: Sequence[str]) -> None:
    """Send `message` to `recipients` on a connection of its own; DeliveryError unless all were accepted.

    The error says whether nothing was delivered or the connection failed with the message in flight.
    """
    sender = _Sender(settings)
    try:
        attempt = _transmit(sender, message, recipients)
    finally:
        sender.close()
    if attempt.state == "failed":
        raise DeliveryError(
            f"SMTP server {settings.host}:{settings.port} did not take the email ({attempt.detail}); "
            "nothing was delivered: check [smtp]"
        )
    if attempt.state == "in-doubt":
        raise DeliveryError(
            f"SMTP server {settings.host}:{settings.port}: {attempt.detail}; it may have been delivered"
        )


def send_digest(
    store: Store,
    report: Report,
    images: Mapping[str, bytes],
    settings: SmtpSettings,
    *,
    now: datetime,
    recipients: Sequence[str] | None = None,
) -> list[SendOutcome]:
    """Send the digest to every recipient at most once per window; returns one outcome per recipient."""
    require_sendable(settings)
    targets = list(recipients or settings.recipients)
    if report.is_empty and not settings.send_empty:
        return [
            SendOutcome(recipient=r, state="skipped-empty", detail="nothing to report; send_empty = false")
            for r in targets
        ]
    markers = MarkerStore(store)
    markers.ensure()
    sender = _Sender(settings)
    outcomes: list[SendOutcome] = []
    try:
        for recipient in targets:
            outcomes.append(_send_one(markers, sender, report, images, settings, recipient, now))
    finally:
        sender.close()
    return outcomes


def _send_one(
    markers: MarkerStore,
    sender: _Sender,
    report: Report,
    images: Mapping[str, bytes],
    settings: SmtpSettings,
    recipient: str,
    now: datetime,
) -> SendOutcome:
    claim, outcome = markers.claim(report.window, recipient, now)
    if claim is None:
        assert outcome is not None
        return outcome
    message = build_message(report, images, sender=settings.sender, recipient=recipient, now=now)
    attempt = _transmit(sender, message, [recipient])
    if attempt.state == "failed" and attempt.permanent:  # nothing was delivered, and never will be
        markers.finish(claim, state="refused", now=now, error=attempt.detail)
    elif attempt.state == "failed":  # nothing was delivered: a later run may retry it
        markers.finish(claim, state="failed", now=now, error=attempt.detail)
    elif attempt.state == "sent":
        markers.finish(claim, state="sent", now=now, message_id=str(message["Message-ID"]))
    detail = attempt.detail
    if attempt.state == "in-doubt":
        detail += "; not retried (check the mailbox)"
    elif attempt.permanent:
        detail += "; later runs of this digest do not try it again"
    return SendOutcome(recipient=recipient, state=attempt.state, marker_id=claim.marker_id, detail=detail)


BAD_STATES: Final = ("failed", "in-doubt", "refused")  # not delivered, or not known to be


def raise_for_failures(outcomes: Sequence[SendOutcome], *, kept: Path | None = None) -> None:
    """DeliveryError naming every recipient that failed or is in doubt (and where the digest is kept)."""
    bad = [o for o in outcomes if o.state in BAD_STATES]
    if bad:
        where = f"; the digest is kept at {kept}" if kept is not None else ""
        raise DeliveryError("; ".join(f"{o.recipient}: {o.state} ({o.detail})" for o in bad) + where)
