"""The monitor's log: HOME/monitor.log, a time and a level per line, rotated.

The file is opened as every file of the home is (ours, 0600, never through a
link). The detached monitor's stderr is this same file (``monitorproc.start``
points it there for what is no log record: a crash's traceback, the one-line
error at the edge); a rotation moves that stderr to the new file too.
"""

from __future__ import annotations

import logging
import os
import sys
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from tmuxorch.core import private
from tmuxorch.core.config import Settings
from tmuxorch.fleet.monitorproc import LOG_FILE

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _HomeLog(RotatingFileHandler):
    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self.stderr_here = _is_stderr(path)

    def _open(self) -> TextIOWrapper:
        fd = private.open_file(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return open(fd, "a", encoding="utf-8")  # the handler closes it

    def doRollover(self) -> None:
        super().doRollover()
        if self.stderr_here and self.stream is not None:
            os.dup2(self.stream.fileno(), sys.stderr.fileno())


def _is_stderr(path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(sys.stderr.fileno()), os.stat(path))
    except (OSError, ValueError):  # no stderr, or one without a file
        return False


def log_to_home(settings: Settings) -> None:
    """Send the package's log records (info and above, or what ``-v`` asked
    for) to HOME/monitor.log as well."""
    options = settings.config.monitor_log
    private.check_home(settings.home)
    handler = _HomeLog(settings.home / LOG_FILE, options.max_bytes, options.backups)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("tmuxorch")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
