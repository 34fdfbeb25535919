"""delegate / continue / finish: spawn, send and wait, with a safety net, and one
structured result a manager (or a script) can act on."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from tmuxorch.claude import cost, counted
from tmuxorch.core.config import DelegateSettings
from tmuxorch.core.errors import AgentError, DeliveryError, TimeoutReached, TmuxorchError
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import control, messaging, safetynet
from tmuxorch.fleet.launching import SpawnRequest
from tmuxorch.fleet.lifecycle import Fleet

# The status a broken cap gives, by limit.
_EXCEEDED = {"max_cost": "cost_exceeded", "max_turns": "turns_exceeded"}
STATUSES = ("completed", "needs_input", "failed", "cost_exceeded", "turns_exceeded", "timeout")
# Claude Code's read and search tools: allowed without asking under read-only.
_READ_TOOLS = "Read,Grep,Glob,LS,NotebookRead,WebFetch,WebSearch,TodoWrite"


@dataclass(frozen=True)
class Preset:
    permission_mode: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


PRESETS: dict[str, Preset] = {
    # Only reading and search run unasked; anything else stops at a prompt
    # (the result says needs_input) instead of touching the workspace.
    "read-only": Preset("default", ("--allowedTools", _READ_TOOLS)),
    "review": Preset("default", ("--allowedTools", _READ_TOOLS)),
    "edit": Preset("acceptEdits"),
    # Claude refuses bypassPermissions as root outside a sandbox marker.
    "full": Preset("bypassPermissions", env=(("IS_SANDBOX", "1"),)),
    "plan": Preset("plan"),
}


@dataclass(frozen=True)
class Limits:
    max_cost: float | None = None
    max_turns: int | None = None
    timeout: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"max_cost": self.max_cost, "max_turns": self.max_turns, "timeout": self.timeout}


def limits(
    fleet: Fleet,
    *,
    max_cost: float | None = None,
    max_turns: int | None = None,
    timeout: float | None = None,
    safety: bool = True,
) -> Limits:
    """A call's caps: those given, the others from config ``delegate`` (none
    of those without ``safety``: ``--no-safety``)."""
    default = fleet.config.delegate if safety else DelegateSettings(None, None, None)
    return Limits(
        max_cost=default.max_cost if max_cost is None else max_cost,
        max_turns=default.max_turns if max_turns is None else max_turns,
        timeout=default.timeout if timeout is None else timeout,
    )


@dataclass(frozen=True)
class Result:
    status: str
    name: str
    response: str = ""
    cost_usd: float = 0.0
    turns: int = 0
    duration_s: float = 0.0
    session_id: str | None = None
    can_continue: bool = False
    tools_used: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "response": self.response,
            "cost_usd": self.cost_usd,
            "turns": self.turns,
            "duration_s": round(self.duration_s, 3),
            "session_id": self.session_id,
            "name": self.name,
            "can_continue": self.can_continue,
            "tools_used": self.tools_used,
            "safety": {"violations": self.violations, "limits": self.limits.to_json()},
            "error": self.error,
        }


def delegate(
    fleet: Fleet,
    name: str,
    task: str,
    *,
    preset: str = "edit",
    limits: Limits = Limits(),
    context: str | None = None,
    cwd: str | None = None,
    profile: str | None = None,
    model: str | None = None,
    system_prompt: str | None = None,
) -> Result:
    """Spawn ``name`` with ``preset`` (and ``model``, ``system_prompt``), give it
    ``task``, and wait for the outcome."""
    if preset not in PRESETS:
        raise AgentError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    chosen = PRESETS[preset]
    # Presets are Claude Code's permission modes and tools: a profile without
    # a permission flag runs as it is.
    claude_like = fleet.profile(profile or fleet.config.default_agent).permission_flag
    fleet.spawn(
        SpawnRequest(
            name=name,
            profile=profile,
            cwd=cwd,
            model=model,
            system_prompt=system_prompt,
            permission_mode=chosen.permission_mode if claude_like else None,
            args=chosen.args if claude_like else (),
            env=dict(chosen.env) if claude_like else None,
        )
    )
    text = f"Context:\n{context}\n\nTask:\n{task}" if context else task
    return _run(fleet, name, text, limits)


def continue_(fleet: Fleet, name: str, message: str, *, limits: Limits = Limits()) -> Result:
    """Send a correction to a delegated agent and wait for the outcome again."""
    agent = fleet.agent(name)
    if agent.state in ENDED:
        raise AgentError(f"agent {name!r} is {agent.state}: resume it first")
    if agent.state == "waiting":
        # The correction replaces the answer the prompt waits for (needs_input):
        # deny it, or the message would queue behind it until the timeout.
        control.deny(fleet, name, reason=None)
    return _run(fleet, name, message, limits)


def finish(fleet: Fleet, name: str) -> None:
    """Stop a delegated agent cleanly (its record and conversation stay)."""
    if fleet.agent(name).state not in ENDED:
        fleet.stop(name)


def _run(fleet: Fleet, name: str, text: str, limits: Limits) -> Result:
    started = time.monotonic()
    table = cost.pricing(fleet.config)
    cost.refresh_agent(fleet.store, name, table)
    before = fleet.agent(name)
    hooks = fleet.profile(before.profile).hooks
    mark = fleet.store.last_event_id()
    last_turn = fleet.store.last_turn(name)
    turn_mark = last_turn.seq if last_turn else 0
    try:
        message = messaging.send(fleet, name, text)
    except (DeliveryError, TimeoutReached) as exc:
        agent = fleet.agent(name)
        ended = agent.state in ENDED
        return Result(
            status="failed", name=name, duration_s=time.monotonic() - started,
            session_id=agent.session_id, can_continue=not ended,
            # An agent that ended says why (its start-up screen), as below.
            limits=limits, error=agent.detail if ended and agent.detail else str(exc),
        )  # fmt: skip
    deadline = None if limits.timeout is None else started + limits.timeout
    caps = safetynet.Limits(max_cost=limits.max_cost, max_turns=limits.max_turns)
    found: list[safetynet.Breach] = []

    def spent() -> tuple[int, float]:
        agent = fleet.agent(name)
        steps = safetynet.steps(fleet.store, agent, hooks, after=mark, turns_before=before.turns)
        return steps, agent.cost_usd - before.cost_usd

    def settled() -> str:
        # This call's caps are its own (the monitor knows the agent's only):
        # read the cost each time a hook wakes us, so a long turn is stopped
        # in the middle, not priced after it. Its pane is looked at too: an
        # agent that died is seen here, not only by the monitor.
        fleet.refresh()
        cost.refresh_agent(fleet.store, name, table)
        steps, usd = spent()
        found[:] = safetynet.breaches(caps, turns=steps, cost_usd=usd, worked=0.0)
        # A cap broken by the answer itself, read before the Stop hook: the
        # turn is over, nothing to stop; its end brings the answer.
        if found and not counted.answer_written(fleet.store, name, turn_mark):
            return _EXCEEDED[found[0].limit]
        return messaging.turn_outcome(fleet, fleet.agent(name), message.id)

    violations: list[str] = []
    try:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        status = messaging.wait_until(fleet, settled, left, f"{name} to finish")
    except TimeoutReached:
        status = "timeout"
        violations = [f"timeout {limits.timeout:g}s reached"]
    # A cap can be found broken only once the turn is over (its cost read
    # late): the answer is kept then, it was paid for.
    stopped = fleet.store.events(agent=name, after=mark, kind="hook:Stop", limit=1)
    answered = status == "completed" or (status in _EXCEEDED.values() and bool(stopped))
    action = "none"
    if status in (*_EXCEEDED.values(), "timeout") and not answered:
        action = "interrupt"
        # It may have ended meanwhile: the result still goes back to the caller.
        with contextlib.suppress(TmuxorchError):
            control.interrupt(fleet, name)
    # The result's cost is final: the turn's last responses are read first.
    counted.settle(fleet.store, name, table, mark)
    steps, usd = spent()
    if status == "completed":
        found[:] = safetynet.breaches(caps, turns=steps, cost_usd=usd, worked=0.0)
        status = _EXCEEDED[found[0].limit] if found else status
    if status in _EXCEEDED.values():
        safetynet.record(fleet.store, name, found, action, call="delegate")
        violations = [b.detail for b in found]
    agent = fleet.agent(name)
    error = None
    if status == "failed":
        error = agent.detail or f"agent is {agent.state}"
    return Result(
        status=status,
        name=name,
        response=messaging.last_response(fleet, name) if answered else "",
        cost_usd=round(usd, 6),
        turns=steps,
        duration_s=time.monotonic() - started,
        session_id=agent.session_id,
        can_continue=agent.state not in ENDED,
        tools_used=_tools(fleet, name, mark),
        violations=violations,
        limits=limits,
        error=error,
    )


def _tools(fleet: Fleet, name: str, mark: int) -> list[str]:
    seen: list[str] = []
    for event in fleet.store.events(agent=name, after=mark, kind="hook:PreToolUse"):
        tool = str(event.data.get("tool_name") or event.detail.split(" ")[0])
        if tool and tool not in seen:
            seen.append(tool)
    return seen
