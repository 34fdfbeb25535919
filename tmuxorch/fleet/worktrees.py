"""Git worktrees for agents: each its own checkout and branch, so parallel
agents never share a working tree."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tmuxorch.core import private
from tmuxorch.core.errors import AgentError


@dataclass(frozen=True)
class Worktree:
    path: str
    branch: str
    repo: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "branch": self.branch, "repo": self.repo}


def _git(*args: str, cwd: str | Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise AgentError("--worktree needs git, which is not installed") from None


def is_branch_name(text: str) -> bool:
    return _git("check-ref-format", "--branch", text, cwd="/").returncode == 0


def top_level(path: Path) -> Path:
    proc = _git("rev-parse", "--show-toplevel", cwd=path)
    if proc.returncode != 0:
        raise AgentError(f"--worktree needs a git repository, and {path} is not in one")
    return Path(proc.stdout.strip())


def create(cwd: Path, where: Path, branch: str | None, name: str) -> tuple[Worktree, Path]:
    """Add a worktree at ``where`` on ``branch`` (new ``tmuxorch/NAME`` by default);
    returns it and the agent's cwd inside it (same place relative to the top)."""
    top = top_level(cwd)
    branch = branch or f"tmuxorch/{name}"
    exists = _git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=top)
    private.private_dir(where.parent)  # in the home: ours, 0700, never a link
    if exists.returncode == 0:
        proc = _git("worktree", "add", str(where), branch, cwd=top)
    else:
        proc = _git("worktree", "add", "-b", branch, str(where), cwd=top)
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
        raise AgentError(f"git worktree add {branch}: {message}")
    return Worktree(path=str(where), branch=branch, repo=str(top)), where / cwd.relative_to(top)


def remove(tree: Worktree) -> str:
    """Remove the worktree when it is clean; say what happened either way."""
    path = Path(tree.path)
    if not path.exists():
        _git("worktree", "prune", cwd=tree.repo)
        return f"worktree {tree.path} was already gone"
    status = _git("status", "--porcelain", cwd=path)
    if status.returncode == 0 and status.stdout.strip():
        return f"worktree {tree.path} kept: it has uncommitted changes (branch {tree.branch})"
    proc = _git("worktree", "remove", str(path), cwd=tree.repo)
    if proc.returncode != 0:
        return f"worktree {tree.path} kept: {proc.stderr.strip() or 'git worktree remove failed'}"
    return f"worktree {tree.path} removed (branch {tree.branch} kept)"
