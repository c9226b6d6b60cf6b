"""Loopback stand-ins for Logstash's tcp (json_lines) and beats (Lumberjack v2) inputs (mocked, as the
project allows for Logstash)."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import zlib
from typing import Any


class _LoopbackServer:
    """A one-thread TCP server on 127.0.0.1 that hands each connection to `serve`."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.received: list[dict[str, Any]] = []
        self.served = threading.Event()  # set after each connection has been read to its end
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError, struct.error):
                self.serve(conn)
            self.served.set()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


class JsonLinesServer(_LoopbackServer):
    """Stands in for Logstash's tcp input with the json_lines codec."""

    def serve(self, conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        self.received.extend(json.loads(line) for line in data.splitlines() if line)


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


class BeatsServer(_LoopbackServer):
    """Stands in for Logstash's beats input: Lumberjack v2 windows of compressed JSON frames, acked."""

    def __init__(self, *, ack: bool = True) -> None:
        self.ack = ack
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        while True:
            version, kind, window = struct.unpack(">BBI", _read_exactly(conn, 6))
            assert (version, kind) == (0x32, ord("W"))
            _, kind, length = struct.unpack(">BBI", _read_exactly(conn, 6))
            assert kind == ord("C")
            payload, last = zlib.decompress(_read_exactly(conn, length)), 0
            for _ in range(window):
                _, kind, last, size = struct.unpack(">BBII", payload[:10])
                self.received.append(json.loads(payload[10 : 10 + size]))
                payload = payload[10 + size :]
            if self.ack:
                conn.sendall(struct.pack(">BBI", 0x32, ord("A"), last))
