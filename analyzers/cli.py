"""The analyzers' subcommands: analyze, resolve, ignore, regroup, check, schedule.

    logloop analyze [--window 7d] [--until TIME] [--rules]
    logloop resolve GROUP [--in-version V] [--at TIME]
    logloop ignore GROUP
    logloop regroup [--since TIME] [--batch N]
    logloop check [--window 15m] [--warning-rate N] [--critical-rate N] [--warning-new N] [--critical-new N]
                  [--warning-regressed N] [--critical-regressed N]
                  (also warns of the shard limit, disk watermarks and shipper losses: analyzers.capacity)
    logloop prune [--dry-run]
    logloop schedule
    logloop group show|ticket|merge|split|unmerge|edits   (analyzers.group_cli)

GROUP is a grouping key or a unique prefix of one. Options override the `[analyze]`/`[check]` sections.
`check` prints one Nagios status line and exits 0/1/2/3 itself; it never raises.
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from analyzers import config
from analyzers.escaping import text_line
from analyzers.exceptions import AnalyzerError, ConfigurationError
from analyzers.store import connect
from analyzers.wording import counted


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analyze = subparsers.add_parser("analyze", help="update the error group registry from the indexed events")
    analyze.add_argument(
        "--window", default=None, help="window length, e.g. 7d (default [analyze] window, 7d)"
    )
    analyze.add_argument("--until", default=None, help="end of the window, ISO 8601 (default: now)")
    analyze.add_argument(
        "--rules", action="store_true", help="print the status rules (as configured) and exit"
    )
    analyze.set_defaults(handler=handle_analyze)

    resolve = subparsers.add_parser("resolve", help="mark an error group resolved")
    resolve.add_argument("group", metavar="GROUP", help="grouping key or a unique prefix of it")
    resolve.add_argument(
        "--in-version", default=None, help="fixed in this version: older versions do not regress"
    )
    resolve.add_argument(
        "--at",
        default=None,
        help="when the fix took effect, ISO 8601 (default: now): occurrences after it are regressions",
    )
    resolve.set_defaults(handler=handle_resolve)

    ignore = subparsers.add_parser("ignore", help="mark an error group ignored")
    ignore.add_argument("group", metavar="GROUP", help="grouping key or a unique prefix of it")
    ignore.set_defaults(handler=handle_ignore)

    regroup = subparsers.add_parser(
        "regroup", help="compute missing or outdated grouping keys of stored events"
    )
    regroup.add_argument(
        "--since", default=None, help="only events from this time on, ISO 8601 (default: all)"
    )
    regroup.add_argument(
        "--batch", type=int, default=500, help="events per page and bulk request (default 500)"
    )
    regroup.set_defaults(handler=handle_regroup)

    check = subparsers.add_parser("check", help="Nagios plugin: error rate and new groups in a short window")
    check.add_argument("--window", default=None, help="window length (default [check] window, 15m)")
    check.add_argument("--warning-rate", type=float, default=None, help="errors per minute for WARNING")
    check.add_argument("--critical-rate", type=float, default=None, help="errors per minute for CRITICAL")
    check.add_argument("--warning-new", type=int, default=None, help="new groups for WARNING")
    check.add_argument("--critical-new", type=int, default=None, help="new groups for CRITICAL")
    check.add_argument("--warning-regressed", type=int, default=None, help="regressed groups for WARNING")
    check.add_argument("--critical-regressed", type=int, default=None, help="regressed groups for CRITICAL")
    check.add_argument("--no-alerts", action="store_true", help="do not send [alerts] notifications")
    check.set_defaults(handler=handle_check, report_error=report_check_error)

    prune = subparsers.add_parser(
        "prune",
        help="delete daily event indices and registry groups older than the [retention] settings",
        description=(
            "Delete the daily event indices whose whole day is older than [retention] events (default "
            "30d), by name, and the registry groups not seen for [retention] groups (default 365d). "
            "Where the cluster has ILM, `logloop setup` installs a lifecycle policy that does the same."
        ),
    )
    prune.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    prune.set_defaults(handler=handle_prune)

    schedule = subparsers.add_parser(
        "schedule", help="run analyze, check, the digest and prune on their schedules (a service)"
    )
    schedule.set_defaults(handler=handle_schedule)


def handle_analyze(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import analyze

    analyze_config = config.analyze_config(settings.section("analyze"))
    if args.window:
        analyze_config = replace(analyze_config, window=config.parse_duration(args.window, name="--window"))
    if args.rules:
        from analyzers.lifecycle import rules

        for number, (status, rule) in enumerate(rules(analyze_config), start=1):
            print(f"{number}. {status:<10} {rule}")
        return 0
    now = datetime.now(UTC)
    until = config.parse_time(args.until, now=now)
    with closing(connect(settings)) as store:
        store.note_unreadable_indices(action="list the event and registry indices")
        result = analyze.run(store, config=analyze_config, until=until, now=now)
        partial = store.partial.lines()
    counts = (
        ", ".join(f"{count} {status}" for status, count in sorted(result.statuses.items())) or "no groups"
    )
    print(f"analyzed {counted(len(result.groups), 'group')} up to {until:%Y-%m-%d %H:%M} UTC: {counts}")
    for group in result.groups[:10]:
        title = text_line(group.title)[:70]  # log content: no escape sequence reaches the terminal
        print(f"  {group.priority:8.2f}  {group.status:<10}  {text_line(group.group_id[:12])}  {title}")
    for line in result.notes:
        print(f"note: {text_line(line)}", file=sys.stderr)
    for line in partial:
        print(f"partial answer: {text_line(line)}", file=sys.stderr)
    return 0


def _mark(
    args: argparse.Namespace, settings: Any, status: str, in_version: str | None, at: str | None = None
) -> int:
    from analyzers import group_edits, registry

    moment = config.parse_time(at, now=datetime.now(UTC))
    with closing(connect(settings)) as store:
        moved = group_edits.where_moved(store, registry.lookup(store, args.group).group_id)
        if moved is not None:  # its entry is frozen for an unmerge: the group holding its events is meant
            raise AnalyzerError(f"{moved}; mark the group that holds its events")
        group = registry.mark(store, args.group, status=status, now=moment, in_version=in_version)
    suffix = f" in version {in_version}" if in_version else ""
    print(f"{text_line(group.group_id)}: {status}{suffix} ({text_line(group.title)})")
    return 0


def handle_resolve(args: argparse.Namespace, settings: Any) -> int:
    return _mark(args, settings, "resolved", args.in_version, args.at)


def handle_ignore(args: argparse.Namespace, settings: Any) -> int:
    return _mark(args, settings, "ignored", None)


def handle_regroup(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import regroup

    if args.batch < 1 or args.batch > 10_000:
        raise AnalyzerError("--batch must be between 1 and 10000")
    now = datetime.now(UTC)
    since = config.parse_time(args.since, now=now) if args.since else None
    fingerprinter = _grouping_fingerprinter(settings)
    with closing(connect(settings)) as store:
        result = regroup.run_regroup(
            store,
            since=since,
            until=now,
            batch=args.batch,
            fingerprinter=fingerprinter,
            progress=sys.stderr.isatty(),  # a bar's carriage returns are noise in a cron job's mail or log
        )
    print(
        f"regrouped {result.updated} of {result.scanned} events "
        f"({result.unchanged} already current, {result.not_errors} not errors)"
    )
    return 0


def _grouping_fingerprinter(settings: Any) -> Any:
    """`fingerprint_event` with the `[grouping]` table applied (as the handler applies it), and the
    grouping version."""
    from analyzers import regroup

    regroup.load_fingerprinter()  # a clear error when grouping is not installed
    from shipper.grouping.fingerprint import GROUPING_VERSION, fingerprint_event
    from shipper.grouping.options import GroupingConfigError, options_from_table

    try:
        options = options_from_table(settings.section("grouping"))
    except GroupingConfigError as exc:
        raise AnalyzerError(f"{exc}; fix the configuration file") from None
    return functools.partial(fingerprint_event, options=options), int(GROUPING_VERSION)


def _check_config(args: argparse.Namespace, settings: Any) -> config.CheckConfig:
    overrides = {
        "window": args.window,
        "warning_rate": args.warning_rate,
        "critical_rate": args.critical_rate,
        "warning_new": args.warning_new,
        "critical_new": args.critical_new,
        "warning_regressed": args.warning_regressed,
        "critical_regressed": args.critical_regressed,
    }
    given = {key: value for key, value in overrides.items() if value is not None}
    table = {**settings.section("check"), **given}
    try:
        return config.check_config(table)
    except ConfigurationError as exc:  # a flag's value is named as the flag the user typed
        message = str(exc)
        for key in given:
            message = message.replace(f"[check] {key}", f"--{key.replace('_', '-')}")
        raise ConfigurationError(message) from None


def handle_check(args: argparse.Namespace, settings: Any) -> int:
    """Nagios semantics: every failure is UNKNOWN (3) with one line, never a traceback."""
    from analyzers import alerts, capacity, check, registry

    now = datetime.now(UTC)
    try:
        check_config = _check_config(args, settings)
        alerts_config = config.alerts_config(settings.section("alerts"))
        alerting = alerts_config.enabled and not args.no_alerts
        smtp = alerts.require_deliverable(alerts_config, settings.section("smtp")) if alerting else None
        with closing(connect(settings)) as store:
            result = check.run_check(store, config=check_config, until=now)
            findings = capacity.assess(store, config=check_config, until=now)
            alert_note = ""
            if alerting:
                candidates = alerts.candidates(result, registry.load_groups(store), config=alerts_config)
                try:
                    sent = alerts.send(
                        store,
                        candidates,
                        config=alerts_config,
                        check_line=result.line,
                        now=now,
                        smtp=smtp,
                    )
                    alert_note = f"{len(sent)} alert(s) sent" if sent else ""
                except AnalyzerError as exc:
                    alert_note = f"alert failed: {exc}"
    except Exception as exc:  # a Nagios plugin reports every failure as UNKNOWN
        print(check.unknown_line(str(exc) or type(exc).__name__))
        return check.UNKNOWN
    state, line = capacity.merge_line(result.line, result.state, findings)
    print(line)
    if alert_note:
        print(alert_note, file=sys.stderr)
    return state


def report_check_error(message: str) -> int:
    """A failure before `check` ran (its configuration, a missing extra) as a Nagios plugin reports
    one: an UNKNOWN line on stdout and status 3 (the CLI's usual status 1 would read as WARNING)."""
    from analyzers import check

    print(check.unknown_line(message))
    return check.UNKNOWN


def handle_prune(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import retention

    retention_config = config.retention_config(settings.section("retention"))
    with closing(connect(settings)) as store:
        result = retention.prune(
            store,
            config=retention_config,
            now=datetime.now(UTC),
            dry_run=args.dry_run,
        )
    verb = "would delete" if result.dry_run else "deleted"
    for name in result.deleted_indices:
        print(f"{verb} {name}")
    print(
        f"{verb} {len(result.deleted_indices)} daily indices older than {retention_config.events.days}d "
        f"({result.kept_indices} kept) and {result.deleted_groups} groups not seen for "
        f"{retention_config.groups.days}d"
    )
    return 0


SHUTDOWN_DELIVERY_SECONDS = 5.0


def handle_schedule(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import scheduler
    from analyzers.health import SchedulerHealth, serve

    schedule_config = config.schedule_config(settings.section("schedule"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    health = SchedulerHealth()
    server = None
    if schedule_config.health_port:  # bound before anything else starts: a taken port fails at once
        try:
            server = serve(health, schedule_config.health_host, schedule_config.health_port)
        except OSError as exc:
            raise AnalyzerError(
                f"cannot serve the health endpoint on {schedule_config.health_host}:"
                f"{schedule_config.health_port} ({exc.strerror}): choose another [schedule] health_port"
            ) from None
    handler = None
    try:
        # Before anything logs to Elasticsearch: it refuses to start before `logloop setup`.
        if scheduler.own_logs_may_ship(settings):
            handler = scheduler.ship_own_logs(settings)
        jobs = scheduler.default_jobs(settings, health=health)
        running = scheduler.build_scheduler(schedule_config, jobs, health=health)
        if server is not None:
            scheduler.LOG.info(
                "health and metrics on http://%s:%s/health and /metrics",
                schedule_config.health_host,
                schedule_config.health_port,
            )
        scheduler.run_until_signalled(running, health)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    if handler is not None:
        # A long-running service stopping on purpose can afford a few seconds to deliver its last
        # records; whatever is still unsent after that stays spooled for the next start.
        handler.wait_delivered(SHUTDOWN_DELIVERY_SECONDS)
    return 0
