"""A secret announced by one log record and held by the next (a program that logs a child's output line by
line): real `logging` records through the real formatter, as the delivery agent builds documents."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator

import pytest

from shipper.delivery.documents import Documents
from shipper.formatter import EcsFormatter
from shipper.redaction import REDACTED
from shipper.spool import records

_OUTPUT = """Jenkins initial setup is required. An admin user has been created and a password generated.
Please use the following password to proceed to installation:

8f2c4c5e6a3b4d1e9f7a6b5c4d3e2f1a

This may also be found at: /var/jenkins_home/secrets/initialAdminPassword
$ vault kv get -field=password secret/db
V4ultField!Pw
$ argocd admin initial-password -n argocd
Arg0Init!Pw
Your new API token is:
tk_9f8e7d6c5b4a3210abcdef
Token:
expired
build finished
Done42x"""
_SECRETS = ("8f2c4c5e6a3b4d1e9f7a6b5c4d3e2f1a", "V4ultField!Pw", "Arg0Init!Pw", "tk_9f8e7d6c5b4a3210abcdef")


class _Documents(logging.Handler):
    """Keeps the message of the document the formatter builds for each record."""

    def __init__(self, formatter: EcsFormatter) -> None:
        super().__init__()
        self.formatter_ = formatter
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.formatter_.to_document(record)["message"])


@pytest.fixture
def documents() -> Iterator[_Documents]:
    handler = _Documents(EcsFormatter(service_name="svcmgr"))
    loggers = [logging.getLogger(name) for name in ("svcmgr.child", "svcmgr.web")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_a_value_announced_by_the_record_before_is_hidden(documents: _Documents) -> None:
    """Each line of a child's output logged as a record of its own, another logger's records between:
    the value below a label (across a blank record) or below a command that prints a secret is hidden,
    a status below a label and the lines that announce nothing stay."""
    lines = _OUTPUT.splitlines()
    for line in lines:
        logging.getLogger("svcmgr.child").info("%s", line)
        logging.getLogger("svcmgr.web").info("GET /health 200")
    child = documents.messages[::2]
    assert not any(secret in message for secret in _SECRETS for message in child), child
    kept = [line for line in lines if line not in _SECRETS]
    assert [message for message in child if message != REDACTED] == kept
    assert child.count(REDACTED) == len(_SECRETS)
    assert set(documents.messages[1::2]) == {"GET /health 200"}


def test_another_stream_or_a_later_record_is_not_read_after_the_label(documents: _Documents) -> None:
    """The value logged by another logger, or by the same logger after a record that announces nothing,
    is not read after the label (a stream's line serves its next record only)."""
    logging.getLogger("svcmgr.child").info("Your new API token is:")
    logging.getLogger("svcmgr.web").info("Gx7Kq2Lm9Rt4Wp8Z")
    logging.getLogger("svcmgr.child").info("build finished")
    logging.getLogger("svcmgr.child").info("Hy6Jp1Kn8Qs3Vo7Y")
    assert documents.messages[1] == "Gx7Kq2Lm9Rt4Wp8Z"
    assert documents.messages[3] == "Hy6Jp1Kn8Qs3Vo7Y"


def test_each_thread_is_a_stream_of_its_own(documents: _Documents) -> None:
    """A label logged on one thread and a value on another stay apart; the value logged next on the
    label's own thread is hidden."""
    logger = logging.getLogger("svcmgr.child")
    logger.info("Your new API token is:")
    other = threading.Thread(target=logger.info, args=("Jw5Lr2Mt9Pk4Xs7B",))
    other.start()
    other.join()
    logger.info("Nc3Vb8Zx1Qw6Er9T")
    assert documents.messages[1:] == ["Jw5Lr2Mt9Pk4Xs7B", REDACTED]


def test_the_delivery_agent_hides_it_on_its_lean_path_too() -> None:
    """The agent's documents of plain records (the lean path, which builds INFO lines without the
    formatter) hide the announced value as the formatter does, and stay byte for byte the lean path's
    for the records that announce nothing."""
    documents = Documents("svcmgr")
    program = {"service": "svcmgr", "pid": 1, "host": {"name": "h"}, "process_name": "p", "args": []}
    messages = []
    for number, line in enumerate(_OUTPUT.splitlines()):
        record = logging.LogRecord("svcmgr.child", logging.INFO, __file__, number, "%s", (line,), None)
        plain = records.encode_plain(record)
        assert plain is not None
        kind, fields = records.decode(plain)
        assert kind == records.PLAIN
        _, body = documents.plain(fields, program, f"{number:032d}")
        messages.append(json.loads(body)["message"])
    assert not any(secret in message for secret in _SECRETS for message in messages), messages
    assert messages.count(REDACTED) == len(_SECRETS)
