"""stop, resume, up/restore, cleanup and worktrees on agents without hooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from libtmux.server import Server

from tests.conftest import Env
from tests.helpers import HOST, retry_until
from tmuxorch.fleet import monitorproc


def _state(env: Env, name: str) -> str:
    return str(env.json("status", name)["state"])


def test_stop_then_resume(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    env.ok("send", "f", "remember me")
    assert "stopped f" in env.ok("stop", "f")
    status = env.json("status", "f")
    assert status["state"] == "stopped" and status["pane_id"]
    assert "remember me" in env.ok("output", "f")  # its last screen is kept
    assert env.cli("stop", "f").returncode == 1  # already stopped
    env.ok("resume", "f", "welcome back")
    env.ok("wait", "f", "--timeout", "30")
    retry_until(lambda: env.records()[-1:] == ["welcome back"], message="resume message")
    env.ok("wait", "f", "--timeout", "30")
    proc = env.cli("resume", "f")
    assert proc.returncode == 1 and "only an ended agent resumes" in proc.stderr


def test_up_after_the_server_died(env: Env, server: Server) -> None:
    env.spawn_ready("a", "--agent", "fake")
    env.spawn_ready("b", "--agent", "fake")
    env.spawn_ready("gone", "--agent", "fake")
    env.spawn_ready("halted", "--agent", "fake")
    env.ok("kill", "gone")
    env.ok("stop", "halted")
    server.kill()  # the machine "rebooted": every window is gone
    retry_until(lambda: not monitorproc.is_running(env.home, HOST), message="monitor follows tmux")
    restored = json.loads(env.ok("up", "--json"))["restored"]
    assert sorted(restored) == ["a", "b"]
    env.ok("wait", "a", "b", "--timeout", "30")
    assert monitorproc.is_running(env.home, HOST)
    assert {w.name for w in server.windows} == {"a", "b"}
    assert json.loads(env.ok("restore", "--json"))["restored"] == []  # idempotent
    assert {w.name for w in server.windows} == {"a", "b"}
    assert _state(env, "gone") == "exited" and _state(env, "halted") == "stopped"
    env.ok("send", "a", "still here")
    retry_until(lambda: "still here" in env.records(), message="restored agent works")


def test_up_marks_agents_that_died_unseen(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    env.kill_monitor()  # nobody is looking
    pane = str(env.json("status", "f")["pane_id"])
    env.fleet().tmux.send_literal(pane, "crash")
    env.fleet().tmux.send_keys(pane, "Enter")
    assert json.loads(env.ok("up", "--json"))["restored"] == []
    status = env.json("status", "f")
    assert status["state"] == "exited" and status["exit_status"] == 1
    assert "simulated crash" in env.ok("output", "f")


def test_cleanup(env: Env) -> None:
    env.spawn_ready("old", "--agent", "fake")
    env.spawn_ready("live", "--agent", "fake")
    env.ok("kill", "old")
    assert json.loads(env.ok("cleanup", "--days", "0", "--json"))["removed"] == ["old"]
    assert [a["name"] for a in env.json("list")] == ["live"]
    assert "nothing to clean up" in env.ok("cleanup")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / "sub").mkdir(parents=True)
    _git("init", "-q", "-b", "main", cwd=path)
    (path / "sub" / "f.txt").write_text("x\n")
    _git("add", ".", cwd=path)
    _git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init", cwd=path)
    return path


WORKTREES = [
    ("new-branch", [], "tmuxorch/w", True),
    ("named-branch", ["feature-x"], "feature-x", True),
    ("dirty-kept", [], "tmuxorch/w", False),
]


@pytest.mark.parametrize(
    ("extra", "branch", "clean"), [w[1:] for w in WORKTREES], ids=[w[0] for w in WORKTREES]
)
def test_worktree(env: Env, repo: Path, extra: list[str], branch: str, clean: bool) -> None:
    flag = ["--worktree", *extra] if extra else ["--worktree"]
    env.spawn_ready("w", *flag, "--cwd", str(repo / "sub"))
    status = env.json("status", "w")
    tree = Path(status["worktree"]["path"])
    assert status["worktree"]["branch"] == branch
    assert status["cwd"] == str(tree / "sub") and (tree / "sub" / "f.txt").exists()
    assert _git("rev-parse", "--abbrev-ref", "HEAD", cwd=tree) == branch
    if not clean:
        (tree / "sub" / "new.txt").write_text("work in progress\n")
    out = env.ok("rm", "w")
    assert tree.exists() != clean
    assert ("kept: it has uncommitted changes" in out) != clean
    assert ("removed (branch" in out) == clean


def test_worktree_then_a_prompt_is_a_prompt(env: Env, repo: Path) -> None:
    # --worktree takes an optional BRANCH: a value no branch can have is the prompt.
    env.ok("spawn", "w", "--worktree", "pwd > here.txt; echo ok", "--cwd", str(repo / "sub"))
    status = env.json("status", "w")
    assert status["worktree"]["branch"] == "tmuxorch/w"
    here = Path(status["cwd"]) / "here.txt"
    retry_until(lambda: here.exists() and here.read_text().strip(), message="the prompt ran")
    assert here.read_text().strip() == status["cwd"]


def test_worktree_outside_git_fails_cleanly(env: Env, tmp_path: Path) -> None:
    proc = env.cli("spawn", "w", "--worktree", "--cwd", str(tmp_path))
    assert proc.returncode == 1 and "needs a git repository" in proc.stderr
    assert env.json("list") == []


@pytest.mark.parametrize(
    "start_up",
    [
        # A moment of start-up, as Claude has.
        "sleep 0.5; ",
        # None: gone before spawn has set its window up (tmux pipes no dead pane).
        "",
    ],
    ids=["after-a-moment", "at-once"],
)
def test_exit_during_start_up_says_why(env: Env, start_up: str) -> None:
    why = "broken: cannot be used with root"
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["broken"] = {
        "command": "/bin/sh",
        "args": ["-c", f"{start_up}echo '{why}' >&2; exit 3"],
        "ready": [r"^> \Z"],
    }
    env.write_config(config)
    env.ok("spawn", "b", "--agent", "broken")
    waited = env.cli("wait", "b", "--timeout", "30")
    first_turn = env.cli("spawn", "c", "do it", "--wait", "--agent", "broken")
    for proc in (waited, first_turn):
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1 and why in proc.stderr
    status = env.json("status", "b")
    assert status["state"] == "exited" and status["exit_status"] == 3
    assert status["detail"] == f"exit status 3 during start-up: {why}"
    delegated = env.cli("delegate", "d", "do it", "--agent", "broken", "--json")
    result = json.loads(delegated.stdout)
    assert delegated.returncode == 1 and result["status"] == "failed"
    assert result["error"] == status["detail"] and not result["can_continue"]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie nobody reaped is dead


def _kill_server_under(env: Env, server: Server, reaper: str, pid: int) -> None:
    """Kill the tmux server under the stray ``pid``; the ``up`` reaper runs with no
    monitor, so that it is the one to find the stray."""
    if reaper == "up":
        env.kill_monitor()  # nobody looks: `up` finds it
    server.kill()
    if reaper == "up":
        assert _running(pid)
        env.ok("up")


@pytest.mark.parametrize("reaper", ["monitor", "up"])
def test_processes_that_outlive_the_server_are_killed(
    env: Env, server: Server, reaper: str
) -> None:
    pid_file = env.tmp / "stray.pid"
    env.spawn_ready("s")
    # A job that ignores the hang-up tmux ends a pane with, as Claude once did.
    env.ok("send", "s", f"nohup sleep 1000 >/dev/null 2>&1 & echo $! > {pid_file}")
    pid = int(retry_until(lambda: pid_file.exists() and pid_file.read_text().strip()))
    # The same agent name and socket in another home: another fleet's, left alone.
    other_env = {**os.environ, "TMUXORCH_AGENT": "s", "TMUXORCH_SOCKET": env.socket}
    other = subprocess.Popen(["sleep", "1000"], env={**other_env, "TMUXORCH_HOME": "/elsewhere"})
    try:
        _kill_server_under(env, server, reaper, pid)
        retry_until(lambda: not _running(pid), message="the stray killed")
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


# A stray that, as Claude Code does, writes its work out when asked to end; it
# ignores the hang-up (as a job under nohup does), so it outlives its pane.
_SAVES_ON_TERM = """
import os, pathlib, signal, sys
saved, pid_file = map(pathlib.Path, sys.argv[1:3])
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *_: (saved.write_text("saved"), sys.exit(0)))
pid_file.write_text(str(os.getpid()))
while True:
    signal.pause()
"""


@pytest.mark.parametrize("reaper", ["monitor", "up"])
def test_a_stray_is_asked_to_end_before_it_is_killed(env: Env, server: Server, reaper: str) -> None:
    """Killed outright, a Claude that outlived its server lost the turn it had
    not written out yet, and the resumed one found no conversation."""
    script, saved, pid_file = env.tmp / "saver.py", env.tmp / "saved", env.tmp / "saver.pid"
    script.write_text(_SAVES_ON_TERM)
    env.spawn_ready("s")
    env.ok("send", "s", f"{sys.executable} {script} {saved} {pid_file} >/dev/null 2>&1 &")
    pid = int(retry_until(lambda: pid_file.exists() and pid_file.read_text().strip()))
    try:
        _kill_server_under(env, server, reaper, pid)
        retry_until(lambda: not _running(pid), message="the stray ended")
        assert saved.read_text() == "saved"
    finally:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def test_fork_of_a_shell_types_only_the_message(env: Env) -> None:
    env.spawn_ready("a")
    env.ok("fork", "a", "b", "echo forked-$((40 + 2))")
    retry_until(lambda: "forked-42" in env.ok("output", "b"), message="the fork's message ran")
    assert "[tmuxorch]" not in env.ok("output", "b")  # no note meant for Claude
    assert env.json("status", "b")["cwd"] == env.json("status", "a")["cwd"]


def test_a_link_as_the_worktrees_directory_is_refused(env: Env, repo: Path, tmp_path: Path) -> None:
    """HOME/worktrees is the home's like logs/: a link planted there would have
    git check the agent's branch out wherever it points."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env.home.mkdir(mode=0o700)
    (env.home / "worktrees").symlink_to(elsewhere)
    proc = env.cli("spawn", "w", "--worktree", "--cwd", str(repo))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "symbolic link" in proc.stderr
    assert list(elsewhere.iterdir()) == []
    assert env.json("list") == []
