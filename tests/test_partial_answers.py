"""Answers the cluster gives in part: the digest (every format and its subject) and `logloop check`
say so on one line, and never present the lower bounds they hold as whole numbers.

A closed daily index is made on the real node. Failed shards and timed-out searches cannot be made
on the shared single node without disturbing other runs, so a stand-in passes each search to the
real node and edits its answer the way Elasticsearch reports them (HTTP 200, `_shards.failed`,
`timed_out`), only for searches that allow partial results, as Elasticsearch does."""

from __future__ import annotations

import copy
import html
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analyzers import check, digest, mailer
from analyzers.config import CheckConfig
from analyzers.render import render
from analyzers.store import Store
from kibana.setup import install_template
from shipper.schema import index_for

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONFIG = CheckConfig(warning_rate=1.0, critical_rate=4.0, warning_new=5, critical_new=10)


def _event(key: str, at: datetime) -> dict[str, Any]:
    return {
        "@timestamp": at.isoformat().replace("+00:00", "Z"),
        "message": "m",
        "event": {"id": uuid.uuid4().hex, "dataset": "logloop.log"},
        "log": {"level": "error", "logger": "app"},
        "service": {"name": "svc", "version": "1.0"},
        "host": {"name": "h"},
        "error": {"type": "ValueError", "message": "m", "grouping_key": key, "grouping_name": f"E: {key}"},
        "logloop": {"grouping_version": 3},
    }


@pytest.fixture
def seeded(es: Any, index_prefix: str) -> str:
    """Two errors of one group two days ago, and one five minutes ago (under the check thresholds)."""
    install_template(es, index_prefix)
    docs = [_event("old", NOW - timedelta(days=2, minutes=i)) for i in range(2)]
    docs.append(_event("old", NOW - timedelta(minutes=5)))
    operations: list[dict[str, Any]] = []
    for doc in docs:
        at = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
        operations += [{"create": {"_index": index_for(at, index_prefix), "_id": doc["event"]["id"]}}, doc]
    assert not es.bulk(operations=operations, refresh=True)["errors"]
    return index_prefix


def _assert_said_everywhere(built: digest.Digest, needle: str) -> None:
    report = built.report
    assert report.partial and all(needle in line for line in report.partial[:1]), report.partial
    text = render(report, "text").splitlines()
    assert [line for line in text if line.startswith("PARTIAL ANSWER: ")][:1] == [
        f"PARTIAL ANSWER: {report.partial[0]}"
    ]
    assert text.index(f"PARTIAL ANSWER: {report.partial[0]}") < text.index("TOTALS")
    assert "**Partial answer:** " in render(report, "markdown")
    html = render(report, "html")
    assert 'id="partial"' in html and html.index('id="partial"') < html.index('id="totals"')
    assert mailer.subject(report).startswith("[logloop] [partial] ")


@pytest.mark.es
def test_a_closed_index_is_said_in_the_digest_and_the_check(es: Any, seeded: str) -> None:
    """A closed daily index (searches skip it silently) is named in the digest, its subject and the
    check, which cannot say OK with events it could not count."""
    store = Store(es, seeded)
    whole = digest.build_digest(store, timedelta(days=7), NOW, NOW)
    assert whole.report.partial == () and not mailer.subject(whole.report).startswith("[logloop] [partial]")
    assert check.run_check(Store(es, seeded), config=CONFIG, until=NOW).state == check.OK
    closed = index_for(NOW - timedelta(days=2), seeded)
    es.indices.close(index=closed)
    built = digest.build_digest(Store(es, seeded), timedelta(days=7), NOW, NOW)
    _assert_said_everywhere(built, closed)
    assert built.report.measure("errors").current == 1  # what could be read, said to be a lower bound
    result = check.run_check(Store(es, seeded), config=CONFIG, until=NOW)
    assert result.state == check.UNKNOWN and closed in result.line.split(" | ")[0]
    assert result.line.count("|") == 1


def _failed_shards(body: dict[str, Any]) -> None:
    body["_shards"] = {
        **body.get("_shards", {}),
        "total": 5,
        "successful": 3,
        "failed": 2,
        "failures": [
            {
                "shard": 0,
                "index": "logs-2026.11.20",
                "reason": {"type": "es_rejected_execution_exception", "reason": "rejected execution | queue"},
            }
        ],
    }


def _timed_out(body: dict[str, Any]) -> None:
    body["timed_out"] = True


def _failed_without_failures(body: dict[str, Any]) -> None:
    body["_shards"] = {"total": 2, "successful": 1, "skipped": 0, "failed": 1}


def _both(body: dict[str, Any]) -> None:
    _failed_shards(body)
    _timed_out(body)


class _PartialNode:
    """The real client, whose search answers that may be partial are edited by `edit`."""

    def __init__(self, real: Any, edit: Callable[[dict[str, Any]], None]) -> None:
        self._real = real
        self._edit = edit

    def options(self, **kwargs: Any) -> _PartialNode:
        return _PartialNode(self._real.options(**kwargs), self._edit)

    def search(self, **kwargs: Any) -> dict[str, Any]:
        body = copy.deepcopy(dict(self._real.search(**kwargs).body))
        if kwargs.get("allow_partial_search_results") is not False:
            self._edit(body)
        return body

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


SHAPES = [
    pytest.param(_failed_shards, "2 of 5 shards failed", id="failed-shards"),
    pytest.param(_timed_out, "timed out", id="timed-out"),
    pytest.param(_failed_without_failures, "1 of 2 shards failed", id="failed-without-reasons"),
    pytest.param(_both, "timed out", id="failed-and-timed-out"),
]


@pytest.mark.es
@pytest.mark.parametrize(("edit", "needle"), SHAPES)
def test_partial_search_answers_are_said_in_the_digest(
    es: Any, seeded: str, edit: Callable[[dict[str, Any]], None], needle: str
) -> None:
    """A search answered with failed shards or after a timeout is said at the top of every digest
    format and in the subject, on one line naming the cause."""
    built = digest.build_digest(Store(_PartialNode(es, edit), seeded), timedelta(days=7), NOW, NOW)  # type: ignore[arg-type]
    _assert_said_everywhere(built, needle)
    assert "\n" not in built.report.partial[0] and "|" not in built.report.partial[0].split("rejected")[0]


@pytest.mark.es
@pytest.mark.parametrize(("edit", "needle"), SHAPES)
@pytest.mark.parametrize(("extra", "state"), [(0, check.UNKNOWN), (80, check.CRITICAL)])
def test_partial_answers_make_the_check_say_so(
    es: Any, seeded: str, edit: Callable[[dict[str, Any]], None], needle: str, extra: int, state: int
) -> None:
    """Under the thresholds a partial answer is UNKNOWN (it proves nothing), above them the state
    holds (a lower bound already passed it); either way the text says so before the perfdata."""
    if extra:
        docs = [_event("old", NOW - timedelta(minutes=3, seconds=i)) for i in range(extra)]
        operations: list[dict[str, Any]] = []
        for doc in docs:
            operations += [{"create": {"_index": index_for(NOW, seeded), "_id": doc["event"]["id"]}}, doc]
        assert not es.bulk(operations=operations, refresh=True)["errors"]
    result = check.run_check(Store(_PartialNode(es, edit), seeded), config=CONFIG, until=NOW)  # type: ignore[arg-type]
    text, _, perfdata = result.line.partition(" | ")
    assert result.state == state and "PARTIAL ANSWER" in text and needle in text
    assert "|" not in text and perfdata.startswith(f"errors={result.errors};")


@pytest.mark.es
def test_no_event_index_is_said_not_reported_as_a_quiet_window(es: Any, index_prefix: str) -> None:
    """A prefix no index matches (a typo, or nothing shipped yet) is said in the digest and makes the
    check UNKNOWN: every count would read 0 and the check would say OK forever."""
    install_template(es, index_prefix)
    built = digest.build_digest(Store(es, index_prefix), timedelta(days=7), NOW, NOW)
    _assert_said_everywhere(built, f"no index matches {index_prefix}-20*")
    result = check.run_check(Store(es, index_prefix), config=CONFIG, until=NOW)
    assert result.state == check.UNKNOWN and "no index matches" in result.line.split(" | ")[0]


def _registry_mapped_by_hand(es: Any, prefix: str) -> None:
    """A registry index created by something else than logloop (dynamic mapping of another shape)."""
    document = {"group_id": {"nested": 1}, "status": 5, "first_seen": "yesterday", "title": ["a"]}
    es.index(index=f"{prefix}-groups", id="x", document=document, refresh=True)


def _registry_closed(es: Any, prefix: str) -> None:
    """A registry that `logloop analyze` wrote, then closed."""
    from analyzers import analyze
    from analyzers.config import AnalyzeConfig

    analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW)
    es.indices.close(index=f"{prefix}-groups")


@pytest.mark.es
@pytest.mark.parametrize(
    "spoil", [_registry_mapped_by_hand, _registry_closed], ids=["mapped-wrong", "closed"]
)
def test_an_unreadable_registry_is_said_and_the_digest_goes_out(
    es: Any, seeded: str, spoil: Callable[[Any, str], None]
) -> None:
    """A group registry that cannot be read leaves the digest whole but for statuses, and says why
    instead of calling the registry empty (the digest failed on a registry mapped by hand)."""
    spoil(es, seeded)
    built = digest.build_digest(Store(es, seeded), timedelta(days=7), NOW, NOW)
    _assert_said_everywhere(built, f"{seeded}-groups")
    assert not any("registry is empty" in note for note in built.report.notes)
    assert built.report.measure("errors").current == 3


@pytest.mark.es
def test_analyze_names_what_to_do_with_a_registry_mapped_by_hand(es: Any, seeded: str) -> None:
    """`logloop analyze` refused by a registry mapped by something else says how to rebuild it."""
    from analyzers import analyze
    from analyzers.config import AnalyzeConfig
    from analyzers.exceptions import ElasticsearchUnavailable

    _registry_mapped_by_hand(es, seeded)
    with pytest.raises(ElasticsearchUnavailable, match=r"was not created by logloop.*delete it and run"):
        analyze.run(Store(es, seeded), config=AnalyzeConfig(), until=NOW)


class _NoCatPrivilege:
    """The real client, as seen by a role refused `_cat/indices` (HTTP 403), as a secured cluster may."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def options(self, **kwargs: Any) -> _NoCatPrivilege:
        return _NoCatPrivilege(self._real.options(**kwargs))

    @property
    def cat(self) -> Any:
        from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
        from elasticsearch import AuthorizationException

        def refused(**_: Any) -> Any:
            meta = ApiResponseMeta(403, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "127.0.0.1", 9200))
            body = {
                "error": {
                    "type": "security_exception",
                    "reason": "action [indices:monitor/stats] is unauthorized",
                }
            }
            raise AuthorizationException(message="security_exception", meta=meta, body=body)

        return type("Cat", (), {"indices": staticmethod(refused)})()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@pytest.mark.es
def test_a_role_without_cat_privilege_raises_no_false_alarm(es: Any, seeded: str) -> None:
    """A role refused `_cat/indices` gets a whole digest and an OK check, not a partial answer: whether
    an event index exists is read from the searches themselves."""
    store = Store(_NoCatPrivilege(es), seeded)  # type: ignore[arg-type]
    built = digest.build_digest(store, timedelta(days=7), NOW, NOW)
    assert built.report.partial == () and built.report.measure("errors").current == 3
    assert check.run_check(Store(_NoCatPrivilege(es), seeded), config=CONFIG, until=NOW).state == check.OK  # type: ignore[arg-type]


DAY = timedelta(days=1)


# Two shards, at most one per node: on the single test node one stays unassigned (a red index).
_ONE_SHARD_PER_NODE = {
    "number_of_shards": 2,
    "number_of_replicas": 0,
    "index.routing.allocation.total_shards_per_node": 1,
}


def _close_index(es: Any, index: str) -> None:
    """The daily index is closed (searches over the wildcard skip it without a word)."""
    es.indices.close(index=index)


def _lose_a_shard(es: Any, index: str) -> None:
    """The daily index is recreated with two shards of which one cannot be assigned on this node
    (`total_shards_per_node: 1`): a red index whose missing shard held the group's latest events."""
    es.indices.delete(index=index)
    settings = {
        "number_of_shards": 2,
        "number_of_replicas": 0,
        "index.routing.allocation.total_shards_per_node": 1,
    }
    es.indices.create(index=index, settings=settings, wait_for_active_shards=0)


def _close_registry(es: Any, index: str) -> None:
    """The group registry is closed (the event indices are whole)."""
    es.indices.close(index=index.rsplit("-", 1)[0] + "-groups")


@pytest.fixture
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partial answers are asked again at once (the pauses are for a shard that comes back)."""
    from analyzers import store

    monkeypatch.setattr(store, "WHOLE_ANSWER_RETRIES", (0.0, 0.0))


@pytest.mark.es
@pytest.mark.usefixtures("no_retry_pause")
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(_close_index, id="closed-daily-index"),
        pytest.param(_lose_a_shard, id="daily-index-missing-a-shard"),
        pytest.param(_close_registry, id="closed-registry"),
    ],
)
def test_analyze_never_decides_statuses_from_a_partial_answer(
    es: Any, index_prefix: str, spoil: Callable[[Any, str], None]
) -> None:
    """A live group whose latest events cannot be read (closed index, missing shard) is not resolved
    in the newer version it seemed to stop on: analyze stops with a PartialAnswer naming the cause,
    and the registry keeps every group as the last whole run wrote it (it only warned, and wrote
    the group resolved with zero counts)."""
    from helpers.analysis_docs import event, index_events

    from analyzers import analyze, registry
    from analyzers.config import AnalyzeConfig
    from analyzers.exceptions import PartialAnswer

    install_template(es, index_prefix)
    docs = [event("x", NOW - 9 * DAY, version="1.0"), event("x", NOW - 8 * DAY, version="1.0")]
    docs += [event(None, NOW - 6 * DAY + timedelta(hours=i), level="info", version="2.0") for i in range(2)]
    docs += [event("x", NOW - DAY + timedelta(minutes=i), version="2.0") for i in range(3)]
    index_events(es, index_prefix, docs)
    first = {
        group.group_id: group
        for group in analyze.run(Store(es, index_prefix), config=AnalyzeConfig(), until=NOW).groups
    }
    assert (first["x"].status, first["x"].count_window) == ("ongoing", 3)
    latest = index_for(NOW - DAY, index_prefix)
    spoil(es, latest)
    try:
        with pytest.raises(PartialAnswer, match=r"(closed index|missing shards).*analyze stopped") as raised:
            analyze.run(Store(es, index_prefix), config=AnalyzeConfig(), until=NOW + timedelta(hours=1))
        assert "\n" not in str(raised.value)
        if spoil is _close_registry:
            es.indices.open(index=f"{index_prefix}-groups")
        kept = registry.groups_by_id(Store(es, index_prefix), ["x"])["x"]
        assert (kept.status, kept.resolved_in_version, kept.count_window) == ("ongoing", None, 3)
    finally:
        es.options(ignore_status=404).indices.delete(index=latest)


@pytest.mark.es
def test_an_index_closed_before_the_look_back_does_not_stop_analyze(es: Any, index_prefix: str) -> None:
    """A daily index older than everything analyze reads (a retention that closes before it deletes)
    does not stop the run: the groups are decided, and the closed index is said on a partial line."""
    from helpers.analysis_docs import event, index_events

    from analyzers import analyze
    from analyzers.config import AnalyzeConfig

    install_template(es, index_prefix)
    config = AnalyzeConfig()
    old = NOW - (config.baseline_windows + 2) * config.window
    index_events(es, index_prefix, [event("x", old), event("x", NOW - DAY)])
    closed = index_for(old, index_prefix)
    es.indices.close(index=closed)
    try:
        store = Store(es, index_prefix)
        store.note_unreadable_indices(action="list the event and registry indices")
        groups = {group.group_id: group for group in analyze.run(store, config=config, until=NOW).groups}
        assert groups["x"].count_window == 1
        assert any(closed in line for line in store.partial.lines())
    finally:
        es.options(ignore_status=404).indices.delete(index=closed)


class _TimedOut(_PartialNode):
    """The real client, whose every search answer says it timed out, whether or not partial results
    were allowed (a node may answer a search sent with `allow_partial_search_results=false` so)."""

    def search(self, **kwargs: Any) -> dict[str, Any]:
        body = copy.deepcopy(dict(self._real.search(**kwargs).body))
        self._edit(body)
        return body

    def options(self, **kwargs: Any) -> _TimedOut:
        return _TimedOut(self._real.options(**kwargs), self._edit)


@pytest.mark.es
@pytest.mark.usefixtures("no_retry_pause")
@pytest.mark.parametrize(("edit", "needle"), SHAPES)
def test_analyze_writes_nothing_from_an_answer_that_says_it_is_partial(
    es: Any, seeded: str, edit: Callable[[dict[str, Any]], None], needle: str
) -> None:
    """An answer that says it timed out or lost shards (however it was asked) stops analyze before
    it writes a group: no registry entry is made from it."""
    from analyzers import analyze, registry
    from analyzers.config import AnalyzeConfig
    from analyzers.exceptions import PartialAnswer

    with pytest.raises(PartialAnswer, match=needle):
        analyze.run(Store(_TimedOut(es, edit), seeded), config=AnalyzeConfig(), until=NOW)  # type: ignore[arg-type]
    assert registry.groups_by_id(Store(es, seeded), ["old"]) == {}


def _undated(at: datetime) -> dict[str, Any]:
    """An error another shipper wrote into the day's index without `@timestamp`."""
    doc = _event("old", at)
    del doc["@timestamp"]
    return doc


@pytest.mark.es
@pytest.mark.parametrize(
    ("extra", "note"),
    [
        pytest.param(
            [_undated(NOW - DAY)] * 2,
            "2 events in this window's daily indices have no @timestamp",
            id="no-timestamp",
        ),
        pytest.param(
            [_event("ahead", NOW + timedelta(days=3))],
            "1 event is dated more than an hour after",
            id="clock-ahead",
        ),
        pytest.param([_event("ahead", datetime(2099, 1, 1, tzinfo=UTC))], "1 event is dated", id="year-2099"),
    ],
)
def test_events_no_window_can_hold_are_said(
    es: Any, index_prefix: str, extra: list[dict[str, Any]], note: str
) -> None:
    """Events without @timestamp, or dated past the digest's making (a clock ahead), are in no count:
    the digest says how many in every format and is not empty for them (they were left out silently)."""
    install_template(es, index_prefix)
    operations: list[dict[str, Any]] = []
    for position, doc in enumerate(extra):
        day = doc.get("@timestamp")
        at = datetime.fromisoformat(day.replace("Z", "+00:00")) if day else NOW - DAY
        operations += [
            {"create": {"_index": index_for(at, index_prefix), "_id": f"{position}-{uuid.uuid4().hex}"}},
            doc,
        ]
    assert not es.bulk(operations=operations, refresh=True)["errors"]
    built = digest.build_digest(Store(es, index_prefix), timedelta(days=7), NOW, NOW)
    assert [line for line in built.report.notes if line.startswith(note.split(" is dated")[0])]
    assert built.report.measure("errors").current == 0 and not built.report.is_empty
    for fmt in ("text", "markdown", "html", "json"):
        assert note in html.unescape(render(built.report, fmt)).replace("\\", ""), fmt


@pytest.mark.es
@pytest.mark.parametrize(
    ("field", "kind", "value"),
    [
        pytest.param("error.grouping_key", "text", "other", id="grouping-key-text"),
        pytest.param("service.version", "long", 2, id="version-long"),
        pytest.param("service.name", "long", 5, id="service-long"),
        pytest.param("host.name", "text", "h x", id="host-text"),
        pytest.param("@timestamp", "keyword", None, id="timestamp-keyword"),
    ],
)
def test_an_index_mapped_otherwise_is_left_out_of_the_digest_and_stops_analyze(
    es: Any, seeded: str, field: str, kind: str, value: Any
) -> None:
    """A daily index that maps a field the analyzers aggregate with another type (created without the
    template) is left out of the digest from the request refused on, and the digest goes out saying
    so (it failed whole), while analyze stops with the conflict and writes no group from it."""
    from analyzers import analyze, registry
    from analyzers.config import AnalyzeConfig
    from analyzers.exceptions import MappingConflict

    foreign = index_for(NOW - DAY, seeded)
    *parents, leaf = field.split(".")
    properties: dict[str, Any] = {leaf: {"type": kind}}
    for parent in reversed(parents):
        properties = {parent: {"properties": properties}}
    es.indices.create(index=foreign, mappings={"properties": properties})
    doc = _event("old", NOW - DAY)
    holder = doc
    for parent in parents:
        holder = holder[parent]
    holder[leaf] = value if value is not None else doc["@timestamp"]
    es.index(index=foreign, document=doc, refresh=True)
    built = digest.build_digest(Store(es, seeded), timedelta(days=7), NOW, NOW)
    assert any(foreign in line for line in built.report.partial), built.report.partial
    assert mailer.subject(built.report).startswith("[logloop] [partial] ")
    # The template's indices' 3, or 4 when the requests before the one refused read the index too.
    assert built.report.measure("errors").current in (3, 4)
    with pytest.raises(MappingConflict, match=foreign):
        analyze.run(Store(es, seeded), config=AnalyzeConfig(), until=NOW)
    assert registry.groups_by_id(Store(es, seeded), ["old"]) == {}


@pytest.mark.es
def test_a_daily_index_missing_a_shard_is_left_out_of_the_digest_and_said(es: Any, seeded: str) -> None:
    """A red daily index (one of its two shards cannot be assigned) is left out of the digest, which
    goes out saying so with the other indices' counts (it failed whole: a page of groups must be
    whole), and makes the check UNKNOWN naming it."""
    red = index_for(NOW - DAY, seeded)
    es.indices.create(index=red, settings=_ONE_SHARD_PER_NODE, wait_for_active_shards=0)
    try:
        built = digest.build_digest(Store(es, seeded), timedelta(days=7), NOW, NOW)
        assert built.report.measure("errors").current == 3
        assert any(line.startswith(f"{red} left out") for line in built.report.partial), built.report.partial
        assert not any("None" in line for line in built.report.partial)
        _assert_said_everywhere(built, red)
        result = check.run_check(Store(es, seeded), config=CONFIG, until=NOW)
        assert result.state == check.UNKNOWN and red in result.line.split(" | ")[0]
    finally:
        es.indices.delete(index=red)
