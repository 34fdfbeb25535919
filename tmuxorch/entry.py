"""The ``tmuxorch`` executable.

Claude Code runs ``tmuxorch auto-lock`` and ``tmuxorch hook EVENT`` on its
hot path, so those are dispatched here before click (or anything else heavy)
is imported; every other command goes to the click group.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "auto-lock":
        from tmuxorch.claude.autolock import main as auto_lock

        return int(auto_lock(args[1:]))
    if args and args[0] == "hook":
        from tmuxorch.claude.hooks import hook_main

        return hook_main(args[1:])
    from tmuxorch.surfaces.cli import cli

    return int(cli.main(args=args, prog_name="tmuxorch", standalone_mode=True) or 0)


if __name__ == "__main__":
    sys.exit(main())
