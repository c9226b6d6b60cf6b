"""`logloop feedback "text" --kind bug|feature|usability`: ship user feedback the durable way.

The command builds a ShipperHandler from the Settings (Elasticsearch connection, index prefix,
service), sends one feedback event through it and closes it. It prints one line: delivered, or
spooled on disk because the node could not be reached in time; a spooled event is sent by the next
shipper that starts for the same service and spool (for instance the next `logloop feedback`).
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING

from shipper import deadletter
from shipper.connection import Deployment, handler_options
from shipper.exceptions import ShipperError
from shipper.feedback import FEEDBACK_LOGGER, feedback
from shipper.redaction import options_from_config
from shipper.schema import FEEDBACK_KINDS

if TYPE_CHECKING:
    from shipper.handler import ShipperHandler


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="send user feedback (a bug, a feature wish, a usability problem) as an event",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("text", type=_words, help="the feedback, in the user's words")
    parser.add_argument("--kind", required=True, choices=FEEDBACK_KINDS, help="what kind of feedback it is")
    parser.add_argument(
        "--service", type=_words, help="the service it is about (default: the configured service)"
    )
    parser.add_argument("--user", help="who gives the feedback")
    parser.add_argument(
        "--timeout", type=_seconds, default=5.0, help="seconds to wait for delivery before leaving it spooled"
    )
    parser.add_argument(
        "--spool-path", type=Path, help="spool directory (default: per service, under ~/.cache)"
    )
    parser.set_defaults(handler=run_feedback)


def _words(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give some words")
    return text


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:  # (nan is neither: it waited for ever)
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds, 0 or more (e.g. 5)")
    return seconds


def make_handler(settings: Deployment, service: str, spool_path: Path | None) -> ShipperHandler:
    from shipper.handler import ShipperHandler

    rules = options_from_config(settings.section("redaction"))
    return ShipperHandler(
        service,
        **handler_options(settings.elasticsearch),
        index_prefix=settings.index_prefix,
        spool_path=spool_path,
        redact_keys=rules["redact_keys"],
        redact_patterns=rules["redact_patterns"],
    )


def run_feedback(args: argparse.Namespace, settings: Deployment) -> int:
    service = args.service or settings.service
    handler = make_handler(settings, service, args.spool_path)
    logger = logging.getLogger(FEEDBACK_LOGGER)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # only this handler: not whatever the root logger has
    try:
        feedback(args.text, kind=args.kind, service=service, user=args.user)
        delivered = handler.wait_delivered(args.timeout)
        stats = handler.stats()
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()
    if stats.dropped:  # never written to the spool: "delivered" (nothing left to wait for) would be a lie
        reasons = ", ".join(reason for reason, _ in stats.lost) or "dropped"
        raise ShipperError(
            f"the feedback was not kept ({reasons}): the spool {handler.spool_dir} cannot be written; "
            "give a writable directory with --spool-path"
        )
    if stats.dead_lettered:
        raise ShipperError(
            f"{settings.elasticsearch.display} refused the feedback: its reason is in "
            f"{deadletter.path_for(handler.spool_dir)}"
        )
    if delivered:
        print(f"feedback ({args.kind}) for {service} delivered to {settings.elasticsearch.display}")
    else:
        print(
            f"feedback ({args.kind}) for {service} spooled in {handler.spool_dir}: "
            f"{settings.elasticsearch.display} did not acknowledge it within {args.timeout:g} s; "
            "the next shipper for this service sends it (e.g. the next `logloop feedback`)"
        )
    return 0
