"""Protected paths: files no agent writes unless it was spawned allowed to.

The auto-lock hook asks :func:`protected` before it takes a lock, so this
module stays on the hook's import path (stdlib and tmuxorch.locks.keys; no yaml,
no config: the patterns come from the hook's JSON settings cache).

Patterns are globs in the manner of .gitignore, tried against the path's
components (``*`` never crosses ``/``):

- no ``/`` (``.env``, ``*.pem``): the file name, at any depth;
- ``a/b`` (``.aws/credentials``): the trailing components;
- a leading ``/`` (``/config/prod.yaml``): anchored at the workspace;
- a trailing ``/`` (``.git/``): that directory and everything below it;
- ``!`` first: re-allow what an earlier pattern protected (the last match wins).

A path is tried as written and with its symlinks followed, each relative to
the workspace (the git top level above the session's cwd, else the cwd) or,
outside it, as an absolute path, so ``link/config`` with ``link -> .git`` and
``/home/me/.ssh/config`` are both caught.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from tmuxorch.core.frozen import frozen
from tmuxorch.locks.keys import workspace_of

# (components, relative to the workspace?)
_Candidate = tuple[tuple[str, ...], bool]


@frozen
class Rule:
    pattern: str
    parts: tuple[str, ...]
    negated: bool = False
    anchored: bool = False
    directory: bool = False

    @classmethod
    def of(cls, pattern: str) -> Rule | None:
        body = pattern.strip()
        negated = body.startswith("!")
        body = body.removeprefix("!")
        anchored, directory = body.startswith("/"), body.endswith("/")
        parts = tuple(p for p in body.split("/") if p and p != ".")
        if not parts:
            return None
        return cls(pattern.strip(), parts, negated, anchored, directory)

    def matches(self, parts: tuple[str, ...], relative: bool) -> bool:
        size = len(self.parts)
        if size > len(parts) or (self.anchored and not relative):
            return False
        if self.anchored:
            starts: Iterable[int] = (0,)
        elif self.directory:
            starts = range(len(parts) - size + 1)
        else:
            starts = (len(parts) - size,)
        for start in starts:
            if not (self.directory or start + size == len(parts)):
                continue  # a file pattern names the whole path's tail
            window = parts[start : start + size]
            if all(glob_match(name, glob) for name, glob in zip(window, self.parts, strict=True)):
                return True
        return False


def glob_match(name: str, glob: str) -> bool:
    """``fnmatchcase(name, glob)``, without compiling a regular expression for
    the globs most patterns are (``.env``, ``*.pem``, ``id_rsa*``): each
    compile costs the hook about 0.1 ms, and it runs before every write."""
    star = glob.find("*")
    if "?" in glob or "[" in glob or glob.find("*", star + 1) != -1:
        from fnmatch import fnmatchcase

        return fnmatchcase(name, glob)
    if star == -1:
        return name == glob
    head, tail = glob[:star], glob[star + 1 :]
    return len(name) >= len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


def rules(patterns: Iterable[str]) -> list[Rule]:
    return [rule for rule in map(Rule.of, patterns) if rule is not None]


def candidates(file_path: str, cwd: str) -> list[_Candidate]:
    """The path's components as written and with symlinks followed, each
    relative to its workspace when inside it."""
    cwd = os.path.normpath(os.path.abspath(cwd))
    lexical = os.path.normpath(os.path.join(cwd, file_path))
    root = workspace_of(cwd)
    found = [_split(lexical, root)]
    real = os.path.realpath(lexical)
    if real != lexical:
        found.append(_split(real, os.path.realpath(root)))
    return found


def _split(path: str, root: str) -> _Candidate:
    if path == root or path.startswith(root.rstrip("/") + "/"):
        return tuple(os.path.relpath(path, root).split("/")), True
    return tuple(p for p in path.split("/") if p), False


def verdict(found: list[_Candidate], patterns: Iterable[Rule]) -> str | None:
    """The pattern that has the last say on any candidate (None: unmatched or re-allowed)."""
    last: str | None = None
    for rule in patterns:
        if any(rule.matches(parts, relative) for parts, relative in found):
            last = None if rule.negated else rule.pattern
    return last


def protected(
    file_path: str, cwd: str, patterns: Iterable[str], allow: Iterable[str] = ()
) -> str | None:
    """The pattern that protects ``file_path`` (relative paths are from ``cwd``),
    or None when nothing does or an ``allow`` pattern lets it through."""
    found = candidates(file_path, cwd)
    pattern = verdict(found, rules(patterns))
    if pattern is None or verdict(found, rules(allow)) is not None:
        return None
    return pattern


def reason(file_path: str, pattern: str) -> str:
    """The deny reason the model reads."""
    return (
        f"{file_path} is a protected path (pattern {pattern!r} in tmuxorch's protected_paths): "
        "writing it is refused. Do not try to write it another way; leave the change to a "
        f"person, or say it needs an agent spawned with --allow-protected '{pattern}'."
    )
