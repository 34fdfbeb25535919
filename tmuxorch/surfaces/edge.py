"""What the CLI says of an error at its edge, with or without click."""

from __future__ import annotations

from tmuxorch.core.errors import FileError, TimeoutReached, TmuxorchError


def error_line(exc: BaseException) -> tuple[str, int] | None:
    """The one line (without the ``tmuxorch: `` prefix) and exit status for a
    domain error, or for a file of the home the system refused (a log, a
    screen capture); None for anything else: a bug to see whole."""
    if isinstance(exc, TmuxorchError):
        timed_out = exc.exit_code == TimeoutReached.exit_code
        return str(exc), TimeoutReached.exit_code if timed_out else 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return str(FileError.of(exc)), 1
    return None
