"""Starting this host's daemon (the monitor) and knowing whether it runs: its
lock file, held by the one daemon of a home and host, and the detached
``python -m tmuxorch daemon`` the fleet starts when none holds it. Below the
fleet, so the fleet can start its daemon without importing it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import sys
from collections.abc import Iterator
from pathlib import Path

from tmuxorch.core import lazylog, private
from tmuxorch.core.config import Settings
from tmuxorch.core.errors import StoreError, TmuxorchError

logger = lazylog.getLogger(__name__)  # list --json runs through here

LOG_FILE = "monitor.log"
READY_FD = "TMUXORCH_MONITOR_READY_FD"
# How long a command waits for the monitor it started to hold its lock.
READY_WAIT = 30.0


class MonitorRunning(TmuxorchError):
    """Another monitor already holds this fleet's lock."""


def lock_file(home: Path, host: str) -> Path:
    """The lock of host ``host``'s daemon (it holds its pid): one per host,
    since hosts may share a home (a network file system)."""
    return home / f"monitor.{host}.lock"


@contextlib.contextmanager
def single_instance(home: Path, host: str) -> Iterator[None]:
    """Hold the host's daemon lock; the OS drops it if we die, even by -9."""
    private.check_home(home)
    fd = private.open_file(lock_file(home, host), os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MonitorRunning(f"a daemon of host {host} is already running for {home}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _tell_ready()
        yield
    finally:
        os.close(fd)


def _tell_ready() -> None:
    """Tell the command that started us that we hold the lock (see ``start``)."""
    ready = os.environ.pop(READY_FD, None)
    if ready and ready.isdigit():
        with contextlib.suppress(OSError):
            os.write(int(ready), b"1")
            os.close(int(ready))


def is_running(home: Path, host: str) -> bool:
    try:
        # Read-only is enough for flock, and works in a read-only home.
        fd = private.open_file(lock_file(home, host), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def ensure_running(settings: Settings) -> bool:
    """Start this host's daemon if none runs; True if one was started."""
    if is_running(settings.home, settings.host):
        return False
    start(settings)
    return True


def start(settings: Settings) -> None:
    """Start a detached monitor (it exits at once if another holds the lock)."""
    import subprocess  # start-up cost: list --json only asks whether one runs

    argv = [sys.executable, "-m", "tmuxorch", *settings.cli_options(), "daemon", "--until-idle"]
    logger.info("starting the monitor of %s (its log: %s)", settings.home, LOG_FILE)
    env = {k: v for k, v in os.environ.items() if k not in ("TMUXORCH_AGENT", "TMUX", "TMUX_PANE")}
    try:
        log = private.open_file(settings.home / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    except StoreError as exc:
        reason = getattr(exc.__cause__, "strerror", None) or exc
        raise StoreError(
            f"cannot start the monitor: {settings.home / LOG_FILE}: {reason}:"
            " make the home writable"
        ) from exc
    # Returns once the monitor holds its lock (or has exited): a command that
    # follows at once then sees it running and does not start a second one,
    # which would linger until the lock came free.
    ready, tell = os.pipe()
    try:
        subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**env, READY_FD: str(tell)},
            cwd=settings.home,
            start_new_session=True,  # outlives the CLI call and its terminal
            close_fds=True,
            pass_fds=(tell,),
        )
        os.close(tell)
        tell = -1
        select.select([ready], [], [], READY_WAIT)  # a byte, or EOF if it exited
    finally:
        os.close(log)
        os.close(ready)
        if tell != -1:
            os.close(tell)
