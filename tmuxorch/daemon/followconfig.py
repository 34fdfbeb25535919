"""The monitor follows config.yaml.

The monitor runs long; the commands around it read config.yaml afresh each
time. A profile added to the file after the monitor started, and an agent
spawned with it, must not end the monitor (it would leave the agent
``starting`` and whoever waits on it waiting): the monitor reads the file
again when it changed, and an agent whose profile is gone from it is left
unread, not fatal.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tmuxorch.core.config import load_config
from tmuxorch.core.errors import ConfigError, ProfileError
from tmuxorch.core.frozen import replace
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent
from tmuxorch.fleet.lifecycle import Fleet

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size, found.st_ino


class FollowedConfig:
    """The fleet's settings, read again from config.yaml whenever it changes."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        # Unknown until the first check: the file may have changed between the
        # command that started the monitor reading it and now.
        self.stamp: tuple[int, int, int] | None = None
        self.unknown: set[tuple[str, str]] = set()

    def check(self) -> None:
        """Read config.yaml again if it changed; the fleet uses it from now on.
        A file being rewritten can be invalid for a moment: the settings read
        before stay until the next change."""
        path = self.fleet.settings.config_path
        stamp = _stamp(path)
        if stamp is None or stamp == self.stamp:
            return
        self.stamp = stamp
        try:
            config, _ = load_config(path)
        except ConfigError as exc:
            log.warning("%s: keeping the settings read before", exc)
            return
        self.fleet.settings = replace(self.fleet.settings, config=config)
        self.fleet.config = config

    def profile(self, agent: Agent) -> Profile | None:
        """The agent's profile; None (said once) when config.yaml no longer has it."""
        try:
            return self.fleet.profile(agent.profile)
        except ProfileError as exc:
            if (agent.name, agent.profile) not in self.unknown:
                self.unknown.add((agent.name, agent.profile))
                log.warning("not reading the screen of %s: %s", agent.name, exc)
            return None
