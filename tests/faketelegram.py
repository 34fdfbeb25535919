"""A fake Telegram Bot API on 127.0.0.1, so the bot runs offline.

The bot is pointed at it with config ``telegram.api_url`` (python-telegram-bot
then calls ``POST {url}/bot{TOKEN}/{method}``). It answers ``getMe``,
``deleteWebhook``, ``getUpdates`` (a long poll over a queue of updates the
test pushes), ``sendMessage``, ``editMessageText``, ``editMessageReplyMarkup`` and
``answerCallbackQuery``, and records every call with its parameters (JSON or
form fields; a form's JSON-valued fields such as ``reply_markup`` decoded). A
wrong token gets 401, as Telegram answers; any other method 404; a method
named in ``failing`` 502 that many times.

Example::

    with FakeTelegram(TOKEN) as tg:
        ... config telegram: {token: TOKEN, api_url: tg.url, allowed_chats: [1]} ...
        tg.push_message(1, "/list")
        reply = tg.wait_sent(1, lambda m: "No agents" in m["text"])
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.helpers import retry_until

BOT_ID = 4242
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Fleet", "username": "fleet_bot"}
Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    params: Json


def _chat(chat_id: int) -> Json:
    return {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "chat"}


class FakeTelegram:
    """The fake Bot API; a context manager, or ``start()`` / ``close()``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._cond = threading.Condition()
        self._updates: list[Json] = []
        self._calls: list[Call] = []
        self._messages: dict[int, Json] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._closing = False
        # Method -> how many of its next calls fail with 502, as a gateway in trouble does.
        self.failing: dict[str, int] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTelegram:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()  # long polls answer at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a test pushes ----------------------------------------------

    def _message(self, chat_id: int, text: str, sender: Json, **more: Any) -> Json:
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": sender,
            "text": text,
            **more,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self._messages[message["message_id"]] = message
        return message

    def _push(self, **update: Any) -> None:
        with self._cond:
            self._updates.append({"update_id": next(self._update_ids), **update})
            self._cond.notify_all()

    def push_message(self, chat_id: int, text: str, reply_to: Json | None = None) -> Json:
        """A person in ``chat_id`` writes ``text``, replying to ``reply_to`` if
        given; the message."""
        user = {"id": abs(chat_id), "is_bot": False, "first_name": "Person"}
        more = {"reply_to_message": reply_to} if reply_to is not None else {}
        with self._cond:
            message = self._message(chat_id, text, user, **more)
        self._push(message=message)
        return message

    def press(self, chat_id: int, message: Json, data: str) -> None:
        """A person in ``chat_id`` presses the button with ``data`` under
        ``message`` (as seen in that chat: a copy there of another chat's)."""
        user = {"id": abs(chat_id), "is_bot": False, "first_name": "Person"}
        query = {
            "id": str(next(self._ids)),
            "from": user,
            "chat_instance": str(chat_id),
            "message": {**message, "chat": _chat(chat_id)},
            "data": data,
        }
        self._push(callback_query=query)

    # -- what the bot did ------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Json]:
        """The messages the bot sent (to ``chat_id``), oldest first."""
        with self._cond:
            mine = [m for m in self._messages.values() if m["from"]["id"] == BOT_ID]
        return [m for m in mine if chat_id is None or m["chat"]["id"] == chat_id]

    def wait_sent(self, chat_id: int, match: Callable[[Json], bool], timeout: float = 60) -> Json:
        """The first message sent to ``chat_id`` that ``match``es, once it is sent."""

        def found() -> Json | None:
            return next((m for m in self.sent(chat_id) if match(m)), None)

        return retry_until(found, timeout=timeout, message=f"a message to chat {chat_id}")

    def taken(self) -> bool:
        """Whether the bot fetched every update pushed (acknowledged by its next offset)."""
        with self._cond:
            return not self._updates

    # -- the API ---------------------------------------------------------

    def answer(self, method: str, params: Json) -> Json:
        with self._cond:
            self._calls.append(Call(method, params))
            if self.failing.get(method):
                self.failing[method] -= 1
                return {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        if method == "getUpdates":
            return {"ok": True, "result": self._poll(params)}
        if method == "sendMessage":
            with self._cond:
                more = {"reply_markup": params["reply_markup"]} if "reply_markup" in params else {}
                sent = self._message(int(params["chat_id"]), str(params["text"]), BOT_USER, **more)
            return {"ok": True, "result": sent}
        if method == "editMessageReplyMarkup":
            with self._cond:
                message = self._messages[int(params["message_id"])]
                message["reply_markup"] = params.get("reply_markup")
            return {"ok": True, "result": message}
        if method == "editMessageText":
            with self._cond:
                message = self._messages[int(params["message_id"])]
                message["text"] = str(params["text"])
                message["reply_markup"] = params.get("reply_markup")
                self._cond.notify_all()
            return {"ok": True, "result": message}
        if method in ("getMe",):
            return {"ok": True, "result": BOT_USER}
        if method in ("deleteWebhook", "answerCallbackQuery", "close", "logOut"):
            return {"ok": True, "result": True}
        return {"ok": False, "error_code": 404, "description": "Not Found"}

    def _poll(self, params: Json) -> list[Json]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            # An offset acknowledges every update before it, as Telegram's does.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self._updates)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeTelegram = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        prefix, _, method = self.path.rpartition("/")
        if prefix != f"/bot{fake.token}":
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return self._send(401, body)
        params = _params(raw, self.headers.get("Content-Type", ""))
        body = fake.answer(method, params)
        self._send(200 if body["ok"] else body["error_code"], body)

    do_GET = do_POST

    def _send(self, status: int, body: Json) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # a long poll answered after the bot went away
            self.wfile.write(data)


def _params(raw: str, content_type: str) -> Json:
    if not raw:
        return {}
    if "json" in content_type:
        data: Json = json.loads(raw)
        return data
    params: Json = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in "{[":
            params[key] = json.loads(value)
    return params
