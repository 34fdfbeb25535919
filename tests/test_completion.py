"""Shell completion through click's ``_TMUXORCH_COMPLETE`` protocol (commands,
agent names from the fleet, profile names from config), the scripts for each
shell, and "did you mean" on a mistyped command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Env

BIN = Path(sys.executable).parent


def _complete(env: Env, line: str) -> set[str]:
    """What bash completion offers for the last word of ``line`` (empty after
    a trailing space)."""
    words = line.split(" ")
    proc = env.cli(
        env={
            "_TMUXORCH_COMPLETE": "bash_complete",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(words) - 1),
        }
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return {row.split(",", 1)[1] for row in proc.stdout.splitlines() if row}


# id, command line being completed, the candidates offered
FLEET_COMPLETIONS = [
    ("commands", "tmuxorch st", {"status", "status-line", "stop"}),
    ("agent-argument", "tmuxorch status a", {"a1", "a2"}),
    ("every-agent", "tmuxorch stop ", {"a1", "a2", "b1"}),
    ("agent-option", "tmuxorch events --agent b", {"b1"}),
    ("parent-option", "tmuxorch spawn new --parent a", {"a1", "a2"}),
    ("new-name-is-not-completed", "tmuxorch spawn a", set()),
    ("profile-option", "tmuxorch spawn new --agent f", {"fake"}),
    ("profiles", "tmuxorch delegate new task --agent ", {"claude", "codex", "aider", "gemini",
                                                         "shell", "fake"}),
    ("shells", "tmuxorch completion ", {"bash", "zsh", "fish"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "offered"), [c[1:] for c in FLEET_COMPLETIONS], ids=[c[0] for c in FLEET_COMPLETIONS]
)
def test_completion_offers_commands_agents_and_profiles(
    env: Env, line: str, offered: set[str]
) -> None:
    for name in ("a1", "a2", "b1"):
        env.ok("spawn", name, "--agent", "fake")
    assert _complete(env, line) == offered


def test_agent_names_complete_to_nothing_without_a_fleet(tmp_path: Path) -> None:
    env = Env(
        home=tmp_path / "none", socket="unused", config_path=tmp_path / "c.yaml", tmp=tmp_path
    )
    assert _complete(env, "tmuxorch status ") == set()
    assert not env.home.exists()


# shell, what the script must hold for that shell to call tmuxorch back
SCRIPTS = [
    ("bash", "complete -o nosort -F _tmuxorch_completion tmuxorch"),
    ("zsh", "compdef _tmuxorch_completion tmuxorch"),
    ("fish", "complete --no-files --command tmuxorch"),
]


@pytest.mark.parametrize(("shell", "hook"), SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_completion_prints_each_shells_script(tmp_path: Path, shell: str, hook: str) -> None:
    env = Env(home=tmp_path / "h", socket="unused", config_path=tmp_path / "c.yaml", tmp=tmp_path)
    script = env.ok("completion", shell)
    assert hook in script and "_TMUXORCH_COMPLETE" in script


def test_the_bash_script_completes_in_bash(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    env = Env(home=tmp_path / "h", socket="unused", config_path=tmp_path / "c.yaml", tmp=tmp_path)
    script = tmp_path / "completion.bash"
    script.write_text(env.ok("completion", "bash"))
    run = (
        f"source {script}; COMP_WORDS=(tmuxorch sto); COMP_CWORD=1; "
        'complete -p tmuxorch >/dev/null && _tmuxorch_completion tmuxorch; echo "${COMPREPLY[@]}"'
    )
    path = f"{BIN}:{env.environ['PATH']}"
    proc = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", run], capture_output=True, text=True,
        env={**env.environ, "PATH": path}, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.split() == ["stop"], proc.stderr


# id, what was typed, the one line that answers it
MISTYPED = [
    ("close", "stauts", "tmuxorch: no such command 'stauts': did you mean 'status'?\n"),
    ("none-close", "xyzzy",
     "tmuxorch: no such command 'xyzzy': `tmuxorch --help` lists the commands\n"),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "said"), [m[1:] for m in MISTYPED], ids=[m[0] for m in MISTYPED])
def test_a_mistyped_command_gets_one_line_and_exit_2(tmp_path: Path, typed: str, said: str) -> None:
    env = Env(home=tmp_path / "h", socket="unused", config_path=tmp_path / "c.yaml", tmp=tmp_path)
    proc = env.cli(typed, "a1")
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", said)
