"""`analyzers.config`: each section's values of the wrong kind are refused at load, naming the key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from analyzers import config
from analyzers.exceptions import ConfigurationError
from analyzers.rootcause_config import rootcause_config

_Parser = Callable[[Mapping[str, Any]], object]
_SECTIONS: dict[str, _Parser] = {
    "analyze": config.analyze_config,
    "check": config.check_config,
    "schedule": config.schedule_config,
    "alerts": config.alerts_config,
    "rootcause": rootcause_config,
}


@pytest.mark.parametrize(
    ("section", "key", "value", "kind"),
    [
        pytest.param("check", "warning_rate", float("nan"), "finite number", id="rate-nan"),
        pytest.param("check", "critical_rate", float("nan"), "finite number", id="critical-nan"),
        pytest.param("check", "critical_rate", float("inf"), "finite number", id="critical-inf"),
        pytest.param("check", "shard_size_warning_gb", float("nan"), "finite number", id="size-nan"),
        pytest.param("check", "warning_new", 1.5, "whole number", id="count-fraction"),
        pytest.param("check", "warning_new", True, "whole number", id="count-bool"),
        pytest.param("check", "warning_rate", False, "finite number", id="rate-bool"),
        pytest.param("check", "warning_rate", [1, 2], "finite number", id="rate-list"),
        pytest.param("analyze", "escalation_factor", float("nan"), "finite number", id="factor-nan"),
        pytest.param("analyze", "baseline_windows", 2.5, "whole number", id="windows-fraction"),
        pytest.param("analyze", "escalation_min_increase", {"a": 1}, "whole number", id="increase-table"),
        pytest.param("schedule", "health_port", 9464.5, "whole number", id="port-fraction"),
        pytest.param("schedule", "health_port", True, "whole number", id="port-bool"),
        pytest.param("schedule", "analyze", ["0 * * * *"], "text", id="cron-list"),
        pytest.param("schedule", "health_host", {"ip": "127.0.0.1"}, "text", id="host-table"),
        pytest.param("alerts", "webhook_url", ["https://a", "https://b"], "text", id="webhook-list"),
        pytest.param("rootcause", "enabled", "false", "true or false", id="flag-as-text"),
        pytest.param("rootcause", "enabled", 0, "true or false", id="flag-as-number"),
        pytest.param("rootcause", "alpha", float("nan"), "finite number", id="alpha-nan"),
        pytest.param("rootcause", "top_groups", 20.7, "whole number", id="top-fraction"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_naming_the_key(
    section: str, key: str, value: Any, kind: str
) -> None:
    """A NaN threshold (every comparison false: `check` said OK for ever), a fraction or a flag for a
    count (int() truncated it), a list or table for a text (str() made it one) and a text for a flag
    are refused with the key and the kind expected; before, each was taken."""
    with pytest.raises(ConfigurationError) as raised:
        _SECTIONS[section]({key: value})
    assert f"[{section}] {key} = " in str(raised.value) and kind in str(raised.value)


@pytest.mark.parametrize(
    ("section", "table"),
    [
        pytest.param("check", {"warning_rate": 1, "critical_rate": 2.5, "warning_new": 2.0}, id="numbers"),
        pytest.param("check", {"warning_new": "3", "critical_new": "7"}, id="counts-as-text"),
        pytest.param("schedule", {"health_port": 9464, "timezone": "Europe/Berlin"}, id="port-and-zone"),
        pytest.param("rootcause", {"enabled": False, "alpha": 0.05, "top_groups": 5}, id="rootcause"),
    ],
)
def test_values_of_the_right_kind_still_pass(section: str, table: dict[str, Any]) -> None:
    """Whole numbers for decimals, integral decimals and digits in quotes for counts stay accepted."""
    _SECTIONS[section](table)
