"""The monitor's verdict on one screen: what the screen says, fused with the
state the hooks already set (pure: tested from tables in tests/test_patterns.py)."""

from __future__ import annotations

import re

from tmuxorch.core import screen
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent
from tmuxorch.core.vocab import State


def decide(
    agent: Agent, profile: Profile, reading: screen.Reading, quiet_for: float
) -> tuple[State | None, str]:
    """Fuse what the screen says with the state hooks already set.

    Returns the new (state, detail), or (None, "") to leave things as they are.
    For agents with hooks the screen never starts a turn (UserPromptSubmit
    does) nor ends one that hooks closed: a capture taken just before a Stop
    hook must not flip the agent back to busy or to an old error banner.
    """
    quiet = quiet_for >= profile.quiet
    current, seen = agent.state, reading.state
    if seen == "waiting":
        return "waiting", reading.detail
    if seen == "busy":
        if reading.detail:  # e.g. "Retrying in 12s · attempt 7/10"
            return ("busy", reading.detail) if current != "starting" else (None, "")
        if not profile.hooks and current in ("waiting", "idle"):
            return "busy", ""
        # With hooks, a spinner does not end "waiting": PermissionRequest fires
        # before the dialog is drawn, and an answered prompt sends PostToolUse.
        if current == "busy" and agent.detail and _is_retry(agent.detail):
            return "busy", ""  # the retry line is gone: plain work again
        return None, ""
    if seen == "error":
        if quiet and (current == "busy" or (current == "idle" and not profile.hooks)):
            return "error", reading.detail
        return None, ""
    if seen == "idle":
        if current == "starting" or (current in ("busy", "waiting") and quiet):
            # The prompt is back and output stopped: a turn ended without a
            # Stop hook (interrupt, denied permission), or an agent without hooks.
            return "idle", ""
        return None, ""
    if not profile.hooks and not quiet and current == "idle":
        return "busy", ""  # output is flowing and no prompt shows
    return None, ""


def _is_retry(detail: str) -> bool:
    return bool(re.search(r"(?i)retrying|attempt \d+", detail))
