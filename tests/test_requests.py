"""Requests from one host to another's daemon (issue 16), over one
PostgreSQL database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.helpers import retry_until
from tests.pgserver import PgServer
from tmuxorch.core.errors import StoreUnreachable
from tmuxorch.core.records import Request
from tmuxorch.store.notify import wait_until
from tmuxorch.store.opening import open_store

T = TypeVar("T")


def test_a_wait_outlives_a_restart_of_the_database_server(
    tmp_path: Path, pg_server: PgServer, pg_url: str
) -> None:
    """A command waiting on the store (a request's answer, ``wait``) asks
    again once the restarted server answers, and sees what was written then."""
    home = tmp_path / "home"
    with open_store(home, url=pg_url) as waiter, open_store(home, url=pg_url) as daemon:
        asked = waiter.add_request("b", "w", "output", {})

        def answer() -> None:
            pg_server.restart()
            claimed = retry_until(lambda: _tried(lambda: daemon.claim_request("b", 1)))
            assert claimed is not None
            daemon.finish_request(claimed.id, "the screen")

        def answered() -> Request | None:
            request = waiter.get_request(asked)
            return request if request is not None and request.status == "done" else None

        answering = threading.Thread(target=answer)
        answering.start()
        try:
            done = wait_until(waiter, answered, 60, lambda: "no answer")
        finally:
            answering.join()
        assert done.result == "the screen"


def _tried(call: Callable[[], T]) -> T | None:
    """``call()``, or None while the server cannot be reached."""
    try:
        return call()
    except StoreUnreachable:
        return None
