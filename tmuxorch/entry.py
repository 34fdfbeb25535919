"""The ``tmuxorch`` executable.

Claude Code runs ``tmuxorch auto-lock`` and ``tmuxorch hook EVENT`` on its
hot path, so those are dispatched here before click (or anything else heavy)
is imported; every other command goes to the click group.
"""

from __future__ import annotations

import sys

HOT_COMMANDS = ("auto-lock", "hook")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in HOT_COMMANDS:
        from tmuxorch.hooks import run

        return run(args)
    from tmuxorch.cli import cli

    return int(cli.main(args=args, prog_name="tmuxorch", standalone_mode=True) or 0)


if __name__ == "__main__":
    sys.exit(main())
