"""A scriptable fake of the Anthropic Messages API, so the real Claude Code runs offline.

Claude Code is pointed at it with ``ANTHROPIC_BASE_URL=<fake.url>`` (see
``tests/claude_env.py``).  It then calls ``POST /v1/messages?beta=true`` with
``"stream": true`` and expects Server-Sent Events::

    message_start -> (content_block_start, content_block_delta*, content_block_stop)*
                  -> message_delta (stop_reason, usage) -> message_stop

Two kinds of ``/v1/messages`` requests reach us:

* **turn requests**: the agent's own turn; their body carries a non-empty
  ``tools`` list.  Each one pops the next entry of the *script* (a FIFO of
  :class:`Response` objects, or callables that build one from the request
  body).  When the script is empty, :attr:`FakeAnthropic.default` is used
  (a plain ``end_turn`` text "Done." unless changed).
* **side requests**: everything without ``tools`` (session titles, topic
  detection, ...).  They are answered at once with a short text and never
  consume the script.

``/v1/messages/count_tokens`` answers ``{"input_tokens": N}``.  Any other path
answers 404 with an Anthropic-style error body (and is logged like all the
rest in :attr:`FakeAnthropic.requests`).

Example::

    with FakeAnthropic() as fake:
        fake.enqueue(tool_use("Write", {"file_path": str(p), "content": "hi\\n"}),
                     text("Wrote it.", delay=2))
        ... start claude with claude_env(..., base_url=fake.url) ...
        fake.wait_for_requests(2, timeout=30, turns_only=True)
        assert "hi" in tool_results(fake.turn_requests()[-1].body)[0].text

The server runs in a daemon thread on 127.0.0.1 with an OS-chosen port.
Delays are interruptible: :meth:`FakeAnthropic.close` wakes every handler
that is holding a response, so tests never hang on teardown.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ERROR_TYPES",
    "FakeAnthropic",
    "RecordedRequest",
    "Response",
    "ScriptEntry",
    "TextBlock",
    "ToolResult",
    "ToolUseBlock",
    "Usage",
    "error",
    "last_user_content",
    "last_user_text",
    "stream_error",
    "text",
    "tool_results",
    "tool_use",
    "tool_uses",
    "user_texts",
]

# ---------------------------------------------------------------------------
# Response model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Token usage reported for one response (both in message_start and message_delta).

    The defaults look like a typical Claude Code turn with prompt caching:
    most of the (large) system prompt is read from cache.  Cost tests compare
    these numbers with ``message.usage`` in the transcript JSONL, so set them
    explicitly per response when it matters.
    """

    input_tokens: int = 12
    output_tokens: int = 34
    cache_read_input_tokens: int = 15_000
    cache_creation_input_tokens: int = 1_200

    def start_dict(self) -> dict[str, Any]:
        """Usage as sent in ``message_start`` (output_tokens is ~1 there, like the real API)."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_input_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": min(1, self.output_tokens),
            "service_tier": "standard",
        }

    def final_dict(self) -> dict[str, Any]:
        """Cumulative usage as sent in ``message_delta`` (the current API repeats input there)."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "output_tokens": self.output_tokens,
        }


@dataclass(frozen=True)
class TextBlock:
    """A ``text`` content block."""

    text: str


@dataclass(frozen=True)
class ToolUseBlock:
    """A ``tool_use`` content block.  ``id`` is filled with a unique ``toolu_…`` value if empty."""

    name: str
    input: dict[str, Any]
    id: str = ""


Block = TextBlock | ToolUseBlock


@dataclass(frozen=True)
class Response:
    """One scripted answer to a turn request.

    ``status == 200`` streams ``blocks`` as SSE.  Any other status answers a
    plain JSON error body ``{"type":"error","error":{"type":..,"message":..}}``.
    If ``stream_error_type`` is set, a 200 stream is started and then an
    ``event: error`` is sent instead of the content (what the real API does
    for mid-stream overloads).

    ``delay`` seconds are waited before the body: for a 200 answer the
    ``message_start`` event is sent *first* and then the stream holds, so
    Claude Code shows its busy spinner; for an error the whole answer is held.
    """

    blocks: tuple[Block, ...] = ()
    stop_reason: str = "end_turn"
    usage: Usage = field(default_factory=Usage)
    delay: float = 0.0
    status: int = 200
    error_type: str = ""
    error_message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    stream_error_type: str = ""
    model: str = ""  # "" = echo the model named in the request


ScriptEntry = Response | Callable[[dict[str, Any]], Response]
"""What the script queue holds: a response, or a function picking one from the request body."""


ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

_DEFAULT_ERROR_MESSAGES: dict[int, str] = {
    400: "messages: fake invalid request",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}


def text(
    s: str,
    *,
    delay: float = 0.0,
    usage: Usage | None = None,
    stop_reason: str = "end_turn",
) -> Response:
    """A plain text answer ending the turn."""
    return Response(
        blocks=(TextBlock(s),),
        stop_reason=stop_reason,
        usage=usage or Usage(),
        delay=delay,
    )


def tool_use(
    name: str,
    input: dict[str, Any],
    *,
    preamble: str | None = None,
    id: str = "",
    delay: float = 0.0,
    usage: Usage | None = None,
) -> Response:
    """One ``tool_use`` block (optionally after a text block); ``stop_reason="tool_use"``.

    Claude Code runs the tool (asking for permission if needed) and sends the
    result in its *next* turn request as a ``tool_result`` block.
    """
    blocks: list[Block] = []
    if preamble is not None:
        blocks.append(TextBlock(preamble))
    blocks.append(ToolUseBlock(name, dict(input), id))
    return Response(
        blocks=tuple(blocks),
        stop_reason="tool_use",
        usage=usage or Usage(),
        delay=delay,
    )


def tool_uses(
    calls: Iterable[tuple[str, dict[str, Any]]],
    *,
    preamble: str | None = None,
    delay: float = 0.0,
    usage: Usage | None = None,
) -> Response:
    """Several parallel ``tool_use`` blocks in one response."""
    blocks: list[Block] = [TextBlock(preamble)] if preamble is not None else []
    blocks.extend(ToolUseBlock(n, dict(i)) for n, i in calls)
    return Response(
        blocks=tuple(blocks), stop_reason="tool_use", usage=usage or Usage(), delay=delay
    )


# The mark of a sub-agent's task: its requests carry it in their first message.
SUBTASK = "SUBTASK: "


def subagent_call(task: str) -> Response:
    """One call of Claude Code's ``Agent`` tool; its sub-agent's requests are ``from_subagent``."""
    call = {"description": "helper", "prompt": SUBTASK + task, "subagent_type": "general-purpose"}
    return tool_use("Agent", call)


def from_subagent(body: dict[str, Any]) -> bool:
    """Whether a request is a sub-agent's, started by a ``subagent_call``."""
    return SUBTASK in json.dumps(body["messages"][0])


def error(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    delay: float = 0.0,
    retry_after: float | None = None,
    should_retry: bool | None = None,
) -> Response:
    """An HTTP error answer with the Anthropic error JSON body.

    Claude Code retries 429/5xx/529 itself (with backoff, showing
    "Retrying in Ns · attempt k/n"); every retry is a new turn request that
    consumes the next script entry (or :attr:`FakeAnthropic.default`).
    ``retry_after`` sets the ``retry-after`` header (seconds), ``should_retry``
    the ``x-should-retry`` header the SDK honours.
    """
    headers: list[tuple[str, str]] = []
    if retry_after is not None:
        headers.append(("retry-after", f"{retry_after:g}"))
    if should_retry is not None:
        headers.append(("x-should-retry", "true" if should_retry else "false"))
    return Response(
        status=status,
        error_type=type or ERROR_TYPES.get(status, "api_error"),
        error_message=message
        if message is not None
        else _DEFAULT_ERROR_MESSAGES.get(status, "error"),
        delay=delay,
        headers=tuple(headers),
        stop_reason="",
    )


def stream_error(
    type: str = "overloaded_error", message: str = "Overloaded", *, delay: float = 0.0
) -> Response:
    """HTTP 200, ``message_start``, then an SSE ``event: error`` (a mid-stream failure)."""
    return Response(stream_error_type=type, error_message=message, delay=delay, stop_reason="")


# ---------------------------------------------------------------------------
# Request log and request-body helpers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (any path)."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON, or None if empty / not JSON
    raw: bytes
    time: float  # time.monotonic() at arrival
    status: int = 0  # the status answered (filled in after the answer is chosen)

    @property
    def is_turn(self) -> bool:
        """True for an agent turn: a /v1/messages request whose body has a non-empty ``tools``."""
        return (
            self.path == "/v1/messages"
            and isinstance(self.body, dict)
            and bool(self.body.get("tools"))
        )


def last_user_content(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Content blocks of the last ``user`` message (a string content becomes one text block)."""
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return [{"type": "text", "text": content}]
            return list(content or [])
    return []


def user_texts(body: dict[str, Any], *, include_reminders: bool = False) -> list[str]:
    """The ``text`` blocks of the last user message.

    Claude Code injects ``<system-reminder>…`` text blocks next to what the
    user typed; they are skipped unless ``include_reminders``.
    """
    out: list[str] = []
    for block in last_user_content(body):
        if block.get("type") != "text":
            continue
        t = block.get("text", "")
        if not include_reminders and t.lstrip().startswith("<system-reminder>"):
            continue
        out.append(t)
    return out


def last_user_text(body: dict[str, Any]) -> str:
    """Last non-reminder text block of the last user message ("" if none): what was typed."""
    texts = user_texts(body)
    return texts[-1] if texts else ""


@dataclass(frozen=True)
class ToolResult:
    """A ``tool_result`` block flattened to text."""

    tool_use_id: str
    text: str
    is_error: bool


def tool_results(body: dict[str, Any]) -> list[ToolResult]:
    """The ``tool_result`` blocks of the last user message (e.g. a permission denial reason)."""
    out: list[ToolResult] = []
    for block in last_user_content(body):
        if block.get("type") != "tool_result":
            continue
        content = block.get("content")
        if isinstance(content, list):
            t = "".join(
                c.get("text", "")
                for c in content
                if isinstance(c, dict) and c.get("type") == "text"
            )
        else:
            t = str(content or "")
        out.append(
            ToolResult(str(block.get("tool_use_id", "")), t, bool(block.get("is_error", False)))
        )
    return out


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------

_id_counter = itertools.count(1)


def _new_id(prefix: str) -> str:
    # Unique across the process (counter) and across runs (random part).
    return f"{prefix}_{secrets.token_hex(8)}{next(_id_counter):04d}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeAnthropic

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients (Claude Code, or a test) hanging up mid-request is normal here;
        # don't spam stderr with tracebacks for it.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive + chunked streaming, like the real API
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr access log
        pass

    # -- plumbing ---------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send_json(
        self, status: int, obj: Any, extra_headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", _new_id("req"))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer must not carry a body
            self.wfile.write(data)
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, name: str, obj: dict[str, Any]) -> None:
        self._chunk(f"event: {name}\ndata: {json.dumps(obj)}\n\n".encode())

    # -- dispatch ---------------------------------------------------------

    def _handle(self) -> None:
        fake = self.server.fake
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        parts = urlsplit(self.path)
        req = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
            time=time.monotonic(),
        )
        try:
            if self.command == "POST" and req.path == "/v1/messages/count_tokens":
                fake._record(req, 200)
                self._send_json(200, {"input_tokens": fake.count_tokens_value})
            elif self.command == "POST" and req.path == "/v1/messages" and isinstance(body, dict):
                resp = fake._next_response(body) if req.is_turn else fake.side_response
                fake._record(req, resp.status)
                self._answer(resp, body)
            else:
                fake._record(req, 404)
                self._send_json(
                    404,
                    {
                        "type": "error",
                        "error": {
                            "type": "not_found_error",
                            "message": f"fake: no route {self.command} {req.path}",
                        },
                    },
                )
        except (BrokenPipeError, ConnectionResetError):
            # The client went away (e.g. the user pressed Esc in Claude Code).
            self.close_connection = True

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_HEAD = (
        _handle  # Claude Code 2.1.1xx sends "HEAD /" at start (connectivity probe); 404 is fine
    )

    def _answer(self, resp: Response, body: dict[str, Any]) -> None:
        fake = self.server.fake
        if resp.status != 200:
            if resp.delay and fake._closing.wait(resp.delay):
                self.close_connection = True
                return
            self._send_json(
                resp.status,
                {
                    "type": "error",
                    "error": {"type": resp.error_type, "message": resp.error_message},
                },
                resp.headers,
            )
            return

        model = resp.model or str(body.get("model") or "claude-sonnet-4-5")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", _new_id("req"))
        for k, v in resp.headers:
            self.send_header(k, v)
        self.end_headers()
        self._event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": _new_id("msg"),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": resp.usage.start_dict(),
                },
            },
        )
        if resp.delay:
            # Hold the turn open (Claude shows its spinner).  A ping now and then
            # keeps the connection looking alive, like the real API.
            deadline = time.monotonic() + resp.delay
            while (left := deadline - time.monotonic()) > 0:
                if fake._closing.wait(min(left, 5.0)):
                    self._end_stream()
                    return
                if deadline - time.monotonic() > 0:
                    self._event("ping", {"type": "ping"})
        if resp.stream_error_type:
            self._event(
                "error",
                {
                    "type": "error",
                    "error": {"type": resp.stream_error_type, "message": resp.error_message},
                },
            )
            self._end_stream()
            return
        for index, block in enumerate(resp.blocks):
            if isinstance(block, TextBlock):
                self._event(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                # Two deltas when possible, to exercise incremental rendering.
                cut = len(block.text) // 2
                for piece in (block.text[:cut], block.text[cut:]):
                    if piece:
                        self._event(
                            "content_block_delta",
                            {
                                "type": "content_block_delta",
                                "index": index,
                                "delta": {"type": "text_delta", "text": piece},
                            },
                        )
            else:
                tid = block.id or _new_id("toolu")
                self._event(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": tid,
                            "name": block.name,
                            "input": {},
                        },
                    },
                )
                self._event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {
                            "type": "input_json_delta",
                            "partial_json": json.dumps(block.input),
                        },
                    },
                )
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": resp.stop_reason, "stop_sequence": None},
                "usage": resp.usage.final_dict(),
            },
        )
        self._event("message_stop", {"type": "message_stop"})
        self._end_stream()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class FakeAnthropic:
    """The fake API server.  Use as a context manager, or ``start()`` / ``close()``.

    Attributes you may change at any time:

    * ``default``: the response for turn requests when the script is empty
      (a Response or a callable on the request body).
    * ``side_response``: the answer to side requests (no ``tools``).
    * ``count_tokens_value``: the number ``/v1/messages/count_tokens`` returns.
    """

    def __init__(self, script: Iterable[ScriptEntry] = ()) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._script: deque[ScriptEntry] = deque(script)
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.default: ScriptEntry = text("Done.", usage=Usage(input_tokens=8, output_tokens=3))
        self.side_response: Response = text(
            "Fake title",
            usage=Usage(
                input_tokens=50,
                output_tokens=4,
                cache_read_input_tokens=0,
                cache_creation_input_tokens=0,
            ),
        )
        self.count_tokens_value = 1000

    # -- lifecycle --------------------------------------------------------

    def start(self) -> FakeAnthropic:
        """Bind 127.0.0.1:0 and serve in a daemon thread.  Returns self."""
        if self._server is not None:
            return self
        self._closing.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="FakeAnthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; wakes any handler holding a delayed response.  Idempotent."""
        self._closing.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for ``ANTHROPIC_BASE_URL`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- script -----------------------------------------------------------

    def enqueue(self, *entries: ScriptEntry) -> None:
        """Append responses (or response-picking callables) to the turn script."""
        with self._cond:
            self._script.extend(entries)

    def pending(self) -> int:
        """How many script entries are not consumed yet."""
        with self._lock:
            return len(self._script)

    def clear_script(self) -> None:
        with self._lock:
            self._script.clear()

    def _next_response(self, body: dict[str, Any]) -> Response:
        with self._lock:
            entry = self._script.popleft() if self._script else self.default
        resp = entry(body) if callable(entry) else entry
        if not isinstance(resp, Response):
            raise TypeError(f"script callable returned {type(resp).__name__}, not Response")
        return resp

    # -- request log ------------------------------------------------------

    def _record(self, req: RecordedRequest, status: int) -> None:
        with self._cond:
            self._requests.append(replace(req, status=status))
            self._cond.notify_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot (copy) of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def turn_requests(self) -> list[RecordedRequest]:
        """Only the agent-turn requests (``/v1/messages`` with ``tools``)."""
        return [r for r in self.requests if r.is_turn]

    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests answered 404 (paths the fake does not know)."""
        return [r for r in self.requests if r.status == 404]

    def wait_for_requests(
        self, n: int, timeout: float = 30.0, *, turns_only: bool = False
    ) -> list[RecordedRequest]:
        """Block until at least ``n`` requests (or turn requests) were received; return them.

        Raises ``TimeoutError`` with a summary of what did arrive.
        """

        def matching() -> list[RecordedRequest]:
            return [r for r in self._requests if r.is_turn] if turns_only else list(self._requests)

        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(matching()) >= n or self._closing.is_set(), timeout=timeout
            )
            got = matching()
        if not ok or len(got) < n:
            kind = "turn requests" if turns_only else "requests"
            seen = (
                ", ".join(
                    f"{r.method} {r.path}" + (" [turn]" if r.is_turn else "") for r in self.requests
                )
                or "none"
            )
            raise TimeoutError(f"waited {timeout}s for {n} {kind}, got {len(got)} (seen: {seen})")
        return got
