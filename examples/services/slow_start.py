"""A service that takes `--delay` seconds before it listens: its health check times out first."""

from __future__ import annotations

import argparse
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=30.0)
    args = parser.parse_args()
    print(f"warming caches for {args.delay:g} s before listening", flush=True)
    time.sleep(args.delay)
    with socket.create_server(("127.0.0.1", args.port)) as server:
        while True:
            connection, _ = server.accept()
            connection.close()


if __name__ == "__main__":
    sys.exit(main())
