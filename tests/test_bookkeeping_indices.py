"""The analyzers' bookkeeping indices (registry, group edits, templates, alerts, digest sends) deleted
while a command runs or between runs, on the real node: a write that reaches a deleted one recreates it
with its own mapping and settings (never Elasticsearch's dynamic one), and `logloop analyze` says when
it rebuilt a missing registry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, group_edits, mailer, registry, template_store
from analyzers.config import AnalyzeConfig
from analyzers.store import BOOKKEEPING_SETTINGS, Store, bookkeeping_template_name
from kibana.setup import ensure_registry, install_template

pytestmark = pytest.mark.es

CONFIG = AnalyzeConfig()
DAY = timedelta(days=1)

# (index name of a store, its mapping, or None for an index the analyzers leave dynamic)
BOOKKEEPING: list[Any] = [
    pytest.param(lambda store: store.registry, registry.MAPPING, id="registry"),
    pytest.param(lambda store: store.group_edits, group_edits.MAPPING, id="group-edits"),
    pytest.param(lambda store: store.templates, template_store.MAPPING, id="templates"),
    pytest.param(lambda store: store.alerts, None, id="alerts"),
    pytest.param(lambda store: store.digest_sends, mailer.MARKER_MAPPING, id="digest-sends"),
]


def _write_bulk_index(store: Store, index: str) -> None:
    store.bulk(operations=[{"index": {"_index": index, "_id": "a"}}, {}], action="test", refresh=True)


def _write_bulk_create(store: Store, index: str) -> None:
    store.bulk_conditional(operations=[{"create": {"_index": index, "_id": "a"}}, {}], action="test")


def _write_create_doc(store: Store, index: str) -> None:
    store.create_doc(index=index, doc_id="a", document={}, action="test")


WRITES: list[Any] = [
    pytest.param(_write_bulk_index, id="bulk-index"),
    pytest.param(_write_bulk_create, id="bulk-create"),
    pytest.param(_write_create_doc, id="create-doc"),
]


def _layout(es: Any, index: str) -> tuple[dict[str, Any], dict[str, Any]]:
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    settings = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
    return mapping, settings


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(("name", "mapping"), BOOKKEEPING)
def test_a_write_to_a_deleted_bookkeeping_index_recreates_it_with_its_own_mapping(
    es: Any,
    index_prefix: str,
    name: Callable[[Store], str],
    mapping: dict[str, Any] | None,
    write: Callable[[Store, str], None],
) -> None:
    """A write reaching a bookkeeping index deleted after it was ensured recreates it with the mapping
    and settings `ensure_bookkeeping_index` gives it, not the dynamic mapping of an auto-created index."""
    store = Store(es, index_prefix)
    index = name(store)
    store.ensure_bookkeeping_index(index=index, mappings=mapping)
    expected_mapping, expected_settings = _layout(es, index)
    es.indices.delete(index=index)
    write(store, index)
    found_mapping, found_settings = _layout(es, index)
    assert found_mapping == expected_mapping
    assert found_settings["index.auto_expand_replicas"] == BOOKKEEPING_SETTINGS["index.auto_expand_replicas"]
    assert found_settings["index.number_of_shards"] == expected_settings["index.number_of_shards"]


@pytest.fixture
def analyzed(es: Any, index_prefix: str) -> str:
    """Two groups with events in the look-back range, analyzed once (the registry exists)."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("one", NOW - 2 * DAY), event("two", NOW - 3 * DAY)])
    analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW)
    return index_prefix


@pytest.mark.parametrize("step", ["_write_page", "_quiet_groups"], ids=["before-a-page", "before-quiet"])
def test_a_registry_deleted_during_an_analyze_run_is_said_and_the_next_run_accepts_it(
    es: Any, analyzed: str, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """The registry deleted while analyze runs comes back with its strict mapping, the run says in one
    line that it was replaced and what was lost, and the next run updates it (no "rebuild it")."""
    real = getattr(analyze, step)
    deleted: list[bool] = []

    def delete_first(store: Store, *args: Any, **kwargs: Any) -> Any:
        if not deleted:
            es.indices.delete(index=store.registry)
            deleted.append(True)
        return real(store, *args, **kwargs)

    monkeypatch.setattr(analyze, step, delete_first)
    during = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + timedelta(hours=1))
    assert deleted
    [line] = during.notes
    assert line.startswith(f"{analyzed}-groups was deleted while this run wrote it")
    assert "marks come back from" in line
    monkeypatch.setattr(analyze, step, real)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + timedelta(hours=2))
    assert {group.group_id for group in result.groups} >= {"one", "two"}
    # a registry no write recreated (deleted after the last page) is still missing: said once more
    assert all(note.startswith(f"{analyzed}-groups was missing") for note in result.notes)
    index = Store(es, analyzed).registry
    assert es.indices.get_mapping(index=index)[index]["mappings"]["dynamic"] == "strict"


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(("name", "mapping"), BOOKKEEPING)
def test_after_setup_a_first_write_creates_a_bookkeeping_index_with_its_own_mapping(
    es: Any,
    index_prefix: str,
    name: Callable[[Store], str],
    mapping: dict[str, Any] | None,
    write: Callable[[Store, str], None],
) -> None:
    """After `logloop setup` (which holds the template privilege the analyzer role lacks), a write to a
    bookkeeping index nothing ensured yet, or that was deleted, creates it with its own mapping."""
    store = Store(es, index_prefix)
    ensure_registry(es, index_prefix)
    index = name(store)
    es.options(ignore_status=404).indices.delete(index=index)
    write(store, index)
    found, settings = _layout(es, index)
    assert found.get("dynamic") == (mapping or {}).get("dynamic")
    assert set(found.get("properties", {})) == set((mapping or {}).get("properties", {}))
    assert settings["index.auto_expand_replicas"] == BOOKKEEPING_SETTINGS["index.auto_expand_replicas"]


def _delete_registry(es: Any, prefix: str) -> None:
    es.indices.delete(index=Store(es, prefix).registry)


def _delete_registry_and_its_template(es: Any, prefix: str) -> None:
    """As an older version left it (no template), with the group edits index as the trace of use."""
    store = Store(es, prefix)
    es.indices.delete(index=store.registry)
    es.indices.delete_index_template(name=bookkeeping_template_name(store.registry))
    group_edits.ensure(store)


@pytest.mark.parametrize(
    "remove",
    [
        pytest.param(_delete_registry, id="registry-deleted"),
        pytest.param(_delete_registry_and_its_template, id="registry-and-template-deleted-edits-kept"),
    ],
)
@pytest.mark.parametrize("status", ["resolved", "ignored"])
def test_a_registry_deleted_between_runs_is_said_once_and_rebuilt_with_its_marks(
    es: Any, analyzed: str, status: str, remove: Callable[[Any, str], None]
) -> None:
    """A run that finds the registry deleted rebuilds it from the events, with the resolved and ignored
    marks kept in the group edits index (tests/test_group_marks.py), and says so in one line, once."""
    registry.mark(Store(es, analyzed), "one", status=status, now=NOW)
    remove(es, analyzed)
    result = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + timedelta(hours=1))
    statuses = {group.group_id: group.status for group in result.groups}
    assert statuses["one"] == status
    [line] = result.notes
    store = Store(es, analyzed)
    assert line.startswith(f"{store.registry} was missing and is rebuilt from the events")
    assert f"resolved and ignored marks come back from {store.group_edits}" in line
    again = analyze.run(Store(es, analyzed), config=CONFIG, until=NOW + timedelta(hours=2))
    assert again.notes == ()  # said once: the next run finds the rebuilt registry


def test_a_first_run_and_a_run_over_an_existing_registry_say_nothing_was_lost(
    es: Any, index_prefix: str
) -> None:
    """The first analyze of a prefix (no registry, nothing of logloop's yet) and the next ones carry no
    note: the rebuilt line is for a registry that existed and is gone."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("one", NOW - 2 * DAY)])
    first = analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW)
    second = analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW + timedelta(hours=1))
    assert [group.group_id for group in first.groups] == ["one"]
    assert first.notes == () and second.notes == ()


def test_cli_analyze_prints_the_rebuilt_registry_line(
    es: Any, analyzed: str, es_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`logloop analyze` over a deleted registry prints the rebuilt line once on stderr and exits 0."""
    from logloop.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LOGLOOP_CONFIG", raising=False)
    monkeypatch.setenv("LOGLOOP_ES_URL", es_url)
    monkeypatch.setenv("LOGLOOP_INDEX_PREFIX", analyzed)
    _delete_registry(es, analyzed)
    assert main(["analyze", "--until", "2026-11-23T09:00:00Z"]) == 0
    err = capsys.readouterr().err
    assert err.count("note: ") == 1
    assert f"note: {analyzed}-groups was missing and is rebuilt from the events" in err


@pytest.mark.parametrize(("name", "mapping"), BOOKKEEPING)
def test_an_overlapping_template_of_the_same_priority_does_not_stop_the_index(
    es: Any, index_prefix: str, name: Callable[[Store], str], mapping: dict[str, Any] | None
) -> None:
    """Someone else's template over `<prefix>-*` at the bookkeeping templates' priority makes
    Elasticsearch refuse ours (HTTP 400): the index is still created with its own mapping."""
    es.indices.put_index_template(
        name=f"{index_prefix}-someone-else", index_patterns=[f"{index_prefix}-*"], priority=510
    )
    store = Store(es, index_prefix)
    index = name(store)
    assert store.ensure_bookkeeping_index(index=index, mappings=mapping) is True
    found, _ = _layout(es, index)
    assert found.get("dynamic") == (mapping or {}).get("dynamic")


class _Counted:
    """The real client, counting the index-template PUTs sent through it (each one a cluster-state
    update the master queues); every request still goes to the node."""

    def __init__(self, client: Any, puts: list[str]) -> None:
        self._client, self._puts = client, puts

    def options(self, **kwargs: Any) -> _Counted:
        return _Counted(self._client.options(**kwargs), self._puts)

    @property
    def indices(self) -> Any:
        return _CountedIndices(self._client.indices, self._puts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _CountedIndices:
    def __init__(self, indices: Any, puts: list[str]) -> None:
        self._indices, self._puts = indices, puts

    def put_index_template(self, **kwargs: Any) -> Any:
        self._puts.append(str(kwargs["name"]))
        return self._indices.put_index_template(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._indices, name)


@pytest.mark.parametrize(("name", "mapping"), BOOKKEEPING)
def test_a_store_puts_a_bookkeeping_template_once_and_still_recreates_a_deleted_index(
    es: Any, index_prefix: str, name: Callable[[Store], str], mapping: dict[str, Any] | None
) -> None:
    """Ensuring one bookkeeping index again and again puts its template once; an index deleted meanwhile
    (alone, or with its template) is created again with its own mapping, its template put again."""
    puts: list[str] = []
    store = Store(_Counted(es, puts), index_prefix)
    index = name(store)
    assert [store.ensure_bookkeeping_index(index=index, mappings=mapping) for _ in range(5)] == [
        True, False, False, False, False,
    ]  # fmt: skip
    assert len(puts) == 1
    expected, _ = _layout(es, index)
    es.indices.delete(index=index)
    _write_create_doc(store.requiring_whole_answers(), index)  # a write, then an ensure, after a deletion
    assert store.ensure_bookkeeping_index(index=index, mappings=mapping) is False
    assert _layout(es, index)[0] == expected and len(puts) == 1
    es.indices.delete(index=index)
    es.indices.delete_index_template(name=bookkeeping_template_name(index))
    assert store.ensure_bookkeeping_index(index=index, mappings=mapping) is True
    assert _layout(es, index)[0] == expected and len(puts) == 2
    assert es.indices.get_index_template(name=bookkeeping_template_name(index))["index_templates"]


def test_alert_claims_put_the_alerts_template_once_per_command(es: Any, index_prefix: str) -> None:
    """`alerts.send` claims a marker per alert and channel; the alerts index template is put once for
    all of them (it was one cluster-state update per claim), and every marker is written."""
    from helpers.smtp_inbox import plain_smtp

    from analyzers import alerts
    from analyzers.config import AlertsConfig

    puts: list[str] = []
    store = Store(_Counted(es, puts), index_prefix)
    found = [
        alerts.Alert(status="new", group_id=f"g{n}", title=f"T{n}", count=1, since=NOW)
        for n in range(4)
    ]  # fmt: skip
    recipients = ("a@example.org", "b@example.org")
    with plain_smtp() as (inbox, port):
        smtp = mailer.SmtpSettings(host="127.0.0.1", port=port, security="none", sender="l@example.org")
        sent = alerts.send(store, found, config=AlertsConfig(email_to=recipients), check_line="x", now=NOW,
                           smtp=smtp)  # fmt: skip
    assert len(sent) == 4 and len(inbox.messages) == 8
    assert puts == [bookkeeping_template_name(store.alerts)]
    es.indices.refresh(index=store.alerts)
    assert es.count(index=store.alerts)["count"] == 8


def _replica_settings(es: Any, index: str) -> tuple[str, str]:
    settings = es.indices.get_settings(index=index, flat_settings=True, include_defaults=True)[index]
    flat = {**settings.get("defaults", {}), **settings["settings"]}
    return str(flat.get("index.auto_expand_replicas")), str(flat.get("index.number_of_replicas"))


# `[indices] replicas` -> what every bookkeeping index must hold: (auto_expand_replicas, number_of_replicas),
# None where the node decides (auto-expansion on one node gives 0).
REPLICAS: list[Any] = [
    pytest.param({}, ("0-1", None), id="auto-by-default"),
    pytest.param({"replicas": "auto"}, ("0-1", None), id="auto"),
    pytest.param({"replicas": 0}, ("false", "0"), id="none"),
    pytest.param({"replicas": 2}, ("false", "2"), id="two"),
]


def _expect(es: Any, index: str, expected: tuple[str, str | None]) -> None:
    expand, number = _replica_settings(es, index)
    assert expand == expected[0], (index, expand, number)
    if expected[1] is not None:
        assert number == expected[1], (index, expand, number)


@pytest.mark.parametrize(("indices", "expected"), REPLICAS)
@pytest.mark.parametrize(("name", "mapping"), BOOKKEEPING)
def test_bookkeeping_indices_get_the_configured_replicas(
    es: Any,
    es_url: str,
    index_prefix: str,
    name: Callable[[Store], str],
    mapping: dict[str, Any] | None,
    indices: dict[str, Any],
    expected: tuple[str, str | None],
) -> None:
    """A bookkeeping index made by a command, and remade by a write after it was deleted, has the replicas
    `[indices] replicas` asks for, as the daily event indices do, not always `0-1`."""
    from analyzers.store import connect
    from logloop.config import Settings
    from shipper.connection import ElasticsearchSettings

    es_settings = ElasticsearchSettings(url=es_url)
    settings = Settings(elasticsearch=es_settings, index_prefix=index_prefix, sections={"indices": indices})
    store = connect(settings)
    try:
        index = name(store)
        store.ensure_bookkeeping_index(index=index, mappings=mapping)
        _expect(es, index, expected)
        es.indices.delete(index=index)
        _write_create_doc(store, index)
        _expect(es, index, expected)
    finally:
        store.close()


@pytest.mark.parametrize(("indices", "expected"), REPLICAS)
def test_setup_gives_existing_bookkeeping_indices_the_configured_replicas(
    es: Any, index_prefix: str, indices: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    """`logloop setup` after `[indices] replicas` changed sets the replicas of the bookkeeping indices
    already there (made with the former setting) as well as of those made later."""
    from shipper.schema import index_layout

    former = Store(es, index_prefix, replicas=1)
    for index, mapping in ((former.registry, registry.MAPPING), (former.alerts, None)):
        former.ensure_bookkeeping_index(index=index, mappings=mapping)
    ensure_registry(es, index_prefix, index_layout(indices))
    for index in (former.registry, former.alerts):
        _expect(es, index, expected)
    later = Store(es, index_prefix)
    es.indices.delete(index=later.alerts)
    _write_create_doc(later, later.alerts)  # the analyzer role's store knows no layout: the template does
    _expect(es, later.alerts, expected)
