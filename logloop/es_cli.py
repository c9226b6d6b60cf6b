"""`logloop es start|stop|status`: manage the embedded single-node Elasticsearch."""

from __future__ import annotations

import argparse
from pathlib import Path

from logloop import embedded
from logloop.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("es", help="run the embedded Elasticsearch node (loopback only)")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=embedded.port_argument, default=embedded.DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "start":
        node = embedded.start(args.port, args.data_dir)
        print(f"Elasticsearch {embedded.ES_VERSION} is {node.health} at {node.url} (data: {node.data_dir})")
        return 0
    if args.action == "stop":
        stopped = embedded.stop(args.port, args.data_dir)
        print("stopped" if stopped else "no embedded node was running from that data dir")
        return 0
    node = embedded.status(args.port, args.data_dir)
    if node.running:
        print(f"running: {node.url} health={node.health} pid={node.pid} data={node.data_dir}")
        return 0
    print(f"not running on port {args.port}")
    return 3
