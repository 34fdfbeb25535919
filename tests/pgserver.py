"""A real PostgreSQL server for the tests, started once per test session in a
temporary directory: initdb, then pg_ctl on a unix socket there (no TCP port
to collide with anything), stopped at the end of the session.

Without PostgreSQL's binaries the tests that need it are skipped, saying so,
unless TMUXORCH_REQUIRE_POSTGRES=1 (``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

# The superuser the tests administer the server as (trusted on the socket),
# and a role that must give its password (for the wrong-credentials test).
ADMIN = "tmuxorch"
# Read now: the ``env`` fixture clears TMUXORCH_* before a test asks.
REQUIRED = os.environ.get("TMUXORCH_REQUIRE_POSTGRES") == "1"
PASSWORD_ROLE, PASSWORD = "fleet", "right-password"


def _binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's place."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).resolve().parent)):
        return Path(found).resolve().parent
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(bindir) / "initdb").exists() and (Path(bindir) / "pg_ctl").exists():
            return Path(bindir)
    return None


class PgServer:
    """The session's server: URLs to fresh databases on it."""

    def __init__(self, socket_dir: Path, restart: Callable[[], None]) -> None:
        self.socket_dir = socket_dir
        self.restart = restart  # stop the server (dropping every connection), start it again
        self._names = itertools.count(1)

    def url(self, database: str, user: str = ADMIN, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}"

    def admin(self, sql: str, url: str | None = None) -> None:
        """Run ``sql`` as the superuser, in the server's own database or ``url``'s."""
        import psycopg

        with psycopg.connect(url or self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """The URL of a new, empty database (dropped by ``drop``)."""
        name = f"fleet{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        name = url.split("@/", 1)[1].split("?", 1)[0]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run_as(user: pwd.struct_passwd | None, argv: list[str]) -> None:
    # initdb refuses to run as root: as root, run the server as an unprivileged user.
    command = argv if user is None else ["runuser", "-u", user.pw_name, "--", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()}")


@contextlib.contextmanager
def started() -> Iterator[PgServer | str]:
    """A running server, or the reason there is none."""
    bindir = _binaries()
    if bindir is None:
        yield "PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)"
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg is not installed (pip install -e '.[test]')"
        return
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    top = Path(tempfile.mkdtemp(prefix="tmuxorch-pg-"))
    data = top / "data"
    top.chmod(0o755)  # the server's user reaches its socket and data through it
    if user is not None:
        os.chown(top, user.pw_uid, user.pw_gid)
    pg_ctl = str(bindir / "pg_ctl")
    try:
        _run_as(user, [str(bindir / "initdb"), "-D", str(data), "-U", ADMIN, "-A", "trust"])
        (data / "pg_hba.conf").write_text(
            f"local all {ADMIN} trust\nlocal all all scram-sha-256\n", encoding="utf-8"
        )
        options = f"-c listen_addresses='' -k {top} -c fsync=off -c max_connections=200"
        control = [pg_ctl, "-D", str(data), "-o", options, "-l", str(top / "log"), "-w"]
        _run_as(user, [*control, "start"])
        server = PgServer(top, lambda: _run_as(user, [*control, "-m", "fast", "restart"]))
        server.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            _run_as(user, [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(top, ignore_errors=True)


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test for want of a server, or fail it with
    TMUXORCH_REQUIRE_POSTGRES=1 (CI)."""
    if REQUIRED:
        pytest.fail(f"TMUXORCH_REQUIRE_POSTGRES=1: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with started() as server:
        if isinstance(server, str):
            unavailable(server)
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh database of its own for one test."""
    url = pg_server.new_database()
    yield url
    pg_server.drop(url)
