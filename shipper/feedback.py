"""User feedback as events: `event.dataset: logloop.feedback`, `logloop.feedback.kind` bug|feature|usability.

A feedback event is an ordinary log record on the `logloop.feedback` logger whose `logloop_feedback`
attribute the formatter maps (see `shipper.formatter`), so it travels the same durable path as
every other event: the installed handler's queue, spool, retries and dead-letter file.

    feedback("the restart button does nothing", kind="bug", user="ana")

The record is handed to the logger's handlers directly (`Logger.handle`), so a root logger set to
WARNING does not silence feedback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Final

from shipper.exceptions import ConfigurationError
from shipper.formatter import FEEDBACK_ATTR, EcsFormatter
from shipper.schema import FEEDBACK_KINDS

FEEDBACK_LOGGER: Final = "logloop.feedback"


def validate_kind(kind: str) -> str:
    """The kind, or ConfigurationError naming the allowed kinds."""
    if kind not in FEEDBACK_KINDS:
        raise ConfigurationError(f"feedback kind {kind!r} is not one of: {', '.join(FEEDBACK_KINDS)}")
    return kind


def feedback_record(
    text: str,
    *,
    kind: str,
    service: str | None = None,
    user: str | None = None,
    extra: Mapping[str, Any] | None = None,
    stacklevel: int = 1,
) -> logging.LogRecord:
    """The log record that the formatter turns into a feedback document.

    `log.origin` is the caller's frame, or the one `stacklevel - 1` frames further up.
    """
    payload: dict[str, Any] = {"kind": validate_kind(kind)}
    if service:
        payload["service"] = service
    if user:
        payload["user"] = user
    if extra:
        payload["extra"] = dict(extra)
    caller = sys._getframe(stacklevel)
    logger = logging.getLogger(FEEDBACK_LOGGER)
    return logger.makeRecord(
        logger.name,
        logging.INFO,
        caller.f_code.co_filename,
        caller.f_lineno,
        "%s",
        (text,),
        None,
        func=caller.f_code.co_name,
        extra={FEEDBACK_ATTR: payload},
    )


def feedback_event(
    text: str,
    *,
    kind: str,
    service: str,
    user: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ECS feedback document (without `event.id`), as the handler would ship it."""
    record = feedback_record(text, kind=kind, service=service, user=user, extra=extra, stacklevel=2)
    return EcsFormatter(service_name=service).to_document(record)


def feedback(
    text: str,
    *,
    kind: str,
    service: str | None = None,
    user: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Ship a feedback event through the installed handler (the same durable path as logs).

    Args:
        text: the feedback in the user's words (the document's `message`, redacted like any log).
        kind: one of `shipper.schema.FEEDBACK_KINDS` ("bug", "feature", "usability").
        service: the service it is about; defaults to the handler's own service name.
        user: who gives it (kept under `extra`).
        extra: further fields, kept under the document's `extra`.

    Raises ConfigurationError for a bad kind, or when no handler would receive the event (call
    `shipper.install(...)` first).
    """
    record = feedback_record(text, kind=kind, service=service, user=user, extra=extra, stacklevel=2)
    logger = logging.getLogger(FEEDBACK_LOGGER)
    if not logger.hasHandlers():
        raise ConfigurationError(
            "no logging handler would ship this feedback: call shipper.install(...) first"
        )
    logger.handle(record)
