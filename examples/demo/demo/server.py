"""The HTTP layer: stdlib http.server around ``core.route``."""

import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping, Optional

from demo import core


def make_handler(env: Mapping[str, str]):
    class Handler(BaseHTTPRequestHandler):
        server_version = "demo"

        def _respond(self, with_body: bool) -> None:
            response = core.route(self.command, self.path, env)
            body = response.encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._respond(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._respond(False)

        def do_POST(self) -> None:  # noqa: N802
            self._respond(True)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            # One line per request on stdout, the way a container should log.
            sys.stdout.write(f"{self.address_string()} {format % args}\n")

    return Handler


def make_server(env: Mapping[str, str], host: str = "0.0.0.0", port: Optional[int] = None) -> ThreadingHTTPServer:
    """A server bound to ``port`` (``PORT`` when None; 0 picks a free one)."""
    server = ThreadingHTTPServer((host, core.port(env) if port is None else port), make_handler(env))
    server.daemon_threads = True
    return server


def main() -> None:
    server = make_server(os.environ)
    # As PID 1 in a container, SIGTERM has no default action: stop cleanly on it.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"demo {core.version(os.environ)} listening on :{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
