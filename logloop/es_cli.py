"""`logloop es start|stop|status`: manage the embedded single-node Elasticsearch."""

from __future__ import annotations

import argparse
import errno
import os
import stat
from pathlib import Path

from logloop import embedded
from logloop.config import Settings
from logloop.errors import EmbeddedNodeError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("es", help="run the embedded Elasticsearch node (loopback only)")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=embedded.port_argument, default=embedded.DEFAULT_PORT)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.set_defaults(handler=run)


def _data_dir_problem(data_dir: Path, action: str) -> str | None:
    """What keeps `data_dir` from being an embedded node's data directory for `action`, or None.
    `start` creates a missing one; `status` and `stop` read the node's pid file in an existing one."""
    try:
        mode = os.stat(data_dir).st_mode
    except ValueError:
        return "is not a path (it holds a NUL character)"
    except FileNotFoundError:
        return None if action == "start" else "does not exist"
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            return "is below a file, not a directory"
        return f"cannot be used ({exc.strerror or type(exc).__name__})"
    if not stat.S_ISDIR(mode):
        return "is a file, not a directory" if stat.S_ISREG(mode) else "is not a directory"
    pid_file = data_dir / "es.pid"
    try:
        pid_mode = os.stat(pid_file).st_mode
        if not stat.S_ISREG(pid_mode):
            return f"holds {pid_file.name}, which is not a file"
        with open(pid_file, "rb"):
            pass
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"holds {pid_file.name}, which cannot be read ({exc.strerror or type(exc).__name__})"
    return None


def _checked_data_dir(args: argparse.Namespace) -> None:
    """A `--data-dir` that no node could use is one line naming it and what to do, before anything
    runs (before, `status` said "not running" with status 3 and `stop` "no node was running")."""
    if args.data_dir is None:
        return
    problem = _data_dir_problem(args.data_dir, args.action)
    if problem is not None:
        what = (
            "give a directory (created if missing)"
            if args.action == "start"
            else "give the directory `logloop es start` used"
        )
        default = embedded.default_data_dir(args.port)
        raise EmbeddedNodeError(f"--data-dir {str(args.data_dir)!r} {problem}: {what} (default: {default})")


def run(args: argparse.Namespace, settings: Settings) -> int:
    _checked_data_dir(args)
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
