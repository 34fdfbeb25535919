"""hooks install / show: merge into Claude Code's settings.json, never clobber."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from tmuxorch.claude.launch import HOOK_EVENTS, executable, hook_settings
from tmuxorch.core.config import LockSettings

# What install adds: the generated hooks, sized for the default locks.wait.
WANTED = hook_settings(executable(), lock_timeout=LockSettings().wait)
COUNT = sum(len(entries) for entries in WANTED["hooks"].values())

THEIRS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
}
STARTS = [("no file", None), ("empty object", {}), ("existing settings and hooks", THEIRS)]


def commands(settings: dict[str, Any], event: str) -> list[str]:
    return [h["command"] for e in settings["hooks"].get(event, []) for h in e["hooks"]]


@pytest.mark.parametrize("start", [s[1] for s in STARTS], ids=[s[0] for s in STARTS])
def test_install_merges_keeps_everything_and_is_idempotent(
    env: Env, tmp_path: Path, start: dict[str, Any] | None
) -> None:
    path = tmp_path / "proj" / ".claude" / "settings.json"
    path.parent.mkdir(parents=True)
    if start is not None:
        path.write_text(json.dumps(start))
    out = env.ok("hooks", "install", "--project", str(tmp_path / "proj"))
    assert f"added {COUNT} hooks to {path}" in out
    settings = json.loads(path.read_text())
    for key, value in (start or {}).items():
        if key != "hooks":
            assert settings[key] == value
    for event, entries in (start or {}).get("hooks", {}).items():
        assert settings["hooks"][event][: len(entries)] == entries  # theirs first, unchanged
    exe = executable()
    assert f"{exe} auto-lock" in commands(settings, "PreToolUse")
    for event in HOOK_EVENTS:
        assert f"{exe} hook {event}" in commands(settings, event)
    backups = list(path.parent.glob("settings.json.*.bak"))
    assert [json.loads(b.read_text()) for b in backups] == ([start] if start is not None else [])
    again = env.ok("hooks", "install", "--project", str(tmp_path / "proj"))
    assert "already has tmuxorch's hooks" in again
    assert json.loads(path.read_text()) == settings
    assert (env.home / "state.db").exists()  # hand-started sessions now have a fleet to use


def test_install_widens_an_older_auto_lock_matcher(env: Env, tmp_path: Path) -> None:
    """Settings from a tmuxorch whose auto-lock skipped Bash are brought up to date."""
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir(parents=True)
    older = json.loads(json.dumps(WANTED))
    (lock_entry,) = [
        e for e in older["hooks"]["PreToolUse"] if e.get("matcher", "").endswith("|Bash")
    ]
    lock_entry["matcher"] = "Write|Edit|MultiEdit|NotebookEdit"
    path.write_text(json.dumps(older))
    assert "added 1 hooks" in env.ok("hooks", "install", "--project", str(tmp_path))
    assert json.loads(path.read_text()) == WANTED
    assert "already has tmuxorch's hooks" in env.ok("hooks", "install", "--project", str(tmp_path))


def test_show_prints_only_what_is_missing(env: Env, tmp_path: Path) -> None:
    assert json.loads(env.ok("hooks", "show", "--project", str(tmp_path))) == WANTED
    env.ok("hooks", "install", "--project", str(tmp_path))
    assert json.loads(env.ok("hooks", "show", "--project", str(tmp_path))) == {}


def test_user_settings_follow_claude_config_dir(env: Env, tmp_path: Path) -> None:
    config_dir = tmp_path / "claude-config"
    env.ok("hooks", "install", "--user", env={"CLAUDE_CONFIG_DIR": str(config_dir)})
    assert "auto-lock" in (config_dir / "settings.json").read_text()


BAD = [
    ("not json", "{", "cannot read Claude settings"),
    ("not an object", "[]", "is not a JSON object"),
    ("hooks not a mapping", '{"hooks": []}', '"hooks" is not a mapping'),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_unreadable_settings_are_left_alone(
    env: Env, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(text)
    proc = env.cli("hooks", "install", "--project", str(tmp_path))
    assert proc.returncode == 1 and message in proc.stderr and proc.stderr.count("\n") == 1
    assert path.read_text() == text


def test_project_and_user_together_is_a_usage_error(env: Env) -> None:
    assert env.cli("hooks", "install", "--project", ".", "--user").returncode == 2


def test_repo_snippet_matches_the_generated_hooks() -> None:
    snippet = Path(__file__).parent.parent / "hooks" / "settings.json"
    assert json.loads(snippet.read_text()) == hook_settings(
        "tmuxorch", lock_timeout=LockSettings().wait
    )
