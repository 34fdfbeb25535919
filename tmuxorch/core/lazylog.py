"""Loggers for modules on the short commands' path (``list --json``):
``logging`` itself (with traceback, threading, string...) costs those
commands about half a bare Python's start-up, so it is imported only when a
record could go somewhere.

Until something imports ``logging``, nothing has set a handler or a level:
Python's defaults hold, and a record under WARNING goes nowhere. So a debug
or info record is dropped while ``logging`` is not loaded, and everything
else goes to ``logging.getLogger(name)``, as a module-level logger's would.
"""

from __future__ import annotations

import sys

# typing.TYPE_CHECKING without importing typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from typing import Any


class LazyLogger:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def logger(self) -> logging.Logger:
        import logging  # here: the point of this class

        return logging.getLogger(self.name)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self.logger().debug(msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self.logger().info(msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.logger().warning(msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.logger().error(msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.logger().exception(msg, *args, **kwargs)


def getLogger(name: str) -> LazyLogger:
    return LazyLogger(name)
