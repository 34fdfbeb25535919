"""Environment for running the real Claude Code offline against ``tests/fakeapi.py``.

Usage::

    from tests.claude_env import CLAUDE_BIN, claude_env, require_claude

    claude = require_claude()            # pytest.skip() if no claude binary
    with FakeAnthropic() as fake:
        env = claude_env(tmp_path / "cfg", project_dir, fake.url)
        # start `claude` in tmux with these variables added (tmux new-window -e K=V ...),
        # and the variables in CLAUDE_ENV_UNSET removed from the inherited environment.

What makes the TUI start straight into the composer, with no network:

* ``ANTHROPIC_API_KEY`` + ``customApiKeyResponses.approved`` (last 20 chars of
  the key) in ``.claude.json``: no "Detected a custom API key" question.
* ``hasCompletedOnboarding`` + ``theme``: no login / theme picker.
* ``projects[<cwd>].hasTrustDialogAccepted``: no "Do you trust the files in
  this folder?" dialog (``trust=False`` leaves it out to get the dialog).
* ``hasSeenAutoDefaultNotice`` (2.1.3xx): hides the "Auto mode is now Claude
  Code's default permission mode." banner at the top of the first screen.
* ``lastReleaseNotesSeen``: no "What's new" box after an upgrade.
* ``officialMarketplaceAutoInstallAttempted``: no plugin-marketplace fetch.
* ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` (= no autoupdater, telemetry,
  error reporting, feedback command); the individual ``DISABLE_*`` flags are
  set as well, for older/newer versions that look at those only.
* ``spinnerTipsEnabled: false`` in ``<config_dir>/settings.json``: no random
  "Tip: ..." line under the busy spinner (pass ``tips=True`` to keep them).

Rendering mode: 2.1.3xx defaults to the *fullscreen* renderer (alternate
screen, fixed layout, composer pinned to the bottom, no tmux scrollback) on a
fresh config, 2.1.1xx to the *classic* one (normal screen, output scrolls).
``fullscreen=None`` keeps the version's default; ``True`` forces fullscreen
(``CLAUDE_CODE_NO_FLICKER=1``), ``False`` forces classic
(``CLAUDE_CODE_DISABLE_ALTERNATE_SCREEN=1``).  See tests/fixtures/claude/README.md.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = [
    "CLAUDE_BIN",
    "CLAUDE_ENV_UNSET",
    "DUMMY_API_KEY",
    "FALLBACK_CLAUDE",
    "claude_env",
    "find_claude",
    "pinned_version",
    "require_claude",
    "version_problem",
    "write_claude_json",
]

#: A syntactically plausible key; only its last 20 characters matter (approval list).
DUMMY_API_KEY = "sk-ant-api03-" + "tmuxorchFAKE" * 7 + "-0123456789abcdefAA"

#: Variables that must NOT leak from the test runner's environment into Claude
#: (they would change auth, model, or make Claude think it runs nested).
CLAUDE_ENV_UNSET: tuple[str, ...] = (
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SSE_PORT",
    "CLAUDE_CODE_SESSION_KIND",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
)

FALLBACK_CLAUDE = "/tmp/cc/node_modules/.bin/claude"


def find_claude() -> str | None:
    """Path of the claude executable for tests, or None.

    Order: ``$TMUXORCH_TEST_CLAUDE``, ``claude`` on PATH, ``/tmp/cc/node_modules/.bin/claude``.
    """
    override = os.environ.get("TMUXORCH_TEST_CLAUDE")
    if override:
        return override if os.access(override, os.X_OK) else None
    on_path = shutil.which("claude")
    if on_path:
        return on_path
    if os.access(FALLBACK_CLAUDE, os.X_OK):
        return FALLBACK_CLAUDE
    return None


#: Resolved once at import time (None when no claude is installed).
CLAUDE_BIN: str | None = find_claude()
# Read now: the ``env`` fixture clears TMUXORCH_* before a test asks.
REQUIRED = os.environ.get("TMUXORCH_REQUIRE_CLAUDE") == "1"


#: Where CI pins the Claude Code version the e2e tests (and their fixtures) expect.
CI_RUN = Path(__file__).resolve().parents[1] / ".ci" / "run"


def pinned_version() -> str | None:
    """The version the e2e tests expect: ``$CLAUDE_CODE_VERSION_E2E`` (CI's
    job variable for another version), else ``CLAUDE_CODE_VERSION`` from
    .ci/run (None when there is no such file)."""
    if os.environ.get("CLAUDE_CODE_VERSION_E2E"):
        return os.environ["CLAUDE_CODE_VERSION_E2E"]
    try:
        text = CI_RUN.read_text()
    except OSError:
        return None
    found = re.search(r"^CLAUDE_CODE_VERSION=([\w.-]+)", text, re.MULTILINE)
    return found.group(1) if found else None


@functools.cache
def version_problem(claude: str) -> str | None:
    """One line naming both versions when ``claude`` is not the pinned Claude
    Code (an older one refuses an unread overwrite before any hook runs, and
    the e2e tests then fail far from the cause); None when it is."""
    pinned = pinned_version()
    if pinned is None:
        return None
    try:
        out = subprocess.run(
            [claude, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except OSError as exc:
        return f"cannot run {claude} --version ({exc}); the tests pin Claude Code {pinned}"
    found = re.match(r"\s*(\S+)", out)
    version = found.group(1) if found else "an unknown version"
    if version == pinned:
        return None
    return (
        f"{claude} is Claude Code {version}, but the tests pin {pinned} "
        f"(CLAUDE_CODE_VERSION in .ci/run): set TMUXORCH_TEST_CLAUDE to Claude Code {pinned}"
    )


def require_claude() -> str:
    """Return CLAUDE_BIN when it is the pinned Claude Code; else ``pytest.skip()``
    the calling test, or fail it with TMUXORCH_REQUIRE_CLAUDE=1 (CI)."""
    if CLAUDE_BIN is None:
        problem = "Claude Code not found (set TMUXORCH_TEST_CLAUDE or put claude on PATH)"
    else:
        problem = version_problem(CLAUDE_BIN)
    if problem is None and CLAUDE_BIN is not None:
        return CLAUDE_BIN
    import pytest

    if REQUIRED:
        pytest.fail(f"TMUXORCH_REQUIRE_CLAUDE=1: {problem}", pytrace=False)
    pytest.skip(problem or "")


def write_claude_json(
    config_dir: Path,
    cwd: Path,
    *,
    api_key: str = DUMMY_API_KEY,
    trust: bool = True,
    bypass_accepted: bool = False,
    api_key_approved: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``<config_dir>/.claude.json`` (global state read at start) and return its path."""
    config_dir.mkdir(parents=True, exist_ok=True)
    project: dict[str, Any] = {
        "allowedTools": [],
        "hasCompletedProjectOnboarding": True,
        "projectOnboardingSeenCount": 1,
    }
    if trust:
        project["hasTrustDialogAccepted"] = True
    data: dict[str, Any] = {
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "numStartups": 1,
        "autoUpdates": False,
        # Unapproved: Claude asks "Do you want to use this API key?" at start.
        "customApiKeyResponses": {
            "approved": [api_key[-20:]] if api_key_approved else [],
            "rejected": [],
        },
        # Keys are the resolved cwd, exactly as Claude computes it.
        "projects": {str(cwd.resolve()): project},
        "hasSeenAutoDefaultNotice": True,
        "lastReleaseNotesSeen": "9999.0.0",
        "officialMarketplaceAutoInstallAttempted": True,
        "officialMarketplaceAutoInstalled": False,
        "hasShownOpus45Notice": {},
        "tipsHistory": {},
    }
    if bypass_accepted:
        data["bypassPermissionsModeAccepted"] = True
    if extra:
        data.update(extra)
    path = config_dir / ".claude.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def claude_env(
    config_dir: Path,
    cwd: Path,
    base_url: str,
    *,
    trust: bool = True,
    api_key: str = DUMMY_API_KEY,
    fullscreen: bool | None = None,
    tips: bool = False,
    terminal_title: bool = True,
    bypass_accepted: bool = False,
    extra_claude_json: dict[str, Any] | None = None,
    home: Path | None = None,
) -> dict[str, str]:
    """Prepare ``config_dir`` for an offline Claude Code run in ``cwd`` and return env vars to add.

    ``terminal_title=True`` keeps Claude's OSC title updates (tmux shows them as
    ``#{pane_title}``: "✳ Claude Code" when idle, a spinner glyph when busy),
    which is itself a useful state signal.

    ``home``: if given, ``HOME`` is set to it (created if missing).  Claude's
    Bash tool runs ``bash -c -l`` (a *login* shell), so the runner's
    ~/.profile / ~/.bashrc run on every Bash tool call; a slow or blocking rc
    file (e.g. ``pyenv rehash`` waiting on a stale lock) then stalls the tool
    for up to a minute.  An empty home makes Bash tool calls fast and hermetic.
    """
    config_dir = Path(config_dir)
    write_claude_json(
        config_dir,
        cwd,
        api_key=api_key,
        trust=trust,
        bypass_accepted=bypass_accepted,
        extra=extra_claude_json,
    )
    settings: dict[str, Any] = {}
    if not tips:
        settings["spinnerTipsEnabled"] = False
    if settings:
        (config_dir / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")

    env: dict[str, str] = {
        "ANTHROPIC_BASE_URL": base_url.rstrip("/"),
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL": "1",
    }
    if home is not None:
        Path(home).mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
    if fullscreen is True:
        env["CLAUDE_CODE_NO_FLICKER"] = "1"
    elif fullscreen is False:
        env["CLAUDE_CODE_DISABLE_ALTERNATE_SCREEN"] = "1"
    if not terminal_title:
        env["CLAUDE_CODE_DISABLE_TERMINAL_TITLE"] = "1"
    return env
