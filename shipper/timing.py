"""Timed operations: one log record per operation, carrying `event.action` and `event.duration`.

    with timed("service.start", logger=log):
        start(service)

    @timed("health.check")
    def check(): ...

On exit the record is logged at `level` (INFO) with the record attributes the formatter maps
(plus any `extra=` given, which lands under the document's `extra`): `event.action` = the
operation name, `event.duration` = the elapsed time in nanoseconds (`time.perf_counter_ns`) and
`event.outcome` = "success" or "failure". If the block raises, the record is logged at ERROR with
the exception (`exc_info`) and the exception is re-raised unchanged; `exc_info=False` logs the
failure at `level` with only the exception's type and message in the text, for programs that log
the exception themselves further up and do not want it twice.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ContextDecorator
from typing import Any, ParamSpec, TypeVar

from shipper.formatter import ACTION_ATTR, DURATION_ATTR, OUTCOME_ATTR, exception_message

P = ParamSpec("P")
R = TypeVar("R")

_DEFAULT_LOGGER = logging.getLogger("logloop.timing")


def timing_extra(operation: str, duration_ns: int, outcome: str | None = None) -> dict[str, Any]:
    """The `extra=` mapping that makes a record a timed-operation event (`outcome`: "success" or
    "failure", ECS's `event.outcome`, what the digest tells slow failures from slow successes by)."""
    extra: dict[str, Any] = {ACTION_ATTR: operation, DURATION_ATTR: duration_ns}
    if outcome is not None:
        extra[OUTCOME_ATTR] = outcome
    return extra


class timed(ContextDecorator):  # lower case: used like the function it reads as
    """Context manager and decorator that logs how long an operation took (see the module doc).

    Args:
        operation: the operation's name, shipped as `event.action` (what the digest groups by).
        logger: where the record goes (default: the `logloop.timing` logger).
        level: the level of the record of a successful operation (INFO).
        exc_info: when the block raises, log at ERROR with the traceback (True) or at `level` with
            the exception's type and message only (False); the exception is re-raised either way.
        extra: further fields for the record, kept under the document's `extra`.
    """

    def __init__(
        self,
        operation: str,
        *,
        logger: logging.Logger | None = None,
        level: int = logging.INFO,
        exc_info: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.operation = operation
        self.extra = dict(extra or {})
        self._stacklevel = 2  # log.origin: the frame running the `with` block
        self.logger = logger or _DEFAULT_LOGGER
        self.level = level
        self.exc_info = exc_info
        self._starts: list[int] = []  # a stack, so one instance can be re-entered (recursion)

    def __enter__(self) -> timed:
        self._starts.append(time.perf_counter_ns())
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        duration = time.perf_counter_ns() - self._starts.pop()
        extra = {
            **self.extra,
            **timing_extra(self.operation, duration, "success" if exc is None else "failure"),
        }
        millis = duration / 1e6
        depth = self._stacklevel
        if exc is None:
            self.logger.log(
                self.level, "%s took %.1f ms", self.operation, millis, extra=extra, stacklevel=depth
            )
        elif self.exc_info:
            self.logger.error(
                "%s failed after %.1f ms", self.operation, millis, exc_info=exc, extra=extra, stacklevel=depth
            )
        else:
            self.logger.log(
                self.level,
                "%s failed after %.1f ms: %s: %s",
                self.operation,
                millis,
                type(exc).__name__,
                exception_message(exc),
                extra=extra,
                stacklevel=depth,
            )

    def _recreate_cm(self) -> timed:
        # A fresh instance per call: a decorated function may run in many threads at once.
        fresh = timed(
            self.operation, logger=self.logger, level=self.level, exc_info=self.exc_info, extra=self.extra
        )
        fresh._stacklevel = 3  # log.origin: the caller of the decorated function, not the wrapper
        return fresh

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:  # type: ignore[override]
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._recreate_cm():
                return func(*args, **kwargs)

        return wrapper
