"""Environment facts: cached per process, refreshed after fork, allow-listed and redacted variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
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
