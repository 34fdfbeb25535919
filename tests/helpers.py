"""Small shared test helpers (no fixtures here: conftest.py is not ours)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tmuxorch.claude.hooks import apply
from tmuxorch.core.hostname import host_name
from tmuxorch.core.records import Agent, Event, now
from tmuxorch.store.opening import open_store

# The host the tests' commands run as (none sets TMUXORCH_HOST or host.name).
HOST = host_name(None)

T = TypeVar("T")


def retry_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """Call ``predicate`` until it returns something truthy; return that value.

    Tests wait on *behaviour* (a line on screen, a record in a file) instead
    of sleeping for a guessed duration, so they are fast when things are fast
    and only slow when they are broken.  The default bound is generous: it
    only decides how long a broken test takes to fail, and CI machines are
    shared and loaded.  The predicate is always tried once
    more at the deadline so a slow last step is not reported as a failure.
    Exceptions from the predicate propagate: a predicate that can fail
    transiently should catch that itself and return a falsy value.

    Raises AssertionError (with ``message`` and the last value seen) on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or "condition not met"
            raise AssertionError(f"{what} (timed out after {timeout}s; last value: {value!r})")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def entry_probe(report: str) -> str:
    """``python -c`` code that runs tmuxorch's entry point on its arguments, then prints
    ``report`` (an expression, over ``sys.modules`` say) on stderr, whatever the exit."""
    return (
        "import sys\n"
        "from tmuxorch.entry import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        f"    print({report}, file=sys.stderr)\n"
    )


def agent_row(name: str, **fields: Any) -> Agent:
    """An agent record with no process behind it, for tests that drive the
    store directly: a shell agent, idle, in ``/`` unless ``fields`` say otherwise."""
    stamp = now()
    values: dict[str, Any] = {
        "profile": "shell", "state": "idle", "cwd": "/", "created": stamp, "since": stamp,
    }  # fmt: skip
    return Agent(name=name, **{**values, **fields})


def apply_hook(
    home: Path, before: tuple[str, str], event: str, payload: dict[str, Any]
) -> tuple[Agent, Event]:
    """Claude agent "a", in state ``before`` (state, detail), takes the hook ``event``:
    the agent after it and the last event it recorded."""
    with open_store(home) as store:
        state, detail = before
        store.insert_agent(agent_row("a", profile="claude", state=state, detail=detail))
        apply(store, "a", event, payload)
        agent = store.get_agent("a")
        assert agent is not None
        return agent, store.events(agent="a")[-1]


def end_tmux(socket: str) -> None:
    """Kill the tmux server on ``socket`` and remove its socket file, which
    tmux does not always remove when killed."""
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    sockets = Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.geteuid()}")
    (sockets / socket).unlink(missing_ok=True)
