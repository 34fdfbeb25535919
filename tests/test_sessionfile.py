"""Reading Claude's session files (tmuxorch.claude.sessionfile): what a change
says of the agent, and which files come from a live process."""

from __future__ import annotations

import json
import os
import queue
from pathlib import Path

import pytest

from tests.helpers import agent_row
from tmuxorch.claude import configdir, sessionfile
from tmuxorch.claude.sessionfile import SessionFile
from tmuxorch.core import frozen, procs, profiles
from tmuxorch.core.config import Config
from tmuxorch.daemon.sessionwatch import SessionWatch
from tmuxorch.store.opening import open_store


def _file(status: str, waiting_for: str = "") -> SessionFile:
    return SessionFile(pid=1, proc_start=1, session_id="s", status=status, waiting_for=waiting_for)


# (id, status before (None: first reading), waitingFor before, now, its waitingFor, said)
CHANGES = [
    ("a dialog opens", "busy", "", "waiting", "dialog open", ("waiting", "dialog open")),
    ("first reading, open", None, "", "waiting", "input needed", ("waiting", "input needed")),
    ("another", "waiting", "dialog open", "waiting", "input needed", ("waiting", "input needed")),
    ("no word on what", "busy", "", "waiting", "", ("waiting", "a dialog is open")),
    ("the same dialog", "waiting", "dialog open", "waiting", "dialog open", None),
    ("answered", "waiting", "permission prompt", "busy", "", ("busy", "")),
    ("dismissed", "waiting", "dialog open", "idle", "", ("idle", "")),
    ("a turn starts", "idle", "", "busy", "", None),
    ("a turn ends", "busy", "", "idle", "", None),
    ("first reading, busy", None, "", "busy", "", None),
    ("a foreground shell", "waiting", "dialog open", "shell", "", None),
]


@pytest.mark.parametrize(
    ("before", "before_for", "now", "now_for", "said"),
    [c[1:] for c in CHANGES],
    ids=[c[0] for c in CHANGES],
)
def test_only_a_dialog_opening_or_closing_says_something(
    before: str | None, before_for: str, now: str, now_for: str, said: object
) -> None:
    earlier = None if before is None else _file(before, before_for)
    assert sessionfile.proposal(earlier, _file(now, now_for)) == said


def _own(proc_start: object) -> dict[str, object]:
    return {"pid": os.getpid(), "procStart": proc_start, "sessionId": "s", "status": "idle"}


# (id, file's content, read at all?, live?)
FILES = [
    ("this process", _own(str(procs.start_time(os.getpid()))), True, True),
    ("its pid, another start", _own("1"), True, False),
    ("no start to check", _own(None), True, False),
    ("a dead pid", {"pid": 2**22 + 1, "procStart": "5", "status": "busy"}, True, False),
    ("no pid", {"status": "busy"}, False, False),
    ("not an object", [1], False, False),
]


@pytest.mark.parametrize(
    ("content", "read", "live"), [f[1:] for f in FILES], ids=[f[0] for f in FILES]
)
def test_a_file_counts_only_from_the_live_process_that_wrote_it(
    tmp_path: Path, content: object, read: bool, live: bool
) -> None:
    path = tmp_path / "123.json"
    path.write_text(json.dumps(content))
    found = sessionfile.read(path)
    assert (found is not None) is read
    assert (found is not None and sessionfile.live(found)) is live


@pytest.mark.parametrize("raw", ["", "{", "x" * 70000], ids=["empty", "half written", "huge"])
def test_an_unreadable_file_says_nothing(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "123.json"
    path.write_text(raw)
    assert sessionfile.read(path) is None
    assert sessionfile.read(tmp_path / "gone.json") is None


NAMES = [("123.json", 123), ("123.abcd.key", None), ("x.json", None), ("123.json.tmp", None)]


@pytest.mark.parametrize(("name", "pid"), NAMES, ids=[n[0] for n in NAMES])
def test_only_pid_json_is_a_session_file(name: str, pid: int | None) -> None:
    assert sessionfile.pid_of(Path(name)) == pid


DIRS = [
    ("config dir", {"CLAUDE_CONFIG_DIR": "/c", "HOME": "/h"}, "/c"),
    ("home", {"HOME": "/h"}, "/h/.claude"),
]


@pytest.mark.parametrize(("environ", "where"), [d[1:] for d in DIRS], ids=[d[0] for d in DIRS])
def test_where_claude_keeps_its_state(environ: dict[str, str], where: str) -> None:
    assert configdir.config_dir(environ) == Path(where)


# (id, the agent's profile, the file's status sequence, the states the agent went through)
WATCHED = [
    ("a Claude agent", "claude", ["busy", "waiting", "busy"], ["busy", "waiting", "busy"]),
    ("a profile without hooks: the screen alone", "plain", ["busy", "waiting"], ["busy", "busy"]),
]


@pytest.mark.parametrize(
    ("profile", "statuses", "states"), [w[1:] for w in WATCHED], ids=[w[0] for w in WATCHED]
)
def test_the_session_file_moves_only_a_claude_agent(
    tmp_path: Path, profile: str, statuses: list[str], states: list[str]
) -> None:
    """This process stands for the agent's Claude (a live pid, its own start time)."""
    claude = profiles.get(Config(), "claude")
    profile_of = {"claude": claude, "plain": frozen.replace(claude, hooks=False)}.get
    watch = SessionWatch(queue.SimpleQueue())
    path = tmp_path / f"{os.getpid()}.json"
    seen = []
    with open_store(tmp_path / "home") as store:
        store.insert_agent(agent_row("c1", profile=profile, state="busy", pid=os.getpid()))
        for status in statuses:
            content = _own(str(procs.start_time(os.getpid()))) | {"status": status}
            path.write_text(json.dumps(content | {"waitingFor": "dialog open"}))
            watch.changed(store, path, lambda agent: profile_of(agent.profile))
            agent = store.get_agent("c1")
            assert agent is not None
            seen.append(agent.state)
    assert seen == states
