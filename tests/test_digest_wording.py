"""Counts in every digest format, and in the sentences the analyzers write, agree with their nouns:
"1 event", never "1 events" (the scenario's recorded query results, every count set to one)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzers.digest_data import DigestData
from analyzers.digest_model import LIST_LIMIT, TOP_GROUPS, build_report
from analyzers.digest_window import Window
from analyzers.render import render
from analyzers.rootcause import ValueShare
from analyzers.slowdowns import Slowdown
from analyzers.wording import counted, plural

DATA = Path(__file__).parent / "data" / "digest"
GENERATED_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

# A count of one before a plural noun, in any format (Markdown's `**` and HTML's tags allowed between).
ONE_THEN_PLURAL = re.compile(
    r"(?<![\d,.])1(?:</strong>|\*\*)? (?:more (?:new |regressed |resolved )?)?"
    r"(?:events|groups|calls|processes|error lines|sampled occurrences|hosts|errors)\b"
)


def _singular_data(groups: int = max(TOP_GROUPS, LIST_LIMIT) + 1) -> DigestData:
    """The golden scenario with `groups` new groups (by default one more than the top list and the new
    list show), each group, error line, operation and shipper process counted once."""
    document = json.loads((DATA / "scenario_data.json").read_text())
    window = document.pop("window")
    template, detail = document["groups"][0], document["details"][document["groups"][0]["key"]]
    keys = [f"{n:040x}" for n in range(groups)]
    document["groups"] = [{**template, "key": key, "count": 1, "previous_count": 0} for key in keys]
    document["details"] = {key: {**copy.deepcopy(detail), "daily": [1, 0, 0, 0, 0, 0, 0]} for key in keys}
    document["details"][keys[0]].update(host_count=1, hosts=["web-1"])
    document["first_seen"] = {key: template["window_first"] for key in keys}
    document["error_lines"] = [{**document["error_lines"][0], "count": 1, "previous_count": 1, "hosts": 1}]
    document["totals"]["current"].update(error_lines=2, error_line_groups=2, errors=1, events=3)
    document["operations"] = [{**document["operations"][0], "count": 1, "previous_count": 1}]
    document["shipper"] = document["shipper"][:1]
    return DigestData(
        window=Window(*(datetime.fromisoformat(window[name]) for name in ("start", "end"))), **document
    )


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_a_count_of_one_reads_in_the_singular_in_every_format(fmt: str) -> None:
    """No digest format writes "1 events", "1 more new groups", "1 processes" or the like."""
    report = build_report(_singular_data(), title="billing weekly", generated_at=GENERATED_AT)
    assert report.more_groups == 1 and len(report.new_groups) == LIST_LIMIT + 1
    rendered = render(report, fmt)
    assert ONE_THEN_PLURAL.findall(rendered) == []
    assert "1 event" in rendered and "1 more new group" in rendered and "1 more group (1 event;" in rendered
    if fmt != "html":
        assert "1 process reporting" in rendered


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        pytest.param(1, "event", "1 event", id="one"),
        pytest.param(0, "event", "0 events", id="zero"),
        pytest.param(2, "event", "2 events", id="two"),
        pytest.param(1204, "event", "1,204 events", id="thousands"),
        pytest.param(1.0, "event", "1 event", id="one-as-float"),
        pytest.param(1.5, "hour", "1.5 hours", id="fraction"),
        pytest.param(1, "process", "1 process", id="irregular-one"),
        pytest.param(3, "process", "3 processes", id="irregular-many"),
        pytest.param(2, "sampled occurrence", "2 sampled occurrences", id="phrase"),
        pytest.param(None, "event", "– events", id="missing"),
        pytest.param(float("nan"), "event", "– events", id="nan"),
    ],
)
def test_counted_words_a_count_with_its_noun(count: float | None, noun: str, expected: str) -> None:
    """`counted` puts the noun in the number the count asks for, missing counts as a dash."""
    assert counted(count, noun) == expected


def test_plural_agrees_verbs_too() -> None:
    """`plural("is", n)` gives "is" for one and "are" otherwise (the digest's "the other 1 group is")."""
    assert (plural("is", 1), plural("is", 2), plural("is", 0)) == ("is", "are", "are")


def test_root_cause_and_slowdown_sentences_count_in_the_singular() -> None:
    """A suspect seen in one event and a slowdown of one call say "1 event" and "1 call"."""
    share = ValueShare(
        dimension="host",
        value="web-1",
        count=1,
        share=1.0,
        population_share=0.1,
        p_adjusted=0.01,
        suspect=True,
    )
    assert "(1 event)" in share.sentence()
    slow = Slowdown(
        action="db.query",
        threshold_ms=10.0,
        slow=1,
        calls=1,
        failed=0,
        traits=(),
        new_versions=(),
        min_count=5,
    )
    assert slow.sentence(lambda ms: f"{ms} ms").startswith("1 of 1 call took longer than 10.0 ms")


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_counts_past_a_thousand_have_their_separators_everywhere(fmt: str) -> None:
    """With 1,011 new groups every count reads "1,011", "1,001 more new groups (1,011 in all)"."""
    report = build_report(_singular_data(1011), title="billing weekly", generated_at=GENERATED_AT)
    rendered = render(report, fmt)
    assert "1,001 more new groups (1,011 in all)" in rendered
    assert "the other 1,001 groups are counted" in rendered
    assert re.findall(r"(?<![\d,])1\d{3}(?![\d,])", rendered.replace(report.new_groups[0].key, "")) == []
