"""The fleet's shape: small modules, services that stand on their own, and
Fleet's one-line methods saying what the services they call say."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tmuxorch.fleet import launching, prompting, sessions, waiting
from tmuxorch.fleet.lifecycle import Fleet

REPO = Path(__file__).resolve().parent.parent
FLEET = REPO / "tmuxorch" / "fleet"
# Issue 13: no module over ~400 lines; a larger one is a service waiting to be split out.
MAX_LINES = 400

SERVICES = ["launching", "sessions", "waiting", "prompting", "peers"]

# (Fleet's method, the service function it hands its arguments to)
DELEGATIONS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (Fleet.spawn, launching.spawn),
    (Fleet.wait_for, waiting.wait_for),
    (Fleet.reached, waiting.reached),
    (Fleet.type_into, prompting.type_into),
    (Fleet.kill, sessions.kill),
    (Fleet.remove, sessions.remove),
    (Fleet.stop, sessions.stop),
    (Fleet.resume, sessions.resume),
    (Fleet.fork, sessions.fork),
    (Fleet.up, sessions.up),
    (Fleet.cleanup, sessions.cleanup),
]


@pytest.mark.parametrize(
    "path",
    sorted(FLEET.parent.rglob("*.py")),
    ids=lambda p: str(p.relative_to(FLEET.parent)),
)
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_imports_first_in_a_fresh_interpreter(name: str) -> None:
    """Services name Fleet for mypy only: importing one before lifecycle works
    (a run-time cycle with lifecycle would fail here, half initialised)."""
    proc = subprocess.run(
        [sys.executable, "-c", f"import tmuxorch.fleet.{name}"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("method", "function"), DELEGATIONS, ids=[m.__name__ for m, _ in DELEGATIONS]
)
def test_fleet_method_takes_what_its_service_takes(
    method: Callable[..., Any], function: Callable[..., Any]
) -> None:
    """Same names, kinds and defaults, the Fleet in place of self: a default
    changed on one side only would change what half the callers get."""
    ours = list(inspect.signature(method).parameters.values())[1:]
    theirs = list(inspect.signature(function).parameters.values())[1:]
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
