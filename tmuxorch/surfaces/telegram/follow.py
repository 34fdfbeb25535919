"""The ``waiting`` notices: the event log followed as it is written.

A thread opens the store and sleeps on ``Store.changes()`` (as the HTTP
event stream does); the bot's loop sends a notice to every allowed chat for
each event in which an agent starts waiting, and then writes how far it got
in ``HOME/telegram.json``: a restarted bot goes on from there, so it loses no
notice and repeats none. A first start begins at the newest event. While the
agent still waits, a notice follows what is known of the question: the first
word often comes from Claude's session file ("permission prompt"), the
question itself from the screen a moment later, and the notice is edited to
it (its buttons stay those of the prompt it first told).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from tmuxorch.core.config import Settings
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.core.private import read_text, write_file
from tmuxorch.core.records import Event
from tmuxorch.store.opening import open_store
from tmuxorch.surfaces.telegram.notices import answer_buttons, waiting_notice

log = logging.getLogger(__name__)

CURSOR_FILE = "telegram.json"
# How often the watcher looks whether the bot stops, while nothing is written.
POLL = 5.0
# Pauses before trying again a Bot API that cannot be reached, or a store
# that fails (seconds).
RETRY_FIRST, RETRY_MAX = 1.0, 60.0

Batch = list[Event] | TmuxorchError


def entering(events: list[Event], states: dict[str, str]) -> list[Event]:
    """The events in which an agent starts waiting; ``states``, each agent's
    last state seen, follows ``events``."""
    found = []
    for event in events:
        if event.agent is None:
            continue
        if event.event == "removed":
            states.pop(event.agent, None)
        elif event.event == "renamed":
            states.pop(str(event.data.get("from")), None)
        if event.state is None:
            continue
        if event.state == "waiting" and states.get(event.agent) != "waiting":
            found.append(event)
        states[event.agent] = event.state
    return found


def load_cursor(home: Path) -> tuple[int, dict[str, str]] | None:
    """The last event handled and the states seen, or None on a first start."""
    try:
        data = json.loads(read_text(home / CURSOR_FILE))
        return int(data["after"]), {str(k): str(v) for k, v in data["states"].items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, TmuxorchError) as exc:
        log.warning("%s unreadable (%s): notices start at the newest event", CURSOR_FILE, exc)
        return None


def save_cursor(home: Path, after: int, states: dict[str, str]) -> None:
    write_file(home / CURSOR_FILE, json.dumps({"after": after, "states": states}).encode())


def _watch(
    settings: Settings,
    after: int | None,
    push: Callable[[Batch | int], None],
    stopped: threading.Event,
) -> None:
    """Push the newest event id when ``after`` is None, then every event after
    it as it is written, until ``stopped``."""
    try:
        url = settings.config.store.url
        with open_store(settings.home, url=url) as store, store.changes() as changes:
            if after is None:
                after = store.last_event_id()
                push(after)
            while not stopped.is_set():
                batch = store.events(after=after)
                if batch:
                    after = batch[-1].id
                    push(batch)
                changes.wait(timeout=POLL)
    except TmuxorchError as exc:
        push(exc)
    except OSError as exc:  # no watch could be set up
        push(TmuxorchError(f"cannot watch the fleet's store: {exc}"))


async def _send(bot: Bot, chat: int, event: Event) -> int | None:
    """Send one notice, trying again while the Bot API cannot be reached; a
    chat that refuses it (gone, bot blocked) is logged and left out. The
    message's id, if sent."""
    assert event.agent is not None
    pause = RETRY_FIRST
    while True:
        try:
            sent = await bot.send_message(
                chat,
                waiting_notice(event.agent, event.detail),
                reply_markup=answer_buttons(event.id),
            )
            return sent.message_id
        except RetryAfter as exc:
            delay = exc.retry_after
            await asyncio.sleep(delay if isinstance(delay, int | float) else delay.total_seconds())
        except (BadRequest, Forbidden) as exc:
            log.error("notice about %s not sent to chat %s: %s", event.agent, chat, exc)
            return None
        except NetworkError as exc:
            log.warning(
                "notice about %s to chat %s: %s; again in %.0fs", event.agent, chat, exc, pause
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)


class Told:
    """The notices of the agents waiting now: the event that made each, the
    question it shows, and its message in every chat."""

    def __init__(self) -> None:
        self.notices: dict[str, tuple[int, str, list[tuple[int, int]]]] = {}

    def sent(self, event: Event, messages: list[tuple[int, int]]) -> None:
        assert event.agent is not None
        self.notices[event.agent] = (event.id, event.detail, messages)

    def newer_question(self, event: Event) -> tuple[int, list[tuple[int, int]]] | None:
        """For a waiting agent's event that says more of its question: the
        notice's event and messages, to edit; else None (and an agent that
        stopped waiting is forgotten)."""
        if event.agent is None or event.state is None:
            return None
        told = self.notices.get(event.agent)
        if told is None:
            return None
        if event.state != "waiting":
            del self.notices[event.agent]
            return None
        first, detail, messages = told
        if not event.detail or event.detail == detail:
            return None
        self.notices[event.agent] = (first, event.detail, messages)
        return first, messages


async def _edit(bot: Bot, messages: list[tuple[int, int]], event: Event, first: int) -> None:
    assert event.agent is not None
    for chat, message_id in messages:
        try:
            await bot.edit_message_text(
                waiting_notice(event.agent, event.detail),
                chat_id=chat,
                message_id=message_id,
                reply_markup=answer_buttons(first),
            )
        except (BadRequest, Forbidden, NetworkError) as exc:  # the first words stand
            log.warning("notice about %s in chat %s not edited: %s", event.agent, chat, exc)


async def follow(bot: Bot, settings: Settings, chats: list[int]) -> None:
    """Tell ``chats`` of every agent that starts waiting, until cancelled; a
    store that fails is tried again, from the last event handled."""
    pause = RETRY_FIRST
    while True:
        error = await _follow(bot, settings, chats)
        log.error("waiting notices: %s; again in %.0fs", error, pause)
        await asyncio.sleep(pause)
        pause = min(pause * 2, RETRY_MAX)


async def _follow(bot: Bot, settings: Settings, chats: list[int]) -> TmuxorchError:
    """Follow the event log until its store fails; that error."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Batch | int] = asyncio.Queue()
    stopped = threading.Event()
    home = settings.home
    cursor = await asyncio.to_thread(load_cursor, home)
    after, states = cursor if cursor is not None else (None, {})
    told = Told()

    def push(batch: Batch | int) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, batch)

    watcher = threading.Thread(
        target=_watch, args=(settings, after, push, stopped), name="telegram-events", daemon=True
    )
    watcher.start()
    try:
        while True:
            batch = await queue.get()
            if isinstance(batch, TmuxorchError):
                return batch
            if isinstance(batch, int):  # a first start: from the newest event on
                await asyncio.to_thread(save_cursor, home, batch, states)
                continue
            for event in batch:
                if entering([event], states):
                    messages = [(chat, await _send(bot, chat, event)) for chat in chats]
                    told.sent(event, [(c, m) for c, m in messages if m is not None])
                    # Told: a restart from here does not tell it again.
                    await asyncio.to_thread(save_cursor, home, event.id, states)
                elif (newer := told.newer_question(event)) is not None:
                    await _edit(bot, newer[1], event, newer[0])
            await asyncio.to_thread(save_cursor, home, batch[-1].id, states)
    finally:
        stopped.set()  # the watcher ends at its next wake-up
