"""Files in the fleet's home: ours, private, and never reached through a link.

The home holds the database, pane logs, screens and generated settings. A
home someone else owns or may write to, or a link planted in it, would hand
an agent's output to another user or make tmuxorch write where it points.
Stdlib only: the hooks open the home through here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time

from tmuxorch.core.errors import StoreError

# O_NONBLOCK: a FIFO planted where a file should be is refused, not waited on.
_NO_LINKS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def _owner(uid: int) -> str:
    import pwd  # here: only a refusal's message names the owner; the hooks pass here

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_home(home: str | os.PathLike[str], *, create: bool = True) -> None:
    """Create the home 0700, or refuse one that is not ours or not private."""
    try:
        if create:
            os.makedirs(home, mode=0o700, exist_ok=True)
        st = os.stat(home)
    except OSError as exc:
        raise StoreError(f"cannot use home {home}: {exc.strerror or exc}") from exc
    if st.st_uid == os.getuid() and not st.st_mode & 0o077:
        return
    import shlex  # only for the message: the hooks pass here on every call

    quoted = shlex.quote(os.fspath(home))
    if st.st_uid != os.getuid():
        raise StoreError(
            f"home {home} belongs to {_owner(st.st_uid)}, not to you: use a home of your own "
            f"(--home or TMUXORCH_HOME), or take it with chown {_owner(os.getuid())} {quoted}"
        )
    mode = oct(stat.S_IMODE(st.st_mode))[2:]
    raise StoreError(
        f"home {home} is open to others (mode {mode}): make it private with chmod 700 {quoted}"
    )


def check_entry(path: str | os.PathLike[str], st: os.stat_result, kind: int) -> None:
    """Refuse ``path`` (as ``lstat`` saw it) unless it is a ``kind`` of ours."""
    if stat.S_ISLNK(st.st_mode):
        raise StoreError(
            f"{path} is a symbolic link: tmuxorch follows no links in its home; remove it"
        )
    if stat.S_IFMT(st.st_mode) != kind:
        what = "directory" if kind == stat.S_IFDIR else "regular file"
        raise StoreError(f"{path} is not a {what}: remove it")
    if st.st_uid != os.getuid():
        raise StoreError(f"{path} belongs to {_owner(st.st_uid)}, not to you: remove it")


def private_dir(path: str | os.PathLike[str]) -> None:
    """A directory of the home (``logs``, ``screens``...), made 0700: one found
    looser was made by us in our private home, so it is tightened."""
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        st = os.lstat(path)
    except OSError as exc:
        raise StoreError(f"cannot use {path}: {exc.strerror or exc}") from exc
    check_entry(path, st, stat.S_IFDIR)
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def open_file(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` of a regular file of ours, created 0600 and made 0600,
    never through a link. A missing file raises FileNotFoundError."""
    try:
        fd = os.open(path, flags | _NO_LINKS, 0o600)
    except FileNotFoundError:
        raise
    except OSError as exc:
        try:
            st = os.lstat(path)
        except OSError:
            raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from exc
        check_entry(path, st, stat.S_IFREG)
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        check_entry(path, st, stat.S_IFREG)
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_text(path: str | os.PathLike[str]) -> str:
    with os.fdopen(open_file(path, os.O_RDONLY), "r", encoding="utf-8") as handle:
        return handle.read()


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` whole with ``data``, 0600: written under a fresh name
    and renamed over it (a rename replaces a link, it never follows one)."""
    name = os.fspath(path)
    tmp = os.path.join(
        os.path.dirname(name), f".{os.path.basename(name)}.{os.getpid()}.{time.monotonic_ns()}"
    )
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_LINKS, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
