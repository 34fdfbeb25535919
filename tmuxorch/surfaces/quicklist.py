"""``tmuxorch list --json`` without click (importing click alone costs this
path's budget): the same views, the same JSON, the same one-line errors as
the click command (``surfaces/cli/agents.py``)."""

from __future__ import annotations

import json
import os
import sys

from tmuxorch.core.config import resolve
from tmuxorch.core.errors import TmuxorchError
from tmuxorch.fleet.lifecycle import Fleet
from tmuxorch.fleet.views.agents import agent_views
from tmuxorch.surfaces.commandtable import PROG
from tmuxorch.surfaces.edge import error_line


def main() -> int:
    try:
        with Fleet(resolve()) as fleet:
            shown = [view.to_json() for view in agent_views(fleet)]
    except (TmuxorchError, OSError) as exc:
        said = error_line(exc)
        if said is None:
            raise
        message, status = said
        sys.stderr.write(f"{PROG}: {message}\n")
        return status
    try:
        sys.stdout.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # As click: a reader gone (`| head`) is status 1, without a traceback
        # (nor another when Python flushes stdout at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
