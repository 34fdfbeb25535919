"""``tmuxorch setup``: register the MCP server with Claude Code, add the strategy guide.

Project scope writes ``.mcp.json`` and ``CLAUDE.md`` in the project
directory, and approves the server in the project's personal
``.claude/settings.local.json`` (``enabledMcpjsonServers``): Claude Code
otherwise holds a new session on a dialog until someone approves the
project's server, and an agent tmuxorch spawns there would never start.
User scope writes the top-level ``mcpServers`` of Claude Code's global
``.claude.json`` (``$CLAUDE_CONFIG_DIR/.claude.json``, else
``~/.claude.json``) and ``CLAUDE.md`` in its config directory
(``$CLAUDE_CONFIG_DIR``, else ``~/.claude``).

Every change merges with what is there and is idempotent: other servers and
keys stay as they are, a second run changes nothing, the file replaced is
kept as a timestamped backup next to it, and uninstalling takes out exactly
what was added (a file that held only that is removed).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tmuxorch.claude.launch import executable
from tmuxorch.core.errors import ConfigError

SERVER = "tmuxorch"
GUIDE_BEGIN = "<!-- tmuxorch:guide (added by `tmuxorch setup --guide`; removed by --uninstall) -->"
GUIDE_END = "<!-- /tmuxorch:guide -->"
# The block with the blank lines before it; the begin line's comment text may change.
_GUIDE_BLOCK = re.compile(r"\n*<!-- tmuxorch:guide\b[^\n]*\n.*?<!-- /tmuxorch:guide -->\n?", re.S)

Scope = Literal["project", "user"]
Action = Literal["added", "updated", "unchanged", "removed", "absent"]


@dataclass(frozen=True)
class Target:
    """Where one scope's MCP registration and guide live."""

    scope: Scope
    mcp_json: Path
    claude_md: Path
    approval: Path | None = None  # project scope: where the server is approved


@dataclass(frozen=True)
class Change:
    """What one step did to one file."""

    path: Path
    action: Action
    backup: Path | None = None


def target(scope: Scope, project: Path, environ: Mapping[str, str] = os.environ) -> Target:
    if scope == "project":
        approval = project / ".claude" / "settings.local.json"
        return Target(scope, project / ".mcp.json", project / "CLAUDE.md", approval)
    config_dir = environ.get("CLAUDE_CONFIG_DIR")
    if config_dir:
        base = Path(config_dir).expanduser()
        return Target(scope, base / ".claude.json", base / "CLAUDE.md")
    home = Path(environ.get("HOME") or Path.home())
    return Target(scope, home / ".claude.json", home / ".claude" / "CLAUDE.md")


def server_entry() -> dict[str, Any]:
    """The ``mcpServers`` entry: this tmuxorch by absolute path, ``mcp`` as argument."""
    argv = shlex.split(executable())
    return {"type": "stdio", "command": argv[0], "args": [*argv[1:], "mcp"]}


# -- files ---------------------------------------------------------------------------


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path`` ({} when there is no file)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} is not a JSON object")
    return data


def _backup(path: Path) -> Path | None:
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.{stamp}.bak")
    for n in range(1, 1000):
        if not backup.exists():
            break
        backup = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    shutil.copy2(path, backup)
    return backup


def write_text(path: Path, text: str) -> Path | None:
    """Replace ``path`` atomically, keeping its mode; returns the backup of the old file."""
    tmp = path.with_name(f".{path.name}.tmuxorch.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backup = _backup(path)
        tmp.write_text(text, encoding="utf-8")
        if backup is not None:
            shutil.copymode(backup, tmp)
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc
    return backup


def write_json(path: Path, data: dict[str, Any]) -> Path | None:
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _remove(path: Path) -> None:
    """Delete a file that held only what tmuxorch put there (no backup needed)."""
    path.unlink()


# -- the MCP server entry ------------------------------------------------------------------


def _taken_out(path: Path, data: dict[str, Any], key: str, *, remove_empty: bool) -> Change:
    """Save ``data`` once tmuxorch's item left ``data[key]``: a ``key`` left empty
    goes, and with ``remove_empty`` so does a file left empty."""
    if not data[key]:
        del data[key]
    if remove_empty and not data:
        _remove(path)
        return Change(path, "removed")
    return Change(path, "removed", write_json(path, data))


def _servers(data: dict[str, Any], path: Path) -> dict[str, Any]:
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise ConfigError(f'{path}: "mcpServers" is not a JSON object')
    return servers


def install_server(path: Path) -> Change:
    data = read_json_object(path, "MCP config")
    servers = _servers(data, path)
    entry = server_entry()
    if servers.get(SERVER) == entry:
        return Change(path, "unchanged")
    action: Action = "updated" if SERVER in servers else "added"
    servers[SERVER] = entry
    return Change(path, action, write_json(path, data))


def uninstall_server(path: Path, *, remove_empty: bool) -> Change:
    """Take tmuxorch's entry out; with ``remove_empty``, a file left empty goes."""
    data = read_json_object(path, "MCP config")
    servers = _servers(data, path)
    if SERVER not in servers:
        return Change(path, "absent")
    del servers[SERVER]
    return _taken_out(path, data, "mcpServers", remove_empty=remove_empty)


def _enabled(data: dict[str, Any], path: Path) -> list[Any]:
    enabled = data.setdefault("enabledMcpjsonServers", [])
    if not isinstance(enabled, list):
        raise ConfigError(f'{path}: "enabledMcpjsonServers" is not a list')
    return enabled


def approve_server(path: Path) -> Change:
    data = read_json_object(path, "Claude settings")
    enabled = _enabled(data, path)
    if SERVER in enabled:
        return Change(path, "unchanged")
    enabled.append(SERVER)
    return Change(path, "added", write_json(path, data))


def unapprove_server(path: Path) -> Change:
    data = read_json_object(path, "Claude settings")
    enabled = _enabled(data, path)
    if SERVER not in enabled:
        return Change(path, "absent")
    enabled.remove(SERVER)
    return _taken_out(path, data, "enabledMcpjsonServers", remove_empty=True)


# -- the strategy guide in CLAUDE.md ---------------------------------------------------------


def guide_text() -> str:
    """docs/strategy.md, shipped in the package as tmuxorch/claude/strategy.md."""
    for path in (
        Path(__file__).with_name("strategy.md"),
        Path(__file__).parents[2] / "docs" / "strategy.md",
    ):
        if path.is_file():
            return path.read_text(encoding="utf-8").strip() + "\n"
    raise ConfigError("the strategy guide (strategy.md) is missing from this installation")


def _block(text: str) -> str:
    return f"{GUIDE_BEGIN}\n{text.rstrip()}\n{GUIDE_END}\n"


def install_guide(path: Path, text: str) -> Change:
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    block = _block(text)
    match = _GUIDE_BLOCK.search(current)
    if match is None:
        before = current.rstrip("\n")
        updated = f"{before}\n\n{block}" if before.strip() else block
        return Change(path, "added", write_text(path, updated))
    separator = "\n\n" if match.start() > 0 else ""
    updated = current[: match.start()] + separator + block + current[match.end() :]
    if updated == current:
        return Change(path, "unchanged")
    return Change(path, "updated", write_text(path, updated))


def uninstall_guide(path: Path) -> Change:
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    match = _GUIDE_BLOCK.search(current)
    if match is None:
        return Change(path, "absent")
    before, after = current[: match.start()], current[match.end() :].lstrip("\n")
    if not before.strip() and not after.strip():
        _remove(path)
        return Change(path, "removed")
    if not after:
        rest = before + "\n"
    elif not before.strip():
        rest = after
    else:
        rest = f"{before}\n\n{after}"
    return Change(path, "removed", write_text(path, rest))


# -- both ----------------------------------------------------------------------------------


def install(where: Target, *, guide: bool) -> list[Change]:
    changes = [install_server(where.mcp_json)]
    if where.approval is not None:
        changes.append(approve_server(where.approval))
    if guide:
        changes.append(install_guide(where.claude_md, guide_text()))
    return changes


def uninstall(where: Target) -> list[Change]:
    # Claude Code's own .claude.json is never removed, even if it ends up empty.
    changes = [uninstall_server(where.mcp_json, remove_empty=where.scope == "project")]
    if where.approval is not None:
        changes.append(unapprove_server(where.approval))
    return [*changes, uninstall_guide(where.claude_md)]
