"""tests/claude_env.py: the e2e tests run against the Claude Code that .ci/run pins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.claude_env import pinned_version, version_problem

PINNED = pinned_version()

# A ``claude`` whose --version prints this, and what require_claude says of it.
VERSIONS = [
    ("pinned", f"{PINNED} (Claude Code)", None),
    ("older", "2.1.197 (Claude Code)", f"Claude Code 2.1.197, but the tests pin {PINNED}"),
    ("silent", "", f"Claude Code an unknown version, but the tests pin {PINNED}"),
]


def _fake_claude(tmp_path: Path, version: str) -> Path:
    path = tmp_path / "claude"
    path.write_text(f"#!/bin/sh\necho '{version}'\n")
    path.chmod(0o755)
    return path


def test_the_pin_is_read_from_ci() -> None:
    assert PINNED is not None and PINNED[0].isdigit()


@pytest.mark.parametrize(
    ("printed", "problem"), [v[1:] for v in VERSIONS], ids=[v[0] for v in VERSIONS]
)
def test_version_problem(tmp_path: Path, printed: str, problem: str | None) -> None:
    found = version_problem(str(_fake_claude(tmp_path, printed)))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "\n" not in found


# TMUXORCH_REQUIRE_CLAUDE, and how a test needing an older Claude ends.
OUTCOMES = [
    ("skipped", "", "1 skipped"),
    ("required", "1", "1 failed"),
]


@pytest.mark.parametrize(
    ("required", "outcome"), [o[1:] for o in OUTCOMES], ids=[o[0] for o in OUTCOMES]
)
def test_an_older_claude_skips_or_fails_with_one_line(
    tmp_path: Path, required: str, outcome: str
) -> None:
    test = tmp_path / "test_needs_claude.py"
    test.write_text(
        "import os\nfrom tests.claude_env import require_claude\n\n"
        "def test_it():\n"
        "    os.environ.pop('TMUXORCH_REQUIRE_CLAUDE', None)  # as the env fixture does\n"
        "    require_claude()\n"
    )
    env = {
        "TMUXORCH_TEST_CLAUDE": str(_fake_claude(tmp_path, "2.1.197 (Claude Code)")),
        "TMUXORCH_REQUIRE_CLAUDE": required,
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(test)],
        cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert outcome in proc.stdout
    assert f"Claude Code 2.1.197, but the tests pin {PINNED}" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_a_ci_job_variable_names_another_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_CODE_VERSION_E2E", "2.1.332")
    assert pinned_version() == "2.1.332"
    monkeypatch.delenv("CLAUDE_CODE_VERSION_E2E")
    assert pinned_version() == PINNED
