"""`logloop feedback "text" --kind bug|feature|usability`: ship user feedback the durable way.

The command builds a ShipperHandler from the Settings (Elasticsearch connection, index prefix,
service), sends one feedback event through it and closes it. It prints one line: delivered, or
spooled on disk because the node could not be reached in time; a spooled event is sent by the next
shipper that starts for the same service and spool (for instance the next `logloop feedback`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from shipper.connection import Deployment, handler_options
from shipper.feedback import FEEDBACK_LOGGER, feedback
from shipper.schema import FEEDBACK_KINDS

if TYPE_CHECKING:
    from shipper.handler import ShipperHandler


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "feedback",
        help="send user feedback (a bug, a feature wish, a usability problem) as an event",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("text", help="the feedback, in the user's words")
    parser.add_argument("--kind", required=True, choices=FEEDBACK_KINDS, help="what kind of feedback it is")
    parser.add_argument("--service", help="the service it is about (default: the configured service)")
    parser.add_argument("--user", help="who gives the feedback")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for delivery before leaving it spooled"
    )
    parser.add_argument("--spool-path", type=Path, help="spool file (default: per service, under ~/.cache)")
    parser.set_defaults(handler=run_feedback)


def make_handler(settings: Deployment, service: str, spool_path: Path | None) -> ShipperHandler:
    from shipper.handler import ShipperHandler

    return ShipperHandler(
        service,
        **handler_options(settings.elasticsearch),
        index_prefix=settings.index_prefix,
        spool_path=spool_path,
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
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        handler.close()
    if delivered:
        print(f"feedback ({args.kind}) for {service} delivered to {settings.elasticsearch.display}")
    else:
        print(
            f"feedback ({args.kind}) for {service} spooled in {handler.config.spool_path}: "
            f"{settings.elasticsearch.display} did not acknowledge it within {args.timeout:g} s; "
            "the next shipper for this service sends it (e.g. the next `logloop feedback`)"
        )
    return 0
