"""The fleet's tmux server through libtmux's objects, for the processes that
live long: the monitor, the MCP server and the live dashboard.

They pay libtmux's import once; a short CLI command would pay it on every
call for nothing (see ``server.TmuxServer``). Panes are listed and found as
libtmux ``Pane`` objects (the session's, by ``Server.panes``), windows are
selected and killed as ``Window`` objects, and every other command goes
through libtmux's ``Server.cmd``, with tmuxorch's own arguments: libtmux's
``Session.new_window`` would pass a name and a path to ``-n``/``-c``
unprotected (tmux expands formats there: ``#(cmd)`` would run) and a program
as one shell string, so windows are made with ``arg`` and ``literal`` as
before. A paste's ``load-buffer`` reads stdin, which libtmux's ``cmd`` does
not give: it stays a tmux process of its own.
"""

from __future__ import annotations

import contextlib
import functools

import libtmux
from libtmux.exc import LibTmuxException, TmuxCommandNotFound

from tmuxorch.core.errors import TmuxError
from tmuxorch.tmux.panes import PANE_FIELDS, Pane, parse_pane
from tmuxorch.tmux.server import INSTALL_HINT, TmuxServer, binary


def _record(pane: libtmux.Pane) -> Pane:
    return parse_pane("\t".join(str(getattr(pane, name, None) or "") for name in PANE_FIELDS))


class LongLivedServer(TmuxServer):
    """A fleet's tmux server and its one session, through libtmux."""

    @functools.cached_property
    def server(self) -> libtmux.Server:
        return libtmux.Server(
            socket_name=self.socket, config_file=str(self.conf_path), tmux_bin=binary()
        )

    def _run(self, args: tuple[str, ...]) -> tuple[int, list[str], str]:
        try:
            proc = self.server.cmd(*args)
        except TmuxCommandNotFound:
            raise TmuxError(f"tmux is not installed: {INSTALL_HINT}") from None
        return proc.returncode or 0, proc.stdout, "\n".join(proc.stderr)

    def is_alive(self) -> bool:
        return self.server.is_alive()

    def _list_panes(self) -> list[Pane]:
        try:
            panes = self.server.panes
        except LibTmuxException:  # a server dying ("server exited unexpectedly"...)
            return []  # as a plain list-panes that fails: no panes
        return [_record(p) for p in panes if p.session_name == self.session]

    def _find_pane(self, pane_id: str) -> Pane | None:
        try:
            return _record(libtmux.Pane.from_pane_id(self.server, pane_id))
        except LibTmuxException:  # no such pane, or no server
            return None

    def kill_window(self, window_id: str) -> None:
        with contextlib.suppress(LibTmuxException):  # gone already
            libtmux.Window(server=self.server, window_id=window_id).kill()

    def select_window(self, window_id: str) -> None:
        try:
            window = self.server.windows.get(window_id=window_id, default=None)
            if window is not None:
                window.select()
                return
        except LibTmuxException:
            pass
        raise TmuxError(f"tmux window {window_id} is gone")
