"""A group's title stays as first given while its grouping version lasts (analyze keeps it)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from analyzers.analyze import stable_title
from analyzers.registry import Group

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _group(title: str, version: int) -> Group:
    return Group(
        group_id="k",
        title=title,
        category="traceback",
        first_seen=NOW,
        last_seen=NOW,
        grouping_version=version,
    )


def _sample(name: str) -> dict[str, Any]:
    return {"error": {"grouping_name": name}}


def test_title_is_kept_while_the_grouping_version_lasts() -> None:
    """A later window's sample with another message does not retitle the group."""
    bucket: Any = SimpleNamespace(grouping_version=3, key="k")
    assert stable_title(_group("KeyError: 'items' (a.f)", 3), _sample("KeyError: '<STR>' (a.f)"), bucket) == (
        "KeyError: 'items' (a.f)"
    )


def test_new_group_or_new_grouping_version_takes_the_sample_title() -> None:
    """A new group, or one regrouped by a newer grouping version, is titled from its sample."""
    bucket: Any = SimpleNamespace(grouping_version=3, key="k")
    assert stable_title(None, _sample("ValueError: bad (a.f)"), bucket) == "ValueError: bad (a.f)"
    assert (
        stable_title(_group("old garbled", 2), _sample("ValueError: bad (a.f)"), bucket)
        == "ValueError: bad (a.f)"
    )
