"""This machine's name in a fleet of several hosts: TMUXORCH_HOST, else
config ``host.name``, else the machine's hostname."""

from __future__ import annotations

import os
import re

from tmuxorch.core.errors import ConfigError
from tmuxorch.core.frozen import frozen

ENV = "TMUXORCH_HOST"
# A name in the fleet, an agent's or a host's (a host's goes where names go:
# columns, the daemon's lock file's name).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@frozen
class HostSettings:
    """Config ``host``: this machine in a fleet of several (a shared ``store.url``)."""

    # Null: TMUXORCH_HOST, else the machine's hostname (Settings.host).
    name: str | None = None
    # Seconds without a heartbeat after which another host's daemon calls it lost.
    lost_after: float = 30.0
    # Seconds between two heartbeats of this host's daemon.
    heartbeat: float = 5.0


def host_name(configured: str | None) -> str:
    """The host's name (the hostname up to its first dot); ConfigError, one
    line, for a name that breaks the rule."""
    env = os.environ.get(ENV)
    name = env or configured
    if not name:
        # socket.gethostname() is uname's nodename, without importing socket
        # (on the hooks' path when a hand-started session has no TMUXORCH_HOST).
        name = os.uname().nodename.split(".")[0]
    if not NAME_RE.match(name):
        source = ENV if env else "config key host.name" if configured else "the hostname"
        raise ConfigError(
            f"{source}: {name!r} is not a host name (up to 64 letters, digits, '.', '_' "
            "or '-', the first a letter or digit): set host.name or TMUXORCH_HOST"
        )
    return name
