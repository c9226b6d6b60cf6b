"""An in-memory transport: records what it is sent, and answers as it is told to (tests, examples).

It implements the same protocol as the Elasticsearch transport (`send` -> one `Outcome` per
document, in order; `close`), so the handler's delivery path can be exercised without a server:
documents are decoded and kept, rejections are decided per document by a predicate, and failures
(whole batches to retry, or an exception from `send`, which the sender must survive) are queued
per call. Thread-safe: the sender calls it from its own thread while a test reads it.

    transport = MemoryTransport(reject=lambda doc: doc.get("message") == "bad")
    transport.fail_next(2, reason="node restarting")   # the next two calls answer "retry"
    transport.raise_next(RuntimeError("bug"))          # the call after that raises
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shipper.spool.bulk import SpooledEvent
from shipper.transports.base import DELIVERED, Outcome, TemplateCheck, retry_all

Document = dict[str, Any]


class MemoryTransport:
    """Keeps every delivered document in `documents` (decoded `_source` plus `_index` and `_id`)."""

    def __init__(
        self,
        *,
        reject: Callable[[Mapping[str, Any]], bool] | None = None,
        reject_status: int = 400,
        reject_reason: str = "mapper_parsing_exception: rejected by the test",
    ) -> None:
        self._reject = reject
        self._reject_outcome = Outcome("rejected", reject_status, reject_reason)
        self._lock = threading.Condition()
        self._planned: deque[Outcome | BaseException] = deque()  # one entry per coming `send` call
        self.documents: list[Document] = []
        self.rejected: list[Document] = []
        self.calls = 0
        self.templates: list[str] = []  # the prefixes `ensure_template` was asked for
        self.closed = False

    def fail_next(self, calls: int = 1, *, reason: str = "unavailable", status: int = 503) -> None:
        """The next `calls` calls answer "retry" for every document (a node down, a 503)."""
        with self._lock:
            self._planned.extend([Outcome("retry", status, reason)] * calls)

    def raise_next(self, error: BaseException) -> None:
        """The next call raises `error`, as a transport with a bug would."""
        with self._lock:
            self._planned.append(error)

    def send(self, batch: Sequence[SpooledEvent], timeout: float) -> list[Outcome]:
        with self._lock:
            self.calls += 1
            planned = self._planned.popleft() if self._planned else None
        if isinstance(planned, BaseException):
            raise planned
        if planned is not None:
            return retry_all(batch, planned.reason, planned.status)
        outcomes: list[Outcome] = []
        decoded = [_decode(event) for event in batch]
        with self._lock:
            for document in decoded:
                if self._reject is not None and self._reject(document):
                    self.rejected.append(document)
                    outcomes.append(self._reject_outcome)
                else:
                    self.documents.append(document)
                    outcomes.append(DELIVERED)
            self._lock.notify_all()
        return outcomes

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Document]:
        """The delivered documents once there are at least `count` (or when `timeout` s have passed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.documents) < count and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            return list(self.documents)

    def ensure_template(self, prefix: str, timeout: float) -> TemplateCheck:
        """Nothing to install: the documents are kept here (the prefix is remembered for tests)."""
        with self._lock:
            self.templates.append(prefix)
        return TemplateCheck("not_needed")

    def close(self) -> None:
        self.closed = True


def _decode(event: SpooledEvent) -> Document:
    document: Document = json.loads(event.body)
    document["_index"] = event.index
    document["_id"] = event.event_id
    return document
