"""One root error with a subclass per domain.

Domain code raises these; only the CLI edge turns them into click exceptions,
so every expected failure reaches the user as one line, never a traceback.
"""

from __future__ import annotations


class TmuxorchError(Exception):
    """Root of every expected tmuxorch failure."""

    exit_code = 1


class ConfigError(TmuxorchError):
    """config.yaml is unreadable, has an unknown key or a wrong type."""


class StoreError(TmuxorchError):
    """The state database cannot be opened or written."""


class StoreUnreachable(StoreError):
    """The database server cannot be reached now (restarting, a network cut):
    a caller with time to wait tries again."""


class FileError(TmuxorchError):
    """A file the system refused (permissions, a full disk, a read-only home)."""

    @classmethod
    def of(cls, exc: OSError) -> FileError:
        return cls(f"cannot use {exc.filename}: {exc.strerror or exc}")


class TmuxError(TmuxorchError):
    """tmux is missing, too old, or a tmux command failed."""


class AgentError(TmuxorchError):
    """An agent name is invalid, unknown, taken, or in the wrong state."""


class UnknownAgent(AgentError):
    """No agent has that name (HTTP 404)."""


class AgentConflict(AgentError):
    """The name is taken, or the agent is in the wrong state for this (HTTP 409)."""


class HostUnavailable(AgentError):
    """The host named is unknown to the fleet, or lost (no heartbeat)."""


class ProfileError(TmuxorchError):
    """An agent profile is unknown or its command is not installed."""


class DeliveryError(TmuxorchError):
    """A message could not be delivered to an agent."""


class SummaryError(TmuxorchError):
    """The small model could not summarise an agent (``what --summary``)."""


class LockError(TmuxorchError):
    """A file lock cannot be taken or released."""


class TimeoutReached(TmuxorchError):
    """A wait ended before its condition held."""

    exit_code = 124
