"""End to end on the real node: a five-week scenario of known truth (tests/truth_scenario.py) replayed
day by day through `logloop setup`, `regroup`, `resolve`, a daily `analyze` and `digest`; every status,
count and listing of the digest (JSON and text) is checked against the scenario's truth."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import helpers.truth_scenario as truth
import pytest
from helpers.prefixes import delete_prefix

from analyzers import registry
from analyzers.store import Store
from logloop.cli import main
from shipper.schema import index_for

pytestmark = pytest.mark.es


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def cli(*argv: str) -> None:
    assert main(list(argv)) == 0, argv


def index_day(es: Any, prefix: str, docs: Sequence[dict[str, Any]]) -> None:
    operations: list[dict[str, Any]] = []
    for doc in docs:
        at = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        operations += [{"create": {"_index": index_for(at, prefix), "_id": doc["event"]["id"]}}, doc]
    # The node is shared: a day's first write creates its index, which can take a while under load.
    response = es.options(request_timeout=120).bulk(operations=operations, refresh="wait_for")
    assert not response["errors"], response["items"][:2]


class Replay:
    """What the replay saw: the digest documents and the registry status of every group after each day."""

    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}  # scenario group -> stored grouping keys
        self.daily_status: dict[int, dict[str, str]] = {}
        self.json: dict[str, Any] = {}
        self.text = ""


@pytest.fixture(scope="module")
def replay(es: Any, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    """Replay the scenario once for every test of this module (the indices are deleted afterwards)."""
    prefix = f"truth{__import__('uuid').uuid4().hex[:8]}"
    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    for name in ("LOGLOOP_CONFIG", "LOGLOOP_KIBANA_URL", "LOGLOOP_KIBANA_API_KEY"):
        patch.delenv(name, raising=False)
    patch.setenv("HOME", str(home))
    patch.setenv("LOGLOOP_ES_URL", es_url)
    patch.setenv("LOGLOOP_INDEX_PREFIX", prefix)
    try:
        yield _run(es, prefix, home)
    finally:
        patch.undo()
        delete_prefix(es, prefix)


def _run(es: Any, prefix: str, home: Path) -> Replay:
    result = Replay()
    key_of = {
        group: truth.group_event(group, 1, 0)["error"]["grouping_key"]
        for group in truth.EXPECTED
        if group not in truth.FOREIGN
    }
    cli("setup")
    for day in range(1, truth.DAYS + 1):
        events = list(truth.events_of_day(day))
        index_day(es, prefix, [doc for _, doc in events])
        if day == 14:  # the explicit command once; `analyze` assigns missing keys on the other days
            cli("regroup")
        for resolve in truth.RESOLVES:
            if resolve.at.date() == truth.day_start(day).date():
                cli(
                    "resolve",
                    key_of[resolve.group],
                    "--in-version",
                    resolve.in_version,
                    "--at",
                    iso(resolve.at),
                )
        cli("analyze", "--until", iso(truth.day_start(day + 1)))
        status = {group.group_id: group.status for group in registry.load_groups(Store(es, prefix))}
        result.daily_status[day] = status
    stored = es.search(
        index=f"{prefix}-20*",
        size=0,
        query={"exists": {"field": "error.grouping_key"}},
        aggs={"keys": {"terms": {"field": "error.grouping_key", "size": 100}}},
    )
    buckets = stored["aggregations"]["keys"]["buckets"]
    result.keys = {group: set() for group in truth.EXPECTED}
    markers = {
        "gateway_timeout": "payment gateway",
        "quota_exceeded": "disk quota",
        "session_expired": "session",
    }
    for group, marker in markers.items():
        for bucket in buckets:
            hits = es.search(
                index=f"{prefix}-20*", size=1, query={"term": {"error.grouping_key": bucket["key"]}}
            )
            if marker in hits["hits"]["hits"][0]["_source"]["message"]:
                result.keys[group].add(bucket["key"])
    for group, key in key_of.items():
        result.keys[group] = {key}
    output = home / "digest.json"
    cli("digest", "--window", "7d", "--until", iso(truth.UNTIL), "--format", "json", "-o", str(output))
    result.json = json.loads(output.read_text(encoding="utf-8"))
    text = home / "digest.txt"
    cli("digest", "--window", "7d", "--until", iso(truth.UNTIL), "--format", "text", "-o", str(text))
    result.text = text.read_text(encoding="utf-8")
    return result


def only_key(replay: Replay, group: str) -> str:
    (key,) = replay.keys[group]
    return key


def rows_by_key(replay: Replay) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name in ("top_groups", "new_groups", "regressed_groups", "resolved_groups"):
        for row in replay.json[name]:
            rows[row["key"]] = row
    return rows


def test_every_bug_is_one_group_including_another_shippers_lines(replay: Replay) -> None:
    """Each scenario bug has exactly one grouping key, message-only lines from another shipper included."""
    assert {group: len(keys) for group, keys in replay.keys.items()} == dict.fromkeys(truth.EXPECTED, 1)


def test_every_status_in_the_digest_is_the_designed_one(replay: Replay) -> None:
    """The digest's status of every group is the status the scenario was built to reach."""
    rows = rows_by_key(replay)
    statuses = {group: rows[only_key(replay, group)]["status"] for group in truth.EXPECTED}
    assert statuses == truth.EXPECTED
    designed = {status: 0 for status in ("new", "escalating", "regressed", "resolved")}
    for status in truth.EXPECTED.values():
        if status in designed:
            designed[status] += 1
    assert replay.json["status_counts"] == designed


def test_a_bug_that_persists_never_escalates_and_a_fixed_one_never_regresses(replay: Replay) -> None:
    """Day by day: the bug that started on day 20 at a steady rate is never escalating, and the group
    resolved on day 31 (whose later window events predate the fix) never reads regressed."""
    persistent = only_key(replay, "persistent")
    fixed = only_key(replay, "fixed_this_week")
    seen = {day: status.get(persistent) for day, status in replay.daily_status.items()}
    assert "escalating" not in seen.values()
    assert all(seen[day] == "new" for day in range(20, 27))
    assert {replay.daily_status[day][fixed] for day in range(31, 36)} == {"resolved"}


def test_counts_are_true(replay: Replay) -> None:
    """Measures, per-group counts and the error lines without traceback match the scenario's events."""
    measures = {m["name"]: (m["current"], m["previous"]) for m in replay.json["measures"]}
    groups = list(truth.EXPECTED)
    tracebacks = [group for group in groups if group not in truth.FOREIGN]
    current = {group: truth.count(group, 29, 35) for group in groups}
    previous = {group: truth.count(group, 22, 28) for group in groups}

    def spread(first_day: int, last_day: int) -> tuple[int, int]:
        docs = [doc for day in range(first_day, last_day + 1) for _, doc in truth.events_of_day(day)]
        return len(docs), len({doc["host"]["name"] for doc in docs})

    (events_now, hosts_now), (events_before, hosts_before) = spread(29, 35), spread(22, 28)
    assert measures["events"] == (events_now, events_before)
    assert measures["hosts"] == (hosts_now, hosts_before)
    assert measures["errors"] == (sum(current.values()), sum(previous.values()))
    assert measures["tracebacks"] == (
        sum(current[group] for group in tracebacks),
        sum(previous[group] for group in tracebacks),
    )
    assert measures["groups"] == (
        sum(1 for group in groups if current[group]),
        sum(1 for group in groups if previous[group]),
    )
    rows = rows_by_key(replay)
    for group in groups:
        row = rows.get(only_key(replay, group))
        if current[group] or truth.EXPECTED[group] == "resolved":
            assert row is not None, group
            assert (row["count"], row["previous_count"]) == (current[group], previous[group]), group
    lines = {line["template"]: (line["count"], line["previous_count"]) for line in replay.json["error_lines"]}
    assert lines == {
        "payment gateway timeout after <NUM> ms for order <NUM>": (
            current["gateway_timeout"],
            previous["gateway_timeout"],
        ),
        "disk quota exceeded on volume <ID> (<NUM>% used)": (
            current["quota_exceeded"],
            previous["quota_exceeded"],
        ),
        "login session expired for user <*>": (current["session_expired"], previous["session_expired"]),
    }


def test_new_regressed_and_resolved_groups_are_all_listed_with_dates_and_versions(replay: Replay) -> None:
    """The lists name every new, regressed and resolved group; regressions say when and on which version
    they came back, resolved groups the version that resolved them."""
    document = replay.json
    assert [row["key"] for row in document["new_groups"]] == [
        only_key(replay, "quota_exceeded"),
        only_key(replay, "new"),
    ]
    regressed = [
        (row["key"], row["regressed_at"], row["regressed_in_version"]) for row in document["regressed_groups"]
    ]
    assert regressed == [
        (only_key(replay, "back_after_fix"), iso_utc(truth.first_event_at("back_after_fix", 33)), "1.2"),
        (only_key(replay, "back_after_quiet"), iso_utc(truth.first_event_at("back_after_quiet", 32)), "3.0"),
    ]
    assert document["regressed_groups"][0]["resolved_in_version"] == "1.2"
    resolved = [
        (row["key"], row["resolved_in_version"], row["resolved_at"]) for row in document["resolved_groups"]
    ]
    fixed_at = next(r.at for r in truth.RESOLVES if r.group == "fixed_this_week")
    assert resolved == [
        (only_key(replay, "fixed_this_week"), "1.3", iso_utc(fixed_at)),
        (only_key(replay, "fixed_by_release"), "2.1", iso_utc(truth.day_start(31))),
    ]


def iso_utc(moment: datetime) -> str:
    return moment.isoformat()


def test_the_text_digest_says_the_same(replay: Replay) -> None:
    """The text digest lists the regressed and resolved groups with their versions, and a regressed
    group whose previous window was empty does not read "new"."""
    text = replay.text
    assert "Groups: 2 new, 1 escalating, 2 regressed, 2 resolved" in text
    regressed = text[text.index("REGRESSED (2)") : text.index("RESOLVED (2)")]
    assert regressed.count("came back") == 2
    assert "on version 1.2 (resolved in that version: its fix did not hold)" in regressed
    resolved = text[text.index("RESOLVED (2)") : text.index("ERROR LINES WITHOUT TRACEBACK")]
    assert "resolved in version 1.3" in resolved and "resolved in version 2.1" in resolved
    quiet = only_key(replay, "back_after_quiet")
    top = text[: text.index("NEW THIS WEEK")]
    row = next(block for block in top.split("\n\n") if f"key: {quiet}" in block)
    assert "[REGRESSED]" in row and "none in the previous window" in row and "(new" not in row
    assert "payment gateway timeout after <NUM> ms for order <NUM>" in text
