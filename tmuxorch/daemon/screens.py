"""The monitor's reading of one agent's screen: captured when its log says it
changed, classified by the profile's patterns, fused with what the hooks said
(``verdict``), first-run dialogs answered."""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING

from tmuxorch.core import screen
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.core.profiles import Profile
from tmuxorch.core.records import Agent
from tmuxorch.core.states import SCREEN
from tmuxorch.core.vocab import ENDED
from tmuxorch.daemon.followconfig import FollowedConfig
from tmuxorch.daemon.verdict import decide
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.store.interface import Store
from tmuxorch.tmux.panes import Pane
from tmuxorch.tmux.server import TmuxServer

logger = logging.getLogger(__name__)


class ScreenReader:
    """The monitor's screen reading (a mixin of ``Monitor``, whose state it uses)."""

    fleet: Fleet
    store: Store
    tmux: TmuxServer
    config: FollowedConfig
    changed_at: dict[str, float]
    looked_at: dict[str, float]

    if TYPE_CHECKING:

        def _schedule(self, name: str, when: float) -> None: ...

    def _look(self, name: str) -> None:
        agent = self.store.get_agent(name)
        if agent is None or agent.state in ENDED or not agent.pane_id:
            return
        pane = self.fleet.pane(agent)
        if pane is None or pane.dead:
            self.fleet.refresh()
            return
        self.looked_at[name] = time.monotonic()
        try:
            text = self.tmux.capture(agent.pane_id)
        except TmuxorchError:
            return
        profile = self.config.profile(agent)
        if profile is None:
            return
        if self._answer_dialog(agent, profile, pane, text):
            return
        quiet_for = time.monotonic() - self.changed_at.get(name, 0.0)
        reading = screen.classify(profile, text, typing=pane.cursor_x > 0)
        state, detail = decide(agent, profile, reading, quiet_for)
        if state is None:
            if quiet_for < profile.quiet:  # look again once output has settled
                self._schedule(name, time.monotonic() + profile.quiet - quiet_for)
            return
        if (state, detail) != (agent.state, agent.detail):
            # Decided on ``agent`` as read before the capture: if a hook or a
            # delivery moved it since, that newer word stands.
            self.store.set_state(
                name, state, detail, data={"source": "screen"}, expect=agent.state, writer=SCREEN
            )

    def _answer_dialog(self, agent: Agent, profile: Profile, pane: Pane, text: str) -> bool:
        """First-run dialogs (folder trust and the like), answered per config."""
        for pattern, keys in profile.dialogs.items():
            match = re.search(pattern, text, re.MULTILINE)
            if match:
                try:
                    self.tmux.send_keys(pane.pane_id, *keys)
                except TmuxorchError as exc:  # the pane went since the capture
                    logger.warning("answering a dialog of %s: %s", agent.name, exc)
                    return True
                # What was on screen and what was pressed, not the pattern.
                answer = f"{' '.join(match.group(0).split())} -> {' '.join(keys)}"
                self.store.add_event(agent.name, "dialog", agent.state, answer)
                self._schedule(agent.name, time.monotonic() + 0.5)
                return True
        return False
