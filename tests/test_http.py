"""``tmuxorch serve``: a real uvicorn server on 127.0.0.1 and a free port per
test, over the test's fleet of shell and fake agents, driven with http.client.

The auth matrix checks that a refused request does nothing; every endpoint
answers what the CLI's ``--json`` does; the event stream resumes with
``Last-Event-ID`` with no event lost or repeated; bad input gets one error
line with its status, and nothing is half-done. Every server is stopped at the
end, and its stderr holds neither a traceback nor the token.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Env, base_config
from tests.helpers import retry_until
from tmuxorch.surfaces.http.app import listen
from tmuxorch.surfaces.http.events import HEARTBEAT

pytestmark = pytest.mark.tmux

START = re.compile(r"^tmuxorch serve: (http://127\.0\.0\.1:(\d+))/ ")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Served:
    """One running ``tmuxorch serve``."""

    env: Env
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    token: str
    stdout: list[str] = field(default_factory=list)

    def connect(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        conn = self.connect(timeout=120)
        try:
            conn.request(method, path, body=data, headers=sent)
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        reply = self.request(method, path, body)
        assert reply.status == status, f"{method} {path}: {reply.status} {reply.raw!r}"
        return reply.json

    def agent(self, name: str) -> dict[str, Any] | None:
        reply = self.request("GET", f"/api/agents/{name}")
        return reply.json if reply.status == 200 else None


def events(env: Env, *args: str) -> list[dict[str, Any]]:
    """``events --json``: one object per line."""
    return [json.loads(line) for line in env.ok("events", "--json", *args).splitlines()]


def start(env: Env, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "serve", "--port", "0", *args],
        env=env.environ, cwd=env.tmp,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> str:
    """End the server; its stderr."""
    return ended(proc)[1]


def ended(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """End the server; the rest of its stdout, and its stderr."""
    assert proc.stdout is not None and proc.stderr is not None
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    # read(), not communicate(): readline() may have buffered more than its line.
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait()
    return out.decode(), err.decode()


@pytest.fixture
def served(env: Env) -> Iterator[Served]:
    proc = start(env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        match = START.match(line)
        assert match, f"no start line: {line!r}"
        token = (env.home / "http-token").read_text().strip()
        yield Served(env, proc, match[1], int(match[2]), token, [line])
    finally:
        err = stop(proc)
        assert "Traceback" not in err, err
        if (env.home / "http-token").exists():
            assert (env.home / "http-token").read_text().strip() not in err


# -- start, token, where it listens --------------------------------------------------


def test_health_needs_no_token_and_the_token_file_is_private(served: Served) -> None:
    reply = served.request("GET", "/api/health", auth=False)
    assert reply.status == 200
    assert reply.json == {"ok": True, "version": reply.json["version"], "agents": 0}
    mode = stat.S_IMODE(os.stat(served.env.home / "http-token").st_mode)
    assert mode == 0o600
    assert len(served.token) >= 32


def test_the_token_is_made_once_and_printed_only_then(env: Env) -> None:
    printed = []
    for _ in range(2):
        proc = start(env)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # started
        printed.append(line + ended(proc)[0])
    token = (env.home / "http-token").read_text().strip()
    assert START.match(printed[0]) and f"/login?token={token};" in printed[0]
    assert START.match(printed[1]) and token not in printed[1]


REMOTE = [
    pytest.param("0.0.0.0", False, id="any-ipv4-refused"),
    pytest.param("::", False, id="any-ipv6-refused"),
    pytest.param("example.com", False, id="host-name-refused"),
    pytest.param("0.0.0.0", True, id="any-ipv4-allowed-by-config"),
]


@pytest.mark.parametrize(("host", "allowed"), REMOTE)
def test_non_loopback_bind_is_refused_unless_config_allows_it(
    env: Env, host: str, allowed: bool
) -> None:
    if allowed:
        config = base_config(env.tmp)
        config["http"] = {"allow_remote": True}
        env.write_config(config)
    proc = start(env, "--host", host)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    err = stop(proc) if allowed else proc.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err
    if allowed:
        assert line.startswith(f"tmuxorch serve: http://{host}:")
        return
    assert proc.returncode == 1 and line == ""
    assert err.count("\n") == 1 and "http.allow_remote" in err, err


# -- auth ------------------------------------------------------------------------


def _cookie(served: Served, origin: str | None) -> dict[str, str]:
    headers = {"Cookie": f"tmuxorch_token={served.token}"}
    if origin == "same":
        headers["Origin"] = served.url
    elif origin is not None:
        headers["Origin"] = origin
    return headers


# (auth header kind, expected status of a spawn and of a kill)
AUTH = [
    pytest.param("none", 401, id="no-token"),
    pytest.param("wrong", 401, id="wrong-token"),
    pytest.param("basic", 401, id="not-bearer"),
    pytest.param("wrong-cookie", 401, id="wrong-cookie"),
    pytest.param("cookie-no-origin", 403, id="cookie-without-origin"),
    pytest.param("cookie-foreign", 403, id="cookie-foreign-origin"),
    pytest.param("cookie-null", 403, id="cookie-null-origin"),
    pytest.param("cookie-same", 0, id="cookie-same-origin"),
    pytest.param("bearer", 0, id="bearer"),
]


def _auth_headers(served: Served, kind: str) -> tuple[bool, dict[str, str]]:
    """(send the bearer token, extra headers) for one row of AUTH."""
    return {
        "none": (False, {}),
        "wrong": (False, {"Authorization": "Bearer " + "x" * len(served.token)}),
        "basic": (False, {"Authorization": f"Basic {served.token}"}),
        "wrong-cookie": (False, {"Cookie": "tmuxorch_token=nope", "Origin": served.url}),
        "cookie-no-origin": (False, _cookie(served, None)),
        "cookie-foreign": (False, _cookie(served, "http://evil.example")),
        "cookie-null": (False, _cookie(served, "null")),
        "cookie-same": (False, _cookie(served, "same")),
        "bearer": (True, {}),
    }[kind]


@pytest.mark.parametrize(("kind", "refused"), AUTH)
def test_auth_matrix_refuses_and_does_nothing(served: Served, kind: str, refused: int) -> None:
    served.env.spawn_ready("victim")
    auth, headers = _auth_headers(served, kind)
    spawn = served.request("POST", "/api/agents", {"name": "newcomer"}, auth=auth, headers=headers)
    kill = served.request("DELETE", "/api/agents/victim", auth=auth, headers=headers)
    names = [a["name"] for a in served.env.json("list")]
    victim = served.env.json("status", "victim")
    if refused:
        assert (spawn.status, kill.status) == (refused, refused)
        assert set(spawn.json) == {"error"} and set(kill.json) == {"error"}
        assert names == ["victim"] and victim["state"] == "idle"
    else:
        assert (spawn.status, kill.status) == (201, 200)
        assert spawn.json["name"] == "newcomer" and kill.json["state"] == "exited"
        assert sorted(names) == ["newcomer", "victim"]


def test_a_cookie_alone_may_read(served: Served) -> None:
    reply = served.request("GET", "/api/agents", auth=False, headers=_cookie(served, None))
    assert (reply.status, reply.json) == (200, [])


LOGIN = [
    pytest.param("right", 303, id="right-token"),
    pytest.param("wrong", 401, id="wrong-token"),
    pytest.param("", 401, id="no-token"),
]


@pytest.mark.parametrize(("given", "status"), LOGIN)
def test_login_sets_a_strict_httponly_cookie_only_for_the_token(
    served: Served, given: str, status: int
) -> None:
    token = served.token if given == "right" else given
    reply = served.request("GET", f"/login?token={token}", auth=False)
    assert reply.status == status
    cookie = reply.headers.get("set-cookie")
    if status != 303:
        assert cookie is None and set(reply.json) == {"error"}
        return
    assert cookie is not None
    parts = {p.strip().lower() for p in cookie.split(";")}
    assert f"tmuxorch_token={served.token}".lower() in parts
    assert {"httponly", "samesite=strict"} <= parts


# -- every endpoint -----------------------------------------------------------------


def _state(served: Served, name: str, *states: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        agent = served.agent(name)
        return agent if agent and agent["state"] in states else None

    return retry_until(reached, timeout=60, message=f"{name} {states}")


def test_reads_answer_what_the_cli_json_does(served: Served) -> None:
    served.env.spawn_ready("one")
    served.env.spawn_ready("two", "--parent", "one")
    assert served.ok("GET", "/api/agents") == served.env.json("list")
    assert served.ok("GET", "/api/agents/one") == served.env.json("status", "one")
    assert served.ok("GET", "/api/locks") == served.env.json("locks")
    assert served.ok("GET", "/api/cost") == served.env.json("cost")
    # One host, up while its daemon runs (last_seen: when asked, on SQLite).
    hosts = [{**h, "last_seen": None} for h in served.ok("GET", "/api/hosts")]
    assert hosts == [{**h, "last_seen": None} for h in served.env.json("hosts")]
    assert [(h["state"], h["agents"]) for h in hosts] == [("up", 2)]
    health = served.request("GET", "/api/health", auth=False).json
    assert health["agents"] == 2


def test_every_endpoint_against_shell_and_fake_agents(served: Served) -> None:
    spawned = served.ok("POST", "/api/agents", {"name": "sh", "agent": "shell"}, status=201)
    assert spawned["name"] == "sh" and spawned["profile"] == "shell"
    _state(served, "sh", "idle")
    sent = served.ok("POST", "/api/agents/sh/messages", {"text": "echo hi-from-http"})
    assert set(sent) >= {"id", "to", "mode", "status"} and sent["to"] == "sh"

    def said() -> bool:
        text = served.ok("GET", "/api/agents/sh/output")["text"]
        return "\nhi-from-http" in text

    retry_until(said, message="the command's output on screen")
    tail = served.ok("GET", "/api/agents/sh/output?lines=1")
    assert tail["name"] == "sh" and "\n" not in tail["text"]

    served.ok("POST", "/api/agents/sh/messages", {"text": "sleep 30", "mode": "important"})
    _state(served, "sh", "busy")
    assert served.ok("POST", "/api/agents/sh/interrupt")["name"] == "sh"
    _state(served, "sh", "idle")
    assert served.ok("POST", "/api/agents/sh/clear")["state"] == "idle"
    assert served.ok("POST", "/api/agents/sh/stop")["state"] == "stopped"
    assert served.ok("POST", "/api/agents/sh/resume", {"message": "echo back"})["name"] == "sh"
    _state(served, "sh", "idle")

    served.ok("POST", "/api/agents", {"name": "fk", "agent": "fake"}, status=201)
    _state(served, "fk", "idle")
    served.ok("POST", "/api/agents/fk/messages", {"text": "ask Proceed"})
    assert "Proceed" in _state(served, "fk", "waiting")["detail"]
    served.ok("POST", "/api/agents/fk/approve", {})
    _state(served, "fk", "idle")
    served.ok("POST", "/api/agents/fk/messages", {"text": "ask Delete it"})
    _state(served, "fk", "waiting")
    served.ok("POST", "/api/agents/fk/deny")
    _state(served, "fk", "idle")

    assert served.ok("DELETE", "/api/agents/fk")["state"] == "exited"
    assert served.ok("DELETE", "/api/agents/fk?rm=true") == {"name": "fk", "removed": True}
    assert served.agent("fk") is None
    assert [a["name"] for a in served.ok("GET", "/api/agents")] == ["sh"]
    kinds = {e["event"] for e in events(served.env, "--agent", "fk", "-n", "100")}
    assert {"approved", "denied", "killed", "removed"} <= kinds


def test_openapi_and_docs_come_from_fastapi(served: Served) -> None:
    schema = served.ok("GET", "/openapi.json")
    assert {"/api/agents", "/api/agents/{name}/messages", "/api/events"} <= set(schema["paths"])
    docs = served.request("GET", "/docs")
    assert docs.status == 200 and b"/openapi.json" in docs.raw
    # Offline: the page's script and style come from the server itself.
    assets = re.findall(rb'(?:src|href)="([^"]+)"', docs.raw)
    assert assets and all(a.startswith(b"/") for a in assets), assets
    for asset in assets:
        assert served.request("GET", asset.decode()).status == 200
    assert served.request("GET", "/openapi.json", auth=False).status == 401


# -- the event stream -----------------------------------------------------------------


class Stream:
    """One SSE connection: its frames, read as they come."""

    def __init__(self, served: Served, last_event_id: int | None = None) -> None:
        self.conn = served.connect()
        headers = {"Authorization": f"Bearer {served.token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/api/events", headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200
        assert self.resp.headers["content-type"].startswith("text/event-stream")
        self.after = -1

    def frame(self) -> dict[str, str]:
        """The next frame's fields (comments as "comment")."""
        fields: dict[str, str] = {}
        while True:
            line = self.resp.readline().decode()
            assert line, "the stream ended"
            line = line.rstrip("\n")
            if not line:
                if fields:
                    return fields
                continue
            key, _, value = line.partition(":")
            fields[key or "comment"] = value.strip()

    def event(self) -> tuple[int, dict[str, Any]]:
        while True:
            fields = self.frame()
            if "comment" in fields and fields["comment"].startswith("tmuxorch events after"):
                self.after = int(fields["comment"].rsplit(" ", 1)[1])
            if "data" in fields:
                return int(fields["id"]), json.loads(fields["data"])

    def close(self) -> None:
        self.conn.close()


def test_events_resume_after_a_disconnect_with_nothing_lost_or_repeated(served: Served) -> None:
    env = served.env
    env.spawn_ready("sse")
    first = Stream(served)
    seen: list[tuple[int, dict[str, Any]]] = []
    with contextlib.closing(first):
        env.ok("send", "sse", "echo one")
        seen += [first.event() for _ in range(3)]
        start = first.after
    # Disconnected mid-stream: the fleet goes on.
    for word in ("two", "three"):
        env.ok("send", "sse", f"echo {word}", "--wait", "--timeout", "60")
    logged = {e["id"]: e for e in events(env, "-n", "1000") if e["id"] > start}
    newest = max(logged)
    again = Stream(served, last_event_id=seen[-1][0])
    with contextlib.closing(again):
        while seen[-1][0] < newest:
            seen.append(again.event())
    ids = [i for i, _ in seen]
    assert ids == sorted(logged), "every event once, in order"
    assert all(data == logged[i] for i, data in seen), "data is the events --json object"


def test_a_stopping_server_ends_its_event_streams(served: Served) -> None:
    """uvicorn waits for open connections: the streams end, with no traceback."""
    stream = Stream(served)
    with contextlib.closing(stream):
        assert "comment" in stream.frame()
        err = stop(served.proc)
        assert served.proc.returncode is not None
        assert stream.resp.read() == b""
    assert "Traceback" not in err and "Cancel" not in err, err


def _watches(pid: int) -> int:
    """The server's inotify instances: one per stream's watch of the store."""
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if "inotify" in _readlink(fd))


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed meanwhile
        return ""


def test_a_closed_stream_lets_go_of_its_watch_at_once(served: Served) -> None:
    """A client gone ends its stream's watch now, not at the next
    heartbeat: five pages opened and closed do not pile up watches."""
    pid = served.proc.pid
    baseline = _watches(pid)
    streams = [Stream(served) for _ in range(5)]
    for stream in streams:
        stream.frame()
    retry_until(lambda: _watches(pid) >= baseline + 5)
    # As a page left open: each watch settles into its long sleep (a store
    # change while they are open wakes them all, and ended them before).
    time.sleep(1)
    for stream in streams:
        stream.close()
    # Well inside HEARTBEAT (15 s), when the watches ended only then before.
    retry_until(lambda: _watches(pid) <= baseline, timeout=HEARTBEAT / 2)


def test_events_refuse_a_bad_last_event_id(served: Served) -> None:
    reply = served.request("GET", "/api/events", headers={"Last-Event-ID": "abc"})
    assert reply.status == 422 and "last-event-id" in reply.json["error"]


# -- bad input ----------------------------------------------------------------------

HUGE = json.dumps({"text": "x" * (2 << 20)}).encode()

# (method, path, JSON body or raw bytes, status, a word of the error)
BAD = [
    pytest.param("GET", "/api/agents/ghost", None, 404, "no agent named", id="status-unknown"),
    pytest.param("POST", "/api/agents/ghost/messages", {"text": "hi"}, 404, "ghost",
                 id="send-unknown"),
    pytest.param("POST", "/api/agents/ghost/approve", None, 404, "ghost", id="approve-unknown"),
    pytest.param("POST", "/api/agents/ghost/deny", None, 404, "ghost", id="deny-unknown"),
    pytest.param("POST", "/api/agents/ghost/interrupt", None, 404, "ghost",
                 id="interrupt-unknown"),
    pytest.param("POST", "/api/agents/ghost/clear", None, 404, "ghost", id="clear-unknown"),
    pytest.param("POST", "/api/agents/ghost/stop", None, 404, "ghost", id="stop-unknown"),
    pytest.param("POST", "/api/agents/ghost/resume", None, 404, "ghost", id="resume-unknown"),
    pytest.param("DELETE", "/api/agents/ghost", None, 404, "ghost", id="kill-unknown"),
    pytest.param("DELETE", "/api/agents/ghost?rm=true", None, 404, "ghost", id="rm-unknown"),
    pytest.param("GET", "/api/agents/ghost/output", None, 404, "ghost", id="output-unknown"),
    pytest.param("GET", "/api/agents/-bad", None, 400, "invalid agent name", id="status-bad-name"),
    pytest.param("POST", "/api/agents/a%20b/messages", {"text": "hi"}, 400, "invalid agent name",
                 id="send-bad-name"),
    pytest.param("POST", "/api/agents", {"name": "no/slash"}, 400, "invalid agent name",
                 id="spawn-bad-name"),
    pytest.param("POST", "/api/agents", {"name": "idle1"}, 409, "already exists",
                 id="spawn-duplicate"),
    pytest.param("POST", "/api/agents", {"name": "x", "agent": "nosuch"}, 400, "nosuch",
                 id="spawn-unknown-profile"),
    pytest.param("POST", "/api/agents", {"name": "x", "host": "far"}, 400, "no host named 'far'",
                 id="spawn-on-an-unknown-host"),
    pytest.param("POST", "/api/agents", {"name": 7}, 422, "name", id="spawn-name-not-string"),
    pytest.param("POST", "/api/agents", {"prompt": "hi"}, 422, "name", id="spawn-no-name"),
    pytest.param("POST", "/api/agents", {"name": "x", "colour": "red"}, 422, "colour",
                 id="spawn-unknown-key"),
    pytest.param("POST", "/api/agents", [1, 2], 422, "", id="spawn-not-an-object"),
    pytest.param("POST", "/api/agents", b'{"name": ', 400, "not valid JSON",
                 id="spawn-malformed-json"),
    pytest.param("POST", "/api/agents/idle1/messages", {"text": 5}, 422, "text",
                 id="send-text-not-string"),
    pytest.param("POST", "/api/agents/idle1/messages", {"text": "hi", "mode": "loud"}, 422,
                 "mode", id="send-wrong-mode"),
    pytest.param("POST", "/api/agents/idle1/messages", {}, 422, "text", id="send-no-text"),
    pytest.param("POST", "/api/agents/idle1/messages", HUGE, 413, "KiB", id="send-huge-body"),
    pytest.param("POST", "/api/agents/idle1/approve", None, 409, "not waiting",
                 id="approve-not-waiting"),
    pytest.param("POST", "/api/agents/idle1/deny", {"reason": "no"}, 409, "not waiting",
                 id="deny-not-waiting"),
    pytest.param("POST", "/api/agents/idle1/approve", {"always": "yes"}, 422, "always",
                 id="approve-always-not-bool"),
    pytest.param("POST", "/api/agents/idle1/resume", None, 409, "only an ended agent",
                 id="resume-running"),
    pytest.param("GET", "/api/agents/idle1/output?lines=0", None, 422, "lines",
                 id="output-lines-zero"),
    pytest.param("GET", "/api/agents/idle1/output?lines=many", None, 422, "lines",
                 id="output-lines-not-int"),
    pytest.param("GET", "/api/nothing", None, 404, "Not Found", id="unknown-path"),
    pytest.param("PUT", "/api/agents", None, 405, "Method Not Allowed", id="wrong-method"),
]  # fmt: skip


def test_a_huge_body_without_a_length_is_413_too(served: Served) -> None:
    """Chunked, so only counting the bytes as they come can refuse it."""
    served.env.spawn_ready("idle1")
    conn = served.connect()
    headers = {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}
    pieces = (HUGE[i : i + 65536] for i in range(0, len(HUGE), 65536))
    with contextlib.closing(conn):
        conn.request("POST", "/api/agents/idle1/messages", pieces, headers, encode_chunked=True)
        resp = conn.getresponse()
        assert (resp.status, json.loads(resp.read())) == (
            413,
            {"error": "request body over 1024 KiB"},
        )
    assert served.env.json("status", "idle1")["queued"] == 0
    assert events(served.env, "--agent", "idle1", "-n", "100")[-1]["event"] != "message"


@pytest.mark.parametrize(("method", "path", "body", "status", "word"), BAD)
def test_bad_input_gets_one_error_line_and_changes_nothing(
    served: Served, method: str, path: str, body: Any, status: int, word: str
) -> None:
    served.env.spawn_ready("idle1")
    before = served.env.json("list")
    raw = body if isinstance(body, bytes) else None
    reply = served.request(method, path, None if raw is not None else body, raw=raw)
    assert reply.status == status, reply.raw
    assert set(reply.json) == {"error"}
    message = reply.json["error"]
    assert word in message and "\n" not in message and "Traceback" not in message
    assert served.env.json("list") == before


@pytest.mark.unit
def test_a_connection_answers_without_waiting_on_delayed_acks() -> None:
    """Accepted connections have TCP_NODELAY: with Nagle's rule, each response
    after a keep-alive connection's first waited 40 ms on the client's ACK."""
    server = listen("127.0.0.1", 0)
    with server, socket.create_connection(server.getsockname()[:2]):
        accepted, _ = server.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
