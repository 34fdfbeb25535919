"""setup: the MCP server in .mcp.json / .claude.json and the guide in CLAUDE.md,
merged, idempotent, and taken out again by --uninstall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tmuxorch.claude import setup
from tmuxorch.surfaces.cli import cli

ENTRY = setup.server_entry()
THEIRS: dict[str, Any] = {
    "mcpServers": {"github": {"type": "stdio", "command": "gh-mcp", "args": ["serve"]}},
    "other": {"keep": [1, 2]},
}
# (id, .mcp.json before, .mcp.json after uninstall: None = no file)
STARTS = [
    ("no file", None, None),
    ("empty object", {}, None),
    ("other servers and keys", THEIRS, THEIRS),
    ("stale tmuxorch entry", {"mcpServers": {"tmuxorch": {"command": "/old/tmuxorch"}}}, None),
]


def run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str, input: str | None = None
) -> Result:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["setup", *args], input=input)
    assert result.exit_code == 0, result.output
    return result


def read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


@pytest.mark.parametrize(("before", "after"), [s[1:] for s in STARTS], ids=[s[0] for s in STARTS])
def test_project_merges_is_idempotent_and_uninstalls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: Any, after: Any
) -> None:
    path = tmp_path / ".mcp.json"
    if before is not None:
        path.write_text(json.dumps(before))
    out = run(tmp_path, monkeypatch, "--project").output
    assert str(path) in out
    data = read(path)
    assert data["mcpServers"]["tmuxorch"] == ENTRY
    for key, value in (before or {}).items():
        if key != "mcpServers":
            assert data[key] == value
    for name, server in (before or {}).get("mcpServers", {}).items():
        if name != "tmuxorch":
            assert data["mcpServers"][name] == server
    backups = [read(b) for b in tmp_path.glob(".mcp.json.*.bak")]
    assert backups == ([] if before is None else [before])
    assert "already has the tmuxorch MCP server" in run(tmp_path, monkeypatch).output
    assert read(path) == data
    assert not (tmp_path / "CLAUDE.md").exists()  # no --guide, no guide
    run(tmp_path, monkeypatch, "--uninstall")
    assert read(path) == after
    assert not (tmp_path / ".claude" / "settings.local.json").exists()


def test_project_server_approved_in_local_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else Claude Code holds every new session on an approval dialog."""
    local = tmp_path / ".claude" / "settings.local.json"
    local.parent.mkdir()
    theirs = {"enabledMcpjsonServers": ["github"], "permissions": {"allow": ["Bash(ls:*)"]}}
    local.write_text(json.dumps(theirs))
    run(tmp_path, monkeypatch, "--project")
    run(tmp_path, monkeypatch, "--project")
    assert read(local) == {**theirs, "enabledMcpjsonServers": ["github", "tmuxorch"]}
    run(tmp_path, monkeypatch, "--uninstall")
    assert read(local) == theirs


def test_entry_runs_this_tmuxorch_mcp() -> None:
    assert Path(ENTRY["command"]).is_absolute()
    assert ENTRY["args"][-1] == "mcp"


GUIDE_STARTS = [("no file", None), ("notes", "# Project\n\nUse tabs.\n")]


@pytest.mark.parametrize("before", [g[1] for g in GUIDE_STARTS], ids=[g[0] for g in GUIDE_STARTS])
def test_guide_added_once_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str | None
) -> None:
    path = tmp_path / "CLAUDE.md"
    if before is not None:
        path.write_text(before)
    run(tmp_path, monkeypatch, "--project", "--guide")
    run(tmp_path, monkeypatch, "--project", "--guide")
    text = path.read_text()
    assert text.startswith(before or setup.GUIDE_BEGIN)
    assert text.count(setup.GUIDE_BEGIN) == 1 and text.count(setup.GUIDE_END) == 1
    assert setup.guide_text().strip() in text
    run(tmp_path, monkeypatch, "--uninstall")
    assert (path.read_text() if path.exists() else None) == before
    assert not (tmp_path / ".mcp.json").exists()


def test_a_changed_guide_replaces_the_block(tmp_path: Path) -> None:
    path = tmp_path / "CLAUDE.md"
    path.write_text("# Mine\n")
    assert setup.install_guide(path, "old guide").action == "added"
    change = setup.install_guide(path, "new guide")
    assert change.action == "updated" and change.backup is not None
    assert path.read_text() == f"# Mine\n\n{setup.GUIDE_BEGIN}\nnew guide\n{setup.GUIDE_END}\n"
    assert setup.install_guide(path, "new guide").action == "unchanged"


def test_user_scope_merges_into_claude_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "claude-config"
    config.mkdir()
    claude_json = config / ".claude.json"
    original = {"numStartups": 3, "projects": {"/x": {"allowedTools": []}}, **THEIRS}
    claude_json.write_text(json.dumps(original))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    run(tmp_path, monkeypatch, "--user", "--guide")
    data = read(claude_json)
    assert data["mcpServers"] == {**THEIRS["mcpServers"], "tmuxorch": ENTRY}
    assert data["projects"] == original["projects"]
    assert setup.GUIDE_BEGIN in (config / "CLAUDE.md").read_text()
    assert not (tmp_path / ".mcp.json").exists()
    run(tmp_path, monkeypatch, "--user", "--uninstall")
    assert read(claude_json) == original
    assert not (config / "CLAUDE.md").exists()


TARGETS = [
    ("project", "project", {}, ".mcp.json", "CLAUDE.md", ".claude/settings.local.json"),
    ("user, config dir", "user", {"CLAUDE_CONFIG_DIR": "cfg"}, "cfg/.claude.json",
     "cfg/CLAUDE.md", None),
    ("user, home", "user", {"HOME": "home"}, "home/.claude.json", "home/.claude/CLAUDE.md",
     None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "environ", "mcp_json", "claude_md", "approval"),
    [t[1:] for t in TARGETS],
    ids=[t[0] for t in TARGETS],
)
def test_targets(
    tmp_path: Path,
    scope: setup.Scope,
    environ: dict[str, str],
    mcp_json: str,
    claude_md: str,
    approval: str | None,
) -> None:
    environ = {k: str(tmp_path / v) for k, v in environ.items()}
    where = setup.target(scope, tmp_path, environ)
    assert (where.mcp_json, where.claude_md) == (tmp_path / mcp_json, tmp_path / claude_md)
    assert where.approval == (tmp_path / approval if approval else None)


def test_interactive_asks_scope_and_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setattr("tmuxorch.surfaces.cli.setup._interactive", lambda: True)
    out = run(tmp_path, monkeypatch, input="user\ny\n").output
    assert "(.mcp.json) or for your user?" in out and "strategy guide" in out
    assert read(tmp_path / "cfg" / ".claude.json")["mcpServers"]["tmuxorch"] == ENTRY
    assert (tmp_path / "cfg" / "CLAUDE.md").exists()


def test_bad_json_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".mcp.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["setup", "--project"])
    assert result.exit_code == 1
    assert "cannot read MCP config" in result.output and "Traceback" not in result.output
    assert (tmp_path / ".mcp.json").read_text() == "{not json"
