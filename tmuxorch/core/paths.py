"""Where the config file and the fleet home are by default (XDG).

Stdlib only, apart from tmuxorch.core.config: the hooks find the home from here
without loading the config machinery when no config file exists.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tmuxorch" / "config.yaml"


def config_path() -> Path:
    """``TMUXORCH_CONFIG``, else the default path."""
    env = os.environ.get("TMUXORCH_CONFIG")
    return Path(env).expanduser() if env else default_config_path()


def default_home() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tmuxorch"


def quick_home() -> Path | None:
    """The fleet home without reading config.yaml: ``TMUXORCH_HOME``, or the
    default when there is no config file to say otherwise; None when only
    the config can tell."""
    home = os.environ.get("TMUXORCH_HOME")
    if home:
        return Path(home).expanduser().absolute()
    if not os.environ.get("TMUXORCH_CONFIG") and not default_config_path().exists():
        return default_home().absolute()
    return None
