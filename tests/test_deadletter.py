"""The dead-letter file stays within its bound however many documents the node refuses (a program that
logs huge records, or records a mapping refuses, for days): old entries give way, and each one that
does is counted lost. Real programs, real node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import programs

from kibana.setup import install_template
from shipper import deadletter

pytestmark = pytest.mark.es

_PROGRAM = """
import json, logging, sys, time
import shipper
handler = shipper.install(
    "letters", es_url=sys.argv[1], index_prefix=sys.argv[2], spool_path=sys.argv[3],
    max_event_bytes=20_000, spool_max_bytes={spool_max_bytes}, idle_exit=2,
)
log = logging.getLogger("letters")
for n in range({count}):
    log.warning("%s %s", n, "y" * {size})
    if n % {pace} == {pace} - 1:  # the spool's own bound is another test's
        log.warning(f"small {{n}}")
        print(f"EXPECT small {{n}}", flush=True)
        assert handler.wait_delivered(60)
assert handler.wait_delivered(120)

def accounted():
    files = handler.spool_dir.parent.glob("spool.deadletter.jsonl*")
    kept = sum(len(path.read_bytes().splitlines()) for path in files)
    stats = handler.stats()
    return min(kept + dict(stats.lost).get("dead_letter_rotated", 0), stats.dead_lettered)

deadline = time.monotonic() + 10  # the agent writes its own counters (the lost ones) every 0.5 s
while accounted() < {count} and time.monotonic() < deadline:
    time.sleep(0.1)
stats = handler.stats()
print("STATS " + json.dumps({{"dead_lettered": stats.dead_lettered, "lost": dict(stats.lost)}}), flush=True)
"""


@pytest.mark.parametrize(
    ("size", "count", "pace", "spool_max_bytes"),
    [
        pytest.param(30_000, 200, 20, 8 << 20, id="many-30KB-refused"),
        pytest.param(600_000, 40, 2, 4 << 20, id="huge-600KB-refused"),
    ],
)
def test_the_dead_letter_file_stays_within_its_bound_and_counts_what_gives_way(
    size: int,
    count: int,
    pace: int,
    spool_max_bytes: int,
    es: Any,
    es_url: str,
    index_prefix: str,
    tmp_path: Path,
) -> None:
    """Refused documents fill at most twice a quarter of spool_max_bytes on disk (the file grew by
    every refused document, for ever); every refused record is either in the file or counted lost,
    and the small records between them arrive."""
    install_template(es, index_prefix)
    spool = tmp_path / "spool"
    script = _PROGRAM.format(count=count, size=size, pace=pace, spool_max_bytes=spool_max_bytes)
    done = programs.run(script, tmp_path, args=[es_url, index_prefix, str(spool)], timeout=180)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    want = programs.expected(done)
    assert programs.arrived(es, index_prefix, want, timeout=10) == want
    files = sorted(tmp_path.glob(f"spool{deadletter.SUFFIX}*"))
    on_disk = sum(path.stat().st_size for path in files)
    assert on_disk <= 2 * (spool_max_bytes // 4)
    entries = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    assert all("max_event_bytes" in entry["reason"] for entry in entries)
    assert all(entry["document_bytes"] > 20_000 for entry in entries)  # the whole size of what was refused
    assert all(
        len(entry["document"]) <= min(entry["document_bytes"], deadletter.DOCUMENT_KEPT) for entry in entries
    )
    stats = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("STATS "))[6:])
    assert stats["dead_lettered"] == count
    assert len(entries) + stats["lost"].get("dead_letter_rotated", 0) == count
    assert len(entries) < count  # the bound was reached: some gave way


@pytest.mark.parametrize("max_bytes", [16 * 1024, 256 * 1024, 4 << 20])
@pytest.mark.parametrize("document_bytes", [10, 5_000, 200_000, 3 << 20])
@pytest.mark.parametrize("per_write", [1, 7])
def test_any_stream_of_rejections_stays_within_twice_the_bound_and_counts_every_entry(
    max_bytes: int, document_bytes: int, per_write: int, tmp_path: Path
) -> None:
    """Whatever the bound, the documents' sizes and the batch sizes, the file and its one older copy
    hold at most twice the bound plus one batch, and entries kept plus entries reported dropped are
    every entry written."""
    letters = deadletter.DeadLetterFile(tmp_path / f"s{deadletter.SUFFIX}", max_bytes)
    body = json.dumps({"message": "é" * (document_bytes // 2)}).encode()
    written = dropped = 0
    for batch in range(60):
        rejections = [
            deadletter.Rejection(
                event_id=f"e{batch}-{n}", index="i", status=400, reason="refused", document=body
            )
            for n in range(per_write)
        ]
        dropped += letters.write(rejections)
        written += per_write
        files = list(tmp_path.glob(f"s{deadletter.SUFFIX}*"))
        largest_batch = per_write * (min(deadletter.DOCUMENT_KEPT, max_bytes // 8) * 6 + 300)
        assert sum(path.stat().st_size for path in files) <= 2 * max_bytes + largest_batch
    kept = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    assert len(kept) + dropped == written
    assert all(entry["document_bytes"] == len(body) for entry in kept)
