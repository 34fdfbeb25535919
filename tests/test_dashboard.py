"""The dashboard and the status line: frames rendered from a store-built fleet
(rich's recording console, no tmux), key parsing and selection, the status
segment and the fleet's tmux status line, and the live view for real inside
tmux (approve with ``y``, quit with ``q``)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from libtmux.server import Server
from rich.console import Console

from tests.conftest import Env
from tests.helpers import retry_until
from tmuxorch.claude.launch import status_line_command
from tmuxorch.core.records import Agent, Lock
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store
from tmuxorch.surfaces.dashboard import STATE_STYLE, Row, move, parse_keys, read_rows, render
from tmuxorch.surfaces.statusline import segment
from tmuxorch.tmux import conf as tmux

NOW = 1_800_000_000.0
# A 20-agent fleet: (state, seconds in that state, detail), in creation order.
FLEET: list[tuple[str, float, str]] = [
    ("idle", 5, ""),
    ("busy", 42, ""),
    ("waiting", 30, "Do you want to create notes.txt?"),
    ("busy", 300, ""),
    ("error", 90, "API Error: 529 Overloaded"),
    ("idle", 7200, ""),
    ("starting", 1, ""),
    ("waiting", 600, "Do you want to run rm -rf build/?"),
    ("exited", 4000, "exit status 0"),
    ("busy", 12, ""),
    ("stopped", 90000, ""),
    ("idle", 61, ""),
    ("busy", 2, ""),
    ("idle", 3, ""),
    ("busy", 4, ""),
    ("idle", 5, ""),
    ("busy", 6, ""),
    ("idle", 7, ""),
    ("busy", 8, ""),
    ("idle", 9, ""),
]


def _fleet_store(home: Path) -> Store:
    store = open_store(home)
    for index, (state, ago, detail) in enumerate(FLEET):
        store.insert_agent(
            Agent(
                name=f"agent{index:02d}", profile="claude", state=state, cwd="/src",
                created=NOW - 90000 + index, since=NOW - ago, detail=detail,
                task=f"task number {index}", cost_usd=0.25 * index,
            )
        )  # fmt: skip
    with store.transaction():
        for path in ("/src/a.py", "/src/lib/b.py"):
            lock = Lock(path=path, holder="agent03", agent="agent03", since=NOW, expires=NOW + 60)
            store.put_lock(lock)
    for _ in range(2):
        store.add_message(None, "agent01", "sequential", "later")
    return store


def _frame(rows: list[Row], width: int = 160, **kwargs: object) -> tuple[str, Console]:
    console = Console(record=True, width=width, force_terminal=True, color_system="truecolor")
    console.print(render(rows, now=NOW, width=width, **kwargs))  # type: ignore[arg-type]
    return console.export_text(), console


@pytest.fixture
def rows(tmp_path: Path) -> list[Row]:
    with _fleet_store(tmp_path / "home") as store:
        return read_rows(store)


def _table_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("NAME")), len(lines))
    rows = []
    for line in lines[start + 1 :]:
        parts = line.split()
        if len(parts) > 1 and parts[1] in STATE_STYLE and not parts[0].endswith(":"):
            rows.append(line)
    return rows


def test_waiting_agents_first_with_their_prompt(rows: list[Row]) -> None:
    text, _ = _frame(rows)
    lines = _table_lines(text)
    assert len(lines) == 20
    # Longest waiting first, then the error, then the fleet in order, ended last.
    assert [line.split()[0] for line in lines[:3]] == ["agent07", "agent02", "agent04"]
    assert "Do you want to run rm -rf build/?" in lines[0]
    assert "Do you want to create notes.txt?" in lines[1]
    assert [line.split()[1] for line in lines[-2:]] == ["exited", "stopped"]
    assert text.splitlines()[0].startswith("tmuxorch · 20 agents · 7 busy · 2 waiting · 1 error")


CELLS = [
    # (id, agent, cells its row shows, in order)
    ("columns", None, ["NAME", "STATE", "FOR", "DETAIL", "TASK", "COST", "LOCKS", "QUEUED"]),
    ("seconds", "agent01", ["busy", "42s", "task number 1", "$0.25", "2"]),
    ("minutes-locks", "agent03", ["busy", "5m", "task number 3", "$0.75", "a.py +1"]),
    ("hours", "agent05", ["idle", "2h", "$1.25"]),
    ("days", "agent10", ["stopped", "1d", "$2.50"]),
    ("error", "agent04", ["error", "1m", "API Error: 529 Overloaded"]),
]


@pytest.mark.parametrize(("agent", "cells"), [c[1:] for c in CELLS], ids=[c[0] for c in CELLS])
def test_row_cells(rows: list[Row], agent: str | None, cells: list[str]) -> None:
    text, _ = _frame(rows)
    line = next(x for x in text.splitlines() if x.startswith(agent or "NAME"))
    position = 0
    for cell in cells:  # each cell present, left to right
        assert cell in line[position:], (cell, line)
        position = line.index(cell, position) + len(cell)


@pytest.mark.parametrize("state", sorted(STATE_STYLE), ids=sorted(STATE_STYLE))
def test_state_in_colour(rows: list[Row], state: str) -> None:
    _, console = _frame(rows)
    segments = list(console.render(render(rows, now=NOW), console.options))
    styles = {str(s.style) for s in segments if s.text.strip() == state and s.style}
    assert STATE_STYLE[state] in styles


def test_selected_row_stays_visible_in_a_short_terminal(rows: list[Row]) -> None:
    text, console = _frame(rows, height=12, selected="agent19")
    table = _table_lines(text)
    assert len(table) == 12 - 8 and table[-1].startswith("agent19")
    assert "… 16 more" in text
    assert "agent19: idle" in text  # the selected agent's detail line
    segments = list(console.render(render(rows, now=NOW, selected="agent19"), console.options))
    assert any(s.text.strip() == "agent19" and s.style and s.style.reverse for s in segments)


def test_empty_fleet(tmp_path: Path) -> None:
    with open_store(tmp_path / "home") as store:
        text, _ = _frame(read_rows(store))
    assert "0 agents" in text and "no agents yet" in text


KEYS = [
    ("arrows", b"\x1b[A\x1b[B\x1bOA\x1bOB", ["up", "down", "up", "down"]),
    ("vi", b"jkgG", ["down", "up", "home", "end"]),
    ("actions", b"aynqi", ["attach", "approve", "deny", "quit", "interrupt"]),
    ("ctrl-c", b"\x03", ["quit"]),
    ("pages", b"\x1b[5~\x1b[6~", ["pageup", "pagedown"]),
    ("unknown-sequence", b"\x1b[1;5Cy", ["approve"]),
    ("lone-escape", b"\x1b", []),
    ("other-bytes", b"xz\r\xff", []),
]


@pytest.mark.parametrize(("data", "keys"), [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_parse_keys(data: bytes, keys: list[str]) -> None:
    assert parse_keys(data) == keys


MOVES = [
    ("down", "agent07", "down", "agent02"),
    ("up-at-top", "agent07", "up", "agent07"),
    ("end", "agent07", "end", "agent10"),
    ("home", "agent05", "home", "agent07"),
    ("page", "agent07", "pagedown", "agent01"),
    ("gone", "ghost", "down", "agent07"),
]


@pytest.mark.parametrize(
    ("start", "key", "after"), [m[1:] for m in MOVES], ids=[m[0] for m in MOVES]
)
def test_selection_follows_names(rows: list[Row], start: str, key: str, after: str) -> None:
    assert move(rows, start, key, page=4) == after


SEGMENTS = [
    ("mixed", {"busy": 2, "waiting": 1, "idle": 4}, True,
     "#[fg=yellow]2 busy#[default] · #[fg=magenta,bold]1 waiting#[default] · 0 error"),
    ("plain", {"busy": 2, "error": 3}, False, "2 busy · 0 waiting · 3 error"),
    ("empty", {}, True, "0 busy · 0 waiting · 0 error"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("counts", "styles", "text"), [s[1:] for s in SEGMENTS], ids=[s[0] for s in SEGMENTS]
)
def test_segment(counts: dict[str, int], styles: bool, text: str) -> None:
    assert segment(counts, styles=styles) == text


def test_status_line_command_reads_the_store(env: Env) -> None:
    assert env.ok("status-line").strip() == "0 busy · 0 waiting · 0 error"
    assert not env.home.exists()  # nothing created for a fleet that is not there
    _fleet_store(env.home).close()
    assert env.ok("status-line", "--plain").strip() == "7 busy · 2 waiting · 1 error"
    assert "#[fg=red,bold]1 error#[default]" in env.ok("status-line")


def test_dashboard_once_prints_a_frame(env: Env) -> None:
    _fleet_store(env.home).close()
    wide = env.ok("dashboard", "--once", env={"COLUMNS": "200"})
    assert "Do you want to run rm -rf build/?" in wide and "approve" not in wide
    narrow = env.ok("dashboard", "--once", env={"COLUMNS": "60"})
    assert max(map(len, narrow.splitlines())) <= 60
    assert "Do yo…" in narrow  # cut to fit, not wrapped


def test_fleet_status_line_runs_status_line(env: Env, server: Server) -> None:
    env.ok("spawn", "sh1")
    assert server.cmd("show", "-gv", "status-right").stdout == [f"#(#{{{tmux.STATUS_OPTION}}}) "]
    [shell_command] = server.cmd("show", "-gv", tmux.STATUS_OPTION).stdout
    assert "status-line" in shell_command and shlex.quote(str(env.home)) in shell_command
    out = subprocess.run(["sh", "-c", shell_command], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == env.ok("status-line").strip()
    assert server.cmd("show", "-gv", "status-interval").stdout == [str(tmux.STATUS_INTERVAL)]


def test_status_command_survives_tmux_and_shell_quoting(
    tmp_path: Path, TestServer: type[Server]
) -> None:
    home = tmp_path / "a home #1 %d) $HOME \"q' `x`"
    _fleet_store(home).close()
    shell_command = status_line_command(shlex.quote(sys.executable) + " -m tmuxorch", home, "sock")
    conf = tmp_path / "tmux.conf"
    conf.write_text(tmux.config_text(1000, 80, 24, shell_command))
    quoted = TestServer(config_file=str(conf))  # killed and its socket removed after the test
    quoted.cmd("new-session", "-d", "-s", "q")
    (shown,) = quoted.cmd("show", "-gv", tmux.STATUS_OPTION).stdout
    assert shown == shell_command
    out = subprocess.run(["sh", "-c", shown], capture_output=True, text=True, check=True)
    assert out.stdout.strip().startswith("#[fg=yellow]7 busy#[default]")


def _exit_status(server: Server, pane: str) -> int:
    """The pane's exit status once its process ended (``run-shell true`` makes
    tmux collect a status it may not have seen yet: TmuxServer.reap)."""

    def status() -> str:
        server.cmd("run-shell", "true")
        dead = server.cmd("display", "-p", "-t", pane, "#{pane_dead}:#{pane_dead_status}").stdout
        return dead[0][2:] if dead and dead[0].startswith("1:") else ""

    return int(retry_until(status, message="the dashboard exits"))


def _capture(server: Server, target: str) -> str:
    return "\n".join(server.cmd("capture-pane", "-p", "-t", target).stdout)


def test_live_dashboard_in_tmux(env: Env, server: Server) -> None:
    env.spawn_ready("calm", "--agent", "fake")
    env.spawn_ready("asker", "--agent", "fake")
    env.ok("send", "asker", "ask create x")
    env.ok("wait", "asker", "--until", "waiting", "--timeout", "30")

    ours = {k: v for k, v in env.environ.items() if k.startswith("TMUXORCH_")}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in ours.items())
    run = f"env {exports} {shlex.quote(sys.executable)} -m tmuxorch dashboard"
    server.cmd(
        "new-session", "-d", "-s", "dash", "-x", "150", "-y", "30", "-c", str(Path.cwd()), run
    )
    pane = "=dash:"

    def table() -> list[str]:
        return _table_lines(_capture(server, pane))

    lines = retry_until(lambda: t if len(t := table()) == 2 else [], message="the table")
    assert lines[0].split()[:2] == ["asker", "waiting"]
    assert "Do you want to create x?" in lines[0]
    assert lines[1].split()[:2] == ["calm", "idle"]

    server.cmd("send-keys", "-t", pane, "y")  # the waiting agent is selected first
    env.ok("wait", "asker", "--until", "idle", "--timeout", "30")
    retry_until(lambda: "approved asker" in _capture(server, pane), message="action reported")
    retry_until(
        lambda: [x.split()[:2] for x in table()] == [["calm", "idle"], ["asker", "idle"]],
        message="the view follows the store",
    )

    server.cmd("send-keys", "-t", pane, "q")
    assert _exit_status(server, pane) == 0
    assert "Traceback" not in _capture(server, pane)


EXITS = [
    # (id, how, exit status)
    ("q", "q", 0),
    ("ctrl-c", "C-c", 0),
    ("sigterm", signal.SIGTERM, 128 + signal.SIGTERM),
    ("sighup", signal.SIGHUP, 128 + signal.SIGHUP),
]


@pytest.mark.parametrize(("how", "status"), [e[1:] for e in EXITS], ids=[e[0] for e in EXITS])
def test_dashboard_restores_the_terminal(
    env: Env, server: Server, tmp_path: Path, how: str | int, status: int
) -> None:
    _fleet_store(env.home).close()
    ours = {k: v for k, v in env.environ.items() if k.startswith("TMUXORCH_")}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in ours.items())
    out = tmp_path / "after"
    script = (
        f"env {exports} {shlex.quote(sys.executable)} -m tmuxorch dashboard; "
        f"echo $? > {shlex.quote(str(out))}.status; stty -a > {shlex.quote(str(out))}.stty"
    )
    server.cmd("new-session", "-d", "-s", "dash", "-x", "150", "-y", "30", "sh", "-c", script)
    pane_pid = int(server.cmd("display", "-p", "-t", "=dash:", "#{pane_pid}").stdout[0])
    retry_until(lambda: "NAME" in _capture(server, "=dash:"), message="the table is drawn")
    if isinstance(how, str):
        server.cmd("send-keys", "-t", "=dash:", how)
    else:
        children = Path(f"/proc/{pane_pid}/task/{pane_pid}/children").read_text().split()
        os.kill(int(children[0]), how)
    stty = Path(f"{out}.stty")
    modes = retry_until(lambda: stty.read_text().split() if stty.exists() else [], message="exits")
    assert int(Path(f"{out}.status").read_text()) == status
    assert {"echo", "icanon", "isig"} <= set(modes)  # not -echo, -icanon, -isig


def test_attach_and_come_back(env: Env, TestServer: type[Server]) -> None:
    """``a`` from a dashboard in another tmux: the agent's window with the
    fleet's status line; on detach, the dashboard again."""
    env.spawn_ready("marker", "echo MARK-$((6*7))")
    outer = TestServer()  # killed and its socket removed after the test
    ours = {k: v for k, v in env.environ.items() if k.startswith("TMUXORCH_")}
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in ours.items())
    run = f"env {exports} {shlex.quote(sys.executable)} -m tmuxorch dashboard"
    outer.cmd("new-session", "-d", "-s", "o", "-x", "150", "-y", "30", run)
    outer.cmd("set", "-g", "remain-on-exit", "on")
    retry_until(lambda: "marker" in _capture(outer, "=o:"), message="the table is drawn")
    outer.cmd("send-keys", "-t", "=o:", "a")

    def attached() -> str:
        screen = _capture(outer, "=o:")
        return screen if "MARK-42" in screen and "0 waiting" in screen else ""

    screen = retry_until(attached, message="the agent's window and the fleet's status line")
    assert "NAME" not in screen
    outer.cmd("send-keys", "-t", "=o:", "C-b", "d")
    retry_until(lambda: "attached marker" in _capture(outer, "=o:"), message="back")
    outer.cmd("send-keys", "-t", "=o:", "q")
    assert _exit_status(outer, "=o:") == 0


def test_teammates_sit_right_under_their_lead(tmp_path: Path) -> None:
    def teammates(agent: Agent) -> list[tuple[str, str, float | None]]:
        return [("helper", "busy", NOW - 5), ("critic", "starting", None)] * (
            agent.name == "agent01"
        )

    with _fleet_store(tmp_path / "home") as store:
        plain = [r.name for r in read_rows(store)]
        rows = read_rows(store, teammates)
    lead = plain.index("agent01")
    assert [r.name for r in rows] == [
        *plain[: lead + 1], "agent01/helper", "agent01/critic", *plain[lead + 1 :],
    ]  # fmt: skip
    helper, critic = rows[lead + 1 : lead + 3]
    assert (helper.state, helper.since, helper.profile) == ("busy", NOW - 5, "teammate")
    assert (critic.state, critic.since) == ("starting", rows[lead].since)
    assert "agent01/helper" in _frame(rows)[0]
