from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tmuxorch.core import config, profiles
from tmuxorch.core.config import CONFIG_CACHE, Config, load_config, resolve
from tmuxorch.core.configbuild import _hint
from tmuxorch.core.errors import ConfigError, ProfileError
from tmuxorch.core.frozen import fields

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
    ("store-scheme", "store:\n  url: mysql://u@h/db\n", "store.url: 'mysql://u@h/db' is not a"),
    ("store-empty", "store:\n  url: 'postgresql://'\n", "store.url: 'postgresql://' is not a"),
    ("store-type", "store:\n  url: 5432\n", "config key store.url: expected str"),
    ("notify-key", "notify:\n  url: x\n", "unknown config key notify.url"),
    ("notify-urls", "notify:\n  urls: json://h/p\n", "config key notify.urls: expected a list"),
    ("notify-on", "notify:\n  on: [waiting, idle]\n", "config key notify.on[1]: must be one of"),
    ("notify-interval", "notify:\n  min_interval: -1\n", "notify.min_interval: must be at least"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises((ConfigError, ProfileError)) as info:
        cfg, _ = load_config(path)
        profiles.profiles(cfg)
    assert message in str(info.value)


def test_notify_on_is_a_word_not_yaml_s_boolean(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("notify:\n  urls: [json://127.0.0.1:9/x]\n  on: [done]\n  min_interval: 2\n")
    cfg, _ = load_config(path)
    assert (cfg.notify.urls, cfg.notify.on, cfg.notify.min_interval) == (
        ["json://127.0.0.1:9/x"], ["done"], 2.0,
    )  # fmt: skip


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


# (id, host.name in config, TMUXORCH_HOST, the name, or the start of the one-line error)
HOSTS = [
    ("config", "b1", None, "b1"),
    ("env over config", "b1", "b2", "b2"),
    ("bad in config", "b 1", None, "config key host.name: 'b 1' is not a host name"),
    ("bad in env", None, "-b", "TMUXORCH_HOST: '-b' is not a host name"),
    ("too long", "b" * 65, None, "config key host.name: 'bbb"),
]


@pytest.mark.parametrize(
    ("configured", "environ", "expected"), [h[1:] for h in HOSTS], ids=[h[0] for h in HOSTS]
)
def test_the_host_name_comes_from_env_then_config_and_follows_the_name_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    configured: str | None,
    environ: str | None,
    expected: str,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"host": {"name": configured}}))
    monkeypatch.delenv("TMUXORCH_HOST", raising=False)
    if environ is not None:
        monkeypatch.setenv("TMUXORCH_HOST", environ)
    if " " not in expected:
        assert resolve(str(tmp_path), None, str(path)).host == expected
        return
    with pytest.raises(ConfigError) as info:
        resolve(str(tmp_path), None, str(path))
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)


def test_the_host_name_defaults_to_the_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMUXORCH_HOST", raising=False)
    assert resolve(None, None, None).host == socket.gethostname().split(".")[0]


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


# -- config.yaml parsed once: the JSON cache in the home ---------------------------


def _use(path: Path, wait: str) -> None:
    path.write_text(f"locks:\n  wait: {wait}\n")


def _same_size_later(path: Path) -> None:
    before = path.stat().st_mtime_ns
    _use(path, "2.5")
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a second later, whatever the clock


def _replaced(path: Path) -> None:
    new = path.with_name("new.yaml")
    _use(new, "2.5")
    os.utime(new, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    os.replace(new, path)  # same size and times, another file


def _grown(path: Path) -> None:
    _use(path, "2.50")


# (id, how config.yaml changes after a command read it)
CHANGES = [("grown", _grown), ("same size, later", _same_size_later), ("replaced", _replaced)]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_config_cache_follows_the_file(tmp_path: Path, change: Callable[[Path], None]) -> None:
    home, path = tmp_path / "home", tmp_path / "config.yaml"
    home.mkdir(mode=0o700)
    _use(path, "1.5")
    assert resolve(str(home), None, str(path)).config.locks.wait == 1.5
    assert (home / CONFIG_CACHE).exists()
    change(path)
    assert resolve(str(home), None, str(path)).config.locks.wait == 2.5


def _garbled(cache: Path, home: Path) -> None:
    cache.write_text("{not json")


def _linked(cache: Path, home: Path) -> None:
    elsewhere = home.parent / "planted.json"
    data = json.loads(cache.read_text())
    data["config"] = {"locks": {"wait": 9.0}}
    elsewhere.write_text(json.dumps(data))
    cache.unlink()
    cache.symlink_to(elsewhere)


# (id, what becomes of the cache)
BAD_CACHES = [("garbled", _garbled), ("a link", _linked)]


@pytest.mark.parametrize("spoil", [c[1] for c in BAD_CACHES], ids=[c[0] for c in BAD_CACHES])
def test_a_cache_that_is_not_ours_or_not_json_is_read_past(
    tmp_path: Path, spoil: Callable[[Path, Path], None]
) -> None:
    home, path = tmp_path / "home", tmp_path / "config.yaml"
    home.mkdir(mode=0o700)
    _use(path, "1.5")
    resolve(str(home), None, str(path))
    spoil(home / CONFIG_CACHE, home)
    assert resolve(str(home), None, str(path)).config.locks.wait == 1.5


# (id, an invalid config.yaml, its message): JSON holds the first, not the second.
INVALID = [
    ("unknown key", "colour: red\n", "unknown config key colour"),
    ("a date", "agents:\n  shell:\n    env:\n      WHEN: 2024-01-01\n", "expected str, got date"),
]


@pytest.mark.parametrize(("text", "message"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID])
def test_an_invalid_config_fails_each_time(tmp_path: Path, text: str, message: str) -> None:
    home, path = tmp_path / "home", tmp_path / "config.yaml"
    home.mkdir(mode=0o700)
    path.write_text(text)
    for _ in range(2):
        with pytest.raises(ConfigError, match=message):
            resolve(str(home), None, str(path))


def test_a_command_with_a_cached_config_imports_no_yaml(tmp_path: Path) -> None:
    home, path = tmp_path / "home", tmp_path / "config.yaml"
    home.mkdir(mode=0o700)
    _use(path, "1.5")
    probe = (
        "import sys\n"
        "from tmuxorch.core.config import resolve\n"
        f"assert resolve({str(home)!r}, None, {str(path)!r}).config.locks.wait == 1.5\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'yaml')[:1])\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["['yaml']", "[]"]
    assert (home / CONFIG_CACHE).stat().st_mode & 0o777 == 0o600


# Every record a config is built into: build evaluates one field's annotation
# at a time, as typing.get_type_hints would all of them at once.
RECORDS = sorted(
    (cls for module in (config, profiles) for cls in vars(module).values()
     if isinstance(cls, type) and fields(cls) is not None and cls.__module__ == module.__name__),
    key=lambda cls: cls.__qualname__,
)  # fmt: skip


@pytest.mark.parametrize("record", RECORDS, ids=[cls.__qualname__ for cls in RECORDS])
def test_field_types_are_get_type_hints(record: type) -> None:
    hints = typing.get_type_hints(record)
    assert {key: _hint(record, key) for key in fields(record) or ()} == hints
