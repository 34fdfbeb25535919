"""Cost and history: transcripts read incrementally, priced per model, grouped in turns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ClaudeFleet, Env
from tests.fakeapi import Usage, text, tool_use
from tests.helpers import retry_until
from tmuxorch.claude import cost, counted, pricing, transcripts
from tmuxorch.core.config import Config, load_config
from tmuxorch.core.records import Agent, now
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store

ROOT = Path(__file__).parent.parent
OPUS = "claude-opus-4-5-20251101"
HAIKU = "claude-haiku-4-5-20251001"
PRICING = cost.pricing(Config())


# -- synthetic transcripts -----------------------------------------------------------


def _ts(second: float) -> str:
    return f"2026-01-01T00:00:{second:06.3f}Z"


def prompt(text: str, at: float = 0.0, **extra: Any) -> dict[str, Any]:
    message = {"role": "user", "content": text}
    return {"type": "user", "message": message, "timestamp": _ts(at), "sessionId": "s1", **extra}


def reply(
    msg: str,
    usage: tuple[int, int, int, int],
    *blocks: dict[str, Any],
    model: str = OPUS,
    request: str | None = None,
    at: float = 1.0,
) -> dict[str, Any]:
    keys = ("input_tokens", "output_tokens", "cache_read_input_tokens")
    tokens = dict(zip((*keys, "cache_creation_input_tokens"), usage, strict=True))
    return {
        "type": "assistant",
        "requestId": request or f"req_{msg}",
        "timestamp": _ts(at),
        "message": {
            "id": msg,
            "role": "assistant",
            "model": model,
            "content": list(blocks) or [{"type": "text", "text": f"answer {msg}"}],
            "usage": {**tokens, "service_tier": "standard"},
        },
    }


def said(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def called(tool: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{tool}", "name": tool, "input": {}}


def result(at: float = 2.0) -> dict[str, Any]:
    content = [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "ok"}]
    return {"type": "user", "message": {"role": "user", "content": content}, "timestamp": _ts(at)}


def duration(at: float) -> dict[str, Any]:
    return {"type": "system", "subtype": "turn_duration", "durationMs": 500, "timestamp": _ts(at)}


def lines(*records: dict[str, Any] | str) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "home") as s:
        yield s


def make_agent(store: Store, transcript: Path, name: str = "a1") -> str:
    t = now()
    store.insert_agent(
        Agent(name=name, profile="claude", state="idle", cwd="/", created=t, since=t,
              transcript_path=str(transcript))
    )  # fmt: skip
    return name


def usd(tokens: tuple[int, int, int, int], rates: tuple[float, float, float, float]) -> float:
    return sum(n * r for n, r in zip(tokens, rates, strict=True)) / 1_000_000


def tokens_of(agent: Agent) -> tuple[int, int, int, int]:
    return (agent.tokens_input, agent.tokens_output, agent.tokens_cache_read,
            agent.tokens_cache_creation)  # fmt: skip


# -- prices ----------------------------------------------------------------------------

RATES = [
    ("opus-4-5", "claude-opus-4-5-20251101", (5.0, 25.0, 0.5, 6.25)),
    ("opus-future", "claude-opus-5-5", (5.0, 25.0, 0.5, 6.25)),
    ("opus-4-dated", "claude-opus-4-20250514", (15.0, 75.0, 1.5, 18.75)),
    ("opus-4-1", "claude-opus-4-1-20250805", (15.0, 75.0, 1.5, 18.75)),
    ("sonnet", "claude-sonnet-4-5-20250929", (3.0, 15.0, 0.3, 3.75)),
    ("sonnet-3-7", "claude-3-7-sonnet-20250219", (3.0, 15.0, 0.3, 3.75)),
    ("haiku-4-5", "claude-haiku-4-5-20251001", (1.0, 5.0, 0.1, 1.25)),
    ("haiku-3-5", "claude-3-5-haiku-20241022", (0.8, 4.0, 0.08, 1.0)),
    ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", (3.0, 15.0, 0.3, 3.75)),
    ("vertex-case", "Claude-Haiku-4-5@20251001", (1.0, 5.0, 0.1, 1.25)),
]


@pytest.mark.parametrize(("model", "rates"), [r[1:] for r in RATES], ids=[r[0] for r in RATES])
def test_default_prices_longest_prefix(model: str, rates: tuple[float, ...]) -> None:
    found = PRICING.rates(model)
    assert found is not None
    assert (found.input, found.output, found.cache_read, found.cache_creation) == rates


OVERRIDES = [
    # (id, config pricing, pricing_default, model, expected rates or None)
    ("override-family", {"claude-sonnet": {"input": 2, "output": 8}}, None, "claude-sonnet-4",
     (2.0, 8.0, 0.2, 2.5)),
    ("keeps-other-defaults", {"claude-sonnet": {"input": 2, "output": 8}}, None, HAIKU,
     (1.0, 5.0, 0.1, 1.25)),
    ("new-model", {"gpt-": {"input": 1, "output": 2, "cache_read": 0, "cache_creation": 0}},
     None, "gpt-5", (1.0, 2.0, 0.0, 0.0)),
    ("unknown-unpriced", {}, None, "mystery-1", None),
    ("unknown-default", {}, {"input": 4, "output": 9}, "mystery-1", (4.0, 9.0, 0.4, 5.0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "default", "model", "rates"),
    [o[1:] for o in OVERRIDES],
    ids=[o[0] for o in OVERRIDES],
)
def test_config_pricing(
    tmp_path: Path,
    table: dict[str, Any],
    default: dict[str, Any] | None,
    model: str,
    rates: tuple[float, ...] | None,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"pricing": table, "pricing_default": default}))
    config, _ = load_config(path)
    found = cost.pricing(config).rates(model)
    got = found and (found.input, found.output, found.cache_read, found.cache_creation)
    assert got == rates


def test_example_config_shows_the_default_prices() -> None:
    config, _ = load_config(ROOT / "config.yaml.example")
    assert config.pricing == pricing.DEFAULT_PRICING
    assert config.pricing_default is None


# -- reading -------------------------------------------------------------------------


def test_blocks_of_one_response_are_counted_once(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        lines(
            prompt("run it", at=0),
            reply("m1", (10, 20, 300, 40), said("Running."), at=1),
            reply("m1", (10, 20, 300, 40), called("Bash"), at=1.1),
            result(at=2),
            reply("m2", (11, 21, 301, 41), said("Ran it."), at=3),
        )
    )
    name = make_agent(store, path)
    assert cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None
    assert tokens_of(agent) == (21, 41, 601, 81)
    assert agent.cost_usd == pytest.approx(usd((21, 41, 601, 81), (5.0, 25.0, 0.5, 6.25)))
    (turn,) = cost.history(store, name, PRICING)
    assert (turn.turn.prompt, turn.turn.response, turn.turn.tools) == (
        "run it",
        "Ran it.",
        ["Bash"],
    )
    assert turn.duration == pytest.approx(3.0)


def test_responses_copied_from_another_session_are_not_counted(
    store: Store, tmp_path: Path
) -> None:
    """A fork's transcript starts with its source's records, each naming the
    session that made the request (``requestSessionId``): those were paid there."""
    path = tmp_path / "t.jsonl"
    mine = {"sessionId": "fork"}
    path.write_text(
        lines(
            prompt("run it", at=0),
            {**reply("m1", (10, 20, 300, 40), at=1), "sessionId": "fork", "requestSessionId": "s1"},
            prompt("and now?", at=2, **mine),
            {**reply("m2", (11, 21, 301, 41), at=3), **mine},
            {**reply("m3", (1, 2, 3, 4), at=4), **mine, "requestSessionId": "fork"},
        )
    )
    name = make_agent(store, path)
    assert cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and tokens_of(agent) == (12, 23, 304, 45)


def test_partial_usage_in_an_earlier_block_takes_the_largest(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        lines(
            prompt("go"),
            reply("m1", (10, 1, 300, 40), said("first block")),
            reply("m1", (10, 25, 300, 40), called("Read")),
        )
    )
    name = make_agent(store, path)
    cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and tokens_of(agent) == (10, 25, 300, 40)


def test_bad_lines_skipped_and_a_partial_line_waits(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    tail = json.dumps(reply("m2", (2, 2, 0, 0), at=5))
    cut = len(tail) // 2
    path.write_bytes(
        lines(prompt("hello"), "{not json", "[1, 2]", "", reply("m1", (1, 1, 0, 0))).encode()
        + b"\xff\xfe garbage\n"
        + tail[:cut].encode()
    )
    name = make_agent(store, path)
    assert cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and tokens_of(agent) == (1, 1, 0, 0)
    assert not cost.refresh_agent(store, name, PRICING)  # nothing complete is new
    with path.open("a") as stream:
        stream.write(tail[cut:] + "\n")
    assert cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and tokens_of(agent) == (3, 3, 0, 0)
    assert [t.turn.response for t in cost.history(store, name, PRICING)] == ["answer m2"]


def test_incremental_reads_continue_the_open_turn(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(lines(prompt("one", at=0), reply("m1", (5, 5, 0, 0), said("Part"), at=1)))
    name = make_agent(store, path)
    cost.refresh_agent(store, name, PRICING)
    read_to = store.transcript_positions(name)[str(path)]
    assert read_to == path.stat().st_size
    with path.open("a") as stream:  # the same response's next block, then a new turn
        stream.write(
            lines(
                reply("m1", (5, 5, 0, 0), said("two."), called("Edit"), at=2),
                {"type": "system", "subtype": "turn_duration", "durationMs": 2500,
                 "timestamp": _ts(2.5)},
                prompt("two", at=10),
                reply("m3", (1, 1, 0, 0), model=HAIKU, at=11),
            )
        )  # fmt: skip
    assert cost.refresh_agent(store, name, PRICING)
    first, second = cost.history(store, name, PRICING)
    assert (first.turn.response, first.turn.tools, first.duration) == ("Part\ntwo.", ["Edit"], 2.5)
    assert first.cost.tokens == pricing.Tokens(5, 5, 0, 0)
    assert (second.turn.seq, second.turn.prompt, second.duration) == (2, "two", 1.0)
    assert second.cost.cost_usd == pytest.approx(usd((1, 1, 0, 0), (1.0, 5.0, 0.1, 1.25)))
    agent = store.get_agent(name)
    assert agent is not None
    assert agent.cost_usd == pytest.approx(
        usd((5, 5, 0, 0), (5.0, 25.0, 0.5, 6.25)) + usd((1, 1, 0, 0), (1.0, 5.0, 0.1, 1.25))
    )
    # Each read that changed the cost says so (the monitor checks max_cost on it).
    assert not cost.refresh_agent(store, name, PRICING)
    costs = [e.data["cost_usd"] for e in store.events(agent=name, kind=cost.COST_EVENT)]
    assert costs == [pytest.approx(usd((5, 5, 0, 0), (5.0, 25.0, 0.5, 6.25))), agent.cost_usd]


def test_unknown_model_is_free_and_flagged(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        lines(prompt("x"), reply("m1", (100, 100, 0, 0), model="mystery-9"),
              reply("m2", (1, 1, 0, 0), model=OPUS))
    )  # fmt: skip
    name = make_agent(store, path)
    cost.refresh_agent(store, name, PRICING)
    spent = cost.agent_cost(store, name, PRICING)
    assert spent.unpriced == ("mystery-9",)
    assert spent.cost_usd == pytest.approx(usd((1, 1, 0, 0), (5.0, 25.0, 0.5, 6.25)))
    assert set(spent.models) == {"mystery-9", OPUS}
    priced = pricing.Pricing(PRICING.table, pricing.Rates(1.0, 1.0, 1.0, 1.0))
    assert cost.agent_cost(store, name, priced).unpriced == ()


PROMPTS = [
    ("plain", prompt("fix the bug"), "fix the bug"),
    ("blocks", {"type": "user", "message": {"content": [said("look"), {"type": "image"}]}},
     "look\n[image]"),
    ("command", prompt("<command-message>review</command-message>\n"
                       "<command-name>/review</command-name>\n<command-args>a.py</command-args>"),
     "/review a.py"),
    ("tool-result", result(), None),
    ("meta", prompt("caveat", isMeta=True), None),
    ("sidechain", prompt("subagent task", isSidechain=True), None),
    ("compact-summary", prompt("summary", isCompactSummary=True), None),
    ("command-output", prompt("<local-command-stdout>ok</local-command-stdout>"), None),
    ("interrupted", prompt("[Request interrupted by user for tool use]"), None),
    ("assistant", reply("m1", (1, 1, 1, 1)), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("record", "expected"), [p[1:] for p in PROMPTS], ids=[p[0] for p in PROMPTS]
)
def test_what_starts_a_turn(record: dict[str, Any], expected: str | None) -> None:
    assert transcripts.prompt_text(record) == expected


def test_a_new_transcript_after_clear_keeps_counting(store: Store, tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text(lines(prompt("before"), reply("m1", (1, 0, 0, 0))))
    name = make_agent(store, old)
    cost.refresh_agent(store, name, PRICING)
    with old.open("a") as stream:  # written after the last read, before /clear
        stream.write(lines(reply("m2", (2, 0, 0, 0))))
    new.write_text(lines(prompt("after"), reply("m3", (4, 0, 0, 0))))
    store.update_agent(name, transcript_path=str(new))
    cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and agent.tokens_input == 7
    assert [(t.turn.prompt, t.cost.tokens.input) for t in cost.history(store, name, PRICING)] == [
        ("before", 3),
        ("after", 4),
    ]


def test_subagent_transcripts_are_counted(store: Store, tmp_path: Path) -> None:
    main = tmp_path / "s1.jsonl"
    main.write_text(lines(prompt("delegate"), reply("m1", (1, 0, 0, 0), called("Task"))))
    (tmp_path / "s1" / "subagents").mkdir(parents=True)
    side = reply("m9", (0, 0, 0, 50), model=HAIKU) | {"isSidechain": True}
    (tmp_path / "s1" / "subagents" / "agent-a.jsonl").write_text(lines(side))
    name = make_agent(store, main)
    cost.refresh_agent(store, name, PRICING)
    (turn,) = cost.history(store, name, PRICING)
    assert turn.cost.tokens == pricing.Tokens(1, 0, 0, 50)
    assert turn.turn.response == ""  # a subagent's words are not the agent's reply


def test_a_concurrent_reader_is_not_counted_twice(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(lines(prompt("p"), reply("m1", (7, 7, 7, 7))))
    name = make_agent(store, path)
    real = transcripts.read_new  # cost calls it by this name
    raced: list[bool] = []

    def read_new(where: Path, position: int) -> tuple[list[dict[str, Any]], int]:
        if not raced:  # another process reads the same lines first
            raced.append(True)
            with open_store(tmp_path / "home") as other:
                assert cost.refresh_agent(other, name, PRICING)
        return real(where, position)

    monkeypatch.setattr(cost, "read_new", read_new)
    cost.refresh_agent(store, name, PRICING)
    agent = store.get_agent(name)
    assert agent is not None and tokens_of(agent) == (7, 7, 7, 7)
    assert len(cost.history(store, name, PRICING)) == 1


def test_missing_transcript_and_removed_agent(store: Store, tmp_path: Path) -> None:
    name = make_agent(store, tmp_path / "not-yet.jsonl")
    assert not cost.refresh_agent(store, name, PRICING)
    (tmp_path / "not-yet.jsonl").write_text(lines(prompt("p"), reply("m1", (1, 1, 1, 1))))
    assert cost.refresh_agent(store, name, PRICING)
    store.delete_agent(name)
    assert not cost.refresh_agent(store, name, PRICING)
    assert store.turns(name) == [] and store.message_usages(name) == {}
    assert store.transcript_positions(name) == {}


def test_refresher_reads_again_until_the_turn_is_written(store: Store, tmp_path: Path) -> None:
    """Claude buffers its transcript: the Stop hook can come before the last records."""
    path = tmp_path / "t.jsonl"
    path.write_text(lines(prompt("p", at=0), reply("m1", (1, 0, 0, 0), at=1), duration(1.5)))
    name = make_agent(store, path)
    refresher = counted.Refresher(tmp_path / "home", PRICING)
    refresher.turn_ended(name, datetime.fromisoformat(_ts(5).replace("Z", "+00:00")).timestamp())

    def input_tokens() -> int:
        agent = store.get_agent(name)
        return agent.tokens_input if agent else 0

    retry_until(lambda: input_tokens() == 1, message="read at once")
    with path.open("a") as stream:  # the rest of the turn lands after the hook
        stream.write(lines(prompt("q", at=4), reply("m2", (2, 0, 0, 0), at=5.5), duration(6)))
    retry_until(lambda: input_tokens() == 3, message="read again later")


@pytest.mark.postgres
def test_the_refresher_reads_into_the_store_config_names(tmp_path: Path, pg_url: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(lines(prompt("p", at=0), reply("m1", (1, 0, 0, 0), at=1), duration(1.5)))
    with open_store(tmp_path / "home", url=pg_url) as store:
        name = make_agent(store, path)
        counted.Refresher(tmp_path / "home", PRICING, pg_url).read_now(name)
        retry_until(lambda: getattr(store.get_agent(name), "tokens_input", 0) == 1)


# -- CLI on a synthetic transcript --------------------------------------------------------


def test_cli_cost_and_history(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        lines(
            prompt("first prompt", at=0),
            reply("m1", (10, 20, 300, 40), said("Answer one."), at=1),
            prompt("second prompt", at=5),
            reply("m2", (1, 2, 3, 4), said("Using a tool"), called("Grep"), model="odd-1", at=6),
        )
    )
    with open_store(env.home) as s:
        make_agent(s, path, "a1")
        make_agent(s, tmp_path / "none.jsonl", "a2")
    one = env.cli("cost", "a1", "--json")
    assert one.returncode == 0, one.stderr
    data = json.loads(one.stdout)
    assert data["tokens"] == {"input": 11, "output": 22, "cache_read": 303, "cache_creation": 44}
    assert data["cost_usd"] == pytest.approx(usd((10, 20, 300, 40), (5.0, 25.0, 0.5, 6.25)))
    assert data["unpriced_models"] == ["odd-1"]
    assert "no price for model odd-1" in one.stderr
    fleet = env.json("cost")
    assert [a["name"] for a in fleet["agents"]] == ["a1", "a2"]
    assert fleet["total"]["cost_usd"] == pytest.approx(data["cost_usd"])
    table = env.ok("cost")
    assert "TOTAL" in table and "a2" in table
    turns = env.json("history", "a1")
    assert [(t["prompt"], t["response"], t["tools"]) for t in turns] == [
        ("first prompt", "Answer one.", []),
        ("second prompt", "Using a tool", ["Grep"]),
    ]
    assert turns[0]["duration_s"] == pytest.approx(1.0)
    shown = env.ok("history", "a1")
    assert "> second prompt" in shown and "tools: Grep" in shown
    assert env.ok("history", "a2").startswith("no turns")
    missing = env.cli("history", "nobody")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


# -- end to end with the real Claude Code ------------------------------------------------

MODEL = "claude-sonnet-4-5-20250929"
E2E_PRICE = {"input": 2.0, "output": 11.0, "cache_read": 0.25, "cache_creation": 3.0}
TURNS = [
    # (prompt, responses as (kind, usage))
    ("say something", [("text", Usage(10, 20, 3000, 400))]),
    ("run a command", [("tool", Usage(11, 21, 3100, 410)), ("text", Usage(12, 22, 3200, 420))]),
]


def test_e2e_cost_matches_the_fake_api(claude_fleet: ClaudeFleet) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    config["pricing"] = {MODEL: E2E_PRICE}
    env.write_config(config)
    fleet.spawn("c1", "--model", MODEL)
    sent: list[Usage] = []
    for text_prompt, responses in TURNS:
        for kind, usage in responses:
            if kind == "tool":
                command = {"command": "echo tmuxorch-cost", "description": "Say it"}
                fleet.api.enqueue(tool_use("Bash", command, preamble="Running.", usage=usage))
            else:
                fleet.api.enqueue(text(f"Reply to {text_prompt}.", usage=usage))
            sent.append(usage)
        env.ok("send", "c1", text_prompt)
        env.ok("wait", "c1", "--until", "idle", "--timeout", "60")
    totals = tuple(
        sum(getattr(u, f) for u in sent)
        for f in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                  "cache_creation_input_tokens")
    )  # fmt: skip
    rates = (E2E_PRICE["input"], E2E_PRICE["output"], E2E_PRICE["cache_read"],
             E2E_PRICE["cache_creation"])  # fmt: skip
    expected = dict(zip(("input", "output", "cache_read", "cache_creation"), totals, strict=True))

    def counted_by_monitor() -> bool:  # no CLI call has read the transcript yet
        with open_store(env.home) as s:
            agent = s.get_agent("c1")
        return agent is not None and tokens_of(agent) == totals

    retry_until(counted_by_monitor, message="the monitor read the turn's usage at Stop")
    spent = env.json("cost", "c1")
    assert spent["tokens"] == expected
    assert spent["cost_usd"] == pytest.approx(usd(totals, rates), rel=1e-12)
    assert spent["models"] == {MODEL: expected} and spent["unpriced_models"] == []
    status = env.json("status", "c1")
    assert (status["turns"], status["tokens"]) == (2, expected)
    assert status["cost_usd"] == pytest.approx(spent["cost_usd"], rel=1e-12)
    turns = env.json("history", "c1")
    assert [(t["prompt"], t["tools"]) for t in turns] == [
        ("say something", []),
        ("run a command", ["Bash"]),
    ]
    assert turns[1]["response"] == "Reply to run a command."
    assert turns[1]["tokens"]["output"] == 21 + 22
    assert all(t["duration_s"] is not None and t["duration_s"] >= 0 for t in turns)


def test_a_fork_is_charged_its_own_responses_only(claude_fleet: ClaudeFleet) -> None:
    """Claude copies the source's transcript into the fork (same message ids):
    each API response is counted once in the fleet, the copies stay the source's."""
    fleet, env = claude_fleet, claude_fleet.env
    config = yaml.safe_load(env.config_path.read_text())
    config["pricing"] = {MODEL: E2E_PRICE}
    env.write_config(config)
    mine, theirs = Usage(10, 20, 3000, 400), Usage(11, 21, 3100, 410)
    command = {"command": "echo tmuxorch-cost", "description": "Say it"}
    fleet.api.enqueue(tool_use("Bash", command, usage=mine))
    fleet.api.enqueue(text("Source answer.", usage=mine))
    fleet.spawn("c1", "--model", MODEL)
    env.ok("send", "c1", "run a command", "--wait", "--timeout", "60")
    fleet.api.enqueue(text("Fork answer.", usage=theirs))
    env.ok("fork", "c1", "c2", "and now in the fork?")
    retry_until(lambda: env.json("status", "c2")["turns"] == 1, timeout=90, message="fork's turn")
    env.ok("wait", "c2", "--until", "idle", "--timeout", "60")

    def output(name: str) -> int:
        return int(env.json("cost", name)["tokens"]["output"])

    retry_until(lambda: output("c2") == 21, message="the fork's own response counted")
    assert output("c1") == 40
    assert env.json("cost")["total"]["tokens"]["output"] == 61


def stopped(record: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """``record`` (a reply) as Claude Code 2.1 writes it: with its stop reason."""
    return {**record, "message": {**record["message"], "stop_reason": reason}}


ANSWERS = [
    # (id, records after the prompt, turns before the call, the answer is written)
    ("final-answer", [stopped(reply("m1", (1, 1, 0, 0)), "end_turn")], 0, True),
    ("tool-call", [stopped(reply("m1", (1, 1, 0, 0), called("Bash")), "tool_use")], 0, False),
    (
        "answer-after-a-tool",
        [
            stopped(reply("m1", (1, 1, 0, 0), called("Bash")), "tool_use"),
            result(),
            stopped(reply("m2", (1, 1, 0, 0), at=3), "end_turn"),
        ],
        0,
        True,
    ),
    (
        "tool-after-text",
        [
            stopped(reply("m1", (1, 1, 0, 0), said("Let me look.")), "end_turn"),
            stopped(reply("m2", (1, 1, 0, 0), called("Read"), at=2), "tool_use"),
        ],
        0,
        False,
    ),
    ("no-stop-reason", [reply("m1", (1, 1, 0, 0))], 0, False),
    ("an-earlier-turn", [stopped(reply("m1", (1, 1, 0, 0)), "end_turn")], 1, False),
]


@pytest.mark.parametrize(
    ("records", "since", "written"), [a[1:] for a in ANSWERS], ids=[a[0] for a in ANSWERS]
)
def test_an_answer_is_known_written_before_the_stop_hook(
    store: Store, tmp_path: Path, records: list[dict[str, Any]], since: int, written: bool
) -> None:
    """A delegate call whose cap the answer breaks reads it before the Stop hook
    runs: the transcript tells that the turn is over (nothing to interrupt)."""
    path = tmp_path / "t.jsonl"
    path.write_text(lines(prompt("task", at=0), *records))
    name = make_agent(store, path)
    cost.refresh_agent(store, name, PRICING)
    assert counted.answer_written(store, name, since) is written
