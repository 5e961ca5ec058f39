"""A TCP proxy in front of the test Redis that a test can cut and restore: a real Redis outage
(connections dropped, new ones refused) for one client, without stopping the shared server."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.factories import free_port


class RedisProxy:
    """Forwards 127.0.0.1:`port` to `upstream` while started; `stop()` drops every connection
    and refuses new ones, `start()` serves again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._connections: set[socket.socket] = set()

    def url(self, db: int) -> str:
        """The Redis URL of database `db` through the proxy."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on POSIX
        with self._lock:
            self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            connections, self._connections = self._connections, set()
        if server is not None:
            _close(server)
        for connection in connections:
            _close(connection)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._server is not server:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._connections.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, target), daemon=True).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
    sock.close()
