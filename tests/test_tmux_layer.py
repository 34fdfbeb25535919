"""The tmux layer: the plain server (short CLI commands) and libtmux's (the
processes that live long) answer alike, keep user strings literal, and the
short path does not import libtmux."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from libtmux.server import Server

from tests.conftest import Env
from tests.helpers import retry_until
from tmuxorch.core.config import resolve
from tmuxorch.core.errors import TmuxError
from tmuxorch.daemon.monitor import Monitor
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.tmux.conf import config_text
from tmuxorch.tmux.longlived import LongLivedServer
from tmuxorch.tmux.server import TmuxServer, open_server

REPO = Path(__file__).resolve().parent.parent

# (id, long_lived)
KINDS = [("plain", False), ("libtmux", True)]


def _servers(server: Server, tmp_path: Path, long_lived: bool) -> tuple[TmuxServer, TmuxServer]:
    """The server under test, and the other kind on the same tmux server."""
    conf = tmp_path / "tmux.conf"
    conf.write_text(config_text(1000, 80, 24))
    assert server.socket_name
    tested = open_server(server.socket_name, "s", conf, long_lived=long_lived)
    other = open_server(server.socket_name, "s", conf, long_lived=not long_lived)
    return tested, other


@pytest.mark.parametrize("long_lived", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_both_kinds_see_the_same_panes(server: Server, tmp_path: Path, long_lived: bool) -> None:
    tmux, other = _servers(server, tmp_path, long_lived)
    assert type(tmux) is (LongLivedServer if long_lived else TmuxServer)
    assert tmux.panes() == {} and not tmux.is_alive()
    quiet = tmux.new_window("q", ["sleep", "600"], str(tmp_path), {}, width=80, height=24)
    ended = tmux.new_window("e", ["sh", "-c", "exit 3"], str(tmp_path), {}, width=80, height=24)
    assert tmux.is_alive() and tmux.has_session()
    retry_until(lambda: tmux.pane(ended.pane_id).dead, message="e ended")  # type: ignore[union-attr]
    panes = tmux.panes()
    assert panes == other.panes()
    assert sorted(panes) == sorted([quiet.pane_id, ended.pane_id])
    assert panes[ended.pane_id].dead_status == 3 and not panes[quiet.pane_id].dead
    assert tmux.pane(quiet.pane_id) == other.pane(quiet.pane_id) == panes[quiet.pane_id]
    tmux.kill_window(ended.window_id)
    assert sorted(other.panes()) == [quiet.pane_id]


@pytest.mark.parametrize("long_lived", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_both_kinds_fail_alike_on_what_is_gone(
    server: Server, tmp_path: Path, long_lived: bool
) -> None:
    tmux, _ = _servers(server, tmp_path, long_lived)
    tmux.new_window("q", ["sleep", "600"], str(tmp_path), {}, width=80, height=24)
    assert tmux.pane("%999") is None
    with pytest.raises(TmuxError, match=r"^tmux capture-pane: can't find pane: %999$"):
        tmux.capture("%999")
    with pytest.raises(TmuxError, match=r"^tmux send-keys: can't find pane: %999$"):
        tmux.send_keys("%999", "Enter")
    with pytest.raises(TmuxError, match=r"^tmux window @999 is gone$"):
        tmux.select_window("@999")
    tmux.kill_window("@999")  # gone already: nothing to do


@pytest.mark.parametrize("long_lived", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_a_server_tmux_cannot_reach_has_no_panes(tmp_path: Path, long_lived: bool) -> None:
    """As a dying server can answer (the monitor then fails what was queued
    for its agents): an error, not "no server running", is still no panes."""
    conf = tmp_path / "tmux.conf"
    conf.write_text(config_text(1000, 80, 24))
    tmux = open_server("x" * 200, "s", conf, long_lived=long_lived)  # File name too long
    assert tmux.panes() == {}
    assert tmux.pane("%1") is None
    assert not tmux.is_alive()
    with pytest.raises(TmuxError, match=r"^tmux window @1 is gone$"):
        tmux.select_window("@1")


@pytest.mark.parametrize("long_lived", [k[1] for k in KINDS], ids=[k[0] for k in KINDS])
def test_names_paths_and_text_reach_tmux_as_written(
    server: Server, tmp_path: Path, long_lived: bool
) -> None:
    tmux, _ = _servers(server, tmp_path, long_lived)
    # Expanded as formats, #(...) would run and be replaced by its output.
    cwd = tmp_path / "d#(echo ran)%H;"
    cwd.mkdir()
    name = "w#(echo ran)#{pane_id}%H"
    pane = tmux.new_window(name, ["sh"], str(cwd), {"X": "1;"}, width=80, height=24)
    assert pane.window_name == name
    tmux.send_literal(pane.pane_id, 'echo "$X $PWD" #;')
    tmux.send_keys(pane.pane_id, "Enter")
    retry_until(lambda: f"1; {cwd}" in tmux.capture(pane.pane_id), message="echo ran")


# (id, the calls a short command makes)
SHORT = [
    ("panes and capture", "t.panes(); t.capture(p.pane_id); t.pane(p.pane_id)"),
    ("attach's select-window", "t.select_window(p.window_id)"),
    ("kill", "t.kill_window(p.window_id)"),
]


@pytest.mark.parametrize("calls", [s[1] for s in SHORT], ids=[s[0] for s in SHORT])
def test_a_short_command_does_not_import_libtmux(
    server: Server, tmp_path: Path, calls: str
) -> None:
    conf = tmp_path / "tmux.conf"
    conf.write_text(config_text(1000, 80, 24))
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tmuxorch.tmux.server import open_server\n"
        f"t = open_server({server.socket_name!r}, 's', Path({str(conf)!r}), long_lived=False)\n"
        f"p = t.new_window('q', ['sleep', '600'], '/', {{}}, width=80, height=24)\n"
        f"{calls}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'libtmux'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"


def test_the_monitor_drives_tmux_through_libtmux_and_the_cli_does_not(env: Env) -> None:
    settings = resolve(str(env.home), env.socket, str(env.config_path))
    watcher = Monitor(settings)
    try:
        assert type(watcher.tmux) is LongLivedServer
    finally:
        watcher.fleet.close()
    with Fleet(settings) as fleet:
        assert type(fleet.tmux) is TmuxServer
