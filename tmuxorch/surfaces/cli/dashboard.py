"""The live dashboard (``dashboard``/``top``) and ``status-line``.

The view wakes on three things only: a key on stdin, a store change (the
``Store.changes()``, relayed through a pipe so that one ``select``
waits on everything) and the turn of each wall-clock second, for the
time-in-state column. Each wake is a store read; nothing here looks at a
pane, and a frame that would look the same is not drawn again.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import click

from tmuxorch.core.errors import TmuxorchError
from tmuxorch.surfaces.cli.common import Obj, fleet, handle_errors

if TYPE_CHECKING:
    from tmuxorch.fleet.lifecycle import Fleet
    from tmuxorch.surfaces.dashboard import Teammates

# Coalesce bursts of store writes (a turn is several events) into one read:
# read 50 ms after a change, and at most ten times a second.
_SETTLE = 0.05
_READ_GAP = 0.1


@click.command("status-line")
@click.option("--plain", is_flag=True, help="Without tmux colour codes.")
@handle_errors
def status_line(plain: bool) -> None:
    """Busy / waiting / error counts for tmux's status-right (a store read only)."""
    from tmuxorch.surfaces.statusline import read_counts, segment

    obj = click.get_current_context().find_object(Obj)
    assert obj is not None
    home = Path(obj.home).expanduser().absolute() if obj.home else obj.settings().home
    click.echo(segment(read_counts(home), styles=not plain))


@click.command()
@click.option("--once", is_flag=True, help="Print one frame and exit (no terminal needed).")
@handle_errors
def dashboard(once: bool) -> None:
    """A live view of the fleet (alias: top).

    Agents waiting for an answer come first, with the prompt's text. Keys act
    on the selected agent: up/down or j/k select, a attach, y approve, n deny,
    i interrupt, q quit.
    """
    from rich.console import Console

    from tmuxorch.core.records import now
    from tmuxorch.fleet.lifecycle import Fleet
    from tmuxorch.surfaces.dashboard import read_rows, render

    f = fleet()
    with contextlib.suppress(Exception):  # mark agents whose pane died (one tmux call)
        f.refresh()
    if once:
        console = Console(highlight=False)
        rows = read_rows(f.store, _teammates(f))
        console.print(render(rows, now=now(), width=console.width, live=False))
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise click.UsageError("dashboard needs a terminal (use --once to print one frame)")
    # It lives long: its keys drive the panes through libtmux (tmux.longlived).
    with Fleet(f.settings, long_lived=True) as live:
        LiveDashboard(live, Console(highlight=False)).run()


class Terminal:
    """stdin delivering keys one by one, unechoed (Ctrl-C arrives as a key);
    the saved mode comes back however the dashboard ends."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved = termios.tcgetattr(fd)

    def keys_mode(self) -> None:
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSADRAIN, mode)

    def restore(self) -> None:
        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def __enter__(self) -> Terminal:
        self.keys_mode()
        return self

    def __exit__(
        self, tp: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()


@contextlib.contextmanager
def _signals(wake_fd: int) -> Iterator[None]:
    """SIGTERM/SIGHUP end the view through the normal exits (the terminal is
    restored); SIGWINCH asks for a redraw at the new size."""

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def resized(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(OSError):
            os.write(wake_fd, b"w")

    previous = {
        sig: signal.signal(sig, handler)
        for sig, handler in (
            (signal.SIGTERM, leave),
            (signal.SIGHUP, leave),
            (signal.SIGWINCH, resized),
        )
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _relay(waker: Any, wake_fd: int, stop: threading.Event) -> None:
    """Turn store changes into a byte on the wake pipe."""
    while not stop.is_set():
        if waker.wait(0.25) and not stop.is_set():
            with contextlib.suppress(BlockingIOError):
                os.write(wake_fd, b"s")


class LiveDashboard:
    """The full-screen view and its keys over one fleet."""

    def __init__(self, fleet: Any, console: Any) -> None:
        from tmuxorch.surfaces.dashboard import Row

        self.fleet = fleet
        self.console = console
        self.rows: list[Row] = []
        self.selected: str | None = None
        self.message = ""
        self.live: Any = None
        self.terminal = Terminal(sys.stdin.fileno())
        self._drawn: object = None
        self.clock = 0.0  # the time ages are shown at (the last tick)

    def run(self) -> None:
        from rich.live import Live

        wake_r, wake_w = os.pipe()
        for fd in (wake_r, wake_w):
            os.set_blocking(fd, False)
        stop = threading.Event()
        waker = self.fleet.store.changes()
        relay = threading.Thread(target=_relay, args=(waker, wake_w, stop), daemon=True)
        relay.start()
        try:
            with (
                _signals(wake_w),
                self.terminal,
                Live(
                    console=self.console, screen=True, auto_refresh=False,
                    redirect_stdout=False, redirect_stderr=False,
                ) as live,
            ):  # fmt: skip
                self.live = live
                self._loop(wake_r)
        finally:
            stop.set()
            relay.join(timeout=2)
            waker.close()
            os.close(wake_r)
            os.close(wake_w)

    def _loop(self, wake_fd: int) -> None:
        from tmuxorch.surfaces.dashboard import parse_keys

        stdin = self.terminal.fd
        read_at = reread_at = tick_at = 0.0
        while True:
            timeout = max(0.0, min(reread_at, tick_at) - time.monotonic())
            readable = select.select([stdin, wake_fd], [], [], timeout)[0]
            force = False
            if wake_fd in readable:
                with contextlib.suppress(BlockingIOError):
                    data = os.read(wake_fd, 4096)
                    if b"s" in data:
                        soon = max(time.monotonic() + _SETTLE, read_at + _READ_GAP)
                        reread_at = min(reread_at, soon)
                    force = b"w" in data
            if stdin in readable:
                data = os.read(stdin, 1024)
                if not data:
                    return  # the terminal went away
                for key in parse_keys(data):
                    if key == "quit":
                        return
                    self._key(key)
                    reread_at, force = 0.0, True
            clock = time.monotonic()
            if clock >= tick_at:
                # Ages are taken at the turn of each wall-clock second only, so
                # that the frames drawn between two ticks (store wakes, keys)
                # do not each move some agent's age label: one redraw a second.
                self.clock = time.time()
                tick_at = clock + 1.0 - math.fmod(self.clock, 1.0)
                reread_at = 0.0
            if clock >= reread_at:
                self._read()
                read_at, reread_at = clock, math.inf
            self._draw(force)

    def _read(self) -> None:
        from tmuxorch.surfaces.dashboard import move, read_rows

        self.rows = read_rows(self.fleet.store, _teammates(self.fleet))
        if self.selected not in {r.name for r in self.rows}:
            self.selected = move(self.rows, None, "home")

    def _draw(self, force: bool = False) -> None:
        from tmuxorch.surfaces.dashboard import render, signature

        stamp = self.clock
        size = self.console.size
        drawn = (signature(self.rows, stamp), self.selected, self.message, size)
        if drawn == self._drawn and not force:
            return
        self._drawn = drawn
        frame = render(
            self.rows, now=stamp, width=size.width, height=size.height,
            selected=self.selected, message=self.message,
        )  # fmt: skip
        self.live.update(frame, refresh=True)

    def _key(self, key: str) -> None:
        from tmuxorch.surfaces.dashboard import move

        if key in ("up", "down", "home", "end", "pageup", "pagedown"):
            page = max(1, self.console.size.height - 10)
            self.selected = move(self.rows, self.selected, key, page=page)
            return
        name = self.selected
        if name is None:
            self.message = "no agent selected"
            return
        if key == "attach":
            self._attach(name)
            return
        from tmuxorch.fleet import control

        actions: dict[str, tuple[Callable[[Any, str], None], str]] = {
            "approve": (control.approve, "approved"),
            "deny": (control.deny, "denied"),
            "interrupt": (control.interrupt, "interrupted"),
        }
        action, done = actions[key]
        self.message = f"{key} {name}…"
        self._draw()
        try:
            action(self.fleet, name)
        except TmuxorchError as exc:
            self.message = f"{key} {name}: {exc}"
        else:
            self.message = f"{done} {name}"

    def _attach(self, name: str) -> None:
        """Leave the view for ``tmuxorch attach NAME``; come back when it returns
        (on detach; at once when it only switched this tmux client)."""
        settings = self.fleet.settings
        argv = [sys.executable, "-m", "tmuxorch", *settings.cli_options(), "attach", name]
        self.live.stop()
        self.terminal.restore()
        try:
            proc = subprocess.run(argv, stderr=subprocess.PIPE, check=False)
        finally:
            self.terminal.keys_mode()
            self.live.start()
        errors = proc.stderr.decode(errors="replace").strip().splitlines()
        self.message = errors[-1] if proc.returncode and errors else f"attached {name}"


def _teammates(fleet: Fleet) -> Teammates:
    """Each agent's Claude Code teammates as the dashboard lists them."""
    from tmuxorch.fleet.teammates import teammates

    return lambda agent: [(t.name, t.state, t.since) for t in teammates(fleet, agent)]
