"""Notifications (config ``notify``): the daemon's sender (tmuxorch.daemon.notifier)
sends the store's outbox through Apprise to a local HTTP receiver
(tests/receiver.py), off the monitor's path, merging what comes within
``min_interval`` and trying a failing target again later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

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


def _out(created: float, next_try: float | None = None) -> Outgoing:
    """A row as the store has it: new (tried at once), or failed (tried at ``next_try``)."""
    notice = Notice("a", "done", "a is done", "", 1)
    if next_try is None:
        return Outgoing(1, notice, "t", created, 0, created)
    return Outgoing(1, notice, "t", created, 1, next_try)


HOLD = notifier._HOLD
# (id, unsent rows of one agent and target, last sent there, min_interval, due at)
DUE = [
    ("first ever: after the hold", [_out(100.0)], None, 10.0, 100.0 + HOLD),
    ("sent long ago", [_out(100.0)], 50.0, 10.0, 100.0 + HOLD),
    ("sent just before: min_interval", [_out(100.0)], 95.0, 10.0, 105.0),
    ("several: the oldest's hold", [_out(100.0), _out(103.0)], None, 10.0, 100.0 + HOLD),
    ("failed: its pause", [_out(100.0, 130.0), _out(120.0)], 95.0, 10.0, 130.0),
]


@pytest.mark.parametrize(
    ("group", "last_sent", "interval", "due"), [d[1:] for d in DUE], ids=[d[0] for d in DUE]
)
def test_when_an_agent_s_notices_go_out(
    group: list[Outgoing], last_sent: float | None, interval: float, due: float
) -> None:
    assert due_at(group, last_sent, interval) == due


# -- the sender against a real store and a real HTTP receiver --------------------------


def _event(event_id: int, agent: str, last: str) -> Event:
    return Event(event_id, 0.0, agent, "hook:Stop", "idle", "", {"last": last})


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[tuple[Notifier, Receiver]]:
    with receiving() as receiver:
        config: dict[str, Any] = {"notify": {"urls": [receiver.url()], "min_interval": 2}}
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
            store.add_notice(Notice("a", "done", "a is done", "second answer", 2), [target])
            store.add_notice(Notice("a", "error", "a failed", "API Error: 529", 3), [target])
            store.add_notice(Notice("b", "done", "b is done", "b's answer", 4), [target])
        notices.poke.set()
        bodies = retry_until(lambda: len(receiver.bodies()) == 3 and receiver.bodies())
    assert sorted(bodies[1:]) == sorted([
        "a failed (+1 more)\na is done: second answer\na failed: API Error: 529",
        "b is done\nb's answer",
    ])  # fmt: skip
