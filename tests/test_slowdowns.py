"""Why an operation got slow: the digest compares its slow calls with all its calls on the real node
(analyzers.slowdowns), and says what sets them apart, or that nothing does."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import helpers.digest_docs as docs
import pytest
from helpers.prefixes import delete_prefix

from analyzers import slowdowns
from analyzers.digest import Digest, build_digest
from analyzers.digest_window import Window
from analyzers.render import ms
from analyzers.store import Store
from analyzers.suspects import SuspectTest
from kibana.setup import install_template

NOW = docs.UNTIL
START = docs.UNTIL - docs.WINDOW
BEFORE = START - docs.WINDOW


def _calls(
    action: str, start: datetime, count: int, low_ms: int, high_ms: int, **fields: Any
) -> list[dict[str, Any]]:
    """`count` calls spread over the week from `start`, lasting from `low_ms` to `high_ms`."""
    step = docs.WINDOW / (count + 1)
    return [
        docs.event(
            start + step * (i + 1),
            **{
                "event.action": action,
                "event.duration": (low_ms + (high_ms - low_ms) * i // max(count - 1, 1)) * 1_000_000,
                "event.outcome": "success",
                **fields,
            },
        )
        for i in range(count)
    ]


def _scenario() -> list[dict[str, Any]]:
    web1 = {"host.name": "web-1", "service.version": "1.0"}
    web2_old = {"host.name": "web-2", "service.version": "1.0"}
    web2_new = {"host.name": "web-2", "service.version": "1.1"}
    timeout = {
        "log.level": "error",
        "event.outcome": "failure",
        "error.type": "TimeoutError",
        "error.message": "read timed out",
    }
    return [
        # db.query: slow on web-2 once it ran 1.1, and most of those slow calls timed out.
        *_calls("db.query", BEFORE, 40, 5, 50, **web1),
        *_calls("db.query", BEFORE, 40, 5, 50, **web2_old),
        *_calls("db.query", START, 40, 5, 40, **web1),
        *_calls("db.query", START, 8, 400, 900, **web2_new),
        *_calls("db.query", START, 12, 600, 900, **web2_new, **timeout),
        # report.render: slower everywhere alike.
        *_calls("report.render", BEFORE, 30, 10, 20, **web1),
        *_calls("report.render", BEFORE, 30, 10, 20, **web2_old),
        *_calls("report.render", START, 30, 100, 200, **web1),
        *_calls("report.render", START, 30, 100, 200, **web2_old),
        # cache.get: as fast as before.
        *_calls("cache.get", BEFORE, 20, 1, 3, **web1),
        *_calls("cache.get", START, 20, 1, 3, **web1),
    ]


@pytest.fixture(scope="module")
def digest(es: Any) -> Iterator[Digest]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    install_template(es, prefix)
    docs.index_docs(es, prefix, _scenario())
    try:
        yield build_digest(Store(es, prefix), docs.WINDOW, docs.UNTIL, NOW, title="ops weekly")
    finally:
        delete_prefix(es, prefix)


@pytest.mark.es
def test_a_slowdown_confined_to_a_host_and_release_names_them(digest: Digest) -> None:
    """The slow calls of db.query all came from web-2 on 1.1, most failing: the digest names the host, the
    version, the error and that 1.1 did not run it before; counts are the node's."""
    why = digest.report.insights.slowdowns["db.query"]
    assert (why.slow, why.calls, why.failed) == (20, 60, 12)
    assert {(t.dimension, t.value) for t in why.traits} == {
        ("outcome", "failure"),
        ("host", "web-2"),
        ("version", "1.1"),
        ("error", "TimeoutError"),
    }
    assert why.new_versions == ("1.1",)
    sentence = why.sentence(ms)
    assert sentence.startswith("20 of 60 calls took longer than ")
    assert "100% of them came from host web-2 (against 33% of all its calls)" in sentence
    assert "60% of them failed (against 20% of all its calls)" in sentence
    assert "60% of them failed with TimeoutError (against 20% of all its calls)" in sentence
    assert "version 1.1 did not run it before" in sentence


@pytest.mark.es
def test_a_slowdown_everywhere_alike_says_nothing_sets_it_apart(digest: Digest) -> None:
    """report.render got slower on every host alike: no trait is named, and the sentence says so."""
    why = digest.report.insights.slowdowns["report.render"]
    assert why.traits == () and why.new_versions == () and why.failed == 0
    assert why.slow == 60
    assert why.sentence(ms).endswith(
        "no outcome, host, version, service or error sets them apart from its other calls."
    )


@pytest.mark.es
def test_an_operation_as_fast_as_before_gets_no_why(digest: Digest) -> None:
    """cache.get kept its speed: it has a row in the table but no explanation."""
    assert "cache.get" in {o.action for o in digest.report.operations}
    assert "cache.get" not in digest.report.insights.slowdowns


@pytest.mark.es
@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_every_format_carries_the_why(digest: Digest, fmt: str) -> None:
    """Each digest format says why db.query got slower, once, next to the operation."""
    rendered = digest.render(fmt)
    if fmt == "json":
        found = json.loads(rendered)["insights"]["slowdowns"]["db.query"]["why"]
        assert found.startswith("20 of 60 calls")
        return
    assert len(re.findall(r"20 of 60 calls took longer than", rendered)) == 1


def _bucket(
    slow: dict[str, list[tuple[str, int]]], calls: dict[str, list[tuple[str, int]]]
) -> dict[str, Any]:
    def terms(values: dict[str, list[tuple[str, int]]]) -> dict[str, Any]:
        return {
            name: {"buckets": [{"key": k, "doc_count": n} for k, n in values.get(name, [])]}
            for name in slowdowns.DIMENSIONS
        }

    return {
        "slow": {"doc_count": sum(n for _, n in slow.get("host", [])), **terms(slow)},
        "calls": {"doc_count": sum(n for _, n in calls.get("host", [])), **terms(calls)},
        "before": {"versions": {"buckets": []}},
    }


def test_few_slow_calls_name_no_suspect() -> None:
    """Three slow calls, all on one host of two, are too few to blame the host (the suspects test's
    minimum count), and a version never seen before is not claimed new without a previous window."""
    operation = slowdowns.Operation(action="a", p95_ms=100.0, previous_p95_ms=10.0)
    response = {
        "aggregations": {
            "op0": _bucket(
                {"host": [("web-2", 3)], "version": [("2.0", 3)]},
                {"host": [("web-1", 50), ("web-2", 50)], "version": [("2.0", 100)]},
            )
        }
    }
    found = slowdowns.slowdowns([operation], response, SuspectTest())["a"]
    assert found.traits == () and found.new_versions == ()
    assert found.sentence(ms).endswith("; too few to tell what sets them apart.")


@pytest.mark.parametrize(
    ("p95", "previous", "slowed"),
    [(100.0, 10.0, True), (20.0, 10.0, True), (19.9, 10.0, False), (5.0, None, False), (5.0, 0.0, False)],
)
def test_only_an_operation_twice_as_slow_is_explained(
    p95: float, previous: float | None, slowed: bool
) -> None:
    """Only operations whose p95 at least doubled against a known previous p95 are explained (and
    asked for)."""
    operation = slowdowns.Operation(action="a", p95_ms=p95, previous_p95_ms=previous)
    window = Window.ending(docs.UNTIL, timedelta(days=7))
    assert (slowdowns.request(window, slowdowns.got_slow([operation])) is not None) is slowed
