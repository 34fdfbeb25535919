"""rename OLD NEW and name NEW: the name changes everywhere, or nowhere.

Real tmux and shell agents; the Claude agent's hooks and auto-lock run in
tests/test_e2e_rename.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from tests.conftest import Env
from tests.helpers import retry_until


def _windows(env: Env) -> set[str]:
    with env.fleet() as fleet:
        return {p.window_name for p in fleet.tmux.panes().values() if not p.dead}


def _type(env: Env, name: str, line: str) -> None:
    """Type a command line into the agent's shell, as a person would."""
    with env.fleet() as fleet:
        pane = fleet.agent(name).pane_id
        assert pane is not None
        fleet.tmux.send_literal(pane, line)
        fleet.tmux.send_keys(pane, "Enter")


def _pair(env: Env) -> None:
    """Agent ``p`` and its child ``c``, both idle shells."""
    env.spawn_ready("p")
    env.spawn_ready("c", "--parent", "p")


def test_rename_moves_the_record_window_log_and_children(env: Env) -> None:
    _pair(env)
    pid = env.json("status", "p")["pid"]
    assert env.ok("rename", "p", "q") == "renamed p to q\n"
    agents = {a["name"]: a for a in env.json("list")}
    assert set(agents) == {"q", "c"} and agents["c"]["parent"] == "q"
    assert (agents["q"]["pid"], agents["q"]["state"]) == (pid, "idle")
    assert _windows(env) == {"q", "c"}
    log = env.home / "logs"
    assert not (log / "p.log").exists()
    events = env.ok("events", "--agent", "q", "--json").splitlines()
    assert json.loads(events[-1])["data"] == {"from": "p"}
    # The pane still streams to its log, now q.log, and the monitor follows it.
    env.ok("send", "q", "echo after-the-rename")
    retry_until(lambda: "after-the-rename" in (log / "q.log").read_text(), message="q.log")
    env.ok("wait", "q", "--timeout", "60")
    # Its process still says TMUXORCH_AGENT=p: not a stray while q's window lives.
    env.ok("up")
    assert env.json("status", "q")["state"] == "idle" and env.json("status", "q")["pid"] == pid
    env.ok("send", "q", "echo still-here")
    retry_until(lambda: "still-here" in env.ok("output", "q"), message="q still runs")


def test_name_renames_the_agent_of_the_pane_and_the_pane_acts_as_it(env: Env) -> None:
    """After ``name q`` the pane's commands act as q (its environment still says p)."""
    _pair(env)
    out, locked = env.tmp / "whoami.txt", env.tmp / "locked"
    tmuxorch = f"{sys.executable} -m tmuxorch"
    line = (
        f"{tmuxorch} name q && {tmuxorch} lock {locked} && {tmuxorch} send c 'echo from-q' "
        f"&& {tmuxorch} whoami > {out}"
    )
    _type(env, "p", line)
    retry_until(lambda: out.exists() and out.read_text() == "q\n", message="whoami says q")
    assert {a["name"]: a["parent"] for a in env.json("list")} == {"q": None, "c": "q"}
    assert _windows(env) == {"q", "c"}
    assert [(lk["path"], lk["holder"]) for lk in env.json("locks")] == [(str(locked), "q")]
    with env.fleet() as fleet:
        assert [m.sender for m in fleet.store.messages("c")] == ["q"]


def test_queued_messages_follow_the_agent(env: Env) -> None:
    _pair(env)
    env.kill_monitor()  # so that the message stays queued across the rename
    with env.fleet() as fleet:
        fleet.store.add_message(None, "p", "sequential", "echo queued-before")
    env.ok("rename", "p", "q")
    env.ok("send", "q", "echo sent-after")  # starts a monitor, which delivers both
    retry_until(
        lambda: "sent-after" in env.ok("output", "q") and "queued-before" in env.ok("output", "q"),
        message="both messages delivered to q",
    )
    with env.fleet() as fleet:
        assert [m.status for m in fleet.store.messages("q")] == ["delivered", "delivered"]


def _delivering(env: Env) -> None:
    """A deliverer holds a message to p (the monitor gone, so it stays so)."""
    env.kill_monitor()
    with env.fleet() as fleet:
        fleet.store.add_message(None, "p", "sequential", "echo hi")
        assert fleet.store.claim_next("p", 1) is not None


def _blocked_file(env: Env) -> None:
    """p has a saved screen and settings (moved first), and q's settings path
    is a directory: the third move fails, and the two before are undone."""
    for folder, file in (("screens", "p.txt"), ("claude", "p.json")):
        (env.home / folder).mkdir(mode=0o700, exist_ok=True)
        (env.home / folder / file).write_text("kept\n")
    (env.home / "claude" / "q.json" / "inside").mkdir(parents=True)


def _nothing(env: Env) -> None:
    pass


# (id, set-up, argv, the error line's words)
BAD = [
    ("new taken", _nothing, ("rename", "p", "c"), "an agent named 'c' already exists"),
    ("new with ;", _nothing, ("rename", "p", "a;b"), "invalid agent name 'a;b'"),
    ("new with $()", _nothing, ("rename", "p", "$(x)"), "invalid agent name '$(x)'"),
    ("new with a space", _nothing, ("rename", "p", "a b"), "invalid agent name 'a b'"),
    ("new is ..", _nothing, ("rename", "p", ".."), "invalid agent name '..'"),
    ("new empty", _nothing, ("rename", "p", ""), "invalid agent name ''"),
    ("new too long", _nothing, ("rename", "p", "x" * 65), "invalid agent name 'xxx"),
    ("old unknown", _nothing, ("rename", "nobody", "q"), "no agent named 'nobody'"),
    ("name outside a pane", _nothing, ("name", "q"), "not inside an agent's pane"),
    ("a delivery under way", _delivering, ("rename", "p", "q"), "taking a message right now"),
    ("a file that cannot move", _blocked_file, ("rename", "p", "q"), "cannot rename"),
]  # fmt: skip


@pytest.mark.parametrize(("setup", "argv", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_refused_rename_leaves_the_old_name_everywhere(
    env: Env, setup: Callable[[Env], None], argv: tuple[str, ...], says: str
) -> None:
    _pair(env)
    setup(env)
    before = env.json("list")
    proc = env.cli(*argv)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert env.json("list") == before
    assert {a["name"]: a["parent"] for a in before} == {"p": None, "c": "p"}
    assert _windows(env) == {"p", "c"}
    assert (env.home / "logs" / "p.log").exists() and not (env.home / "logs" / "q.log").exists()
    if setup is _blocked_file:
        assert (env.home / "screens" / "p.txt").read_text() == "kept\n"


def test_the_monitor_follows_a_rename_mid_turn(env: Env) -> None:
    """The monitor remembers the child busy under its new name: the turn's end
    reads as one, and the parent is told (notify_parent on_idle)."""
    env.spawn_ready("boss", "--agent", "fake")
    env.ok("spawn", "kid", "--agent", "fake", "--parent", "boss")
    env.ok("wait", "kid", "--timeout", "60")
    env.ok("send", "kid", "sleep 30")
    retry_until(lambda: env.json("status", "kid")["state"] == "busy", message="kid busy")
    env.ok("rename", "kid", "kid2")
    env.ok("interrupt", "kid2")
    note = retry_until(
        lambda: [r for r in env.records() if r.startswith("[tmuxorch] child kid2")],
        message="boss told that kid2's turn ended",
    )
    assert "kid2 is idle" in note[0]
