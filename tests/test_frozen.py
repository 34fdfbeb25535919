"""tmuxorch.core.frozen: records behave as the frozen dataclasses they replace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tmuxorch.core.frozen import asdict, field, frozen, replace


@frozen
class Row:
    name: str
    size: int = 0
    tags: list[str] = field(default_factory=list)


def test_construction_defaults_and_fresh_factories() -> None:
    a, b = Row("a"), Row(name="b", size=2)
    assert (a.name, a.size, a.tags, b.size) == ("a", 0, [], 2)
    assert a.tags is not b.tags
    assert asdict(Row("c", 1, ["x"])) == {"name": "c", "size": 1, "tags": ["x"]}


def test_equality_hash_repr_replace() -> None:
    a = Row("a", 1)
    assert a == Row("a", 1) and a != Row("a", 2) and a != ("a", 1, [])
    assert repr(a) == "Row(name='a', size=1, tags=[])"
    moved = replace(a, size=5)
    assert (moved, a.size) == (Row("a", 5), 1)
    with pytest.raises(TypeError):
        hash(a)  # a list field, as with a frozen dataclass

    @frozen
    class Point:
        x: int
        y: int

    assert hash(Point(1, 2)) == hash(Point(x=1, y=2))


MISUSE: list[tuple[str, Callable[[], Any], type[Exception]]] = [
    ("missing", lambda: Row(), TypeError),
    ("unknown keyword", lambda: Row("a", colour=1), TypeError),
    ("too many", lambda: Row("a", 1, [], 4), TypeError),
    ("twice", lambda: Row("a", name="b"), TypeError),
    ("replace unknown", lambda: replace(Row("a"), colour=1), TypeError),
    ("assign", lambda: setattr(Row("a"), "size", 3), AttributeError),
    ("delete", lambda: delattr(Row("a"), "size"), AttributeError),
]


@pytest.mark.parametrize(("call", "error"), [m[1:] for m in MISUSE], ids=[m[0] for m in MISUSE])
def test_misuse_raises(call: Callable[[], Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        call()
