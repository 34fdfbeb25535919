"""The bot's commands, replies and buttons. Each parses what a chat sent,
calls the same fleet function as the CLI command, MCP tool and HTTP route of
that name (in a worker thread, with a Fleet of its own, as the HTTP routes
do), and answers with one message; an error is its one line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from tmuxorch.core.config import Settings
from tmuxorch.core.errors import AgentConflict, AgentError, TmuxorchError, UnknownAgent
from tmuxorch.fleet import control, messaging
from tmuxorch.fleet.launching import SpawnRequest, check_name
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views import agents as views
from tmuxorch.fleet.views.messages import message_view
from tmuxorch.surfaces.edge import error_line
from tmuxorch.surfaces.telegram.notices import (
    ALERT_TEXT,
    ANSWERED,
    APPROVE,
    about,
    agent_line,
    agent_text,
    fit,
    outcome,
    pressed,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE

HELP = (
    "/list · /status NAME · /new NAME [PROMPT] · /stop NAME · /kill NAME\n"
    "Reply to a message about an agent to send it your text."
)


def said(exc: Exception) -> str:
    """The one line a chat is told of an error; anything but a domain error is
    logged whole, and the chat is told only that."""
    line = error_line(exc)
    if line is None:
        log.error("telegram: unexpected error", exc_info=exc)
        return "tmuxorch: internal error (the server's log says more)"
    return f"tmuxorch: {line[0]}"


def _moved_on(fleet: Fleet, name: str, event_id: int) -> bool:
    """Whether the agent left the prompt of event ``event_id`` since, for
    another state (it may be waiting again, on a newer prompt)."""
    later = fleet.store.events(agent=name, after=event_id)
    return any(e.state is not None and e.state != "waiting" for e in later)


def answer(fleet: Fleet, name: str, action: str, event_id: int) -> None:
    """Approve or deny the prompt a notice showed."""
    agent = fleet.agent(name)
    if agent.state == "waiting" and _moved_on(fleet, name, event_id):
        raise AgentConflict(f"agent {name!r} waits on a newer prompt: answer its newer notice")
    if action == APPROVE:
        control.approve(fleet, name)
    else:
        control.deny(fleet, name)


class Commands:
    """The handlers over the fleet ``settings()`` names, read per update as
    the HTTP routes do; the bot's own keys (``chats`` among them) hold from
    its start."""

    def __init__(self, settings: Callable[[], Settings], chats: list[int]) -> None:
        self.settings = settings
        self.chats = frozenset(chats)

    def _in_fleet(self, fn: Callable[[Fleet], T]) -> T:
        with Fleet(self.settings(), long_lived=True) as fleet:
            return fn(fleet)

    async def call(self, fn: Callable[[Fleet], T]) -> T:
        return await asyncio.to_thread(self._in_fleet, fn)

    async def gate(self, update: Update, context: Context) -> None:
        """First for every update: one from a chat not allowed goes no further."""
        chat = update.effective_chat
        if chat is None or chat.id not in self.chats:
            who = chat.id if chat is not None else "unknown"
            log.warning("telegram: ignored an update from chat %s (not in allowed_chats)", who)
            raise ApplicationHandlerStop

    async def _reply(self, message: Message, work: Callable[[Fleet], str]) -> None:
        try:
            text = await self.call(work)
        except Exception as exc:  # the edge: every error is one line to the chat
            text = said(exc)
        await message.reply_text(fit(text))

    @staticmethod
    def _words(message: Message, count: int) -> list[str]:
        """The command's first ``count - 1`` arguments, then the rest as
        written (a prompt keeps its lines)."""
        return (message.text or "").split(maxsplit=count)[1:]

    def _named(self, message: Message, usage: str) -> str:
        words = self._words(message, 2)
        if not words:
            raise AgentError(f"usage: {usage}")
        return check_name(words[0].strip())

    async def _act(self, update: Update, usage: str, act: Callable[[Fleet, str], str]) -> None:
        message = update.effective_message
        if message is None:
            return
        try:
            name = self._named(message, usage)
        except TmuxorchError as exc:
            await message.reply_text(fit(said(exc)))
            return
        await self._reply(message, lambda f: act(f, name))

    async def help(self, update: Update, context: Context) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(HELP)

    async def list_(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None:
            return

        def listed(f: Fleet) -> str:
            lines = [agent_line(v) for v in views.agent_views(f)]
            return "\n".join(lines) if lines else "No agents."

        await self._reply(message, listed)

    async def status(self, update: Update, context: Context) -> None:
        await self._act(
            update, "/status NAME", lambda f, name: agent_text(views.agent_view(f, name))
        )

    async def stop(self, update: Update, context: Context) -> None:
        await self._act(update, "/stop NAME", lambda f, name: agent_text(views.of(f, f.stop(name))))

    async def kill(self, update: Update, context: Context) -> None:
        await self._act(update, "/kill NAME", lambda f, name: agent_text(views.of(f, f.kill(name))))

    async def new(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None:
            return
        words = self._words(message, 2)
        prompt = words[1] if len(words) > 1 else None

        def spawned(f: Fleet, name: str) -> str:
            return agent_text(views.of(f, f.spawn(SpawnRequest(name=name, prompt=prompt))))

        await self._act(update, "/new NAME [PROMPT]", spawned)

    async def reply(self, update: Update, context: Context) -> None:
        """A reply to a message of the bot about an agent: the text goes to it."""
        message = update.effective_message
        if message is None:
            return
        replied = message.reply_to_message
        author = replied.from_user if replied is not None else None
        mine = replied is not None and author is not None and author.id == context.bot.id
        name = about(replied.text) if mine and replied is not None else None
        if name is None:
            if mine or message.chat.type == ChatType.PRIVATE:  # in a group: people talking
                await message.reply_text(f"Reply to a message of mine about an agent.\n{HELP}")
            return
        text = message.text or ""

        def sent(f: Fleet) -> str:
            view = message_view(f, messaging.send(f, name, text, sender=None))
            return f"message {view.id} to {name}: {view.status}"

        await self._reply(message, sent)

    async def button(self, update: Update, context: Context) -> None:
        """Approve or Deny under a notice: answer the agent, then show the outcome."""
        query = update.callback_query
        if query is None:
            return
        notice = query.message
        name = about(notice.text) if isinstance(notice, Message) else None
        action = pressed(query.data)
        if query.data == ANSWERED or name is None or action is None:
            await query.answer(
                "Already answered." if query.data == ANSWERED else "Not a button of mine."
            )
            return
        try:
            await self.call(lambda f: answer(f, name, action[0], action[1]))
        except (AgentConflict, UnknownAgent) as exc:
            await query.answer(fit(said(exc), ALERT_TEXT))
            await query.edit_message_reply_markup(outcome("Not answered"))
            return
        except Exception as exc:  # the edge: one line, the buttons stay for another try
            await query.answer(fit(said(exc), ALERT_TEXT))
            return
        done = "Approved" if action[0] == APPROVE else "Denied"
        await query.answer(f"{done}: {name}")
        await query.edit_message_reply_markup(outcome(f"✓ {done}"))
