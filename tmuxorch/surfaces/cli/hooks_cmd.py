"""``hooks install`` / ``hooks show``: tmuxorch's hooks in Claude Code's own
settings, for Claude sessions started by hand (agents tmuxorch spawns get
them from a generated ``--settings`` file and need none of this).

Installing merges: every existing key and hook stays, an entry already there
(same event, same command) is not added twice, and the old file is kept as a
timestamped backup next to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from tmuxorch.core.errors import ConfigError
from tmuxorch.surfaces.cli.common import CliError, CliUsage, fleet, handle_errors

Settings = dict[str, Any]


def settings_path(project: str | None, user: bool) -> Path:
    if project is not None and user:
        raise CliUsage("choose one of --project DIR and --user")
    if user:
        base = os.environ.get("CLAUDE_CONFIG_DIR") or str(Path.home() / ".claude")
        return Path(base).expanduser() / "settings.json"
    directory = Path(project or ".").expanduser()
    if not directory.is_dir():
        # A typo must not become a new directory tree holding a settings file.
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise CliError(f"--project {directory} {problem}")
    return directory.resolve() / ".claude" / "settings.json"


def read_settings(path: Path) -> Settings:
    from tmuxorch.claude.setup import read_json_object

    data = read_json_object(path, "Claude settings")
    hooks = data.get("hooks", {})
    if not isinstance(hooks, dict) or not all(isinstance(v, list) for v in hooks.values()):
        raise ConfigError(f'Claude settings {path}: "hooks" is not a mapping of event to list')
    return data


def _commands(entries: list[Any]) -> set[Any]:
    return {
        hook.get("command")
        for entry in entries
        if isinstance(entry, dict)
        for hook in entry.get("hooks", [])
        if isinstance(hook, dict)
    }


def merge(current: Settings, wanted: Settings) -> tuple[Settings, Settings]:
    """``current`` plus every hook entry of ``wanted`` whose command it lacks
    for that event; returns ``(merged, what was added)``. An entry of ours
    whose matcher has since grown (auto-lock now also reads Bash) is updated."""
    merged = json.loads(json.dumps(current))  # a deep copy; current stays as read
    hooks = merged.setdefault("hooks", {})
    added: dict[str, list[Any]] = {}
    for event, entries in wanted["hooks"].items():
        have = hooks.setdefault(event, [])
        for entry in entries:
            ours = {h["command"] for h in entry["hooks"]}
            if not ours <= _commands(have):
                have.append(entry)
                added.setdefault(event, []).append(entry)
                continue
            for old in have:
                if (
                    isinstance(old, dict)
                    and _commands([old]) & ours
                    and old.get("matcher") != entry.get("matcher")
                ):
                    old["matcher"] = entry.get("matcher")
                    added.setdefault(event, []).append(entry)
    return merged, {"hooks": added} if added else {}


def _wanted() -> Settings:
    from tmuxorch.claude.launch import executable, hook_settings

    return hook_settings(executable(), lock_timeout=fleet().config.locks.wait)


@click.group()
def hooks() -> None:
    """Claude Code hooks for sessions started by hand."""


project_option = click.option(
    "--project",
    metavar="DIR",
    help="DIR/.claude/settings.json (the default, with DIR = here).",
)
user_option = click.option("--user", is_flag=True, help="Your user settings (~/.claude).")


@hooks.command()
@project_option
@user_option
@handle_errors
def install(project: str | None, user: bool) -> None:
    """Merge tmuxorch's hooks into Claude Code's settings.json."""
    path = settings_path(project, user)
    merged, added = merge(read_settings(path), _wanted())
    fleet().store  # noqa: B018 -- create the fleet home, so hand-started sessions serialise
    if not added:
        click.echo(f"{path} already has tmuxorch's hooks")
        return
    from tmuxorch.claude.setup import write_json

    backup = write_json(path, merged)
    count = sum(len(entries) for entries in added["hooks"].values())
    click.echo(f"added {count} hooks to {path}" + (f" (backup: {backup})" if backup else ""))


@hooks.command()
@project_option
@user_option
@handle_errors
def show(project: str | None, user: bool) -> None:
    """Print the hooks that install would add (nothing if they are all there)."""
    _, added = merge(read_settings(settings_path(project, user)), _wanted())
    click.echo(json.dumps(added, indent=2, ensure_ascii=False))
