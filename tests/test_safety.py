"""The safety net: protected paths (matcher, the auto-lock hook) and limits
(the logic, the monitor's Guard, fake agents in tmux)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Env, base_config
from tests.helpers import retry_until
from tmuxorch.claude import cost
from tmuxorch.core.config import DEFAULT_PROTECTED, Config, LimitSettings, load_config
from tmuxorch.core.records import Agent, Event, now
from tmuxorch.daemon import safety
from tmuxorch.fleet import safetynet
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views import agents as views
from tmuxorch.locks import protect
from tmuxorch.store.opening import open_store

ROOT = Path(__file__).parent.parent

# -- the matcher ---------------------------------------------------------------------

# (id, path as the tool gives it, relative to the workspace unless absolute; the
# pattern that protects it, or None)
PATHS = [
    (".env", ".env", ".env"),
    ("sub/.env", "sub/.env", ".env"),
    (".env.local", ".env.local", ".env.*"),
    (".env.example re-allowed", ".env.example", None),
    (".git/config", ".git/config", ".git/"),
    (".git/hooks/pre-commit", ".git/hooks/pre-commit", ".git/"),
    (".git file of a worktree", "sub/.git", ".git/"),
    ("src/a.py", "src/a.py", None),
    (".github is not .git", ".github/workflows/ci.yml", None),
    (".gitignore", ".gitignore", None),
    ("environment.py", "src/environment.py", None),
    ("space dir/.env", "my dir/.env", ".env"),
    ("spaces, harmless", "my dir/a file.txt", None),
    ("pem", "certs/server.pem", "*.pem"),
    ("ssh key", "deploy/id_rsa", "id_rsa*"),
    ("ssh public key", "deploy/id_ed25519.pub", "id_ed25519*"),
    ("secrets.yaml", "config/secrets.yaml", "secrets.*"),
    (".npmrc", ".npmrc", ".npmrc"),
    ("dot-dot to .env", "src/../.env", ".env"),
    ("absolute .aws/credentials", "/home/someone/.aws/credentials", ".aws/credentials"),
    ("absolute .ssh dir", "/home/someone/.ssh/config", ".ssh/"),
    ("absolute harmless", "/tmp/notes.txt", None),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    return root


@pytest.mark.parametrize(("path", "expected"), [p[1:] for p in PATHS], ids=[p[0] for p in PATHS])
def test_protected_paths(repo: Path, path: str, expected: str | None) -> None:
    assert protect.protected(path, str(repo / "src"), DEFAULT_PROTECTED) == (
        protect.protected(path, str(repo), DEFAULT_PROTECTED)
    )  # the workspace is the git top level, wherever the session's cwd is in it
    relative = path if path.startswith("/") else f"../{path}"
    assert protect.protected(relative, str(repo / "src"), DEFAULT_PROTECTED) == expected


# (id, link name, what it points to (relative to the repo), path written)
LINKS = [
    ("dir symlink into .git", "g", ".git", "g/config"),
    ("file symlink to .env", "notes.txt", ".env", "notes.txt"),
    ("symlink named .env to a harmless file", ".env", "src/a.txt", ".env"),
]


@pytest.mark.parametrize(("link", "to", "path"), [x[1:] for x in LINKS], ids=[x[0] for x in LINKS])
def test_symlinks_are_followed_and_taken_as_written(
    repo: Path, link: str, to: str, path: str
) -> None:
    (repo / to).parent.mkdir(parents=True, exist_ok=True)
    (repo / to).touch()
    (repo / link).symlink_to(repo / to)
    assert protect.protected(path, str(repo), DEFAULT_PROTECTED) is not None


# (id, patterns, allowances, path, protected by)
RULES = [
    (
        "anchored matches at the top",
        ["/config/prod.yaml"],
        [],
        "config/prod.yaml",
        "/config/prod.yaml",
    ),
    ("anchored not below", ["/config/x.yaml"], [], "sub/config/x.yaml", None),
    ("trailing components", ["deploy/*.yaml"], [], "x/deploy/a.yaml", "deploy/*.yaml"),
    ("star stays in one component", ["deploy/*.yaml"], [], "deploy/x/a.yaml", None),
    ("last match wins", ["*.txt", "!keep.txt"], [], "keep.txt", None),
    ("re-protected", ["*.txt", "!keep.txt", "keep.*"], [], "keep.txt", "keep.*"),
    ("allowance", [".env", ".env.*"], [".env"], ".env", None),
    ("allowance is narrow", [".env", ".env.*"], [".env"], ".env.local", ".env.*"),
    ("allow everything", [".git/"], ["*"], ".git/config", None),
    ("allow a directory", [".git/"], [".git/"], ".git/config", None),
    ("empty list protects nothing", [], [], ".env", None),
    ("blank patterns ignored", ["", "  ", "/"], [], ".env", None),
]


@pytest.mark.parametrize(
    ("patterns", "allow", "path", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_pattern_rules(
    repo: Path, patterns: list[str], allow: list[str], path: str, expected: str | None
) -> None:
    assert protect.protected(path, str(repo), patterns, allow) == expected


def test_example_config_shows_the_defaults() -> None:
    example = yaml.safe_load((ROOT / "config.yaml.example").read_text())
    assert example["protected_paths"] == list(DEFAULT_PROTECTED)
    assert set(example["limits"]) == set(vars(LimitSettings()))
    loaded = load_config(ROOT / "config.yaml.example")[0]
    assert (loaded.limits, loaded.protected_paths) == (LimitSettings(), list(DEFAULT_PROTECTED))


# -- the hook ------------------------------------------------------------------------


def hook(env: Env, path: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    edit = {"file_path": path, "old_string": "a", "new_string": "b"}
    return call(env, "Edit", edit, cwd, **environ)


def bash(env: Env, command: str, cwd: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return call(env, "Bash", {"command": command}, cwd, **environ)


def call(
    env: Env, tool: str, tool_input: dict[str, Any], cwd: Path, **environ: str
) -> subprocess.CompletedProcess[str]:
    payload = {
        "session_id": "sess", "cwd": str(cwd), "hook_event_name": "PreToolUse",
        "tool_name": tool, "tool_input": tool_input,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tmuxorch", "auto-lock"],
        input=json.dumps(payload), capture_output=True, text=True,
        env={**env.environ, **environ}, timeout=60, check=False,
    )  # fmt: skip


def denied(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["hookSpecificOutput"]
    assert (out["hookEventName"], out["permissionDecision"]) == ("PreToolUse", "deny")
    return str(out["permissionDecisionReason"])


def add_agent(env: Env, name: str, **spec: Any) -> None:
    with open_store(env.home) as store:
        stamp = now()
        store.insert_agent(
            Agent(name=name, profile="shell", state="idle", cwd=str(env.tmp), created=stamp,
                  since=stamp, spec=spec)
        )  # fmt: skip


@pytest.fixture
def fleet_env(env: Env) -> Env:
    open_store(env.home).close()
    return env


def test_hook_denies_protected_writes_with_a_reason(fleet_env: Env, repo: Path) -> None:
    env = fleet_env
    add_agent(env, "a")
    reason = denied(hook(env, str(repo / ".env"), repo, TMUXORCH_AGENT="a"))
    assert str(repo / ".env") in reason and "'.env'" in reason and "--allow-protected" in reason
    assert hook(env, "src/a.py", repo, TMUXORCH_AGENT="a").stdout == ""
    with open_store(env.home) as store:
        (event,) = store.events(kind="protected")
        assert (event.agent, event.detail) == ("a", f"write to {repo / '.env'} denied (.env)")
        assert [lk.path for lk in store.locks()] == [str(repo / "src/a.py")]  # no lock on .env


def test_spawned_allowance_lets_the_write_through(fleet_env: Env, repo: Path) -> None:
    env = fleet_env
    add_agent(env, "a", allow_protected=[".env"])
    assert hook(env, ".env", repo, TMUXORCH_AGENT="a").stdout == ""
    assert ".env.*" in denied(hook(env, ".env.local", repo, TMUXORCH_AGENT="a"))
    add_agent(env, "b")
    assert "'.env'" in denied(hook(env, ".env", repo, TMUXORCH_AGENT="b"))


def test_hand_started_sessions_are_protected_too(env: Env, repo: Path) -> None:
    assert not env.home.exists()  # not even a fleet: still protected
    assert ".git/" in denied(hook(env, ".git/config", repo))
    open_store(env.home).close()
    assert ".git/" in denied(hook(env, ".git/config", repo, TMUXORCH_PANE="%9"))
    assert hook(env, "src/a.py", repo).stdout == ""


def test_bash_writes_are_checked_and_locked(fleet_env: Env, repo: Path) -> None:
    """Bash is read by its words: what it names as written is protected and
    locked like a Write; a command that names nothing passes untouched."""
    env = fleet_env
    add_agent(env, "a")
    reason = denied(bash(env, "echo TOKEN=1 > .env", repo, TMUXORCH_AGENT="a"))
    assert str(repo / ".env") in reason and "'.env'" in reason
    assert ".git/" in denied(bash(env, "cd .git && sed -i s/a/b/ config", repo, TMUXORCH_AGENT="a"))
    assert bash(env, "cat .env | grep TOKEN; ls -la", repo, TMUXORCH_AGENT="a").stdout == ""
    proc = bash(env, "echo hi > notes.txt && cp notes.txt src/", repo, TMUXORCH_AGENT="a")
    assert proc.returncode == 0 and proc.stdout == ""
    with open_store(env.home) as store:
        locked = sorted(lk.path for lk in store.locks())
        assert locked == [str(repo / p) for p in ("notes.txt", "src", "src/notes.txt")]
        assert [e.detail for e in store.events(kind="protected")] == [
            f"write to {repo / '.env'} denied (.env)",
            f"write to {repo / '.git/config'} denied (.git/)",
        ]
    assert not (repo / ".env").exists()


def test_bash_that_writes_nothing_needs_no_fleet(env: Env, repo: Path) -> None:
    """A managed agent whose fleet is unreachable fails closed on writes, but
    a read-only command is not a write: it is not held up."""
    assert not env.home.exists()
    assert bash(env, "git status && ls", repo, TMUXORCH_AGENT="a").stdout == ""
    assert "no fleet state" in denied(bash(env, "echo x > out.txt", repo, TMUXORCH_AGENT="a"))
    assert "no fleet state" in denied(hook(env, "out.txt", repo, TMUXORCH_AGENT="a"))


def test_config_list_replaces_the_defaults(fleet_env: Env, repo: Path) -> None:
    env = fleet_env
    assert hook(env, "notes.txt", repo).stdout == ""
    env.write_config({**base_config(env.tmp), "protected_paths": ["*.txt"]})
    assert "'*.txt'" in denied(hook(env, "notes.txt", repo))
    assert hook(env, ".env", repo).stdout == ""  # the cache followed the file
    env.write_config({**base_config(env.tmp), "protected_paths": []})
    assert hook(env, "notes.txt", repo).stdout == ""


# -- limits: the logic -----------------------------------------------------------------

# (id, limits, turns, cost, worked, limits breached)
BREACHES = [
    ("no limits", {}, 99, 99.0, 9e9, []),
    ("turns at the cap", {"max_turns": 3}, 3, 0.0, 0.0, []),
    ("turn over the cap", {"max_turns": 3}, 4, 0.0, 0.0, ["max_turns"]),
    ("zero turns", {"max_turns": 0}, 1, 0.0, 0.0, ["max_turns"]),
    ("cost under", {"max_cost": 0.5}, 0, 0.4999, 0.0, []),
    ("cost reached", {"max_cost": 0.5}, 0, 0.5, 0.0, ["max_cost"]),
    ("work under", {"max_duration": 60.0}, 0, 0.0, 59.9, []),
    ("work reached", {"max_duration": 60.0}, 0, 0.0, 60.0, ["max_duration"]),
    (
        "all at once",
        {"max_cost": 1.0, "max_turns": 1, "max_duration": 1.0},
        2,
        2.0,
        2.0,
        ["max_cost", "max_turns", "max_duration"],
    ),
]


@pytest.mark.parametrize(
    ("limits", "turns", "cost", "worked", "expected"),
    [b[1:] for b in BREACHES],
    ids=[b[0] for b in BREACHES],
)
def test_breaches(
    limits: dict[str, Any], turns: int, cost: float, worked: float, expected: list[str]
) -> None:
    found = safetynet.breaches(
        safetynet.Limits(**limits), turns=turns, cost_usd=cost, worked=worked
    )
    assert [b.limit for b in found] == expected


# (id, config limits, spec, effective)
INT = "interrupt"
PRECEDENCE = [
    ("defaults", {}, {}, (None, None, None, INT)),
    ("config", {"max_turns": 5, "on_breach": "kill"}, {}, (None, 5, None, "kill")),
    ("flag wins", {"max_turns": 5}, {"limits": {"max_turns": 2}}, (None, 2, None, INT)),
    ("null inherits", {"max_cost": 1.0}, {"limits": {"max_cost": None}}, (1.0, None, None, INT)),
    ("bad spec", {"max_duration": 9.0}, {"limits": "x"}, (None, None, 9.0, INT)),
]


@pytest.mark.parametrize(
    ("config", "spec", "expected"), [p[1:] for p in PRECEDENCE], ids=[p[0] for p in PRECEDENCE]
)
def test_limits_precedence(
    config: dict[str, Any], spec: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    limits = safetynet.Limits.of(Config(limits=LimitSettings(**config)), spec)
    assert (limits.max_cost, limits.max_turns, limits.max_duration, limits.on_breach) == expected


def _event(ts: float, state: str | None, kind: str = "state", agent: str = "a") -> Event:
    return Event(id=0, ts=ts, agent=agent, event=kind, state=state, detail="")


# (id, (ts, state)..., now, seconds worked)
CLOCKS = [
    ("idle only", [(0, "starting"), (5, "idle")], 100, 0.0),
    ("one finished turn", [(0, "idle"), (10, "busy"), (25, "idle")], 100, 15.0),
    ("waiting counts", [(0, "busy"), (10, "waiting"), (30, "busy"), (40, "idle")], 100, 40.0),
    ("turn in progress", [(0, "busy"), (10, "idle"), (50, "busy")], 70, 30.0),
    ("busy to busy", [(0, "busy"), (5, "busy"), (9, "busy")], 10, 10.0),
    ("exit ends the turn", [(0, "busy"), (7, "exited")], 100, 7.0),
]


@pytest.mark.parametrize(
    ("steps", "at", "worked"), [c[1:] for c in CLOCKS], ids=[c[0] for c in CLOCKS]
)
def test_work_clock(steps: list[tuple[float, str]], at: float, worked: float) -> None:
    clock = safetynet.clock_of([_event(ts, state) for ts, state in steps])
    assert clock.at(at) == pytest.approx(worked)


# -- limits: the Guard, on a store ---------------------------------------------------------


@pytest.fixture
def fleet(env: Env) -> Iterator[Fleet]:
    with env.fleet() as f:
        yield f


def _guarded(fleet: Fleet, name: str, state: str = "busy", **limits: Any) -> None:
    stamp = now()
    if fleet.store.get_agent("boss") is None:
        boss = Agent(
            name="boss", profile="shell", state="idle", cwd="/", created=stamp, since=stamp
        )
        fleet.store.insert_agent(boss)
    fleet.store.insert_agent(
        Agent(name=name, profile="shell", state=state, cwd="/", created=stamp, since=stamp,
              parent="boss", spec={"limits": limits})
    )  # fmt: skip


def _notes(fleet: Fleet) -> list[str]:
    return [m.body for m in fleet.store.messages("boss")]


def test_guard_fires_once_and_tells_the_parent(fleet: Fleet) -> None:
    _guarded(fleet, "w", state="idle", max_turns=1, max_cost=0.25)
    fleet.store.add_message(None, "w", "sequential", "more work")
    guard = safety.Guard(fleet)
    guard.start(fleet.store.last_event_id())
    fleet.store.update_agent("w", turns=2)
    guard.check("w")
    fleet.store.update_agent("w", turns=3, cost_usd=0.3)
    guard.check("w")
    guard.check("w")
    assert _notes(fleet) == [
        "[tmuxorch] child w was interrupted by the safety net: "
        "max_turns: step 2 is over the cap of 1",
        "[tmuxorch] child w was interrupted by the safety net: max_cost: spent $0.3000 of $0.2500",
    ]
    assert [m.status for m in fleet.store.messages("w")] == ["failed"]
    restarted = safety.Guard(fleet)
    restarted.start(fleet.store.last_event_id())  # the events remember what fired
    fleet.store.update_agent("w", turns=9, cost_usd=9.0)
    restarted.check("w")
    assert len(_notes(fleet)) == 2
    shown = views.of(fleet, fleet.agent("w")).to_json()
    assert [(v["limit"], v["value"], v["cap"], v["action"]) for v in shown["violations"]] == [
        ("max_turns", 2, 1, "interrupt"),
        ("max_cost", 0.3, 0.25, "interrupt"),
    ]
    assert shown["limits"] == {
        "max_cost": 0.25, "max_turns": 1, "max_duration": None, "on_breach": "interrupt"
    }  # fmt: skip


def test_a_cost_counted_outside_the_monitor_is_checked(fleet: Fleet) -> None:
    """`status` (any CLI call) may read the transcript before the monitor's
    cost thread does; the cost event it records still reaches the guard."""
    _guarded(fleet, "w", state="idle", max_cost=0.25)
    guard = safety.Guard(fleet)
    guard.start(fleet.store.last_event_id())
    fleet.store.update_agent("w", cost_usd=0.3)
    fleet.store.add_event("w", cost.COST_EVENT, None, "$0.3000", {"cost_usd": 0.3})
    for event in fleet.store.events(agent="w", kind=cost.COST_EVENT):
        guard.event(event)
    assert _notes(fleet) == [
        "[tmuxorch] child w was interrupted by the safety net: max_cost: spent $0.3000 of $0.2500"
    ]


def test_a_new_agent_of_the_same_name_starts_clean(fleet: Fleet) -> None:
    _guarded(fleet, "w", state="idle", max_turns=0)
    fleet.store.update_agent("w", turns=1)
    safety.Guard(fleet).check("w")
    fleet.store.delete_agent("w")
    _guarded(fleet, "w", state="idle", max_turns=0)
    assert views.of(fleet, fleet.agent("w")).to_json()["violations"] == []
    guard = safety.Guard(fleet)
    guard.start(fleet.store.last_event_id())
    fleet.store.update_agent("w", turns=1)
    guard.check("w")
    assert len(_notes(fleet)) == 2


def test_kill_on_breach(env: Env, fleet: Fleet) -> None:
    env.write_config({**base_config(env.tmp), "limits": {"on_breach": "kill"}})
    with env.fleet() as f:
        _guarded(f, "w", state="idle", max_cost=0.0)
        safety.Guard(f).check("w")
        agent = f.agent("w")
        assert (agent.state, agent.ended_by) == ("exited", "kill")
        assert "was killed by the safety net" in _notes(f)[0]


def test_duration_deadline_and_tick(fleet: Fleet) -> None:
    _guarded(fleet, "w", state="idle", max_duration=30.0)
    guard = safety.Guard(fleet)
    guard.start(fleet.store.last_event_id())
    t0 = time.time()
    guard.event(_event(t0, "busy", agent="w"))
    guard.event(_event(t0 + 20, "idle", agent="w"))
    assert guard.deadline() is None  # idle time does not count
    guard.event(_event(t0 + 100, "busy", agent="w"))
    assert guard.deadline() == pytest.approx(t0 + 110)
    guard.tick(t0 + 109)
    assert _notes(fleet) == []
    guard.tick(t0 + 110)
    assert "max_duration: worked 30s of 30s" in _notes(fleet)[0]
    assert guard.deadline() is None  # fired: no more wake-ups for it


# -- limits: agents in tmux (fake agents, the monitor) ------------------------------------


def _records(env: Env, who: str) -> list[str]:
    path = env.tmp / f"{who}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text().splitlines() if line]


def _config(env: Env, **limits: Any) -> None:
    config = base_config(env.tmp)
    for who in ("boss", "worker"):  # one record file each
        fake = dict(config["agents"]["fake"])
        fake["args"] = ["--record", str(env.tmp / f"{who}.jsonl")]
        config["agents"][who] = fake
    config["limits"] = limits
    env.write_config(config)


def _violations(env: Env, name: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = env.json("status", name)["violations"]
    return result


def test_max_turns_interrupts_the_turn_over_the_cap(env: Env) -> None:
    _config(env)
    env.spawn_ready("boss", "--agent", "boss")
    env.spawn_ready("worker", "--agent", "worker", "--parent", "boss", "--max-turns", "1")
    env.ok("send", "worker", "first", "--wait", "--timeout", "30")
    env.ok("send", "worker", "sleep 60")
    (violation,) = retry_until(lambda: _violations(env, "worker"), message="a violation")
    assert (violation["limit"], violation["value"], violation["cap"]) == ("max_turns", 2, 1)
    retry_until(lambda: "Interrupted" in env.ok("output", "worker"), message="interrupted")
    env.ok("wait", "worker", "--until", "idle", "--timeout", "30")
    note = retry_until(lambda: [r for r in _records(env, "boss") if "safety net" in r])
    assert "child worker was interrupted by the safety net: max_turns" in note[0]
    assert _records(env, "worker") == ["first", "sleep 60"]
    events = [e["event"] for e in map(json.loads, env.ok("events", "--json").splitlines())]
    assert events.count("violation") == 1


def test_max_duration_of_work_kills_when_configured(env: Env) -> None:
    _config(env, on_breach="kill")
    env.spawn_ready("worker", "--agent", "worker", "--max-duration", "1.5")
    env.ok("send", "worker", "sleep 0.3", "--wait", "--timeout", "30")
    env.ok("send", "worker", "sleep 60")
    env.ok("send", "worker", "queued behind it")
    status = retry_until(
        lambda: (s := env.json("status", "worker"))["state"] == "exited" and s,
        timeout=30,
        message="killed for its work time",
    )
    (violation,) = status["violations"]
    assert (violation["limit"], violation["action"]) == ("max_duration", "kill")
    assert violation["value"] >= 1.5
    assert _records(env, "worker") == ["sleep 0.3", "sleep 60"]
    with open_store(env.home) as store:
        assert [m.status for m in store.messages("worker")][-1] == "failed"
