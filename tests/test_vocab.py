"""The vocabulary (tmuxorch.core.vocab): each word spelled once, and what uses it."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from tests.helpers import agent_row
from tmuxorch.claude.hooks import EVENTS
from tmuxorch.core import vocab
from tmuxorch.store.opening import open_store
from tmuxorch.surfaces.mcp import common as mcp_words

# (id, the modes of the messages queued in this order, the order they are delivered in)
ORDERS = [
    ("sequential in order", ["sequential", "sequential"], [0, 1]),
    ("important goes ahead", ["sequential", "important", "sequential"], [1, 0, 2]),
    ("urgent goes first", ["sequential", "important", "urgent"], [2, 1, 0]),
    ("oldest first within a mode", ["urgent", "important", "urgent", "important"], [0, 2, 1, 3]),
]


@pytest.mark.parametrize(("modes", "order"), [o[1:] for o in ORDERS], ids=[o[0] for o in ORDERS])
def test_delivery_order(tmp_path: Path, modes: list[vocab.Mode], order: list[int]) -> None:
    with open_store(tmp_path) as store:
        store.insert_agent(agent_row("a"))
        ids = [store.add_message(None, "a", mode, f"m{n}") for n, mode in enumerate(modes)]
        claimed = []
        while (message := store.claim_next("a", 1)) is not None:
            claimed.append(ids.index(message.id))
        assert claimed == order


def test_the_delivery_order_names_every_mode_once() -> None:
    assert sorted(vocab.DELIVERY_ORDER) == sorted(vocab.MODES)


# (id, the words the MCP server gives pydantic, the vocabulary's)
MCP_WORDS = [
    ("modes", mcp_words.Mode, vocab.MODES),
    ("until", mcp_words.Until, vocab.UNTILS),
]


@pytest.mark.parametrize(
    ("literal", "words"), [w[1:] for w in MCP_WORDS], ids=[w[0] for w in MCP_WORDS]
)
def test_the_mcp_tools_take_the_vocabularys_words(literal: object, words: tuple[str, ...]) -> None:
    assert typing.get_args(literal) == words


# (id, hook, its event kind)
HOOKS = [
    ("a hook", "Stop", "hook:Stop"),
    ("another", "UserPromptSubmit", "hook:UserPromptSubmit"),
    ("not a hook we take", "MessageDisplay", None),
    ("not the kind itself", "hook:Stop", None),
]


@pytest.mark.parametrize(("hook", "kind"), [h[1:] for h in HOOKS], ids=[h[0] for h in HOOKS])
def test_hook_kind(hook: str, kind: str | None) -> None:
    assert vocab.hook_kind(hook) == kind


def test_every_hook_kind_is_an_event_kind_and_a_hook_claude_runs() -> None:
    assert set(vocab.HOOK_KINDS) <= set(vocab.EVENT_KINDS)
    assert [f"hook:{event}" for event in EVENTS] == list(vocab.HOOK_KINDS)
