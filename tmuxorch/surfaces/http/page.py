"""The web page: ``/`` shows the fleet, ``/agents/{name}`` one agent with its
screen open; both are ``static/index.html``, whose one script (``app.js``)
reads the path, the API and its event stream. No framework, no CDN, no build.

A visit that is not signed in gets :data:`SIGNIN` (through
:class:`~.auth.TokenAuth`'s ``signin``), not the API's 401 JSON: a person
who opened the bare URL is told where the sign-in link is.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from tmuxorch.core import vocab

STATIC = Path(__file__).with_name("static")
# The script and stylesheet alone: no inline code, so a screen or prompt that
# slipped into the page as markup could still run nothing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
_PAGE = re.compile(r"/(agents/[^/]+)?")


def _index() -> str:
    # The modes' words from the vocabulary, so the page offers what the API takes.
    options = "".join(f'<option value="{m}">{m}</option>' for m in vocab.MODES)
    return (STATIC / "index.html").read_text().replace("<!--modes-->", options)


INDEX = _index()
SIGNIN = (STATIC / "signin.html").read_text()


def signin(path: str) -> ASGIApp | None:
    """What a visit to ``path`` without the token gets instead of the 401 JSON."""
    if _PAGE.fullmatch(path) is None:
        return None
    return HTMLResponse(SIGNIN, status_code=401, headers=HEADERS)


def install(app: FastAPI) -> None:
    """Mount the page's two paths and its files on ``app``."""

    @app.get("/", include_in_schema=False)
    async def fleet_page() -> HTMLResponse:
        return HTMLResponse(INDEX, headers=HEADERS)

    @app.get("/agents/{name}", include_in_schema=False)
    async def agent_page(name: str) -> HTMLResponse:
        return HTMLResponse(INDEX, headers=HEADERS)  # the script shows ``name`` alone

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
