"""batch: many tasks from a YAML or JSON file, in dependency order, a few at a time.

The whole file is validated before anything starts. Each task is an agent
named after it, spawned with its prompt; a task is done when its agent's turn
ends. Timeouts interrupt, then kill. A task whose dependency did not complete
is skipped.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tmuxorch.claude import cost, counted
from tmuxorch.core.errors import ProfileError, TmuxorchError
from tmuxorch.core.hostname import NAME_RE
from tmuxorch.core.vocab import ENDED
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.launching import SpawnRequest
from tmuxorch.fleet.lifecycle import Fleet

# Seconds a timed-out task gets after its interrupt before it is killed.
GRACE = 10.0
_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "prompt": (str,),
    "agent": (str,),
    "cwd": (str,),
    "model": (str,),
    "permission_mode": (str,),
    "depends_on": (str, list),
    "timeout": (int, float),
}


class BatchError(TmuxorchError):
    """The batch file is unreadable or invalid."""


@dataclass(frozen=True)
class Task:
    name: str
    prompt: str
    agent: str | None = None
    cwd: str | None = None
    model: str | None = None
    permission_mode: str | None = None
    depends_on: tuple[str, ...] = ()
    timeout: float | None = None


@dataclass
class Run:
    """One task's progress (mutable: the scheduler updates it)."""

    task: Task
    status: str = (
        "pending"  # pending running completed failed needs_input timeout skipped cancelled
    )
    started: float | None = None
    ended: float | None = None
    state: str = ""
    response: str = ""
    cost_usd: float = 0.0
    error: str | None = None
    interrupted_at: float | None = field(default=None, repr=False)
    prompt_id: int | None = field(default=None, repr=False)
    # The last event before it started: its turn's Stop hook comes after.
    mark: int = field(default=0, repr=False)

    @property
    def duration(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.task.name,
            "status": self.status,
            "response": self.response,
            "cost_usd": round(self.cost_usd, 6),
            "duration_s": round(self.duration, 3),
            "error": self.error,
        }


def load(path: Path) -> list[Task]:
    """Read and validate the whole file; errors name the task and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"cannot read {path}: {exc}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            from tmuxorch.core.yamlfile import load_yaml  # here: yaml only for a YAML file

            data = load_yaml(text)
    except RecursionError:
        raise BatchError(f"{path} is nested too deeply to read") from None
    except ValueError as exc:  # YamlError and json's errors alike
        raise BatchError(
            f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    if isinstance(data, dict) and set(data) == {"tasks"}:
        data = data["tasks"]
    if not isinstance(data, list) or not data:
        raise BatchError(f"{path}: expected a list of tasks (or a mapping with `tasks:`)")
    return parse(data)


def parse(data: list[Any]) -> list[Task]:
    """Validate task mappings (from a file or an MCP call) into tasks."""
    if not data:
        raise BatchError("no tasks")
    tasks: list[Task] = []
    for index, raw in enumerate(data):
        label = f"task {index + 1}"
        if not isinstance(raw, dict):
            raise BatchError(f"{label}: expected a mapping")
        if isinstance(raw.get("name"), str):
            label = f"task {raw['name']!r}"
        for key, value in raw.items():
            if key not in _KEYS:
                raise BatchError(f"{label}: unknown key {key!r}")
            if not isinstance(value, _KEYS[key]) or isinstance(value, bool):
                raise BatchError(f"{label}: key {key!r} has the wrong type")
        for key in ("name", "prompt"):
            if key not in raw:
                raise BatchError(f"{label}: missing key {key!r}")
        if not NAME_RE.match(raw["name"]):
            raise BatchError(f"{label}: key 'name' is not a valid agent name")
        depends = raw.get("depends_on", [])
        depends = [depends] if isinstance(depends, str) else depends
        if not all(isinstance(d, str) for d in depends):
            raise BatchError(f"{label}: key 'depends_on' must name tasks")
        timeout = raw.get("timeout")
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise BatchError(f"{label}: key 'timeout' must be a positive number of seconds")
        tasks.append(
            Task(
                name=raw["name"], prompt=raw["prompt"], agent=raw.get("agent"),
                cwd=raw.get("cwd"), model=raw.get("model"),
                permission_mode=raw.get("permission_mode"), depends_on=tuple(depends),
                timeout=float(timeout) if timeout is not None else None,
            )
        )  # fmt: skip
    _check_graph(tasks)
    return tasks


def _check_graph(tasks: list[Task]) -> None:
    names = [t.name for t in tasks]
    for name in names:
        if names.count(name) > 1:
            raise BatchError(f"task {name!r}: key 'name' is used twice")
    known = set(names)
    for task in tasks:
        for dep in task.depends_on:
            if dep not in known:
                raise BatchError(f"task {task.name!r}: key 'depends_on' names unknown task {dep!r}")
    # Depth-first search for a cycle.
    graph = {t.name: t.depends_on for t in tasks}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise BatchError(f"task {name!r}: key 'depends_on' makes a cycle: {cycle}")
        state[name] = 1
        for dep in graph[name]:
            visit(dep, [*path, name])
        state[name] = 2

    for name in graph:
        visit(name, [])


def check_against_fleet(fleet: Fleet, tasks: list[Task]) -> None:
    """What only the fleet can tell, for every task before any starts: its
    name is free, its profile exists, its cwd is a directory."""
    for task in tasks:
        label = f"task {task.name!r}"
        if fleet.store.get_agent(task.name) is not None:
            raise BatchError(f"{label}: an agent of that name already exists")
        if task.agent is not None:
            try:
                fleet.profile(task.agent)
            except ProfileError as exc:
                raise BatchError(f"{label}: key 'agent': {exc}") from None
        if task.cwd is not None and not Path(task.cwd).expanduser().is_dir():
            raise BatchError(f"{label}: key 'cwd': {task.cwd} is not a directory")


class Batch:
    """The scheduler: start what is ready, watch what runs, time out what overstays."""

    def __init__(self, fleet: Fleet, tasks: list[Task], max_parallel: int, timeout: float | None):
        self.fleet = fleet
        self.runs = {t.name: Run(t) for t in tasks}
        self.max_parallel = max_parallel
        self.default_timeout = timeout
        self.pricing = cost.pricing(fleet.config)

    @property
    def finished(self) -> bool:
        return all(r.status not in ("pending", "running") for r in self.runs.values())

    def ok(self) -> bool:
        return all(r.status == "completed" for r in self.runs.values())

    def run(self, on_change: Callable[[Batch], None]) -> None:
        """Drive the batch to the end, calling ``on_change`` after every step."""
        check_against_fleet(self.fleet, [r.task for r in self.runs.values()])
        on_change(self)
        with self.fleet.store.changes() as changes:
            while not self.finished:
                self.step()
                on_change(self)
                if not self.finished:
                    changes.wait(self._next_deadline())

    def _next_deadline(self) -> float:
        now = time.monotonic()
        waits = [1.0]
        for run in self.runs.values():
            if run.status != "running" or run.started is None:
                continue
            limit = run.task.timeout or self.default_timeout
            if run.interrupted_at is not None:
                waits.append(run.interrupted_at + GRACE - now)
            elif limit is not None:
                waits.append(run.started + limit - now)
        return max(0.05, min(waits))

    def step(self) -> None:
        for run in self.runs.values():
            if run.status == "running":
                self._watch(run)
        for run in self.runs.values():
            if run.status != "pending":
                continue
            deps = [self.runs[d] for d in run.task.depends_on]
            if any(d.status not in ("pending", "running", "completed") for d in deps):
                run.status, run.error = "skipped", "a dependency did not complete"
                run.ended = time.monotonic()
            elif all(d.status == "completed" for d in deps) and self._running() < self.max_parallel:
                self._start(run)

    def _running(self) -> int:
        return sum(1 for r in self.runs.values() if r.status == "running")

    def _start(self, run: Run) -> None:
        task = run.task
        run.status, run.started = "running", time.monotonic()
        run.mark = self.fleet.store.last_event_id()
        try:
            self.fleet.spawn(
                SpawnRequest(
                    name=task.name, profile=task.agent, cwd=task.cwd,
                    model=task.model, permission_mode=task.permission_mode,
                )
            )  # fmt: skip
            # Sent, not spawned with: the message row says whether the prompt
            # ever reached the agent (an idle agent that never got it is not done).
            run.prompt_id = messaging.send(self.fleet, task.name, task.prompt).id
        except TmuxorchError as exc:
            run.status, run.error, run.ended = "failed", str(exc), time.monotonic()

    def _watch(self, run: Run) -> None:
        name = run.task.name
        agent = self.fleet.store.get_agent(name)
        if agent is None:
            run.status, run.error, run.ended = "failed", "agent removed", time.monotonic()
            return
        run.state = agent.state
        cost.refresh_agent(self.fleet.store, name, self.pricing)
        run.cost_usd = self.fleet.agent(name).cost_usd
        limit = run.task.timeout or self.default_timeout
        now = time.monotonic()
        if run.interrupted_at is not None:
            if now >= run.interrupted_at + GRACE or agent.state in ENDED:
                self.fleet.kill(name)
                run.status, run.ended = "timeout", now
                run.error = f"timed out after {limit:g}s"
            elif self.fleet.reached(agent, "done"):
                run.status, run.ended = "timeout", now
                run.error = f"timed out after {limit:g}s (interrupted)"
            return
        assert run.prompt_id is not None  # set when it started running
        outcome = messaging.turn_outcome(self.fleet, agent, run.prompt_id)
        if outcome:
            run.status, run.ended = outcome, now
            # The summary's cost is final: the turn's last responses read first.
            counted.settle(self.fleet.store, name, self.pricing, run.mark)
            run.cost_usd = self.fleet.agent(name).cost_usd
            prompt = self.fleet.store.get_message(run.prompt_id)
            if outcome == "completed":
                run.response = messaging.last_response(self.fleet, name)
            elif prompt is not None and prompt.status == "failed":
                run.error = f"the prompt was not delivered: {prompt.error}"
            else:
                run.error = agent.detail or (agent.state if outcome == "failed" else "")
        elif limit is not None and now - (run.started or now) >= limit:
            with contextlib.suppress(TmuxorchError):  # it may have ended meanwhile
                control.interrupt(self.fleet, name)
            run.interrupted_at = now

    def cancel(self) -> None:
        """Ctrl-C: interrupt what runs, then stop it; nothing is left behind."""
        for run in self.runs.values():
            if run.status == "running":
                agent = self.fleet.store.get_agent(run.task.name)
                if agent is not None and agent.state not in ENDED:
                    # Each task is stopped whatever happened to the one before.
                    with contextlib.suppress(TmuxorchError):
                        control.interrupt(self.fleet, run.task.name)
                    with contextlib.suppress(TmuxorchError):
                        self.fleet.kill(run.task.name)
                run.status, run.ended, run.error = "cancelled", time.monotonic(), "interrupted"
            elif run.status == "pending":
                run.status, run.error = "cancelled", "the batch was interrupted"
