"""Environment facts: cached per process, refreshed after fork, allow-listed and redacted variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from shipper import environment
from shipper.formatter import EcsFormatter
from shipper.redaction import REDACTED


@pytest.fixture
def no_registered_provider() -> Iterator[None]:
    """Clear the process-wide context provider before and after the test."""
    environment.register_context_provider(None)
    yield
    environment.register_context_provider(None)


def test_static_facts_are_cached_within_a_process() -> None:
    """Two calls in one process return the very same facts object (collected once)."""
    assert environment.static_facts() is environment.static_facts()
    assert environment.static_facts().pid == os.getpid()


def test_static_facts_are_collected_again_after_fork() -> None:
    """A forked child sees its own pid in the facts, not the parent's cached one."""
    parent = environment.static_facts()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report the pid the facts carry, then leave without running pytest's exit
        try:
            os.write(write_end, str(environment.static_facts().pid).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        reported = int(pipe.read())
    os.waitpid(pid, 0)
    assert reported == pid != parent.pid
    assert environment.static_facts() is parent


@pytest.mark.parametrize(
    ("environ", "allowlist", "expected"),
    [
        pytest.param({"LANG": "C.UTF-8", "HOME": "/root"}, ["LANG"], {"LANG": "C.UTF-8"}, id="only-allowed"),
        pytest.param({"LANG": "C"}, ["LANG", "TZ"], {"LANG": "C"}, id="unset-skipped"),
        pytest.param({"DB_PASSWORD": "pw"}, ["DB_PASSWORD"], {"DB_PASSWORD": REDACTED}, id="secret-name"),
        pytest.param(
            {"DATABASE_URL": "postgres://app:pw@db/x"},
            ["DATABASE_URL"],
            {"DATABASE_URL": f"postgres://app:{REDACTED}@db/x"},
            id="url-credentials",
        ),
        pytest.param({"LANG": "C"}, [], {}, id="empty-allowlist"),
    ],
)
def test_env_vars_are_allow_listed_and_redacted(
    environ: Mapping[str, str], allowlist: list[str], expected: dict[str, str]
) -> None:
    """Only allow-listed variables leave the process, and secrets among them are redacted."""
    assert environment.env_vars(allowlist, environ) == expected


def test_argv_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """sys.argv is reported with secret flag values hidden."""
    monkeypatch.setattr("sys.argv", ["manager.py", "start", "--api-key", "k123", "web"])
    assert environment.argv() == ["manager.py", "start", "--api-key", REDACTED, "web"]


def test_registered_context_provider_is_used_by_formatters_without_one(no_registered_provider: None) -> None:
    """A program registers its context provider once; every formatter's error documents carry it."""

    def provider() -> Mapping[str, Any]:
        return {"services": {"web": "running", "worker": "crashed"}}

    environment.register_context_provider(provider)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
    doc = EcsFormatter(service_name="svc").to_document(record)
    assert doc["logloop"]["context"] == {"services": {"web": "running", "worker": "crashed"}}


def test_context_provider_returning_a_non_mapping_is_reported(no_registered_provider: None) -> None:
    """A provider returning something other than a mapping gives a provider_error, not a crash."""
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
    doc = EcsFormatter(service_name="svc", context_provider=lambda: ["x"]).to_document(record)  # type: ignore[arg-type,return-value]
    assert doc["logloop"]["context"] == {"provider_error": "context provider returned builtins.list"}


def test_missing_sys_argv_is_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    """An embedded interpreter without sys.argv still gets documents, with empty args."""
    monkeypatch.delattr("sys.argv")
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, None)
    doc = EcsFormatter(service_name="svc").to_document(record)
    assert doc["process"]["args"] == [] and doc["logloop"]["env"]["argv"] == []
    assert "extra" not in doc  # built in full, not the fallback


def test_the_host_name_is_the_one_socket_gives() -> None:
    """`environment.host_name()`, read from `os.uname` to spare every program the `socket` import, is
    the name `socket.gethostname()` gives (the name documents and spool directories carried before)."""
    import socket

    assert environment.host_name() == socket.gethostname()
    assert environment.static_facts().host["name"] == socket.gethostname()


def test_a_program_that_logs_imports_neither_socket_nor_hashlib(
    es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """A program that installs the handler and logs an error does not pay for `socket` or `hashlib`
    (OpenSSL) at start-up: neither is imported into it unless it imports them itself."""
    import subprocess
    import sys

    probe = (
        "import logging, sys, shipper\n"
        "shipper.install('probe', es_url=sys.argv[2], index_prefix=sys.argv[3], spool_path=sys.argv[1])\n"
        "try:\n    {}['missing']\nexcept KeyError:\n    logging.getLogger('job').exception('failed')\n"
        "print(sorted(m for m in ('socket', 'hashlib', '_hashlib') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "spool"), es_url, index_prefix],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_spool_digest_is_sha256() -> None:
    """`sha256_hex`, read from CPython's own SHA-256 module to spare a program OpenSSL, is hashlib's
    SHA-256 (spool directory names stay what earlier versions made, so their segments are found)."""
    import hashlib

    from shipper.transports import sha256_hex

    for data in (b"", b"abc", "spool-\u00e9".encode() * 100):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
