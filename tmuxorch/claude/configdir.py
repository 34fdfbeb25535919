"""Which Claude config dir an agent's Claude uses: ``$CLAUDE_CONFIG_DIR``,
else ``~/.claude``, as the environment it starts with has them (ours, its
profile's, its own ``--env``). Its session files and teams live there."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent


def config_dir(environ: Mapping[str, str]) -> Path:
    """Where a Claude started with ``environ`` keeps its state."""
    configured = environ.get("CLAUDE_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(environ.get("HOME") or str(Path.home())) / ".claude"


def of_agent(agent: Agent, profile: Profile) -> Path:
    """The config dir of ``agent``'s Claude (run with ``profile``)."""
    return config_dir({**os.environ, **profile.env, **agent.spec.get("env", {})})
