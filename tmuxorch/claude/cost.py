"""The fleet's cost accounting: transcripts read into the store, and reports.

The store remembers how far each transcript was read, so the refresh after a
``Stop`` hook parses only the new lines (:mod:`tmuxorch.claude.transcripts`
reads them). Reports price the stored usages with the fleet's table
(:func:`pricing`, the built-in prices with the config's over them;
:mod:`tmuxorch.claude.pricing` holds the arithmetic).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tmuxorch.claude.pricing import DEFAULT_PRICING, Cost, Pricing, Rates, normalise_model, price
from tmuxorch.claude.transcripts import apply_records, message_key, read_new, with_subagents
from tmuxorch.core.config import Config
from tmuxorch.core.records import MessageUsage, Turn, iso

if TYPE_CHECKING:
    from tmuxorch.core.vocab import EventKind
    from tmuxorch.store.interface import Store

# Hook events after which the transcript holds a finished turn worth reading.
TURN_ENDS: tuple[EventKind, ...] = ("hook:Stop", "hook:StopFailure", "hook:SessionEnd")
# The event recorded when an agent's cost changed.
COST_EVENT: EventKind = "cost"

_RETRIES = 5


def pricing(config: Config) -> Pricing:
    """The built-in table with the config's ``pricing`` entries over it."""
    table = {**DEFAULT_PRICING, **config.pricing}
    default = Rates.of(config.pricing_default) if config.pricing_default else None
    return Pricing({normalise_model(k): Rates.of(v) for k, v in table.items()}, default)


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
        for path in with_subagents(known):
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
