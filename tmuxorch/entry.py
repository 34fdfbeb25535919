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
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "auto-lock":
        from tmuxorch.claude.autolock import main as auto_lock

        return int(auto_lock(args[1:]))
    if args and args[0] == "hook":
        from tmuxorch.claude.hooks import hook_main

        return hook_main(args[1:])
    # Here, not above: the hooks do not load the CLI's table.
    from tmuxorch.surfaces.commandtable import COMPLETE_VAR

    if os.environ.get(COMPLETE_VAR) is None:
        # Click-free: importing click alone would spend these commands' budget.
        if args in ([], ["--help"], ["-h"]):
            from tmuxorch.surfaces import quickhelp

            return quickhelp.main(args)
        if args in (["list", "--json"], ["ls", "--json"]):
            from tmuxorch.surfaces import quicklist

            return quicklist.main()
    from tmuxorch.surfaces.cli import cli

    return int(cli.main(args=args, prog_name="tmuxorch", standalone_mode=True) or 0)


if __name__ == "__main__":
    sys.exit(main())
