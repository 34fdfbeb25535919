"""Waking a lock's waiters: a private FIFO per waiter, one byte per release.

Each waiter blocks on its own FIFO in the home, and whoever frees a lock
writes a byte to the FIFO of every waiter on an overlapping path after
committing, so the hand-off costs one wake-up, not a poll.

On the auto-lock hook's hot path: stdlib and the store only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from tmuxorch.core.private import private_dir
from tmuxorch.core.records import Waiter

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.store.interface import Store


def _wake_dir(store: Store) -> str:
    return os.path.join(store.home, "lockwait")


def wake(store: Store, waiters: list[Waiter]) -> None:
    """Poke each waiter's FIFO (after the commit that freed something)."""
    for waiter in waiters:
        try:
            fd = os.open(
                os.path.join(_wake_dir(store), waiter.wake),
                os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW,
            )
        except OSError:
            continue  # gone, or not listening: it re-checks on its own
        try:
            os.write(fd, b"!")
        except OSError:
            pass  # the FIFO is full, so it has been woken already
        finally:
            os.close(fd)


def waiters_of(store: Store, paths: list[str]) -> list[Waiter]:
    found: dict[int, Waiter] = {}
    for path in paths:
        for waiter in store.waiters_overlapping(path):
            found[waiter.id] = waiter
    return list(found.values())


@contextlib.contextmanager
def wake_fifo(store: Store) -> Iterator[tuple[str, int]]:
    """A private FIFO opened read-write: a reader and a writer always exist, so
    ``select`` reports it readable only when someone wrote a byte."""
    directory = _wake_dir(store)
    private_dir(directory)
    name = f"{os.getpid()}-{os.urandom(4).hex()}"
    path = os.path.join(directory, name)
    os.mkfifo(path, 0o600)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW)
    except BaseException:
        _unlink(path)
        raise
    try:
        yield name, fd
    finally:
        os.close(fd)
        _unlink(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sleep_on(fd: int, timeout: float) -> None:
    import select  # here: only a waiting acquisition sleeps, and the hook pays for each import

    if timeout > 0:
        select.select([fd], [], [], timeout)
    with contextlib.suppress(OSError):
        while os.read(fd, 4096):
            pass
