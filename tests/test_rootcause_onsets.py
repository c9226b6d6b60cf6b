"""The onset of a group on the real node: the newest version of its service that first ran before the
group's first occurrence and never had it, and when the group's own version first ran, asked of the
node whatever the number of versions (they were read from lists cut at 50 versions of a group and 200
of a service, ordered by event count: a quiet release, or a group seen on many versions, gave a wrong
"ran before without it" and a missed "started with release")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from helpers.analysis_docs import NOW, event, index_events

from analyzers.digest_window import Window
from analyzers.rootcause import onsets
from analyzers.rootcause_config import RootCauseConfig
from analyzers.rootcause_queries import fetch
from analyzers.store import Store

pytestmark = pytest.mark.es

KEY = "0123456789abcdef" * 2
T0 = NOW - timedelta(days=2)  # the group's first occurrence
WINDOW = Window.ending(NOW, timedelta(days=7))
GAP = timedelta(days=1)

# A service's history: (version, first run, info events on it), and the versions the group (first seen
# at T0 on the last named one) was seen on later. Expected: (last version without it, release).
Release = tuple[str, datetime, int]


def _quiet_release_among_many() -> tuple[list[Release], list[str], tuple[str, str]]:
    """260 versions an hour apart, each with 3 events, but the one before the group's has 1."""
    history = [(f"v{n:03d}", T0 - timedelta(hours=260 - n), 1 if n == 258 else 3) for n in range(260)]
    return history, ["v259"], ("v258", "v259")


def _group_on_many_versions() -> tuple[list[Release], list[str], tuple[str, str]]:
    """100 versions; the group, first seen on v099, also ran later on v040 to v098 (60 versions)."""
    history = [(f"v{n:03d}", T0 - timedelta(hours=100 - n), 2) for n in range(100)]
    return history, [f"v{n:03d}" for n in range(40, 100)], ("v039", "v099")


def _simple(seen_on: list[str], first_seen_shift: timedelta) -> Any:
    def shape() -> tuple[list[Release], list[str], tuple[str | None, str | None]]:
        history = [
            ("1.8.0", T0 - timedelta(days=30), 2),
            ("1.9.0", T0 - timedelta(days=10), 2),
            ("2.0.0", T0 - timedelta(hours=3) + first_seen_shift, 2),
        ]
        return history, seen_on, ("1.9.0" if "1.9.0" not in seen_on else "1.8.0", "2.0.0")

    return shape


SHAPES: list[Any] = [
    pytest.param(_simple(["2.0.0"], timedelta(0)), id="three-hours-after-2.0.0"),
    pytest.param(_simple(["1.9.0", "2.0.0"], timedelta(0)), id="1.9.0-also-had-it-later"),
    pytest.param(_quiet_release_among_many, id="quiet-release-among-260"),
    pytest.param(_group_on_many_versions, id="group-on-60-versions"),
]


def _ship(es: Any, prefix: str, history: list[Release], seen_on: list[str]) -> None:
    docs = [
        event(None, first + timedelta(minutes=m), level="info", version=version, service="shop")
        for version, first, count in history
        for m in range(count)
    ]
    group = [event(KEY, T0, version=seen_on[-1], service="shop")]  # the first occurrence
    group += [
        event(KEY, T0 + timedelta(hours=1, minutes=n), version=v, service="shop")
        for n, v in enumerate(seen_on)
    ]
    index_events(es, prefix, docs + group)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_version_before_a_group_and_its_release_are_asked_of_the_node(
    es: Any, prefix: str, shape: Any
) -> None:
    """The last version without the group and the release that started it, whatever the versions' counts."""
    history, seen_on, (last_without, release) = shape()
    _ship(es, prefix, history, seen_on)
    data = fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig())
    found = onsets([KEY], data, GAP)[KEY]
    assert found.first_seen == T0 and found.first_version == seen_on[-1]
    assert (found.last_version_without, found.release) == (last_without, release)


def test_a_group_older_than_every_release_has_no_version_without_it(es: Any, prefix: str) -> None:
    """A group seen before any version of its service ran has no "ran before without it", no release."""
    history = [("1.8.0", T0 + timedelta(hours=1), 2), ("1.9.0", T0 + timedelta(hours=2), 2)]
    _ship(es, prefix, history, ["1.8.0"])
    found = onsets([KEY], fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig()), GAP)[KEY]
    assert (found.last_version_without, found.release) == (None, None)


def test_a_group_without_service_or_version_is_asked_nothing(es: Any, prefix: str) -> None:
    """Events without service.version (another shipper's) give an onset with no version, no error."""
    index_events(es, prefix, [event(KEY, T0, version=None, service="shop")])
    found = onsets([KEY], fetch(Store(es, prefix), WINDOW, [KEY], RootCauseConfig()), GAP)[KEY]
    assert found.first_seen == T0 and found.first_version is None and found.release is None


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_a_group_whose_first_events_were_deleted_is_not_said_to_start_later(
    es: Any, prefix: str, fmt: str
) -> None:
    """The registry knows a group from before its oldest stored event (the indices were deleted): the
    digest says its first occurrence as the registry knows it and that where and after which release it
    started is unknown, not that it started with the release running when its oldest kept event came."""
    from analyzers import analyze
    from analyzers.config import AnalyzeConfig
    from analyzers.digest import build_digest

    old_days = [NOW - timedelta(days=day, hours=1) for day in range(20, 9, -1)]  # on 1.9.0, days 20..10
    docs = [event(KEY, at, version="1.9.0", service="shop") for at in old_days]
    docs += [event(None, NOW - timedelta(days=5, hours=3), level="info", version="2.0.0", service="shop")]
    docs += [
        event(KEY, NOW - timedelta(days=5, hours=2, minutes=m), version="2.0.0", service="shop")
        for m in range(3)
    ]
    index_events(es, prefix, docs)
    analyze.run(Store(es, prefix), config=AnalyzeConfig(), until=NOW, now=NOW)
    for at in old_days:  # retention deleted the days that held its first occurrences
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-{at:%Y.%m.%d}")
    digest = build_digest(Store(es, prefix), timedelta(days=7), NOW, NOW, title="t")
    [row] = digest.report.top_groups
    onset = digest.report.insights.root_causes[KEY].onset
    assert onset.first_seen == old_days[0] == row.first_seen
    assert onset.release is None and onset.last_version_without is None and onset.first_version is None
    rendered = digest.render(fmt)
    oldest = NOW - timedelta(days=5, hours=2, minutes=2)
    if fmt == "json":
        said = json.loads(rendered)["insights"]["root_causes"][KEY]["onset"]
        assert said["oldest_stored"] == oldest.isoformat() and said["release"] is None
        return
    assert "no longer stored" in rendered and "started with release" not in rendered
    assert f"{oldest:%Y-%m-%d %H:%M}" in rendered
