"""``tmuxorch --help`` (``-h``, or no arguments) without click: importing
click alone costs more than this whole path's budget. The text is the one
click renders for the group (the same table, laid out by click's rules:
``tests/test_quick.py`` holds them equal at each width)."""

from __future__ import annotations

import shutil
import sys
from textwrap import TextWrapper

from tmuxorch.surfaces.commandtable import GROUP_HELP, HIDDEN_ALIASES, OPTIONS, PROG, SUMMARIES

# click's HelpFormatter: the terminal's width up to 80, less 2, at least 50.
MAX_WIDTH, MIN_WIDTH = 80, 50
INDENT, COL_MAX, COL_SPACING = 2, 30, 2


def render() -> str:
    width = max(min(shutil.get_terminal_size().columns, MAX_WIDTH) - 2, MIN_WIDTH)
    options = [(_flags(flags, metavar), text) for flags, metavar, text in OPTIONS.values()]
    commands = [(name, SUMMARIES[name]) for name in sorted(SUMMARIES) if name not in HIDDEN_ALIASES]
    pad = " " * INDENT
    parts = [
        f"Usage: {PROG} [OPTIONS] COMMAND [ARGS]...\n",
        "\n",
        _wrap(GROUP_HELP, width, pad, pad),
        "\n\nOptions:\n",
        *_definitions(options, width),
        "\nCommands:\n",
        *_definitions(commands, width),
    ]
    return "".join(parts)


def main(args: list[str]) -> int:
    """As click: asked for, the help goes to stdout (status 0); with no
    command at all, to stderr (status 2)."""
    out = sys.stdout if args else sys.stderr
    out.write(render())
    out.flush()
    return 0 if args else 2


def _flags(flags: tuple[str, ...], metavar: str | None) -> str:
    shown = ", ".join(flags)
    return f"{shown} {metavar}" if metavar else shown


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    wrapper = TextWrapper(
        width, initial_indent=first, subsequent_indent=rest, replace_whitespace=False
    )
    return wrapper.fill(text.expandtabs())


def _definitions(rows: list[tuple[str, str]], width: int) -> list[str]:
    """click's ``HelpFormatter.write_dl`` at one indent."""
    first_col = min(max(len(term) for term, _ in rows), COL_MAX) + COL_SPACING
    text_width = max(width - first_col - 2, 10)
    indent = " " * (INDENT + first_col)
    out = []
    for term, text in rows:
        out.append(f"{' ' * INDENT}{term}")
        if len(term) <= first_col - COL_SPACING:
            out.append(" " * (first_col - len(term)))
        else:
            out.append(f"\n{indent}")
        first, *rest = _wrap(text, text_width, "", "").splitlines()
        out.append(f"{first}\n")
        out.extend(f"{indent}{line}\n" for line in rest)
    return out
