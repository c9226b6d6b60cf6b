"""`logloop group show KEY` and `logloop group ticket KEY`: one error group in full, or as an issue.

    logloop group show KEY [--window 7d] [--until TIME] [--format text|markdown|json]
    logloop group ticket KEY [--window 7d] [--until TIME] [-o FILE] [--post]

KEY is a grouping key or a unique prefix of one (the digest prints them). `--post` sends the ticket
as JSON to `[rootcause] webhook_url`. `add_commands` only adds actions to the `group` parser it is
given (`analyzers.group_cli` creates it), so the other `group` actions live beside these.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analyzers import config
from analyzers.escaping import json_text
from analyzers.exceptions import ConfigurationError
from analyzers.store import connect

SHOW_FORMATS = ("text", "markdown", "json")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", metavar="KEY", help="grouping key or a unique prefix of it")
    parser.add_argument("--window", default="7d", help="window length, e.g. 7d, 24h (default 7d)")
    parser.add_argument("--until", default=None, help="end of the window, ISO 8601 (default: now)")


def add_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = actions.add_parser("show", help="one group with its root-cause material")
    _common(show)
    show.add_argument("--format", choices=SHOW_FORMATS, default="text", help="output format (default text)")
    show.set_defaults(handler=handle_show)
    ticket = actions.add_parser("ticket", help="the group as a ready-to-file issue in Markdown")
    _common(ticket)
    ticket.add_argument("-o", "--output", type=Path, default=None, help="write to FILE instead of stdout")
    ticket.add_argument("--post", action="store_true", help="POST it to [rootcause] webhook_url as JSON")
    ticket.set_defaults(handler=handle_ticket)


def _report(args: argparse.Namespace, settings: Any) -> Any:
    from analyzers import digest_options, group_report

    options = digest_options.from_settings(settings)
    now = datetime.now(UTC)
    window = config.parse_duration(args.window, name="--window")
    until = config.parse_time(args.until, now=now)
    store = connect(settings)
    try:
        return group_report.build(
            store, args.group, window=window, until=until, now=now, options=options
        ), options
    finally:
        store.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.total_seconds() if hasattr(value, "total_seconds") else str(value)


def handle_show(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import ticket
    from analyzers.render import environment

    report, _ = _report(args, settings)
    if args.format == "json":
        document = dataclasses.asdict(report)
        document["window"] = {"start": report.window.start, "end": report.window.end}
        document["suspects"] = [dataclasses.asdict(s) for s in report.cause.suspects]
        text = json_text(json.dumps(document, default=_jsonable, indent=2, ensure_ascii=False)) + "\n"
    elif args.format == "markdown":
        text = ticket.markdown(report)
    else:
        text = environment().get_template("group_show.txt.j2").render(r=report)
    sys.stdout.write(text)
    return 0


def handle_ticket(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import files, ticket

    report, options = _report(args, settings)
    if args.post and not options.rootcause.webhook_url:
        raise ConfigurationError('--post needs [rootcause] webhook_url = "https://..." in the config file')
    body = ticket.markdown(report)
    if args.output is not None:
        files.write_text(args.output, body, what="ticket")
        print(f"ticket written to {args.output}", file=sys.stderr)
    elif not args.post:
        sys.stdout.write(body)
    if args.post:
        status = ticket.post(
            options.rootcause.webhook_url,
            ticket.payload(report),
            timeout=options.rootcause.timeout.total_seconds(),
        )
        print(f"ticket posted to {options.rootcause.webhook_url} (HTTP {status})", file=sys.stderr)
    return 0
