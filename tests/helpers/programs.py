"""Real programs that use the shipper: a script run in its own interpreter, bounded in time, with what
it printed, and what its records became on the node.

A script prints `EXPECT <message>` for each record it logged; `expected()` reads them back, so a test
compares what the node holds with what the program says it logged (0 lost, 0 duplicated).
"""

from __future__ import annotations

import collections
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.delivered import log_messages
from shipper.delivery import lock
from shipper.spool import layout

REPO = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens there: every record a program logs waits in its spool


def run(
    script: str,
    tmp_path: Path,
    *,
    env: Mapping[str, str | None] | None = None,
    args: Sequence[str] = (),
    flags: Sequence[str] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `script` (dedented) as a program with the worktree first on its path; `env` entries set
    to None are removed. Raises subprocess.TimeoutExpired if it hangs."""
    path = tmp_path / f"program_{time.monotonic_ns()}.py"
    path.write_text(textwrap.dedent(script))
    environ: dict[str, str] = {**os.environ, "PYTHONPATH": str(REPO)}
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [sys.executable, *flags, str(path), *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def expected(done: subprocess.CompletedProcess[str]) -> collections.Counter[str]:
    """The messages the program said it logged (its `EXPECT <message>` lines)."""
    return collections.Counter(
        line.removeprefix("EXPECT ") for line in done.stdout.splitlines() if line.startswith("EXPECT ")
    )


def arrived(
    es: Any, prefix: str, want: collections.Counter[str], timeout: float = 60
) -> collections.Counter[str]:
    """The log messages under `prefix` once every wanted one arrived (or `timeout` passed), then
    read once more after a pause, so that a duplicate sent late is seen too."""
    deadline = time.monotonic() + timeout
    found = log_messages(es, prefix)
    while any(found[m] < n for m, n in want.items()) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = log_messages(es, prefix)
    time.sleep(1.0)
    return log_messages(es, prefix)


def copy_package_for_others(directory: Path) -> None:
    """Copy the `shipper` package into `directory`, and make all that `directory` holds readable by every
    user: the checkout itself may be unreadable by the user a test runs a program as (`mktemp -d` makes
    a clone's directory 0700), so that program imports this copy."""
    shutil.copytree(REPO / "shipper", directory / "shipper", ignore=shutil.ignore_patterns("__pycache__"))
    for path in directory.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def python_for(uid: int) -> str | None:
    """A Python 3.11+ that the user `uid` (not root) can run (this one may sit under /root), or None."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        probe = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "env", "-i", candidate, "-c",
             "import sys; assert sys.version_info >= (3, 11)"],
            capture_output=True, check=False, timeout=30,
        )  # fmt: skip
        if probe.returncode == 0:
            return candidate
    return None


# A test that runs a program as another user (`other_user`) needs root to become that user.
AS_OTHER_USER = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)


@dataclass(frozen=True)
class OtherUser:
    """A user (not root) to run a program as: a Python it can run, and a directory under /tmp that every
    user may write (pytest's tmp_path is root's), holding a copy of the `shipper` package."""

    uid: int
    python: str
    directory: Path

    def run(
        self, script: str, args: Sequence[str], *, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        """Run `script` as this user, from `/`, with an environment of its own (`env -i`): the PATH,
        the package copy on its path, the directory as its home."""
        path = self.directory / f"program_{time.monotonic_ns()}.py"
        path.write_text(textwrap.dedent(script))
        path.chmod(0o644)
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(self.directory), "HOME": str(self.directory)}
        return subprocess.run(
            ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "env", "-i",
             *(f"{k}={v}" for k, v in env.items()), self.python, str(path), *args],
            capture_output=True, text=True, timeout=timeout, check=False, cwd="/",
        )  # fmt: skip


@contextlib.contextmanager
def other_user(uid: int) -> Iterator[OtherUser]:
    """The user `uid` to run programs as (`OtherUser.run`), its directory removed afterwards; the test
    is skipped where no Python 3.11+ can be run by that user. Mark the test `AS_OTHER_USER`."""
    python = python_for(uid)
    if python is None:
        pytest.skip("no Python 3.11+ that another user can run")
    shared = Path(tempfile.mkdtemp(prefix="logloop-test-", dir="/tmp"))
    try:
        shared.chmod(0o777)
        copy_package_for_others(shared)
        yield OtherUser(uid, python, shared)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def agent_pid(spool: Path) -> int | None:
    """The pid of the agent process running for `spool`, if one runs."""
    if not lock.running(spool):
        return None
    holder = layout.read_json(spool / layout.LOCK_NAME)
    pid = holder.get("pid")
    return pid if isinstance(pid, int) and holder.get("mode") == "process" else None


def kill_agents_while(
    child: subprocess.Popen[str], spool: Path, *, kills: int, seed: int, limit: float
) -> int:
    """SIGKILL each agent process of `spool` at a random moment of its second or third second of life
    (it has sent by then, and is sending again), until `child` exits, `kills` were made or `limit`
    seconds passed; how many were made."""
    rng, made, doomed = random.Random(seed), 0, dict[int, float]()
    deadline = time.monotonic() + limit
    while child.poll() is None and made < kills and time.monotonic() < deadline:
        time.sleep(0.05)
        pid = agent_pid(spool)
        if pid is not None and time.monotonic() >= doomed.setdefault(
            pid, time.monotonic() + 1 + rng.random()
        ):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                made += 1
    return made
