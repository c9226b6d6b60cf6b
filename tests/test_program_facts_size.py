"""A program whose facts are large (run with a long argv: a tool given 20,000 file names, one argument
of 120 KB; or set up with 30,000 `redact_keys`) keeps and ships every record: each segment holds the
program's facts, and they did not fit (every record was lost, counted "unformattable"). argv past 16 K
characters is one text saying how many arguments were left out, whole arguments only, so what is
left out is never sent in part. Real programs, real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import programs
from helpers.delivered import documents

from kibana.setup import install_template
from shipper.environment import ARGV_KEPT

_PROGRAM = """
import logging, os, sys
import shipper

url, spool, prefix = os.environ["T_URL"], os.environ["T_SPOOL"], os.environ["T_PREFIX"]
keys = int(os.environ["T_KEYS"])
handler = shipper.install("facts", es_url=url, spool_path=spool, index_prefix=prefix, idle_exit=3,
                          redact_keys=[f"key_{n:05d}" for n in range(keys)])
log = logging.getLogger("facts")
for i in range(40):
    log.warning("record %d", i)
    print(f"EXPECT record {i}")
print("DROPPED", handler.stats().dropped)
print("DELIVERED", handler.wait_delivered(60))
"""

_SHAPES = {
    "argv-20000-file-names": ([f"file{n:06d}.txt" for n in range(20_000)], 0),
    "argv-one-argument-of-120-kb-then-a-secret": (["c" * 120_000, "--token", "SECRETTOKENVALUE"], 0),
    "argv-three-arguments-of-100-kb": (["d" * 100_000] * 3, 0),
    "argv-short-30000-redact-keys": (["--short"], 30_000),
}


@pytest.mark.parametrize("shape", list(_SHAPES))
def test_a_program_with_large_facts_ships_every_record(
    es: Any, es_url: str, index_prefix: str, tmp_path: Path, shape: str
) -> None:
    """Every record of a program with a long argv or many redaction rules arrives once, none dropped;
    its argv on the node is bounded and holds nothing of the arguments left out."""
    install_template(es, index_prefix)
    args, keys = _SHAPES[shape]
    env = {"T_URL": es_url, "T_SPOOL": str(tmp_path / "spool"), "T_PREFIX": index_prefix, "T_KEYS": str(keys)}
    done = programs.run(_PROGRAM, tmp_path, args=args, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DROPPED 0" in done.stdout and "DELIVERED True" in done.stdout, done.stdout[-500:]
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want) == want
    doc = next(d for d in documents(es, index_prefix) if d.get("message") == "record 0")
    sent = doc["process"]["args"]
    assert sum(map(len, sent[:-1])) <= ARGV_KEPT or len(sent) == 2, [len(a) for a in sent]
    assert len(json.dumps(doc)) < 3 * ARGV_KEPT + 20_000
    assert "SECRETTOKENVALUE" not in json.dumps(doc)
    if sum(map(len, args)) > ARGV_KEPT:
        assert sent[-1].endswith("characters) left out]")
