"""What a Bash command writes, read from its words (tmuxorch.core.shellwrites)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmuxorch.core.shellwrites import targets

# (id, command, the paths it writes)
COMMANDS = [
    ("redirect", "echo hi > .env", [".env"]),
    ("append-and-stderr", "echo hi >>notes.txt 2>/dev/null", ["notes.txt"]),
    ("all-output", "make &>build.log &", ["build.log"]),
    ("clobber", "echo x >| out", ["out"]),
    ("fd-dup-is-not-a-file", "cmd 2>&1 >&2", []),
    ("input-is-not-written", "sort <in.txt >out.txt", ["out.txt"]),
    ("tee-in-a-pipe", "rm -f a 2>&1 | tee -a log.txt", ["a", "log.txt"]),
    ("quoted-operator", "python -c 'print(1>2)'", []),
    ("git-message", "git commit -m 'a > b'", []),
    ("here-string", "cat <<< 'x > y' > z", ["z"]),
    (
        "heredoc-body-is-text",
        "cat > f.py <<'EOF'\nif a > b:\n    pass\nEOF\necho ok > x",
        ["f.py", "x"],
    ),
    ("heredoc-dash", "cat <<-END >g\n\tc > d\n\tEND", ["g"]),
    ("chained", "echo a;echo b>c && echo d||echo e>f", ["c", "f"]),
    ("cp", "cp a b", ["b"]),
    ("cp-into-dir", "cp a b dest/", ["dest/", "dest/a", "dest/b"]),
    ("cp-target-dir", "cp -t dir a b", ["dir", "dir/a", "dir/b"]),
    ("mv-writes-both", "mv .env .env.bak", [".env.bak", ".env"]),
    ("prefixes", "FOO=1 sudo -u me nohup rm -rf build", ["build"]),
    ("env-prefix", "env -i A=1 tee q", ["q"]),
    ("sed-in-place", "sed -i 's/a/b/' x.py y.py", ["x.py", "y.py"]),
    ("sed-expression", "sed -i.bak -e s/a/b/ z.py", ["z.py"]),
    ("sed-to-stdout", "sed 's/a/b/' x.py", []),
    ("perl-in-place", "perl -pi -e 's/a/b/' w.txt", ["w.txt"]),
    ("dd", "dd if=/dev/zero of=disk.img bs=1M", ["disk.img"]),
    ("truncate", "truncate -s 0 t1 && shred -u t2", ["t1", "t2"]),
    ("new-dirs-lock-nothing", "mkdir -p src/new && touch src/new/__init__.py", []),
    ("cd-first", "(cd sub && echo x>y)", ["sub/y"]),
    ("cd-absolute", "cd /etc; echo x > passwd", ["/etc/passwd"]),
    ("variables-are-unknowable", "echo $HOME > $OUT; echo x > `f`", []),
    ("unbalanced-quote", "echo 'oops > x", []),
    ("reads-only", "cat .env | grep TOKEN && ls -la", []),
    ("comment", "echo hi # > not-a-file\necho x > real", ["real"]),
    ("hash-inside-a-word", "echo a#b > c#d", ["c#d"]),
    (
        "quotes-and-escapes",
        'echo x > \'my file\' > "q\\"uote" > sp\\ ace',
        ["my file", 'q"uote', "sp ace"],
    ),
    ("line-continuation", "echo x \\\n  > cont", ["cont"]),
    ("megabyte-argument", "python -c '" + "a" * 1_000_000 + "' > out", ["out"]),
]


@pytest.mark.parametrize(
    ("command", "expected"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS]
)
def test_targets(tmp_path: Path, command: str, expected: list[str]) -> None:
    assert targets(command, str(tmp_path)) == expected


def test_globs_are_kept_and_expanded(tmp_path: Path) -> None:
    (tmp_path / "a.pem").write_text("k")
    (tmp_path / "b.pem").write_text("k")
    assert targets("rm *.pem", str(tmp_path)) == [
        "*.pem",
        str(tmp_path / "a.pem"),
        str(tmp_path / "b.pem"),
    ]


def test_mv_into_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    assert targets("mv id_rsa keys", str(tmp_path)) == ["keys", "keys/id_rsa", "id_rsa"]
