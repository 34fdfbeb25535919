"""The lean hook path: what Claude's hook commands import, and protect's globs.

Claude runs ``tmuxorch auto-lock`` and ``tmuxorch hook EVENT`` as a new
Python for every tool call; Python's start-up plus json and sqlite3 is their
floor (bench/hooks.py has the figures). These tests pin what they load, not
how long it takes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

from tests.helpers import agent_row
from tmuxorch.locks.protect import glob_match
from tmuxorch.store.opening import open_store

REPO = Path(__file__).resolve().parent.parent

# Never on a hook's path: the CLI's and the monitor's libraries, typing, and
# what dataclasses and pathlib bring (inspect, ast, urllib.parse), which cost
# more than the hook's own work.
HEAVY = {
    "click", "yaml", "libtmux", "rich", "watchdog", "mcp", "fastapi", "uvicorn", "starlette",
    "apprise", "typing", "dataclasses",
    "inspect", "ast", "dis", "tokenize", "pathlib", "urllib", "ipaddress", "fnmatch", "logging",
    "tmuxorch.core.config", "tmuxorch.surfaces.cli", "tmuxorch.tmux", "tmuxorch.fleet",
}  # fmt: skip
# A Bash command that writes nothing is decided without the store.
STORE = {
    "sqlite3",
    "tmuxorch.store",
    "tmuxorch.core.records",
    "tmuxorch.locks.acquisition",
    "tmuxorch.locks.wakeups",
}

# What the hook loads after start-up; -S: no site, so no editable-install
# finder (which imports pathlib) stands in for what Claude's start-up loads.
PROBE = (
    "import sys; before = set(sys.modules)\n"
    "from tmuxorch.entry import main\n"
    "code = main(sys.argv[1:])\n"
    "loaded = sorted(set(sys.modules) - before)\n"
    "import json; print(json.dumps(loaded), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _call(tool: str, tool_input: dict[str, str], cwd: Path) -> bytes:
    payload = {"session_id": "s", "cwd": str(cwd), "hook_event_name": "PreToolUse",
               "tool_name": tool, "tool_input": tool_input}  # fmt: skip
    return json.dumps(payload).encode()


# (id, command, tool call or None for a Stop payload, a config file?, banned beyond HEAVY)
CALLS = [
    ("auto-lock write", "auto-lock", ("Write", {"file_path": "f.txt"}), True, set()),
    ("auto-lock write, no config file", "auto-lock", ("Write", {"file_path": "f.txt"}), False,
     set()),
    ("auto-lock protected write", "auto-lock", ("Write", {"file_path": ".env"}), True, set()),
    ("auto-lock bash read", "auto-lock", ("Bash", {"command": "git status && ls"}), True,
     STORE),
    ("auto-lock bash write", "auto-lock", ("Bash", {"command": "make > out.log"}), True, set()),
    ("hook PreToolUse", "hook PreToolUse", ("Write", {"file_path": "f.txt"}), True, set()),
    ("hook Stop", "hook Stop", None, True, set()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "call", "config", "banned"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS]
)
def test_hook_commands_import_only_what_they_use(
    tmp_path: Path,
    command: str,
    call: tuple[str, dict[str, str]] | None,
    config: bool,
    banned: set[str],
) -> None:
    home, config_file = tmp_path / "home", tmp_path / "config.yaml"
    with open_store(home) as store:
        store.insert_agent(agent_row("a", profile="claude"))
    if config:
        config_file.write_text(yaml.safe_dump({"locks": {"wait": 0.2}}))
    payload = _call(*call, tmp_path) if call else json.dumps({"session_id": "s"}).encode()
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "TMUXORCH_HOME": str(home),
        "TMUXORCH_AGENT": "a",
        **({"TMUXORCH_CONFIG": str(config_file)} if config else {}),
    }
    # The first call reads config.yaml and caches its lock settings (with -S
    # there is no yaml to read it with).
    subprocess.run(
        [sys.executable, "-m", "tmuxorch", *command.split()], input=payload,
        env={k: v for k, v in environ.items() if k != "PYTHONPATH"}, capture_output=True,
        check=True, timeout=60,
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, *command.split()],
        input=payload, env=environ, capture_output=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stderr.decode().splitlines()[-1]))
    assert "tmuxorch.entry" in loaded  # the probe saw the hook's imports
    tops = {name.split(".")[0] for name in loaded}
    assert sorted((loaded | tops) & (HEAVY | banned)) == []


# (name, glob): the fast forms (literal, one star) and those left to fnmatch.
GLOBS = [
    (".env", ".env"), (".env.local", ".env.*"), (".env", ".env.*"), (".envrc", ".env*"),
    ("key.pem", "*.pem"), (".pem", "*.pem"), ("pem", "*.pem"), ("id_rsa.pub", "id_rsa*"),
    ("id_rs", "id_rsa*"), ("ab", "a*b"), ("a", "a*a"), ("aa", "a*a"), ("axxb", "a*b"),
    ("anything", "*"), ("", "*"), ("x.key", "?.key"), ("xy.key", "?.key"),
    ("a1", "a[0-9]"), ("ab", "a[0-9]"), ("a.b.c", "*.*"), ("abc", "*.*"),
    ("Secrets.txt", "secrets.*"), ("a*b", "a*b"), ("a\\b", "a\\b"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "glob"), GLOBS, ids=[f"{n!r}~{g!r}" for n, g in GLOBS])
def test_glob_match_is_fnmatchcase(name: str, glob: str) -> None:
    assert glob_match(name, glob) == fnmatchcase(name, glob)
