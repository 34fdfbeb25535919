"""Frozen record classes that cost next to nothing to define.

Claude starts a Python for each of its hooks, and the records are on that
path. ``dataclasses`` imports inspect (with ast, dis and tokenize) and
compiles several methods for each class: on a 10 ms interpreter start-up,
about 7 ms, plus 0.5 ms a class. ``@frozen`` gives what the records use of a
frozen dataclass (positional or keyword construction, defaults and
``field(default_factory=...)``, read-only attributes, ``==``, ``hash``,
``repr``, :func:`replace`, :func:`asdict`) from closures, compiling nothing;
type checkers see a frozen dataclass (PEP 681).
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing: this is the hooks' import path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_: object):
        return lambda decorated: decorated


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made afresh for each record, as ``dataclasses.field``'s."""
    return _Factory(default_factory)  # type: ignore[return-value]


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[T]) -> type[T]:
    """Make ``cls`` a frozen record of its annotated fields, in order."""
    names: tuple[str, ...] = tuple(vars(cls).get("__annotations__", {}))
    known = frozenset(names)
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    title = cls.__name__

    count = len(names)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        # Records are made by the thousand (50 agents' views: 200 of them),
        # so the common case, all fields given, checks by counting.
        given = len(args)
        if given > count:
            raise TypeError(f"{title}() takes {count} arguments but {given} were given")
        values = self.__dict__
        values.update(zip(names, args, strict=False))
        if kwargs:
            for key in kwargs:
                if key not in known:
                    raise TypeError(f"{title}() got an unexpected keyword argument {key!r}")
                if key in values:
                    raise TypeError(f"{title}() got multiple values for argument {key!r}")
            values.update(kwargs)
        if len(values) < count:
            for name in names[given:]:
                if name not in values:
                    if name not in defaults:
                        raise TypeError(f"{title}() missing required argument {name!r}")
                    default = defaults[name]
                    values[name] = default.make() if isinstance(default, _Factory) else default

    def __setattr__(self: Any, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of a frozen {title}")

    def __delattr__(self: Any, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r} of a frozen {title}")

    def _values(self: Any) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in names)

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(_values(self) == _values(other))

    def __hash__(self: Any) -> int:
        return hash(_values(self))

    def __repr__(self: Any) -> str:
        return f"{title}({', '.join(f'{n}={self.__dict__[n]!r}' for n in names)})"

    for name, default in defaults.items():
        if isinstance(default, _Factory):
            delattr(cls, name)  # a factory is no class-level default
    methods = (__init__, __setattr__, __delattr__, __eq__, __hash__, __repr__)
    for method in methods:
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    cls.__record_fields__ = names  # type: ignore[attr-defined]
    return cls


def fields(cls: type) -> tuple[str, ...] | None:
    """The field names of a record class, in order; None for any other class."""
    return getattr(cls, "__record_fields__", None)


def asdict(record: Any) -> dict[str, Any]:
    """The record's fields as a dict, in order (shallow, unlike ``dataclasses.asdict``)."""
    return {name: record.__dict__[name] for name in type(record).__record_fields__}


def replace(record: T, **changes: Any) -> T:
    """A copy of ``record`` with ``changes``, as ``dataclasses.replace``."""
    return type(record)(**{**asdict(record), **changes})
