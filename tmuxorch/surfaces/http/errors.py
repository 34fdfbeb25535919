"""Errors at the HTTP edge: every failure is ``{"error": "one clear line"}``
with its status, never a traceback in a response or the log.

Domain errors map by class (:data:`STATUS`); FastAPI's validation errors are
reshaped to one line naming the field; a body past :data:`MAX_BODY` is 413
before it is read whole; anything else is a bug, answered 500 and logged as
one line (the path without its query, which may hold the sign-in token).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tmuxorch.core import errors

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB: a prompt is text; more is a mistake or an attack

# Most specific first: the first class in an error's MRO found here decides.
STATUS: dict[type[errors.TmuxorchError], int] = {
    errors.UnknownAgent: 404,
    errors.AgentConflict: 409,
    errors.DeliveryError: 409,
    errors.LockError: 409,
    errors.TimeoutReached: 504,
    errors.AgentError: 400,
    errors.ProfileError: 400,
    errors.SummaryError: 502,
    # The server's own state (config, database, tmux, files): not the request's fault.
    errors.ConfigError: 500,
    errors.StoreError: 500,
    errors.TmuxError: 500,
    errors.FileError: 500,
}


def status_of(exc: errors.TmuxorchError) -> int:
    return next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 400)


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _field(loc: Sequence[Any]) -> str:
    # ("body", "mode") -> body.mode; ("query", "lines") -> lines
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] in ("query", "path") else parts)


def validation_line(exc: RequestValidationError) -> tuple[int, str]:
    """The first complaint, as one line; malformed JSON is 400, not 422."""
    problems = list(exc.errors())
    if not problems:
        return 422, "invalid request"
    first = problems[0]
    if first.get("type") == "json_invalid":
        return 400, "the request body is not valid JSON"
    if tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes | str):
        return 422, "the request body must be a JSON object (Content-Type: application/json)"
    where = _field(first.get("loc", ()))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return 422, f"{where}: {first.get('msg', 'invalid')}{more}"


def install(app: FastAPI) -> None:
    """The exception handlers that give every failure its one line."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.TmuxorchError)
        return error_response(status_of(exc), str(exc))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(*validation_line(exc))

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    app.add_exception_handler(errors.TmuxorchError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware, outermost: bodies past :data:`MAX_BODY` get 413 (by
    their Content-Length, or as they stream), and an exception no handler took
    gets 500 and one log line instead of a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await self._too_large(scope, receive, send)
            return
        started = False
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if seen > MAX_BODY:
                # FastAPI turned _TooLarge into its own 400: answer 413 instead.
                if not started:
                    started = True
                    await self._too_large(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._too_large(scope, receive, send)
        except Exception as exc:
            log.error(
                "%s %s failed: %s: %s", scope["method"], scope["path"], type(exc).__name__, exc
            )
            if not started:
                await error_response(500, f"internal error: {type(exc).__name__}: {exc}")(
                    scope, receive, send
                )

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body over {MAX_BODY // 1024} KiB"
        await error_response(413, message)(scope, receive, send)
