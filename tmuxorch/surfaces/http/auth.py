"""Who may use ``tmuxorch serve``: the token in the home, the bearer header or
the sign-in cookie, same-origin writes, and where the server may listen.

The token is the only credential: it is compared in constant time, travels
only in a header or an HttpOnly cookie after ``/login``, and is never logged
(the server keeps no access log, whose lines would hold ``/login?token=``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from tmuxorch.core import private
from tmuxorch.core.errors import ConfigError, StoreError
from tmuxorch.surfaces.http.errors import error_response

TOKEN_FILE = "http-token"
COOKIE = "tmuxorch_token"
# Reachable without the token: whether the server is up, and the sign-in itself.
OPEN_PATHS = frozenset({"/api/health", "/login"})
# Methods that change nothing: a cookie alone may make them from anywhere.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_path(home: Path) -> Path:
    return home / TOKEN_FILE


def load_token(home: Path) -> tuple[str, bool]:
    """The server's token, made on first use; and whether it was made now."""
    private.check_home(home)
    path = token_path(home)
    try:
        token = private.read_text(path).strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        private.write_file(path, token.encode() + b"\n")
        return token, True
    if len(token) < 16:
        raise StoreError(f"{path} holds no usable token: remove it, and a new one is made")
    return token, False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless config says ``http.allow_remote``."""
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name: where it points may change, so it is not loopback
    if not loopback:
        raise ConfigError(
            f"--host {host} is reachable from other machines: set http.allow_remote: true "
            "in config.yaml to allow it (and put TLS in front), or use 127.0.0.1"
        )


def same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def _same_origin(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    host = conn.headers.get("host")
    return origin is not None and host is not None and origin == f"{conn.url.scheme}://{host}"


class TokenAuth:
    """ASGI middleware: every path but :data:`OPEN_PATHS` needs the token, in
    ``Authorization: Bearer`` or the sign-in cookie; a cookie request that
    changes something also needs an ``Origin`` of this server (a page elsewhere
    can make the browser send the cookie, never the header). ``signin`` gives,
    for a path, what a visit without the token gets instead of the 401 JSON
    (a page's sign-in note), or None."""

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        signin: Callable[[str], ASGIApp | None] = lambda path: None,
    ) -> None:
        self.app = app
        self.token = token
        self.signin = signin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(HTTPConnection(scope), scope["method"])
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        page = self.signin(scope["path"]) if status == 401 and scope["method"] == "GET" else None
        if page is not None:
            await page(scope, receive, send)
            return
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await error_response(status, message, headers)(scope, receive, send)

    def refusal(self, conn: HTTPConnection, method: str) -> tuple[int, str] | None:
        header = conn.headers.get("authorization")
        if header is not None:
            scheme, _, given = header.partition(" ")
            if scheme.lower() == "bearer" and same(given.strip(), self.token):
                return None
            return 401, "wrong token: send Authorization: Bearer and the token in HOME/http-token"
        cookie = conn.cookies.get(COOKIE)
        if cookie is None or not same(cookie, self.token):
            return 401, "sign in: send Authorization: Bearer TOKEN, or open /login?token=TOKEN"
        if method not in SAFE_METHODS and not _same_origin(conn):
            return 403, "a request that changes something needs an Origin of this server"
        return None


def cookie_options() -> dict[str, Any]:
    """The sign-in cookie: never readable by a script, never sent by another site."""
    # A year: the token lasts until its file is removed; the cookie need not die sooner.
    return {"httponly": True, "samesite": "strict", "max_age": 365 * 86400, "path": "/"}
