"""The one rule on which word about an agent's state stands (tmuxorch.core.states),
and the store's writers that go through it."""

from __future__ import annotations

import pytest

from tests.conftest import Env
from tests.helpers import agent_row
from tmuxorch.claude.hooks import apply
from tmuxorch.core import states
from tmuxorch.store.opening import open_store

# (writer, current, proposed, moves?)
TRANSITIONS = [
    ("notice", "error", "idle", False),
    ("notice", "waiting", "idle", False),
    ("notice", "idle", "idle", False),
    ("notice", "busy", "idle", True),
    ("notice", "starting", "idle", True),
    ("hook", "error", "idle", True),
    ("hook", "waiting", "idle", True),
    ("hook", "error", "busy", True),
    ("hook", "busy", "busy", False),
    ("hook", "exited", "busy", False),
    ("hook", "exited", "stopped", True),
    ("screen", "stopped", "idle", False),
    ("screen", "waiting", "idle", True),
    ("fleet", "exited", "starting", True),
    ("fleet", "error", "idle", True),
]


@pytest.mark.parametrize(
    ("writer", "current", "proposed", "expected"),
    TRANSITIONS,
    ids=[f"{w}:{c}->{p}" for w, c, p, _ in TRANSITIONS],
)
def test_transition_table(writer: str, current: str, proposed: str, expected: bool) -> None:
    assert states.moves(writer, current, proposed) is expected


def test_an_unknown_writer_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown state writer"):
        states.moves("gossip", "idle", "busy")


IDLE_NOTICE = {"notification_type": "idle_prompt", "message": "Claude is waiting for your input"}

# The state an agent is in, what Claude's idle notice leaves it as, and the
# state its event row records (none: it moved nothing).
NOTICES = [
    ("error", "API Error: 400", "error", "API Error: 400", None),
    ("waiting", "Do you want to proceed?", "waiting", "Do you want to proceed?", None),
    ("idle", "", "idle", "", "idle"),
    ("busy", "Bash ls", "idle", "", "idle"),
]


@pytest.mark.parametrize(
    ("state", "detail", "after", "after_detail", "recorded"), NOTICES, ids=[n[0] for n in NOTICES]
)
def test_the_idle_notice_never_undoes_error_or_waiting_nor_moves_since(
    env: Env, state: str, detail: str, after: str, after_detail: str, recorded: str | None
) -> None:
    with open_store(env.home) as store:
        store.insert_agent(agent_row("a", profile="claude", state=state, detail=detail, since=1.0))
        apply(store, "a", "Notification", IDLE_NOTICE)
        agent = store.get_agent("a")
        assert agent is not None
        assert (agent.state, agent.detail) == (after, after_detail)
        assert (agent.since == 1.0) is (state == after)
        notice = store.events(agent="a", kind="hook:Notification")[-1]
        assert notice.state == recorded


def test_a_new_detail_keeps_since(env: Env) -> None:
    with open_store(env.home) as store:
        store.insert_agent(agent_row("a", profile="claude", state="busy", since=1.0))
        apply(store, "a", "PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls"}})
        assert store.set_state("a", "busy", "Retrying in 3s", writer=states.SCREEN)
        agent = store.get_agent("a")
        assert agent is not None and (agent.detail, agent.since) == ("Retrying in 3s", 1.0)
