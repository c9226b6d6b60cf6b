"""The scheduler's health endpoint and Prometheus metrics: what ran, when, and what failed.

`logloop schedule` records every job run in a `SchedulerHealth`; with `[schedule] health_port` set
it serves, on `health_host` (127.0.0.1 unless configured otherwise):

    GET /health    200 {"status": "ok" | "degraded", "jobs": {...}, "last_digest_sent": ...};
                   "degraded" while a job's latest run failed (the scheduler retries it); 503 once
                   the scheduler has stopped
    GET /metrics   Prometheus text format (version 0.0.4):
                   logloop_scheduler_up, logloop_job_last_run_timestamp_seconds{job},
                   logloop_job_last_success_timestamp_seconds{job}, logloop_job_runs_total{job,outcome},
                   logloop_job_consecutive_failures{job}, logloop_job_last_duration_seconds{job},
                   logloop_digest_last_sent_timestamp_seconds

A failing job is still "up": restarting the scheduler does not bring Elasticsearch or the SMTP
server back, so orchestrators should alert on `degraded`, not restart on it. The endpoint never
shows error messages (they may carry log content); the scheduler's log has them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

PROMETHEUS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, kw_only=True)
class JobHealth:
    """One job's record since the scheduler started."""

    last_run: datetime | None = None
    last_success: datetime | None = None
    last_duration: float | None = None
    successes: int = 0
    failures: int = 0
    consecutive_failures: int = 0


@dataclass(frozen=True, kw_only=True)
class HealthSnapshot:
    running: bool
    jobs: Mapping[str, JobHealth]
    last_digest_sent: datetime | None = None
    started_at: datetime | None = None

    @property
    def status(self) -> str:
        if not self.running:
            return "stopped"
        return "degraded" if any(job.consecutive_failures for job in self.jobs.values()) else "ok"


@dataclass
class SchedulerHealth:
    """Thread-safe record of job runs (jobs run on the scheduler's worker threads)."""

    jobs: dict[str, JobHealth] = field(default_factory=dict)
    running: bool = False
    last_digest_sent: datetime | None = None
    started_at: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def register(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self.jobs.setdefault(name, JobHealth())

    def set_running(self, running: bool, *, now: datetime) -> None:
        with self._lock:
            self.running = running
            self.started_at = now if running else self.started_at

    def finished(self, name: str, *, started: datetime, duration: float, ok: bool) -> None:
        with self._lock:
            job = self.jobs.get(name, JobHealth())
            if ok:
                job = replace(job, successes=job.successes + 1, consecutive_failures=0, last_success=started)
            else:
                job = replace(
                    job, failures=job.failures + 1, consecutive_failures=job.consecutive_failures + 1
                )
            self.jobs[name] = replace(job, last_run=started, last_duration=duration)

    def digest_sent(self, when: datetime) -> None:
        with self._lock:
            self.last_digest_sent = when

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            return HealthSnapshot(
                running=self.running,
                jobs=dict(self.jobs),
                last_digest_sent=self.last_digest_sent,
                started_at=self.started_at,
            )


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def health_document(snapshot: HealthSnapshot) -> dict[str, Any]:
    """The /health body (pure)."""
    return {
        "status": snapshot.status,
        "started_at": _iso(snapshot.started_at),
        "last_digest_sent": _iso(snapshot.last_digest_sent),
        "jobs": {
            name: {
                "last_run": _iso(job.last_run),
                "last_success": _iso(job.last_success),
                "last_duration_seconds": job.last_duration,
                "successes": job.successes,
                "failures": job.failures,
                "consecutive_failures": job.consecutive_failures,
            }
            for name, job in sorted(snapshot.jobs.items())
        },
    }


def _timestamp(value: datetime | None) -> str:
    return f"{value.timestamp():.3f}" if value else "0"


def _family(name: str, kind: str, text: str, samples: Iterable[tuple[str, str]]) -> list[str]:
    lines = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    lines.extend(f"{name}{labels} {value}" for labels, value in samples)
    return lines


def prometheus_text(snapshot: HealthSnapshot) -> str:
    """The /metrics body in the Prometheus text format (pure). Timestamps are 0 until the first event."""
    jobs = sorted(snapshot.jobs.items())

    def per_job(attribute: str) -> list[tuple[str, str]]:
        samples = []
        for name, job in jobs:
            value = getattr(job, attribute)
            shown = _timestamp(value) if isinstance(value, datetime) or value is None else f"{value:g}"
            samples.append((f'{{job="{name}"}}', shown))
        return samples

    runs = [(f'{{job="{name}",outcome="success"}}', str(job.successes)) for name, job in jobs]
    runs += [(f'{{job="{name}",outcome="failure"}}', str(job.failures)) for name, job in jobs]
    lines = [
        *_family(
            "logloop_scheduler_up", "gauge", "1 while the scheduler runs.", [("", str(int(snapshot.running)))]
        ),
        *_family(
            "logloop_job_last_run_timestamp_seconds",
            "gauge",
            "Start of the job's latest run.",
            per_job("last_run"),
        ),
        *_family(
            "logloop_job_last_success_timestamp_seconds",
            "gauge",
            "Start of the job's latest successful run.",
            per_job("last_success"),
        ),
        *_family("logloop_job_runs_total", "counter", "Job runs by outcome since the start.", runs),
        *_family(
            "logloop_job_consecutive_failures",
            "gauge",
            "Failed runs since the job's last success.",
            per_job("consecutive_failures"),
        ),
        *_family(
            "logloop_job_last_duration_seconds",
            "gauge",
            "Duration of the job's latest run.",
            per_job("last_duration"),
        ),
        *_family(
            "logloop_digest_last_sent_timestamp_seconds",
            "gauge",
            "When a digest was last handed to the SMTP server.",
            [("", _timestamp(snapshot.last_digest_sent))],
        ),
    ]
    return "\n".join(lines) + "\n"


def serve(health: SchedulerHealth, host: str, port: int) -> ThreadingHTTPServer:
    """Serve /health and /metrics on a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            snapshot = health.snapshot()
            path = self.path.split("?", 1)[0]
            if path == "/health":
                status = 200 if snapshot.running else 503
                self._reply(status, "application/json", json.dumps(health_document(snapshot)) + "\n")
            elif path == "/metrics":
                self._reply(200, PROMETHEUS_CONTENT_TYPE, prometheus_text(snapshot))
            else:
                self._reply(404, "text/plain; charset=utf-8", "not found: try /health or /metrics\n")

        def _reply(self, status: int, content_type: str, body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds would flood the scheduler's log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="logloop-health", daemon=True).start()
    return server
