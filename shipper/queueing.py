"""A `QueueHandler` in front of the shipper: the logging template kept through its `prepare()`.

`logging.handlers.QueueHandler.prepare` formats each record into its message and sets `msg` to that
text and `args` to None before it queues the record, so the handler behind the `QueueListener` sees no
template (`user %s not found`), only one message per value (`user alice not found`): an error event
without traceback is then grouped by its masked text, and a value the masking does not recognise (a
name) splits the group. `KeepTemplate` is a filter for the QueueHandler: filters run before `prepare()`,
and the record's copy keeps the attribute it sets, which the formatter reads as the template.

    queue_handler = logging.handlers.QueueHandler(q)
    queue_handler.addFilter(shipper.KeepTemplate())

The one rule: it only adds an attribute (it never drops or changes a record), and costs a dict write.
"""

from __future__ import annotations

import logging
from typing import Final

TEMPLATE_ATTR: Final = "_logloop_template"  # not shipped as an extra: the formatter skips "_logloop" keys


class KeepTemplate(logging.Filter):
    """Keeps each record's logging template (`record.msg`, when a string) in an attribute that a
    QueueHandler's `prepare()` leaves as it is; passes every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and TEMPLATE_ATTR not in record.__dict__:
            record.__dict__[TEMPLATE_ATTR] = record.msg
        return True
