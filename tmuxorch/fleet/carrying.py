"""A host's daemon carrying out what other hosts ask of its agents
(``fleet.routing`` files the requests): the same fleet functions a command
on this host calls, each request answered with its result (JSON) or its
error in one line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tmuxorch.core.errors import AgentError, TmuxorchError
from tmuxorch.core.records import Request
from tmuxorch.fleet import control, launching, sessions
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.routing import MARGIN, failure
from tmuxorch.store.notify import until_reachable

logger = logging.getLogger(__name__)


def _spawn(fleet: Fleet, name: str, args: dict[str, Any]) -> Any:
    tuples = {k: tuple(args[k]) for k in ("args", "allow_protected")}  # lists in JSON
    request = launching.SpawnRequest(**{**args, **tuples, "name": name})
    return launching.spawn(fleet, request).name


# op -> what carries it out on this host: (fleet, agent name, args) -> JSON.
OPS: dict[str, Callable[[Fleet, str, dict[str, Any]], Any]] = {
    "spawn": _spawn,
    "approve": lambda f, name, a: control.approve(f, name, always=a["always"]),
    "deny": lambda f, name, a: control.deny(f, name, reason=a["reason"]),
    "interrupt": lambda f, name, a: control.interrupt(f, name),
    "clear": lambda f, name, a: control.clear(f, name),
    "output": lambda f, name, a: control.output(f, name, **a),
    "stop": lambda f, name, a: sessions.stop(f, name, **a).name,
    "kill": lambda f, name, a: sessions.kill(f, name).name,
    "resume": lambda f, name, a: sessions.resume(f, name, a["message"]).name,
    "remove": lambda f, name, a: sessions.remove(f, name),
    "fork": lambda f, name, a: sessions.fork(f, name, a["new"], a["message"]).name,
}


def carry_out(fleet: Fleet, request: Request) -> None:
    """Do what ``request`` (claimed by this host's daemon) asks, and answer it."""
    try:
        op = OPS.get(request.op)
        if op is None:
            raise AgentError(f"host {fleet.host!r} cannot {request.op!r}: unknown request")
        result = op(fleet, request.agent, request.args)
    except TmuxorchError as exc:
        error, about = failure(exc)
        logger.info("request %d (%s %s): %s", request.id, request.op, request.agent, error)
        _answer(fleet, request, about, error)
        return
    except Exception as exc:  # a bug: answered all the same, the asker not left to time out
        logger.exception("request %d (%s %s)", request.id, request.op, request.agent)
        _answer(fleet, request, None, f"host {fleet.host!r}: internal error: {exc!r}")
        return
    _answer(fleet, request, result)


def _answer(fleet: Fleet, request: Request, result: Any, error: str | None = None) -> None:
    """Write the answer back, through a restart of the database server: what
    was done is done, and the asker waits for word of it as long as this."""
    waited = fleet.config.delivery.ready_timeout + MARGIN
    until_reachable(lambda: fleet.store.finish_request(request.id, result, error=error), waited)
