"""Writers of the group registry at the same time: `logloop resolve`/`ignore` during an analyze run,
and two analyze runs at once, on the real node. A group another writer changed after analyze read
it is read and decided again (compare-and-set), never overwritten with what analyze read before."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers import analyze, registry
from analyzers.config import AnalyzeConfig
from analyzers.store import Store
from kibana.setup import install_template

pytestmark = pytest.mark.es

CONFIG = AnalyzeConfig()
DAY = timedelta(days=1)


@pytest.fixture
def known(es: Any, index_prefix: str) -> str:
    """Group `seen` with an event two days ago, and group `quiet`, last seen 40 days ago (outside the
    look-back range, so a run refreshes it from the registry alone), both in the registry."""
    install_template(es, index_prefix)
    index_events(es, index_prefix, [event("seen", NOW - 2 * DAY), event("quiet", NOW - 40 * DAY)])
    analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW - 30 * DAY)
    analyze.run(Store(es, index_prefix), config=CONFIG, until=NOW)
    return index_prefix


@pytest.mark.parametrize("status", ["ignored", "resolved"])
@pytest.mark.parametrize(
    ("key", "step"),
    [("seen", "_decide"), ("quiet", "refresh_quiet_group")],
    ids=["group-with-events", "quiet-group"],
)
def test_a_mark_made_during_an_analyze_run_is_kept(
    es: Any, known: str, monkeypatch: pytest.MonkeyPatch, status: str, key: str, step: str
) -> None:
    """`logloop ignore|resolve` run after analyze read a group and before it wrote it is kept: the
    group is decided again from the marked entry (it was overwritten with the status read before)."""
    real = getattr(analyze, step)
    marked: list[str] = []

    def maintainer_acts_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not marked:
            marked.append(registry.mark(Store(es, known), key, status=status, now=NOW).status)
        return real(*args, **kwargs)

    monkeypatch.setattr(analyze, step, maintainer_acts_meanwhile)
    result = analyze.run(Store(es, known), config=CONFIG, until=NOW + timedelta(hours=1))
    assert marked == [status]
    assert registry.groups_by_id(Store(es, known), [key])[key].status == status
    reported = [group.status for group in result.groups if group.group_id == key]
    assert reported in ([status], [])  # a resolved or ignored quiet group is not refreshed


def test_two_analyze_runs_at_once_both_finish_with_one_outcome(es: Any, known: str) -> None:
    """Two analyze runs started together both finish (each writes compare-and-set, deciding again what
    the other wrote), and the registry holds what one run alone writes."""
    until: datetime = NOW + timedelta(hours=1)
    errors: list[BaseException] = []

    def one_run() -> None:
        try:
            analyze.run(Store(es, known), config=CONFIG, until=until)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    together = {g.group_id: (g.status, g.count_window) for g in registry.load_groups(Store(es, known))}
    alone = {
        g.group_id: (g.status, g.count_window)
        for g in analyze.run(Store(es, known), config=CONFIG, until=until).groups
    }
    assert together == alone
