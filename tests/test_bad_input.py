"""The bad-input table: each fault or bad value, the command that meets it, and
the one line (and exit status) the user gets instead of a traceback.

Faults are made for real, as root can: a read-only home is an immutable one
(``chattr +i``: root's write permission does not override it), a full disk is
RLIMIT_FSIZE in the command's process, a corrupted database has its pages
overwritten mid-file.
"""

from __future__ import annotations

import contextlib
import re
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Env
from tmuxorch.store.sqlite.schema import DB_NAME

DEEP = b"[" * 100_000
DEEPLY = "bad input: .*JSON nested too deeply"


def _fleet(env: Env) -> None:
    """One idle shell agent ``a1``, its monitor gone (so nothing rewrites the files)."""
    env.spawn_ready("a1")
    env.kill_monitor()


def _chattr(flag: str, env: Env) -> None:
    paths = [env.home, *env.home.iterdir()]
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


@contextlib.contextmanager
def read_only(env: Env) -> Iterator[Callable[[], None] | None]:
    _fleet(env)
    try:
        _chattr("+i", env)
        yield None
    finally:
        _chattr("-i", env)  # or pytest could never remove the test's directory


def _full_disk() -> None:
    # Python ignores SIGXFSZ, so a write past the limit fails (EFBIG) instead.
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))


@contextlib.contextmanager
def disk_full(env: Env) -> Iterator[Callable[[], None] | None]:
    _fleet(env)
    yield _full_disk


@contextlib.contextmanager
def corrupt(env: Env) -> Iterator[Callable[[], None] | None]:
    _fleet(env)
    db = env.home / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = db.stat().st_size
    with db.open("r+b") as f:  # keep the header page, garble the rest but the last page
        f.seek(4096)
        f.write(b"\xff" * (size - 8192))
    yield None


@contextlib.contextmanager
def fleet(env: Env) -> Iterator[Callable[[], None] | None]:
    _fleet(env)
    yield None


@contextlib.contextmanager
def a_file(env: Env) -> Iterator[Callable[[], None] | None]:
    (env.tmp / "file").write_text("not a directory\n")
    yield None


@contextlib.contextmanager
def deep_json(env: Env) -> Iterator[Callable[[], None] | None]:
    (env.tmp / "deep.json").write_bytes(DEEP)
    yield None


FAULTS: dict[str, Callable[[Env], contextlib.AbstractContextManager[Any]]] = {
    "read-only": read_only,
    "disk-full": disk_full,
    "corrupt": corrupt,
    "fleet": fleet,
    "a-file": a_file,
    "deep-json": deep_json,
}

# Which of the two SQLite says depends on whether the -wal and -shm files
# were left behind by the last connection; each line names the file and the fix.
READ_ONLY = (
    r"fleet database \S+/state\.db: "
    r"(attempt to write a readonly database|unable to open database file): "
    r"(make|check) .* writable"
)
FULL = r"fleet database \S+/state\.db: (database or disk is full|disk I/O error): .*free"
MALFORMED = r"fleet database \S+/state\.db: database disk image is malformed: move .* aside"
DENY = r'\{"hookSpecificOutput": \{.*"permissionDecision": "deny".*'
STOP = '{"session_id": "s1", "hook_event_name": "Stop"}'
PROMPT = '{"session_id": "s1", "hook_event_name": "UserPromptSubmit", "prompt": "hi"}'
WRITE = '{"session_id": "s1", "tool_name": "Write", "tool_input": {"file_path": "/tmp/x"}}'


@dataclass(frozen=True)
class Case:
    id: str
    fault: str
    args: tuple[str, ...]
    code: int
    line: str  # the one line on stderr matches this (re.search)
    stdin: str | bytes = ""
    env: dict[str, str] = field(default_factory=dict)
    stdout: str = ""  # what stdout holds (re.fullmatch on it, stripped)
    config: str = ""  # config.yaml's whole text, when the case is about it
    no_agents: bool = False  # refused up front: no agent was started


AGENT = {"TMUXORCH_AGENT": "a1"}

CASES = [
    Case("ro-send", "read-only", ("send", "a1", "hi"), 1, READ_ONLY),
    Case("ro-spawn", "read-only", ("spawn", "a2"), 1, READ_ONLY),
    Case("ro-lock", "read-only", ("lock", "/tmp/x"), 1, READ_ONLY),
    Case("ro-kill", "read-only", ("kill", "a1"), 1, READ_ONLY),
    Case(
        "ro-rm", "read-only", ("rm", "a1"), 1, r"^tmuxorch: cannot use \S+/screens: Operation not"
    ),
    Case("ro-wait", "read-only", ("wait", "a1"), 1, r"cannot start the monitor: \S+/monitor\.log"),
    Case("ro-hook-stop", "read-only", ("hook", "Stop"), 0, READ_ONLY, STOP, AGENT),
    Case("ro-hook-prompt", "read-only", ("hook", "UserPromptSubmit"), 0, READ_ONLY, PROMPT, AGENT),
    Case("ro-auto-lock", "read-only", ("auto-lock",), 0, READ_ONLY, WRITE, AGENT, DENY),
    Case("full-hook-prompt", "disk-full", ("hook", "UserPromptSubmit"), 0, FULL, PROMPT, AGENT),
    Case("full-hook-stop", "disk-full", ("hook", "Stop"), 0, FULL, STOP, AGENT),
    Case("full-kill", "disk-full", ("kill", "a1"), 1, FULL),
    Case("corrupt-list", "corrupt", ("list",), 1, MALFORMED),
    Case("corrupt-status", "corrupt", ("status", "a1"), 1, MALFORMED),
    Case("corrupt-send", "corrupt", ("send", "a1", "hi"), 1, MALFORMED),
    Case("corrupt-up", "corrupt", ("up",), 1, MALFORMED),
    Case("corrupt-hook-stop", "corrupt", ("hook", "Stop"), 0, MALFORMED, STOP, AGENT),
    Case("deep-auto-lock-managed", "fleet", ("auto-lock",), 0, DEEPLY, DEEP, AGENT, DENY),
    Case("deep-auto-lock-by-hand", "", ("auto-lock",), 1, DEEPLY, DEEP),
    *(
        Case(f"config-{id}", "", ("spawn", "a1", "--agent", "bad"), 1, line, config=text)
        for id, text, line in [
            (
                "regex",
                "agents:\n  bad:\n    command: sh\n    ready: ['[']\n",
                r"^tmuxorch: config key agents\.bad\.ready\[0\]: not a regular expression",
            ),
            (
                "dialog-regex",
                "agents:\n  bad:\n    command: sh\n    dialogs: {'(': [Enter]}\n",
                r"^tmuxorch: config key agents\.bad\.dialogs: not a regular expression",
            ),
            (
                "command-quote",
                'agents:\n  bad:\n    command: "bash \'"\n',
                r"^tmuxorch: config key agents\.bad\.command: No closing quotation",
            ),
            (
                "header",
                "delivery:\n  header: '{nope} '\n",
                r"^tmuxorch: config key delivery\.header: '\{nope\} ' is not a template",
            ),
            (
                "lease-nan",
                "locks:\n  lease: .nan\n",
                r"^tmuxorch: config key locks\.lease: must be a finite number, got nan$",
            ),
            (
                "wait-inf",
                "locks:\n  wait: .inf\n",
                r"^tmuxorch: config key locks\.wait: must be a finite number, got inf$",
            ),
            (
                "wait-nan",
                "locks:\n  wait: .nan\n",
                r"^tmuxorch: config key locks\.wait: must be a finite number, got nan$",
            ),
            (
                "wait-negative",
                "locks:\n  wait: -1\n",
                r"^tmuxorch: config key locks\.wait: must be at least 0, got -1",
            ),
            (
                "verify-negative",
                "delivery:\n  verify_timeout: -0.5\n",
                r"^tmuxorch: config key delivery\.verify_timeout: must be at least 0",
            ),
            (
                "retries-negative",
                "delivery:\n  retries: -1\n",
                r"^tmuxorch: config key delivery\.retries: must be at least 0",
            ),
            (
                "width-zero",
                "tmux:\n  width: 0\n",
                r"^tmuxorch: config key tmux\.width: must be at least 1, got 0$",
            ),
            (
                "height-negative",
                "tmux:\n  height: -1\n",
                r"^tmuxorch: config key tmux\.height: must be at least 1, got -1$",
            ),
            (
                "history-huge",
                f"tmux:\n  history_limit: {10**29}\n",
                r"^tmuxorch: config key tmux\.history_limit: must be at most 2147483647",
            ),
            (
                "settle-negative",
                "agents:\n  bad:\n    command: sh\n    settle: -1\n",
                r"^tmuxorch: config key agents\.bad\.settle: must be at least 0",
            ),
            (
                "session-colon",
                "session: 'a:b'\n",
                r"^tmuxorch: config key session: 'a:b' is not a tmux session name$",
            ),
            (
                "default-agent-unknown",
                "default_agent: nope\n",
                r"^tmuxorch: config key default_agent: no profile 'nope' \(aider, ",
            ),
            (
                "duplicate-key",
                "locks:\n  wait: 1\n  wait: 2\n",
                r"^tmuxorch: config \S+ is not valid YAML: at line 3: duplicate key 'wait'$",
            ),
        ]
    ),
    Case(
        "hooks-project-missing",
        "",
        ("hooks", "install", "--project", "{tmp}/missing"),
        1,
        r"^tmuxorch: --project \S+/missing does not exist$",
    ),
    Case(
        "hooks-project-file",
        "a-file",
        ("hooks", "install", "--project", "{tmp}/file"),
        1,
        r"^tmuxorch: --project \S+/file is not a directory$",
    ),
    Case(
        "hooks-project-and-user",
        "",
        ("hooks", "install", "--project", "{tmp}", "--user"),
        2,
        r"^tmuxorch: choose one of --project DIR and --user$",
    ),
    Case(
        "setup-project-and-user",
        "",
        ("setup", "--project", "--user"),
        2,
        r"^tmuxorch: choose one of --project and --user$",
    ),
    *(
        Case(f"batch-{id}", "", ("batch", "/dev/stdin"), 1, line, tasks, no_agents=True)
        for id, tasks, line in [
            (
                "unknown-agent",
                "- {name: t1, prompt: 'echo 1'}\n- {name: t2, prompt: x, agent: nope}\n",
                r"^tmuxorch: task 't2': key 'agent': unknown agent profile 'nope'",
            ),
            (
                "missing-cwd",
                "- {name: t1, prompt: 'echo 1'}\n- {name: t2, prompt: x, cwd: /nonexistent/d}\n",
                r"^tmuxorch: task 't2': key 'cwd': /nonexistent/d is not a directory$",
            ),
            (
                "timeout-nan",
                "- {name: t1, prompt: 'echo 1', timeout: .nan}\n",
                r"^tmuxorch: task 't1': key 'timeout' must be a positive number of seconds$",
            ),
            (
                "duplicate-key",
                "- name: t1\n  prompt: 'echo 1'\n  prompt: 'echo 2'\n",
                r"^tmuxorch: /dev/stdin is not valid YAML: at line 3: duplicate key 'prompt'$",
            ),
        ]
    ),
    Case(
        "batch-deep-yaml",
        "",
        ("batch", "/dev/stdin"),
        1,
        r"^tmuxorch: /dev/stdin is not valid YAML: nested too deeply to read$",
        b"a: " + DEEP,
    ),
    Case(
        "batch-deep-json",
        "deep-json",
        ("batch", "{tmp}/deep.json"),
        1,
        r"^tmuxorch: \S+/deep\.json is nested too deeply to read$",
    ),
    Case(
        "config-deep",
        "",
        ("list",),
        1,
        r"^tmuxorch: config \S+ is not valid YAML: nested too deeply to read$",
        config="a: " + "[" * 100_000,
    ),
    Case(
        "config-flag-missing",
        "",
        ("--config", "/nonexistent/c.yaml", "list"),
        1,
        r"^tmuxorch: config file /nonexistent/c\.yaml does not exist$",
    ),
    *(
        Case(f"deep-hook-{event}", "", ("hook", event), 0, DEEPLY, DEEP, AGENT)
        for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd")
    ),
]


def run(
    env: Env, case: Case, preexec: Callable[[], None] | None
) -> subprocess.CompletedProcess[str]:
    data = case.stdin.encode() if isinstance(case.stdin, str) else case.stdin
    args = [a.replace("{tmp}", str(env.tmp)) for a in case.args]
    # Claude's user settings too are the test's own (setup, hooks --user).
    claude = {"HOME": str(env.tmp), "CLAUDE_CONFIG_DIR": str(env.tmp / ".claude")}
    proc = subprocess.run(
        [sys.executable, "-m", "tmuxorch", *args], input=data, capture_output=True,
        env={**env.environ, **claude, **case.env}, preexec_fn=preexec, cwd=env.tmp,
        timeout=120, check=False,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(env: Env, case: Case) -> None:
    if case.config:
        env.config_path.write_text(case.config)
    with FAULTS[case.fault](env) if case.fault else contextlib.nullcontext() as preexec:
        proc = run(env, case, preexec)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert re.search(case.line, lines[0]), lines[0]
    assert proc.returncode == case.code, proc.stderr
    assert re.fullmatch(case.stdout, proc.stdout.strip()), proc.stdout
    assert not (env.tmp / "missing").exists()  # refused means nothing created
    if case.no_agents:
        assert env.json("list") == []
    if case.fault in ("read-only", "disk-full"):  # once fixed, the fleet is as it was
        assert [a["name"] for a in env.json("list")] == ["a1"]


MCP_CASES = [
    ("corrupt-list", "corrupt", "list_agents", {}, MALFORMED),
    ("corrupt-status", "corrupt", "get_status", {"name": "a1"}, MALFORMED),
    ("ro-send", "read-only", "send_message", {"name": "a1", "message": "hi"}, READ_ONLY),
    (
        "ro-remove",
        "read-only",
        "remove_agent",
        {"name": "a1"},
        r"cannot use \S+/screens: Operation",
    ),
]


@pytest.mark.parametrize(
    ("fault", "tool", "args", "line"), [c[1:] for c in MCP_CASES], ids=[c[0] for c in MCP_CASES]
)
def test_mcp_tool_error_is_the_same_line(
    env: Env, fault: str, tool: str, args: dict[str, Any], line: str
) -> None:
    """The MCP edge: the same line, as the tool's error (with a hint for the model)."""
    from tests.test_mcp import Client, serve

    errors: list[str] = []

    async def body(client: Client) -> None:
        errors.append(await client.error(tool, **args))

    with FAULTS[fault](env):
        serve(env, body)
    assert re.search(line, errors[0]), errors[0]
    assert "Traceback" not in errors[0]
