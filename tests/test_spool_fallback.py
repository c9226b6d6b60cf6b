"""A spool directory that cannot take records when the handler starts (read-only, full, a file, another
user's): the records wait in a fallback directory of this user's instead, said once on stderr. Real
programs, real node: every record arrives once, none is counted lost, the program's exit is its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import logging, sys
import shipper
handler = shipper.ShipperHandler(
    "fallback", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], idle_exit=3
)
log = logging.getLogger("fallback")
log.addHandler(handler)
log.propagate = False
for n in range(40):
    log.warning("fallback record %d", n)
    print(f"EXPECT fallback record {n}")
print("SPOOL", handler.spool_dir)
print("LOST", dict(handler.stats().lost))
sys.exit(7)
"""

# Each shape: a shell command that makes `$SPOOL` unusable (run in a user and mount namespace of its
# own, so that root may mount), and what the warning says of it.
_SHAPES = [
    pytest.param("mkdir -p $D; touch $D/file; SPOOL=$D/file/spool", "Not a directory", id="under-a-file"),
    pytest.param("mkdir -p $D; touch $D/file; SPOOL=$D/file", "File exists", id="spool-is-a-file"),
    pytest.param(
        "mkdir -p $D/ro; mount --bind -o ro $D/ro $D/ro; SPOOL=$D/ro/spool",
        "Read-only file system",
        id="read-only-mount",
    ),
    pytest.param(
        "mkdir -p $D/ro; mkdir -m 700 $D/ro/spool; mount --bind -o ro $D/ro $D/ro; SPOOL=$D/ro/spool",
        "not writable",
        id="existing-spool-on-read-only-mount",
    ),
    pytest.param(
        "mkdir -p $D/small; mount -t tmpfs -o size=128k tmpfs $D/small;"
        " dd if=/dev/zero of=$D/small/fill bs=4k count=64 2>/dev/null; SPOOL=$D/small/spool",
        "no room left",
        id="full-file-system",
    ),
]


def _run(
    setup: str, tmp_path: Path, es_url: str, prefix: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent(_PROGRAM))
    (tmp_path / "home").mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(programs.REPO),
        "HOME": str(tmp_path / "home"),
        "D": str(tmp_path / "d"),
    }
    env.pop("XDG_RUNTIME_DIR", None)
    shell = f'{setup}; exec "$@" "$SPOOL"'
    began = time.monotonic()
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", shell, "sh", sys.executable, str(program), es_url, prefix],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done, time.monotonic() - began


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
@pytest.mark.parametrize(("setup", "why"), _SHAPES)
def test_an_unusable_spool_falls_back_and_loses_nothing(
    setup: str, why: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Records logged into a spool that cannot take them all arrive, through a fallback directory under
    the user's cache, with one warning naming both directories and why; the program's exit status and
    time are its own."""
    if subprocess.run(["unshare", "-rm", "true"], check=False).returncode:
        pytest.skip("no user namespaces here")
    install_template(es, index_prefix)
    done, took = _run(setup, tmp_path, es_url, index_prefix)
    assert done.returncode == 7, done.stderr
    assert took < 10
    assert "LOST {}" in done.stdout
    spool = Path(next(line[6:] for line in done.stdout.splitlines() if line.startswith("SPOOL ")))
    assert spool.is_relative_to(tmp_path / "home" / ".cache" / "logloop" / "spool"), spool
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and why in warnings[0] and str(spool) in warnings[0], done.stderr
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want) == want


def test_every_program_given_one_unusable_spool_shares_one_fallback(tmp_path: Path) -> None:
    """Two handlers given the same unusable spool path choose the same fallback (so one agent serves
    them); different unusable paths choose different ones."""
    from shipper.handler import fallback_spool

    (tmp_path / "file").write_text("")
    first, why = fallback_spool(tmp_path / "file" / "a")
    again, _ = fallback_spool(tmp_path / "file" / "a")
    other, _ = fallback_spool(tmp_path / "file" / "b")
    try:
        assert why is not None and first == again != other
        assert fallback_spool(first) == (first, None)  # a usable directory is kept as it is
    finally:
        for path in (first, other):
            shutil.rmtree(path, ignore_errors=True)


_BREAKS_MIDWAY = """
import logging, os, subprocess, sys
import shipper
handler = shipper.ShipperHandler(
    "midway", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3], idle_exit=3
)
log = logging.getLogger("midway")
log.addHandler(handler)
log.propagate = False
for n in range(3000):
    if n == 100:  # the spool's file system fills up, or is made read-only, while the program runs
        assert handler.ready(30)  # (later than its agent's start: that agent takes its lock first)
        subprocess.run(["sh", "-c", sys.argv[4]], check=True)
    log.warning("midway record %d %s", n, "p" * 300)
    print(f"EXPECT midway record {n} {'p' * 300}")
print("SPOOL", handler.spool_dir)
print("LOST", dict(handler.stats().lost))
sys.exit(7)
"""

_MIDWAY = [
    pytest.param(
        "dd if=/dev/zero of=$D/small/fill bs=64k 2>/dev/null || true", "No space left", id="disk-fills"
    ),
    pytest.param(
        "S=$D/small/spool; mount --bind $S $S && mount -o remount,bind,ro $S",
        "Read-only file system",
        id="made-read-only",
    ),
]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
@pytest.mark.parametrize(("breaks", "why"), _MIDWAY)
def test_a_spool_that_fills_while_the_program_runs_falls_back_and_loses_nothing(
    breaks: str, why: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """Records logged after the spool's file system filled up (or was made read-only) while the
    program ran go on in the fallback directory and arrive, none counted lost (every one was lost),
    with one warning naming why; the program's exit status is its own."""
    if subprocess.run(["unshare", "-rm", "true"], check=False).returncode:
        pytest.skip("no user namespaces here")
    install_template(es, index_prefix)
    program = tmp_path / "program.py"
    program.write_text(textwrap.dedent(_BREAKS_MIDWAY))
    (tmp_path / "home").mkdir()
    (tmp_path / "d" / "small").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(programs.REPO), "HOME": str(tmp_path / "home")}
    env["D"] = str(tmp_path / "d")
    env.pop("XDG_RUNTIME_DIR", None)
    shell = 'mount -t tmpfs -o size=8m tmpfs $D/small; exec "$@"'
    spool = tmp_path / "d" / "small" / "spool"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", shell, "sh", sys.executable, str(program), es_url, index_prefix,
         str(spool), breaks],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 7, done.stderr[-2000:]
    assert "LOST {}" in done.stdout, done.stdout[-300:]
    moved = Path(next(line[6:] for line in done.stdout.splitlines() if line.startswith("SPOOL ")))
    assert moved.is_relative_to(tmp_path / "home"), moved
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and why in warnings[0] and str(moved) in warnings[0], done.stderr
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want, timeout=90) == want
