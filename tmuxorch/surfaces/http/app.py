"""``tmuxorch serve``: the FastAPI application and the uvicorn server under it.

The app is the API routes (:mod:`.routes`), the event stream (:mod:`.events`),
the web page (:mod:`.page`) and the sign-in; :class:`~.errors.Guard` (body
cap, last-resort errors) wraps :class:`~.auth.TokenAuth`, which wraps
everything else, FastAPI's ``/docs`` and ``/openapi.json`` included.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException

from tmuxorch import __version__
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.surfaces.http import auth, errors, events, page, routes

# Where /login sends a browser once signed in: the web page.
AFTER_LOGIN = "/"


def create_app(settings: Callable[[], Settings], token: str) -> FastAPI:
    # /docs from the package's own copy of Swagger UI: these servers may have no internet.
    app = FastAPIOffline(
        redoc_url=None,
        title="tmuxorch",
        version=__version__,
        description="The fleet of agents over HTTP: the same objects as the CLI's --json. "
        "Every path but /api/health needs Authorization: Bearer TOKEN (HOME/http-token) "
        "or the cookie /login?token=TOKEN sets.",
    )
    errors.install(app)
    app.state.closing = asyncio.Event()
    app.include_router(routes.router(settings))
    app.include_router(events.router(settings, app.state.closing))
    page.install(app)

    @app.get("/login", include_in_schema=False)
    async def login(token_: Annotated[str, Query(alias="token")] = "") -> RedirectResponse:
        if not auth.same(token_, token):
            raise HTTPException(401, "wrong token: use the one in HOME/http-token")
        signed_in = RedirectResponse(AFTER_LOGIN, status_code=303)
        signed_in.set_cookie(auth.COOKIE, token, **auth.cookie_options())
        return signed_in

    app.add_middleware(auth.TokenAuth, token=token, signin=page.signin)
    app.add_middleware(errors.Guard)  # added last: outermost
    return app


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound now so a taken port is one clear line and
    ``--port 0`` can say which port it got."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = None
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Connections accepted from it inherit it: a response written in two
        # parts (head, body) no longer waits on the client's delayed ACK,
        # 40 ms on every request but a connection's first.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(infos[0][4])
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise TmuxorchError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that ends the event streams when told to stop."""

    def __init__(self, config: uvicorn.Config, closing: asyncio.Event) -> None:
        super().__init__(config)
        self.closing = closing

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # A signal handler, on the event loop's thread between two steps of it
        # (none running yet: no stream to end).
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon_threadsafe(self.closing.set)
        super().handle_exit(sig, frame)


def run(app: FastAPI, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM. No access log: its lines would carry /login's token."""
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
    )
    # uvicorn raises Ctrl-C again once it has shut down: the end, not an error.
    with contextlib.suppress(KeyboardInterrupt):
        _Server(config, app.state.closing).run(sockets=[sock])
