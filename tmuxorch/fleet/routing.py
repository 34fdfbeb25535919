"""What needs another host's tmux goes to that host's daemon: a request row
(``Store.add_request``) it claims, carries out with the same fleet functions
(``fleet.carrying``) and answers; the asking command waits for the answer
on the store's changes, as every command waits.

An agent of this host (or of no host: a fleet from before hosts) takes the
local path, unchanged: one comparison of names.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from tmuxorch.core import errors
from tmuxorch.core.errors import HostUnavailable, TmuxorchError
from tmuxorch.core.records import Agent, Request

if TYPE_CHECKING:
    from tmuxorch.fleet.lifecycle import Fleet

# How long a command waits for another host's answer beyond the longest of
# what it may ask (a clear or a deny's reason waits up to the delivery's
# ready_timeout there): the daemon's turn and the typing, on a loaded machine.
MARGIN = 30.0


def elsewhere(fleet: Fleet, agent: Agent) -> str | None:
    """The host that runs ``agent``, when it is not this one."""
    return None if fleet.mine(agent) else agent.host


def check_host(fleet: Fleet, host: str) -> None:
    """HostUnavailable, one line, unless ``host``'s daemon heartbeats."""
    known = {h.name: h for h in fleet.store.hosts()}
    found = known.get(host)
    if found is None:
        names = ", ".join(sorted(known)) or "none yet"
        raise HostUnavailable(
            f"no host named {host!r} in this fleet (hosts: {names}): "
            f"start `tmuxorch daemon` there with TMUXORCH_HOST={host}"
        )
    silent = time.time() - found.last_seen
    if found.state == "lost" or silent > fleet.config.host.lost_after:
        raise HostUnavailable(
            f"host {host!r} is lost (no heartbeat for {silent:.0f} s): "
            "is `tmuxorch daemon` running there?"
        )


def ask(
    fleet: Fleet,
    host: str,
    agent: str,
    op: str,
    args: dict[str, Any] | None = None,
    *,
    longer: float = 0.0,
) -> Any:
    """Have ``host``'s daemon carry out ``op`` on ``agent``; its result (JSON).
    Its error is raised here as the same kind of error, in one line. It may
    take ``longer`` than the delivery's ready_timeout there (a stop's own)."""
    timeout = fleet.config.delivery.ready_timeout + MARGIN + longer
    # Start-up cost: watchdog, which only a request to another host waits with.
    from tmuxorch.store.notify import wait_until

    check_host(fleet, host)
    store = fleet.store
    request_id = store.add_request(host, agent, op, args or {})

    def answered() -> Request | None:
        request = store.get_request(request_id)
        if request is None or request.status in ("done", "failed"):
            return request
        try:
            check_host(fleet, host)
        except HostUnavailable:
            store.cancel_request(request_id, f"host {host!r} lost")
            raise
        return None

    def timed_out() -> str:
        if store.cancel_request(request_id, "the asking command gave up"):
            return f"host {host!r} did not take the request ({op} {agent}) in {timeout:.0f} s"
        return (
            f"host {host!r} took the request ({op} {agent}) but gave no answer in {timeout:.0f} s"
        )

    try:
        request = wait_until(store, answered, timeout, timed_out)
    except KeyboardInterrupt:
        # Ctrl-C: what the host did not take yet is never done behind the user's back.
        with contextlib.suppress(TmuxorchError):
            store.cancel_request(request_id, "the asking command was interrupted")
        raise
    if request.status == "failed":
        raise answered_error(request)
    return request.result


def answered_error(request: Request) -> TmuxorchError:
    """The remote error as the kind it was (its exit code, its HTTP status)."""
    kind = request.result.get("kind") if isinstance(request.result, dict) else None
    cls = getattr(errors, str(kind), None)
    if not (isinstance(cls, type) and issubclass(cls, TmuxorchError)):
        cls = TmuxorchError
    return cls(request.error or f"{request.op} failed on host {request.host!r}")


def failure(exc: TmuxorchError) -> tuple[str, dict[str, str]]:
    """An error raised on the carrying host as the request's error line and
    result (its kind, for ``answered_error`` on the asking host)."""
    kind = type(exc).__name__ if getattr(errors, type(exc).__name__, None) is type(exc) else ""
    return str(exc), {"kind": kind}
