"""Where the config file and the fleet home are by default (XDG).

Stdlib only, apart from tmuxorch.core.config: the hooks find the home from here
without loading the config machinery when no config file exists. Strings
underneath: pathlib (which brings urllib.parse) is loaded only for the
``Path`` forms, never on the hooks' path.
"""

from __future__ import annotations

import os

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def _default_config_file() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tmuxorch", "config.yaml")


def config_file() -> str:
    """``TMUXORCH_CONFIG``, else the default path."""
    env = os.environ.get("TMUXORCH_CONFIG")
    return os.path.expanduser(env) if env else _default_config_file()


def config_path() -> Path:
    from pathlib import Path  # here: the hooks call only the str functions, pathlib costs them

    return Path(config_file())


def _default_home() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "tmuxorch")


def default_home() -> Path:
    from pathlib import Path  # here: as in config_path

    return Path(_default_home())


def quick_home() -> str | None:
    """The fleet home (absolute) without reading config.yaml: ``TMUXORCH_HOME``,
    or the default when there is no config file to say otherwise; None when
    only the config can tell."""
    home = os.environ.get("TMUXORCH_HOME")
    if home:
        return os.path.join(os.getcwd(), os.path.expanduser(home))
    if not os.environ.get("TMUXORCH_CONFIG") and not os.path.exists(_default_config_file()):
        return os.path.join(os.getcwd(), _default_home())
    return None
