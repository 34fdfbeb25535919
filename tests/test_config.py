from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tmuxorch.core import profiles
from tmuxorch.core.config import Config, load_config, resolve
from tmuxorch.core.errors import ConfigError, ProfileError

ROOT = Path(__file__).parent.parent

BAD = [
    ("unknown-top", "colour: red\n", "unknown config key colour"),
    ("unknown-nested", "locks:\n  wiat: 3\n", "unknown config key locks.wiat"),
    ("wrong-type", "locks:\n  wait: soon\n", "config key locks.wait: expected float"),
    ("bool-not-int", "tmux:\n  width: true\n", "config key tmux.width: expected int"),
    ("choice", "locks:\n  scope: galaxy\n", "config key locks.scope: must be one of"),
    ("not-mapping", "- a\n- b\n", "config key (top level): expected a mapping"),
    ("bad-yaml", "a: [1,\n", "is not valid YAML"),
    ("profile-type", "agents:\n  shell:\n    args: ls\n", "config key agents.shell.args"),
    ("profile-key", "agents:\n  shell:\n    comand: x\n", "unknown config key agents.shell.comand"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises((ConfigError, ProfileError)) as info:
        cfg, _ = load_config(path)
        profiles.profiles(cfg)
    assert message in str(info.value)


def test_missing_default_file_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMUXORCH_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    cfg, path = load_config()
    assert cfg == Config() and path == tmp_path / "tmuxorch" / "config.yaml"


def test_example_documents_every_key() -> None:
    """config.yaml.example loads, and every key of the schema appears in it."""
    text = (ROOT / "config.yaml.example").read_text()
    example = yaml.safe_load(text)
    cfg, _ = load_config(ROOT / "config.yaml.example")
    profiles.profiles(cfg)
    defaults = Config()
    for section in ("tmux", "delivery", "locks"):
        assert set(example[section]) == set(vars(getattr(defaults, section))), section
    top = {k for k in vars(defaults)}
    assert top <= set(example), top - set(example)


PRECEDENCE = [
    ("flag-wins", {"home": "/flag"}, {"TMUXORCH_HOME": "/env"}, "/flag"),
    ("env-over-file", {}, {"TMUXORCH_HOME": "/env"}, "/env"),
    ("file", {}, {}, "/file"),
]


@pytest.mark.parametrize(
    ("flags", "environ", "expected"), [p[1:] for p in PRECEDENCE], ids=[p[0] for p in PRECEDENCE]
)
def test_home_precedence(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: dict[str, str],
    environ: dict[str, str],
    expected: str,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("home: /file\nsocket: filesock\n")
    monkeypatch.delenv("TMUXORCH_HOME", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    settings = resolve(flags.get("home"), None, str(path))
    assert settings.home == Path(expected)
    assert settings.socket == "filesock"


OVERRIDES = [
    ("command-only keeps the rest", {"claude": {"command": "my-claude"}}, "claude",
     {"command": "my-claude", "hooks": True, "clear_command": "/clear"}),
    ("new profile", {"mine": {"command": "ed", "ready": ["^:"]}}, "mine",
     {"command": "ed", "ready": ["^:"], "hooks": False}),
    ("extends", {"fast": {"extends": "claude", "args": ["--model", "haiku"]}}, "fast",
     {"command": "claude", "args": ["--model", "haiku"], "hooks": True}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("agents", "name", "expected"), [o[1:] for o in OVERRIDES], ids=[o[0] for o in OVERRIDES]
)
def test_profile_overrides(
    agents: dict[str, object], name: str, expected: dict[str, object]
) -> None:
    profile = profiles.get(Config(agents=agents), name)  # type: ignore[arg-type]
    for key, value in expected.items():
        assert getattr(profile, key) == value


def test_new_profile_needs_command() -> None:
    with pytest.raises(ProfileError, match=r"agents\.mine\.command"):
        profiles.get(Config(agents={"mine": {"args": ["x"]}}), "mine")
