"""The delivery agent: reads every segment of one spool directory, sends, retries, dead-letters.

One agent per spool directory: it holds `agent.lock` (flock) while it runs; a second one started
meanwhile exits at once (or, if it carries other settings, waits for the first to be replaced).
It is started on demand by the first program that logs (`shipper.delivery.launcher`: settings and
credentials on its standard input, never in argv; then at a lower CPU priority, nice 10), or runs as a
thread of the program (`delivery="thread"`), and exits after `idle_exit` seconds with nothing to
send. An agent process also exits once delivery has failed for `unreachable_exit` seconds while no
program writes to the directory (no live writer holds a segment): a script's agent must not retry for
ever after the script is gone. It leaves every record it could not deliver in the spool, says so in
agent.json (`given_up`) and agent.log, and the next program's agent sends them (a thread of a program
never gives up: its program is there).

A pass of the loop is made of small steps:

    look      list the segments, map new ones, forget deleted ones
    read      frames after each segment's read position -> documents (`shipper.delivery.documents`)
    send      one `_bulk` request: due retries first, then new documents (`shipper.delivery.sender`)
    settle    acknowledged and dead-lettered documents are finished; retries wait for their index
    record    the acknowledgement file of every segment that moved (`shipper.spool.layout.Ack`)
    finish    a sealed segment, or one whose writer died, read to its end and all finished: deleted

A retry waits per index (capped exponential backoff with jitter), so documents for a blocked index
(read-only, red, over the shard limit) never hold back those for healthy ones. Nothing is held only
in memory: a killed agent's successor resumes from the acknowledgement files and sends again what
was not recorded, under the same event ids (the server refuses the copies, counted as sent once).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from shipper import deadletter, descriptors, lazy_regex, schema
from shipper.delivery import documents, ledger, lock
from shipper.delivery.config import AgentConfig
from shipper.delivery.documents import Documents
from shipper.diagnostics import RateLimitedLog
from shipper.exceptions import UnreadablePayload
from shipper.formatter import usable_time
from shipper.spool import layout, records, segment
from shipper.spool.bulk import SpooledEvent
from shipper.transports import TransportSpec
from shipper.transports.base import SHARD_LIMIT, Outcome, Transport

_LIVENESS_EVERY: Final = 0.5  # seconds between checks whether a quiet segment's writer still lives
_STATS_EVERY: Final = 0.5  # seconds between writes of agent.json
_SWEEP_EVERY: Final = 300.0  # seconds between sweeps of orphaned acknowledgement files
_SWEEP_AGAIN: Final = 2.0  # seconds to the next sweep when a leftover file waits for a second look
_ACK_KEPT: Final = 3600.0  # seconds a finished segment's acknowledgement file waits for its writer
_UNFINISHED_KEPT: Final = 60.0  # seconds before an unlocked, never-finished segment file is deleted
_REPLACE_WAIT: Final = 30.0  # seconds an agent with new settings waits for the old one to go
_UNWRITABLE_WAIT: Final = 60.0  # seconds an agent waits for a directory it cannot create its lock in
_UNWRITABLE_EVERY: Final = 0.25  # seconds between its attempts
_DETACHED_FOR: Final = 1.0  # seconds no writer must be seen (at two looks) before an agent gives up


@dataclass(eq=False)
class _Segment:
    path: Path
    data: mmap.mmap | bytes
    header: segment.Header
    ack: layout.Ack
    read_pos: int
    program: dict[str, Any] = field(default_factory=dict)
    outstanding: dict[int, int] = field(default_factory=dict)  # offset -> end, in file order
    finished: set[int] = field(default_factory=set)
    ended: bool = False  # read to its end (seal, or a dead writer's last frame or damage)
    sealed: bool = False
    changed: bool = False
    checked_at: float = 0.0
    undeletable: bool = False  # finished, but the file could not be deleted (a read-only directory)
    fd: int = -1  # the file, kept open beside its mapping: is the mapping's own copy still ours?
    identity: descriptors.Identity = descriptors.NONE

    def ours(self) -> bool:
        return self.fd < 0 or descriptors.ours(self.fd, self.identity)

    def close(self) -> None:
        """Unmap and close the file; where the program took the descriptors, let go of them unclosed."""
        if self.ours():
            _unmap(self.data, self.fd)
        else:
            descriptors.keep_forever(self.data)

    def finish(self, offset: int) -> None:
        self.finished.add(offset)
        self.changed = True

    def settle_ack(self) -> None:
        """Move `ack.offset` past every finished frame at the front; remember the others."""
        while self.outstanding:
            offset, end = next(iter(self.outstanding.items()))
            if offset not in self.finished:
                break
            del self.outstanding[offset]
            self.finished.discard(offset)
            self.ack.offset = end
        if not self.outstanding:
            self.ack.offset = self.read_pos
        self.ack.done = sorted(self.finished)


@dataclass(eq=False)
class _Pending:
    segment: _Segment
    offset: int
    event: SpooledEvent
    report: bool = False  # a shipper health report (`Ack.reports`)


class Agent:
    """Sends what the segments of `spool_dir` hold. `run()` until idle, stopped or the deadline."""

    def __init__(
        self,
        spool_dir: Path,
        make_transport: Callable[[], Transport],
        config: AgentConfig,
    ) -> None:
        self.spool_dir = spool_dir
        self.config = config
        # The agent's counters for the whole directory, kept across agents in agent.json, and what they
        # hold of each segment (`ledger`); read by `run`, under the directory's lock (`_load`).
        self.totals: dict[str, int] = {}
        self._ledger: dict[str, ledger.Entry] = {}
        self._totals_changed = False
        self._loaded = False
        self._make_transport = make_transport
        self._transport: Transport | None = None
        self._documents = Documents(config.index_prefix)
        self._dead_letters = deadletter.DeadLetterFile(
            layout.deadletter_path(spool_dir), config.dead_letter_max_bytes
        )
        self._segments: dict[Path, _Segment] = {}
        self._retry: deque[_Pending] = deque()
        self._retry_bytes = 0  # the documents' bytes in `_retry`: bounded, like their number
        self._blocked: dict[str, tuple[float, float]] = {}  # index -> (until, last delay)
        # Index prefix -> what `ensure_template` found, once it could be asked (see `_ensure_templates`).
        self._templates: dict[str, str] = {}
        self._diag = RateLimitedLog()
        self._stats_written = 0.0
        self._swept = -_SWEEP_EVERY
        self._unfinished_seen: dict[tuple[str, int], float] = {}  # `layout.sweep_unfinished`'s sightings
        # Since when nothing could be delivered, and why: in agent.json, for the programs to say so.
        self._failing: dict[str, Any] | None = None
        self._failing_since: float | None = None  # the same moment, on the monotonic clock
        self._detached_since: float | None = None  # since when no writer was seen (while failing)
        self._attach_checked = -float("inf")
        # An agent process may give up (`unreachable_exit`); a thread of the program never does.
        self.may_give_up = False
        self.gave_up = False
        self._given_up: dict[str, Any] | None = None
        self._filled = False  # the last pass stopped at a batch limit: more is waiting to be read
        self.stop = threading.Event()
        self.deadline = float("inf")
        self.draining = False  # asked to end (`drain`): it exits once nothing waits, without `idle_exit`
        self.lock_fd: int | None = None  # the lock the runner holds for this agent
        # A thread of the program keeps each segment's file open beside its mapping, to tell whether
        # the program closed the mapping's copy (a process agent keeps one descriptor per segment).
        self.guard_descriptors = False
        self.taken = False  # the program closed the agent's descriptors: run() returned early
        self._holding: list[tuple[int, descriptors.Identity]] = []  # this pass's holds (`_hold`)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Deliver until idle, stopped or the deadline; called holding the directory's lock."""
        self._load()
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                if self._giving_up():
                    self._give_up()
                    break
                if self._descriptors_taken():
                    self._let_go()
                    return
                if self.step():
                    idle_since = time.monotonic()
                    if not self._filled:
                        # What a program logs meanwhile waits for the next look, as one batch: back to
                        # back, each pass would send a few records (a request, and the node's work, per
                        # handful) while the program runs.
                        self.stop.wait(self.config.poll_interval)
                    continue
                if self._quiet() and (
                    self.draining or time.monotonic() - idle_since >= self.config.idle_exit
                ):
                    break
                if layout.is_gone(self.spool_dir):
                    break  # the directory was removed: nothing here to deliver any more
                self.stop.wait(self.config.poll_interval)
        finally:
            self._write_stats(force=True)
            self._close()

    def drain(self, grace: float) -> None:
        """End soon: send what waits for `grace` seconds at most, then exit (what is left stays spooled
        for a later agent). Safe from a signal handler: it only sets attributes."""
        self.draining = True
        self.deadline = min(self.deadline, time.monotonic() + grace)

    def _load(self) -> None:
        """Start from what agent.json and the acknowledgement files say now, and from nothing held in
        memory: read under the lock, as the runner takes it. Read before (a thread of the program made
        its agent, then waited for the lock while another agent ran), the totals were those of before
        that agent's run, and this one's first write put them back (its deliveries uncounted); segments
        mapped in an earlier run would write back acknowledgements that agent moved on since. What a
        killed agent acknowledged but never totalled is added (`ledger.catch_up`)."""
        self.reset()
        saved = layout.read_json(self.spool_dir / layout.AGENT_STATS_NAME)
        self.totals = {k: v for k, v in saved.items() if type(v) is int}
        entries = ledger.read(saved)
        self._ledger = {} if entries is None else entries
        acks = layout.acks(self.spool_dir)
        if entries is None and self.totals:  # an earlier version's totals: they hold these already
            self._ledger = {name: ledger.of_ack(ack) for name, ack in acks.items()}
        caught_up = ledger.catch_up(self.totals, self._ledger, acks)
        # A former agent's note that it gave up goes with this one's first write (programs restart one
        # while it is there, see the handler's watchdog).
        self._totals_changed = layout.GIVEN_UP_KEY in saved or caught_up
        self._loaded = True

    def step(self) -> bool:
        """One pass: look, read, send, settle, record, finish. True if anything was sent or read."""
        if not self._loaded:  # (a caller that steps without `run`: it holds the lock, or no agent runs)
            self._load()
        now = time.monotonic()
        self._look()
        batch = self._due_retries(now)
        held, refused = self._hold(batch)
        try:
            read = self._read(batch, now, refused)
            if batch:
                outcomes = self._send(batch)
                if self._descriptors_taken():  # closed while it was sent: run() lets go, all is read again
                    return True
                self._settle(batch, outcomes)
            self._record()  # before the holds go: a writer dropping a segment counts what this says
        finally:
            with layout.fork_gate():  # closed and forgotten at once: a fork between would keep them open
                self._let_hold_go(held)
                self._holding = []
        self._finish(now)
        self._write_stats()
        return bool(batch) or read

    def _hold(self, batch: list[_Pending]) -> tuple[list[tuple[int, descriptors.Identity]], set[int]]:
        """Hold the segments of `batch` and those to be read until what this pass finishes in them is
        recorded (`layout.hold_to_send`): a writer's `drop_oldest` that deletes one meanwhile leaves
        the agent to count what it did not deliver (`layout.mark_dropped`), where it counted every
        unacknowledged record lost, those delivered (or dead-lettered) after all included. A segment
        deleted, or being deleted by a writer who counts its records, is refused (the ids of those
        returned): its records leave the batch and it is not read; the next look forgets it."""
        held: list[tuple[int, descriptors.Identity]] = []
        self._holding = held  # (a fork meanwhile: the child closes them, `forget_after_fork`)
        refused: set[int] = set()
        wanted = {id(p.segment): p.segment for p in batch}
        wanted.update((id(seg), seg) for seg in self._segments.values() if not seg.ended)
        for key, seg in wanted.items():
            with layout.fork_gate():  # recorded before a fork can copy it (`forget_after_fork`)
                fd = layout.hold_to_send(seg.path)
                if fd is not None:
                    held.append((fd, descriptors.identity(fd)))
            if fd is None:
                refused.add(key)
        if refused:
            for pending in [p for p in batch if id(p.segment) in refused]:
                batch.remove(pending)
                self._wait_retry(pending)  # (a segment that stays after all is sent from there)
        return held, refused

    @staticmethod
    def _let_hold_go(held: list[tuple[int, descriptors.Identity]]) -> None:
        for fd, known in held:
            if descriptors.ours(fd, known):  # (a program that closed every descriptor took it)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _descriptors_taken(self) -> bool:
        """Whether the program closed the agent's descriptors (a daemon's `os.closerange`, in a program
        that delivers from a thread): the lock, a segment's file. Their numbers may be the program's
        files or sockets now; a kept-alive connection of the transport is gone with them."""
        if self.lock_fd is not None and not lock.held(self.lock_fd):
            return True
        return not all(seg.ours() for seg in self._segments.values())

    def _let_go(self) -> None:
        """The program closed the agent's descriptors: forget everything (`reset`), run() returns and
        the runner takes the lock again."""
        self.taken = True
        self.reset()

    def reset(self) -> None:
        """Forget every segment, retry and connection, as a new agent: the next pass reads the segments
        anew from their acknowledgement files, and what was sent but not recorded is sent again under
        the same event ids (refused by the node as duplicates). Descriptors the program took are let go
        of without being closed (nor ever freed); the others are closed."""
        taken = self._descriptors_taken()
        for seg in self._segments.values():
            seg.close()
        self._segments.clear()
        self._retry.clear()
        self._retry_bytes = 0
        self._blocked.clear()
        if self._transport is not None and taken:
            descriptors.keep_forever(self._transport)
        elif self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
        self._transport = None

    def forget_after_fork(self) -> None:
        """In a child forked from a program that delivers from a thread: close the copies of what that
        thread (not copied) held open, the segments' mappings and descriptors and this pass's holds.
        Nothing else would: the parent's agent deletes the segments, and the child, a worker that may
        live for days, would keep their disk space taken, outside the spool's bound. The transport's
        connections are only dropped (closing one may talk to the server)."""
        self._let_hold_go(self._holding)
        self._holding = []
        for seg in self._segments.values():
            seg.close()
        self._segments.clear()
        self._retry.clear()
        self._retry_bytes = 0
        self._transport = None

    def _giving_up(self) -> bool:
        """Whether delivery has failed for `unreachable_exit` seconds and no program has written to the
        directory for `_DETACHED_FOR` (two looks at the writers' locks, half a second apart at least:
        a writer between two segments is never taken for gone)."""
        now = time.monotonic()
        if not self.may_give_up or self._failing_since is None:
            self._detached_since = None
            return False
        if now - self._failing_since < self.config.unreachable_exit:
            return False
        if now - self._attach_checked < _LIVENESS_EVERY:
            return False
        self._attach_checked = now
        if layout.writer_attached(self.spool_dir):
            self._detached_since = None
            return False
        if self._detached_since is None:
            self._detached_since = now
        return now - self._detached_since >= _DETACHED_FOR

    def _give_up(self) -> None:
        """Exit leaving what is not delivered in the spool (the acknowledgement files say what was):
        counted (`unreachable_exits`), said in agent.json and on standard error (agent.log)."""
        self.gave_up = True
        waiting = sum(self._waiting(seg) for seg in self._segments.values())
        failing = self._failing or {}
        self._count("unreachable_exits")
        self._given_up = {
            "at": time.time(),
            "failing_for": round(time.monotonic() - (self._failing_since or time.monotonic()), 1),
            "reason": failing.get("reason", ""),
            "waiting": waiting,
        }
        self._diag.warning(
            "given-up",
            "logloop agent: nothing delivered for %d s (%s) and no program writes to %s: exiting; %d"
            " records wait there for the next program's agent",
            self._given_up["failing_for"],
            self._given_up["reason"],
            self.spool_dir,
            waiting,
        )

    @staticmethod
    def _unfinished(seg: _Segment) -> list[segment.Frame]:
        """The frames of a segment not finished (the program's facts, its first frame, left out)."""
        start = max(seg.ack.offset, segment.HEADER.size)
        frames = segment.scan(seg.data, start).frames
        return [f for f in frames if f.offset not in seg.finished and f.offset > segment.HEADER.size]

    def _waiting(self, seg: _Segment) -> int:
        """Records of a segment not finished."""
        return len(self._unfinished(seg))

    def _unsent(self, seg: _Segment) -> tuple[int, int]:
        """The records of a segment deleted under this agent that it did not finish (the shipper's
        health reports left out: deleted, they are no record lost): lost, and those a killed agent's
        request held that this one had not sent again (unconfirmed: the node may have taken them;
        counted lost, the counters said more was lost than was missing)."""
        sending = set(seg.ack.sending)
        unsent = [f.offset for f in self._unfinished(seg) if not records.is_health_report(f.payload)]
        unconfirmed = sum(1 for offset in unsent if offset in sending)
        return len(unsent) - unconfirmed, unconfirmed

    def _quiet(self) -> bool:
        return not self._retry and all(s.ended and not s.outstanding for s in self._segments.values())

    # -- look -------------------------------------------------------------------------------------

    def _look(self) -> None:
        self._sweep()
        paths = set(layout.segments(self.spool_dir))
        for gone in set(self._segments) - paths:
            seg = self._segments[gone]
            # drop_oldest deleted it as it was sent: ours to count, now that we know
            marked = layout.read_dropped_mark(gone) is not None
            if marked and self._count_dropped(gone, self._unsent(seg), seg):
                layout.ack_path(gone).unlink(missing_ok=True)  # (written again after the deletion)
            with layout.fork_gate():  # closed and forgotten at once: a fork between would keep it open
                self._forget(seg)
                del self._segments[gone]
        for path in sorted(paths - set(self._segments), key=layout.order_key):
            with layout.fork_gate():  # recorded before a fork can copy it (`forget_after_fork`)
                opened = self._open(path)
                if opened is not None:
                    self._segments[path] = opened

    def _sweep(self) -> None:
        """Every few minutes: delete acknowledgement files of finished segments that no writer folded
        in (it died), older than an hour; those of segments deleted unfinished (by a writer's
        drop_oldest: nobody reads them), older than a minute; drop_oldest's marks of segments this agent
        never mapped (the one that did died before it counted them), counted as their writer counted;
        and what interrupted writes left (`layout.sweep_unfinished`)."""
        now = time.monotonic()
        if now - self._swept < _SWEEP_EVERY:
            return
        self._swept = now
        if layout.sweep_unfinished(self.spool_dir, _UNFINISHED_KEPT, self._unfinished_seen):
            self._swept = now - _SWEEP_EVERY + _SWEEP_AGAIN  # what waits for a second look
        for dropped in layout.dropped_marks(self.spool_dir):  # (before their acknowledgements go: read)
            if dropped not in self._segments:  # its agent died (or reset) before it counted: the writer's
                self._count_dropped(dropped, self._marked(dropped))  # counts they are
        with layout.fork_gate():  # (the listing's descriptor)
            for ack in self.spool_dir.glob(f"*{layout.ACK_SUFFIX}"):
                with contextlib.suppress(OSError):
                    segment_file = ack.with_name(ack.name[: -len(layout.ACK_SUFFIX)] + segment.SUFFIX)
                    if segment_file.exists() or segment_file in self._segments:
                        continue
                    state = layout.read_ack(segment_file)
                    age = layout.ack_age(segment_file, state)  # (not the wall clock's: it may jump)
                    if age > _ACK_KEPT or (age > _UNFINISHED_KEPT and not state.finished):
                        ack.unlink()

    def _marked(self, path: Path) -> tuple[int, int]:
        """What the drop mark of `path` says was lost and unconfirmed, less what its agent finished
        after the mark was made (sent, dead-lettered: counted there; they were counted unconfirmed
        too, 325 of 530). What was finished is read from the acknowledgement and from agent.json's
        entry for the segment, the larger: a program deletes the acknowledgement of a segment its
        agent finished (`_fold_finished`), and the whole segment was counted unconfirmed again."""
        lost, unconfirmed, finished = layout.read_dropped_mark(path) or (0, 0, 0)
        ack = ledger.of_ack(layout.read_ack(path), self._ledger.get(path.name))
        since = max(0, ack["sent"] + ack["dead_lettered"] - finished) if finished >= 0 else 0
        return lost, max(0, unconfirmed - since)

    def _count_dropped(self, path: Path, counts: tuple[int, int], seg: _Segment | None = None) -> bool:
        """Count the records of a segment drop_oldest deleted as the agent sent from it that were never
        delivered (`counts`: lost, and unconfirmed: sent by an agent killed before the answer), unless
        agent.json says they were counted (a kill between that and the mark's removal), and only then
        remove the mark: a kill in between neither loses nor repeats it. Where agent.json cannot be
        written (a full disk), the mark stays for the next sweep (the entry says it is counted); True
        once it is removed."""
        entry = self._ledger.setdefault(path.name, {})
        if seg is not None:
            entry.update(ledger.of_ack(seg.ack, entry))
        if ledger.OVERFLOW not in entry:
            lost, unconfirmed = counts
            entry[ledger.OVERFLOW] = lost
            self._count("lost:spool_overflow", lost)
            self._count("unconfirmed", unconfirmed)
        if not self._write_stats(force=True):
            return False
        layout.remove_dropped_mark(path)
        return True

    def _open(self, path: Path) -> _Segment | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            size = os.fstat(fd).st_size
            data: mmap.mmap | bytes = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError):
            os.close(fd)
            return None
        if not size or not self.guard_descriptors:
            os.close(fd)
            fd = -1
        opened = self._opened(path, data, fd)
        if opened is None:
            _unmap(data, fd)
        return opened

    def _opened(self, path: Path, data: mmap.mmap | bytes, fd: int) -> _Segment | None:
        header = segment.decode_header(data[: segment.HEADER.size])
        if header is None:
            if layout.writer_alive(path):
                return None  # not possible for a segment renamed into view; look again later
            self._count("torn_skipped")
            self._diag.warning("garbage", "logloop agent: %s is not a segment; deleted (counted torn)", path)
            path.unlink(missing_ok=True)
            return None
        ack = layout.read_ack(path)
        if ack.offset > len(data):  # no acknowledgement of this file (a segment never shrinks): read it all
            ack = layout.Ack()
        start = max(ack.offset, segment.HEADER.size)
        opened = _Segment(
            path, data, header, ack, start, finished=set(ack.done), fd=fd, identity=descriptors.identity(fd)
        )
        if start > segment.HEADER.size:
            self._read_program(opened)
        return opened

    def _read_program(self, seg: _Segment) -> None:
        found = segment.scan(seg.data, segment.HEADER.size, limit=1).frames
        if found:
            with contextlib.suppress(UnreadablePayload):
                kind, value = records.decode(found[0].payload)
                if kind == records.PROGRAM:
                    seg.program = self._documents.program_facts(value)

    def _forget(self, seg: _Segment) -> None:
        """A segment deleted under us (the writer's overflow policy counted its records)."""
        self._retry = deque(p for p in self._retry if p.segment is not seg)
        self._retry_bytes = sum(len(p.event.body) for p in self._retry)
        seg.close()

    # -- read -------------------------------------------------------------------------------------

    def _read(self, batch: list[_Pending], now: float, refused: set[int]) -> bool:
        """Read new frames into `batch` (or the retry queue, for a blocked index) up to the limits;
        not from the segments `refused` (see `_hold`)."""
        config, read = self.config, False
        size = sum(len(p.event.body) for p in batch)
        self._filled = True  # unless every segment is read to its end now (below)
        for seg in list(self._segments.values()):
            if id(seg) in refused:
                continue
            while not seg.ended and len(batch) < config.batch_size and size < config.batch_max_bytes:
                if len(self._retry) >= config.retry_limit or self._retry_bytes >= config.retry_max_bytes:
                    return read
                found = segment.scan(seg.data, seg.read_pos, limit=config.batch_size - len(batch))
                for frame in found.frames:
                    read = True
                    seg.outstanding[frame.offset] = frame.end
                    seg.read_pos = frame.end
                    if frame.offset in seg.finished:
                        continue  # acknowledged before a restart
                    pending = self._pending(seg, frame)
                    if pending is None:
                        continue
                    if self._blocked.get(pending.event.index, (0.0, 0.0))[0] > now:
                        self._wait_retry(pending)
                    else:
                        batch.append(pending)
                        size += len(pending.event.body)
                if not found.frames:
                    self._at_end(seg, found, now)
                    break
            if len(batch) >= config.batch_size or size >= config.batch_max_bytes:
                break
        else:
            self._filled = False
        return read

    def _at_end(self, seg: _Segment, found: segment.Scan, now: float) -> None:
        """Nothing more to read now: the end for good if sealed, or if the writer is gone."""
        if found.sealed:
            seg.ended = seg.sealed = True
            return
        if now - seg.checked_at < _LIVENESS_EVERY:
            return
        seg.checked_at = now
        if layout.writer_alive(seg.path):
            return
        again = segment.scan(seg.data, seg.read_pos)  # the writer may have added frames before dying
        if again.frames:
            return
        seg.ended = True
        seg.sealed = again.sealed
        if again.torn:
            seg.ack.torn += 1
            seg.changed = True
            self._tally(seg)
            self._diag.warning(
                "torn", "logloop agent: %s: %s; the rest is skipped (counted)", seg.path, again.reason
            )

    def _pending(self, seg: _Segment, frame: segment.Frame) -> _Pending | None:
        """The document of a frame; None (and the frame finished) for the program's facts and for a
        record that cannot be read (counted lost)."""
        try:
            kind, value = records.decode(frame.payload)
            if kind == records.PROGRAM:
                seg.program = self._documents.program_facts(value)
                seg.finish(frame.offset)
                return None
            if kind == records.PLAIN:
                event_id = segment.event_id(seg.header, frame.offset, _created(value[0], seg.header))
                index, body = self._documents.plain(value, seg.program, event_id)
            elif kind == records.RECORD:
                created = _created(value.attributes.get("created"), seg.header)
                event_id = segment.event_id(seg.header, frame.offset, created)
                index, body = self._documents.record(value, seg.program, event_id)
            else:
                event_id = segment.event_id(seg.header, frame.offset, seg.header.created_ms / 1000)
                index, body = self._documents.document(value, seg.program, event_id)
        except Exception as exc:  # UnreadablePayload, or a bug in building one document
            seg.finish(frame.offset)
            self._lose("unreadable")
            self._diag.warning(
                "unreadable", "logloop agent: a record in %s cannot be read: %r", seg.path, exc
            )
            return None
        event = SpooledEvent(frame.offset, event_id, index, body)
        if len(body) > self.config.max_event_bytes:
            self._dead_letter(
                seg, event, Outcome("rejected", 413, f"document of {len(body)} bytes is over max_event_bytes")
            )
            return None
        return _Pending(seg, frame.offset, event, records.is_health_report(frame.payload))

    def _due_retries(self, now: float) -> list[_Pending]:
        """Documents waiting for a retry whose index may be tried again now (at most a batch)."""
        due: list[_Pending] = []
        waiting: deque[_Pending] = deque()
        while self._retry:
            pending = self._retry.popleft()
            if (
                len(due) < self.config.batch_size
                and self._blocked.get(pending.event.index, (0.0, 0.0))[0] <= now
            ):
                due.append(pending)
            else:
                waiting.append(pending)
        self._retry = waiting
        self._retry_bytes = sum(len(p.event.body) for p in waiting)
        return due

    # -- send and settle --------------------------------------------------------------------------

    def _send(self, batch: list[_Pending]) -> list[Outcome]:
        timeout = min(self.config.send_timeout, max(0.05, self.deadline - time.monotonic()))
        if self._descriptors_taken():  # a connection's number may be the program's now: not sent
            return [Outcome("retry", 0, "the program closed the delivery thread's files")] * len(batch)
        try:
            if self._transport is None:
                self._transport = self._make_transport()
            unreachable = self._ensure_templates(self._transport, batch, timeout)
            if unreachable is not None:  # nothing would get through now: the batch waits
                return [Outcome("retry", 0, unreachable)] * len(batch)
            self._announce(batch)  # (here: a kill before this request goes leaves nothing unknown)
            return self._transport.send([p.event for p in batch], timeout)
        except Exception as exc:  # a transport must not raise; if one does, everything waits
            self._diag.warning("transport", "logloop agent: transport failed: %r", exc)
            return [Outcome("retry", 0, f"{type(exc).__name__}: {exc}")] * len(batch)

    def _ensure_templates(self, transport: Transport, batch: list[_Pending], timeout: float) -> str | None:
        """Before the first documents of an index prefix go, its index template exists (installed
        now if missing; see `transports.base`). A refusal is said once and the documents go all the
        same (held back, they could only be dropped); the reason the server could not be asked, if
        it could not (then the batch waits, and the question is asked again)."""
        for prefix in sorted({schema.prefix_of(p.event.index) for p in batch} - self._templates.keys()):
            try:
                check = transport.ensure_template(prefix, timeout)
            except Exception as exc:  # a transport must not raise: sending is worth more than the template
                self._templates[prefix] = "refused"
                self._diag.warning("template", "logloop agent: index template check failed: %r", exc)
                continue
            if check.state == "unreachable":
                return check.reason
            self._templates[prefix] = check.state
            if check.state == "installed":
                self._count("templates_installed")
            elif check.state == "refused":
                self._count("templates_refused")
                self._diag.warning(
                    "template",
                    "logloop agent: cannot install the index template %s (%s): indices created before "
                    "`logloop setup` installs it get a dynamic mapping",
                    schema.template_name(prefix),
                    check.reason,
                )
        return None

    def _settle(self, batch: list[_Pending], outcomes: list[Outcome]) -> None:
        now = time.monotonic()
        missing = Outcome("retry", 0, "no outcome reported")
        for pending, outcome in zip(batch, outcomes + [missing] * (len(batch) - len(outcomes)), strict=False):
            seg, index = pending.segment, pending.event.index
            if outcome.kind == "delivered":
                seg.finish(pending.offset)
                seg.ack.sent += 1
                seg.ack.reports += int(pending.report)
                self._tally(seg)
                self._blocked.pop(index, None)
                if self._failing is not None:
                    self._failing, self._totals_changed = None, True
                self._failing_since = None
            elif outcome.kind == "rejected":
                self._dead_letter(seg, pending.event, outcome)
            else:
                seg.ack.retried += 1
                seg.changed = True
                self._tally(seg)
                if outcome.cause == SHARD_LIMIT:
                    self._count("shard_limit_retries")
                self._wait_retry(pending)
                self._block(index, now, outcome)
                self._note_failure(outcome.reason)

    def _note_failure(self, reason: str) -> None:
        """Remember that a send failed (since when, the latest reason), until one succeeds."""
        self._failing = {**layout.failing_stamp(self._failing), "reason": reason[:500]}
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        self._totals_changed = True

    def _wait_retry(self, pending: _Pending) -> None:
        self._retry.append(pending)
        self._retry_bytes += len(pending.event.body)

    def _block(self, index: str, now: float, outcome: Outcome) -> None:
        until, delay = self._blocked.get(index, (0.0, 0.0))
        if until > now:
            return  # already waiting: one failed request backs off once
        delay = min(self.config.backoff_max, max(self.config.backoff_initial, delay * 2))
        self._blocked[index] = (now + delay * random.uniform(0.5, 1.0), delay)
        self._diag.warning("retry", "logloop agent: will retry documents for %s: %s", index, outcome.reason)

    def _dead_letter(self, seg: _Segment, event: SpooledEvent, outcome: Outcome) -> None:
        rejection = deadletter.Rejection(
            event_id=event.event_id,
            index=event.index,
            status=outcome.status,
            reason=outcome.reason,
            document=event.body,
        )
        try:
            self._count("lost:dead_letter_rotated", self._dead_letters.write([rejection]))
        except OSError as exc:
            self._lose("dead_letter_unwritable")
            self._diag.warning("dead-letter", "logloop agent: cannot write dead letters: %s", exc)
        else:
            seg.ack.dead_lettered += 1
            self._tally(seg)
        seg.finish(event.row_id)

    # -- record and finish ------------------------------------------------------------------------

    def _announce(self, batch: list[_Pending]) -> None:
        """Write in each acknowledgement which of its records go in the request now, before it goes:
        a writer deleting the segment after this agent's death counts them unconfirmed, not lost (the
        node may have taken them). Those of a killed agent's request (read with its acknowledgement)
        stay there until this one has sent them again; this request's go once its outcomes are
        recorded (`_record`), known then."""
        sending: dict[int, set[int]] = {}
        for pending in batch:
            sending.setdefault(id(pending.segment), set()).add(pending.offset)
        for seg in {id(p.segment): p.segment for p in batch}.values():
            earlier = set(seg.ack.sending)
            seg.ack.sending = sorted(earlier | sending[id(seg)])
            with contextlib.suppress(OSError):
                layout.write_ack(seg.path, seg.ack)
            seg.ack.sending = sorted(earlier - sending[id(seg)])  # (what `_record` writes next)
            seg.changed = True

    def _record(self) -> None:
        for seg in self._segments.values():
            if seg.changed:
                seg.settle_ack()
                try:
                    layout.write_ack(seg.path, seg.ack)
                except OSError:  # (a full disk, EIO): written again at the next pass, until it is
                    continue
                seg.changed = False

    def _finish(self, now: float) -> None:
        done = [seg for seg in list(self._segments.values()) if self._finishable(seg)]
        for seg in done:
            entry = self._ledger[seg.path.name] = ledger.of_ack(seg.ack, self._ledger.get(seg.path.name))
            if not seg.sealed and ledger.RECOVERED not in entry:
                entry[ledger.RECOVERED] = seg.ack.sent + seg.ack.dead_lettered
                self._count("recovered", entry[ledger.RECOVERED])
        # agent.json first: a program deletes a finished acknowledgement (`_fold_finished`), and what the
        # totals lacked of it was then never counted. Where agent.json cannot be written (a full disk)
        # the segment goes all the same (that frees room), its acknowledgement left unfinished: the
        # next agent's `catch_up` reads it if this one dies before agent.json is written.
        saved = self._write_stats(force=True) if done else True
        for seg in done:
            seg.ack.finished = saved
            try:
                layout.write_ack(seg.path, seg.ack)
            except OSError:  # a full disk: the segment goes all the same (that frees room), and the
                with contextlib.suppress(OSError):  # stale acknowledgement, which would say "waiting"
                    layout.ack_path(seg.path).unlink(missing_ok=True)
            try:
                seg.path.unlink(missing_ok=True)
            except OSError as exc:  # a read-only directory: send it no more; a later agent sends it
                self._diag.warning("undeletable", "logloop agent: cannot delete %s: %s", seg.path, exc)
                seg.undeletable = True
                continue  # once more, refused by the server as duplicates
            if layout.read_dropped_mark(seg.path) is not None:  # drop_oldest deleted it as it was sent,
                self._count_dropped(seg.path, (0, 0), seg)  # and all of it was finished since: no loss
            with layout.fork_gate():  # closed and forgotten at once: a fork between would keep it open
                self._forget(seg)
                del self._segments[seg.path]

    def _finishable(self, seg: _Segment) -> bool:
        """Read to its end and everything in it finished: a segment to delete now."""
        return (
            seg.ended
            and seg.read_pos >= seg.ack.offset
            and not seg.outstanding
            and not any(p.segment is seg for p in self._retry)
            and not seg.undeletable  # finished, but its file could not be deleted: kept, never read again
        )

    def _tally(self, seg: _Segment) -> None:
        """Count what the acknowledgement of `seg` holds beyond agent.json's entry for it: a record a
        former agent counted there, whose acknowledgement could not be written, is sent again, refused
        as a duplicate (delivered) and counted no second time (`ledger`)."""
        if ledger.catch_up(self.totals, self._ledger, {seg.path.name: seg.ack}):
            self._totals_changed = True

    def _count(self, name: str, amount: int = 1) -> None:
        if amount:
            self.totals[name] = self.totals.get(name, 0) + amount
            self._totals_changed = True

    def _lose(self, reason: str) -> None:
        self._count(f"lost:{reason}")

    def _write_stats(self, *, force: bool = False) -> bool:
        """Write agent.json if the totals changed (at most every `_STATS_EVERY` unless `force`); True if
        it holds them now. One that could not be written (a full disk) is written again later: the
        totals stay changed."""
        now = time.monotonic()
        if not self._totals_changed:
            return True
        if not force and now - self._stats_written < _STATS_EVERY:
            return False
        self._stats_written = now
        state: dict[str, Any] = dict(self.totals)
        state[ledger.KEY] = self._entries()
        if self._failing is not None:
            state[layout.FAILING_KEY] = self._failing
        if self._given_up is not None:
            state[layout.GIVEN_UP_KEY] = self._given_up
        try:
            layout.write_private_json(self.spool_dir / layout.AGENT_STATS_NAME, state)
        except OSError:
            return False
        self._totals_changed = False
        return True

    def _entries(self) -> dict[str, ledger.Entry]:
        """The ledger as the totals hold it now: each mapped segment's acknowledgement (recorded before
        this is written), and the entries of segments gone whose acknowledgement or drop mark is still
        there (found again by the next agent, they must say what was counted)."""
        for seg in self._segments.values():
            self._ledger[seg.path.name] = ledger.of_ack(seg.ack, self._ledger.get(seg.path.name))
        mapped = {seg.path.name for seg in self._segments.values()}
        for name in [n for n in self._ledger if n not in mapped]:
            if not layout.any_trace(self.spool_dir / name):
                del self._ledger[name]
        return self._ledger

    def _close(self) -> None:
        if self._transport is not None and self._descriptors_taken():
            self._let_go()  # its connections' numbers may be the program's: never closed
        if self._transport is not None:
            with contextlib.suppress(Exception):
                self._transport.close()
            self._transport = None


def _unmap(data: mmap.mmap | bytes, fd: int) -> None:
    if isinstance(data, mmap.mmap):
        with contextlib.suppress(BufferError, ValueError):
            data.close()
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _created(created: Any, header: segment.Header) -> float:
    """A record's creation time for its event id; the segment's, if the record has none an index can
    hold (a program may set `record.created` to anything)."""
    usable = usable_time(created)
    return header.created_ms / 1000 if usable is None else usable


# -- running as a process or a thread ------------------------------------------------------------------


def preload(spec: TransportSpec) -> None:
    """Import, on the calling thread, what an agent imports only when it first needs it (its transport,
    the grouping code). For an agent run as a thread: a program that forks while that thread is in
    the middle of an import leaves the child a module lock no thread of it will ever release, and the
    child's own delivery thread would wait on it for ever."""
    with contextlib.suppress(ImportError):  # an optional transport not installed: `make` says so
        spec.implementation()
    documents.preload()


def main(stdin: IO[bytes] | None = None) -> int:
    """`python -m shipper.delivery.agent`: read the settings, hold the lock, deliver until idle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the program must not cut delivery
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)  # its helper shell started it with SIGQUIT ignored
    signal.signal(lock.REPLACE, signal.SIG_DFL)  # another program's agent takes over: at once
    own_process_state()
    with contextlib.suppress(OSError, AttributeError):
        # Once imported (not before: on a loaded machine a niced start-up delays delivery by seconds),
        # the programs' own work comes first.
        os.nice(10)
    settings = json.loads((stdin or sys.stdin.buffer).read())
    spool_dir = Path(settings["spool_dir"])
    spec = TransportSpec.from_data(settings["transport"])
    config = AgentConfig(**settings["config"])
    since, program = settings.get("since"), settings.get("program")
    fd = _take_lock(
        spool_dir,
        spec.key(),
        since if isinstance(since, int | float) else None,
        program if isinstance(program, int) else None,
    )
    if fd is None:
        return 0  # another agent with these settings runs, or the directory stayed unwritable
    # The code's regular expressions (the redaction rules, the grouping's) rebuilt from the cache a
    # `logloop` command or an earlier agent kept: compiled, they were a quarter of the instructions of
    # an agent started to send a short script's records (`bench/bench_shipper.py --only instructions`),
    # once per short script whose agent had exited. A user's patterns are never kept
    # (`shipper.lazy_regex`); the program itself never reads or writes the cache.
    lazy_regex.enable()
    try:
        agent = Agent(spool_dir, spec.make, config)
        agent.lock_fd = fd
        agent.may_give_up = True
        _drain_on_sigterm(agent)
        agent.run()
    finally:
        lock.release(fd)
        lazy_regex.save()
    return 0


def _drain_on_sigterm(agent: Agent) -> None:
    """SIGTERM (a service manager stopping what a finished program's unit left, `docker stop`) has the
    agent send what waits for `lock.TERM_GRACE` seconds before it exits; a second one ends it at once."""

    def terminated(signum: int, _frame: object) -> None:
        if agent.draining:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        agent.drain(lock.TERM_GRACE)

    signal.signal(signal.SIGTERM, terminated)


# Soft limits a program sets for itself that an agent process must not keep: raised to the hard limit.
_RAISED_LIMITS: Final = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_RSS", "RLIMIT_FSIZE")
_DESCRIPTORS_NEEDED: Final = 256  # open files an agent may need (segments held while sent, sockets)


def own_process_state() -> None:
    """What an agent process inherits from the program that started it but is the program's own: its
    working directory (an agent living on in it kept a mount busy, or a deleted directory), its
    umask (the agent's files are private whatever the program's), and the soft resource limits it
    set for itself: a CPU-seconds limit killed a long-lived agent with SIGXCPU, an address-space or
    data limit sized for the program failed the agent's mapping of a full spool, a file-size limit cut
    its dead letters, too few descriptors failed its opens. Each soft limit is raised up to the hard
    one (what the host or the program allows any of its processes), never past it."""
    with contextlib.suppress(OSError):
        os.chdir("/")
    os.umask(0o077)
    try:
        import resource
    except ImportError:  # not POSIX
        return
    for name in _RAISED_LIMITS:
        kind = getattr(resource, name, None)
        if kind is not None:
            with contextlib.suppress(OSError, ValueError):
                soft, hard = resource.getrlimit(kind)
                if soft != hard:
                    resource.setrlimit(kind, (hard, hard))
    with contextlib.suppress(OSError, ValueError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = _DESCRIPTORS_NEEDED if hard == resource.RLIM_INFINITY else min(hard, _DESCRIPTORS_NEEDED)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _take_lock(spool_dir: Path, key: str, since: float | None, program: int | None) -> int | None:
    """The directory's lock for this agent; None if another agent holds it. A directory in which the
    lock file cannot be created (made read-only as the agent started, a permission change, a remount)
    is tried again every `_UNWRITABLE_EVERY` seconds for `_UNWRITABLE_WAIT`: delivery starts as soon
    as it can be written. Ended so, the agent would have left the program's start claim in place (it
    cannot delete it either) and held back every new agent until the claim went stale."""
    deadline = time.monotonic() + _UNWRITABLE_WAIT
    said = False
    while True:
        try:
            return lock.acquire(spool_dir, key, "process", wait=_REPLACE_WAIT, since=since, program=program)
        except OSError as exc:
            if time.monotonic() >= deadline or layout.is_gone(spool_dir):
                print(f"logloop agent: cannot take the lock of {spool_dir}: {exc}; exiting", file=sys.stderr)
                return None
            if not said:
                said = True
                print(f"logloop agent: cannot take the lock of {spool_dir} ({exc}); waiting", file=sys.stderr)
            time.sleep(_UNWRITABLE_EVERY)


if __name__ == "__main__":
    raise SystemExit(main())
