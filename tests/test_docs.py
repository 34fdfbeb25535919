"""The docs cannot drift from the code: README.md lists every MCP tool the server
serves, and the strategy guide names only commands, flags and tools that exist."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import click
import pytest

from tmuxorch.core.config import Settings
from tmuxorch.surfaces.cli import cli
from tmuxorch.surfaces.mcp.server import build

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
GUIDE = REPO / "docs" / "strategy.md"
MCP_SECTION = "## A manager agent through MCP"

_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+(?:\n[^`\n]+)?)`")  # a code span may wrap one line
# ``tmuxorch WORD`` as a command line starts it: not ``mcp__tmuxorch``.
_COMMAND = re.compile(r"(?:^|(?<=[\s($]))tmuxorch\s+([a-z][a-z0-9-]*)(.*)")
_FLAG = re.compile(r"(?<!\S)(--[a-z][a-z0-9-]*)")
_CALL = re.compile(r"^([a-z_]+)\(")
_ROW = re.compile(r"^\| `([a-z_]+)` \|", re.M)


def _no_settings() -> Settings:
    raise AssertionError("listing the tools reads no settings")


def served_tools() -> set[str]:
    server = build(_no_settings)
    return {tool.name for tool in anyio.run(server.list_tools)}


def readme_tools(text: str) -> set[str]:
    """The tools in the first column of the MCP section's table."""
    start = text.index(MCP_SECTION) + len(MCP_SECTION)
    end = text.find("\n## ", start)
    return set(_ROW.findall(text[start : end if end != -1 else None]))


def code_of(markdown: str) -> list[str]:
    """Fenced blocks' lines and code spans: where a doc shows what to run."""
    lines = [line for block in _FENCE.findall(markdown) for line in block.splitlines()]
    prose = _FENCE.sub("", markdown)
    return lines + [" ".join(span.split()) for span in _SPAN.findall(prose)]


def commands_in(markdown: str) -> list[tuple[str, list[str]]]:
    """Each ``tmuxorch COMMAND ...`` shown as code, with the flags written after it."""
    found = []
    for code in code_of(markdown):
        for match in _COMMAND.finditer(code):
            found.append((match[1], _FLAG.findall(match[2])))
    return found


def tools_called_in(markdown: str) -> set[str]:
    """Tools written as calls in code spans: ``spawn_agent(name, prompt)``."""
    return {m[1] for code in code_of(markdown) if (m := _CALL.match(code))}


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("run `tmuxorch spawn NAME --model haiku`", [("spawn", ["--model"])]),
        ("`tmuxorch wait NAME\n--notify` wraps", [("wait", ["--notify"])]),
        ("```sh\ntmuxorch delegate a b --max-cost 1\n```", [("delegate", ["--max-cost"])]),
        ("`tmuxorch COMMAND --help`", []),
        ("`mcp__tmuxorch` and prose: tmuxorch runs agents", []),
        ("`x=$(tmuxorch list --json)`", [("list", ["--json"])]),
    ],
    ids=["span", "wrapped-span", "fenced", "placeholder", "not-a-command", "in-substitution"],
)
def test_commands_are_read_from_code(markdown: str, expected: list[tuple[str, list[str]]]) -> None:
    assert commands_in(markdown) == expected


def test_readme_lists_every_served_mcp_tool() -> None:
    listed = readme_tools(README.read_text())
    served = served_tools()
    assert not served - listed, f"README's MCP section lacks: {sorted(served - listed)}"
    assert not listed - served, f"README lists tools not served: {sorted(listed - served)}"


def test_the_guide_names_only_commands_and_flags_that_exist() -> None:
    context = click.Context(cli)
    found = commands_in(GUIDE.read_text())
    assert found, "the guide shows no tmuxorch command: the parser is broken"
    for name, flags in found:
        command = cli.get_command(context, name)
        assert command is not None, f"the guide names `tmuxorch {name}`, which does not exist"
        options = {opt for param in command.params for opt in param.opts}
        unknown = [flag for flag in flags if flag not in options]
        assert not unknown, f"the guide gives `tmuxorch {name}` unknown flags {unknown}"


def test_the_guide_calls_only_served_tools() -> None:
    called = tools_called_in(GUIDE.read_text())
    assert called, "the guide shows no tool call: the parser is broken"
    assert not called - served_tools(), f"not served: {sorted(called - served_tools())}"


def _signal_table() -> dict[str, list[str]]:
    """README's signal table: state -> its cells (hooks, notification types, ...)."""
    text = README.read_text()
    table = text[text.index("<!-- signal-table -->") : text.index("<!-- /signal-table -->")]
    rows = [line.strip("|").split(" | ") for line in table.splitlines() if line.startswith("| ")]
    return {row[0].strip(): row[1:] for row in rows[1:]}


def test_the_signal_table_names_what_the_code_does() -> None:
    """Each golden payload that sets a state is named in that state's row;
    every other wired event in the events-only list; the waiting and idle
    notification types are the code's."""
    from tests.test_hook_payloads import V2_1_329
    from tmuxorch.claude import hooks

    table = _signal_table()
    text = README.read_text()
    events_only = text[text.index("Events only, no state:") :].split("\n\n")[0]
    setters: dict[str, set[str]] = {}
    for stem, _before, _after, (state, _detail) in V2_1_329:
        if state is not None and not stem.startswith("Notification"):
            setters.setdefault(stem.split(".")[0], set()).add(state)
    for event, states in setters.items():
        for state in states:
            row = table["exited / stopped" if state == "exited" else state]
            assert f"`{event}`" in row[0], (event, state)
    for event in set(hooks.EVENTS) - set(setters) - {"SessionStart", "Notification"}:
        assert f"`{event}`" in events_only, event
    spans = set(_SPAN.findall(table["waiting"][1]))
    assert spans == set(hooks._WAITING_NOTIFICATIONS)
    assert set(_SPAN.findall(table["idle"][1])) == {"idle_prompt"}
