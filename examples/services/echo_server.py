"""A tiny TCP echo service for the example service manager (loopback only)."""

from __future__ import annotations

import argparse
import signal
import socketserver
import sys


class Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", args.port), Echo) as server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(f"echo listening on 127.0.0.1:{args.port}", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
