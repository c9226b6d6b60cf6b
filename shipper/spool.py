"""The durable spool: an SQLite file in WAL mode holding every document not yet acknowledged.

Documents are stored in segments: one row per batch written (at most `SEGMENT_EVENTS` documents and
about `SEGMENT_BYTES`), holding the batch as the very bytes of a `_bulk` request body (a `create`
action line, then the document, for each). A row per document cost SQLite more than everything else
the worker does for an event (an insert and a delete, each in a table and an index); a segment costs
one of each per batch, and the sender posts its bytes as they are.

A segment is written in one transaction and deleted only once the server acknowledged all of it (or
dead-lettered what it refused); a partly acknowledged segment is rewritten with what is left, in
place. So a crash at any point leaves each document either still in the spool (sent again on the next
start; duplicates are harmless, documents carry their id) or delivered. `synchronous=NORMAL` in WAL
mode survives a killed process; a power cut may lose the last transactions.

Ownership: every segment carries the pid of the process that wrote it. A process sends only its own
segments, so a forked child never sends its parent's events; segments whose owner is no longer alive
(the previous run, a child that exited) are adopted by whoever opens the spool next. Only the owner
rewrites a segment, so the `row_id` of a document taken (segment id and position) stays valid until
its owner deletes it; the overflow policy deletes whole segments, which the owner's later delete then
finds gone.

The size bound counts the database pages in use (`page_count - freelist_count`), so it also sees
segments written by other processes. When a batch does not fit, the overflow policy decides:
`drop_oldest` deletes the oldest segments, `drop_newest` refuses the incoming documents; either way
the number of documents is returned and counted as dropped. The WAL file itself is kept small by
SQLite's auto-checkpoint and is not part of the bound.

A segment is either `_bulk` lines or packed (`shipper.packing`): plain events as they were captured,
written out as lines when taken. A packed segment that cannot be read back is deleted when taken and
its documents counted as lost (`SpooledBatch.lost`).

A spool written by logloop 0.1 (one row per document, table `events`) is converted on open.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, NamedTuple, ParamSpec, TypeVar, overload

from shipper import packing
from shipper.exceptions import ConfigurationError, SpoolError, UnreadablePayload

OverflowPolicy = Literal["drop_oldest", "drop_newest"]
OVERFLOW_POLICIES: Final = ("drop_oldest", "drop_newest")
SEGMENT_EVENTS: Final = 1000  # documents per segment at most
SEGMENT_BYTES: Final = 4 * 1024 * 1024  # a segment is cut before this size (one document may exceed it)
_LARGE_SPOOL: Final = 16 * 1024 * 1024  # bytes from which the spool uses 64 KiB pages
_POSITION_BITS: Final = 32  # row_id = segment id << _POSITION_BITS | position (see Spool.delete)

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS segments ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, owner INTEGER NOT NULL,"
    " first INTEGER NOT NULL DEFAULT 0, count INTEGER NOT NULL, ndjson BLOB NOT NULL,"
    " packed INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS segments_owner ON segments (owner, id)",
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


class SpooledBatch(Sequence[SpooledEvent]):
    """What `take()` returns: `ndjson`, the `_bulk` request body that sends the documents (action
    line and document for each, in order, as the spool keeps them), and the documents themselves,
    parsed from it only when asked for (a batch the server acknowledges whole never is)."""

    def __init__(self, parts: Sequence[tuple[int, int, int, bytes]] = ()) -> None:
        # Per segment taken (whole, or its first documents): its id, the position of its first
        # document, how many documents, and their lines.
        self._parts = tuple(parts)
        self.ndjson = b"".join(lines for *_, lines in self._parts)
        self._count = sum(count for _, _, count, _ in self._parts)
        self._events: list[SpooledEvent] | None = None
        self.lost = 0  # documents of packed segments that could not be read back (deleted, not taken)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> SpooledEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[SpooledEvent]: ...
    def __getitem__(self, index: int | slice) -> SpooledEvent | list[SpooledEvent]:
        return self.events()[index]

    def events(self) -> list[SpooledEvent]:
        if self._events is None:
            self._events = [
                event
                for segment_id, first, _, lines in self._parts
                for event in _parse(segment_id, first, lines)
            ]
        return self._events

    def row_ids(self) -> list[int]:
        """What to pass to `delete()` for the whole batch (without parsing it)."""
        return [
            (segment_id << _POSITION_BITS) | position
            for segment_id, first, count, _ in self._parts
            for position in range(first, first + count)
        ]


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
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Owner-only: plain messages may wait here unredacted (README, "What sits on disk"); SQLite
            # gives its WAL and shared-memory files the database file's permissions.
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=not shared
            )
            # Large pages for a large spool: a segment then spans a few pages, not hundreds (writing and
            # freeing them is most of a segment's cost); small pages keep a small bound precise. Only a
            # new file takes it.
            self._db.execute(f"PRAGMA page_size={65536 if max_bytes >= _LARGE_SPOOL else 4096}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
            self._convert_rows_per_document()
        except (OSError, sqlite3.Error) as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot open the spool {path}: {exc}; check the directory is writable") from exc

    def _convert_rows_per_document(self) -> None:
        """Move the documents of a spool written one row per document (logloop 0.1) into segments,
        keeping their owners and order, in one transaction."""
        old = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        if self._db.execute(old).fetchone() is None:
            return
        self._db.execute("BEGIN IMMEDIATE")
        if self._db.execute(old).fetchone() is None:  # another process converted it meanwhile
            self._db.execute("ROLLBACK")
            return
        last = -1
        while rows := self._db.execute(
            "SELECT id, owner, event_id, idx, body FROM events WHERE id > ? ORDER BY id LIMIT ?",
            (last, SEGMENT_EVENTS),
        ).fetchall():
            last = rows[-1][0]
            for owner in dict.fromkeys(row[1] for row in rows):
                events = [NewEvent(row[2], row[3], bytes(row[4])) for row in rows if row[1] == owner]
                self._insert(owner, _segments(events))
        self._db.execute("DROP TABLE events")
        self._db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------------

    @_guarded
    def put(self, events: Sequence[NewEvent]) -> PutResult:
        """Store a batch in one transaction, applying the overflow policy if it does not fit."""
        if not events:
            return PutResult(0, 0)
        lines = [_lines(event) for event in events]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            dropped, keep = self._make_room([len(line) for line in lines])
            self._insert(self.owner, _segments_of_lines(lines[:keep]))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot write to the spool {self.path}: {exc}") from exc
        return PutResult(stored=keep, dropped=dropped + len(events) - keep)

    @_guarded
    def put_packed(self, segments: Sequence[tuple[int, bytes]]) -> PutResult:
        """Store packed segments ((documents, payload) from `shipper.packing.pack`) in one transaction,
        applying the overflow policy by whole segments."""
        if not segments:
            return PutResult(0, 0)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            dropped, keep = self._make_room([len(payload) for _, payload in segments])
            self._insert(self.owner, segments[:keep], packed=True)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot write to the spool {self.path}: {exc}") from exc
        stored = sum(count for count, _ in segments[:keep])
        return PutResult(stored=stored, dropped=dropped + sum(count for count, _ in segments[keep:]))

    def _insert(self, owner: int, segments: Sequence[tuple[int, bytes]], *, packed: bool = False) -> None:
        self._db.executemany(
            "INSERT INTO segments (owner, count, ndjson, packed) VALUES (?, ?, ?, ?)",
            [(owner, count, ndjson, int(packed)) for count, ndjson in segments],
        )

    def _used_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * self._page_size

    def _make_room(self, incoming: list[int]) -> tuple[int, int]:
        """Returns (old documents deleted to make room, how many of the incoming ones to keep)."""
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
        """Delete the oldest segments (of any owner) holding at least `excess` bytes: (documents, bytes)."""
        rows = self._db.execute("SELECT id, count, length(ndjson) FROM segments ORDER BY id")
        freed, cutoff, count = 0, None, 0
        for segment_id, documents, size in rows:
            freed += size
            cutoff, count = segment_id, count + documents
            if freed >= excess:
                break
        rows.close()
        if cutoff is None:
            return 0, 0
        self._db.execute("DELETE FROM segments WHERE id <= ?", (cutoff,))
        return count, freed

    # -- reading and acknowledging ---------------------------------------------------------------

    @_guarded
    def take(self, limit: int, max_bytes: int) -> SpooledBatch:
        """The oldest documents of this owner, at most `limit` of them and about `max_bytes` of request
        body (at least one document, however large)."""
        parts: list[tuple[int, int, int, bytes]] = []
        taken = total = lost = 0
        unreadable: list[int] = []
        try:
            cursor = self._db.execute(
                "SELECT id, first, count, ndjson, packed FROM segments WHERE owner = ? ORDER BY id",
                (self.owner,),
            )
            for segment_id, first, count, ndjson, packed in cursor:  # BLOBs come back as bytes: no copy
                if packed:
                    ndjson = _expanded(count, ndjson)
                    if ndjson is None:
                        unreadable.append(segment_id)
                        lost += count
                        continue
                if taken + count <= limit and total + len(ndjson) <= max_bytes:
                    parts.append((segment_id, first, count, ndjson))
                    taken, total = taken + count, total + len(ndjson)
                    if taken < limit and total < max_bytes:
                        continue
                    break
                head, size = _prefix(ndjson, limit - taken, max_bytes - total, at_least_one=not parts)
                if head:
                    parts.append((segment_id, first, head, ndjson[:size]))
                break
            cursor.close()
            self._db.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in unreadable])
        except sqlite3.Error as exc:
            raise SpoolError(f"cannot read the spool {self.path}: {exc}") from exc
        batch = SpooledBatch(parts)
        batch.lost = lost
        return batch

    @_guarded
    def delete(self, row_ids: Sequence[int]) -> None:
        """Forget acknowledged (or dead-lettered) documents, in one transaction.

        A row id is its segment and its position there. A segment acknowledged from its start keeps
        the positions of the rest; one with gaps left (documents to retry between acknowledged ones) is
        rewritten in place with the rest renumbered past every position given out before. So ids taken
        earlier (by a second sender of the same process, say) never name another document.
        """
        if not row_ids:
            return
        by_segment: dict[int, set[int]] = {}
        mask = (1 << _POSITION_BITS) - 1
        for row_id in row_ids:
            by_segment.setdefault(row_id >> _POSITION_BITS, set()).add(row_id & mask)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for segment_id, positions in by_segment.items():
                low, high = min(positions), max(positions)
                if high - low + 1 == len(positions):  # a run: the whole segment in the usual case
                    whole = self._db.execute(
                        "DELETE FROM segments WHERE id = ? AND first = ? AND count = ?",
                        (segment_id, low, len(positions)),
                    )
                    if whole.rowcount:
                        continue
                self._keep_rest(segment_id, positions)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback_quietly()
            raise SpoolError(f"cannot delete from the spool {self.path}: {exc}") from exc

    def _keep_rest(self, segment_id: int, positions: set[int]) -> None:
        found = self._db.execute(
            "SELECT first, count, ndjson, packed FROM segments WHERE id = ?", (segment_id,)
        ).fetchone()
        if found is None:  # gone: dropped by the overflow policy, or acknowledged already
            return
        first, count, ndjson, packed = found
        if packed:
            ndjson = _expanded(count, ndjson)
            if ndjson is None:  # it was read when taken: it cannot have become unreadable since
                return
        events = _parse(segment_id, first, ndjson)
        gone = {
            n for n, event in enumerate(events) if event.row_id & ((1 << _POSITION_BITS) - 1) in positions
        }
        if not gone:
            return
        if len(gone) == count:
            self._db.execute("DELETE FROM segments WHERE id = ?", (segment_id,))
        elif gone == set(range(len(gone))):  # acknowledged from the start: cut, positions kept
            cut = _prefix(ndjson, len(gone), len(ndjson), at_least_one=True)[1]
            self._db.execute(
                "UPDATE segments SET first = ?, count = ?, ndjson = ?, packed = 0 WHERE id = ?",
                (first + len(gone), count - len(gone), ndjson[cut:], segment_id),
            )
        else:
            rest = b"".join(
                _lines(NewEvent(e.event_id, e.index, e.body)) for n, e in enumerate(events) if n not in gone
            )
            self._db.execute(
                "UPDATE segments SET first = ?, count = ?, ndjson = ?, packed = 0 WHERE id = ?",
                (first + count, count - len(gone), rest, segment_id),
            )

    @_guarded
    def backlog(self) -> int:
        """How many documents wait in the spool file (every owner)."""
        return int(self._db.execute("SELECT coalesce(sum(count), 0) FROM segments").fetchone()[0])

    @_guarded
    def owned(self) -> int:
        """How many documents of this owner wait to be sent."""
        return int(
            self._db.execute(
                "SELECT coalesce(sum(count), 0) FROM segments WHERE owner = ?", (self.owner,)
            ).fetchone()[0]
        )

    @_guarded
    def adopt_orphans(self) -> int:
        """Take over the documents of owners that are no longer running; returns how many."""
        owners = [o for (o,) in self._db.execute("SELECT DISTINCT owner FROM segments") if o != self.owner]
        adopted = 0
        for owner in owners:
            if _pid_alive(owner):
                continue
            documents = self._db.execute(
                "SELECT coalesce(sum(count), 0) FROM segments WHERE owner = ?", (owner,)
            ).fetchone()[0]
            self._db.execute("UPDATE segments SET owner = ? WHERE owner = ?", (self.owner, owner))
            adopted += int(documents)
        return adopted

    @_guarded
    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()

    def _rollback_quietly(self) -> None:
        with contextlib.suppress(sqlite3.Error, AttributeError):
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")


# -- the segment format: the `_bulk` body itself ------------------------------------------------------

_SAFE: Final = re.compile(r"[\w.+-]*")  # index names and ids that need no JSON escaping
_ACTION_HEAD: Final = b'{"create":{"_index":"'
_ACTION_MIDDLE: Final = b'","_id":"'
_ACTION_TAIL: Final = b'"}}'


def _lines(event: NewEvent) -> bytes:
    return bulk_lines(event.event_id, event.index, event.body)


def bulk_lines(event_id: str, index: str, body: bytes, tail: bytes = b"") -> bytes:
    """One document's two lines of a `_bulk` body: its `create` action, then the document (`body`
    followed by `tail`: the worker passes a document in two parts to save a copy)."""
    head = _action_heads.get(index)
    if head is None:
        head = _action_head(index)
    if b"\n" in body or b"\n" in tail:  # in valid JSON a raw newline is whitespace between tokens
        body, tail = body.replace(b"\n", b" "), tail.replace(b"\n", b" ")
    if head and event_id.isascii() and (event_id.isalnum() or _SAFE.fullmatch(event_id)):
        return b"".join((head, event_id.encode(), b'"}}\n', body, tail, b"\n"))
    action = json.dumps({"create": {"_index": index, "_id": event_id}}, separators=(",", ":"))
    return b"".join((action.encode(), b"\n", body, tail, b"\n"))


def _action_head(index: str) -> bytes:
    """`{"create":{"_index":"<index>","_id":"` for an index name that needs no escaping, else b""."""
    head = b"".join((_ACTION_HEAD, index.encode(), _ACTION_MIDDLE)) if _SAFE.fullmatch(index) else b""
    if len(_action_heads) >= 64:  # one index a day per prefix: a handful at a time
        _action_heads.clear()
    _action_heads[index] = head
    return head


_action_heads: dict[str, bytes] = {}


def _expanded(count: int, payload: bytes) -> bytes | None:
    """A packed segment's `_bulk` lines; None if it cannot be read back."""
    try:
        lines = packing.expand(payload)
    except UnreadablePayload:
        return None
    return b"".join(lines) if len(lines) == count else None


def _segments(events: Sequence[NewEvent]) -> list[tuple[int, bytes]]:
    return _segments_of_lines([_lines(event) for event in events])


def _segments_of_lines(lines: Sequence[bytes]) -> list[tuple[int, bytes]]:
    """Documents' lines cut into segments: (count, ndjson) of at most SEGMENT_EVENTS documents and,
    unless one document alone is larger, SEGMENT_BYTES."""
    segments: list[tuple[int, bytes]] = []
    start = size = 0
    for end, line in enumerate(lines):
        if end > start and (end - start >= SEGMENT_EVENTS or size + len(line) > SEGMENT_BYTES):
            segments.append((end - start, b"".join(lines[start:end])))
            start, size = end, 0
        size += len(line)
    if start < len(lines):
        segments.append((len(lines) - start, b"".join(lines[start:])))
    return segments


def _parse(segment_id: int, first: int, ndjson: bytes) -> list[SpooledEvent]:
    """The documents of a segment's lines, each with its row id (the first at position `first`)."""
    base = (segment_id << _POSITION_BITS) + first
    lines = ndjson.split(b"\n")
    events: list[SpooledEvent] = []
    for n in range(len(lines) // 2):
        index, event_id = _action(lines[2 * n])
        events.append(SpooledEvent(base + n, event_id, index, lines[2 * n + 1]))
    return events


def _prefix(ndjson: bytes, limit: int, max_bytes: int, *, at_least_one: bool) -> tuple[int, int]:
    """How many of a segment's first documents fit in `limit` and `max_bytes` (one at least if
    `at_least_one`), and how many bytes of its lines they take."""
    count = used = 0
    while count < limit:
        end = ndjson.find(b"\n", ndjson.find(b"\n", used) + 1)  # the end of the document's line
        if end < 0:
            break
        if end + 1 > max_bytes and (count or not at_least_one):
            break
        count, used = count + 1, end + 1
    return count, used


def _action(line: bytes) -> tuple[str, str]:
    """(index, id) of a `create` action line."""
    if line.startswith(_ACTION_HEAD) and line.endswith(_ACTION_TAIL) and b"\\" not in line:
        middle = line.find(_ACTION_MIDDLE, len(_ACTION_HEAD))
        if middle > 0:
            index = line[len(_ACTION_HEAD) : middle]
            event_id = line[middle + len(_ACTION_MIDDLE) : -len(_ACTION_TAIL)]
            if b'"' not in index and b'"' not in event_id:
                return index.decode(), event_id.decode()
    action = json.loads(line)["create"]
    return str(action["_index"]), str(action["_id"])
