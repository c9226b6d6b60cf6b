"""A program's own argv reaches the node redacted by the program's rules (the defaults and its own
`redact_keys`/`redact_patterns`), whether the agent redacts it (the default) or the program does
(`redact_before_spool`); and with `redact_before_spool` no argv secret ever reaches the spool. Real
programs and a real node."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents
from helpers.ports import free_port

from shipper.redaction import REDACTED

# Secrets as programs get them on their command line: a password flag and its value, a flag of the
# program's own secret name, an inline value, credentials in a URL, a value the user's pattern names.
SECRETS = ("Hunter2pass", "TENANTc0de", "s3cretInline", "urlPw77", "zq-7731-token")
ARGV = (
    "--password", "Hunter2pass",
    "--tenant-code", "TENANTc0de",
    "--api-key=s3cretInline",
    "https://deploy:urlPw77@db.example.invalid/app",
    "--label", "zq-7731-token",
    "--verbose",
)  # fmt: skip

SCRIPT = """
    import logging, sys, shipper
    handler = shipper.install(service="argv", es_url=sys.argv[1], index_prefix=sys.argv[2],
                              spool_path=sys.argv[3], redact_keys=["tenant_code"],
                              redact_patterns=[r"zq-\\d+-token"], redact_before_spool=sys.argv[4] == "1")
    log = logging.getLogger("argv")
    log.info("started")
    try:
        int("x")
    except ValueError:
        log.exception("failed")
    if sys.argv[1].startswith("http://127.0.0.1:{closed}"):
        handler.close()
    else:
        assert handler.wait_delivered(60), "not delivered"
"""


def _run(tmp_path: Path, es_url: str, prefix: str, before_spool: bool, closed: int = 0) -> Path:
    spool = tmp_path / "spool"
    done = programs.run(
        SCRIPT.replace("{closed}", str(closed)),
        tmp_path,
        args=(es_url, prefix, str(spool), "1" if before_spool else "0", *ARGV),
    )
    assert done.returncode == 0, done.stderr
    return spool


@pytest.mark.parametrize("before_spool", [False, True], ids=["agent-redacts", "redact-before-spool"])
def test_argv_reaches_the_node_redacted_by_the_programs_rules(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, before_spool: bool
) -> None:
    """Every document's process.args (and the error's logloop.env.argv) hides each argv secret, those
    of the program's own key and pattern included, and keeps the ordinary arguments."""
    _run(tmp_path, es_url, index_prefix, before_spool)
    docs = documents(es, index_prefix, {"exists": {"field": "message"}})
    assert sorted(doc["message"] for doc in docs) == ["failed", "started"]
    for doc in docs:
        args = doc["process"]["args"]
        assert not [secret for secret in SECRETS if secret in repr(args)], args
        assert args[-1] == "--verbose" and "--password" in args and REDACTED in args
        argv = doc.get("logloop", {}).get("env", {}).get("argv")
        if argv is not None:
            assert argv == args
    assert any("env" in doc.get("logloop", {}) for doc in docs)  # the error's environment has argv too


def test_with_redact_before_spool_no_argv_secret_reaches_the_spool(index_prefix: str, tmp_path: Path) -> None:
    """Records that cannot be delivered (a closed port) wait in the spool: with `redact_before_spool`
    none of its files holds an argv secret."""
    closed = free_port()
    spool = _run(tmp_path, f"http://127.0.0.1:{closed}", index_prefix, before_spool=True, closed=closed)
    files = [path for path in spool.rglob("*") if path.is_file()]
    assert any(path.stat().st_size for path in files)  # the records are there, undelivered
    for path in files:
        data = path.read_bytes()
        assert not [secret for secret in SECRETS if secret.encode() in data], path
