"""A record larger than the whole spool bound (a 5 MB or 50 MB message, a huge extra, with a small
`spool_max_bytes`) never takes the disk past the bound: it is dropped and counted, and the records
around it are kept and delivered. Real programs, real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template

pytestmark = pytest.mark.es

_PROGRAM = """
import json, logging, os, sys
import shipper
spool = sys.argv[3]
handler = shipper.install(
    "bound", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=spool,
    spool_max_bytes={bound}, spool_overflow="{policy}", idle_exit=2,
)
log = logging.getLogger("bound")
largest = 0
def on_disk():
    names = [name for name in os.listdir(spool) if name.endswith(".seg")]
    return sum(os.path.getsize(os.path.join(spool, name)) for name in names)
for n in range(3):
    log.warning(f"small {{n}}")
    print(f"EXPECT small {{n}}", flush=True)
    {huge}
    largest = max(largest, on_disk())
    assert handler.wait_delivered(30)
stats = handler.stats()
print("STATS " + json.dumps({{"largest": largest, "lost": dict(stats.lost)}}), flush=True)
"""

_HUGE = {
    "message-5MB": 'log.warning("%s", "x" * 5_000_000)',
    "message-50MB-no-args": 'log.warning("y" * 50_000_000)',
    "extra-8MB": 'log.warning("with extra", extra={"blob": "z" * 8_000_000})',
    "exception-6MB": 'log.error("failed", exc_info=ValueError("e" * 6_000_000))',
    "message-3MB-with-its-stack": 'log.warning("%s", "s" * 3_000_000, stack_info=True)',
}


@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest"])
@pytest.mark.parametrize("huge", list(_HUGE))
def test_a_record_larger_than_the_spool_bound_is_dropped_counted_and_holds_back_nothing(
    huge: str, policy: str, es: Any, es_url: str, index_prefix: str, tmp_path: Path
) -> None:
    """The spool's segments never exceed spool_max_bytes (a 50 MB message made a 50 MB segment in a
    1 MB spool); each huge record is either sent (cut, where the capture cuts that part) or counted
    lost as too large, and the small ones arrive once."""
    install_template(es, index_prefix)
    bound = 1 << 20
    script = _PROGRAM.format(bound=bound, policy=policy, huge=_HUGE[huge])
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(tmp_path / "spool")], timeout=120)
    assert done.returncode == 0, done.stderr
    stats = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("STATS "))[6:])
    assert stats["largest"] <= bound
    assert set(stats["lost"]) <= {"record_too_large"}
    want = programs.expected(done)
    found = programs.arrived(es, index_prefix, want, timeout=10)
    assert {message: found[message] for message in want} == want
    huge_arrived = sum(count for message, count in found.items() if message not in want)
    assert huge_arrived + stats["lost"].get("record_too_large", 0) == 3  # each huge one: sent cut, or counted
