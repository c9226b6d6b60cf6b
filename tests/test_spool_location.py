"""Where the default spool directory goes when the home directory cannot hold it: service accounts
(`/nonexistent`, a home that is a file), container users with no home at all, unwritable `TMPDIR`.
Real programs, real node: every record arrives once, and the program neither raises nor prints."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, sys
import shipper
handler = shipper.install("homeless", es_url=sys.argv[1], index_prefix=sys.argv[2], idle_exit=3)
for n in range(5):
    logging.getLogger("homeless").warning("homeless record %d", n)
    print(f"EXPECT homeless record {n}")
try:
    raise KeyError("no home")
except KeyError:
    logging.getLogger("homeless").exception("homeless failure")
print("EXPECT homeless failure")
print("SPOOL", handler.spool_dir)
print("LOST", dict(handler.stats().lost))
"""


def _spool_of(done: subprocess.CompletedProcess[str]) -> Path:
    return Path(next(line[6:] for line in done.stdout.splitlines() if line.startswith("SPOOL ")))


@pytest.mark.parametrize(
    ("home", "runtime", "tmpdir", "under"),
    [
        pytest.param("/dev/null", None, None, "tmp", id="home-is-a-file"),
        pytest.param("/dev/null/x", None, "/dev/null", "tmp", id="home-and-tmpdir-unusable"),
        pytest.param("/dev/null", "runtime", None, "runtime", id="home-unusable-runtime-dir-set"),
        pytest.param("relative/home", None, None, "tmp", id="relative-home"),
    ],
)
def test_a_home_that_cannot_hold_the_spool_loses_nothing(
    home: str, runtime: str | None, tmpdir: str | None, under: str, es: Any, es_url: str, index_prefix: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    """With a home directory no spool can be made under, the default spool goes to the runtime
    directory or the temporary one, private to the user: every record arrives exactly once (it was
    counted lost, every one, with a warning on stderr)."""
    install_template(es, index_prefix)
    runtime_dir = tmp_path / "run-user"
    runtime_dir.mkdir(mode=0o700)
    env = {
        "HOME": home,
        "XDG_RUNTIME_DIR": str(runtime_dir) if runtime else None,
        "TMPDIR": tmpdir if tmpdir is not None else str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    done = programs.run(_PROGRAM, tmp_path, env=env, args=[es_url, index_prefix], timeout=60)
    spool = _spool_of(done)
    try:
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert "LOST {}" in done.stdout
        root = runtime_dir if under == "runtime" else Path("/tmp" if tmpdir else tmp_path / "tmp")
        assert spool.is_relative_to(root)
        assert spool.stat().st_mode & 0o777 == 0o700
        if under == "tmp":  # this user's own directory among everyone's
            assert (spool.parent.stat().st_mode & 0o777, spool.parent.stat().st_uid) == (0o700, os.getuid())
        want = programs.expected(done)
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        if spool.is_relative_to("/tmp") and index_prefix in spool.name:
            shutil.rmtree(spool, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
@pytest.mark.parametrize(
    ("uid", "home"),
    [
        pytest.param(54321, None, id="container-user-without-passwd-entry-or-home"),
        pytest.param(65534, "/nonexistent", id="nobody-with-nonexistent-home"),
    ],
)
def test_a_user_without_a_home_ships_from_a_script(
    uid: int, home: str | None, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """`shipper.install()` in a program run by a user with no usable home (`docker run --user 54321`,
    the `nobody` account) neither raises (Path.home() found none: RuntimeError) nor loses records."""
    python = programs.python_for(uid)
    if python is None:
        pytest.skip("no Python 3.11+ that another user can run")
    install_template(es, index_prefix)
    shared = Path(tempfile.mkdtemp(prefix="logloop-test-", dir="/tmp"))  # pytest's tmp_path is root's
    shared.chmod(0o755)
    script = shared / "program.py"
    script.write_text(_PROGRAM)
    programs.copy_package_for_others(shared)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shared), **({"HOME": home} if home else {})}
    done = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "env", "-i",
         *(f"{k}={v}" for k, v in env.items()), python, str(script), es_url, index_prefix],
        capture_output=True, text=True, timeout=60, check=False, cwd="/",
    )  # fmt: skip
    spool = _spool_of(done) if "SPOOL " in done.stdout else None
    try:
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        assert spool is not None and spool.stat().st_uid == uid
        want = programs.expected(done)
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        if spool is not None and spool.is_relative_to("/tmp"):
            shutil.rmtree(spool, ignore_errors=True)


@pytest.mark.parametrize(
    ("host", "prefix"),
    [
        pytest.param("h" * 64, "p" * 200, id="longest-host-and-prefix"),
        pytest.param("short", "p" * 200, id="longest-prefix"),
        pytest.param("ü" * 64, "logs", id="wide-host-characters"),
    ],
)
def test_a_long_host_name_and_prefix_still_name_a_spool_directory(
    host: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default spool directory's name, and its dead-letter file's, fit in a file name (255
    bytes) whatever the host name and the index prefix (they were joined whole: ENAMETOOLONG, every
    record lost), and stay apart per destination."""
    from shipper import handler as handler_module
    from shipper.connection import ElasticsearchSettings
    from shipper.transports import TransportSpec

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(handler_module.environment, "host_name", lambda: host)
    spec = TransportSpec("elasticsearch", ElasticsearchSettings(url="http://127.0.0.1:9"), "", 0, False)
    other = TransportSpec("elasticsearch", ElasticsearchSettings(url="http://127.0.0.1:10"), "", 0, False)
    spool = handler_module.default_spool_path(spec, prefix)
    assert spool.is_dir() and spool.is_relative_to(tmp_path)
    assert len((spool.name + ".deadletter.jsonl").encode()) <= 255
    assert handler_module.default_spool_path(other, prefix) != spool


# argv: es_url, index prefix, spool, uid. The master (root) makes the handler, then each worker it
# forks drops to `uid` before it logs, as a pre-fork server (gunicorn, uwsgi) runs its workers.
_PREFORK = """
import logging, os, sys
import shipper
url, prefix, spool, uid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
handler = shipper.install("prefork", es_url=url, index_prefix=prefix, spool_path=spool, idle_exit=3)
log = logging.getLogger("prefork")
log.warning("master up")
print("EXPECT master up", flush=True)
workers = []
for worker in range(2):
    pid = os.fork()
    if pid == 0:
        os.setgroups([]); os.setgid(uid); os.setuid(uid)
        for n in range(50):
            log.warning("worker %d record %d", worker, n)
            print(f"EXPECT worker {worker} record {n}", flush=True)
        print("WORKER LOST", dict(handler.stats().lost), flush=True)
        logging.shutdown()
        os._exit(0)
    workers.append(pid)
for pid in workers:
    os.waitpid(pid, 0)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_workers_that_drop_root_after_the_handler_was_made_go_on_in_a_fallback(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A pre-fork server's workers that drop root after the master made the handler (its spool
    directory root's) write their records in a fallback directory of their own user, and every
    record arrives once: they were all lost, counted, with no fallback tried."""
    uid = 65534
    python = programs.python_for(uid)
    if python is None:
        pytest.skip("no Python 3.11+ that another user can run")
    install_template(es, index_prefix)
    shared = Path(tempfile.mkdtemp(prefix="logloop-test-", dir="/tmp"))  # readable by the workers' user
    shared.chmod(0o755)
    (shared / "program.py").write_text(_PREFORK)
    programs.copy_package_for_others(shared)
    spool = shared / "spool"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shared), "HOME": "/nonexistent"}
    try:
        done = subprocess.run(
            [python, str(shared / "program.py"), es_url, index_prefix, str(spool), str(uid)],
            env=env, capture_output=True, text=True, timeout=60, check=False, cwd="/",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("WORKER LOST {}") == 2, done.stdout
        want = programs.expected(done)
        assert sum(want.values()) == 101
        assert programs.arrived(es, index_prefix, want) == want
    finally:
        shutil.rmtree(shared, ignore_errors=True)
