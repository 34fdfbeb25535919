"""The fleet's private tmux server.

One server per fleet on its own socket, started with tmuxorch's own minimal
config (never ``~/.tmux.conf``), one session, one window per agent. Panes are
always targeted by their ``%id``: names are for people, ids never move.

Commands run as plain tmux processes; libtmux's object model (``server``:
sessions, windows, panes) is there for the few callers that walk it, and is
imported only by them: importing libtmux costs about 50 ms, which every
`list`, `send` and `wait` would otherwise pay.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tmuxorch.core import private
from tmuxorch.core.errors import TmuxError

if TYPE_CHECKING:
    import libtmux

logger = logging.getLogger(__name__)

MIN_VERSION = (3, 2)
# Signalled by the server's own hooks when a pane dies or a window closes;
# the monitor blocks on it with ``wait-for`` instead of polling panes.
WAKE_CHANNEL = "tmuxorch-changed"
INSTALL_HINT = "install it with your package manager, e.g. apt-get install tmux"
# The status line's command (``tmuxorch status-line``) lives in this user
# option; tmux runs it every STATUS_INTERVAL seconds while a client is attached.
STATUS_OPTION = "@tmuxorch-status"
STATUS_INTERVAL = 5
# Bytes of arguments per tmux client call: the client sends its command to
# the server in one message of at most 16 KB ("command too long" beyond).
_BATCH_BYTES = 8 * 1024

_PANE_FORMAT = "\t".join(
    (
        "#{pane_id}",
        "#{window_id}",
        "#{window_name}",
        "#{pane_pid}",
        "#{pane_dead}",
        "#{pane_dead_status}",
        "#{pane_dead_signal}",
        "#{pane_in_mode}",
        "#{cursor_x}",
        "#{cursor_y}",
        "#{pane_height}",
        "#{pane_width}",
    )
)


@dataclass(frozen=True)
class Pane:
    pane_id: str
    window_id: str
    window_name: str
    pid: int | None
    dead: bool
    dead_status: int | None
    in_mode: bool
    cursor_x: int
    cursor_y: int
    height: int
    width: int


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


def _parse_pane(line: str) -> Pane:
    f = line.split("\t")
    signal = _int(f[6])
    return Pane(
        pane_id=f[0],
        window_id=f[1],
        window_name=f[2],
        pid=_int(f[3]),
        dead=f[4] == "1",
        # A process killed by a signal reports it as a shell would: 128 + N.
        dead_status=_int(f[5]) if signal is None else 128 + signal,
        in_mode=f[7] == "1",
        cursor_x=_int(f[8]) or 0,
        cursor_y=_int(f[9]) or 0,
        height=_int(f[10]) or 0,
        width=_int(f[11]) or 0,
    )


def arg(text: str) -> str:
    """Protect one argument from tmux's command parser.

    tmux treats an argument ending in ``;`` as a command separator (and turns
    a final ``\\;`` into ``;``), so a trailing ``;`` is written as ``\\;``:
    the text then arrives unchanged, even when it ends in a backslash.
    """
    return text[:-1] + "\\;" if text.endswith(";") else text


def literal(text: str) -> str:
    """``text`` for an argument tmux expands as a format (``new-window -c``
    and ``-n``, ``new-session -s``): ``#`` doubled arrives as written, so a
    path like ``d#(cmd)`` runs nothing and ``build#Debug`` stays itself."""
    return text.replace("#", "##")


def _program(argv: list[str]) -> list[str]:
    # tmux runs a lone argument through ``sh -c``: quote it so a program path
    # with spaces or ``$(...)`` is a path, not shell code.
    return [f"exec {shlex.quote(argv[0])}"] if len(argv) == 1 else argv


@functools.lru_cache(maxsize=1)
def binary() -> str:
    found = shutil.which("tmux")
    if not found:
        raise TmuxError(f"tmux is not installed: {INSTALL_HINT}")
    return found


@functools.lru_cache(maxsize=1)
def version() -> tuple[int, int]:
    try:
        out = subprocess.run(
            [binary(), "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError as exc:
        raise TmuxError(f"cannot run tmux: {exc}") from exc
    match = re.search(r"(\d+)\.(\d+)", out)
    if "master" in out or "next" in out:
        return (99, 0)
    if not match:
        raise TmuxError(f"cannot tell the tmux version from {out.strip()!r}")
    return (int(match.group(1)), int(match.group(2)))


def check_version() -> None:
    found = version()
    if found < MIN_VERSION:
        need = ".".join(map(str, MIN_VERSION))
        have = ".".join(map(str, found))
        raise TmuxError(f"tmux {have} is too old: tmuxorch needs tmux {need} or newer")


def config_quote(text: str) -> str:
    """``text`` as one double-quoted word of a tmux config file."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def status_lines(status_command: str | None) -> tuple[str, ...]:
    """The status line runs ``status_command`` (a shell command) every few
    seconds. It is kept in a user option and run as ``#(#{@option})``: tmux
    expands the option inside ``#()`` without reading formats, strftime
    escapes or parentheses in it, so any path survives."""
    if status_command is None:
        return ()
    return (
        f"set -g {STATUS_OPTION} {config_quote(status_command)}",
        f'set -g status-right "#(#{{{STATUS_OPTION}}}) "',
        "set -g status-right-length 60",
        f"set -g status-interval {STATUS_INTERVAL}",
    )


def config_text(
    history_limit: int, width: int, height: int, status_command: str | None = None
) -> str:
    """tmuxorch's own server config: small, and never the user's ~/.tmux.conf."""
    return "\n".join(
        (
            "# Written by tmuxorch for its private server; edits are overwritten.",
            # Keep an exited agent's pane so its last screen and status survive.
            "set -g remain-on-exit on",
            f"set -g history-limit {history_limit}",
            f"set -g default-size {width}x{height}",
            # Window names are agent names: never let programs or tmux rename them.
            "set -g allow-rename off",
            "setw -g automatic-rename off",
            # A lone ESC must reach the agent at once (it interrupts Claude).
            "set -s escape-time 10",
            "set -g focus-events on",
            "setw -g aggressive-resize on",
            "set -g set-titles on",
            'set -g set-titles-string "tmuxorch: #W"',
            'set -g status-left "[tmuxorch] "',
            f"set-hook -g pane-died 'wait-for -S {WAKE_CHANNEL}'",
            f"set-hook -g window-unlinked 'wait-for -S {WAKE_CHANNEL}'",
            "set -g status-left-length 20",
            *status_lines(status_command),
            "",
        )
    )


class TmuxServer:
    """A fleet's tmux server and its one session."""

    def __init__(self, socket: str, session: str, conf_path: Path) -> None:
        self.socket = socket
        self.session = session
        self.conf_path = conf_path

    @functools.cached_property
    def server(self) -> libtmux.Server:
        """libtmux's view of the fleet's server (imported on first use)."""
        import libtmux

        return libtmux.Server(socket_name=self.socket, config_file=str(self.conf_path))

    # -- running commands -------------------------------------------------------

    def _argv(self, args: Iterable[str]) -> list[str]:
        return [binary(), "-L", self.socket, "-f", str(self.conf_path), *args]

    def cmd(self, *args: str, check: bool = True) -> list[str]:
        """Run one tmux command on the fleet's server; stdout lines."""
        logger.debug("tmux %s", shlex.join(args))
        try:
            proc = subprocess.run(
                self._argv(args), capture_output=True, text=True, encoding="utf-8",
                errors="backslashreplace", check=False,
            )  # fmt: skip
        except FileNotFoundError:
            raise TmuxError(f"tmux is not installed: {INSTALL_HINT}") from None
        if check and proc.returncode != 0:
            message = " ".join(proc.stderr.split("\n")).strip() or f"exit {proc.returncode}"
            raise TmuxError(f"tmux {args[0]}: {message}")
        lines = proc.stdout.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def _run_stdin(self, args: Iterable[str], data: bytes) -> None:
        proc = subprocess.run(
            self._argv(args), input=data, capture_output=True, timeout=30, check=False
        )
        if proc.returncode != 0:
            raise TmuxError(
                f"tmux {next(iter(args))}: {proc.stderr.decode(errors='replace').strip()}"
            )

    def is_alive(self) -> bool:
        try:
            return (
                subprocess.run(self._argv(["list-sessions"]), capture_output=True).returncode == 0
            )
        except FileNotFoundError:
            return False

    def has_session(self) -> bool:
        # A dead server answers with an error and no lines: no session.
        return self.session in self.cmd("list-sessions", "-F", "#{session_name}", check=False)

    def write_config(
        self, history_limit: int, width: int, height: int, status_command: str | None = None
    ) -> None:
        text = config_text(history_limit, width, height, status_command)
        with contextlib.suppress(FileNotFoundError):
            if private.read_text(self.conf_path) == text:
                return
        private.write_file(self.conf_path, text.encode())

    # -- windows and panes --------------------------------------------------------

    def new_window(
        self,
        name: str,
        argv: list[str],
        cwd: str,
        env: Mapping[str, str],
        *,
        width: int,
        height: int,
    ) -> Pane:
        """Start ``argv`` in a new window named ``name``; create the session if needed."""
        env_args: list[str] = []
        for key, value in env.items():
            env_args += ["-e", arg(f"{key}={value}")]
        tail = ["-P", "-F", _PANE_FORMAT, "-c", arg(literal(cwd)), *env_args]
        tail += map(arg, _program(argv))
        name = literal(name)
        for _ in range(3):
            if self.has_session():
                lines = self.cmd("new-window", "-d", "-t", f"={self.session}:", "-n", name, *tail)
                return _parse_pane(lines[0])
            proc_lines = self.cmd(
                "new-session", "-d", "-s", literal(self.session), "-n", name,
                "-x", str(width), "-y", str(height), *tail, check=False,
            )  # fmt: skip
            if proc_lines and "\t" in proc_lines[0]:
                return _parse_pane(proc_lines[0])
            # Lost a race with a concurrent spawn that created the session: retry.
        raise TmuxError(f"cannot create tmux session {self.session!r} on socket {self.socket!r}")

    def panes(self) -> dict[str, Pane]:
        """Every pane of the fleet session, by pane id (one tmux call)."""
        for attempt in range(2):
            lines = self.cmd(
                "list-panes", "-s", "-t", f"={self.session}", "-F", _PANE_FORMAT, check=False
            )
            panes = {p.pane_id: p for p in (_parse_pane(x) for x in lines if "\t" in x)}
            if attempt or not any(p.dead and p.dead_status is None for p in panes.values()):
                break
            self.reap()
        return panes

    def pane(self, pane_id: str) -> Pane | None:
        for attempt in range(2):
            lines = self.cmd("display-message", "-p", "-t", pane_id, _PANE_FORMAT, check=False)
            if not lines or "\t" not in lines[0]:
                return None
            pane = _parse_pane(lines[0])
            if attempt or not (pane.dead and pane.dead_status is None):
                break
            self.reap()
        return pane

    def reap(self) -> None:
        """Make tmux collect exited children now.

        tmux can show a dead pane with no exit status until another child of
        the server exits (its SIGCHLD handling can miss one); a throwaway
        ``run-shell`` job is such a child.
        """
        self.cmd("run-shell", "true", check=False)

    def pipe_to(self, pane_id: str, log_path: Path) -> None:
        """Stream everything the pane prints to ``log_path``.

        tmux expands formats and strftime escapes in the pipe command, so ``#``
        and ``%`` are doubled; the path is shell-quoted for the ``sh -c`` that
        runs it.
        """
        quoted = "'" + str(log_path).replace("'", "'\\''") + "'"
        command = literal(f"exec cat >> {quoted}").replace("%", "%%")
        self.cmd("pipe-pane", "-o", "-t", pane_id, arg(command))

    def capture(
        self, pane_id: str, *, start: int | str | None = None, escapes: bool = False
    ) -> str:
        args = ["capture-pane", "-p", "-t", pane_id]
        if start is not None:
            args += ["-S", str(start)]
        if escapes:
            args.append("-e")
        else:
            args.append("-J")  # join wrapped lines: patterns see logical lines
        return "\n".join(self.cmd(*args))

    def leave_mode(self, pane_id: str) -> None:
        """Leave copy-mode (or any mode): keys typed in a mode never reach the program."""
        pane = self.pane(pane_id)
        if pane is not None and pane.in_mode:
            self.cmd("send-keys", "-t", pane_id, "-X", "cancel", check=False)

    def send_literal(self, pane_id: str, text: str) -> None:
        self.cmd("send-keys", "-t", pane_id, "-l", "--", arg(text))

    def run_batch(self, commands: list[list[str]], per_call: int = 64) -> None:
        """Run many commands in few tmux processes, ``;``-separated, each
        process's arguments within what tmux takes in one message."""
        argv: list[str] = []
        count = size = 0
        for command in commands:
            length = sum(len(a.encode("utf-8")) + 1 for a in command)
            if argv and (count == per_call or size + length > _BATCH_BYTES):
                self.cmd(*argv)
                argv, count, size = [], 0, 0
            argv += [*([";"] if argv else []), *command]
            count, size = count + 1, size + length + 2
        if argv:
            self.cmd(*argv)

    def send_keys(self, pane_id: str, *keys: str) -> None:
        self.cmd("send-keys", "-t", pane_id, *keys)

    def paste(self, pane_id: str, text: str) -> None:
        """Paste ``text`` through a uniquely named buffer, bracketed when the app asks.

        Bracketed paste makes the agent take newlines, tabs and escape bytes as
        text; ``-d`` deletes the buffer so nothing lingers for the next paste.
        """
        buffer = f"tmuxorch-{uuid.uuid4().hex}"
        self._run_stdin(["load-buffer", "-b", buffer, "-"], text.encode("utf-8"))
        try:
            self.cmd("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id)
        except TmuxError:
            self.cmd("delete-buffer", "-b", buffer, check=False)
            raise

    def kill_window(self, window_id: str) -> None:
        self.cmd("kill-window", "-t", window_id, check=False)

    def select_window(self, window_id: str) -> None:
        """Make the agent's window the session's current one (for attach)."""
        window = self.server.windows.get(window_id=window_id, default=None)
        if window is None:
            raise TmuxError(f"tmux window {window_id} is gone")
        window.select()
