"""Every screen pattern against golden captures of the real Claude Code TUI.

The captures (tests/fixtures/claude/VERSION/*.txt) were taken from Claude
Code running offline against tests/fakeapi.py; see that folder's README.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tmuxorch.core import profiles, screen
from tmuxorch.core.config import Config
from tmuxorch.core.records import Agent
from tmuxorch.daemon.verdict import decide

FIXTURES = Path(__file__).parent / "fixtures" / "claude"
CLAUDE = profiles.get(Config(), "claude")

# situation -> (state the screen says, text the detail must contain)
EXPECTED: dict[str, tuple[str | None, str]] = {
    "idle": ("idle", ""),
    "after_turn_idle": ("idle", ""),
    "startup_after_trust": ("idle", ""),
    "interrupted": ("idle", ""),
    "slash_clear": ("idle", ""),
    "hook_deny_after": ("idle", ""),
    "permission_write_after_yes": ("idle", ""),
    "busy": ("busy", ""),
    "busy_later": ("busy", ""),
    "permission_write": ("waiting", "Do you want to create new.txt?"),
    "permission_edit": ("waiting", "Do you want to make this edit to existing.txt?"),
    "permission_bash": ("waiting", "Do you want to proceed?"),
    "error_400": ("error", "API Error: 400 messages.0: fake invalid request"),
    "error_401_final": ("error", "Invalid API key"),
    "error_429_final": ("error", "API Error: Request rejected (429)"),
    "error_500_final": ("error", "API Error: 500 Internal server error"),
    "error_529_final": ("error", "API Error: 529 Overloaded"),
    "error_529_retrying": ("busy", "etrying in "),
    "error_429": ("busy", "etrying in "),
    "paste_multiline_composer": ("idle", ""),
}
# (version, situation) -> (keys the monitor answers with, state the screen says:
# a question `approve` can answer when config leaves it to a person)
DIALOGS: dict[tuple[str, str], tuple[list[str], str | None]] = {
    ("2.1.329", "startup_trust_dialog"): (["Down"], None),
    ("2.1.329", "startup_trust_dialog_yes_selected"): (["Enter"], None),
    ("2.1.329", "bypass_permissions_dialog"): (["Down"], None),
    ("2.1.329", "api_key_dialog"): (["Up"], "waiting"),
    ("2.1.329", "api_key_dialog_yes_selected"): (["Enter"], "waiting"),
    ("2.1.332", "startup_trust_dialog"): (["Down"], None),
    ("2.1.332", "startup_trust_dialog_yes_selected"): (["Enter"], None),
    ("2.1.332", "bypass_permissions_dialog"): (["Down"], None),
    ("2.1.197", "startup_trust_dialog"): (["Enter"], None),
    ("2.1.197", "bypass_permissions_dialog"): (["Down"], None),
}

CASES = [
    (path, EXPECTED[path.stem])
    for path in sorted(FIXTURES.glob("*/*.txt"))
    if path.stem in EXPECTED
]


def test_fixtures_exist_for_both_versions() -> None:
    versions = {path.parent.name for path, _ in CASES}
    assert {"2.1.197", "2.1.329", "2.1.332"} <= versions


@pytest.mark.parametrize(
    ("path", "expected"), CASES, ids=[f"{p.parent.name}/{p.stem}" for p, _ in CASES]
)
def test_screen_reading(path: Path, expected: tuple[str | None, str]) -> None:
    reading = screen.classify(CLAUDE, path.read_text())
    state, detail = expected
    assert reading.state == state
    assert detail in reading.detail
    if state == "busy" and "retrying" not in path.stem and "429" not in path.stem:
        assert reading.detail == ""


DIALOG_CASES = sorted(DIALOGS.items())


@pytest.mark.parametrize(
    ("key", "expected"), DIALOG_CASES, ids=[f"{v}/{s}" for (v, s), _ in DIALOG_CASES]
)
def test_first_run_dialogs(key: tuple[str, str], expected: tuple[list[str], str | None]) -> None:
    version, situation = key
    text = (FIXTURES / version / f"{situation}.txt").read_text()
    matched = [k for pattern, k in CLAUDE.dialogs.items() if re.search(pattern, text, re.M)]
    keys, state = expected
    assert matched[0] == keys
    assert screen.classify(CLAUDE, text).state == state


# (version, situation) -> the moves `approve` makes before confirming: onto
# the accepting option of the menu on screen, wherever the cursor starts.
MENUS: dict[tuple[str, str], list[str]] = {
    ("2.1.329", "permission_bash"): [],
    ("2.1.329", "permission_write"): [],
    ("2.1.329", "api_key_dialog"): ["Up"],
    ("2.1.329", "api_key_dialog_yes_selected"): [],
    ("2.1.329", "startup_trust_dialog"): ["Down"],
    ("2.1.329", "bypass_permissions_dialog"): ["Down"],
    ("2.1.332", "permission_bash"): [],
    ("2.1.332", "permission_write"): [],
    ("2.1.332", "startup_trust_dialog"): ["Down"],
    ("2.1.332", "bypass_permissions_dialog"): ["Down"],
    ("2.1.197", "permission_bash"): [],
    ("2.1.197", "startup_trust_dialog"): [],
    ("2.1.197", "bypass_permissions_dialog"): ["Down"],
    ("2.1.329", "idle"): [],
}
MENU_CASES = sorted(MENUS.items())


@pytest.mark.parametrize(("key", "moves"), MENU_CASES, ids=[f"{v}/{s}" for (v, s), _ in MENU_CASES])
def test_approve_moves_onto_the_accepting_option(key: tuple[str, str], moves: list[str]) -> None:
    version, situation = key
    text = (FIXTURES / version / f"{situation}.txt").read_text()
    assert CLAUDE.approve_option is not None
    assert screen.menu_moves(text, CLAUDE.approve_option) == moves


def test_no_dialog_on_ordinary_screens() -> None:
    for path, _ in CASES:
        text = path.read_text()
        assert not any(re.search(p, text, re.M) for p in CLAUDE.dialogs), path


def _agent(state: str, detail: str = "") -> Agent:
    return Agent(
        name="a", profile="claude", state=state, cwd="/", created=0, since=0, detail=detail
    )


FUSION = [
    # (current state, screen reading, quiet?, expected new state or None)
    ("starting-to-idle", "starting", "idle", "", False, "idle"),
    ("prompt-shows", "busy", "waiting", "Do you want to proceed?", False, "waiting"),
    ("spinner-before-dialog-keeps-waiting", "waiting", "busy", "", False, None),
    ("denied-then-quiet", "waiting", "idle", "", True, "idle"),
    ("denied-not-yet-quiet", "waiting", "idle", "", False, None),
    ("interrupted-quiet", "busy", "idle", "", True, "idle"),
    ("retry-line", "busy", "busy", "529 Overloaded · retrying in 3s", False, "busy"),
    ("stale-spinner-after-stop", "idle", "busy", "", False, None),
    ("old-banner-after-stop", "idle", "error", "API Error: 400", True, None),
    ("banner-ends-turn", "busy", "error", "API Error: 400", True, "error"),
    ("hooks-start-turns", "idle", None, "", False, None),
]


@pytest.mark.parametrize(
    ("current", "seen", "detail", "quiet", "expected"),
    [f[1:] for f in FUSION],
    ids=[f[0] for f in FUSION],
)
def test_fusion_with_hooks(
    current: str, seen: str | None, detail: str, quiet: bool, expected: str | None
) -> None:
    state, _ = decide(_agent(current), CLAUDE, screen.Reading(seen, detail), 5.0 if quiet else 0.0)
    assert state == expected
