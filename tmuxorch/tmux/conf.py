"""tmuxorch's own config for the fleet's tmux server: small, and never the
user's ``~/.tmux.conf``."""

from __future__ import annotations

# Signalled by the server's own hooks when a pane dies or a window closes;
# the monitor blocks on it with ``wait-for`` instead of polling panes.
WAKE_CHANNEL = "tmuxorch-changed"
# The status line's command (``tmuxorch status-line``) lives in this user
# option; tmux runs it every STATUS_INTERVAL seconds while a client is attached.
STATUS_OPTION = "@tmuxorch-status"
STATUS_INTERVAL = 5


def config_quote(text: str) -> str:
    """``text`` as one double-quoted word of a tmux config file."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def status_lines(status_command: str | None) -> tuple[str, ...]:
    """The status line runs ``status_command`` (a shell command) every few
    seconds. It is kept in a user option and run as ``#(#{@option})``: tmux
    expands the option inside ``#()`` without reading formats, strftime
    escapes or parentheses in it, so any path survives."""
    if status_command is None:
        return ()
    return (
        f"set -g {STATUS_OPTION} {config_quote(status_command)}",
        f'set -g status-right "#(#{{{STATUS_OPTION}}}) "',
        "set -g status-right-length 60",
        f"set -g status-interval {STATUS_INTERVAL}",
    )


def config_text(
    history_limit: int, width: int, height: int, status_command: str | None = None
) -> str:
    """tmuxorch's own server config: small, and never the user's ~/.tmux.conf."""
    return "\n".join(
        (
            "# Written by tmuxorch for its private server; edits are overwritten.",
            # Keep an exited agent's pane so its last screen and status survive.
            "set -g remain-on-exit on",
            f"set -g history-limit {history_limit}",
            f"set -g default-size {width}x{height}",
            # Window names are agent names: never let programs or tmux rename them.
            "set -g allow-rename off",
            "setw -g automatic-rename off",
            # A lone ESC must reach the agent at once (it interrupts Claude).
            "set -s escape-time 10",
            "set -g focus-events on",
            "setw -g aggressive-resize on",
            "set -g set-titles on",
            'set -g set-titles-string "tmuxorch: #W"',
            'set -g status-left "[tmuxorch] "',
            f"set-hook -g pane-died 'wait-for -S {WAKE_CHANNEL}'",
            f"set-hook -g window-unlinked 'wait-for -S {WAKE_CHANNEL}'",
            "set -g status-left-length 20",
            *status_lines(status_command),
            "",
        )
    )
