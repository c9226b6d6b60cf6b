"""The shipper's own diagnostics: a non-propagating logger, rate-limited per message key.

Records of this logger are never shipped (the handler skips `logloop.shipper*` loggers), so a
delivery problem cannot feed itself.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from typing import Final

from shipper import reentry

INTERNAL_LOGGER: Final = "logloop.shipper.internal"


class RateLimitedLog:
    """One message per key per interval on the internal logger (or stderr when nothing handles it)."""

    def __init__(self, interval: float = 60.0) -> None:
        self._logger = logging.getLogger(INTERNAL_LOGGER)
        self._logger.propagate = False
        self._interval = interval
        self._last: dict[str, float] = {}

    def warning(self, key: str, message: str, *args: object) -> None:
        """Say it, unless said under `key` within the interval; never raises: the program's `sys.stderr`
        (where logging's lastResort prints it) may be closed, replaced by an object whose `write`
        raises, or a handler the program put on this logger may fail, and this is called from
        `emit()`, whose caller is the program's logging call (a ValueError of a closed stderr
        escaped logging's own error handling, which catches OSError only, into the program)."""
        now = time.monotonic()
        if now - self._last.get(key, -self._interval) >= self._interval:
            self._last[key] = now
            # (nowhere to say it: the counters still count what it was about)
            with reentry.suppress(Exception):
                self._logger.warning(message, *args)  # logging's lastResort prints it on stderr


def unreachable(exc: OSError, where: object) -> str:
    """One line for a spool file or process the shipper may not touch (a permission changed under a
    running program, a directory or lock of another user): which, why, and what to do. A bare
    `PermissionError(13, 'Permission denied')` named neither the file nor the fix."""
    target = exc.filename if exc.filename is not None else where
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"logloop shipper: no permission for {target} ({exc.strerror}): give user {os.getuid()} read"
            f" and write access to {where} and its files, or set spool_path to a directory of its own;"
            " records wait meanwhile"
        )
    return f"logloop shipper: cannot use {target} ({exc.strerror or exc}); records wait meanwhile"
