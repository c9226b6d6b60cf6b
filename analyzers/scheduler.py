"""`logloop schedule`: run analyze, check, the digest and prune on cron schedules, in a time zone, forever.

Schedules come from `[schedule]` (crontab syntax, minute first; defaults: analyze hourly at :00, check
every 5 minutes, digest Mondays 08:00, prune daily at 03:30) evaluated in `[schedule] timezone`.
Prune deletes expired daily indices only where the cluster has no ILM (where it has, the policy
`logloop setup` installed does); it always removes stale registry groups. With `[schedule]
health_port` set, `analyzers.health` serves /health and /metrics about these runs. Crontab weekday numbers
mean what they mean to cron (0 and 7 are Sunday); APScheduler 3 numbers them from Monday, so numeric
weekdays are translated to names first.

A job that raises (Elasticsearch down, SMTP refusing) is logged and retried after a backoff that
doubles from `backoff_initial` up to `backoff_max`; its next cron run happens as usual and a success
resets the backoff. The scheduler never dies of a job failure. SIGTERM and SIGINT stop it cleanly
(running jobs are not interrupted). Its own log records go through the shipper when it is available.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from analyzers import config as analyzer_config
from analyzers.config import ScheduleConfig
from analyzers.exceptions import AnalyzerError, ConfigurationError, ElasticsearchUnavailable
from analyzers.health import SchedulerHealth
from analyzers.store import connect

LOG: Final = logging.getLogger("logloop.scheduler")
JOB_NAMES: Final = ("analyze", "check", "digest", "prune")
_CRON_WEEKDAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC_PART: Final = re.compile(r"^(\*|\d+)(?:-(\d+))?(?:/(\d+))?$")

Clock = Callable[[], datetime]
Job = Callable[[], object]


def utc_now() -> datetime:
    return datetime.now(UTC)


def crontab_weekdays(field: str) -> str:
    """Translate cron weekday numbers (0/7 = Sunday) into names APScheduler 3 reads correctly."""
    parts: list[str] = []
    for part in field.split(","):
        match = _NUMERIC_PART.match(part)
        if not match or (match[1] == "*" and not match[3]):
            parts.append(part)
            continue
        start = 0 if match[1] == "*" else int(match[1])
        end = 6 if match[1] == "*" else int(match[2] or match[1])
        step = int(match[3] or 1)
        if match[1] != "*" and match[2] is None and match[3]:
            end = 6  # "1/2": from Monday, every second day
        if not 0 <= start <= 7 or not 0 <= end <= 7 or start > end or step < 1:
            raise ConfigurationError(f"weekday field {field!r}: numbers must be 0-7 (0 and 7 are Sunday)")
        parts.extend(_CRON_WEEKDAYS[day % 7] for day in range(start, end + 1, step))
    return ",".join(dict.fromkeys(parts))


def cron_trigger(expression: str, timezone: str, *, name: str) -> Any:
    """A CronTrigger for a 5-field crontab expression; ConfigurationError naming the job otherwise."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ConfigurationError(
            f"[schedule] {name} = {expression!r}: write 5 crontab fields (minute hour day month weekday)"
        )
    try:
        return CronTrigger(
            minute=fields[0],
            hour=fields[1],
            day=fields[2],
            month=fields[3],
            day_of_week=crontab_weekdays(fields[4]),
            timezone=ZoneInfo(timezone),
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"[schedule] {name} = {expression!r} is not a valid schedule: {exc}"
        ) from None


def triggers(config: ScheduleConfig) -> dict[str, Any]:
    """The cron trigger of each job, evaluated in the configured time zone."""
    return {name: cron_trigger(getattr(config, name), config.timezone, name=name) for name in JOB_NAMES}


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial: timedelta
    maximum: timedelta

    def delay(self, failures: int) -> timedelta:
        """initial, 2x, 4x, ... capped at maximum, for the 1st, 2nd, 3rd... consecutive failure."""
        if failures < 1:
            return timedelta(0)
        delay: timedelta = self.initial * (2 ** min(failures - 1, 30))
        return min(delay, self.maximum)


class GuardedJob:
    """Runs a job; a failure is logged and retried after the backoff, never raised into the scheduler."""

    def __init__(
        self,
        name: str,
        job: Job,
        *,
        scheduler: Any,
        backoff: Backoff,
        clock: Clock,
        health: SchedulerHealth | None = None,
    ) -> None:
        self.name = name
        self.failures = 0
        self._job = job
        self._scheduler = scheduler
        self._backoff = backoff
        self._clock = clock
        self._health = health

    def _record(self, started: datetime, began: float, *, ok: bool) -> None:
        if self._health is not None:
            self._health.finished(self.name, started=started, duration=time.monotonic() - began, ok=ok)

    @property
    def retry_id(self) -> str:
        return f"{self.name}-retry"

    def __call__(self) -> None:
        LOG.info("scheduled job %s starting", self.name)
        started, began = self._clock(), time.monotonic()
        try:
            self._job()
        except Exception as exc:  # the scheduler's boundary: any failure is logged and retried
            self._record(started, began, ok=False)
            self.failures += 1
            delay = self._backoff.delay(self.failures)
            LOG.error(
                "scheduled job %s failed (%s consecutive): %s; retrying in %ss",
                self.name,
                self.failures,
                " ".join(str(exc).split()) or type(exc).__name__,
                int(delay.total_seconds()),
                exc_info=not isinstance(exc, _expected_errors()),
            )
            self._schedule_retry(delay)
            return
        self._record(started, began, ok=True)
        self.failures = 0
        LOG.info("scheduled job %s finished", self.name)

    def _schedule_retry(self, delay: timedelta) -> None:
        from apscheduler.triggers.date import DateTrigger

        if self._scheduler.get_job(self.retry_id) is not None:
            self._scheduler.remove_job(self.retry_id)
        self._scheduler.add_job(
            self,
            DateTrigger(run_date=self._clock() + delay),
            id=self.retry_id,
            name=self.retry_id,
            replace_existing=True,
        )


def _expected_errors() -> tuple[type[BaseException], ...]:
    from analyzers.exceptions import AnalyzerError

    return (AnalyzerError,)


def build_scheduler(
    config: ScheduleConfig,
    jobs: Mapping[str, Job],
    *,
    clock: Clock = utc_now,
    health: SchedulerHealth | None = None,
) -> Any:
    """A BlockingScheduler (not started) with one guarded cron job per entry of `jobs`; each run is
    recorded in `health` when given."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(
        timezone=ZoneInfo(config.timezone),
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
    )
    backoff = Backoff(initial=config.backoff_initial, maximum=config.backoff_max)
    cron = triggers(config)
    if health is not None:
        health.register(jobs)
    for name, job in jobs.items():
        guarded = GuardedJob(name, job, scheduler=scheduler, backoff=backoff, clock=clock, health=health)
        scheduler.add_job(guarded, cron[name], id=name, name=name)
    return scheduler


def _plan(scheduler: Any) -> str:
    now = datetime.now(scheduler.timezone)
    return ", ".join(
        f"{job.id} next at {job.trigger.get_next_fire_time(None, now):%Y-%m-%d %H:%M %Z}"
        for job in scheduler.get_jobs()
        if not job.id.endswith("-retry")
    )


def run_until_signalled(scheduler: Any, health: SchedulerHealth | None = None) -> None:
    """Start the scheduler in the foreground; SIGTERM/SIGINT shut it down and return."""
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    def started(_event: object) -> None:
        if health is not None:
            health.set_running(True, now=utc_now())
        LOG.info("scheduler started: %s", _plan(scheduler))

    def shutdown(signum: int) -> None:
        LOG.info("scheduler stopping on %s", signal.Signals(signum).name)
        while not scheduler.running:  # signalled while start() was still under way
            time.sleep(0.05)
        scheduler.shutdown(wait=False)

    def stop(signum: int, _frame: object) -> None:
        # Nothing that takes a lock (logging, the scheduler's) runs inside the signal handler itself.
        threading.Thread(target=shutdown, args=(signum,), name="logloop-scheduler-stop", daemon=True).start()

    scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if health is not None:
            health.set_running(False, now=utc_now())
    LOG.info("scheduler stopped")


# --- the jobs of `logloop schedule` -------------------------------------------------------------


def analyze_job(settings: Any, *, clock: Clock = utc_now) -> Job:
    from analyzers import analyze

    config = analyzer_config.analyze_config(settings.section("analyze"))

    def job() -> None:
        with closing(connect(settings)) as store:
            result = analyze.run(store, config=config, until=clock())
        LOG.info("analyze: %s groups updated, statuses %s", len(result.groups), dict(result.statuses))

    return job


def check_job(settings: Any, *, clock: Clock = utc_now) -> Job:
    from analyzers import alerts, capacity, check, registry

    check_cfg = analyzer_config.check_config(settings.section("check"))
    alerts_cfg = analyzer_config.alerts_config(settings.section("alerts"))
    smtp = alerts.require_deliverable(alerts_cfg, settings.section("smtp"))

    def job() -> None:
        now = clock()
        with closing(connect(settings)) as store:
            result = check.run_check(store, config=check_cfg, until=now)
            findings = capacity.assess(store, config=check_cfg, until=now)
            state, line = capacity.merge_line(result.line, result.state, findings)
            level = (logging.INFO, logging.WARNING, logging.ERROR, logging.ERROR)[state]
            LOG.log(level, "check: %s", line)
            if alerts_cfg.enabled:
                candidates = alerts.candidates(result, registry.load_groups(store), config=alerts_cfg)
                alerts.send(
                    store,
                    candidates,
                    config=alerts_cfg,
                    check_line=result.line,
                    now=now,
                    smtp=smtp,
                )

    return job


def digest_job(settings: Any, *, clock: Clock = utc_now, health: SchedulerHealth | None = None) -> Job | None:
    """The weekly digest, mailed to the [smtp] recipients; None (with a warning) when it cannot run."""
    try:
        from analyzers import mailer, smtp_config
        from analyzers.digest import run_digest
    except ImportError as exc:
        LOG.warning("digest job skipped: the digest module is not available (%s)", exc)
        return None
    if not settings.section("smtp"):
        LOG.warning("digest job skipped: no [smtp] section to send the digest with")
        return None
    smtp = smtp_config.smtp_settings(settings.section("smtp"))
    smtp_config.require_sendable(smtp)
    window = analyzer_config.schedule_config(settings.section("schedule")).digest_window
    from analyzers.digest_options import from_settings

    options = from_settings(settings)

    def job() -> None:
        now = clock()
        # The minute it was due (the job starts seconds late, by varying amounts): weekly windows ending
        # on a whole minute tile the time line (see digest_window), where the seconds left gaps.
        until = now.replace(second=0, microsecond=0)
        with closing(connect(settings)) as store:
            run = run_digest(store, window=window, until=until, now=now, smtp=smtp, options=options)
        for outcome in run.outcomes:
            LOG.info("digest to %s: %s %s", outcome.recipient, outcome.state, outcome.detail or "")
        if health is not None and any(outcome.state == "sent" for outcome in run.outcomes):
            health.digest_sent(now)
        mailer.raise_for_failures(run.outcomes)

    return job


def prune_job(settings: Any, *, clock: Clock = utc_now) -> Job:
    """Retention: expired daily indices (unless ILM deletes them) and stale registry groups."""
    from analyzers import retention

    config = analyzer_config.retention_config(settings.section("retention"))

    def job() -> None:
        with closing(connect(settings)) as store:
            by_ilm = store.ilm_available()
            result = retention.prune(store, config=config, now=clock(), indices=not by_ilm)
        LOG.info(
            "prune: %s expired daily indices deleted%s, %s stale groups removed",
            len(result.deleted_indices),
            " (ILM deletes them on this cluster)" if by_ilm else "",
            result.deleted_groups,
        )

    return job


def default_jobs(
    settings: Any, *, clock: Clock = utc_now, health: SchedulerHealth | None = None
) -> dict[str, Job]:
    jobs: dict[str, Job] = {
        "analyze": analyze_job(settings, clock=clock),
        "check": check_job(settings, clock=clock),
        "prune": prune_job(settings, clock=clock),
    }
    digest = digest_job(settings, clock=clock, health=health)
    if digest is not None:
        jobs["digest"] = digest
    return jobs


def own_logs_may_ship(settings: Any) -> bool:
    """Whether the scheduler's log records may go to Elasticsearch: only once `logloop setup` has
    installed the event index template. The first record of a day creates that day's index, and
    without the template Elasticsearch maps it dynamically (text where logloop needs keyword), which
    every later search of the events trips on. A missing template is an AnalyzerError naming
    `logloop setup`; a node that cannot be asked gives False (the records stay on stderr, said once)."""
    with closing(connect(settings)) as store:
        try:
            installed = store.index_template(
                name=store.event_template, action="check that `logloop setup` installed the index template"
            )
        except ElasticsearchUnavailable as exc:
            LOG.warning("the scheduler's own log records stay on stderr until it restarts: %s", exc)
            return False
    if not installed:
        raise AnalyzerError(
            f"the index template {store.event_template} is not installed, and the scheduler's own log "
            f"records would create {store.prefix}-YYYY.MM.DD with a dynamic mapping: run `logloop setup`"
        )
    return True


def ship_own_logs(settings: Any) -> Any:
    """Send the scheduler's log records through the shipper (call `own_logs_may_ship` first); the
    handler, or None if unavailable."""
    try:
        from shipper.connection import handler_options
        from shipper.install import install
    except ImportError:
        LOG.warning("shipper not available: the scheduler logs to stderr only")
        return None
    return install(
        f"{settings.service}-scheduler",
        **handler_options(settings.elasticsearch),
        index_prefix=settings.index_prefix,
    )
