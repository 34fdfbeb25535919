"""Locks: the domain (tmuxorch.locks), the auto-lock hook and the lock CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env, base_config
from tests.helpers import retry_until
from tmuxorch.core import procs
from tmuxorch.core.errors import LockError
from tmuxorch.core.records import Agent, now
from tmuxorch.locks.acquisition import Outcome, acquire, release, release_holder
from tmuxorch.locks.keys import Holder, hook_holder, lock_key
from tmuxorch.locks.manual import held
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    with open_store(home) as s:
        yield s


def me(key: str, **kw: Any) -> Holder:
    return Holder(key=key, **kw)


class Background:
    """An acquisition in a thread (its own connection), to wait on its outcome."""

    def __init__(self, home: Path, path: str, holder: Holder, wait: float) -> None:
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, args=(home, path, holder, wait))
        self.thread.start()

    def _run(self, home: Path, path: str, holder: Holder, wait: float) -> None:
        with open_store(home) as s:
            self.outcome = acquire(s, path, holder, wait=wait)

    def result(self, timeout: float = 10) -> Outcome:
        self.thread.join(timeout)
        assert self.outcome is not None
        return self.outcome


def queued(store: Store, n: int) -> None:
    retry_until(lambda: len(store.waiters()) == n, message=f"{n} waiters")


# -- the domain ------------------------------------------------------------------


def test_acquire_is_reentrant_and_exclusive(store: Store) -> None:
    assert acquire(store, "/r/f", me("a")).granted
    assert acquire(store, "/r/f", me("a")).granted
    denied = acquire(store, "/r/f", me("b"))
    assert not denied.granted and denied.blocker == "a"
    assert "/r/f" in denied.reason and "agent a" in denied.reason
    assert [lk.holder for lk in store.locks()] == ["a"]


def test_deny_reason_names_the_holders_task(store: Store) -> None:
    stamp = now()
    agent = Agent(name="a", profile="claude", state="busy", cwd="/", created=stamp, since=stamp)
    store.insert_agent(agent)
    store.update_agent("a", task="refactor the parser", pid=os.getpid())
    assert acquire(store, "/r/f", me("a", agent="a")).granted
    reason = acquire(store, "/r/f", me("b")).reason
    assert "agent a" in reason and "refactor the parser" in reason


def test_directory_lock_covers_files_below(store: Store) -> None:
    assert acquire(store, "/r", me("a")).granted
    assert not acquire(store, "/r/sub/f", me("b")).granted
    assert acquire(store, "/rx/f", me("b")).granted  # a sibling, not a child
    assert acquire(store, "/r/sub/f", me("a")).granted  # covered: re-entrant


def test_release_wakes_the_waiter(store: Store, home: Path) -> None:
    assert acquire(store, "/r/f", me("a")).granted
    waiter = Background(home, "/r/f", me("b"), wait=30)
    queued(store, 1)
    assert release(store, "/r/f", "a") is not None
    assert waiter.result().granted
    assert [lk.holder for lk in store.locks()] == ["b"]
    assert store.waiters() == []


def test_waiters_are_served_first_come_first_served(store: Store, home: Path) -> None:
    assert acquire(store, "/r/f", me("a")).granted
    first = Background(home, "/r/f", me("b"), wait=30)
    queued(store, 1)
    second = Background(home, "/r/f", me("c"), wait=30)
    queued(store, 2)
    # A newcomer finds the lock free the moment it is released, but is behind both.
    release_holder(store, "a")
    assert first.result().granted
    assert not acquire(store, "/r/f", me("d")).granted
    release_holder(store, "b")
    assert second.result().granted


def test_a_wait_that_closes_a_cycle_is_denied_at_once(store: Store, home: Path) -> None:
    assert acquire(store, "/r/one", me("a")).granted
    assert acquire(store, "/r/two", me("b")).granted
    a_waits = Background(home, "/r/two", me("a"), wait=30)
    queued(store, 1)
    crossing = acquire(store, "/r/one", me("b"), wait=30)
    assert not crossing.granted and crossing.deadlock
    for name in ("agent a", "agent b", "/r/one", "/r/two"):
        assert name in crossing.reason
    release_holder(store, "b")  # b ends its turn
    assert a_waits.result().granted


def test_an_expired_lease_frees_the_lock(store: Store) -> None:
    assert acquire(store, "/r/f", me("a"), lease=0).granted
    assert acquire(store, "/r/f", me("b")).granted


def _dead_pid() -> tuple[int, int | None]:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    start = procs.stat(proc.pid)
    proc.wait()
    return proc.pid, start[2] if start else None


DEAD_HOLDERS = [
    ("process gone", "pid"),
    ("agent exited", "exited"),
    ("agent pane pid gone", "pane"),
]


@pytest.mark.parametrize("how", [d[1] for d in DEAD_HOLDERS], ids=[d[0] for d in DEAD_HOLDERS])
def test_a_dead_holder_is_detected_by_the_next_acquirer(store: Store, how: str) -> None:
    pid, started = _dead_pid()
    holder = me("session:x", pid=pid, pid_start=started)
    if how != "pid":
        stamp = now()
        store.insert_agent(
            Agent(name="a", profile="claude", state="busy", cwd="/", created=stamp, since=stamp)
        )
        store.update_agent("a", pid=pid if how == "pane" else os.getpid())
        if how == "exited":
            store.set_state("a", "exited")
        holder = me("a", agent="a", pid=os.getpid())
    assert acquire(store, "/r/f", holder).granted
    assert acquire(store, "/r/f", me("b")).granted


def test_a_live_holder_keeps_its_lock(store: Store) -> None:
    assert acquire(store, "/r/f", me("session:x", pid=os.getpid())).granted
    assert not acquire(store, "/r/f", me("b")).granted


def test_a_dead_waiter_loses_its_place(store: Store) -> None:
    pid, _ = _dead_pid()
    with store.transaction():
        store.add_waiter("/r/f", "ghost", pid, "nowhere")
    assert acquire(store, "/r/f", me("b")).granted


def test_release_holder_counts_and_unlock_checks_the_holder(store: Store) -> None:
    for path in ("/r/a", "/r/b"):
        assert acquire(store, path, me("a")).granted
    with pytest.raises(LockError, match="--force"):
        release(store, "/r/a", "b")
    assert release(store, "/r/a", "b", force=True) is not None
    assert release(store, "/r/a", "a") is None
    assert release_holder(store, "a") == 1
    assert release_holder(store, "a") == 0


def test_held_lists_waiters(store: Store, home: Path) -> None:
    assert acquire(store, "/r/f", me("a"), reason="migrating").granted
    waiter = Background(home, "/r/f", me("b"), wait=30)
    queued(store, 1)
    ((lock, waiters),) = held(store)
    assert (lock.path, lock.holder, lock.reason, waiters) == ("/r/f", "a", "migrating", ["b"])
    release_holder(store, "a")
    assert waiter.result().granted


HOLDERS = [
    ("agent", {"TMUXORCH_AGENT": "a", "TMUX_PANE": "%1"}, "s", "a"),
    ("pane", {"TMUX_PANE": "%1", "TMUX": "/tmp/sock,1,0"}, "s", "pane:%1@/tmp/sock"),
    ("session", {}, "s", "session:s"),
    ("nobody", {}, None, None),
]


@pytest.mark.parametrize(
    ("environ", "session", "key"), [h[1:] for h in HOLDERS], ids=[h[0] for h in HOLDERS]
)
def test_hook_holder(environ: dict[str, str], session: str | None, key: str | None) -> None:
    holder = hook_holder(environ, session)
    assert (holder.key if holder else None) == key


def test_workspace_is_the_git_top_level(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "src").mkdir()
    assert lock_key("src/x.py", str(tmp_path / "repo"), "workspace") == str(tmp_path / "repo")
    assert lock_key("loose.txt", str(tmp_path), "workspace") == str(tmp_path)


# -- the hook --------------------------------------------------------------------


def hook(
    env: Env, stdin: bytes, agent: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    environ = {**env.environ, **extra}
    if agent:
        environ["TMUXORCH_AGENT"] = agent
    proc = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "auto-lock"],
        input=stdin, capture_output=True, env=environ, timeout=60, check=False,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def write(path: str, cwd: Path, session: str = "sess", **extra: Any) -> bytes:
    payload = {
        "session_id": session, "cwd": str(cwd), "hook_event_name": "PreToolUse",
        "tool_name": "Write", "tool_input": {"file_path": path, "content": "x"}, **extra,
    }  # fmt: skip
    return json.dumps(payload).encode()


@pytest.fixture
def fleet_env(env: Env) -> Env:
    env.write_config({**base_config(env.tmp), "locks": {"wait": 0.2}})
    open_store(env.home).close()
    return env


def denied(proc: subprocess.CompletedProcess[str]) -> str:
    out = json.loads(proc.stdout)["hookSpecificOutput"]
    assert (out["hookEventName"], out["permissionDecision"]) == ("PreToolUse", "deny")
    return str(out["permissionDecisionReason"])


def held_paths(env: Env) -> list[tuple[str, str]]:
    with open_store(env.home) as s:
        return [(lk.path, lk.holder) for lk in s.locks()]


def test_hook_allows_silently_then_denies_another_holder(fleet_env: Env) -> None:
    first = hook(fleet_env, write("f.txt", fleet_env.tmp), agent="a")
    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")
    again = hook(fleet_env, write("f.txt", fleet_env.tmp), agent="a")
    assert (again.returncode, again.stdout) == (0, "")
    other = hook(fleet_env, write("f.txt", fleet_env.tmp), agent="b")
    assert other.returncode == 0
    reason = denied(other)
    assert str(fleet_env.tmp / "f.txt") in reason and "agent a" in reason


BAD_INPUT = [
    ("empty stdin", b"", "empty stdin"),
    ("truncated", b"{", "not valid JSON"),
    ("not an object", b"[1, 2]", "not an object"),
    ("not utf-8", b'{"a": "\xff"}', "not"),
    ("missing tool_input", b'{"tool_name": "Write", "cwd": "/"}', "no tool_input"),
    ("no path", b'{"tool_name": "Write", "tool_input": {"content": "x"}}', "no tool_input.file"),
    ("other event", b'{"hook_event_name": "Stop"}', "PreToolUse hook"),
]


@pytest.mark.parametrize(
    ("stdin", "message"), [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT]
)
@pytest.mark.parametrize("agent", [None, "a"], ids=["unmanaged", "managed"])
def test_bad_input_is_one_line_and_managed_agents_fail_closed(
    fleet_env: Env, stdin: bytes, message: str, agent: str | None
) -> None:
    proc = hook(fleet_env, stdin, agent=agent)
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr
    if agent:
        assert proc.returncode == 0 and "could not decide" in denied(proc)
    else:
        assert (proc.returncode, proc.stdout) == (1, "")


def test_a_tool_without_a_path_is_never_denied(fleet_env: Env) -> None:
    """A too-wide matcher: a tool that writes no file is let through."""
    stdin = json.dumps({"tool_name": "Grep", "tool_input": {"pattern": "x"}}).encode()
    proc = hook(fleet_env, stdin, agent="a")
    assert (proc.returncode, proc.stdout) == (1, "") and "Grep has no" in proc.stderr


def test_a_bash_call_without_a_command_is_bad_input(fleet_env: Env) -> None:
    stdin = json.dumps({"tool_name": "Bash", "tool_input": {"command": 7}}).encode()
    assert "Bash has no tool_input.command" in denied(hook(fleet_env, stdin, agent="a"))


def test_ten_megabytes_of_json(fleet_env: Env) -> None:
    payload = json.loads(write("big.txt", fleet_env.tmp))
    payload["tool_input"]["content"] = "é" * (5 * 1024 * 1024)
    proc = hook(fleet_env, json.dumps(payload).encode(), agent="a")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert held_paths(fleet_env) == [(str(fleet_env.tmp / "big.txt"), "a")]


def test_no_fleet_is_allowed_silently_unless_managed(env: Env) -> None:
    proc = hook(env, write("f", env.tmp))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert not (env.home / "state.db").exists()
    assert "no fleet state" in denied(hook(env, write("f", env.tmp), agent="a"))


def test_symlinks_to_one_file_are_one_lock(fleet_env: Env) -> None:
    target = fleet_env.tmp / "real.txt"
    target.write_text("x")
    (fleet_env.tmp / "link.txt").symlink_to(target)
    (fleet_env.tmp / "dirlink").symlink_to(fleet_env.tmp)
    assert hook(fleet_env, write("link.txt", fleet_env.tmp), agent="a").stdout == ""
    for alias in (str(target), "dirlink/real.txt", "./sub/../real.txt"):
        assert "agent a" in denied(hook(fleet_env, write(alias, fleet_env.tmp), agent="b"))
    assert held_paths(fleet_env) == [(str(target), "a")]


PATHS = [
    ("relative to the hook's cwd", "sub/f.txt", "sub/f.txt"),
    ("spaces", "with space/my file.txt", "with space/my file.txt"),
    ("unicode", "dossier/été 😀.txt", "dossier/été 😀.txt"),
    ("absolute", "{tmp}/abs.txt", "abs.txt"),
]


@pytest.mark.parametrize(("given", "expected"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS])
def test_lock_key_is_the_real_absolute_path(fleet_env: Env, given: str, expected: str) -> None:
    cwd = fleet_env.tmp / "work"
    cwd.mkdir()
    proc = hook(fleet_env, write(given.format(tmp=cwd), cwd), agent="a")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert held_paths(fleet_env) == [(str(cwd / expected), "a")]


def test_notebook_path_and_workspace_scope(fleet_env: Env) -> None:
    fleet_env.write_config(
        {**base_config(fleet_env.tmp), "locks": {"wait": 0.2, "scope": "workspace"}}
    )
    repo = fleet_env.tmp / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "nb").mkdir()
    payload = {"tool_name": "NotebookEdit", "cwd": str(repo / "nb"),
               "tool_input": {"notebook_path": "a.ipynb"}}  # fmt: skip
    assert hook(fleet_env, json.dumps(payload).encode(), agent="a").stdout == ""
    assert held_paths(fleet_env) == [(str(repo), "a")]
    assert "agent a" in denied(hook(fleet_env, write("other.py", repo), agent="b"))


def test_hand_started_sessions_hold_by_session_id(fleet_env: Env) -> None:
    assert hook(fleet_env, write("f", fleet_env.tmp, session="s1")).stdout == ""
    assert "Claude session s1" in denied(hook(fleet_env, write("f", fleet_env.tmp, session="s2")))
    assert held_paths(fleet_env)[0][1] == "session:s1"


# -- the CLI ---------------------------------------------------------------------


def test_lock_unlock_and_locks(fleet_env: Env) -> None:
    env = fleet_env
    target = env.tmp / "notes.md"
    assert env.ok("lock", str(target), "--reason", "rewriting") == f"locked {target}\n"
    ((row,),) = [env.json("locks")]
    assert row["path"] == str(target) and row["holder"] == "user"
    assert row["reason"] == "rewriting" and row["waiters"] == []
    assert row["since"].endswith("+00:00") and row["expires"] > row["since"]
    busy = env.cli("lock", str(target), env={"TMUXORCH_AGENT": "a"})
    assert busy.returncode == 1 and "locked by the user" in busy.stderr
    timed = env.cli("lock", str(target), "--wait", "0.2", env={"TMUXORCH_AGENT": "a"})
    assert timed.returncode == 124
    theirs = env.cli("unlock", str(target), env={"TMUXORCH_AGENT": "a"})
    assert theirs.returncode == 1 and "--force" in theirs.stderr
    assert env.ok("unlock", str(target)) == f"unlocked {target}\n"
    assert env.cli("unlock", str(target)).stderr == f"tmuxorch: {target} is not locked\n"
    assert env.json("locks") == []


def test_lock_without_path_is_the_workspace(fleet_env: Env) -> None:
    repo = fleet_env.tmp / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "lock"], cwd=repo / "src",
        env=fleet_env.environ, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert proc.stdout == f"locked {repo}\n"
    assert "the user" in denied(hook(fleet_env, write("src/x.py", repo), agent="a"))


def test_locks_show_in_list_and_status(fleet_env: Env) -> None:
    env = fleet_env
    env.ok("spawn", "a")
    env.ok("lock", str(env.tmp / "f"), env={"TMUXORCH_AGENT": "a"})
    assert env.json("status", "a")["locks"] == [str(env.tmp / "f")]
    assert env.json("list")[0]["locks"] == [str(env.tmp / "f")]
    assert "LOCKS" in env.ok("list")
