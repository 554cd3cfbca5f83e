"""Pure functions: everything the server decides, without any I/O.

The HTTP layer in ``server.py`` only translates between sockets and these
functions, so the behaviour is tested here without starting anything.
"""

import json
import re
from typing import Mapping, NamedTuple, Optional
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORT = 8080
DEFAULT_VERSION = "dev"
_NAME_RE = re.compile(r"^[\w .'-]{1,64}$")


class Response(NamedTuple):
    status: int
    body: dict

    def encode(self) -> bytes:
        return (json.dumps(self.body, sort_keys=True) + "\n").encode("utf-8")


def greeting(name: Optional[str] = None) -> dict:
    """The greeting for ``GET /``; a name that is not plain text is ignored."""
    who = name.strip() if name else ""
    if not _NAME_RE.match(who):
        who = "world"
    return {"message": f"Hello, {who}!", "service": "demo"}


def version(env: Mapping[str, str]) -> str:
    """The version the deployment says this is (``APP_VERSION``), else ``dev``."""
    return env.get("APP_VERSION", "").strip() or DEFAULT_VERSION


def port(env: Mapping[str, str]) -> int:
    """The port to listen on, from ``PORT``; a bad value is an error, not a guess."""
    raw = env.get("PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"PORT must be a number from 1 to 65535, got {raw!r}")
    return int(raw)


def route(method: str, target: str, env: Mapping[str, str]) -> Response:
    """The response to one request, from its method and request target."""
    parts = urlsplit(target)
    path = parts.path.rstrip("/") or "/"
    handlers = {
        "/": lambda: greeting(parse_qs(parts.query).get("name", [None])[0]),
        "/healthz": lambda: {"status": "ok"},
        "/version": lambda: {"version": version(env)},
    }
    if path not in handlers:
        return Response(404, {"error": f"no such path: {path}"})
    if method not in ("GET", "HEAD"):
        return Response(405, {"error": f"method {method} not allowed"})
    return Response(200, handlers[path]())
