"""Stray processes of a fleet: asked to end, killed when they will not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tmuxorch.tmux import strays

_IGNORES_TERM = (
    "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); signal.pause()"
)


def test_a_stray_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    fleet = {"TMUXORCH_AGENT": "a", "TMUXORCH_HOME": str(tmp_path), "TMUXORCH_SOCKET": "s"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _IGNORES_TERM], env={**os.environ, **fleet}, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        assert strays.reap(tmp_path, "s", set, grace=0.2) == {proc.pid: "a"}
        assert proc.wait(timeout=10) == -9
    finally:
        proc.kill()
        proc.wait()
