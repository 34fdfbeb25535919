"""How to start and read each kind of agent.

A profile is data: the command, its arguments and environment, how to submit
input, and the screen patterns that tell its state. Built-ins cover Claude
Code, Codex, Aider, Gemini CLI and a plain shell; config.yaml's ``agents:``
section overrides fields of a built-in (the rest is kept) or adds new ones.
"""

from __future__ import annotations

import os
import re
import shlex

from tmuxorch.core.config import Config
from tmuxorch.core.configbuild import build
from tmuxorch.core.errors import ProfileError
from tmuxorch.core.frozen import asdict, field, frozen, replace


@frozen
class Profile:
    name: str
    command: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    # Pause between typing text and pressing the submit key: TUIs that read a
    # paste in chunks would otherwise take Enter as part of the paste.
    settle: float = 0.1
    submit_key: str = "Enter"
    interrupt_keys: list[str] = field(default_factory=lambda: ["Escape"])
    approve_keys: list[str] = field(default_factory=lambda: ["y", "Enter"])
    # The accepting option of a selection menu (a line, cursor mark stripped):
    # ``approve`` moves the cursor onto it before pressing approve_keys, as
    # "No" is preselected on some of Claude's dialogs.
    approve_option: str | None = None
    approve_always_keys: list[str] = field(default_factory=lambda: ["a", "Enter"])
    deny_keys: list[str] = field(default_factory=lambda: ["n", "Enter"])
    clear_command: str | None = None
    quit_command: str | None = None
    # Regular expressions over the visible screen (multiline mode).
    ready: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    # Seconds of screen quiet before an agent without hooks counts as idle.
    quiet: float = 0.7
    # Claude Code style hooks (--settings) drive its state.
    hooks: bool = False
    install: str = ""
    # Patterns of input still sitting in the composer that does not show the
    # text itself, such as Claude's "[Pasted text #1 +20 lines]".
    pending_input: list[str] = field(default_factory=list)
    # Flags that carry spawn's --model, --permission-mode and --allowed-tools,
    # when it has them.
    model_flag: str | None = None
    permission_flag: str | None = None
    allowed_tools_flag: str | None = None
    # First-run dialogs answered by the monitor: pattern -> keys to press.
    dialogs: dict[str, list[str]] = field(default_factory=dict)
    # Where typed input shows (group 1 of the last match), when it is not the
    # cursor's row. Profiles with one get half-typed input saved and restored
    # around a delivery.
    input_pattern: str | None = None
    # The input area is the cursor's row (a shell's command line), read with
    # ``input_pattern``: rows above it are output, whatever they look like.
    input_at_cursor: bool = False
    # Text the input area shows that nobody typed (dim placeholders).
    input_placeholders: list[str] = field(default_factory=list)
    # Keys that empty the input area.
    clear_input_keys: list[str] = field(default_factory=lambda: ["C-e", "C-u"])
    # Type multi-line text line by line with this key between lines instead of
    # pasting it (a TUI that rewrites pastes, as Claude Code does).
    newline_key: str | None = None


@frozen
class ProfileOverride:
    """A config.yaml ``agents.NAME`` entry: every field optional."""

    extends: str | None = None
    command: str | None = None
    args: list[str] | None = None
    env: dict[str, str] | None = None
    settle: float | None = None
    submit_key: str | None = None
    interrupt_keys: list[str] | None = None
    approve_keys: list[str] | None = None
    approve_option: str | None = None
    approve_always_keys: list[str] | None = None
    deny_keys: list[str] | None = None
    clear_command: str | None = None
    quit_command: str | None = None
    ready: list[str] | None = None
    busy: list[str] | None = None
    waiting: list[str] | None = None
    error: list[str] | None = None
    quiet: float | None = None
    hooks: bool | None = None
    install: str | None = None
    pending_input: list[str] | None = None
    model_flag: str | None = None
    permission_flag: str | None = None
    allowed_tools_flag: str | None = None
    dialogs: dict[str, list[str]] | None = None
    input_pattern: str | None = None
    input_at_cursor: bool | None = None
    input_placeholders: list[str] | None = None
    clear_input_keys: list[str] | None = None
    newline_key: str | None = None


# A shell prompt at the end of the screen: "$ ", "# ", "% ", "> ".
_SHELL_PROMPT = r"[$#%>❯]\s*\Z"

BUILTIN: dict[str, Profile] = {
    "shell": Profile(
        name="shell",
        command="",  # the user's $SHELL, resolved at spawn
        interrupt_keys=["C-c"],
        clear_command="clear",
        quit_command="exit",
        ready=[_SHELL_PROMPT],
        # The command line: after the prompt's first sign, on the cursor's row.
        input_pattern=r"[$#%>❯] ?(.*)",
        input_at_cursor=True,
        waiting=[
            r"([^\n]*\[[yY]/[nN]\])\s*\Z",
            r"([^\n]*\([yY]/[nN]\))\s*\Z",
            r"(?i)([^\n]*password[^\n]*:)\s*\Z",
        ],
        quiet=0.5,
    ),
    "claude": Profile(
        name="claude",
        command="claude",
        settle=0.3,
        interrupt_keys=["Escape"],
        approve_keys=["Enter"],
        approve_option=r"^(?:\d\. )?Yes\b",
        approve_always_keys=["2"],
        deny_keys=["Escape"],
        clear_command="/clear",
        quit_command="/exit",
        # Patterns are backed by golden captures in tests/fixtures/claude/.
        ready=[r"^❯(?:\s|$)"],  # Claude puts a no-break space after ❯
        busy=[
            r"^\W*(\w[^\n]*?[Rr]etrying in \d+s · attempt \d+/\d+)",
            r"esc to interrupt",
        ],
        waiting=[r"^\s*(Do you want to [^\n]*\?)", r"^\s*(Would you like to [^\n]*\?)"],
        error=[r"(API Error: [^\n]*)", r"(Invalid API key[^\n]*)"],
        quiet=1.0,
        hooks=True,
        install="npm install -g @anthropic-ai/claude-code",
        pending_input=[r"\[Pasted text #\d+[^\]]*\]"],
        # The composer: the ❯ row and its continuation rows up to the rule.
        input_pattern=r"^❯\s?(.*(?:\n(?!─{3}).*)*)",
        input_placeholders=[
            r"^Resend your message to try again$",
            r"^Once fixed, resend your message$",
        ],
        clear_input_keys=["C-u"],
        # Claude wraps pasted text in <pasted_content> and turns its tabs into
        # spaces; typed text (C-j for newlines) reaches the model as written.
        newline_key="C-j",
        model_flag="--model",
        permission_flag="--permission-mode",
        allowed_tools_flag="--allowedTools",
        dialogs={
            # Folder trust and the bypass-permissions warning: the choice was
            # made by spawning here (and with that mode). Newer releases put
            # "No, exit" first, older ones "Yes": move to Yes, then confirm.
            r"❯ (?:\d\. )?No, exit\s*\n\s*(?:\d\. )?Yes, I (?:trust this folder|accept)": ["Down"],
            r"❯ (?:\d\. )?Yes, I (?:trust this folder|accept)": ["Enter"],
            # A key in ANTHROPIC_API_KEY, not yet approved: it was put in the
            # agent's environment to be used. "No (recommended)" is preselected.
            r"use this API key\?\s*\n\s*(?:\d\. )?Yes\s*\n\s*❯ (?:\d\. )?No": ["Up"],
            r"use this API key\?\s*\n\s*❯ (?:\d\. )?Yes": ["Enter"],
        },
    ),
    "codex": Profile(
        name="codex",
        command="codex",
        model_flag="--model",
        settle=0.3,
        clear_command="/new",
        quit_command="/quit",
        ready=[r"^[│ ]*[›>]\s"],
        busy=[r"Esc to interrupt", r"esc to interrupt"],
        waiting=[r"Allow command\?", r"Would you like to run the following command\?"],
        error=[r"(?m)^\s*■ [^\n]*"],
        install="npm install -g @openai/codex",
    ),
    "aider": Profile(
        name="aider",
        command="aider",
        model_flag="--model",
        interrupt_keys=["C-c"],
        clear_command="/clear",
        quit_command="/exit",
        ready=[r"^[\w./-]*> \Z"],
        waiting=[r"\(Y\)es/\(N\)o[^\n]*\Z"],
        error=[r"litellm\.\w+Error[^\n]*"],
        install="python -m pip install aider-install && aider-install",
    ),
    "gemini": Profile(
        name="gemini",
        command="gemini",
        model_flag="--model",
        settle=0.3,
        approve_keys=["Enter"],
        deny_keys=["Escape"],
        clear_command="/clear",
        quit_command="/quit",
        ready=[r"Type your message"],
        busy=[r"esc to cancel"],
        waiting=[r"Allow execution\?", r"Apply this change\?"],
        error=[r"✕ \[API Error[^\n]*"],
        install="npm install -g @google/gemini-cli",
    ),
}


def _apply(base: Profile, name: str, override: ProfileOverride) -> Profile:
    changes = {
        key: value
        for key, value in asdict(override).items()
        if key != "extends" and value is not None
    }
    return replace(base, name=name, **changes)


def profiles(config: Config) -> dict[str, Profile]:
    """Built-ins with config.yaml's overrides and additions applied."""
    result = dict(BUILTIN)
    overrides = {
        name: build(ProfileOverride, data, f"agents.{name}") for name, data in config.agents.items()
    }
    pending = dict(overrides)
    while pending:  # resolve ``extends`` chains in dependency order
        progressed = False
        for name, override in list(pending.items()):
            parent = override.extends or (name if name in BUILTIN else None)
            if parent is not None and parent in pending and parent != name:
                continue
            if parent is None:
                if override.command is None:
                    raise ProfileError(f"config key agents.{name}.command: a new profile needs one")
                base = Profile(name=name, command=override.command)
            elif parent in result:
                base = result[parent]
            else:
                raise ProfileError(f"config key agents.{name}.extends: no profile {parent!r}")
            result[name] = _apply(base, name, override)
            _check(result[name])
            del pending[name]
            progressed = True
        if not progressed:
            raise ProfileError(f"config key agents: extends cycle among {', '.join(pending)}")
    return result


# The fields that hold regular expressions over the screen (multiline mode).
_PATTERN_LISTS = ("ready", "busy", "waiting", "error", "pending_input", "input_placeholders")


def _check(profile: Profile) -> None:
    """A profile from config.yaml starts and reads: its command splits as a
    shell would and its patterns compile, or the error names the key."""
    where = f"config key agents.{profile.name}"
    try:
        shlex.split(profile.command)
    except ValueError as exc:
        raise ProfileError(f"{where}.command: {exc} in {profile.command!r}") from None
    patterns = [
        (f"{key}[{i}]", p) for key in _PATTERN_LISTS for i, p in enumerate(getattr(profile, key))
    ]
    patterns += [("dialogs", p) for p in profile.dialogs]
    if profile.input_pattern is not None:
        patterns.append(("input_pattern", profile.input_pattern))
    for key, pattern in patterns:
        try:
            re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise ProfileError(
                f"{where}.{key}: not a regular expression ({exc}): {pattern!r}"
            ) from None


def get(config: Config, name: str) -> Profile:
    known = profiles(config)
    try:
        return known[name]
    except KeyError:
        raise ProfileError(
            f"unknown agent profile {name!r} (known: {', '.join(sorted(known))})"
        ) from None


def command_argv(profile: Profile) -> list[str]:
    """The argv that starts the profile's program (before per-spawn arguments)."""
    if not profile.command:
        return [os.environ.get("SHELL") or "/bin/sh", *profile.args]
    # ``command`` may carry its own arguments ("npx claude"); args come after.
    return [*shlex.split(profile.command), *profile.args]
