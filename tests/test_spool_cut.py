"""A record too large for the spool (a 50 MB message, an exception whose text is a dump, a group of
20,000 exceptions) is cut before it is written: the spool holds a bounded copy, the document sent is
what the node would keep of the whole, the cut is counted, and no cut splits a secret so that part of
it escapes redaction. Real programs, real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template
from shipper import schema
from shipper.formatter import ERROR_MESSAGE_LIMIT, FIELD_LIMIT, MESSAGE_LIMIT, cut_redacted, truncate

pytestmark = pytest.mark.es

_PROGRAM = """
import json, logging, os, sys
import shipper
spool = sys.argv[3]
handler = shipper.install(
    "cut", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=spool,
    spool_max_bytes=8 << 20, idle_exit=2,
)
log = logging.getLogger("cut")
def raised(exc):
    try:
        raise exc
    except BaseException as caught:
        return caught
def noted():
    exc = ValueError("noted")
    exc.add_note("N" * 20_000_000)
    return raised(exc)
def record_with_text():
    record = logging.LogRecord("cut", logging.ERROR, __file__, 1, "HUGE from a queue", None, None)
    record.exc_text = "Traceback (most recent call last):\\n" + "  frame\\n" * 3_000_000 + "KeyError: 'k'"
    return record
log.warning("small before")
{huge}
log.warning("small after")
def size(name):
    try:
        return os.path.getsize(os.path.join(spool, name))
    except FileNotFoundError:  # delivered and removed by the agent meanwhile
        return 0
# (measured before waiting: once delivered, the agent removes segments while they are listed)
largest = max(size(n) for n in os.listdir(spool) if n.endswith(".seg"))
assert handler.wait_delivered(60)
stats = handler.stats()
print("STATS " + json.dumps({{"largest": largest, "lost": dict(stats.lost), "truncated": stats.truncated}}))
"""

_HUGE = {
    "message-50MB-no-args": 'log.warning("HUGE " + "y" * 50_000_000)',
    "message-20MB-argument": 'log.warning("HUGE %s", "x" * 20_000_000)',
    "message-of-20MB-lines": 'log.warning("HUGE %s", "a line of text\\n" * 1_500_000)',
    "exception-text-20MB": 'log.error("HUGE failed", exc_info=raised(ValueError("e" * 20_000_000)))',
    "exception-note-20MB": 'log.error("HUGE noted", exc_info=noted())',
    "group-of-20000": 'log.error("HUGE group", exc_info=raised(ExceptionGroup("g", [ValueError(str(n) * 50) '
    "for n in range(20_000)])))",
    "text-traceback-24MB": "log.handle(record_with_text())",
    "message-3MB-with-stack": 'log.warning("HUGE %s", "s" * 3_000_000, stack_info=True)',
    "message-20MB-error": 'log.error("HUGE %s", "z" * 20_000_000)',
    "extras-of-16384-values": 'log.warning("HUGE extras", extra={"rows": [[f"{i} {j} " + "x" * 4000 '
    "for j in range(256)] for i in range(64)]})",
}


@pytest.mark.parametrize("huge", list(_HUGE))
def test_a_huge_record_is_cut_before_the_spool_counted_and_delivered(
    huge: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A record of tens of MB is spooled cut (no segment past 2 MB in an 8 MB spool: it made one of
    its own size, or was dropped as larger than the bound), counted `truncated`, lost by no one, and
    delivered with what the node keeps of it; the records around it arrive once."""
    install_template(es, index_prefix)
    script = _PROGRAM.format(huge=_HUGE[huge])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")], timeout=180)
    assert done.returncode == 0, done.stderr
    stats = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("STATS "))[6:])
    assert stats["lost"] == {}
    assert stats["truncated"] == 1
    assert stats["largest"] <= 2 << 20
    found = documents(es, index_prefix, {"term": {"event.dataset": schema.DATASET_LOG}})
    messages = sorted(doc["message"][:20] for doc in found)
    assert [m for m in messages if m.startswith("small")] == ["small after", "small before"]
    (cut,) = [doc for doc in found if doc["message"].startswith("HUGE")]
    assert len(json.dumps(cut)) < 1 << 20
    if "error" in cut and "type" in cut["error"]:
        assert ", in raised\n" in cut["error"]["stack_trace"]  # the raising frame is kept


_SECRETS = {
    "github-token": "ghp_" + "A1b2C3d4E5" * 3 + "f6g7h8",
    "aws-key": "AKIAIOSFODNN7EXAMPLE",
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "slack-token": "xoxb-1234567890-abcdefghijklmnop",
}


@pytest.mark.parametrize("where", ["message-cut", "capture-head", "capture-tail"])
@pytest.mark.parametrize("secret", list(_SECRETS))
def test_no_cut_of_a_huge_message_leaves_part_of_a_secret_unredacted(
    secret: str, where: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A secret straddling the place where a huge message is cut (the node's 256 KiB, the spool's
    head or tail) is hidden whole: the kept part was a fragment too short for the rule that knows its
    shape, and reached the node."""
    install_template(es, index_prefix)
    token = _SECRETS[secret]
    at = {"message-cut": MESSAGE_LIMIT, "capture-head": MESSAGE_LIMIT + 16 * 1024}.get(where)
    if at is None:  # the tail the spool keeps of a 2 MB message of lines starts near its end
        text = "HUGE line\n" * 200_000
        text = text[: len(text) - 256 * 1024 - 16 * 1024 - len(token) // 2] + f" {token} " + "q\n" * 150_000
    else:
        text = "HUGE " + "w" * (at - 5 - len(token) // 2 - 1) + f" {token} " + "v" * 3_000_000
    (tmp_path / "text").write_text(text)
    script = f"""
        import logging, sys
        import shipper
        handler = shipper.install("cut", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3])
        logging.getLogger("cut").warning("%s", open({str(tmp_path / "text")!r}).read())
        assert handler.wait_delivered(60)
    """
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")], timeout=120)
    assert done.returncode == 0, done.stderr
    (doc,) = documents(es, index_prefix, {"term": {"event.dataset": schema.DATASET_LOG}})
    sent = json.dumps(doc)
    for size in (8, 12):  # no fragment of the token: neither its first nor its last characters
        assert token[:size] not in sent and token[-size:] not in sent


_FIELD_SITES = {  # where a text is cut in the document, and how a program puts a text there
    "error-message": (
        "ERROR_MESSAGE_LIMIT",
        'try:\n    raise ValueError(text)\nexcept ValueError:\n    log.exception("boom")',
    ),
    "template": ("FIELD_LIMIT", 'log.error(text + " %s", "arg")'),
    "extra": ("FIELD_LIMIT", 'log.error("with payload", extra={"payload": text})'),
    "context": ("FIELD_LIMIT", 'log.error("with context")'),
}


@pytest.mark.parametrize("offset", [2, 8, 13])
@pytest.mark.parametrize("site", list(_FIELD_SITES))
@pytest.mark.parametrize("secret", list(_SECRETS))
def test_no_cut_of_a_long_field_leaves_part_of_a_secret_unredacted(
    secret: str, site: str, offset: int, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A secret straddling the place where a long exception message (32 KiB), template, extra or
    context value (8 KiB) is cut is hidden whole: the kept fragment, too short for the rule that knows
    the secret's shape, reached the node (these texts were cut before they were redacted)."""
    install_template(es, index_prefix)
    token = _SECRETS[secret]
    limit_name, statement = _FIELD_SITES[site]
    script = f"""
        import logging, sys
        import shipper
        from shipper.formatter import {limit_name} as limit
        token = {token!r}
        text = "w" * (limit - {offset} - 1) + " " + token + " " + "v" * 40_000
        handler = shipper.install(
            "cut", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3],
            context_provider=lambda: {{"payload": text}},
        )
        log = logging.getLogger("cut")
        {statement.replace(chr(10), chr(10) + " " * 8)}
        assert handler.wait_delivered(60)
    """
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")], timeout=120)
    assert done.returncode == 0, done.stderr
    (doc,) = documents(es, index_prefix, {"term": {"event.dataset": schema.DATASET_LOG}})
    sent = json.dumps(doc)
    assert "truncated by logloop" in sent
    for size in (8, 12):
        assert token[:size] not in sent and token[-size:] not in sent


_CUT_TEXTS = {
    "ascii": "word " * 700_000,
    "lines": "a line of a long dump\n" * 200_000,
    "wide": "ü€😀 " * 400_000,  # multi-byte characters at every cut
    "surrogates": "x\ud800y " * 300_000,
    "one-token": "Q" * 3_000_000,
}


@pytest.mark.parametrize("keep_tail", [False, True], ids=["head", "head-and-tail"])
@pytest.mark.parametrize("limit", [FIELD_LIMIT, ERROR_MESSAGE_LIMIT, MESSAGE_LIMIT])
@pytest.mark.parametrize("text", list(_CUT_TEXTS.values()), ids=list(_CUT_TEXTS))
def test_a_cut_reads_only_its_kept_parts_and_a_margin(text: str, limit: int, keep_tail: bool) -> None:
    """Cutting a long text redacts only what is kept and a margin past each cut (not the whole text:
    a 3 MB message was redacted whole to keep 256 KiB), and keeps what `truncate` keeps, its marker
    giving the size of the text as logged."""
    read: list[int] = []

    def redact(part: str) -> str:
        read.append(len(part))
        return part

    cut = cut_redacted(text, limit, redact, keep_tail=keep_tail)
    assert cut == truncate(text, limit, keep_tail=keep_tail)
    assert sum(read) <= 2 * limit + 2 * 64 * 1024, read


@pytest.mark.parametrize("keep_tail", [False, True], ids=["head", "head-and-tail"])
@pytest.mark.parametrize("limit", [FIELD_LIMIT, ERROR_MESSAGE_LIMIT, MESSAGE_LIMIT])
def test_a_cut_past_text_that_redaction_removes_still_sees_a_straddling_secret(
    limit: int, keep_tail: bool
) -> None:
    """Where redaction removes much of the margin past a cut (secrets replaced by a short marker), the
    window read widens, so a secret at the window's first edge is seen whole, never kept in part."""
    secret = "SECRET" + "k" * 40

    def redact(part: str) -> str:  # removes every "~" (a secret's bulk), hides the whole secret
        return part.replace("~", "").replace(secret, "[R]")

    for edge in (4096, 8192, 32 * 1024, 64 * 1024, 128 * 1024, 256 * 1024):  # past the cut, in bytes
        # "~" up to a few bytes before `edge` past the cut, then the secret: a window that ends there
        # holds only its first characters, and (the "~" removed) the kept part would reach them.
        head = "w" * (limit // 2) + "~" * (limit - limit // 2 + edge - 10) + secret + "w" * limit
        cut = cut_redacted(head, limit, redact, keep_tail=keep_tail)
        assert "SECRET" not in cut and "kkkk" not in cut, edge
        if keep_tail:
            kept = limit - limit // 4
            tail = "w" * limit + secret + "~" * (kept - kept // 2 + edge - 10) + "w" * (kept // 2)
            cut = cut_redacted(tail, limit, redact, keep_tail=True)
            assert "SECRET" not in cut and "kkkk" not in cut, edge
