"""Which files a shell command writes, as far as its words tell.

The auto-lock hook runs for Bash too: the files a command names as the
targets of a redirection (``>``, ``>>``, ``&>``, ``>|``) or of a writing
program (``tee``, ``cp``, ``mv``, ``rm``, ``sed -i``, ``dd of=``, ...) are
checked against the protected paths and locked like a Write.

This is a reading of the words, not a shell: a script, a variable or
``python -c`` can write anything, so it is a guard rail against the common
ways a model writes a file from Bash, never a sandbox. Targets that are
variables or command substitutions are unknowable and skipped; globs are
expanded in the command's cwd (and kept as written, so ``rm *.pem`` matches
the ``*.pem`` pattern even when nothing matches yet).

Stdlib only: the auto-lock hook imports this.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
# Redirections whose next word is not a file written: input, fd duplication.
_SKIP_NEXT = frozenset({"<", "<<", "<<-", "<<<", ">&", "<&"})
_SEPARATORS = frozenset({";", ";;", "&&", "||", "|", "&", "|&", "(", ")", "\n"})
# Longest first: runs of punctuation come as one token (``2>&1|``).
_OPERATORS = sorted(_REDIRECTS | _SKIP_NEXT | _SEPARATORS, key=len, reverse=True)
_PUNCTUATION = ";&|()<>\n"
# Words that run the next word as the command, and their options that take a value.
_PREFIXES: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "xargs": frozenset({"-I", "-n", "-d", "-P", "-L", "-s", "-a", "-E"}),
    "time": frozenset({"-f", "-o"}),
    "nohup": frozenset(),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset({"-a"}),
}
# A here-document's body is text, not commands: ``cat > f <<EOF ... EOF``.
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1[^\n]*\n")
_UNKNOWABLE = re.compile(r"[$`]")
# Options whose value is the next word, per writing program.
_VALUED: dict[str, frozenset[str]] = {
    "truncate": frozenset({"-s", "-r", "--size", "--reference"}),
    "install": frozenset({"-m", "-o", "-g", "--mode", "--owner", "--group"}),
    "cp": frozenset({"-S", "--suffix"}),
    "mv": frozenset({"-S", "--suffix"}),
    "ln": frozenset({"-S", "--suffix"}),
}
_IN_PLACE = re.compile(r"^(-[A-Za-z]*i|--in-place(=|$))")


def targets(command: str, cwd: str) -> list[str]:
    """The paths ``command`` writes (relative ones to ``cwd``, or to where a
    ``cd`` in the command went), with glob matches, in order."""
    found: list[str] = []
    here = ""  # where the command's own ``cd`` went, relative to cwd
    for words in _commands(_without_heredocs(command)):
        if words[0] == "cd" and len(words) == 2 and not _UNKNOWABLE.search(words[1]):
            here = os.path.join(here, os.path.expanduser(words[1]))
            continue
        for path in _writes(words, os.path.join(cwd, here)):
            if not path or _UNKNOWABLE.search(path) or path.startswith("/dev/"):
                continue
            path = os.path.join(here, path) if here else path
            for each in [path, *_expand(path, cwd)]:
                if each not in found:
                    found.append(each)
    return found


def _without_heredocs(command: str) -> str:
    out, pos = [], 0
    while match := _HEREDOC.search(command, pos):
        out.append(command[pos : match.end()])
        end = re.compile(rf"^\t*{re.escape(match.group(2))}[ \t]*$", re.MULTILINE)
        close = end.search(command, match.end())
        pos = close.end() if close else len(command)
    out.append(command[pos:])
    return "".join(out)


def _commands(command: str) -> list[list[str]]:
    """Simple commands (words and redirection operators), split at ; && | ( ) and newlines."""
    commands: list[list[str]] = [[]]
    try:
        for is_operator, token in _tokens(command):
            for part in _split_operators(token) if is_operator else [token]:
                if part in _SEPARATORS:
                    commands.append([])
                else:
                    commands[-1].append(part)
    except ValueError:  # an unbalanced quote: bash would refuse it too
        return []
    return [c for c in commands if c]


# One regex pass, linear in the command's length (shlex took seconds on a
# megabyte-long quoted argument, and this runs before every Bash call).
_TOKEN = re.compile(
    r"""(?P<space>[^\S\n]+)
      | (?P<op>[;&|()<>\n]+)
      | (?P<single>'[^']*')
      | (?P<double>"(?:\\.|[^"\\])*")
      | (?P<escape>\\.)
      | (?P<plain>[^\s'"\\;&|()<>]+)
      | (?P<bad>.)""",
    re.VERBOSE | re.DOTALL,
)
_DOUBLE_ESCAPES = re.compile(r'\\([$`"\\\n])')


def _tokens(command: str) -> Iterator[tuple[bool, str]]:
    """``(is_operator, text)``: words with their quotes taken off, runs of operators."""
    word: list[str] | None = None
    pos = 0
    while pos < len(command):
        match = _TOKEN.match(command, pos)
        assert match is not None  # ``bad`` matches any one character
        kind, text = match.lastgroup, match.group()
        pos = match.end()
        if kind == "plain" and word is None and text.startswith("#"):
            end = command.find("\n", pos)  # a comment, to the end of the line
            pos = len(command) if end < 0 else end
            continue
        if kind in ("space", "op"):
            if word is not None:
                yield False, "".join(word)
                word = None
            if kind == "op":
                yield True, text
            continue
        if kind == "bad":
            raise ValueError(f"unbalanced {text!r}")
        if kind == "single":
            text = text[1:-1]
        elif kind == "double":
            text = _DOUBLE_ESCAPES.sub(r"\1", text[1:-1])
        elif kind == "escape":
            text = "" if text == "\\\n" else text[1]
        word = word if word is not None else []
        word.append(text)
    if word is not None:
        yield False, "".join(word)


def _split_operators(token: str) -> list[str]:
    if not token or any(c not in _PUNCTUATION for c in token):
        return [token]
    parts, rest = [], token
    while rest:
        op = next((o for o in _OPERATORS if rest.startswith(o)), rest[0])
        parts.append(op)
        rest = rest[len(op) :]
    return parts


def _writes(words: list[str], cwd: str) -> list[str]:
    paths: list[str] = []
    plain: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _REDIRECTS or word in _SKIP_NEXT:
            if word in _REDIRECTS and following and not following.startswith("&"):
                paths.append(following)
            index += 2
            continue
        if word.isdigit() and (following in _REDIRECTS or following in _SKIP_NEXT):
            index += 1  # the fd of ``2>file``
            continue
        plain.append(word)
        index += 1
    return paths + _program_writes(plain, cwd)


def _program_writes(words: list[str], cwd: str) -> list[str]:
    while words and (words[0] in _PREFIXES or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])):
        takes_value = _PREFIXES.get(words[0], frozenset())
        words = words[1:]
        while words and words[0].startswith("-"):  # sudo -u x, env -i
            words = words[2:] if words[0] in takes_value else words[1:]
    if not words:
        return []
    program, args = os.path.basename(words[0]), words[1:]
    operands = _operands(args, _VALUED.get(program, frozenset()))
    if program == "tee":
        return operands
    # Not mkdir, rmdir or touch: they clobber nothing, and a lock on a new
    # directory would hold up every other agent writing below it.
    if program in ("rm", "truncate", "shred", "unlink"):
        return operands
    if program in ("cp", "mv", "install", "ln", "rsync"):
        return _copy_writes(program, args, operands, cwd)
    if program in ("sed", "perl") and any(_IN_PLACE.match(a) for a in args):
        return _sed_files(args)
    if program == "dd":
        return [a[3:] for a in args if a.startswith("of=")]
    return []


def _operands(args: list[str], valued: frozenset[str]) -> list[str]:
    """The non-option words (``-s 0``: ``0`` is the option's value)."""
    found: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in valued:
            skip = True
        elif not arg.startswith("-") or arg == "-":
            found.append(arg)
    return found


def _copy_writes(program: str, args: list[str], operands: list[str], cwd: str) -> list[str]:
    flags = ("-t", "--target-directory")
    into = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in flags), None)
    if into is None:
        into = next((a.split("=", 1)[1] for a in args if a.startswith("--target-directory=")), None)
    sources = [o for o in operands if o != into] if into else operands[:-1]
    destination = into or (operands[-1] if len(operands) > 1 else None)
    if destination is None:
        return []
    found = [destination]
    if into or destination.endswith("/") or os.path.isdir(os.path.join(cwd, destination)):
        # Into a directory: the copies land below it.
        found += [os.path.join(destination, os.path.basename(s.rstrip("/"))) for s in sources]
    if program == "mv":
        found += sources  # moved away: written too
    return found


def _sed_files(args: list[str]) -> list[str]:
    """The files of ``sed -i [-e SCRIPT | SCRIPT] FILE...``."""
    files: list[str] = []
    script_given = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-e", "-f", "--expression", "--file"):
            script_given = True
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        if not script_given:
            script_given = True  # the first operand is the script
        else:
            files.append(arg)
        index += 1
    return files


def _expand(path: str, cwd: str) -> list[str]:
    if not any(char in path for char in "*?["):  # glob.has_magic's test
        return []
    import glob  # here: few commands name a glob, and the hook pays for each import

    full = os.path.join(cwd, os.path.expanduser(path))
    return sorted(glob.glob(full))[:100]
