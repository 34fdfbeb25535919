"""config.yaml: every key has a default, unknown keys and wrong types name the key.

The schema is the frozen records below (tmuxorch.core.frozen: a dataclass
costs a command's start-up about 1 ms, 5 for 30 fields); ``build`` walks them,
so adding a key is adding a field. pyyaml is imported only when a file is actually read (and
not cached in the home, CONFIG_CACHE), which keeps the hook entry points (they
find the fleet through ``TMUXORCH_HOME``) free of it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from tmuxorch.core import storeurl
from tmuxorch.core.errors import ConfigError, TmuxorchError
from tmuxorch.core.frozen import field, fields, frozen
from tmuxorch.core.hostname import HostSettings, host_name
from tmuxorch.core.paths import config_path, default_home
from tmuxorch.core.private import check_home, read_text, write_file

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
    protected_paths: list[str] = field(default_factory=lambda: list(DEFAULT_PROTECTED))
    # Profile overrides and additions, validated by tmuxorch.core.profiles.
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Model-name prefix -> price, over the built-in table (tmuxorch.claude.pricing.DEFAULT_PRICING).
    pricing: dict[str, Price] = field(default_factory=dict)
    # Price of models no prefix matches; null: they cost 0 and are reported unpriced.
    pricing_default: Price | None = None


_CHOICES: dict[str, tuple[str, ...]] = {
    "locks.scope": ("file", "workspace"),
    "limits.on_breach": ("interrupt", "kill"),
    "notify_parent": ("on_idle", "on_exit", "never"),
}


# Every number in config.yaml is finite and in [0, 2**31 - 1] (tmux's and
# SQLite's ints, and no negative duration, count or price) unless listed here.
_INT_MAX = 2**31 - 1
_RANGES: dict[str, tuple[float, float]] = {
    "tmux.width": (1, 10000),  # tmux's own bounds on a window's size
    "tmux.height": (1, 10000),
    "locks.lease": (1, _INT_MAX),  # a lease shorter than a second ends before the write
    "summary.timeout": (1, 3600),
    "monitor_log.max_bytes": (1, _INT_MAX),  # 0 would never rotate
    "host.heartbeat": (0.1, 3600),
    "host.lost_after": (1, _INT_MAX),
}


def _check_number(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"config key {where}: must be a finite number, got {value!r}")
    low, high = _RANGES.get(where, (0, _INT_MAX))
    if value < low or value > high:
        bound = f"at least {low}" if value < low else f"at most {high}"
        raise ConfigError(f"config key {where}: must be {bound}, got {value!r}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if isinstance(tp, type) and fields(tp) is not None:
        return build(tp, value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key {where}: expected a list, got {type(value).__name__}")
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key {where}: expected a mapping, got {type(value).__name__}")
        return {
            _coerce(k, key_tp, where): _coerce(v, val_tp, f"{where}.{k}") for k, v in value.items()
        }
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key {where}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}"
        )
    if tp in (int, float):
        _check_number(value, where)
    choices = _CHOICES.get(where)
    if choices and value not in choices:
        raise ConfigError(f"config key {where}: must be one of {', '.join(choices)}, got {value!r}")
    return value


def _hint(cls: type, key: str) -> Any:
    """The type of field ``key`` of record ``cls``: its annotation evaluated
    in the class's module. typing.get_type_hints evaluates every field's, in
    all about 2 ms of each command's start-up; a config sets a few keys."""
    hint = vars(cls)["__annotations__"][key]
    return eval(hint, vars(sys.modules[cls.__module__])) if isinstance(hint, str) else hint


def build(cls: type[T], data: Any, where: str = "") -> T:
    """Build record ``cls`` from a mapping, naming the dotted key on any error."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        label = where or "(top level)"
        raise ConfigError(f"config key {label}: expected a mapping, got {type(data).__name__}")
    known = set(fields(cls) or ())
    for key in data:
        if key not in known:
            dotted = f"{where}.{key}" if where else str(key)
            raise ConfigError(f"unknown config key {dotted}")
    values = {
        key: _coerce(value, _hint(cls, key), f"{where}.{key}" if where else key)
        for key, value in data.items()
    }
    return cls(**values)


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
