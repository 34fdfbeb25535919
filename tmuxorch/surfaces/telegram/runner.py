"""The bot's life: python-telegram-bot's long polling over the Bot API at
``telegram.api_url``, the commands of :mod:`.commands`, and the ``waiting``
notices of :mod:`.follow`; alone (``tmuxorch telegram``) or in a thread of
its own beside ``serve``'s server.

The token is part of every Bot API URL, and httpx logs each request's URL:
its logger is kept to warnings, and every handler that could print a record
writes the token as ``<token>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from tmuxorch.core.config import Settings
from tmuxorch.core.errors import ConfigError, TmuxorchError
from tmuxorch.surfaces.telegram.commands import Commands
from tmuxorch.surfaces.telegram.follow import follow

log = logging.getLogger(__name__)

# Seconds a getUpdates call waits for an update (Telegram's long poll).
POLL_TIMEOUT = 10


class Redact(logging.Filter):
    """Writes the token as ``<token>`` in every record a handler prints."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and self.token in str(error):
            # Its traceback would quote it: the error's line instead.
            text = f"{text} ({type(error).__name__}: {error})"
            record.exc_info, record.exc_text = None, None
        if self.token in text:
            record.msg, record.args = text.replace(self.token, "<token>"), None
        return True


def _hide(token: str) -> None:
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    handlers = [*logging.getLogger().handlers, *logging.getLogger("tmuxorch").handlers]
    for handler in [*handlers, logging.lastResort]:
        if handler is not None and not any(
            isinstance(f, Redact) and f.token == token for f in handler.filters
        ):
            handler.addFilter(Redact(token))


def token_of(settings: Settings) -> str:
    token = settings.config.telegram.token
    if token is None:
        raise ConfigError("no Telegram bot: set telegram.token (and allowed_chats) in config.yaml")
    return token


def build(settings: Callable[[], Settings]) -> Application:  # type: ignore[type-arg]
    current = settings()
    tg = current.config.telegram
    api = tg.api_url.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(token_of(current))
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .get_updates_read_timeout(POLL_TIMEOUT + 10)
        .concurrent_updates(True)  # a /new that starts an agent holds up no Approve
        .build()
    )
    commands = Commands(settings, tg.allowed_chats)
    app.add_handler(TypeHandler(Update, commands.gate), group=-1)
    for name, handler in {
        "start": commands.help,
        "help": commands.help,
        "list": commands.list_,
        "status": commands.status,
        "new": commands.new,
        "stop": commands.stop,
        "kill": commands.kill,
    }.items():
        app.add_handler(CommandHandler(name, handler))
    app.add_handler(CallbackQueryHandler(commands.button))
    app.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, commands.reply))
    # Anything else: what the bot takes (in a group, only to a command: people talk there).
    app.add_handler(MessageHandler(filters.COMMAND | filters.ChatType.PRIVATE, commands.help))
    return app


async def run_bot(settings: Callable[[], Settings], stopping: asyncio.Event) -> None:
    """Poll and tell until ``stopping`` is set. A token the Bot API refuses,
    or an API that cannot be reached at the start, is a TmuxorchError."""
    current = settings()
    token = token_of(current)
    _hide(token)
    app = build(settings)
    try:
        await app.initialize()  # getMe: checks the token and the address
    except InvalidToken:
        raise ConfigError("telegram.token: the Bot API refused it") from None
    except TelegramError as exc:
        url = current.config.telegram.api_url
        raise TmuxorchError(f"cannot reach the Bot API at {url}: {exc}") from None
    try:
        assert app.updater is not None
        await app.updater.start_polling(timeout=POLL_TIMEOUT, drop_pending_updates=False)
        await app.start()
        notices = asyncio.create_task(
            follow(app.bot, current, current.config.telegram.allowed_chats)
        )
        log.info("telegram bot @%s polling %s", app.bot.username, current.config.telegram.api_url)
        await stopping.wait()
        notices.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await notices
        await app.updater.stop()
        await app.stop()
    finally:
        await app.shutdown()


def run(settings: Callable[[], Settings]) -> None:
    """``tmuxorch telegram``: until SIGINT or SIGTERM."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await run_bot(settings, stopping)

    asyncio.run(main())


def beside(settings: Callable[[], Settings]) -> Callable[[], None]:
    """Run the bot in a thread with its own event loop (``serve``: beside
    uvicorn's); returns what stops it. A bot that cannot start says why in
    the log, and the server goes on without it."""
    loop = asyncio.new_event_loop()
    stopping = asyncio.Event()

    def main() -> None:
        try:
            loop.run_until_complete(run_bot(settings, stopping))
        except TmuxorchError as exc:
            log.error("telegram bot not started: %s", exc)
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="telegram", daemon=True)
    thread.start()

    def stop() -> None:
        with contextlib.suppress(RuntimeError):  # its loop already closed: it ended
            loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout=30)

    return stop
