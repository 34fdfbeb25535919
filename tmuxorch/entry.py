"""The ``tmuxorch`` executable.

Claude Code runs ``tmuxorch auto-lock`` and ``tmuxorch hook EVENT`` on its
hot path, so those are dispatched here before click (or anything else heavy)
is imported; so are ``--help`` and ``list --json`` alone (no other option:
those go to click, so behaviour never differs); every other command goes to
the click group.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """``argv`` None: this process is the command (the console script,
    ``python -m tmuxorch``), so a click-free path ends it at once."""
    args = sys.argv[1:] if argv is None else argv
    code = _click_free(args)
    if code is None:
        from tmuxorch.surfaces.cli import cli

        return int(cli.main(args=args, prog_name="tmuxorch", standalone_mode=True) or 0)
    if argv is None:
        _exit(code)
    return code


def _click_free(args: list[str]) -> int | None:
    """The commands that never import click; None for the others."""
    if args and args[0] == "auto-lock":
        from tmuxorch.claude.autolock import main as auto_lock

        return int(auto_lock(args[1:]))
    if args and args[0] == "hook":
        from tmuxorch.claude.hooks import hook_main

        return hook_main(args[1:])
    # Here, not above: the hooks do not load the CLI's table.
    from tmuxorch.surfaces.commandtable import COMPLETE_VAR

    if os.environ.get(COMPLETE_VAR) is not None:
        return None
    # Importing click alone would spend these commands' budget.
    if args in ([], ["--help"], ["-h"]):
        from tmuxorch.surfaces import quickhelp

        return quickhelp.main(args)
    if args in (["list", "--json"], ["ls", "--json"]):
        from tmuxorch.surfaces import quicklist

        return quicklist.main()
    return None


def _exit(code: int) -> None:
    """End the process without Python's teardown (freeing every module
    loaded, a fifth of a hook's CPU time): what it wrote is flushed, its
    store closed, and these paths register nothing to run at exit."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except OSError:
            code = 120  # as Python's own exit does when it cannot flush (a reader gone)
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
