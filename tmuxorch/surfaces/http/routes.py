"""The API's endpoints (/api/...): each parses its request, calls the same
domain function as the CLI and MCP tool of the same name, and returns the same
view's ``to_json()``.

A call runs in a worker thread with a Fleet of its own (SQLite connections
belong to the thread that opened them; a ``stop`` or ``clear`` blocks for
seconds), as the MCP server's tools do.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from tmuxorch import __version__
from tmuxorch.core import vocab
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import AgentError, FileError
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.launching import SpawnRequest, check_name
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views import agents as views
from tmuxorch.fleet.views.costs import cost_view
from tmuxorch.fleet.views.hosts import host_views
from tmuxorch.fleet.views.locks import fleet_lock_views
from tmuxorch.fleet.views.messages import message_view

if TYPE_CHECKING:
    from tmuxorch.core.vocab import Mode
else:  # pydantic reads the models: typing's Literal of the same words
    Mode = Literal[vocab.MODES]

T = TypeVar("T")
Json = dict[str, Any]


class Strict(BaseModel):
    """A request body: JSON types as declared (no "1" for 1), no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid")


class SpawnBody(Strict):
    name: str
    prompt: str | None = None
    agent: str | None = Field(None, description="The profile: claude (default), shell, ...")
    cwd: str | None = None
    model: str | None = None
    permission_mode: str | None = None
    parent: str | None = None
    worktree: bool | str | None = Field(
        None, description="true: a new branch tmuxorch/NAME; a string: that branch."
    )
    env: dict[str, str] | None = None
    host: str | None = Field(None, description="Another machine: not served yet.")


class MessageBody(Strict):
    text: str
    mode: Mode = "sequential"


class ApproveBody(Strict):
    always: bool = False


class DenyBody(Strict):
    reason: str | None = None


class ResumeBody(Strict):
    message: str | None = None


def _warm_call(warm: threading.local, current: Settings, fn: Callable[[Fleet], T]) -> T:
    """``fn`` on this thread's fleet, opened again when the settings changed
    (an edit of config.yaml), the state was replaced, or a call failed."""
    fleet: Fleet | None = getattr(warm, "fleet", None)
    if fleet is not None and (fleet.settings != current or fleet.store.replaced()):
        warm.fleet = None
        fleet.close()
        fleet = None
    if fleet is None:
        fleet = warm.fleet = Fleet(current, long_lived=True)
    try:
        return fn(fleet)
    except AgentError:
        raise  # about the agent asked for (404, 409): the fleet is fine
    except BaseException:
        warm.fleet = None
        fleet.close()
        raise


def router(settings: Callable[[], Settings]) -> APIRouter:
    """The /api routes over the fleet ``settings()`` names, resolved per call
    (an edit of config.yaml takes effect, a broken one is a 500 line)."""
    api = APIRouter(prefix="/api")

    warm = threading.local()  # a worker thread's open fleet, for reads

    def in_fleet(fn: Callable[[Fleet], T], *, reuse: bool = False) -> T:
        try:
            current = settings()
            if not reuse:
                with Fleet(current, long_lived=True) as fleet:
                    return fn(fleet)
            return _warm_call(warm, current, fn)
        except OSError as exc:
            if exc.filename is None:
                raise
            raise FileError.of(exc) from exc

    async def call(fn: Callable[[Fleet], T]) -> T:
        return await anyio.to_thread.run_sync(functools.partial(in_fleet, fn))

    async def read(fn: Callable[[Fleet], T]) -> T:
        """``call`` for what only reads: on the worker thread's open fleet
        (opening and closing the store was two thirds of a GET's time)."""
        return await anyio.to_thread.run_sync(functools.partial(in_fleet, fn, reuse=True))

    async def acted(name: str, act: Callable[[Fleet], object]) -> Json:
        """Do ``act``, then show the agent as it is."""

        def run(f: Fleet) -> Json:
            act(f)
            return views.of(f, f.agent(name)).to_json()

        return await call(run)

    @api.get("/health")
    async def health() -> Json:
        """Whether the server is up; needs no token."""
        count = await read(lambda f: sum(f.store.state_counts().values()))
        return {"ok": True, "version": __version__, "agents": count}

    @api.get("/agents", response_model=list[Json])
    async def list_agents() -> Response:
        """Every agent, as ``list --json``."""
        # Already JSON's types: FastAPI's encoding and checking of a returned
        # list took as long as reading the fleet.
        agents = await read(lambda f: [v.to_json() for v in views.agent_views(f)])
        return JSONResponse(agents)

    @api.get("/agents/{name}")
    async def get_agent(name: str) -> Json:
        """One agent in detail, as ``status NAME --json``."""
        check_name(name)
        return await read(lambda f: views.agent_view(f, name).to_json())

    @api.post("/agents", status_code=201)
    async def spawn(body: SpawnBody) -> Json:
        """Start an agent, as ``spawn``; the agent object."""
        check_name(body.name)
        tree = body.worktree
        worktree = "" if tree is True else None if tree is False else tree
        request = SpawnRequest(
            name=body.name, prompt=body.prompt, profile=body.agent, cwd=body.cwd,
            model=body.model, permission_mode=body.permission_mode, env=body.env,
            parent=body.parent, worktree=worktree, host=body.host,
        )  # fmt: skip
        return await call(lambda f: views.of(f, f.spawn(request)).to_json())

    @api.post("/agents/{name}/messages")
    async def send(name: str, body: MessageBody) -> Json:
        """Send a message, as ``send --json``: ``{id, to, mode, status}``."""
        check_name(name)

        def sent(f: Fleet) -> Json:
            msg = messaging.send(f, name, body.text, mode=body.mode, sender=None)
            return message_view(f, msg).to_json()

        return await call(sent)

    @api.post("/agents/{name}/approve")
    async def approve(name: str, body: Annotated[ApproveBody | None, Body()] = None) -> Json:
        """Answer yes to the prompt a waiting agent shows (409 if it is not waiting)."""
        check_name(name)
        always = body.always if body else False
        return await acted(name, lambda f: control.approve(f, name, always=always))

    @api.post("/agents/{name}/deny")
    async def deny(name: str, body: Annotated[DenyBody | None, Body()] = None) -> Json:
        """Answer no; a reason is typed to the agent as its next message."""
        check_name(name)
        reason = body.reason if body else None
        return await acted(name, lambda f: control.deny(f, name, reason=reason))

    @api.post("/agents/{name}/interrupt")
    async def interrupt(name: str) -> Json:
        """End the agent's current turn (Esc), keeping its conversation."""
        check_name(name)
        return await acted(name, lambda f: control.interrupt(f, name))

    @api.post("/agents/{name}/clear")
    async def clear(name: str) -> Json:
        """Reset the agent's conversation and wait until it is idle."""
        check_name(name)
        return await acted(name, lambda f: control.clear(f, name))

    @api.post("/agents/{name}/stop")
    async def stop(name: str) -> Json:
        """Stop the agent gracefully; resume brings it back."""
        check_name(name)
        return await call(lambda f: views.of(f, f.stop(name)).to_json())

    @api.post("/agents/{name}/resume")
    async def resume(name: str, body: Annotated[ResumeBody | None, Body()] = None) -> Json:
        """Start a stopped or exited agent again in its conversation."""
        check_name(name)
        message = body.message if body else None
        return await call(lambda f: views.of(f, f.resume(name, message)).to_json())

    @api.delete("/agents/{name}")
    async def kill(name: str, rm: bool = False) -> Json:
        """Kill the agent (its record and last screen stay); ``?rm=true`` removes it."""
        check_name(name)
        if rm:
            await call(lambda f: f.remove(name))
            return {"name": name, "removed": True}
        return await call(lambda f: views.of(f, f.kill(name)).to_json())

    @api.get("/agents/{name}/output")
    async def output(name: str, lines: Annotated[int | None, Query(ge=1)] = None) -> Json:
        """The agent's screen (its last one once it ended), or its last N lines."""
        check_name(name)
        return {"name": name, "text": await read(lambda f: control.output(f, name, lines=lines))}

    @api.get("/locks")
    async def locks() -> list[Json]:
        """Every held lock, as ``locks --json``."""
        return await read(lambda f: [v.to_json() for v in fleet_lock_views(f)])

    @api.get("/hosts")
    async def hosts() -> list[Json]:
        """Every host of the fleet, as ``hosts --json``."""
        return await read(lambda f: [v.to_json() for v in host_views(f)])

    @api.get("/cost")
    async def cost() -> Json:
        """Tokens and cost per agent and the total, as ``cost --json``."""
        return await read(lambda f: cost_view(f).to_json())

    return api
