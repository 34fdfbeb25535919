"""Notifications (config ``notify``): the daemon's sender (tmuxorch.daemon.notifier)
sends the store's outbox through Apprise to a local HTTP receiver
(tests/receiver.py), off the monitor's path, merging what comes within
``min_interval`` and trying a failing target again later."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env, base_config
from tests.fakeapi import text, tool_use
from tests.helpers import retry_until
from tests.receiver import Receiver, receiving
from tmuxorch.core.config import resolve
from tmuxorch.core.records import Event, Notice, Outgoing
from tmuxorch.daemon import notifier
from tmuxorch.daemon.notifier import Notifier, backoff, due_at, target_of
from tmuxorch.store.opening import open_store

BACKOFF = [(1, 2.0), (2, 4.0), (3, 8.0), (8, 256.0), (9, 300.0), (40, 300.0)]


@pytest.mark.parametrize(("attempts", "pause"), BACKOFF, ids=[f"{a} failed" for a, _ in BACKOFF])
def test_a_failing_target_is_tried_again_after_a_pause_that_doubles(
    attempts: int, pause: float
) -> None:
    assert backoff(attempts) == pause


def _out(created: float, next_try: float | None = None, row: int = 1) -> Outgoing:
    """A row as the store has it: new (tried at once), or failed (tried at ``next_try``)."""
    notice = Notice("a", "done", "a is done", "", 1)
    if next_try is None:
        return Outgoing(row, notice, "t", created, 0, created)
    return Outgoing(row, notice, "t", created, 1, next_try)


HOLD = notifier._HOLD
# (id, unsent rows of one agent and target, last sent there, min_interval, due at);
# rows 1 and 2 are the ones this sender tried.
DUE = [
    ("first ever: after the hold", [_out(100.0)], None, 10.0, 100.0 + HOLD),
    ("sent long ago", [_out(100.0)], 50.0, 10.0, 100.0 + HOLD),
    ("sent just before: min_interval", [_out(100.0)], 95.0, 10.0, 105.0),
    ("several: the oldest's hold", [_out(100.0), _out(103.0, row=3)], None, 10.0, 100.0 + HOLD),
    ("failed: its pause", [_out(100.0, 130.0), _out(120.0, row=3)], 95.0, 10.0, 130.0),
    ("failed by a previous daemon: at once", [_out(100.0, 130.0, row=3)], None, 10.0, 100 + HOLD),
]


@pytest.mark.parametrize(
    ("group", "last_sent", "interval", "due"), [d[1:] for d in DUE], ids=[d[0] for d in DUE]
)
def test_when_an_agent_s_notices_go_out(
    group: list[Outgoing], last_sent: float | None, interval: float, due: float
) -> None:
    assert due_at(group, last_sent, interval, tried={1, 2}) == due


# -- the sender against a real store and a real HTTP receiver --------------------------


def _event(event_id: int, agent: str, last: str) -> Event:
    return Event(event_id, 0.0, agent, "hook:Stop", "idle", "", {"last": last})


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[tuple[Notifier, Receiver]]:
    with receiving() as receiver:
        config: dict[str, Any] = {"notify": {"urls": [receiver.url()], "min_interval": 1}}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        settings = resolve(str(tmp_path / "home"), "unused", str(tmp_path / "config.yaml"))
        sender = Notifier(settings, lambda: settings.config.notify)
        sender.start()
        try:
            yield sender, receiver
        finally:
            sender.stop()
            sender.thread.join()


def test_notices_within_min_interval_are_merged_into_one_per_agent(
    sender: tuple[Notifier, Receiver], tmp_path: Path
) -> None:
    notices, receiver = sender
    target = target_of(receiver.url())
    with open_store(tmp_path / "home") as store:
        notices.seen(store, _event(1, "a", "first answer"), "busy", lambda name: "")
        retry_until(lambda: receiver.bodies() == ["a is done\nfirst answer"], message="the first")
        with store.transaction():  # both at once: neither can go alone
            for notice in (
                Notice("a", "done", "a is done", "second answer", 2),
                Notice("a", "error", "a failed", "API Error: 529", 3),
                Notice("b", "done", "b is done", "b's answer", 4),
            ):
                store.add_notice(notice, [target], notices.origin)
        notices.poke.set()
        bodies = retry_until(lambda: len(receiver.bodies()) == 3 and receiver.bodies())
    assert sorted(bodies[1:]) == sorted([
        "a failed (+1 more)\na is done: second answer\na failed: API Error: 529",
        "b is done\nb's answer",
    ])  # fmt: skip


# -- the daemon: agents in tmux ------------------------------------------------------


def _notify(env: Env, *urls: str) -> None:
    config = base_config(env.tmp)
    config["notify"] = {"urls": list(urls), "min_interval": 0}
    env.write_config(config)


def _told(receiver: Receiver, *needles: str) -> str:
    """The first notice received that says all of ``needles``."""
    found: str = retry_until(
        lambda: next((b for b in receiver.bodies() if all(n in b for n in needles)), ""),
        timeout=60,
        message=f"a notice saying {needles}",
    )
    return found


def test_every_kind_of_notice_reaches_the_target(env: Env) -> None:
    with receiving() as receiver:
        _notify(env, receiver.url())
        env.spawn_ready("sh")
        env.spawn_ready("f", "--agent", "fake", "--max-turns", "2")
        env.ok("send", "sh", "echo notified-$((6*7))")
        _told(receiver, "sh is done", "notified-42")  # a shell's command ended
        env.ok("send", "f", "ask delete x.txt")
        _told(receiver, "f is waiting for you", "Do you want to delete x.txt?")
        env.ok("approve", "f")
        _told(receiver, "f is done")
        env.ok("send", "f", "error overloaded")
        _told(receiver, "f failed", "API Error: overloaded")
        env.ok("send", "f", "one turn too many")
        _told(receiver, "f reached a limit", "max_turns")
        pane = env.json("status", "f")["pane_id"]
        subprocess.run(["tmux", "-L", env.socket, "kill-pane", "-t", pane], check=True)
        _told(receiver, "f is lost", "tmuxorch up")
        assert not any("sh is" in b and "f is" in b for b in receiver.bodies())  # per agent


AS_B = {"TMUXORCH_AGENT": "b"}


def test_a_hanging_or_failing_target_delays_nothing_and_loses_nothing(env: Env) -> None:
    with receiving() as receiver:
        # A password in the URL: the log must never show it.
        _notify(env, receiver.url(auth="user:s3cret@") + "?rto=300")
        env.spawn_ready("a")
        env.spawn_ready("b")
        receiver.mode = "hang"
        env.ok("send", "a", "echo tok-$((5*5))")
        retry_until(lambda: receiver.refused == 1, message="the sender stuck on the target")
        # Meanwhile the monitor goes on: a message is delivered, a state changes.
        sent = json.loads(env.ok("send", "b", "echo two", "--wait", "--json"))
        assert (sent["status"], env.json("status", "b")["state"]) == ("delivered", "idle")
        assert (receiver.refused, receiver.accepted) == (1, [])  # still hanging
        receiver.mode = "fail"
        receiver.released.set()
        retry_until(lambda: receiver.refused >= 2, message="tried again after the hang: a 500")
        log = env.home / "monitor.log"
        shown = "notify.urls[0] (json://user:****@127.0.0.1"
        retry_until(lambda: shown in log.read_text(), message="the failure logged")
        assert "s3cret" not in log.read_text()
        env.kill_monitor()  # with a's and b's notices unsent
        # With no daemon running, a hook still writes: what it says is told too.
        request = {"tool_name": "Bash", "tool_input": {"command": "rm -r build"}}
        hook = env.cli("hook", "PermissionRequest", input=json.dumps(request), env=AS_B)
        assert (hook.returncode, hook.stderr) == (0, "")
        receiver.mode = "ok"
        env.ok("send", "a", "clear; echo marker-$((1+2))")  # starts a monitor again
        _told(receiver, "a is done", "tok-25")
        _told(receiver, "b is done", "two")
        _told(receiver, "b is waiting for you", "rm -r build")
        _told(receiver, "a is done", "marker-3")
        assert sum("tok-25" in b for b in receiver.bodies()) == 1


def test_a_claude_agent_s_prompt_and_answer_are_told(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    with receiving() as receiver:
        config = yaml.safe_load(env.config_path.read_text())
        config["notify"] = {"urls": [receiver.url()], "min_interval": 0}
        env.write_config(config)
        fleet.spawn("c1", "--permission-mode", "default")
        target = fleet.project / "a.txt"
        fleet.api.enqueue(
            tool_use("Write", {"file_path": str(target), "content": "hi\n"}), text("All done.")
        )
        env.ok("send", "c1", "write a.txt")
        _told(receiver, "c1 is waiting for you", "Do you want to create a.txt?")
        env.ok("approve", "c1")
        _told(receiver, "c1 is done", "All done.")  # Claude's last response, from its Stop hook
        assert target.exists()
