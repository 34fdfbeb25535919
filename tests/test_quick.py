"""The click-free paths of ``entry``: ``tmuxorch --help`` and ``list --json``
print the bytes click's group would, with its exit codes, and anything else
(another option, a global option, completion) goes to click."""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env
from tests.helpers import HOST, entry_probe, retry_until
from tmuxorch.fleet import monitorproc

# What the console script would do with click alone (the path before entry's fast ones).
CLICK = (
    "import sys\n"
    "from tmuxorch.surfaces.cli import cli\n"
    "sys.exit(cli.main(args=sys.argv[1:], prog_name='tmuxorch'))\n"
)
PROBE = entry_probe("'click' in sys.modules")


def run(code: str | None, args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``tmuxorch ARGS`` through the entry point (``code`` None) or ``python -c code``."""
    head = ["-m", "tmuxorch"] if code is None else ["-c", code]
    proc = subprocess.run(
        [sys.executable, *head, *args], env=env, capture_output=True, text=True, timeout=60
    )
    return proc.returncode, proc.stdout, proc.stderr


HELP_ARGS = [[], ["--help"], ["-h"]]
# click lays the help out for the terminal's width, between 50 and 78 columns.
WIDTHS = ["200", "81", "80", "79", "60", "53", "52", "51", "40"]


@pytest.mark.parametrize("columns", WIDTHS, ids=[f"COLUMNS={c}" for c in WIDTHS])
@pytest.mark.parametrize("args", HELP_ARGS, ids=[" ".join(a) or "no args" for a in HELP_ARGS])
def test_help_is_clicks(args: list[str], columns: str, tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "COLUMNS": columns}
    fast, slow = run(None, args, env), run(CLICK, args, env)
    assert fast == slow
    assert "Commands:" in (fast[1] or fast[2])


# argv -> whether click decides it (anything but the plain forms).
PATHS = [
    ([], False),
    (["--help"], False),
    (["-h"], False),
    (["list", "--json"], False),
    (["ls", "--json"], False),
    (["list"], True),
    (["--version"], True),
    (["list", "--json", "--help"], True),
    (["--home", "{home}", "list", "--json"], True),
    (["-v", "list", "--json"], True),
    (["--help", "list"], True),
]


@pytest.mark.parametrize(
    ("args", "by_click"), PATHS, ids=[" ".join(a) or "no args" for a, _ in PATHS]
)
def test_which_path(args: list[str], by_click: bool, tmp_path: Path) -> None:
    home = tmp_path / "home"
    argv = [a.format(home=home) for a in args]
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMUXORCH_HOME": str(home),
        "TMUXORCH_SOCKET": f"quick-probe-{os.getpid()}",
    }  # fmt: skip
    _, _, stderr = run(PROBE, argv, env)
    assert ast.literal_eval(stderr.splitlines()[-1]) is by_click


# The process as the console script runs it, telling whether Python's teardown ran.
TEARDOWN = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('torn down', file=sys.stderr))\n"
    "from tmuxorch.entry import main\n"
    "sys.exit(main())\n"
)
# argv, stdin -> whether Python tears the process down (click's paths do).
ENDS = [
    (["hook", "Stop"], "{}", False),
    (["auto-lock"], '{"tool_name": "Write", "tool_input": {"file_path": ".env"}}', False),
    (["--help"], "", False),
    (["list", "--json"], "", False),
    (["list"], "", True),
]


@pytest.mark.parametrize(
    ("args", "stdin", "torn_down"), ENDS, ids=[" ".join(a) for a, _, _ in ENDS]
)
def test_click_free_paths_end_without_teardown(
    args: list[str], stdin: str, torn_down: bool, tmp_path: Path
) -> None:
    """Python's teardown (freeing every module) is a fifth of a hook's CPU;
    what the command printed still arrives whole, with its status."""
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "TMUXORCH_HOME": str(tmp_path / "home"), "TMUXORCH_SOCKET": f"quick-end-{os.getpid()}",
    }  # fmt: skip
    run_as = [sys.executable, "-c", TEARDOWN, *args]
    ended = subprocess.run(run_as, env=env, input=stdin, capture_output=True, text=True)
    as_module = subprocess.run(
        [sys.executable, "-m", "tmuxorch", *args], env=env, input=stdin,
        capture_output=True, text=True,
    )  # fmt: skip
    assert ("torn down" in ended.stderr) is torn_down
    assert (ended.returncode, ended.stdout) == (as_module.returncode, as_module.stdout)


def test_completion_goes_to_click(env: Env) -> None:
    """The completion script runs ``tmuxorch`` with no arguments: not the help."""
    completing = {"_TMUXORCH_COMPLETE": "bash_complete", "COMP_WORDS": "tmuxorch li",
                  "COMP_CWORD": "1"}  # fmt: skip
    proc = env.cli(env=completing)
    assert proc.returncode == 0 and proc.stdout.split() == ["plain,list"]


def test_list_json_is_clicks(env: Env) -> None:
    for name in ("a1", "a2", "a3"):
        env.spawn_ready(name)
    env.ok("kill", "a2")
    env.ok("list", "--json")  # a2's end recorded: the two reads below see one fleet
    env.kill_monitor()
    fast, slow = (run(code, ["list", "--json"], env.environ) for code in (None, CLICK))
    assert fast == slow
    assert fast[0] == 0 and [a["name"] for a in json.loads(fast[1])] == ["a1", "a2", "a3"]


@pytest.mark.parametrize("monitored", [True, False], ids=["monitor runs", "no monitor"])
def test_list_json_shows_a_dead_pane_exited(env: Env, monitored: bool) -> None:
    """While the monitor runs, ``list --json`` leaves dead panes to it (tmux's
    pane-died hook wakes it) and calls no tmux; without one, it asks tmux."""
    env.spawn_ready("a", "--agent", "fake")
    pid = env.json("status", "a")["pid"]
    if not monitored:
        env.kill_monitor()
    os.kill(pid, signal.SIGKILL)

    def exited() -> dict[str, Any] | None:
        (agent,) = json.loads(env.ok("list", "--json"))
        return agent if agent["state"] == "exited" else None

    agent = retry_until(exited, message="the killed agent listed exited")
    assert agent["exit_status"] == 128 + signal.SIGKILL
    assert monitorproc.is_running(env.home, HOST) is monitored  # list started none


def _open_home(home: Path) -> None:
    home.mkdir()
    home.chmod(0o777)


def _file_home(home: Path) -> None:
    home.write_text("")


def _bad_config(home: Path) -> None:
    (home.parent / "config.yaml").write_text("agents: [\n")


# name -> what goes wrong before the run (in its directory), the status, stdout.
BAD = {
    "no fleet yet": (None, 0, "[]\n"),
    "home open to others": (_open_home, 1, ""),
    "home is a file": (_file_home, 1, ""),
    "config not YAML": (_bad_config, 1, ""),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_list_json_bad_cases_are_clicks(case: str, tmp_path: Path) -> None:
    spoil, status, stdout = BAD[case]
    home = tmp_path / "run" / "home"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TMUXORCH_HOME": str(home),
        "TMUXORCH_CONFIG": str(home.parent / "config.yaml"),
        "TMUXORCH_SOCKET": f"quick-bad-{os.getpid()}",
    }  # fmt: skip
    said = []
    for code in (None, CLICK):
        shutil.rmtree(home.parent, ignore_errors=True)
        home.parent.mkdir()
        (home.parent / "config.yaml").write_text("{}\n")
        if spoil is not None:
            spoil(home)
        said.append(run(code, ["list", "--json"], env))
    fast, slow = said
    assert fast == slow
    assert fast[:2] == (status, stdout)
    if status:
        assert fast[2].startswith("tmuxorch: ") and fast[2].count("\n") == 1
