"""`logloop digest`: build the digest for a window, write it in one format, optionally email it.

    logloop digest --window 7d [--until TIME] [--format html|text|markdown|json] [-o FILE] [--send]

Without -o the digest goes to stdout (unless --send is given alone). `--send` mails it to the
`[smtp]` recipients, once per (window, recipient) however often it runs. Optional `[digest]` keys:
`title`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analyzers import config
from analyzers.store import connect

# Equal to analyzers.render.FORMATS (a test checks): importing render here would load pandas and
# matplotlib for every `logloop` invocation, doubling the start-up time of unrelated commands.
FORMATS = ("html", "text", "markdown", "json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("digest", help="build (and optionally email) the error digest of a window")
    parser.add_argument("--window", default="7d", help="window length, e.g. 7d, 24h (default 7d)")
    parser.add_argument("--until", default=None, help="end of the window, ISO 8601 (default: now)")
    parser.add_argument("--format", choices=FORMATS, default="html", help="output format (default html)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write to FILE instead of stdout")
    parser.add_argument("--send", action="store_true", help="email the digest to the [smtp] recipients")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, settings: Any) -> int:
    from analyzers import digest_options, mailer, smtp_config
    from analyzers.digest import run_digest

    now = datetime.now(UTC)
    window = config.parse_duration(args.window, name="--window")
    until = config.parse_time(args.until, now=now)
    options = digest_options.from_settings(settings)
    # every setting is checked before anything is asked or sent
    title = config.digest_title(settings.section("digest"))
    smtp = None
    if args.send:
        smtp = smtp_config.smtp_settings(settings.section("smtp"))
        smtp_config.require_sendable(smtp)
    store = connect(settings)
    try:
        run = run_digest(
            store,
            window=window,
            until=until,
            now=now,
            fmt=args.format,
            output=args.output,
            smtp=smtp,
            title=title,
            stdout=None if (args.output or args.send) else sys.stdout,
            options=options,
        )
    finally:
        store.close()
    if args.output:
        print(f"digest written to {args.output}", file=sys.stderr)
    for outcome in run.outcomes:
        if outcome.state not in mailer.BAD_STATES:  # those are the error line's
            print(
                f"{outcome.recipient}: {outcome.state}{' - ' + outcome.detail if outcome.detail else ''}",
                file=sys.stderr,
            )
    mailer.raise_for_failures(run.outcomes, kept=run.kept)
    return 0
