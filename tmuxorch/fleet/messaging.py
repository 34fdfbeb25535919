"""Messages between people and agents: a durable queue, delivered exactly once.

Every message is a row before anything is typed. The monitor is the one
deliverer: it claims the next message of an agent that can take it (idle or
error; urgent ones interrupt a busy agent first) and types it in a worker
thread. A message counts as delivered only once the agent verifiably took it
(Claude: its UserPromptSubmit hook; others: the text left the input line).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from tmuxorch.core import procs
from tmuxorch.core.errors import AgentError, DeliveryError, StoreUnreachable, TmuxorchError
from tmuxorch.core.records import Agent, Message, Watch, now
from tmuxorch.core.states import UNTIL
from tmuxorch.core.vocab import ENDED, MODES, EventKind, Mode, State
from tmuxorch.fleet import delivery, handover
from tmuxorch.fleet.delivery import PASTE_END
from tmuxorch.fleet.lifecycle import Fleet

logger = logging.getLogger(__name__)

# States in which an agent takes a new message.
DELIVERABLE: tuple[State, ...] = ("idle", "error")
# The largest message, in bytes of UTF-8 (README: 100 KB, even on one line).
MAX_BYTES = 100 * 1024
_EXCERPT = 300


def short(text: str, limit: int = _EXCERPT) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wait_until(fleet: Fleet, check: Callable[[], Any], timeout: float | None, what: str) -> Any:
    """Sleep on store changes until ``check()`` is truthy; TimeoutReached after ``timeout``."""
    # Start-up cost: notify loads watchdog; `events` and `messages` load this module, never wait.
    from tmuxorch.store.notify import wait_until

    return wait_until(fleet.store, check, timeout, lambda: f"timed out waiting for {what}")


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise AgentError(f"unknown mode {mode!r}")
    return mode


def send(
    fleet: Fleet,
    name: str,
    text: str,
    *,
    mode: str = "sequential",
    sender: str | None = None,
    timeout: float | None = None,
) -> Message:
    """Queue a message; when the agent can take it now, wait until it did.

    Returns the message row: ``delivered``, ``queued`` (the agent is busy) or
    raises DeliveryError for ``failed`` (the row keeps the reason).
    """
    mode = check_mode(mode)
    check_text(text)
    if "/" in name:  # LEAD/NAME: a teammate in a Claude Code team (no agent name has "/")
        from tmuxorch.fleet import teammates  # start-up cost: most sends go to agents

        return teammates.send(fleet, name, text, sender)
    fleet.refresh()
    agent = fleet.agent(name)
    body = attributed(fleet, text, sender)
    if agent.state == "stopped" and _resumes(fleet, agent):
        agent = fleet.resume(name)  # the message waits for it to be ready
    message_id = fleet.store.add_message(sender, name, mode, body)
    if agent.state in ENDED:
        reason = _ended(fleet, agent)
        fleet.store.set_message_status(message_id, "failed", reason)
        raise DeliveryError(f"message {message_id} to {name!r} failed: {reason}")
    fleet.ensure_monitor()
    if agent.state not in DELIVERABLE and mode != "urgent":
        return _message(fleet, message_id)
    limit = timeout if timeout is not None else _delivery_timeout(fleet)
    message = wait_until(
        fleet,
        lambda: (m := _message(fleet, message_id)).status in ("delivered", "failed") and m,
        limit,
        f"message {message_id} to be delivered",
    )
    if message.status == "failed":
        raise DeliveryError(f"message {message_id} to {name!r} failed: {message.error}")
    assert isinstance(message, Message)
    return message


def _resumes(fleet: Fleet, agent: Agent) -> bool:
    """Does a message to this stopped agent start it again? A Claude agent's
    conversation resumes (config ``delivery.resume_stopped``); other programs
    would start afresh, without what the message follows on from."""
    return fleet.config.delivery.resume_stopped and fleet.profile(agent.profile).hooks


def _ended(fleet: Fleet, agent: Agent) -> str:
    """Why an ended agent takes no message, and what would bring it back."""
    reason = f"agent {agent.name!r} is {agent.state}"
    if agent.state != "stopped":
        return reason
    if not fleet.profile(agent.profile).hooks:
        why = f"profile {agent.profile} cannot resume a conversation"
    else:
        why = "delivery.resume_stopped is false"
    return f"{reason} ({why}): `tmuxorch resume {agent.name}` starts it again"


def check_text(text: str) -> None:
    """Refuse, before anything is queued, a message no agent could take whole."""
    if not text.strip():
        raise DeliveryError("refusing to send an empty message")
    if PASTE_END in text:
        raise DeliveryError("the message contains ESC[201~ (end of bracketed paste)")
    if "\0" in text:
        # A terminal cannot carry it: tmux would cut the message there.
        raise DeliveryError("the message contains a NUL byte")
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_BYTES:
        raise DeliveryError(f"the message is {size} bytes; the limit is {MAX_BYTES}")


def note(fleet: Fleet, message: Message) -> str:
    """What ``send`` says about a delivered message beyond its status."""
    agent = fleet.store.get_agent(message.recipient)
    if message.status != "delivered" or agent is None or not delivery.slash_command(message.body):
        return ""
    if not fleet.profile(agent.profile).hooks:
        return ""
    return "a slash command: the agent reports no prompt for it, so its screen showed it taken"


def _delivery_timeout(fleet: Fleet) -> float:
    delivery = fleet.config.delivery
    # Typing, up to retries+1 submit checks, and the agent's confirmation.
    return delivery.verify_timeout * (delivery.retries + 3) + 30


def _message(fleet: Fleet, message_id: int) -> Message:
    message = fleet.store.get_message(message_id)
    assert message is not None
    return message


def attributed(fleet: Fleet, text: str, sender: str | None) -> str:
    """Put the configured header before a message from another agent."""
    if not sender:
        return text
    return fleet.config.delivery.header.format(sender=sender) + text


def wait_turn(fleet: Fleet, message_id: int, timeout: float | None = None) -> Agent:
    """``send --wait``: block until the message is delivered and the agent's turn on it ends."""
    message = wait_until(
        fleet,
        lambda: (
            (m := _message(fleet, message_id)).status != "queued" and m.status != "delivering" and m
        ),
        timeout,
        f"message {message_id} to be delivered",
    )
    if message.status == "failed":
        raise DeliveryError(f"message {message_id} failed: {message.error}")
    name = message.recipient
    fleet.wait_for([name], "done", timeout=timeout)
    return fleet.agent(name)


def deliver_next(fleet: Fleet, name: str) -> Message | None:
    """Claim and type the next queued message of ``name`` (the monitor's worker)."""
    me = os.getpid()
    message = fleet.store.claim_next(name, me, procs.start_time(me))
    if message is None:
        return None
    try:
        agent = fleet.agent(name)
        if agent.state in ENDED:
            raise DeliveryError(f"agent {name!r} is {agent.state}")

        def progress(stage: str, draft: str) -> None:
            fleet.store.set_message_stage(message.id, stage, draft)

        if not handover.hand_over(fleet, agent, message, progress):
            return _message(fleet, message.id)  # queued again, the turn interrupted
    except StoreUnreachable:
        # The claim stays, with how far it got: the daemon decides it once the
        # server answers again (recovery.recover_stranded), rather than fail a
        # message that may have been typed, or lose one that was not.
        raise
    except Exception as exc:
        # Any failure (a tmux command on a pane that went away, the agent
        # removed, even an OSError nobody foresaw): never leave the claim
        # behind, or it stays "delivering" (pending) until the monitor restarts.
        reason = str(exc) or type(exc).__name__
        fleet.store.set_message_status(message.id, "failed", reason)
        fleet.store.add_event(name, "message-failed", None, f"#{message.id}: {reason}")
        logger.warning("message %d to %s failed: %s", message.id, name, reason)
        if not isinstance(exc, TmuxorchError):
            raise  # a bug or a broken machine: the monitor's log shows it
        return _message(fleet, message.id)
    if not fleet.profile(agent.profile).hooks:
        # No hook will say the agent started work: it did, it was just given
        # some, and each message it takes is a turn (max_turns counts them).
        # Busy before delivered: "delivered" and still "idle" reads as done.
        fleet.store.set_state(
            name,
            "busy",
            "",
            data={"source": "delivery"},
            task=short(message.body),
            turns=agent.turns + 1,
        )
    fleet.store.set_message_status(message.id, "delivered")
    logger.info("message %d delivered to %s", message.id, name)
    fleet.store.add_event(
        name, "message", None, f"#{message.id} {message.mode} from {message.sender or 'user'}"
    )
    return _message(fleet, message.id)


# -- coordination ------------------------------------------------------------------


def turn_outcome(fleet: Fleet, agent: Agent, message_id: int) -> str:
    """How the turn that message ``message_id`` started has ended: "" while the
    message waits or the turn runs, else ``completed``, ``needs_input`` or
    ``failed`` (the message never delivered counts as failed, and so does
    an agent that ended with it still queued: nothing will deliver it)."""
    message = fleet.store.get_message(message_id)
    if (message is not None and message.status == "failed") or agent.state in ENDED:
        return "failed"
    if (message is not None and message.status != "delivered") or not fleet.reached(agent, "done"):
        return ""
    if agent.state == "idle":
        return "completed"
    return "needs_input" if agent.state == "waiting" else "failed"


def last_response(fleet: Fleet, name: str) -> str:
    stops = fleet.store.events(agent=name, kind="hook:Stop", limit=1)
    return str(stops[0].data.get("last", "")) if stops else ""


# How many of an agent's latest Stop events are searched for a turn's own.
_STOPS_SEARCHED = 50


def turn_response(fleet: Fleet, message: Message) -> str:
    """The answer of the turn ``message`` started (``send --wait``): the last
    response the first Stop after it was claimed reports. "" when the turn
    ended without one (interrupted, failed) or the profile has no hooks."""
    if message.claimed_at is None:
        return ""
    # The first Stop after the claim, not the latest: turns on messages
    # queued behind this one may have ended since.
    stops = fleet.store.events(agent=message.recipient, kind="hook:Stop", limit=_STOPS_SEARCHED)
    ours = [e for e in stops if e.ts >= message.claimed_at]
    return str(ours[0].data.get("last", "")) if ours else ""


_NOTE = handover.NOTE


def notify(fleet: Fleet, to: str, text: str, *, folds: tuple[str, ...] = ()) -> None:
    """Queue a note from tmuxorch itself to agent ``to`` (important: it lands as
    soon as the agent's current turn ends). Notes still queued that start with
    one of ``folds`` (after ``[tmuxorch] ``) are replaced by this one: it says
    what they did, and the agent is woken once."""
    recipient = fleet.store.get_agent(to)
    if recipient is None or recipient.state in ENDED:
        return
    body = _NOTE + text
    queued = [m for m in fleet.store.messages(to) if m.status == "queued"] if folds else []
    stale = [m.id for m in queued if m.sender is None and m.body.startswith(folds)]
    if not fleet.store.fold_queued(stale, body):
        fleet.store.add_message(None, to, "important", body)


def turn_summary(fleet: Fleet, agent: Agent) -> str:
    last = short(last_response(fleet, agent.name), 200)
    state = agent.state + (f" ({short(agent.detail, 120)})" if agent.detail else "")
    return f"{agent.name} is {state}" + (f". Last response: {last}" if last else "")


def add_watch(
    fleet: Fleet, watcher: str, names: list[str], until: str, any_of: bool, timeout: float | None
) -> int:
    """``wait --notify``: the monitor messages ``watcher`` when it happens or times out."""
    if until not in UNTIL:
        raise AgentError(f"unknown state {until!r}")
    if fleet.store.get_agent(watcher) is None:
        raise AgentError("--notify needs a caller agent: run it inside an agent's pane")
    for name in names:
        fleet.agent(name)
    deadline = None if timeout is None else now() + timeout
    watch_id = fleet.store.add_watch(watcher, names, until, any_of, deadline)
    fleet.ensure_monitor()
    return watch_id


def check_watches(fleet: Fleet) -> float | None:
    """Fire the watches that are satisfied or out of time; the next deadline."""
    upcoming: list[float] = []
    for watch in fleet.store.watches():
        fired = _fire(fleet, watch)
        if not fired and watch.deadline is not None:
            upcoming.append(watch.deadline)
    return min(upcoming) if upcoming else None


def _fire(fleet: Fleet, watch: Watch) -> bool:
    agents = [fleet.store.get_agent(n) for n in watch.targets]
    present = [a for a in agents if a is not None]
    reached = [a for a in present if fleet.reached(a, watch.until)]
    done = len(reached) == len(watch.targets) or (watch.any_of and reached)
    if done:
        text = "; ".join(turn_summary(fleet, a) for a in reached)
        note = f"wait for {', '.join(watch.targets)} ({watch.until}) is over: {text}"
    elif len(present) < len(watch.targets):
        gone = set(watch.targets) - {a.name for a in present}
        note = f"wait for {', '.join(watch.targets)} ended: {', '.join(sorted(gone))} removed"
    elif watch.deadline is not None and now() >= watch.deadline:
        states = ", ".join(f"{a.name} is {a.state}" for a in present)
        note = f"wait for {', '.join(watch.targets)} ({watch.until}) timed out: {states}"
    else:
        return False
    if fleet.store.delete_watch(watch.id):  # fire once, even with two monitors racing
        # A child's notice that came before the watch was set says less.
        children = [a for a in reached if a.parent == watch.watcher]
        folds = tuple(_child_note(a.name) for a in children)
        notify(fleet, watch.watcher, note, folds=folds)
        for child in children:  # and one that comes after, for this same state, is covered
            fleet.store.add_event(child.name, _AWAITED, child.state, watch.watcher)
    return True


# The event a fired watch leaves on each child it reported: the monitor may
# see that child's state change only after the watch has fired.
_AWAITED: EventKind = "awaited"


def _child_note(name: str) -> str:
    """The start of a notice that a child ended a turn (not a safety net one)."""
    return f"{_NOTE}child {name} is "


def _awaited(fleet: Fleet, agent: Agent) -> bool:
    """Does a ``wait --notify`` of the agent's parent cover the state the agent
    is in now (pending, or fired since the agent reached it)? Its notice says
    so: the parent is woken once."""
    return any(
        watch.watcher == agent.parent
        and agent.name in watch.targets
        and agent.state in UNTIL[watch.until]
        for watch in fleet.store.watches()
    ) or bool(fleet.store.count_events(agent.name, (_AWAITED,), since=agent.since))


def notify_parent(fleet: Fleet, agent: Agent, previous: State | None) -> None:
    """Config ``notify_parent``: tell the parent a child ended a turn or exited."""
    policy = fleet.config.notify_parent
    if policy == "never" or not agent.parent or previous is None:
        return
    turn_ended = agent.state in ("idle", "error") and previous in ("busy", "waiting")
    exited = agent.state in ENDED and previous not in ENDED
    wanted = (policy == "on_idle" and (turn_ended or exited)) or (policy == "on_exit" and exited)
    if wanted and not _awaited(fleet, agent):
        notify(fleet, agent.parent, f"child {turn_summary(fleet, agent)}")


def broadcast(
    fleet: Fleet, text: str, names: list[str], *, mode: str, sender: str | None
) -> list[Message]:
    """Queue one message per agent; delivery goes on in the monitor."""
    mode = check_mode(mode)
    check_text(text)
    results = []
    for name in names:
        message_id = fleet.store.add_message(sender, name, mode, attributed(fleet, text, sender))
        results.append(_message(fleet, message_id))
    fleet.ensure_monitor()
    return results
