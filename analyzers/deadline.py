"""A total deadline on each call to the Elasticsearch client: from its start to its answer's last byte.

The client's `request_timeout` bounds each wait for the socket, not the request: a node (or a proxy,
or something that is not Elasticsearch) that sends its answer a byte at a time, each byte sooner than
the timeout, keeps a command waiting for as long as it likes. `Deadlined` runs each call in a daemon
thread and stops waiting when the deadline passes, raising `DeadlinePassed`, which
`analyzers.store.translated` words as a timeout naming the action. The rule a reader must not break:
the caller never waits past the deadline, whatever the thread is still doing (it is a daemon: it
ends with the drip, or with the process).

`http_status` is the same deadline on a webhook's answer (urllib's timeout is also per read).

Standard library only: the client is reached through attributes, never imported here.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Final

# The client's namespaces the store calls (`client.indices.create`): their calls get the deadline too.
_NAMESPACES: Final = frozenset({"indices", "cluster", "nodes", "ilm", "cat"})


class DeadlinePassed(Exception):
    """A client call was not over within `seconds` (its thread may still be reading a slow answer)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no whole answer within {seconds:g}s")
        self.seconds = seconds


class Deadlined:
    """`target` (a client, or one of its namespaces) whose every method call ends within `seconds`."""

    def __init__(self, target: Any, *, seconds: float) -> None:
        self._target = target
        self.deadline_seconds = seconds

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):  # (`cat.indices` is a method, `client.indices` a namespace)
            return Deadlined(value, seconds=self.deadline_seconds) if name in _NAMESPACES else value
        if name == "close":  # closing the idle connections cannot block
            return value
        if name == "options":  # a client with other options: its calls keep the deadline
            return lambda *args, **kwargs: Deadlined(value(*args, **kwargs), seconds=self.deadline_seconds)
        return lambda *args, **kwargs: within(self.deadline_seconds, value, *args, **kwargs)


def within(seconds: float, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`call(*args, **kwargs)`'s result or exception, or DeadlinePassed once `seconds` have passed."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call(*args, **kwargs)))
        except BaseException as exc:  # handed to the caller's thread, which raises it
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="logloop-es-request", daemon=True).start()
    if not done.wait(seconds):
        raise DeadlinePassed(seconds)
    answered, value = outcome[0]
    if answered:
        return value
    raise value


def http_status(request: urllib.request.Request, *, seconds: float) -> int:
    """The status of the answer to `request` (urllib's errors raised as they are), or DeadlinePassed
    when its status line and headers have not all come within `seconds`."""

    def status() -> int:
        try:
            with urllib.request.urlopen(request, timeout=seconds) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()  # an error status's answer: closed here, not by the collector in another thread
            raise

    return int(within(seconds, status))
