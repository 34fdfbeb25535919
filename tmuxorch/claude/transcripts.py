"""Turns and usages from Claude Code's transcript JSONL.

Claude Code appends one JSON record per line to
``$CLAUDE_CONFIG_DIR/projects/<cwd>/<session id>.jsonl`` (the hooks tell us
the path). ``assistant`` records carry ``message.usage`` and
``message.model``; one API response is written once per content block, so
usage is counted once per response, keyed by message id + request id (the
largest value of each field wins, in case an early block carried partial
counts). A fork's copies of its source's responses are its source's, not
counted again. A *turn* runs from a user prompt record to the next one: its
prompt, the last text of the reply, the tools called, tokens and duration.

Reading is incremental (the caller keeps the position): a last line without
its newline is being written and is left for next time; lines that are not
JSON objects are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tmuxorch.claude.pricing import Tokens
from tmuxorch.core.frozen import replace
from tmuxorch.core.records import MessageUsage, Turn

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
    return list(parse_records(data[:end])), position + end + 1


def parse_records(data: bytes) -> Iterator[dict[str, Any]]:
    """The JSON objects of JSONL ``data``; blank, cut or broken lines skipped."""
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


def with_subagents(main: Iterable[str]) -> list[str]:
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
