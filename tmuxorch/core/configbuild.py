"""config.yaml's values checked and built into its records: a wrong type, an
unknown key, a number out of range or a word not among a key's choices is a
ConfigError naming the dotted key (tmuxorch.core.config holds the records)."""

from __future__ import annotations

import math
import sys
import types
import typing
from typing import Any, TypeVar, Union

from tmuxorch.core.errors import ConfigError
from tmuxorch.core.frozen import fields
from tmuxorch.core.vocab import NOTICE_KINDS

T = TypeVar("T")

_CHOICES: dict[str, tuple[str, ...]] = {
    "locks.scope": ("file", "workspace"),
    "limits.on_breach": ("interrupt", "kill"),
    "notify_parent": ("on_idle", "on_exit", "never"),
    "notify.on[]": NOTICE_KINDS,
    "delivery.inbox": ("peers", "all", "never"),
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
    "telegram.allowed_chats": (-(2**53), 2**53),  # Telegram's ids: groups' are negative
    "host.heartbeat": (0.1, 3600),
    "host.lost_after": (1, _INT_MAX),
}


def _check_number(value: float, where: str) -> None:
    if not math.isfinite(value):
        raise ConfigError(f"config key {where}: must be a finite number, got {value!r}")
    low, high = _RANGES.get(where.partition("[")[0], (0, _INT_MAX))
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
    # A list's items share its entry: "notify.on[2]" is "notify.on[]".
    choices = _CHOICES.get(where.rpartition("[")[0] + "[]" if where.endswith("]") else where)
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
