"""Cost and history from Claude Code's transcript JSONL.

Claude Code appends one JSON record per line to
``$CLAUDE_CONFIG_DIR/projects/<cwd>/<session id>.jsonl`` (the hooks tell us
the path). ``assistant`` records carry ``message.usage`` and
``message.model``; one API response is written once per content block, so
usage is counted once per response, keyed by message id + request id (the
largest value of each field wins, in case an early block carried partial
counts). A fork's copies of its source's responses are its source's, not
counted again. A *turn* runs from a user prompt record to the next one: its
prompt, the last text of the reply, the tools called, tokens, cost and
duration.

Reading is incremental: the store remembers how far each transcript was
read, so the refresh after a ``Stop`` hook parses only the new lines. A
last line without its newline is being written and is left for next time;
lines that are not JSON objects are skipped. Prices are applied when asked
(per model, longest prefix of the table), so a changed price table reprices
the past too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmuxorch.core.config import Config, Price
from tmuxorch.core.frozen import replace
from tmuxorch.core.records import MessageUsage, Turn, iso

if TYPE_CHECKING:
    from tmuxorch.core.vocab import EventKind
    from tmuxorch.store.interface import Store

# Hook events after which the transcript holds a finished turn worth reading.
TURN_ENDS: tuple[EventKind, ...] = ("hook:Stop", "hook:StopFailure", "hook:SessionEnd")
# The event recorded when an agent's cost changed.
COST_EVENT: EventKind = "cost"

# Anthropic list prices, USD per million tokens (cache_creation: 5-minute cache
# writes). Longest prefix wins: date-suffixed and older models before families.
DEFAULT_PRICING: dict[str, Price] = {
    "claude-opus": Price(input=5.0, output=25.0, cache_read=0.5, cache_creation=6.25),
    "claude-opus-4-0": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-opus-4-1": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-opus-4-2025": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-3-opus": Price(input=15.0, output=75.0, cache_read=1.5, cache_creation=18.75),
    "claude-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-3-7-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-3-5-sonnet": Price(input=3.0, output=15.0, cache_read=0.3, cache_creation=3.75),
    "claude-haiku": Price(input=1.0, output=5.0, cache_read=0.1, cache_creation=1.25),
    "claude-3-5-haiku": Price(input=0.8, output=4.0, cache_read=0.08, cache_creation=1.0),
    "claude-3-haiku": Price(input=0.25, output=1.25, cache_read=0.03, cache_creation=0.3),
}

PROMPT_MAX = 4000
RESPONSE_MAX = 2000
_TOKEN_FIELDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_creation", "cache_creation_input_tokens"),
)
_COMMAND = re.compile(r"<command-name>(.*?)</command-name>", re.S)
_COMMAND_ARGS = re.compile(r"<command-args>(.*?)</command-args>", re.S)
# User records that are not prompts: local command output, interruption markers.
_NOT_PROMPTS = ("<local-command-", "[Request interrupted by user")
_RETRIES = 5


# -- prices -------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """A resolved price: USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_creation: float

    @classmethod
    def of(cls, price: Price) -> Rates:
        read = price.input * 0.1 if price.cache_read is None else price.cache_read
        write = price.input * 1.25 if price.cache_creation is None else price.cache_creation
        return cls(price.input, price.output, read, write)


@dataclass(frozen=True)
class Pricing:
    """The price table (defaults overlaid with config) and the fallback price."""

    table: dict[str, Rates]
    default: Rates | None = None

    def rates(self, model: str) -> Rates | None:
        """The longest table prefix of the (normalised) model name, else the default."""
        name = normalise_model(model)
        best = max((p for p in self.table if name.startswith(p)), key=len, default=None)
        return self.table[best] if best is not None else self.default


def normalise_model(model: str) -> str:
    """``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``claude-sonnet-4-5-…``:
    Bedrock and Vertex names are priced like the API's."""
    name = model.strip().lower()
    start = name.find("claude")
    return name[start:] if start > 0 else name


def pricing(config: Config) -> Pricing:
    """The built-in table with the config's ``pricing`` entries over it."""
    table = {**DEFAULT_PRICING, **config.pricing}
    default = Rates.of(config.pricing_default) if config.pricing_default else None
    return Pricing({normalise_model(k): Rates.of(v) for k, v in table.items()}, default)


# -- tokens and money -----------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_read + other.cache_read,
            self.cache_creation + other.cache_creation,
        )

    @classmethod
    def of(cls, usage: MessageUsage) -> Tokens:
        return cls(usage.input, usage.output, usage.cache_read, usage.cache_creation)

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_creation

    def usd(self, rates: Rates) -> float:
        return (
            self.input * rates.input
            + self.output * rates.output
            + self.cache_read * rates.cache_read
            + self.cache_creation * rates.cache_creation
        ) / 1_000_000

    def to_json(self) -> dict[str, int]:
        return {
            "input": self.input,
            "output": self.output,
            "cache_read": self.cache_read,
            "cache_creation": self.cache_creation,
        }


@dataclass(frozen=True)
class Cost:
    """Tokens and price of some usage; ``unpriced`` names models priced at 0
    because nothing in the table matched and there is no ``pricing_default``."""

    tokens: Tokens = field(default_factory=Tokens)
    cost_usd: float = 0.0
    models: dict[str, Tokens] = field(default_factory=dict)
    unpriced: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens.to_json(),
            "cost_usd": self.cost_usd,
            "models": {m: t.to_json() for m, t in self.models.items()},
            "unpriced_models": list(self.unpriced),
        }


def price(usages: Iterable[MessageUsage], table: Pricing) -> Cost:
    """Sum usages per model, then price each model once."""
    models: dict[str, Tokens] = {}
    for usage in usages:
        models[usage.model] = models.get(usage.model, Tokens()) + Tokens.of(usage)
    total, usd, unpriced = Tokens(), 0.0, []
    for model in sorted(models):
        tokens = models[model]
        total += tokens
        rates = table.rates(model)
        if rates is None:
            unpriced.append(model)
        else:
            usd += tokens.usd(rates)
    return Cost(total, usd, dict(sorted(models.items())), tuple(unpriced))


# -- reading transcripts ----------------------------------------------------------


def read_new(path: Path, position: int) -> tuple[list[dict[str, Any]], int]:
    """The complete records after byte ``position``, and where the next read starts.

    A missing or unreadable file reads as nothing new; a file shorter than
    ``position`` was replaced and is read from the start.
    """
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, 2)
            if size < position:
                position = 0
            if size == position:
                return [], position
            stream.seek(position)
            data = stream.read(size - position)
    except OSError:
        return [], position
    end = data.rfind(b"\n")
    if end < 0:
        return [], position  # one line, still being written
    return list(_parse(data[:end])), position + end + 1


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:  # also bad UTF-8
            continue
        if isinstance(record, dict):
            yield record


def _timestamp(record: dict[str, Any]) -> float | None:
    value = record.get("timestamp")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def prompt_text(record: dict[str, Any]) -> str | None:
    """The prompt of a user record that starts a turn, else None (tool results,
    meta and sidechain records, command output, interruption markers)."""
    if record.get("type") != "user" or any(
        record.get(flag)
        for flag in ("isMeta", "isSidechain", "isCompactSummary", "isVisibleInTranscriptOnly")
    ):
        return None
    message = record.get("message")
    if not isinstance(message, dict):
        return None
    blocks = _blocks(message)
    if not blocks or any(b.get("type") == "tool_result" for b in blocks):
        return None
    parts = []
    for block in blocks:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif block.get("type") == "image":
            parts.append("[image]")
    text = "\n".join(parts)
    stripped = text.strip()
    if not stripped or stripped.startswith(_NOT_PROMPTS):
        return None
    command = _COMMAND.search(text)
    if command:  # a slash command: "/name args"
        args = _COMMAND_ARGS.search(text)
        text = f"{command.group(1).strip()} {args.group(1).strip() if args else ''}".strip()
    return text


def message_key(record: dict[str, Any]) -> str | None:
    """``<message id>:<request id>`` of an assistant record with usage."""
    message = record.get("message")
    if record.get("type") != "assistant" or not isinstance(message, dict):
        return None
    if not isinstance(message.get("usage"), dict):
        return None
    message_id = message.get("id") or record.get("uuid")
    if not isinstance(message_id, str) or not message_id:
        return None
    request = record.get("requestId")
    return f"{message_id}:{request}" if isinstance(request, str) and request else message_id


def _tokens(usage: dict[str, Any]) -> Tokens:
    values: dict[str, int] = {}
    for name, key in _TOKEN_FIELDS:
        value = usage.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        values[name] = value if isinstance(value, int) and ok else 0
    return Tokens(**values)


@dataclass
class _Reader:
    """Applies records, in file order, to the agent's turns and usages."""

    agent: str
    current: Turn | None
    seen: dict[str, MessageUsage]
    turns: dict[int, Turn] = field(default_factory=dict)
    usages: dict[str, MessageUsage] = field(default_factory=dict)

    def feed(self, record: dict[str, Any]) -> None:
        prompt = prompt_text(record)
        when = _timestamp(record)
        if prompt is not None:
            seq = self.current.seq + 1 if self.current else 1
            session = record.get("sessionId")
            self._put(
                Turn(
                    agent=self.agent,
                    seq=seq,
                    prompt=prompt[:PROMPT_MAX],
                    started=when,
                    session_id=session if isinstance(session, str) else None,
                )
            )
            return
        kind = record.get("type")
        if kind == "assistant":
            self._assistant(record, when)
        elif kind == "user" and self.current and not record.get("isSidechain"):
            message = record.get("message")
            blocks = _blocks(message) if isinstance(message, dict) else []
            if any(b.get("type") == "tool_result" for b in blocks):
                self._put(self._ended(self.current, when))
        elif kind == "system" and record.get("subtype") == "turn_duration" and self.current:
            ms = record.get("durationMs")
            turn = self._ended(self.current, when)
            if isinstance(ms, (int, float)) and not isinstance(ms, bool):
                turn = replace(turn, duration=ms / 1000)
            self._put(turn)

    def _assistant(self, record: dict[str, Any], when: float | None) -> None:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        turn = self.current or Turn(agent=self.agent, seq=1, prompt="", started=when)
        key = message_key(record) or ""
        if not record.get("isSidechain"):
            texts, tools = [], list(turn.tools)
            for block in _blocks(message):
                if block.get("type") == "text" and isinstance(block.get("text"), str):
                    texts.append(block["text"])
                elif block.get("type") == "tool_use":
                    tools.append(str(block.get("name") or "tool"))
            # A response that ends the turn is its answer: a caller can tell it
            # is written before the Stop hook runs.
            turn = replace(turn, tools=tools, answered=message.get("stop_reason") == "end_turn")
            text = "\n".join(t for t in texts if t.strip())
            if text:
                same = key and key == turn.response_key
                joined = f"{turn.response}\n{text}" if same else text
                turn = replace(turn, response=joined[:RESPONSE_MAX], response_key=key)
        self._put(self._ended(turn, when))
        usage = message.get("usage")
        if key and isinstance(usage, dict) and not _copied(record):
            model = message.get("model")
            self._usage(key, _tokens(usage), model if isinstance(model, str) else "", turn.seq)

    def _usage(self, key: str, tokens: Tokens, model: str, seq: int) -> None:
        old = self.usages.get(key) or self.seen.get(key)
        if old is None:
            if tokens.total == 0:
                return  # nothing to pay for (Claude's local "<synthetic>" messages)
            self.usages[key] = MessageUsage(self.agent, key, seq, model, **tokens.to_json())
            return
        merged = replace(
            old,
            model=old.model or model,
            input=max(old.input, tokens.input),
            output=max(old.output, tokens.output),
            cache_read=max(old.cache_read, tokens.cache_read),
            cache_creation=max(old.cache_creation, tokens.cache_creation),
        )
        if merged != old:
            self.usages[key] = merged

    @staticmethod
    def _ended(turn: Turn, when: float | None) -> Turn:
        if when is None or (turn.ended is not None and turn.ended >= when):
            return turn
        return replace(turn, ended=when)

    def _put(self, turn: Turn) -> None:
        self.current = turn
        self.turns[turn.seq] = turn


def _copied(record: dict[str, Any]) -> bool:
    """A response another session paid for: a fork (``--fork-session``) starts
    with a copy of its source's records, each naming the session that made the
    request."""
    made_by = record.get("requestSessionId")
    return isinstance(made_by, str) and made_by != record.get("sessionId")


def apply_records(
    agent: str,
    records: Iterable[dict[str, Any]],
    current: Turn | None,
    seen: dict[str, MessageUsage],
) -> tuple[list[Turn], list[MessageUsage]]:
    """Turns created or changed and usages new or grown, given the last turn so
    far and the stored usages of the message keys these records mention."""
    reader = _Reader(agent, current, seen)
    for record in records:
        reader.feed(record)
    return list(reader.turns.values()), list(reader.usages.values())


def _transcripts(main: Iterable[str]) -> list[str]:
    """The agent's transcripts plus their subagents' (``<session>/subagents/*.jsonl``)."""
    paths = list(dict.fromkeys(main))
    for path in list(paths):
        folder = Path(path).with_suffix("") / "subagents"
        try:
            extra = sorted(str(p) for p in folder.glob("*.jsonl"))
        except OSError:
            continue
        paths.extend(p for p in extra if p not in paths)
    return paths


# -- keeping the store current ------------------------------------------------------


def refresh_agent(store: Store, name: str, table: Pricing) -> bool:
    """Read what is new in the agent's transcripts into its turns, usages and
    counters (tokens, cost_usd). True if anything was read.

    Cheap when nothing is new (a stat per transcript). Safe to run from
    several processes at once: the write checks that no one else read first.
    """
    for _ in range(_RETRIES):
        agent = store.get_agent(name)
        if agent is None:
            return False
        positions = store.transcript_positions(name)
        known = [*positions, *([agent.transcript_path] if agent.transcript_path else [])]
        reads = []
        for path in _transcripts(known):
            start = positions.get(path, 0)
            records, end = read_new(Path(path), start)
            if end != start:
                reads.append((path, records, end))
        if not reads:
            return False
        with store.transaction():
            if store.get_agent(name) is None:
                return False
            if store.transcript_positions(name) != positions:
                continue  # another reader got there first: start over
            records = [r for _, batch, _ in reads for r in batch]
            keys = [k for k in map(message_key, records) if k]
            turns, usages = apply_records(
                name, records, store.last_turn(name), store.message_usages(name, keys)
            )
            for turn in turns:
                store.put_turn(turn)
            for usage in usages:
                store.put_message_usage(usage)
            for path, _, end in reads:
                store.set_transcript_position(name, path, end)
            total = price(store.message_usages(name).values(), table)
            store.update_agent(
                name,
                tokens_input=total.tokens.input,
                tokens_output=total.tokens.output,
                tokens_cache_read=total.tokens.cache_read,
                tokens_cache_creation=total.tokens.cache_creation,
                cost_usd=total.cost_usd,
            )
            if total.cost_usd != agent.cost_usd:
                # Whoever read it (the monitor, or `status` in a CLI call),
                # the monitor hears of it and checks the agent's max_cost.
                store.add_event(
                    name, COST_EVENT, None, f"${total.cost_usd:.4f}", {"cost_usd": total.cost_usd}
                )
        return True
    return False


# -- reports -----------------------------------------------------------------------


def agent_cost(store: Store, name: str, table: Pricing) -> Cost:
    return price(store.message_usages(name).values(), table)


@dataclass(frozen=True)
class TurnReport:
    """One turn of ``history``: the transcript's turn with its tokens and price."""

    turn: Turn
    cost: Cost

    @property
    def duration(self) -> float | None:
        """Claude's own measure when it wrote one, else first to last timestamp."""
        turn = self.turn
        if turn.duration is not None:
            return turn.duration
        if turn.started is None or turn.ended is None:
            return None
        return max(0.0, turn.ended - turn.started)

    def to_json(self) -> dict[str, Any]:
        turn = self.turn
        return {
            "turn": turn.seq,
            "prompt": turn.prompt,
            "response": turn.response,
            "tools": list(turn.tools),
            "started": iso(turn.started),
            "ended": iso(turn.ended),
            "duration_s": self.duration,
            "session_id": turn.session_id,
            "tokens": self.cost.tokens.to_json(),
            "cost_usd": self.cost.cost_usd,
            "models": sorted(self.cost.models),
            "unpriced_models": list(self.cost.unpriced),
        }


def history(store: Store, name: str, table: Pricing) -> list[TurnReport]:
    by_turn: dict[int, list[MessageUsage]] = {}
    for usage in store.message_usages(name).values():
        by_turn.setdefault(usage.turn, []).append(usage)
    return [TurnReport(t, price(by_turn.get(t.seq, []), table)) for t in store.turns(name)]
