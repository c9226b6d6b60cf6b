"""The delivery agent process starts from a state of its own, not from what the program made of its own:
the program's modules shadowing the standard library (a script's `email.py`, a `shipper/` in its working
directory), its environment (secrets, `PYTHON*` settings), its working directory, umask and soft
resource limits. Real programs, real agent processes (read through /proc), the real node."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from shipper.delivery import lock

pytestmark = pytest.mark.es

# argv: destination, spool, index prefix; the shape's setup runs before the handler is made
_PROGRAM = """
import logging, os, resource, sys
{setup}
import shipper

url, spool, prefix = sys.argv[1:4]
handler = shipper.install("agentenv", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=60)
log = logging.getLogger("agentenv")
for i in range(20):
    log.warning("record %d", i)
    print(f"EXPECT record {{i}}", flush=True)
print("READY", handler.ready(30), flush=True)
print("DELIVERED", handler.wait_delivered(30), flush=True)
"""

_BROKEN = "raise ImportError(\"the program's own module, not the standard library's\")\n"


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[list[int]]:
    """Agent pids a test records, killed at its end (they were told to live a minute)."""
    started: list[int] = []
    yield started
    for pid in started:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _run(
    tmp_path: Path,
    es_url: str,
    index_prefix: str,
    *,
    setup: str = "",
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    spool: str | None = None,
) -> subprocess.CompletedProcess[str]:
    program_dir = tmp_path / "program"
    program_dir.mkdir()
    for name, text in (files or {}).items():
        (program_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (program_dir / name).write_text(text)
    script = program_dir / "program.py"
    script.write_text(_PROGRAM.format(setup=setup))
    environ = {**os.environ, "PYTHONPATH": str(programs.REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, str(script), es_url, spool or str(tmp_path / "spool"), index_prefix],
        capture_output=True, text=True, env=environ, cwd=cwd or program_dir, timeout=90, check=False,
    )  # fmt: skip


def _delivered(done: subprocess.CompletedProcess[str], es: Any, index_prefix: str) -> None:
    assert done.returncode == 0 and "READY True" in done.stdout, done.stderr
    want = programs.expected(done)
    assert len(want) == 20
    assert programs.arrived(es, index_prefix, want, timeout=30) == want
    assert "DELIVERED True" in done.stdout


@pytest.mark.parametrize(
    ("files", "in_working_directory"),
    [
        pytest.param({"email.py": _BROKEN}, False, id="script-dir-email"),
        pytest.param({"unicodedata.py": _BROKEN}, False, id="script-dir-unicodedata"),
        pytest.param({"ssl.py": _BROKEN}, False, id="script-dir-ssl"),
        pytest.param({"calendar.py": _BROKEN}, False, id="script-dir-calendar"),
        pytest.param({"http/__init__.py": _BROKEN}, False, id="script-dir-http-package"),
        pytest.param({"quopri.py": _BROKEN}, False, id="script-dir-quopri"),
        pytest.param({"shipper.py": _BROKEN}, True, id="working-dir-shipper-module"),
        pytest.param({"shipper/__init__.py": _BROKEN}, True, id="working-dir-shipper-package"),
        pytest.param({"email/__init__.py": _BROKEN}, True, id="working-dir-email-package"),
    ],
)
def test_the_programs_own_modules_do_not_shadow_the_agents(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, files: dict[str, str], in_working_directory: bool
) -> None:
    """A module of the program's named like one the agent imports (in the script's directory or the
    working directory) is not imported in its place: every record arrives (the agent died at start or
    at its first send, every record left in the spool and nothing said)."""
    cwd = None
    if in_working_directory:
        cwd = tmp_path / "work"
        cwd.mkdir()
        for name, text in files.items():
            (cwd / name).parent.mkdir(parents=True, exist_ok=True)
            (cwd / name).write_text(text)
        files = {}
    done = _run(tmp_path, es_url, index_prefix, files=files, cwd=cwd)
    _delivered(done, es, index_prefix)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {name: value for name, _, value in pairs}


def test_the_agent_carries_none_of_the_programs_secrets_or_python_settings(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, agents: list[int]
) -> None:
    """The agent's environment holds none of the program's secrets (whatever their names) nor its
    `PYTHON*` settings, and keeps what starting Python and the locale need; records arrive (with
    `PYTHONWARNINGS=error` the agent ran with every warning an error)."""
    env = {
        "DB_PASSWORD": "hunter2-secret",
        "DATABASE_URL": "postgres://app:hunter3-secret@db/app",
        "SENTRY_DSN": "https://abc123def456@o1.ingest.sentry.io/1",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SSLKEYLOGFILE": str(tmp_path / "keys.log"),
        "PYTHONWARNINGS": "error",
        "PYTHONINSPECT": "1",
        "PYTHONSTARTUP": str(tmp_path / "startup.py"),
        "PYTHONDEVMODE": "1",
        "PYTHONTRACEMALLOC": "5",
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": "/nonexistent-lib",
        "TZ": "Europe/Berlin",
    }
    done = _run(tmp_path, es_url, index_prefix, env=env)
    pid = int(lock.holder(tmp_path / "spool")["pid"])
    agents.append(pid)
    _delivered(done, es, index_prefix)
    environ = _environ(pid)
    assert not [value for value in environ.values() if "secret" in value or "EXAMPLEKEY" in value]
    assert not [name for name in environ if name.startswith("PYTHON") or name == "SSLKEYLOGFILE"]
    assert {name: environ.get(name) for name in ("LANG", "LD_LIBRARY_PATH", "TZ")} == {
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": "/nonexistent-lib",
        "TZ": "Europe/Berlin",
    }


_LIMITS = """
for kind, soft in ((resource.RLIMIT_CPU, 1), (resource.RLIMIT_AS, 1 << 30), (resource.RLIMIT_DATA, 1 << 30),
                   (resource.RLIMIT_FSIZE, 1 << 22), (resource.RLIMIT_NOFILE, 64)):
    resource.setrlimit(kind, (soft, resource.getrlimit(kind)[1]))
"""


def _limits(pid: int) -> dict[str, str]:
    """Soft limits of a process by /proc's names ("Max cpu time": "unlimited")."""
    found = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        name, soft = line[:26].strip(), line[26:47].strip()
        found[name] = soft
    return found


@pytest.mark.parametrize(
    ("setup", "cwd_gone"),
    [
        pytest.param("os.umask(0)\n" + _LIMITS, False, id="umask-0-and-low-soft-limits"),
        pytest.param("os.umask(0o077)", True, id="umask-077-working-dir-deleted"),
        pytest.param("os.umask(0o022)", False, id="umask-022"),
    ],
)
def test_the_agent_has_its_own_working_directory_umask_and_limits(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, agents: list[int], setup: str, cwd_gone: bool
) -> None:
    """The agent works from "/" (it kept the program's working directory busy, a mount or a deleted
    directory, for its whole life), with umask 077, and with the hard limits, not the soft limits the
    program set for itself (1 CPU second killed a long-lived agent with SIGXCPU); records arrive."""
    work = tmp_path / "work"
    work.mkdir()
    if cwd_gone:
        setup += f"\nos.chdir({str(work)!r}); os.rmdir({str(work)!r})"
    done = _run(tmp_path, es_url, index_prefix, setup=setup, cwd=work)
    pid = int(lock.holder(tmp_path / "spool")["pid"])
    agents.append(pid)
    _delivered(done, es, index_prefix)
    assert os.readlink(f"/proc/{pid}/cwd") == "/"
    status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    assert status["Umask"].strip() == "0077"
    limits, hard = _limits(pid), _limits(os.getpid())  # (this test runs with the host's limits)
    for name in ("Max cpu time", "Max address space", "Max data size", "Max file size"):
        assert limits[name] == hard[name], name
    assert limits["Max open files"] == "unlimited" or int(limits["Max open files"]) >= 256


def test_a_relative_spool_path_stays_where_the_program_started(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A relative `spool_path` names the directory where the program made its handler, also once the
    program changes its working directory (a daemon's `chdir`): its records, spooled in new segments
    under the new directory where no agent ever looked, stayed there undelivered and uncounted."""
    work = tmp_path / "work"
    work.mkdir()
    moved = tmp_path / "moved"
    moved.mkdir()
    script = tmp_path / "program.py"
    script.write_text(
        "import logging, os, sys\nimport shipper\n"
        "url, prefix, moved = sys.argv[1:4]\n"
        "handler = shipper.install('relspool', es_url=url, spool_path='spool', index_prefix=prefix,"
        " idle_exit=5)\n"
        "log = logging.getLogger('relspool')\n"
        "log.warning('before the chdir'); print('EXPECT before the chdir')\n"
        "os.chdir(moved)\n"
        "for i in range(1500):\n"  # segments roll over after the chdir
        "    log.warning('after the chdir %d %s', i, 'x' * 4000)\n"
        "    print(f'EXPECT after the chdir {i} ' + 'x' * 4000)\n"
        "print('DELIVERED', handler.wait_delivered(60))\n"
    )
    environ = {**os.environ, "PYTHONPATH": str(programs.REPO)}
    done = subprocess.run(
        [sys.executable, str(script), es_url, index_prefix, str(moved)],
        capture_output=True, text=True, env=environ, cwd=work, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want, timeout=60) == want
    assert "DELIVERED True" in done.stdout
    assert not (moved / "spool").exists()


_REAPING = "import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
_FAKE = "#!/bin/sh\ntouch {ran}\necho 'cannot start here' >&2\nexit {status}\n"


@pytest.mark.parametrize(
    ("name", "status", "warned", "reaping"),
    [
        pytest.param("python3", 1, True, "", id="a-python-that-fails-at-start"),
        # A program that lets the kernel reap its children (SIGCHLD ignored): no exit status to read.
        pytest.param("python3", 1, True, _REAPING, id="a-python-that-fails-at-start-children-reaped"),
        pytest.param("python3.11", 3, True, "", id="a-versioned-python-that-fails"),
        pytest.param("uwsgi", 0, False, "", id="an-embedding-server-uwsgi"),
        pytest.param("httpd", 0, False, "", id="an-embedding-server-mod-wsgi"),
        pytest.param("false", 1, False, "", id="not-a-python-at-all"),
    ],
)
def test_a_program_whose_python_cannot_run_the_agent_delivers_from_a_thread(
    es: Any,
    es_url: str,
    index_prefix: str,
    tmp_path: Path,
    name: str,
    status: int,
    warned: bool,
    reaping: str,
) -> None:
    """Where `sys.executable` is not a Python (an embedding server's binary) it is never started with
    the agent's options, and where the Python exits at its start twice the program says so once and
    delivers from a thread: every record arrives (they all waited in the spool for an agent that
    never ran, nothing said)."""
    fake = tmp_path / "bin" / name
    fake.parent.mkdir()
    ran = tmp_path / "ran"
    fake.write_text(_FAKE.format(ran=ran, status=status))
    fake.chmod(0o755)
    done = _run(tmp_path, es_url, index_prefix, setup=f"{reaping}sys.executable = {str(fake)!r}")
    _delivered(done, es, index_prefix)
    assert ran.exists() is warned  # a binary not named as a Python is never run
    lines = done.stderr.strip().splitlines()
    if warned:
        assert len(lines) == 1, lines
        assert lines[0].startswith("logloop shipper: the delivery agent cannot start (")
        assert f"{name} exited at its start" in lines[0]  # (the agent is not its child: no status)
    else:
        assert lines == []


# argv: spool. Three times: an agent started here takes the lock, is stopped (as a newer program with
# other settings stops it), and another program's start claim is there when this one next looks.
_REPLACED = """
import os, signal, sys, time
from pathlib import Path
from shipper.connection import ElasticsearchSettings
from shipper.delivery import launcher, lock
from shipper.delivery.config import AgentConfig
from shipper.transports import TransportSpec

spool = Path(sys.argv[1])
spool.mkdir()
spec = TransportSpec("elasticsearch", ElasticsearchSettings(url="http://127.0.0.1:9"))
config = AgentConfig(idle_exit=60)


def until(done, what):
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


for _ in range(3):
    assert launcher.ensure_agent(spool, spec, config, print), "no agent may start any more"
    until(lambda: lock.running(spool), "the agent never took the lock")
    pid = lock.holder(spool)["pid"]
    print("AGENT", pid, flush=True)
    os.kill(pid, signal.SIGTERM)
    until(lambda: not lock.running(spool), "the agent never stopped")
    until(lambda: not launcher._alive(pid), "the agent never exited")
    assert launcher._claim(spool)  # another program starts an agent: its claim, not the stopped one's
    assert launcher.ensure_agent(spool, spec, config, print), "no agent may start any more"
    (spool / lock.STARTING_NAME).unlink()
"""


def test_agents_that_ran_and_were_stopped_are_not_counted_as_dead_at_their_start(
    tmp_path: Path, agents: list[int]
) -> None:
    """An agent that took the lock and was later stopped (replaced by a newer program's) is not an
    agent dead at its start, even with another start's claim in the directory: two of them made the
    program give up on agents and deliver from a thread of its own for the rest of its life."""
    script = tmp_path / "program.py"
    script.write_text(_REPLACED)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "spool")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(programs.REPO)},
        timeout=240, check=False,
    )  # fmt: skip
    agents += [int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("AGENT")]
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "cannot start" not in done.stdout, done.stdout
    assert len(agents) == 3
