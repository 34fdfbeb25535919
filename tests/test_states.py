"""The one rule on which word about an agent's state stands (tmuxorch.core.states),
and the store's writers that go through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from tests.helpers import agent_row
from tmuxorch.claude.hooks import apply
from tmuxorch.core import states
from tmuxorch.core.states import Decision, Row
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
    ("fleet", "idle", "busy", True),
    ("fleet", "busy", "exited", True),
    ("fleet", "exited", "stopped", True),
    # A delivery (or any fleet word but a start) does not revive an ended agent.
    ("fleet", "exited", "busy", False),
    ("fleet", "stopped", "idle", False),
    ("screen", "busy", "error", True),
    ("screen", "exited", "busy", False),
    ("hook", "idle", "busy", True),
    ("hook", "busy", "waiting", True),
    ("hook", "busy", "exited", True),
    ("hook", "stopped", "starting", False),
    ("notice", "exited", "idle", False),
    # Claude's session file: a dialog opens from any live state, and the one
    # open closes; turns and start-up are the hooks' and the screen's word.
    ("session", "busy", "waiting", True),
    ("session", "idle", "waiting", True),
    ("session", "starting", "waiting", True),
    ("session", "error", "waiting", True),
    ("session", "waiting", "busy", True),
    ("session", "waiting", "idle", True),
    ("session", "busy", "idle", False),
    ("session", "idle", "busy", False),
    ("session", "starting", "idle", False),
    ("session", "error", "idle", False),
    ("session", "waiting", "error", False),
    ("session", "exited", "waiting", False),
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


_STOPPING = {"ended_by": "stop"}
_FRESH = {"state": "starting", "detail": "", "ended_by": None, "exit_status": None}

# (id, writer, the agent's row, proposed state, detail, event kind, the decision)
DECISIONS: list[tuple[str, str, dict[str, Any], str | None, str, str, Decision]] = [
    ("a Stop ends the turn", "hook", {"state": "busy", "detail": "Bash ls"}, "idle", "",
     "hook:Stop", Decision("hook:Stop", "idle", {"state": "idle", "detail": ""}, since=True,
                           record=True)),
    ("a prompt starts a turn and counts it", "hook", {"state": "idle"}, "busy", "",
     "hook:UserPromptSubmit", Decision("hook:UserPromptSubmit", "busy",
                                       {"state": "busy", "detail": ""}, since=True, turn=True,
                                       record=True)),
    ("a new tool call changes the detail, not since", "hook",
     {"state": "busy", "detail": "Bash ls"}, "busy", "Write a.txt", "hook:PreToolUse",
     Decision("hook:PreToolUse", "busy", {"state": "busy", "detail": "Write a.txt"},
              record=True)),
    ("a hook that repeats the word is still recorded", "hook", {"state": "busy"}, "busy", "",
     "hook:PostToolUse", Decision("hook:PostToolUse", "busy", record=True)),
    ("compacting between turns starts a busy spell", "hook", {"state": "idle"}, "busy",
     "compacting", "hook:PreCompact", Decision("hook:PreCompact", "busy",
                                                {"state": "busy", "detail": "compacting"},
                                                since=True, record=True)),
    ("an automatic compaction's end keeps the turn's since", "hook",
     {"state": "busy", "detail": "compacting"}, "busy", "", "hook:PostCompact",
     Decision("hook:PostCompact", "busy", {"state": "busy", "detail": ""}, record=True)),
    ("a failed tool call says no state", "hook", {"state": "busy", "detail": "Read a"}, None,
     "Read a failed: no such file", "hook:PostToolUseFailure",
     Decision("hook:PostToolUseFailure", record=True)),
    ("an elicitation is an open question", "hook", {"state": "busy"}, "waiting", "srv: Which?",
     "hook:Elicitation", Decision("hook:Elicitation", "waiting",
                                  {"state": "waiting", "detail": "srv: Which?"}, since=True,
                                  record=True)),
    ("a hook that says no state is recorded", "hook", {"state": "idle"}, None, "",
     "hook:SessionStart", Decision("hook:SessionStart", record=True)),
    ("a late hook does not revive an ended agent", "hook", {"state": "exited"}, "busy",
     "Bash ls", "hook:PreToolUse", Decision("hook:PreToolUse", record=True)),
    ("the idle notice does not undo an error", "notice", {"state": "error", "detail": "API"},
     "idle", "", "hook:Notification", Decision("hook:Notification", record=True)),
    ("a waiting notice keeps the question a hook gave", "notice",
     {"state": "waiting", "detail": "asker: Which colour?"}, "waiting",
     "Claude Code needs your input", "hook:Notification",
     Decision("hook:Notification", "waiting", record=True)),
    ("a waiting notice opens a question no hook reported", "notice", {"state": "busy"},
     "waiting", "Claude needs your permission", "hook:Notification",
     Decision("hook:Notification", "waiting",
              {"state": "waiting", "detail": "Claude needs your permission"}, since=True,
              record=True)),
    ("the idle notice ends a turn no hook closed", "notice", {"state": "busy"}, "idle", "",
     "hook:Notification", Decision("hook:Notification", "idle", {"state": "idle", "detail": ""},
                                   since=True, record=True)),
    ("SessionEnd after `stop` is stopped", "hook", {"state": "busy", **_STOPPING}, "exited",
     "session ended (prompt_input_exit)", "hook:SessionEnd",
     Decision("hook:SessionEnd", "stopped",
              {"state": "stopped", "detail": "session ended (prompt_input_exit)"}, since=True,
              record=True)),
    ("SessionEnd of its own is exited", "hook", {"state": "idle"}, "exited",
     "session ended (other)", "hook:SessionEnd",
     Decision("hook:SessionEnd", "exited", {"state": "exited",
                                            "detail": "session ended (other)"}, since=True,
              record=True)),
    ("a process that ended after `stop` is stopped, and so is its event", "fleet",
     {"state": "busy", **_STOPPING}, "exited", "exit status 0", "exited",
     Decision("stopped", "stopped", {"state": "stopped", "detail": "exit status 0"},
              since=True, record=True)),
    ("the exit status of a stopped agent adds to its detail", "fleet",
     {"state": "stopped", "detail": "stopped", **_STOPPING}, "exited",
     "stopped, exit status 0", "exited",
     Decision("stopped", "stopped", {"state": "stopped", "detail": "stopped, exit status 0"},
              record=True)),
    ("kill", "fleet", {"state": "busy", "ended_by": "kill"}, "exited", "killed", "killed",
     Decision("killed", "exited", {"state": "exited", "detail": "killed"}, since=True,
              record=True)),
    ("a screen word that changes nothing is not recorded", "screen", {"state": "busy"}, "busy",
     "", "state", Decision("state", "busy")),
    ("the screen does not revive an ended agent", "screen", {"state": "stopped"}, "idle", "",
     "state", Decision("state")),
    ("a delivery does not revive an ended agent", "fleet", {"state": "exited"}, "busy", "",
     "state", Decision("state")),
    ("a spawn begins afresh; the profile goes to its event", "fleet", {"state": "starting"},
     "starting", "claude", "spawned", Decision("spawned", "starting", _FRESH, since=True,
                                               record=True)),
    ("a resume forgets how the last process ended", "fleet",
     {"state": "exited", "detail": "window gone", "ended_by": "lost"}, "starting", "claude",
     "resumed", Decision("resumed", "starting", _FRESH, since=True, record=True)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("writer", "row", "proposed", "detail", "event", "expected"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_transition(
    writer: Any, row: dict[str, Any], proposed: Any, detail: str, event: Any, expected: Decision
) -> None:
    assert states.transition(writer, Row(**row), proposed, detail, event) == expected


@pytest.mark.parametrize("writer", ["hook", "notice", "screen"])
def test_only_the_fleet_starts_an_agent(writer: Any) -> None:
    with pytest.raises(ValueError, match="only the fleet starts an agent"):
        states.transition(writer, Row("exited"), "starting", "", "resumed")


_GONE = Decision("exited", "exited", {"state": "exited", "detail": "window gone",
                                      "ended_by": "lost"}, since=True, record=True)  # fmt: skip

# (id, the agent's row, the decision when its window vanished)
LOST = [
    ("a live agent is lost", {"state": "busy"}, _GONE),
    ("one still starting too", {"state": "starting"}, _GONE),
    ("not one tmuxorch is stopping", {"state": "busy", **_STOPPING}, Decision("exited")),
    ("nor one it is killing", {"state": "idle", "ended_by": "kill"}, Decision("exited")),
    ("nor one that had ended", {"state": "exited", "detail": "exit status 1", "exit_status": 1},
     Decision("exited")),
    ("nor one stopped", {"state": "stopped", "detail": "session ended"}, Decision("exited")),
    ("one only its SessionEnd ended", {"state": "exited", "detail": "session ended (other)"},
     _GONE),
]  # fmt: skip


@pytest.mark.parametrize(("row", "expected"), [c[1:] for c in LOST], ids=[c[0] for c in LOST])
def test_lost(row: dict[str, Any], expected: Decision) -> None:
    assert states.lost(Row(**row)) == expected


def test_a_delivery_does_not_revive_an_agent_that_ended_meanwhile(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a", state="exited", detail="exit status 0", since=1.0))
        assert not store.set_state("a", "busy", data={"source": "delivery"}, task="hi")
        agent = store.get_agent("a")
        assert agent is not None
        assert (agent.state, agent.detail, agent.since) == ("exited", "exit status 0", 1.0)
        assert store.events(agent="a") == []


def test_an_agent_being_stopped_whose_process_ended_is_stopped(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a", state="busy", ended_by="stop"))
        assert store.set_state("a", "exited", "exit status 0", event="exited", exit_status=0)
        agent = store.get_agent("a")
        assert agent is not None
        assert (agent.state, agent.detail, agent.exit_status) == ("stopped", "exit status 0", 0)
        assert [(e.event, e.state) for e in store.events(agent="a")] == [("stopped", "stopped")]


def test_a_start_clears_how_the_last_process_ended(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(
            agent_row("a", state="exited", detail="window gone", ended_by="lost", since=1.0,
                      exit_status=1, turns=3)
        )  # fmt: skip
        store.set_state("a", "starting", "claude", event="resumed", data={"argv": ["x"]}, pid=7)
        agent = store.get_agent("a")
        assert agent is not None
        assert (agent.state, agent.detail, agent.ended_by, agent.exit_status, agent.pid) == (
            "starting", "", None, None, 7,
        )  # fmt: skip
        assert agent.since > 1.0 and agent.turns == 3
        (event,) = store.events(agent="a")
        assert (event.event, event.state, event.detail, event.data) == (
            "resumed", "starting", "claude", {"argv": ["x"]},
        )  # fmt: skip


def test_a_prompt_counts_a_turn_in_the_hooks_transaction(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a", profile="claude", state="idle", turns=2))
        apply(store, "a", "UserPromptSubmit", {"prompt": "go", "session_id": "s1"})
        agent = store.get_agent("a")
        assert agent is not None
        assert (agent.state, agent.turns, agent.session_id, agent.task) == ("busy", 3, "s1", "go")


@pytest.mark.parametrize(
    "fields", [{"state": "busy"}, {"detail": "x"}, {"since": 2.0}], ids=["state", "detail", "since"]
)
def test_no_state_is_written_around_the_machine(tmp_path: Path, fields: dict[str, Any]) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a", state="idle", since=1.0))
        with pytest.raises(ValueError, match=r"only through tmuxorch\.core\.states"):
            store.update_agent("a", **fields)
        agent = store.get_agent("a")
        assert agent is not None and (agent.state, agent.detail, agent.since) == ("idle", "", 1.0)


# (id, the agent's row, is it marked lost?)
MARKED = [
    ("a live agent", {"state": "busy", "detail": "Bash ls"}, True),
    ("one tmuxorch is stopping", {"state": "busy", "ended_by": "stop"}, False),
    ("one that had ended", {"state": "exited", "detail": "exit status 0", "exit_status": 0}, False),
    ("one only its SessionEnd ended", {"state": "exited", "detail": "session ended (other)"}, True),
]


@pytest.mark.parametrize(("row", "marked"), [m[1:] for m in MARKED], ids=[m[0] for m in MARKED])
def test_mark_lost(tmp_path: Path, row: dict[str, Any], marked: bool) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a", since=1.0, **row))
        assert store.mark_lost("a", 1.0) is marked
        agent = store.get_agent("a")
        assert agent is not None
        events = [(e.event, e.state, e.detail) for e in store.events(agent="a")]
        if marked:
            assert (agent.state, agent.detail, agent.ended_by) == ("exited", "window gone", "lost")
            assert agent.since > 1.0 and events == [("exited", "exited", "window gone")]
        else:
            assert (agent.state, agent.since, events) == (row["state"], 1.0, [])


def test_the_session_file_keeps_a_stronger_writers_question() -> None:
    """ "permission prompt" repeats the waiting the hook or screen gave with the question."""
    row = Row(state="waiting", detail="Do you want to proceed?")
    assert states.transition("session", row, "waiting", "permission prompt").fields == {}
    assert states.transition("screen", row, "waiting", "Do you want to x?").fields
