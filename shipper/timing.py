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

The operation is the work, not the call that starts it: a decorated coroutine function is timed
until its coroutine finishes (`async with timed(...)` works too), a generator function until its
generator is exhausted. An operation cancelled (`asyncio.CancelledError`) or a generator closed before
its end (`GeneratorExit`) failed at nothing: it is logged at `level`, outcome "unknown".
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Mapping
from contextlib import ContextDecorator
from typing import Any, ParamSpec, TypeVar, cast

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

    async def __aenter__(self) -> timed:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if not self._starts:  # an exit without its enter: nothing was timed
            return
        duration = time.perf_counter_ns() - self._starts.pop()
        stopped = _stopped(exc)
        outcome = "success" if exc is None else "unknown" if stopped else "failure"
        extra = {**self.extra, **timing_extra(self.operation, duration, outcome)}
        millis = duration / 1e6
        depth = self._stacklevel
        if exc is None:
            self.logger.log(
                self.level, "%s took %.1f ms", self.operation, millis, extra=extra, stacklevel=depth
            )
        elif stopped:
            how = "closed" if isinstance(exc, GeneratorExit) else "cancelled"
            self.logger.log(
                self.level, "%s %s after %.1f ms", self.operation, how, millis, extra=extra, stacklevel=depth
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
        if inspect.iscoroutinefunction(func):
            return cast(Callable[P, R], self._coroutine_function(func))
        if inspect.isasyncgenfunction(func):
            return cast(Callable[P, R], self._async_generator_function(func))
        if inspect.isgeneratorfunction(func):
            return cast(Callable[P, R], self._generator_function(func))

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._recreate_cm():
                return func(*args, **kwargs)

        return wrapper

    def _coroutine_function(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with self._recreate_cm():
                return await func(*args, **kwargs)

        return wrapper

    def _generator_function(
        self, func: Callable[P, Generator[Any, Any, R]]
    ) -> Callable[P, Generator[Any, Any, R]]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[Any, Any, R]:
            with self._recreate_cm():
                return (yield from func(*args, **kwargs))

        return wrapper

    def _async_generator_function(
        self, func: Callable[P, AsyncGenerator[Any, Any]]
    ) -> Callable[P, AsyncGenerator[Any, Any]]:
        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
            async with self._recreate_cm():
                generator = func(*args, **kwargs)
                try:
                    sent = None
                    while True:
                        try:
                            item = await generator.asend(sent)
                        except StopAsyncIteration:
                            return
                        sent = yield item
                finally:
                    await generator.aclose()

        return wrapper


def _stopped(exc: BaseException | None) -> bool:
    """Whether `exc` stopped the operation without its failing: a generator its consumer stopped
    reading, a task cancelled (asyncio is not imported for this: where it is not loaded, no task ran)."""
    if isinstance(exc, GeneratorExit):
        return True
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)
