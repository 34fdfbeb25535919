"""config.yaml: every key has a default, unknown keys and wrong types name the key.

The schema is the frozen records below (tmuxorch.core.frozen: a dataclass
costs a command's start-up about 1 ms, 5 for 30 fields); ``build``
(tmuxorch.core.configbuild) walks them, so adding a key is adding a field.
pyyaml is imported only when a file is actually read (and not cached in the
home, CONFIG_CACHE), which keeps the hook entry points (they find the fleet
through ``TMUXORCH_HOME``) free of it.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from tmuxorch.core import storeurl
from tmuxorch.core.configbuild import build
from tmuxorch.core.errors import ConfigError, TmuxorchError
from tmuxorch.core.frozen import field, frozen
from tmuxorch.core.hostname import HostSettings, host_name
from tmuxorch.core.paths import config_path, default_home
from tmuxorch.core.private import check_home, read_text, write_file
from tmuxorch.core.vocab import NOTICE_KINDS

T = TypeVar("T")


@frozen
class StoreSettings:
    """Where the fleet's state lives (tmuxorch.core.storeurl): null, the
    home's SQLite file; a postgresql:// URL, a database every host shares."""

    url: str | None = None


@frozen
class TmuxSettings:
    history_limit: int = 50000
    width: int = 200
    height: int = 50


@frozen
class DeliverySettings:
    # How long to wait for typed text to leave the input line after Enter.
    verify_timeout: float = 5.0
    # Extra Enter presses when the text is still sitting in the input box.
    retries: int = 2
    # How long spawn waits for an agent to be ready for its first prompt.
    ready_timeout: float = 90.0
    # Put before a message from another agent so the model knows who spoke.
    header: str = "[message from {sender}] "
    # A message to a stopped Claude agent resumes it in its conversation
    # first; false: the message fails, saying so.
    resume_stopped: bool = True
    # Which messages go through a Claude agent's own inbox (its messaging
    # socket) instead of being typed: peers (other agents' and tmuxorch's
    # notices), all (a person's too), never (and no socket is opened).
    inbox: str = "peers"


@frozen
class SummarySettings:
    """``what --summary``: the small model the claude profile's command runs."""

    model: str = "haiku"
    # Seconds the model may take before the factual view is shown instead.
    timeout: float = 60.0


@frozen
class LockSettings:
    wait: float = 30.0
    lease: float = 1800.0
    scope: str = "file"
    # Directories every host sees alike (a network file system): a lock under
    # one is fleet-wide; any other lock names a path on its host.
    shared_roots: list[str] = field(default_factory=list)


@frozen
class LimitSettings:
    """Per-agent caps (null: none), overridden per agent by spawn flags."""

    max_cost: float | None = None
    max_turns: int | None = None
    max_duration: float | None = None
    on_breach: str = "interrupt"


@frozen
class MonitorLogSettings:
    """HOME/monitor.log: rotated past ``max_bytes``, ``backups`` old files kept."""

    max_bytes: int = 1_000_000
    backups: int = 3


@frozen
class DelegateSettings:
    """The safety net of a ``delegate``/``continue`` call that sets no cap of
    its own (null: none); ``--no-safety`` lifts them."""

    max_cost: float | None = 2.0
    max_turns: int | None = 50
    timeout: float | None = 600.0


@frozen
class HttpSettings:
    """``tmuxorch serve``: the HTTP API."""

    # A --host other than loopback is refused unless this is true: the API
    # drives agents that run commands, so reaching it from the network is a choice.
    allow_remote: bool = False


@frozen
class TelegramSettings:
    """The two-way Telegram bot (``tmuxorch telegram``, and inside ``serve``)."""

    token: str | None = None  # null: no bot
    # Chat ids the bot answers; any other chat is ignored and logged.
    allowed_chats: list[int] = field(default_factory=list)
    api_url: str = "https://api.telegram.org"


@frozen
class NotifySettings:
    """Notifications the daemon sends through Apprise (tmuxorch.daemon.notifier)."""

    urls: list[str] = field(default_factory=list)
    on: list[str] = field(default_factory=lambda: list(NOTICE_KINDS))
    # Seconds between two notices about one agent (later ones are merged).
    min_interval: float = 10.0


# Files no agent writes without ``spawn --allow-protected`` (tmuxorch.locks.protect
# matches them; "!" re-allows what an earlier pattern protected).
DEFAULT_PROTECTED: tuple[str, ...] = (
    ".env",
    ".env.*",
    "!.env.example",
    "!.env.sample",
    "!.env.template",
    ".git/",
    ".git-credentials",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".ssh/",
    ".aws/credentials",
    ".docker/config.json",
    ".kube/config",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "secrets.*",
)


@frozen
class Price:
    """USD per million tokens. Cache prices left out follow Anthropic's ratios
    to the input price: reads 0.1x, writes (5-minute cache) 1.25x."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float | None = None
    cache_creation: float | None = None


@frozen
class Config:
    socket: str = "tmuxorch"
    session: str = "tmuxorch"
    home: str | None = None
    default_agent: str = "claude"
    # Message a parent when a child ends a turn (on_idle) or exits (on_exit).
    notify_parent: str = "on_idle"
    store: StoreSettings = field(default_factory=StoreSettings)
    tmux: TmuxSettings = field(default_factory=TmuxSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    locks: LockSettings = field(default_factory=LockSettings)
    host: HostSettings = field(default_factory=HostSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    summary: SummarySettings = field(default_factory=SummarySettings)
    monitor_log: MonitorLogSettings = field(default_factory=MonitorLogSettings)
    delegate: DelegateSettings = field(default_factory=DelegateSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    protected_paths: list[str] = field(default_factory=lambda: list(DEFAULT_PROTECTED))
    # Profile overrides and additions, validated by tmuxorch.core.profiles.
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Model-name prefix -> price, over the built-in table (tmuxorch.claude.pricing.DEFAULT_PRICING).
    pricing: dict[str, Price] = field(default_factory=dict)
    # Price of models no prefix matches; null: they cost 0 and are reported unpriced.
    pricing_default: Price | None = None


# config.yaml as parsed, kept as JSON in a fleet home while the file's path,
# inode, mtime and size are unchanged: importing pyyaml costs a short command
# (``list --json``) more than its own work.
CONFIG_CACHE = "config-cache.json"


def load_config(path: Path | None = None, cache_in: Path | None = None) -> tuple[Config, Path]:
    """Read and check config.yaml. Only the default file may be missing (all
    defaults then): a file named by ``--config`` or ``TMUXORCH_CONFIG`` must exist.
    ``cache_in``: an existing home that may keep the parsed file (CONFIG_CACHE)."""
    named = path is not None or bool(os.environ.get("TMUXORCH_CONFIG"))
    path = (path or config_path()).expanduser()
    if not path.exists():
        if named:
            raise ConfigError(f"config file {path} does not exist")
        return Config(), path
    config = build(Config, _parsed(path, cache_in))
    _check_meaning(config)
    return config, path


def _parsed(path: Path, cache_in: Path | None) -> Any:
    """The YAML of ``path``, from the cache in ``cache_in`` while it matches the file."""
    cache = None
    if cache_in is not None:
        with contextlib.suppress(TmuxorchError):  # a home not ours or not private keeps none
            check_home(cache_in, create=False)
            cache = cache_in / CONFIG_CACHE
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    stamp = [str(path.absolute()), st.st_ino, st.st_mtime_ns, st.st_size]
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, TmuxorchError):
            data = json.loads(read_text(cache))
            if data["stamp"] == stamp:
                return data["config"]
    from tmuxorch.core.yamlfile import YamlError, load_yaml  # only when the cache is stale

    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    except YamlError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    with contextlib.suppress(TypeError, ValueError, TmuxorchError):  # only a cache
        text = json.dumps({"stamp": stamp, "config": raw})
        if cache is not None and json.loads(text)["config"] == raw:  # JSON keeps it all
            write_file(cache, text.encode())
    return raw


def _check_meaning(config: Config) -> None:
    """What the types cannot say: the header is a template with only {sender},
    the store a URL of a backend tmuxorch has, the session a name tmux keeps,
    every profile starts and reads (tmuxorch.core.profiles checks them) and
    the default one exists."""
    try:
        config.delivery.header.format(sender="a1")
    except (KeyError, IndexError, ValueError):
        header = config.delivery.header
        only = "{sender}"
        raise ConfigError(
            f"config key delivery.header: {header!r} is not a template whose only field is {only}"
        ) from None
    url = config.store.url
    problem = None if url is None else storeurl.problem(url)
    if problem is not None:
        raise ConfigError(f"config key store.url: {problem}")
    tg = config.telegram
    if tg.token is not None and (not tg.token or any(c.isspace() or c == "/" for c in tg.token)):
        raise ConfigError("config key telegram.token: not a bot token (no spaces or '/')")
    if not tg.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"config key telegram.api_url: {tg.api_url!r} is not an http(s) URL")
    session = config.session
    if not session or any(c in ":." or not c.isprintable() for c in session):
        # tmux would rename it (":" and "." separate a target's parts).
        raise ConfigError(f"config key session: {session!r} is not a tmux session name")
    from tmuxorch.core.profiles import profiles  # here: profiles imports this module

    known = profiles(config)
    if config.default_agent not in known:
        names = ", ".join(sorted(known))
        raise ConfigError(
            f"config key default_agent: no profile {config.default_agent!r} ({names})"
        )


@frozen
class Settings:
    """The resolved configuration of one fleet: flags > environment > file > defaults."""

    config: Config
    config_path: Path
    home: Path
    socket: str
    # This machine's name in the fleet (``host.name``; env TMUXORCH_HOST).
    host: str

    @property
    def session(self) -> str:
        return self.config.session

    def cli_options(self) -> list[str]:
        """The global options that give another tmuxorch process these settings
        (``--config`` only for a file that exists: a named file must)."""
        options = ["--home", str(self.home), "--socket", self.socket]
        return options + (["--config", str(self.config_path)] if self.config_path.exists() else [])


def resolve(
    home: str | None = None, socket: str | None = None, config: str | None = None
) -> Settings:
    given = home or os.environ.get("TMUXORCH_HOME")
    # The cache may sit in a home other than the one the file names: it is ours either way.
    cache_in = Path(given).expanduser() if given else default_home()
    cfg, cfg_path = load_config(Path(config) if config else None, cache_in)
    home_str = given or cfg.home
    home_path = Path(home_str).expanduser() if home_str else default_home()
    sock = socket or os.environ.get("TMUXORCH_SOCKET") or cfg.socket
    if not sock or "/" in sock:
        raise ConfigError(f"invalid tmux socket name {sock!r}")
    home_path = home_path.absolute()
    host = host_name(cfg.host.name)
    return Settings(config=cfg, config_path=cfg_path, home=home_path, socket=sock, host=host)
