"""The delivery process: the sender half of the worker, run in a process of its own.

With `delivery="process"` (the default) the program keeps only what must happen in it: `emit()` on
the caller's thread and the drainer thread that makes events durable in the spool (packed, see
`shipper.packing`). Writing the JSON, sending, retrying and dead-lettering run in a child process,
`python -m shipper.relay`, which reads the program's segments from the same spool file (it sends as
the program's pid, so forked children and other programs keep their own rows). The program's threads
then never wait for the GIL while documents are written out, and the sending uses a second core.

The program talks to the child through its standard input, one JSON object per line:

    first line     the delivery settings and the transport (credentials travel here, never in argv)
    {"wake": 1}    the drainer committed rows
    {"report": n}  report now, with "answer": n (the program waits for its counters to catch up)
    {"stop": s}    send for at most s more seconds, then exit

and the child answers on its standard output with counter increments and the spool backlog,
`{"sent": n, "retried": n, "dead_lettered": n, "dropped": n, "backlog": n, "idle": bool}`, every
`REPORT_EVERY` seconds, when asked (with the `answer`) and once more when it exits. A report counts
every document whose removal from the spool the program could have seen before asking. The end of
its input (the program exited, or was killed) is a stop with the program's close timeout: what the
child could not send stays spooled and is adopted by the next start.

Nothing is lost when the child cannot start or dies: every event is in the spool already, and the
program's worker thread takes over the sending (see `Worker`). The child ignores SIGINT and runs in
its own session, so a Ctrl-C meant for the program does not cut delivery short, and at a lower CPU
priority (nice 10), so on a busy machine the program's own work comes first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final

from shipper.stats import Counters, ShipperStats
from shipper.transports import TransportSpec

REPORT_EVERY: Final = 0.25  # seconds between the child's unrequested reports
_START_TIMEOUT: Final = 10.0  # seconds the child may take to say it is ready
REPORTED_COUNTERS: Final = ("sent", "retried", "dead_lettered", "dropped")  # as increments
_NICENESS: Final = 10


def command() -> list[str] | None:
    """How to start the delivery process, or None where no Python can be started (a frozen or an
    embedded interpreter)."""
    if getattr(sys, "frozen", False) or not sys.executable or not os.path.exists(sys.executable):
        return None
    return [sys.executable, "-m", "shipper.relay"]


class RelayProcess:
    """The program's handle on its delivery process: start it, wake it, stop it, read its reports."""

    def __init__(self, on_report: Callable[[dict[str, Any]], None]) -> None:
        self._on_report = on_report
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self.ready = threading.Event()

    def start(self, settings: dict[str, Any]) -> bool:
        """Start the child with these settings; False (and nothing running) if it cannot start."""
        argv = command()
        if argv is None:
            return False
        paths = [str(Path(__file__).resolve().parents[1]), *(p for p in sys.path if p)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
                start_new_session=True,
            )
        except OSError:
            return False
        self._reader = threading.Thread(target=self._read, name="logloop-shipper-relay", daemon=True)
        self._reader.start()
        if not self._send(settings) or not self.ready.wait(_START_TIMEOUT):
            self.kill()
            return False
        return True

    def wake(self) -> bool:
        return self._send({"wake": 1})

    def ask_report(self, token: int) -> bool:
        return self._send({"report": token})

    def stop(self, budget: float) -> None:
        """Ask the child to send for at most `budget` more seconds and exit; returns at once."""
        self._send({"stop": max(0.0, budget)})
        self._close_input()

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self, timeout: float) -> bool:
        """Wait until the child exited and its last report was read; False if it is still running."""
        process = self._process
        if process is None:
            return True
        try:
            process.wait(max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return False
        if self._reader is not None:
            self._reader.join(max(0.0, min(timeout, 1.0)))
        return True

    def kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(1.0)
        self._close_input()

    def forget_in_child(self) -> None:
        """In a forked child: let go of the inherited pipes without telling the parent's delivery
        process anything (it must still see the end of its input when the parent exits). Each pipe's
        descriptor is pointed at /dev/null rather than closed: the file objects still hold its number
        and close it when collected, and by then it may be another file's."""
        process = self._process
        self._process = None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # already closed
                descriptor = stream.fileno()  # type: ignore[union-attr]
                devnull = os.open(os.devnull, os.O_RDWR)
                try:
                    os.dup2(devnull, descriptor)
                finally:
                    os.close(devnull)

    def _send(self, message: dict[str, Any]) -> bool:
        process = self._process
        if process is None or process.stdin is None:
            return False
        line = (json.dumps(message) + "\n").encode("utf-8")
        with self._write_lock:
            try:
                process.stdin.write(line)
                process.stdin.flush()
            except (OSError, ValueError):  # the child exited (broken pipe) or the pipe is closed
                return False
        return True

    def _close_input(self) -> None:
        process = self._process
        if process is not None and process.stdin is not None:
            with self._write_lock, contextlib.suppress(OSError, ValueError):
                process.stdin.close()

    def _read(self) -> None:
        process = self._process
        if process is None or process.stdout is None:
            return
        with process.stdout:  # closed once the child has exited (the end of its output)
            for line in process.stdout:
                try:
                    report = json.loads(line)
                except ValueError:
                    continue
                if isinstance(report, dict):
                    if report.get("ready"):
                        self.ready.set()
                    self._on_report(report)


# -- the child -------------------------------------------------------------------------------------


def _reporter(worker: Any, out: IO[bytes]) -> Callable[[int | None], None]:
    """A function that writes the worker's counter increments since its last call to `out` (with
    the request it answers, if any); safe to call from several threads."""
    last = worker.counters.snapshot()
    lock = threading.Lock()

    def report(answer: int | None = None) -> None:
        nonlocal last
        with lock:
            with worker.accounting:  # no batch half counted: deleted from the spool but not yet sent
                now = worker.counters.snapshot()
            changes: dict[str, Any] = {
                name: getattr(now, name) - getattr(last, name)
                for name in REPORTED_COUNTERS
                if getattr(now, name) != getattr(last, name)
            }
            changes.update(backlog=now.spool_backlog, idle=worker.idle.is_set())
            if answer is not None:
                changes["answer"] = answer
            out.write((json.dumps(changes) + "\n").encode("utf-8"))
            out.flush()
            last = now

    return report


def main() -> int:
    """The delivery process: read the settings, send the owner's spooled segments until told to stop."""
    from shipper.worker import DeliveryConfig, Inbox, Worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # not on every platform
        os.nice(_NICENESS)  # delivery yields the CPU to the program when both want it
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    settings = json.loads(stdin.readline())
    delivery = settings["delivery"]
    config = DeliveryConfig(**{**delivery, "spool_path": Path(delivery["spool_path"])})
    spec = TransportSpec.from_data(settings["transport"])
    counters = Counters()
    worker = Worker(
        config=config,
        inbox=Inbox(1),
        pack_items=_never,
        counters=counters,
        make_transport=spec.make,
        make_health_doc=_no_health_doc,
    )
    close_timeout = float(settings["close_timeout"])

    report = _reporter(worker, stdout)

    def listen() -> None:  # the program's wake-ups, report requests and stop; end of input stops too
        budget = close_timeout
        for line in stdin:
            message = json.loads(line)
            if "stop" in message:
                budget = float(message["stop"])
                break
            if "report" in message:
                report(int(message["report"]))
            else:
                worker.wake_sender()
        worker.stop(time.monotonic() + budget)

    stdout.write(b'{"ready": true}\n')  # before any report: the listener may report at once
    stdout.flush()
    threading.Thread(target=listen, name="logloop-relay-input", daemon=True).start()
    sender = threading.Thread(target=worker.run_sender, name="logloop-relay-send", daemon=True)
    sender.start()
    while sender.is_alive():
        sender.join(REPORT_EVERY)
        report(None)
    report(None)
    return 0


def _never(items: Any, first: int, bits: int) -> Any:
    raise RuntimeError("the delivery process spools nothing itself")


def _no_health_doc(snapshot: ShipperStats) -> dict[str, Any]:
    raise RuntimeError("the delivery process writes no health documents")


def settings_for(config: Any, spec: TransportSpec, close_timeout: float, owner: int) -> dict[str, Any]:
    """The first line the delivery process reads: the worker's settings for sending as `owner`."""
    delivery = {
        **dataclasses.asdict(config),
        "spool_path": str(config.spool_path),
        "owner": owner,
        "delivery": "thread",  # the child sends from its own thread
    }
    return {"delivery": delivery, "transport": spec.as_data(), "close_timeout": close_timeout}


if __name__ == "__main__":
    raise SystemExit(main())
