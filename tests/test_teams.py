"""Claude Code's team files (tmuxorch.claude.teams): which team an agent
leads, and a message put in a teammate's mailbox beside what is there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tmuxorch.claude import teams
from tmuxorch.core.errors import AgentError


def _team(config: Path, name: str, lead: str, *members: str) -> Path:
    folder = config / "teams" / name
    (folder / "inboxes").mkdir(parents=True)
    people = [{"name": "team-lead", "agentType": "team-lead"}]
    people += [{"name": m, "agentType": m} for m in members]
    (folder / "config.json").write_text(json.dumps({"name": name, "leadSessionId": lead,
                                                    "members": people}))  # fmt: skip
    return folder


def test_the_team_an_agent_leads_is_found_by_its_session(tmp_path: Path) -> None:
    _team(tmp_path, "session-aaaaaaaa", "aaaaaaaa-1", "other")
    folder = _team(tmp_path, "session-bbbbbbbb", "bbbbbbbb-2", "helper", "critic")
    assert teams.team_of(tmp_path, "bbbbbbbb-2") == teams.Team(
        "session-bbbbbbbb", folder, ("helper", "critic")
    )
    assert teams.team_of(tmp_path, "cccccccc-3") is None
    assert teams.team_of(tmp_path, None) is None
    assert teams.team_of(tmp_path / "nowhere", "bbbbbbbb-2") is None


def test_a_message_joins_the_mailbox_and_a_dead_holders_lock_is_taken(tmp_path: Path) -> None:
    team = teams.team_of(_team(tmp_path, "t", "s", "helper").parents[1], "s")
    assert team is not None
    inbox = team.path / "inboxes" / "helper.json"
    inbox.write_text(json.dumps([{"from": "team-lead", "text": "first", "read": False}]))
    lock = inbox.with_name("helper.json.lock")
    lock.mkdir()
    os.utime(lock, (0, 0))  # left by a process that died holding it
    teams.post(team, "helper", "second\twith a tab", "boss")
    texts = [(m["from"], m["text"], m["read"]) for m in json.loads(inbox.read_text())]
    assert texts == [("team-lead", "first", False), ("boss", "second\twith a tab", False)]
    assert not lock.exists()
    with pytest.raises(AgentError, match=r"no teammate 'critic' in team t \(teammates: helper\)"):
        teams.post(team, "critic", "hi", "boss")
