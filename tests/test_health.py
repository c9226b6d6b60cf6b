"""The scheduler's /health and /metrics endpoint, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.ports import free_port
from prometheus_client.parser import text_string_to_metric_families

from analyzers.config import ScheduleConfig
from analyzers.exceptions import ElasticsearchUnavailable
from analyzers.health import SchedulerHealth, serve
from analyzers.scheduler import build_scheduler
from kibana.setup import install_template

FROZEN = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, parsed by the reference parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_health_and_metrics_report_runs_failures_and_the_last_digest() -> None:
    """After one good and one failed job run, /health is degraded and /metrics has the runs, failures
    and the last digest time, in a format the Prometheus parser reads; a stopped scheduler is 503."""

    def fails() -> None:
        raise ElasticsearchUnavailable("cannot reach Elasticsearch")

    health = SchedulerHealth()
    scheduler = build_scheduler(
        ScheduleConfig(), {"analyze": lambda: None, "check": fails}, clock=lambda: FROZEN, health=health
    )
    health.set_running(True, now=FROZEN)
    scheduler.get_job("analyze").func()
    scheduler.get_job("check").func()
    health.digest_sent(FROZEN)
    port = free_port()
    server = serve(health, "127.0.0.1", port)
    try:
        status, kind, body = _get(f"http://127.0.0.1:{port}/health")
        assert status == 200 and kind == "application/json"
        document = json.loads(body)
        assert document["status"] == "degraded"
        assert document["jobs"]["check"]["consecutive_failures"] == 1
        assert document["jobs"]["analyze"]["last_success"] == FROZEN.isoformat()
        assert "cannot reach" not in body  # error texts stay in the log

        status, kind, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and kind.startswith("text/plain; version=0.0.4")
        samples = _samples(text)
        assert samples[("logloop_scheduler_up", ())] == 1
        assert samples[("logloop_job_runs_total", (("job", "analyze"), ("outcome", "success")))] == 1
        assert samples[("logloop_job_runs_total", (("job", "check"), ("outcome", "failure")))] == 1
        assert samples[("logloop_job_consecutive_failures", (("job", "check"),))] == 1
        assert (
            samples[("logloop_job_last_success_timestamp_seconds", (("job", "analyze"),))]
            == FROZEN.timestamp()
        )
        assert samples[("logloop_job_last_success_timestamp_seconds", (("job", "check"),))] == 0
        assert samples[("logloop_digest_last_sent_timestamp_seconds", ())] == FROZEN.timestamp()

        assert _get(f"http://127.0.0.1:{port}/nothing")[0] == 404
        health.set_running(False, now=FROZEN)
        assert _get(f"http://127.0.0.1:{port}/health")[0] == 503
    finally:
        server.shutdown()
        server.server_close()


def test_a_successful_retry_makes_health_ok_again() -> None:
    """A job that failed and then succeeds leaves consecutive failures at 0 and the status ok."""
    outcomes = [ElasticsearchUnavailable("down"), None]

    def flaky() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    health = SchedulerHealth()
    scheduler = build_scheduler(ScheduleConfig(), {"analyze": flaky}, clock=lambda: FROZEN, health=health)
    health.set_running(True, now=FROZEN)
    scheduler.get_job("analyze").func()
    assert health.snapshot().status == "degraded"
    scheduler.get_job("analyze").func()
    snapshot = health.snapshot()
    assert snapshot.status == "ok" and snapshot.jobs["analyze"].failures == 1


@pytest.mark.es
def test_schedule_command_serves_health_on_loopback(
    tmp_path: Path, es_url: str, index_prefix: str, es: Any
) -> None:
    """`logloop schedule` with [schedule] health_port answers /health and /metrics while it runs."""
    install_template(es, index_prefix)  # what `logloop setup` does first
    port = free_port()
    config = tmp_path / "logloop.toml"
    config.write_text(
        f'[elasticsearch]\nurl = "{es_url}"\n[logloop]\nindex_prefix = "{index_prefix}"\n'
        f'[schedule]\nanalyze = "0 3 1 1 *"\ncheck = "0 3 1 1 *"\nprune = "0 3 1 1 *"\nhealth_port = {port}\n'
    )
    env = {**os.environ, "HOME": str(tmp_path), "LOGLOOP_CONFIG": str(config)}
    env.pop("LOGLOOP_INDEX_PREFIX", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "logloop.cli", "schedule"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status, body = 0, ""
        while time.monotonic() < deadline:
            try:
                status, _, body = _get(f"http://127.0.0.1:{port}/health")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert set(json.loads(body)["jobs"]) == {"analyze", "check", "prune"}
        assert _samples(_get(f"http://127.0.0.1:{port}/metrics")[2])[("logloop_scheduler_up", ())] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
    assert process.returncode == 0, stderr


def test_a_taken_health_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """`logloop schedule` with a health_port already in use stops at once with one line naming it."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "logloop.toml"
        config.write_text(f"[schedule]\nhealth_port = {port}\n")
        env = {**os.environ, "HOME": str(tmp_path), "LOGLOOP_CONFIG": str(config)}
        done = subprocess.run(
            [sys.executable, "-m", "logloop.cli", "schedule"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"cannot serve the health endpoint on 127.0.0.1:{port}" in done.stderr
    assert done.stderr.strip().count("\n") == 0
