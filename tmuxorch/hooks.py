"""Claude Code hook entry points (``tmuxorch hook EVENT``, ``tmuxorch auto-lock``).

They run on Claude's hot path: stdlib and the store only, never click,
libtmux or watchdog. With no fleet to talk to they exit 0 silently, so a
hook never breaks a Claude session that tmuxorch does not manage.
"""

from __future__ import annotations

import sys


def run(args: list[str]) -> int:
    """Dispatch ``args`` (``["hook", EVENT]`` or ``["auto-lock"]``)."""
    if args[0] == "auto-lock":
        from tmuxorch.autolock import main

        return main(args[1:])
    sys.stderr.write("tmuxorch hook: not available yet\n")
    return 0
