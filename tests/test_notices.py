"""The notices' text (tmuxorch.fleet.notices): an event of the store, as
``events --json`` shows it, becomes what a person is told, or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tmuxorch.core.records import Event, Notice
from tmuxorch.core.vocab import NOTICE_KINDS
from tmuxorch.fleet.notices import BODY_LIMIT, merge, notice_for


def _event(event: str, state: str | None, detail: str = "", **data: Any) -> Event:
    return Event(5, 0.0, "a1", event, state, detail, data)  # type: ignore[arg-type]


LONG = "x" * (BODY_LIMIT + 50)
# (id, event, state before, screen, kind and body of the notice, or None)
EVENTS: list[tuple[str, Event, str | None, str, tuple[str, str] | None]] = [
    (
        "permission prompt",
        _event("state", "waiting", "Do you want to create hello.txt?"),
        "busy", "",
        ("waiting", "Do you want to create hello.txt?"),
    ),
    (
        "prompt text read after the hook's",
        _event("state", "waiting", "Do you want to proceed?"),
        "waiting", "",
        ("waiting", "Do you want to proceed?"),
    ),
    ("api error", _event("state", "error", "API Error: 529 overloaded"), "busy", "",
     ("error", "API Error: 529 overloaded")),
    ("error again", _event("state", "error", "retrying"), "error", "", None),
    ("claude's turn ends", _event("hook:Stop", "idle", last="All done."), "busy", "",
     ("done", "All done.")),
    ("a Stop hook ends a turn whatever was known", _event("hook:Stop", "idle", last="ok"), None,
     "", ("done", "ok")),
    ("answered prompt ends the turn", _event("hook:Stop", "idle", last="ok"), "waiting", "",
     ("done", "ok")),
    ("a shell's command ends", _event("state", "idle"), "busy", "$ make\nbuilt\n$ \n\n",
     ("done", "$ make\nbuilt\n$")),
    ("long response", _event("hook:Stop", "idle", last=LONG), "busy", "",
     ("done", LONG[: BODY_LIMIT - 1] + "…")),
    ("start is not done", _event("state", "idle"), "starting", "", None),
    ("limit", _event("violation", None, "max_turns: 3 > 2"), "busy", "",
     ("violation", "max_turns: 3 > 2")),
    ("window gone", _event("exited", "exited", "window gone"), "idle", "",
     ("lost", "window gone, unseen: `tmuxorch up` on its host brings it back")),
    ("host gone", _event("exited", "exited", "host b lost"), "busy", "",
     ("lost", "host b lost, unseen: `tmuxorch up` on its host brings it back")),
    ("plain exit", _event("exited", "exited", "exit 0"), "idle", "", None),
    ("busy", _event("hook:UserPromptSubmit", "busy"), "idle", "", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "previous", "screen", "expected"), [e[1:] for e in EVENTS], ids=[e[0] for e in EVENTS]
)
def test_an_event_becomes_its_notice(
    event: Event, previous: str | None, screen: str, expected: tuple[str, str] | None
) -> None:
    notice = notice_for(event, previous, NOTICE_KINDS, screen)  # type: ignore[arg-type]
    if expected is None:
        assert notice is None
        return
    assert notice is not None
    assert (notice.kind, notice.body, notice.agent, notice.event_id) == (*expected, "a1", 5)
    assert notice.title.startswith("a1 ")


def test_a_kind_left_out_of_notify_on_is_not_told() -> None:
    event = _event("hook:Stop", "idle", last="ok")
    assert notice_for(event, "busy", ["waiting", "error"]) is None


MERGES = [
    ("one", [Notice("a1", "done", "a1 is done", "ok", 3)], ("a1 is done", "ok", 3)),
    (
        "three",
        [
            Notice("a1", "done", "a1 is done", "first", 3),
            Notice("a1", "waiting", "a1 is waiting for you", "Allow?", 4),
            Notice("a1", "done", "a1 is done", "", 9),
        ],
        ("a1 is done (+2 more)", "a1 is done: first\na1 is waiting for you: Allow?\na1 is done", 9),
    ),
    (
        "one prompt, hook then screen",
        [
            Notice("a1", "waiting", "a1 is waiting for you", "Bash: rm -r build", 3),
            Notice("a1", "waiting", "a1 is waiting for you", "Do you want to proceed?", 4),
            Notice("a1", "waiting", "a1 is waiting for you", "Bash: rm -r build", 5),
        ],
        ("a1 is waiting for you", "Bash: rm -r build\nDo you want to proceed?", 5),
    ),
]


@pytest.mark.parametrize(
    ("notices", "expected"), [m[1:] for m in MERGES], ids=[m[0] for m in MERGES]
)
def test_merged_notices_keep_every_one_s_text(
    notices: list[Notice], expected: tuple[str, str, int]
) -> None:
    merged = merge(notices)
    assert (merged.title, merged.body, merged.event_id) == expected
    assert (merged.agent, merged.kind) == ("a1", notices[-1].kind)
