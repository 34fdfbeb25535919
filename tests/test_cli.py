"""The CLI surface: help on every command, and one clear line for every expected failure."""

from __future__ import annotations

import ast
import contextlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import tmuxorch.surfaces.cli
from tests.conftest import Env
from tests.helpers import HOST, agent_row, entry_probe
from tmuxorch.fleet import monitorproc
from tmuxorch.store.opening import open_store
from tmuxorch.surfaces.cli import COMMANDS, HIDDEN_ALIASES, SUMMARIES, cli


@pytest.mark.parametrize("name", sorted(COMMANDS), ids=sorted(COMMANDS))
def test_help_on_every_command(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_every_command_has_a_summary() -> None:
    assert set(COMMANDS) - HIDDEN_ALIASES == set(SUMMARIES)


def test_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {
        line.split()[0]
        for line in result.output.split("Commands:", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("   ")
    }
    assert listed == set(COMMANDS) - HIDDEN_ALIASES


def test_every_command_defined_is_in_the_lazy_table() -> None:
    """A command written in a module under surfaces/cli but left out of the
    table would never load."""
    package = Path(tmuxorch.surfaces.cli.__file__).parent
    defined: dict[str, str | None] = {}  # "module:attribute" -> command name
    for source in sorted(package.glob("[!_]*.py")):
        module = importlib.import_module(f"tmuxorch.surfaces.cli.{source.stem}")
        commands = {a: v for a, v in vars(module).items() if isinstance(v, click.Command)}
        # A group's subcommands (hooks install, ...) load with their group.
        grouped = {id(c) for g in commands.values() if isinstance(g, click.Group)
                   for c in g.commands.values()}  # fmt: skip
        for attr, command in commands.items():
            if command.callback.__module__ == module.__name__ and id(command) not in grouped:
                defined[f"{source.stem}:{attr}"] = command.name
    assert set(defined) == set(COMMANDS.values())
    assert all(COMMANDS[name] == target for target, name in defined.items() if name)


# What ``list --json`` reads the fleet without: the monitor's, the dashboard's
# and a spawn's libraries (uuid among them), pyyaml once config.yaml is cached,
# click (entry's click-free path), and logging and dataclasses (imports that
# cost milliseconds); while the monitor runs, tmux too (it marks dead panes).
NOT_FOR_LIST = {
    "yaml", "libtmux", "rich", "watchdog", "mcp", "tmuxorch.fleet.delivery",
    "tmuxorch.fleet.worktrees", "tmuxorch.claude", "tmuxorch.daemon", "click", "logging",
    "dataclasses", "uuid", "platform", "tmuxorch.fleet.launching", "tmuxorch.fleet.sessions",
    "tmuxorch.tmux.strays",
}  # fmt: skip
# Asking tmux, and freeing the locks of the agents it finds ended.
NOT_WHILE_MONITORED = {"subprocess", "shutil", "signal", "tmuxorch.locks"}
PROBE = entry_probe("sorted(sys.modules)")


@pytest.mark.parametrize("monitored", [False, True], ids=["no monitor", "monitor runs"])
def test_list_json_imports_only_what_it_reads(tmp_path: Path, monitored: bool) -> None:
    home, config = tmp_path / "home", tmp_path / "config.yaml"
    with open_store(home) as store:
        store.insert_agent(agent_row("a1", pane_id="%0"))  # a pane to look for
    monitor = monitorproc.single_instance(home, HOST) if monitored else contextlib.nullcontext()
    config.write_text("locks:\n  wait: 1.5\n")
    environ = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMUXORCH_HOME": str(home),
        "TMUXORCH_CONFIG": str(config), "TMUXORCH_SOCKET": f"list-probe-{os.getpid()}",
    }  # fmt: skip
    with monitor:  # its lock held here, as a running monitor holds it
        for _ in range(2):  # the first reads config.yaml and caches it
            proc = subprocess.run(
                [sys.executable, "-c", PROBE, "list", "--json"],
                env=environ, capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
    assert [a["name"] for a in json.loads(proc.stdout)] == ["a1"]
    loaded = set(ast.literal_eval(proc.stderr.splitlines()[-1]))
    assert "tmuxorch.fleet.views" in loaded  # the probe saw the command's imports
    tops = {".".join(m.split(".")[:i]) for m in loaded for i in range(1, m.count(".") + 2)}
    assert sorted(tops & (NOT_FOR_LIST | (NOT_WHILE_MONITORED if monitored else set()))) == []
    # Without a monitor it asks tmux whether the panes still live.
    assert ("subprocess" in loaded) is not monitored


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and "tmuxorch, version" in result.output


BAD_NAMES = ["a;b", "$(touch x)", "with space", "..", "../up", "-dash", "", "x" * 65, "a/b", "é"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_bad_names_refused_before_tmux(env: Env, name: str) -> None:
    proc = env.cli("spawn", "--", name) if name.startswith("-") else env.cli("spawn", name)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "invalid agent name" in proc.stderr
    assert not (env.home / "state.db").exists() or env.json("list") == []
    assert not env.fleet().tmux.is_alive()


ERRORS = [
    ("unknown agent", ["status", "ghost"], "no agent named 'ghost'"),
    ("unknown profile", ["spawn", "x", "--agent", "nope"], "unknown agent profile 'nope'"),
    ("cwd not a dir", ["spawn", "x", "--cwd", "/nonexistent/dir"], "is not a directory"),
    ("not installed", ["spawn", "x", "--agent", "missing"], "is not installed: install it with"),
    (
        "claude hint",
        ["spawn", "x", "--agent", "claude"],
        "npm install -g @anthropic-ai/claude-code",
    ),
    ("bad env", ["spawn", "x", "--env", "NOPE"], "invalid --env"),
    ("model on shell", ["spawn", "x", "--model", "m"], "--model does not apply"),
    ("send to ghost", ["send", "ghost", "hi"], "no agent named 'ghost'"),
    ("kill ghost", ["kill", "ghost"], "no agent named 'ghost'"),
    ("rm ghost", ["rm", "ghost"], "no agent named 'ghost'"),
    ("output ghost", ["output", "ghost"], "no agent named 'ghost'"),
]


@pytest.mark.parametrize(("args", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_expected_failures_are_one_line(env: Env, args: list[str], message: str) -> None:
    config = {
        "default_agent": "shell",
        "agents": {
            "missing": {
                "command": "definitely-not-installed-xyz",
                "install": "apt-get install xyz",
            },
            "claude": {"command": "claude-not-here-xyz"},
            "shell": {"command": "/bin/sh"},
        },
    }
    env.write_config(config)
    proc = env.cli(*args)
    assert proc.returncode == 1, proc
    assert proc.stderr.startswith("tmuxorch: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing half-created: no agent row, no tmux server with an orphan window.
    assert env.json("list") == []
    assert not env.fleet().tmux.is_alive()


def test_broken_config_is_one_line(env: Env) -> None:
    env.config_path.write_text("locks:\n  wait: [\n")
    proc = env.cli("list")
    assert proc.returncode == 1
    assert "is not valid YAML" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_config_named_by_env_is_an_error(env: Env) -> None:
    proc = env.cli("list", env={"TMUXORCH_CONFIG": str(env.tmp / "nope.yaml")})
    assert proc.returncode == 1 and "does not exist" in proc.stderr


def test_tmux_missing(env: Env) -> None:
    proc = env.cli("spawn", "x", env={"PATH": "/nonexistent"})
    assert proc.returncode == 1
    assert "tmux is not installed" in proc.stderr or "not installed" in proc.stderr


def test_empty_message_refused(env: Env) -> None:
    env.ok("spawn", "a")
    proc = env.cli("send", "a", "   ")
    assert proc.returncode == 1 and "empty message" in proc.stderr


def test_bad_stdin_refused(env: Env) -> None:
    env.ok("spawn", "a")
    proc = env.cli("send", "a", "-", input=b"\xff\xfe bad")
    assert proc.returncode == 1 and "not UTF-8" in proc.stderr


NOT_FINITE = [
    ("wait-timeout-nan", ["wait", "a1", "--timeout", "nan"]),
    ("spawn-max-cost-inf", ["spawn", "a1", "--max-cost", "inf"]),
    ("spawn-max-duration-nan", ["spawn", "a1", "--max-duration", "nan"]),
    ("lock-wait-nan", ["lock", "--wait", "nan"]),
    ("delegate-timeout-inf", ["delegate", "d1", "task", "--timeout", "inf"]),
    ("batch-timeout-nan", ["batch", "tasks.yaml", "--timeout", "nan"]),
]


@pytest.mark.parametrize("args", [r[1] for r in NOT_FINITE], ids=[r[0] for r in NOT_FINITE])
def test_amounts_must_be_finite(args: list[str]) -> None:
    """``nan`` passes a range check and ``inf`` overflows a wait: both are
    refused as usage errors before anything runs."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "is not a finite number" in result.output
