"""A loopback TCP proxy to the node that can be stopped and started again: an outage of the node (and
its end) at a fixed address, without stopping the shared node."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class Proxy:
    """A loopback TCP proxy to the node; stop() refuses connections and cuts open ones (an outage).

    It simulates the node being down without stopping the shared node.
    """

    def __init__(self, target: tuple[str, int], *, answer_delay: float = 0.0, drip: float = 0.0) -> None:
        self.target = target
        self.answer_delay = answer_delay  # seconds each connection's answer is held back (a slow node)
        self.drip = drip  # seconds between the bytes of an answer, when not 0 (a node that drips)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
            self._listener.close()
            self._listener = None
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._open += [client, upstream]
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            answers = (upstream, client, self.answer_delay, self.drip)
            threading.Thread(target=_pump, args=answers, daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, delay: float = 0.0, drip: float = 0.0) -> None:
    """Copy what `source` says to `sink`, each piece `delay` seconds late (each byte `drip` seconds
    after the one before, when `drip` is not 0), until either closes."""
    try:
        while data := source.recv(65536):
            time.sleep(delay)
            for piece in (data[i : i + 1] for i in range(len(data))) if drip else (data,):
                sink.sendall(piece)
                time.sleep(drip)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def proxy_to(es_url: str, *, drip: float = 0.0) -> Proxy:
    """A proxy (not started) to the node at `es_url` (`http://host:port`), dripping its answers when
    `drip` is not 0."""
    host, port = es_url.rsplit("//", 1)[1].rsplit(":", 1)
    return Proxy((host, int(port)), drip=drip)
