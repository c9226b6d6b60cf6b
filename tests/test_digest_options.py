"""The digest's options read from the configuration in one place (analyzers.digest_options)."""

from __future__ import annotations

import pytest

from analyzers.digest_options import from_settings
from analyzers.exceptions import ConfigurationError
from kibana.objects import EVENTS, object_id
from logloop.config import Settings


def _settings(**sections: dict[str, object]) -> Settings:
    return Settings(index_prefix="shop", sections=sections)


@pytest.fixture(autouse=True)
def _no_kibana_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGLOOP_KIBANA_URL", raising=False)
    monkeypatch.delenv("LOGLOOP_KIBANA_SPACE", raising=False)


def test_time_zone_from_digest_then_schedule_then_utc() -> None:
    """[digest] timezone wins over [schedule] timezone, which wins over UTC."""
    assert from_settings(_settings()).timezone == "UTC"
    assert from_settings(_settings(schedule={"timezone": "Europe/Berlin"})).timezone == "Europe/Berlin"
    both = _settings(schedule={"timezone": "Europe/Berlin"}, digest={"timezone": "Asia/Tokyo"})
    assert from_settings(both).timezone == "Asia/Tokyo"


def test_an_unknown_time_zone_names_the_setting() -> None:
    """A time zone that does not exist is a ConfigurationError naming [digest] timezone."""
    with pytest.raises(ConfigurationError, match=r"\[digest\] timezone = 'Mars/Olympus'"):
        from_settings(_settings(digest={"timezone": "Mars/Olympus"}))


def test_kibana_links_use_the_imported_data_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a Kibana URL the links open the events data view `logloop setup` imports for the prefix."""
    assert from_settings(_settings()).kibana_url == ""
    options = from_settings(_settings(kibana={"url": "https://kibana.example", "space": "ops"}))
    assert (options.kibana_url, options.kibana_space) == ("https://kibana.example", "ops")
    assert options.data_view == object_id("shop", "index-pattern", EVENTS.key)
    monkeypatch.setenv("LOGLOOP_KIBANA_URL", "https://other.example")
    assert from_settings(_settings()).kibana_url == "https://other.example"


def test_root_causes_can_be_turned_off() -> None:
    """[rootcause] enabled = false turns the material off; its settings reach the options."""
    assert from_settings(_settings()).root_causes
    options = from_settings(_settings(rootcause={"enabled": False, "env_vars": ["REGION"]}))
    assert not options.root_causes and options.rootcause.env_vars == ("REGION",)
