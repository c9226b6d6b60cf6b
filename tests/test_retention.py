"""Retention on the real node: expired daily indices deleted by name, stale registry groups removed,
the ILM policy detected as unavailable on the embedded node, and shards/replicas from the config."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analyzers import registry, retention
from analyzers.config import RetentionConfig, retention_config
from analyzers.exceptions import ConfigurationError
from analyzers.store import Store
from kibana.setup import run_setup
from shipper import schema
from shipper.exceptions import ConfigurationError as ShipperConfigurationError

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.es


def test_only_whole_days_past_the_retention_expire() -> None:
    """An index expires once its whole day is older than the retention; other names never do."""
    names = [
        "p-2026.11.02",  # ended 2026-11-03 00:00, 30.5 days before NOW: expired
        "p-2026.11.03",  # ends 2026-11-04 00:00, 29.5 days before NOW: kept
        "p-2026.12.03",
        "p-2026.02.30",  # not a date
        "p-2026.11.01-restored",
        "px-2020.01.01",
        "p-groups",
        "p-2020.01.01",
    ]
    expired = retention.expired_indices(names, "p", retention=timedelta(days=30), now=NOW)
    assert expired == ["p-2020.01.01", "p-2026.11.02"]


def test_policy_deletes_a_day_after_the_retention_counted_from_creation() -> None:
    """The ILM policy's delete phase starts at retention + 1 day (creation is at the day's first event)."""
    body = retention.policy_body(RetentionConfig(events=timedelta(days=30)))
    assert body["phases"]["delete"] == {"min_age": "31d", "actions": {"delete": {}}}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param({"events": "12h"}, "at least 1d", id="under-a-day"),
        pytest.param({"events": "90d", "groups": "30d"}, "must not be shorter", id="groups-shorter"),
        pytest.param({"event": "30d"}, "unknown key", id="typo"),
    ],
)
def test_bad_retention_settings_are_refused(table: dict[str, str], message: str) -> None:
    """Retention settings that cannot work are refused with the reason."""
    with pytest.raises(ConfigurationError, match=message):
        retention_config(table)


def test_prune_deletes_expired_indices_by_name_and_keeps_the_rest(es: Any, index_prefix: str) -> None:
    """`prune` deletes exactly the expired daily indices of its prefix; a dry run deletes nothing."""
    today = datetime.now(UTC)
    old = [schema.index_for(today - timedelta(days=days), index_prefix) for days in (40, 35, 31)]
    young = [schema.index_for(today - timedelta(days=days), index_prefix) for days in (29, 1, 0)]
    odd = f"{index_prefix}-2020.01.01-restored"  # matches the listing pattern, but is no daily index
    for name in [*old, *young, odd]:
        es.indices.create(index=name)
    config = RetentionConfig(events=timedelta(days=30))
    dry = retention.prune(Store(es, index_prefix), config=config, now=today, dry_run=True)
    assert sorted(dry.deleted_indices) == sorted(old)
    assert len(retention.daily_indices(Store(es, index_prefix))) == 7
    result = retention.prune(Store(es, index_prefix), config=config, now=today)
    assert sorted(result.deleted_indices) == sorted(old) and result.kept_indices == 4
    assert sorted(es.indices.get(index=f"{index_prefix}-*")) == sorted([*young, odd])


def test_prune_removes_groups_not_seen_for_the_registry_retention(es: Any, index_prefix: str) -> None:
    """Groups last seen before `groups` ago leave the registry; recent ones stay."""
    registry.ensure(Store(es, index_prefix))
    index = schema.registry_index(index_prefix)
    for group_id, age in (("stale1", 400), ("stale2", 366), ("fresh", 10)):
        seen = (NOW - timedelta(days=age)).isoformat()
        es.index(index=index, id=group_id, document={"group_id": group_id, "last_seen": seen}, refresh=True)
    config = RetentionConfig(events=timedelta(days=30), groups=timedelta(days=365))
    assert retention.prune(Store(es, index_prefix), config=config, now=NOW, dry_run=True).deleted_groups == 2
    assert retention.prune(Store(es, index_prefix), config=config, now=NOW).deleted_groups == 2
    remaining = es.search(index=index, query={"match_all": {}})["hits"]["hits"]
    assert [hit["_id"] for hit in remaining] == ["fresh"]


def test_setup_without_ilm_uses_the_configured_shards_and_replicas(es: Any, index_prefix: str) -> None:
    """Without ILM, setup installs no policy, and a new daily index gets the [indices] shards/replicas."""
    assert Store(es).ilm_available() is False
    layout = schema.index_layout({"shards": 2, "replicas": 0})
    report = run_setup(es, index_prefix, None, layout=layout, retention={"events": "10d"})
    assert report.lifecycle_policy is None
    name = schema.index_for(datetime.now(UTC), index_prefix)
    es.indices.create(index=name)
    settings = es.indices.get_settings(index=name)[name]["settings"]["index"]
    assert settings["number_of_shards"] == "2" and settings["number_of_replicas"] == "0"
    assert "lifecycle" not in settings


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param({}, {"index.number_of_shards": 1, "index.auto_expand_replicas": "0-1"}, id="default"),
        pytest.param({"replicas": 2}, {"index.number_of_shards": 1, "index.number_of_replicas": 2}, id="two"),
    ],
)
def test_index_layout_settings(table: dict[str, Any], expected: dict[str, Any]) -> None:
    """[indices] becomes the template's shard and replica settings; the policy name is added when given."""
    assert schema.index_layout(table).settings() == expected
    policy = schema.IndexLayout(lifecycle_policy="p-events").settings()
    assert policy["index.lifecycle.name"] == "p-events"


@pytest.mark.parametrize(
    "table", [{"shards": 0}, {"replicas": -1}, {"replicas": "two"}, {"shards": True}, {"shard": 1}]
)
def test_bad_index_layouts_are_refused(table: dict[str, Any]) -> None:
    """Shard and replica counts that cannot work are refused with the key named."""
    with pytest.raises(ShipperConfigurationError, match=r"\[indices\]"):
        schema.index_layout(table)


def test_prune_command_lists_then_deletes(es: Any, es_url: str, index_prefix: str, tmp_path: Path) -> None:
    """`logloop prune --dry-run` names the expired index and keeps it; `logloop prune` deletes it."""
    old = schema.index_for(datetime.now(UTC) - timedelta(days=3), index_prefix)
    young = schema.index_for(datetime.now(UTC), index_prefix)
    for name in (old, young):
        es.indices.create(index=name)
    config = tmp_path / "logloop.toml"
    config.write_text(f'[elasticsearch]\nurl = "{es_url}"\n[logloop]\nindex_prefix = "{index_prefix}"\n')
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOGLOOP_RETENTION_EVENTS": "2d",
        "LOGLOOP_RETENTION_GROUPS": "2d",
    }
    env.pop("LOGLOOP_INDEX_PREFIX", None)

    def prune(*flags: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "logloop.cli", "prune", *flags, "--config", str(config)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert f"would delete {old}\n" in prune("--dry-run")
    assert es.indices.exists(index=old)
    assert f"deleted {old}\n" in prune()
    assert not es.indices.exists(index=old) and es.indices.exists(index=young)
