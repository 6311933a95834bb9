"""The common part of the local servers that play providers this machine cannot reach."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalFakeAPI:
    """A threaded HTTP server on a free loopback port; subclasses supply `_handler()`."""

    def __init__(self) -> None:
        self.failures: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` requests with `status`, as a provider in trouble does."""
        self.failures.extend([status] * times)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError
