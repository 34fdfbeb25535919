"""Fast tests of the fake Anthropic API itself (no Claude Code needed)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

try:
    from fakeapi import (
        FakeAnthropic,
        Response,
        Usage,
        error,
        last_user_text,
        stream_error,
        text,
        tool_results,
        tool_use,
        tool_uses,
    )
except ImportError:  # run from the repo root with tests/ not on sys.path
    from tests.fakeapi import (  # type: ignore[no-redef]
        FakeAnthropic,
        Response,
        Usage,
        error,
        last_user_text,
        stream_error,
        text,
        tool_results,
        tool_use,
        tool_uses,
    )

TOOLS = [{"name": "Write", "description": "write", "input_schema": {"type": "object"}}]


def _body(*, tools: bool = True, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "model": "claude-test-1",
        "max_tokens": 100,
        "stream": True,
        "messages": messages or [{"role": "user", "content": "hi"}],
    }
    if tools:
        b["tools"] = TOOLS
    return b


def _post(
    fake: FakeAnthropic, path: str, body: Any, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        fake.url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "k"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def _events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Parse an SSE body into (event, data) pairs, checking the framing strictly."""
    out = []
    text_ = raw.decode()
    assert text_.endswith("\n\n")
    for chunk in text_.strip("\n").split("\n\n"):
        lines = chunk.split("\n")
        assert len(lines) == 2, chunk
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), chunk
        name = lines[0][len("event: ") :]
        data = json.loads(lines[1][len("data: ") :])
        assert data["type"] == name
        out.append((name, data))
    return out


@pytest.fixture
def fake():
    with FakeAnthropic() as f:
        yield f


def test_text_stream_format(fake: FakeAnthropic) -> None:
    fake.enqueue(
        text(
            "Hello there",
            usage=Usage(
                input_tokens=5,
                output_tokens=7,
                cache_read_input_tokens=11,
                cache_creation_input_tokens=13,
            ),
        )
    )
    status, headers, raw = _post(fake, "/v1/messages?beta=true", _body())
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    ev = _events(raw)
    names = [n for n, _ in ev]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names[1] == "content_block_start" and "content_block_stop" in names
    start = ev[0][1]["message"]
    assert (
        start["model"] == "claude-test-1"
        and start["role"] == "assistant"
        and start["id"].startswith("msg_")
    )
    assert start["usage"]["input_tokens"] == 5
    assert start["usage"]["cache_read_input_tokens"] == 11
    assert start["usage"]["cache_creation_input_tokens"] == 13
    text_ = "".join(d["delta"]["text"] for n, d in ev if n == "content_block_delta")
    assert text_ == "Hello there"
    delta = ev[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 7
    assert delta["usage"]["input_tokens"] == 5


def test_tool_use_stream_and_unique_ids(fake: FakeAnthropic) -> None:
    fake.enqueue(
        tool_use("Write", {"file_path": "/x/a.txt", "content": "A\n"}, preamble="Writing."),
        tool_uses([("Read", {"file_path": "/x/a.txt"}), ("Bash", {"command": "ls"})]),
    )
    ids = []
    for expected in (["text", "tool_use"], ["tool_use", "tool_use"]):
        _, _, raw = _post(fake, "/v1/messages", _body())
        ev = _events(raw)
        starts = [d["content_block"] for n, d in ev if n == "content_block_start"]
        assert [b["type"] for b in starts] == expected
        for n, d in ev:
            if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta":
                json.loads(d["delta"]["partial_json"])  # complete JSON in one delta
        ids += [b["id"] for b in starts if b["type"] == "tool_use"]
        assert ev[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(i.startswith("toolu_") for i in ids)


def test_queue_consumed_only_by_turns_then_default(fake: FakeAnthropic) -> None:
    fake.enqueue(text("first"), text("second"))
    # a side request (no tools) does not consume the script
    _, _, raw = _post(fake, "/v1/messages", _body(tools=False))
    assert (
        "".join(d["delta"].get("text", "") for n, d in _events(raw) if n == "content_block_delta")
        == "Fake title"
    )
    assert fake.pending() == 2
    got = []
    for _ in range(3):
        _, _, raw = _post(fake, "/v1/messages", _body())
        got.append(
            "".join(
                d["delta"].get("text", "") for n, d in _events(raw) if n == "content_block_delta"
            )
        )
    assert got == ["first", "second", "Done."]
    assert fake.pending() == 0
    assert len(fake.turn_requests()) == 3
    assert len(fake.requests) == 4


def test_callable_entry_sees_body(fake: FakeAnthropic) -> None:
    def echo(body: dict[str, Any]) -> Response:
        return text("echo:" + last_user_text(body))

    fake.enqueue(echo)
    _, _, raw = _post(
        fake,
        "/v1/messages",
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "<system-reminder>x</system-reminder>"},
                        {"type": "text", "text": "ping"},
                    ],
                }
            ]
        ),
    )
    assert (
        "".join(d["delta"].get("text", "") for n, d in _events(raw) if n == "content_block_delta")
        == "echo:ping"
    )


@pytest.mark.parametrize(
    ("status", "etype"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
    ids=["400", "401", "429", "500", "529"],
)
def test_errors(fake: FakeAnthropic, status: int, etype: str) -> None:
    fake.enqueue(error(status, retry_after=3 if status == 429 else None))
    code, headers, raw = _post(fake, "/v1/messages", _body())
    assert code == status
    body = json.loads(raw)
    assert body["type"] == "error" and body["error"]["type"] == etype and body["error"]["message"]
    if status == 429:
        assert headers["retry-after"] == "3"
    assert fake.requests[-1].status == status


def test_stream_error(fake: FakeAnthropic) -> None:
    fake.enqueue(stream_error())
    code, _, raw = _post(fake, "/v1/messages", _body())
    assert code == 200
    assert [n for n, _ in _events(raw)] == ["message_start", "error"]


@pytest.mark.parametrize(
    ("path", "expected_status"),
    [("/v1/messages/count_tokens", 200), ("/v1/unknown", 404)],
    ids=["count_tokens", "unknown-path"],
)
def test_other_paths(fake: FakeAnthropic, path: str, expected_status: int) -> None:
    fake.count_tokens_value = 4242
    code, _, raw = _post(fake, path, _body())
    assert code == expected_status
    if expected_status == 200:
        assert json.loads(raw) == {"input_tokens": 4242}
        assert fake.unknown_requests() == []
    else:
        assert json.loads(raw)["error"]["type"] == "not_found_error"
        assert [r.path for r in fake.unknown_requests()] == [path]
    assert fake.pending() == 0 and fake.turn_requests() == []


def test_delay_sends_message_start_first() -> None:
    with FakeAnthropic() as fake:
        fake.enqueue(text("late", delay=1.0))
        t0 = time.monotonic()
        req = urllib.request.Request(
            fake.url + "/v1/messages", data=json.dumps(_body()).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            first = r.readline()
            t_first = time.monotonic() - t0
            rest = r.read()
            t_all = time.monotonic() - t0
    assert first == b"event: message_start\n"
    assert t_first < 0.8 <= t_all
    assert b"late" not in first and b"message_stop" in rest


@pytest.mark.parametrize("kind", ["stream", "error"], ids=["delayed-stream", "delayed-error"])
def test_delay_interruptible_by_close(kind: str) -> None:
    fake = FakeAnthropic().start()
    fake.enqueue(text("never", delay=60) if kind == "stream" else error(529, delay=60))
    result: list[object] = []

    def client() -> None:
        try:
            result.append(_post(fake, "/v1/messages", _body(), timeout=20))
        except Exception as e:  # connection closed without a full answer
            result.append(e)

    t = threading.Thread(target=client)
    t.start()
    fake.wait_for_requests(1, timeout=5)
    t0 = time.monotonic()
    fake.close()
    t.join(timeout=10)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 5


def test_wait_for_requests_blocks_until_arrival_and_times_out(fake: FakeAnthropic) -> None:
    threading.Timer(0.3, lambda: _post(fake, "/v1/messages", _body())).start()
    got = fake.wait_for_requests(1, timeout=5, turns_only=True)
    assert len(got) == 1 and got[0].is_turn
    with pytest.raises(TimeoutError, match="got 1"):
        fake.wait_for_requests(2, timeout=0.2)


def test_request_helpers() -> None:
    body = _body(
        messages=[
            {"role": "user", "content": "first"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "denied: nope"}],
                        "is_error": True,
                    },
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"},
                ],
            },
        ]
    )
    assert tool_results(body)[0].text == "denied: nope" and tool_results(body)[0].is_error
    assert tool_results(body)[1].text == "ok" and not tool_results(body)[1].is_error
    assert last_user_text(body) == ""
    assert last_user_text(_body(messages=[{"role": "user", "content": "a\tb"}])) == "a\tb"


def test_request_log_records_path_query_headers(fake: FakeAnthropic) -> None:
    _post(fake, "/v1/messages?beta=true", _body())
    r = fake.requests[0]
    assert r.path == "/v1/messages" and r.query == {"beta": ["true"]}
    assert r.headers["x-api-key"] == "k" and r.body["model"] == "claude-test-1" and r.status == 200
