"""A worker that crashes `--after` seconds with a real traceback (exit status 1)."""

from __future__ import annotations

import argparse
import sys
import time


class QueueConnectionLost(RuntimeError):
    """The worker lost its queue connection."""


def connect(url: str) -> None:
    raise ConnectionRefusedError(f"connection to {url} refused")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--after", type=float, default=0.2)
    args = parser.parse_args()
    print("worker started", flush=True)
    time.sleep(args.after)
    try:
        connect("amqp://127.0.0.1:5679/jobs")
    except ConnectionRefusedError as exc:
        raise QueueConnectionLost("worker lost its queue connection") from exc
    return 0


if __name__ == "__main__":
    sys.exit(main())
