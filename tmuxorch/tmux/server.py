"""The fleet's private tmux server.

One server per fleet on its own socket, started with tmuxorch's own minimal
config (``conf``, never ``~/.tmux.conf``), one session, one window per
agent. Panes are always targeted by their ``%id``: names are for people, ids
never move.

``TmuxServer`` runs each command as a plain tmux process: short CLI commands
(``send``, ``kill``, ``attach``...) do not pay libtmux's import. Measured as
whole processes on this 2-core machine (median CPU of 15 runs): ``python -c
pass`` 24 ms, plus one ``tmux list-panes`` by subprocess 33 ms, the same call
through libtmux, import included, 95 ms (2.97x): a short command would pay
over 60 ms for nothing. The processes that live long (the monitor, the MCP
server, the live dashboard) open the same server through libtmux's objects
instead (``open_server``, ``longlived``): they pay that import once.
"""

from __future__ import annotations

import contextlib
import functools
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

from tmuxorch.core import lazylog, private
from tmuxorch.core.errors import TmuxError
from tmuxorch.tmux.conf import config_text
from tmuxorch.tmux.panes import PANE_FORMAT, Pane, arg, literal, parse_pane, program

logger = lazylog.getLogger(__name__)  # list --json runs through here

MIN_VERSION = (3, 2)
# Imported where used: subprocess, shutil and uuid, since ``list --json``
# loads this module with Fleet and, while the monitor runs, calls no tmux.
INSTALL_HINT = "install it with your package manager, e.g. apt-get install tmux"
# Bytes of arguments per tmux client call: the client sends its command to
# the server in one message of at most 16 KB ("command too long" beyond).
_BATCH_BYTES = 8 * 1024


@functools.lru_cache(maxsize=1)
def binary() -> str:
    import shutil  # start-up cost: see the imports

    found = shutil.which("tmux")
    if not found:
        raise TmuxError(f"tmux is not installed: {INSTALL_HINT}")
    return found


@functools.lru_cache(maxsize=1)
def version() -> tuple[int, int]:
    import subprocess  # start-up cost: see the imports

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


class TmuxServer:
    """A fleet's tmux server and its one session."""

    def __init__(self, socket: str, session: str, conf_path: Path) -> None:
        self.socket = socket
        self.session = session
        self.conf_path = conf_path

    # -- running commands -------------------------------------------------------

    def _argv(self, args: Iterable[str]) -> list[str]:
        return [binary(), "-L", self.socket, "-f", str(self.conf_path), *args]

    def cmd(self, *args: str, check: bool = True) -> list[str]:
        """Run one tmux command on the fleet's server; stdout lines."""
        logger.debug("tmux %s", shlex.join(args))
        code, lines, errors = self._run(args)
        if check and code != 0:
            message = " ".join(errors.split("\n")).strip() or f"exit {code}"
            raise TmuxError(f"tmux {args[0]}: {message}")
        return lines

    def _run(self, args: tuple[str, ...]) -> tuple[int, list[str], str]:
        """One tmux client process: exit status, stdout lines, stderr."""
        import subprocess  # start-up cost: see the imports

        try:
            proc = subprocess.run(
                self._argv(args), capture_output=True, text=True, encoding="utf-8",
                errors="backslashreplace", check=False,
            )  # fmt: skip
        except FileNotFoundError:
            raise TmuxError(f"tmux is not installed: {INSTALL_HINT}") from None
        lines = proc.stdout.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        return proc.returncode, lines, proc.stderr

    def _run_stdin(self, args: Iterable[str], data: bytes) -> None:
        import subprocess  # start-up cost: see the imports

        proc = subprocess.run(
            self._argv(args), input=data, capture_output=True, timeout=30, check=False
        )
        if proc.returncode != 0:
            raise TmuxError(
                f"tmux {next(iter(args))}: {proc.stderr.decode(errors='replace').strip()}"
            )

    def is_alive(self) -> bool:
        import subprocess  # start-up cost: see the imports

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
        tail = ["-P", "-F", PANE_FORMAT, "-c", arg(literal(cwd)), *env_args]
        tail += map(arg, program(argv))
        name = literal(name)
        for _ in range(3):
            if self.has_session():
                lines = self.cmd("new-window", "-d", "-t", f"={self.session}:", "-n", name, *tail)
                return parse_pane(lines[0])
            proc_lines = self.cmd(
                "new-session", "-d", "-s", literal(self.session), "-n", name,
                "-x", str(width), "-y", str(height), *tail, check=False,
            )  # fmt: skip
            if proc_lines and "\t" in proc_lines[0]:
                return parse_pane(proc_lines[0])
            # Lost a race with a concurrent spawn that created the session: retry.
        raise TmuxError(f"cannot create tmux session {self.session!r} on socket {self.socket!r}")

    def panes(self) -> dict[str, Pane]:
        """Every pane of the fleet session, by pane id (one tmux call)."""
        for attempt in range(2):
            panes = {p.pane_id: p for p in self._list_panes()}
            if attempt or not any(p.dead and p.dead_status is None for p in panes.values()):
                break
            self.reap()
        return panes

    def pane(self, pane_id: str) -> Pane | None:
        for attempt in range(2):
            pane = self._find_pane(pane_id)
            if pane is None:
                return None
            if attempt or not (pane.dead and pane.dead_status is None):
                break
            self.reap()
        return pane

    def _list_panes(self) -> list[Pane]:
        lines = self.cmd(
            "list-panes", "-s", "-t", f"={self.session}", "-F", PANE_FORMAT, check=False
        )
        return [parse_pane(line) for line in lines if "\t" in line]

    def _find_pane(self, pane_id: str) -> Pane | None:
        lines = self.cmd("display-message", "-p", "-t", pane_id, PANE_FORMAT, check=False)
        pane = parse_pane(lines[0]) if lines and "\t" in lines[0] else None
        # For a pane that is gone, tmux 3.3 prints the format empty (exit 0).
        return pane if pane is not None and pane.pane_id else None

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
        import uuid  # start-up cost: see the imports

        buffer = f"tmuxorch-{uuid.uuid4().hex}"
        self._run_stdin(["load-buffer", "-b", buffer, "-"], text.encode("utf-8"))
        try:
            self.cmd("paste-buffer", "-p", "-d", "-b", buffer, "-t", pane_id)
        except TmuxError:
            self.cmd("delete-buffer", "-b", buffer, check=False)
            raise

    def kill_window(self, window_id: str) -> None:
        self.cmd("kill-window", "-t", window_id, check=False)

    def rename_window(self, window_id: str, name: str) -> None:
        self.cmd("rename-window", "-t", window_id, literal(name))

    def select_window(self, window_id: str) -> None:
        """Make the agent's window the session's current one (for attach)."""
        try:
            self.cmd("select-window", "-t", window_id)
        except TmuxError:
            raise TmuxError(f"tmux window {window_id} is gone") from None


def open_server(socket: str, session: str, conf_path: Path, *, long_lived: bool) -> TmuxServer:
    """The fleet's server as a process that lives ``long_lived`` should drive it."""
    if not long_lived:
        return TmuxServer(socket, session, conf_path)
    # Here: only the processes that live long import libtmux (see longlived).
    from tmuxorch.tmux.longlived import LongLivedServer

    return LongLivedServer(socket, session, conf_path)
