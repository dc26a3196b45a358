"""Serve a sandbox WSGI app on a port, in a daemon thread, for the local stack."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client gave up first (a timeout fault): nothing to report
        super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Start serving ``app``; returns its base URL and a ``stop()`` that shuts it down."""
    server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{server.server_port}", daemon=True)
    thread.start()

    stopped = threading.Event()

    def stop() -> None:
        """Stop serving and close the socket; calling it again does nothing."""
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}", stop
