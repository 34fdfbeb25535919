"""tmuxorch: a fleet of AI coding agents as live tmux sessions."""

from __future__ import annotations

__version__ = "0.1.0"
