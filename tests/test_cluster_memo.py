"""The memos that make `logloop cluster` fast never change a result, and stay within their bounds."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from shipper import cluster_cli
from shipper.cluster_cli import Assignment, cluster_lines
from shipper.grouping.fingerprint import Fingerprint, clear_caches, fingerprint_document
from shipper.grouping.tracebacks import MISSING, TextMemo

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "tracebacks" / "corpus.jsonl"
LIBRARY_RAISE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/fleetapp/billing.py", line 20, in charge\n'
    "    return client.post(url)\n"
    '  File "/srv/venv/lib/python3.11/site-packages/httplib/api.py", line 88, in post\n'
    '    raise HTTPError(f"{status} for {url}")\n'
    "httplib.HTTPError: 503 for https://pay.example/charge\n"
)
FRAMES_ONLY = 'Traceback (most recent call last):\n  File "/srv/app/job.py", line 3, in run\n    step()\n'


def corpus_docs() -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for doc in docs:
        doc.pop("label", None)
    return docs


def fleet_lines() -> list[str]:
    """The corpus as a fleet sends it: every event twice or more, in shuffled order."""
    docs = corpus_docs()
    rng = random.Random(5)
    events = docs + rng.choices(docs, k=2 * len(docs))
    rng.shuffle(events)
    return [json.dumps(doc) for doc in events]


def test_clusters_and_titles_are_the_same_with_memos_cold_and_warm() -> None:
    """Grouping a file twice (memos empty, then full) gives each line the key that the document alone
    gives, fingerprinted with every memo emptied before it, and the title its key's first line alone
    gives (a cluster has one title)."""
    lines = fleet_lines()
    clear_caches()
    cold = cluster_lines(lines)
    warm = cluster_lines(lines)
    alone = []
    first_titles: dict[str, str] = {}
    for line in lines:
        clear_caches()
        found = fingerprint_document(json.loads(line))
        alone.append((found.key, first_titles.setdefault(found.key, found.name)))
    assert cold == warm
    assert [(item.cluster, item.title) for item in cold] == alone
    assert len(set(lines)) < len(lines)  # the memo was hit


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            {"log": {"logger": "fleetapp.billing"}, "error": {"stack_trace": LIBRARY_RAISE}},
            {"log": {"logger": "uvicorn.error"}, "error": {"stack_trace": LIBRARY_RAISE}},
            id="same-text-other-program",
        ),
        pytest.param(
            {"error": {"stack_trace": FRAMES_ONLY, "type": "KeyError", "message": "'sku'"}},
            {"error": {"stack_trace": FRAMES_ONLY, "type": "TimeoutError", "message": "late"}},
            id="frames-only-typed-by-the-event",
        ),
    ],
)
def test_a_shared_memo_keys_the_same_text_as_each_event_says(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Where the traceback text alone does not decide the key (the logger names the program, the
    exception line is missing), two events with the same text get what they get without a memo."""
    memo: TextMemo[Fingerprint | None] = TextMemo(16, 100_000)
    with_memo = [fingerprint_document(doc, memo=memo) for doc in (first, second, first, second)]
    without = [fingerprint_document(doc) for doc in (first, second, first, second)]
    assert with_memo == without
    assert with_memo[0].key != with_memo[1].key


def test_text_memo_stays_within_its_entry_and_character_bounds() -> None:
    """However many texts are put, the memo holds at most its bound of entries and characters
    (counted), dropping the oldest first."""
    memo: TextMemo[int] = TextMemo(entries=50, characters=20_000)
    rng = random.Random(1)
    texts = [f"{index}:" + "x" * rng.randrange(10, 1_000) for index in range(400)]
    for index, text in enumerate(texts):
        memo.put(text, "", index)
        assert len(memo) <= 50
        assert memo.characters <= 20_000
        assert memo.characters == sum(
            len(held) for held in texts[: index + 1] if memo.get(held) is not MISSING
        )
    assert memo.get(texts[-1]) == len(texts) - 1
    assert memo.get(texts[0]) is MISSING


def test_text_memo_tells_apart_texts_that_share_a_sample() -> None:
    """Texts of one length that differ only where no character is sampled, or only by their tag,
    each get their own value."""
    base = "a" * 200
    other = base[:33] + "b" + base[34:]  # position 33: between two sampled characters
    memo: TextMemo[str] = TextMemo(8, 10_000)
    memo.put(base, "", "base")
    assert memo.get(other) is MISSING
    memo.put(other, "", "other")
    memo.put(base, "pkg", "base in pkg")
    assert (memo.get(base), memo.get(other), memo.get(base, "pkg")) == ("base", "other", "base in pkg")


def test_text_memo_computes_each_text_and_tag_once() -> None:
    """`get_or_compute` calls `compute` only for a text and tag it does not hold (texts sharing a
    sample included), and holds what it computed for `get`."""
    base = "a" * 200
    other = base[:33] + "b" + base[34:]  # the same sample as `base`
    memo: TextMemo[str] = TextMemo(8, 10_000)
    calls: list[tuple[str, str]] = []

    def compute(text: str, tag: str) -> str:
        calls.append((text, tag))
        return f"{text[33]}{len(calls)}{tag}"

    found = [
        memo.get_or_compute(text, tag, compute) for text, tag in [(base, ""), (other, ""), (base, "p")] * 2
    ]
    assert found == ["a1", "b2", "a3p"] * 2
    assert calls == [(base, ""), (other, ""), (base, "p")]
    assert (memo.get(base), memo.get(other), memo.get(base, "p"), len(memo)) == ("a1", "b2", "a3p", 3)


def test_text_memo_does_not_hold_one_text_of_a_quarter_of_its_bound() -> None:
    """A text longer than a quarter of the character bound is never held (one text cannot fill it)."""
    memo: TextMemo[int] = TextMemo(8, 1_000)
    memo.put("y" * 251, "", 1)
    memo.put("y" * 250, "", 2)
    assert (memo.get("y" * 251), memo.get("y" * 250), memo.characters) == (MISSING, 2, 250)


def test_lines_are_read_in_blocks_as_iterating_the_file_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading in blocks gives the lines iterating the file gives, whatever the block size."""
    rng = random.Random(7)
    for block in (1, 2, 5, 64):
        monkeypatch.setattr(cluster_cli, "_BLOCK", block)
        for _ in range(300):
            data = bytes(rng.choice(b'ab{}"\n\r') for _ in range(rng.randrange(0, 90)))
            assert list(cluster_cli._lines_of(io.BytesIO(data))) == list(io.BytesIO(data))


def test_written_lines_are_json_dumps_of_each_assignment() -> None:
    """The command's output lines are `json.dumps` of each assignment, error lines and non-ASCII
    titles included."""
    assignments = [
        Assignment(1, "k1", "ValueError: tür <NUM> (a.b)", "traceback"),
        Assignment(2, None, None, None, "not valid JSON (Expecting value at column 1)"),
        Assignment(3, "k1", "ValueError: tür <NUM> (a.b)", "traceback"),
        Assignment(4, "m-1", 'say "hi"\\', "message"),
    ]
    target = io.BytesIO()
    rows = [(a.cluster, a.title, a.category, a.error) for a in assignments]  # (numbered by position)
    cluster_cli._write(rows, target)
    assert target.getvalue().decode("utf-8") == "".join(
        json.dumps(a.as_json(), ensure_ascii=False) + "\n" for a in assignments
    )
