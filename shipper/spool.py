"""The durable spool: an SQLite file in WAL mode holding every document not yet acknowledged.

Rows are written in one transaction per batch and deleted only once the server acknowledged
them (or they were dead-lettered), so a crash at any point leaves each document either still in
the spool (sent again on the next start; duplicates are harmless, documents carry their id) or
delivered. `synchronous=NORMAL` in WAL mode survives a killed process; a power cut may lose the
last transactions.

Ownership: every row carries the pid of the process that wrote it. A process sends only its own
rows, so a forked child never sends its parent's events; rows whose owner is no longer alive
(the previous run, a child that exited) are adopted by whoever opens the spool next.

The size bound counts the database pages in use (`page_count - freelist_count`), so it also sees
rows written by other processes. When a batch does not fit, the overflow policy decides:
`drop_oldest` deletes the oldest rows, `drop_newest` refuses the incoming ones; either way the
number is returned and counted as dropped. The WAL file itself is kept small by SQLite's
auto-checkpoint and is not part of the bound.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, NamedTuple, ParamSpec, TypeVar

from shipper.exceptions import ConfigurationError, SpoolError

OverflowPolicy = Literal["drop_oldest", "drop_newest"]
OVERFLOW_POLICIES: Final = ("drop_oldest", "drop_newest")
_ROW_OVERHEAD: Final = 64  # bytes of ids, index name and b-tree bookkeeping per row, roughly

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, event_id TEXT NOT NULL,"
    " idx TEXT NOT NULL, body BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_owner ON events (owner, id)",
)


# Fork safety: SQLite's global mutexes must not be held by another thread at fork() time, or every
# SQLite call in the child deadlocks. Every Spool call is inside the guard, and fork() waits until no
# call is. The guard is shared: the drainer's and the sender's connections work at the same time
# (SQLite serializes their writes itself, without holding the GIL); only fork() excludes them.
class _ForkGuard:
    """Shared for Spool calls, exclusive for fork(): `with guard:` around a call, `exclusive()` before
    fork and `release_exclusive()` after it, in the parent."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        self._forking = False

    def __enter__(self) -> None:
        with self._cond:
            while self._forking:
                self._cond.wait()
            self._active += 1

    def __exit__(self, *_: object) -> None:
        with self._cond:
            self._active -= 1
            if not self._active and self._forking:
                self._cond.notify_all()

    def exclusive(self) -> None:
        """Wait until no Spool call runs, and keep new ones out (the lock stays held until release)."""
        self._cond.acquire()
        self._forking = True
        while self._active:
            self._cond.wait()

    def release_exclusive(self) -> None:
        self._forking = False
        self._cond.notify_all()
        self._cond.release()


_fork_guard = _ForkGuard()


def _reset_fork_guard() -> None:
    global _fork_guard
    _fork_guard = _ForkGuard()  # the child's only thread: nothing runs inside the guard


def _acquire_fork_guard() -> None:
    _fork_guard.exclusive()


def _release_fork_guard() -> None:
    _fork_guard.release_exclusive()


os.register_at_fork(
    before=_acquire_fork_guard, after_in_parent=_release_fork_guard, after_in_child=_reset_fork_guard
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(method: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(method)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _fork_guard:
            return method(*args, **kwargs)

    return call


class NewEvent(NamedTuple):
    """A document on its way into the spool (a tuple: one is made per event)."""

    event_id: str
    index: str  # type: ignore[assignment]  # the field hides tuple.index(), which nothing here uses
    body: bytes


class SpooledEvent(NamedTuple):
    """A document read back from the spool; `row_id` is what to delete once acknowledged (a tuple:
    one is made per row read)."""

    row_id: int
    event_id: str
    index: str  # type: ignore[assignment]  # the field hides tuple.index(), which nothing here uses
    body: bytes


@dataclass(frozen=True, slots=True)
class PutResult:
    stored: int
    dropped: int


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """One SQLite connection to the spool file; use it from one thread (or guard it with a lock)."""

    @_guarded
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        overflow: OverflowPolicy = "drop_oldest",
        owner: int | None = None,
        busy_timeout: float = 1.0,
        shared: bool = False,
    ) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ConfigurationError(f"spool overflow policy {overflow!r} must be one of {OVERFLOW_POLICIES}")
        if max_bytes < 64 * 1024:
            raise ConfigurationError(f"spool_max_bytes={max_bytes} is too small: use at least 65536")
        self.path = path
        self.max_bytes = max_bytes
        self.overflow = overflow
        self.owner = os.getpid() if owner is None else owner
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=not shared
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"cannot open the spool {path}: {exc}; check the directory is writable") from exc

    # -- writing ---------------------------------------------------------------------------------

    @_guarded
    def put(self, events: Sequence[NewEvent]) -> PutResult:
        """Store a batch in one transaction, applying the overflow policy if it does not fit."""
        if not events:
            return PutResult(0, 0)
        incoming = [_row_size(e) for e in events]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            dropped, keep = self._make_room(incoming)
            self._db.executemany(
                "INSERT INTO events (owner, event_id, idx, body) VALUES (?, ?, ?, ?)",
                [(self.owner, e.event_id, e.index, e.body) for e in events[:keep]],
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot write to the spool {self.path}: {exc}") from exc
        return PutResult(stored=keep, dropped=dropped + len(events) - keep)

    def _used_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * self._page_size

    def _make_room(self, incoming: list[int]) -> tuple[int, int]:
        """Returns (old rows deleted to make room, how many of the incoming rows to keep)."""
        used = self._used_bytes()
        excess = used + sum(incoming) - self.max_bytes
        if excess <= 0:
            return 0, len(incoming)
        deleted, freed = self._drop_oldest(excess) if self.overflow == "drop_oldest" else (0, 0)
        room = self.max_bytes - used + freed
        keep = 0
        for size in incoming:
            if size > room:
                break
            room -= size
            keep += 1
        return deleted, keep

    def _drop_oldest(self, excess: int) -> tuple[int, int]:
        rows = self._db.execute("SELECT id, length(body) + ? FROM events ORDER BY id", (_ROW_OVERHEAD,))
        freed, cutoff, count = 0, None, 0
        for row_id, size in rows:
            freed += size
            cutoff, count = row_id, count + 1
            if freed >= excess:
                break
        rows.close()
        if cutoff is None:
            return 0, 0
        self._db.execute("DELETE FROM events WHERE id <= ?", (cutoff,))
        return count, freed

    # -- reading and acknowledging ---------------------------------------------------------------

    @_guarded
    def take(self, limit: int, max_bytes: int) -> list[SpooledEvent]:
        """The oldest rows of this owner, at most `limit` of them and about `max_bytes` in total."""
        try:
            cursor = self._db.execute(
                "SELECT id, event_id, idx, body FROM events WHERE owner = ? ORDER BY id LIMIT ?",
                (self.owner, limit),
            )
            batch: list[SpooledEvent] = []
            total = 0
            for row in cursor:  # BLOBs come back as bytes: kept as they are, no copy
                total += len(row[3])
                if batch and total > max_bytes:
                    break
                batch.append(SpooledEvent._make(row))
            cursor.close()
            return batch
        except sqlite3.Error as exc:
            raise SpoolError(f"cannot read the spool {self.path}: {exc}") from exc

    @_guarded
    def delete(self, row_ids: Sequence[int]) -> None:
        """Forget acknowledged (or dead-lettered) rows, in one transaction."""
        if not row_ids:
            return
        runs = _runs(row_ids)
        try:
            if len(runs) == 1:  # the usual case, a batch acknowledged whole: one statement is atomic
                self._db.execute("DELETE FROM events WHERE id BETWEEN ? AND ?", runs[0])
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM events WHERE id BETWEEN ? AND ?", runs)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot delete from the spool {self.path}: {exc}") from exc

    @_guarded
    def backlog(self) -> int:
        """How many documents wait in the spool file (every owner)."""
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])

    @_guarded
    def owned(self) -> int:
        """How many rows of this owner wait to be sent."""
        return int(
            self._db.execute("SELECT count(*) FROM events WHERE owner = ?", (self.owner,)).fetchone()[0]
        )

    @_guarded
    def adopt_orphans(self) -> int:
        """Take over the rows of owners that are no longer running; returns how many rows."""
        owners = [o for (o,) in self._db.execute("SELECT DISTINCT owner FROM events") if o != self.owner]
        dead = [o for o in owners if not _pid_alive(o)]
        adopted = 0
        for owner in dead:
            cursor = self._db.execute("UPDATE events SET owner = ? WHERE owner = ?", (self.owner, owner))
            adopted += cursor.rowcount
        return adopted

    @_guarded
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")


def _row_size(event: NewEvent) -> int:
    return len(event.body) + _ROW_OVERHEAD


def _runs(row_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Row ids as (first, last) runs of consecutive ids: a batch acknowledged whole is one range."""
    ordered = sorted(row_ids)
    runs: list[tuple[int, int]] = []
    first = last = ordered[0]
    for row_id in ordered[1:]:
        if row_id != last + 1:
            runs.append((first, last))
            first = row_id
        last = row_id
    runs.append((first, last))
    return runs
