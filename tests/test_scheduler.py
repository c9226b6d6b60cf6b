"""The scheduler: cron triggers from config in a time zone, capped retry backoff, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analyzers.config import ScheduleConfig, schedule_config
from analyzers.exceptions import ConfigurationError, ElasticsearchUnavailable
from analyzers.scheduler import Backoff, GuardedJob, build_scheduler, crontab_weekdays, triggers
from kibana.setup import install_template

BERLIN = ZoneInfo("Europe/Berlin")
FROZEN = datetime(2026, 11, 23, 8, 30, tzinfo=BERLIN)  # a Monday, 08:30 in Berlin


def next_fire(trigger: object, after: datetime) -> datetime:
    fire: datetime = trigger.get_next_fire_time(None, after)  # type: ignore[attr-defined]
    return fire


def test_default_triggers_in_time_zone() -> None:
    """Defaults: analyze hourly, check every 5 minutes, digest Mondays 08:00 in the configured zone."""
    cron = triggers(schedule_config({"timezone": "Europe/Berlin"}))
    assert next_fire(cron["analyze"], FROZEN) == datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    assert next_fire(cron["check"], FROZEN) == datetime(2026, 11, 23, 8, 30, tzinfo=BERLIN)
    assert next_fire(cron["check"], FROZEN + timedelta(seconds=1)) == datetime(
        2026, 11, 23, 8, 35, tzinfo=BERLIN
    )
    digest = next_fire(cron["digest"], FROZEN)
    assert digest == datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN)
    assert digest.astimezone(UTC) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_configured_expressions() -> None:
    """Configured crontab expressions replace the defaults; numeric weekdays mean what cron means."""
    config = schedule_config({"timezone": "UTC", "digest": "15 6 * * 5", "analyze": "*/20 * * * *"})
    cron = triggers(config)
    now = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # Monday
    assert next_fire(cron["digest"], now) == datetime(2026, 11, 27, 6, 15, tzinfo=UTC)  # Friday
    assert next_fire(cron["analyze"], now) == datetime(2026, 11, 23, 8, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("0", "sun", id="zero-is-sunday"),
        pytest.param("7", "sun", id="seven-is-sunday"),
        pytest.param("1-5", "mon,tue,wed,thu,fri", id="work-week"),
        pytest.param("*/2", "sun,tue,thu,sat", id="every-second-day-from-sunday"),
        pytest.param("mon,3", "mon,wed", id="names-and-numbers"),
        pytest.param("*", "*", id="star-untouched"),
    ],
)
def test_crontab_weekdays(field: str, expected: str) -> None:
    """Cron weekday numbers become names, so APScheduler 3's Monday-first numbering cannot shift them."""
    assert crontab_weekdays(field) == expected


@pytest.mark.parametrize(
    "table",
    [
        pytest.param({"analyze": "every hour"}, id="not-crontab"),
        pytest.param({"check": "61 * * * *"}, id="minute-out-of-range"),
        pytest.param({"timezone": "Mars/Olympus"}, id="unknown-zone"),
        pytest.param({"analyse": "0 * * * *"}, id="misspelt-key"),
    ],
)
def test_bad_schedule_is_a_configuration_error(table: dict[str, str]) -> None:
    """A schedule that cannot work is refused up front with a ConfigurationError naming the key."""
    with pytest.raises(ConfigurationError, match=r"\[schedule\]"):
        triggers(schedule_config(table))


def test_backoff_doubles_and_caps() -> None:
    """Retry delays double from the initial delay and stop growing at the maximum."""
    backoff = Backoff(initial=timedelta(seconds=30), maximum=timedelta(minutes=5))
    assert [backoff.delay(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_failing_job_is_logged_and_retried_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    """A job that raises is retried after the backoff, its cron job stays, and success resets the backoff."""
    outcomes: list[Exception | None] = [
        ElasticsearchUnavailable("cannot reach Elasticsearch"),
        ElasticsearchUnavailable("cannot reach Elasticsearch"),
        None,
    ]
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    frozen = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    scheduler = build_scheduler(ScheduleConfig(), {"analyze": flaky}, clock=lambda: frozen)
    job = scheduler.get_job("analyze").func
    assert isinstance(job, GuardedJob)

    job()
    retry = scheduler.get_job("analyze-retry")
    assert retry is not None and retry.trigger.run_date == frozen + timedelta(seconds=30)
    job()
    assert scheduler.get_job("analyze-retry").trigger.run_date == frozen + timedelta(seconds=60)
    assert job.failures == 2 and "analyze failed (2 consecutive)" in caplog.text
    job()
    assert job.failures == 0 and len(calls) == 3
    assert scheduler.get_job("analyze") is not None


@pytest.fixture
def config_file(tmp_path: Path, es_url: str, index_prefix: str) -> Iterator[Path]:
    path = tmp_path / "logloop.toml"
    path.write_text(
        f'[elasticsearch]\nurl = "{es_url}"\n[logloop]\nindex_prefix = "{index_prefix}"\n'
        '[schedule]\nanalyze = "0 3 1 1 *"\ncheck = "0 3 1 1 *"\n'
    )
    yield path


@pytest.mark.es
def test_schedule_command_stops_cleanly_on_sigterm(
    config_file: Path, tmp_path: Path, es: Any, index_prefix: str
) -> None:
    """`logloop schedule` starts, ships its own log records, and exits 0 on SIGTERM."""
    install_template(es, index_prefix)  # what `logloop setup` does first
    env = {**os.environ, "HOME": str(tmp_path), "LOGLOOP_CONFIG": str(config_file)}
    env.pop("LOGLOOP_INDEX_PREFIX", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "logloop.cli", "schedule"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line)
        if "scheduler started" in line:
            break
    process.send_signal(signal.SIGTERM)
    try:
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()  # only if still running: the assertion below then reports the hang
    output = "".join(seen) + rest
    assert process.returncode == 0, output
    assert "digest job skipped: no [smtp] section" in output
    assert "analyze next at" in output and "check next at" in output
    assert "scheduler stopping on SIGTERM" in output and "scheduler stopped" in output
    es.indices.refresh(index=f"{index_prefix}-20*")
    query = {
        "bool": {
            "filter": [
                {"term": {"log.logger": "logloop.scheduler"}},
                {"match_phrase": {"message": "scheduler started"}},
            ]
        }
    }
    shipped = es.search(index=f"{index_prefix}-20*", query=query)
    assert shipped["hits"]["total"]["value"] == 1
    assert shipped["hits"]["hits"][0]["_source"]["service"]["name"] == "logloop-scheduler"


def test_analyze_job_survives_unreachable_elasticsearch(caplog: pytest.LogCaptureFixture) -> None:
    """The real analyze job against an unreachable node fails into a logged retry, not an exception."""
    from analyzers.scheduler import analyze_job
    from logloop.config import Settings
    from shipper.connection import ElasticsearchSettings

    settings = Settings(elasticsearch=ElasticsearchSettings(url="http://127.0.0.1:9", request_timeout=2))
    frozen = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    scheduler = build_scheduler(ScheduleConfig(), {"analyze": analyze_job(settings)}, clock=lambda: frozen)
    job = scheduler.get_job("analyze").func
    job()
    assert job.failures == 1
    assert scheduler.get_job("analyze-retry").trigger.run_date == frozen + timedelta(seconds=30)
    assert "cannot reach Elasticsearch" in caplog.text and "Traceback" not in caplog.text


@pytest.mark.es
@pytest.mark.parametrize("health_port", [False, True], ids=["plain", "with-health-port"])
def test_schedule_before_setup_refuses_and_creates_no_index(
    config_file: Path, tmp_path: Path, es: Any, index_prefix: str, health_port: bool
) -> None:
    """Before `logloop setup`, `logloop schedule` refuses on one line naming it, and none of its own
    log records reaches Elasticsearch, where it would create a dynamically mapped daily index."""
    if health_port:
        from helpers.ports import free_port

        config_file.write_text(config_file.read_text() + f"health_port = {free_port()}\n")
    env = {**os.environ, "HOME": str(tmp_path), "LOGLOOP_CONFIG": str(config_file)}
    env.pop("LOGLOOP_INDEX_PREFIX", None)
    result = subprocess.run(
        [sys.executable, "-m", "logloop.cli", "schedule"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "run `logloop setup`" in errors[0] and "Traceback" not in result.stderr
    assert list(es.indices.get(index=f"{index_prefix}-*", expand_wildcards="all")) == []
