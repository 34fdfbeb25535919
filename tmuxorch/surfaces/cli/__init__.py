"""The click group. Subcommands are imported only when invoked (LazyGroup),
so ``tmuxorch --help`` and quick commands start fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from tmuxorch import __version__
from tmuxorch.surfaces.cli import completion
from tmuxorch.surfaces.cli.common import Obj
from tmuxorch.surfaces.commandtable import (
    COMMANDS,
    GROUP_HELP,
    HIDDEN_ALIASES,
    OPTIONS,
    SUMMARIES,
)


class LazyGroup(click.Group):
    """A group whose commands live in modules loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) - HIDDEN_ALIASES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"tmuxorch.surfaces.cli.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        return completion.completing(command, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in COMMANDS and name[0] != "-" and not ctx.resilient_parsing:
            raise completion.unknown_command(name, COMMANDS)
        return super().resolve_command(ctx, args)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = OPTIONS["--help"][2]  # the text `entry` prints without click
        return option

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": list(OPTIONS["--help"][0])}


F = TypeVar("F", bound=Callable[..., Any])


def _option(long: str, **attrs: Any) -> Callable[[F], F]:
    """A global option from the table, as the fast --help shows it."""
    flags, metavar, text = OPTIONS[long]
    return click.option(*flags, metavar=metavar, help=text, **attrs)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS, help=GROUP_HELP)
@click.version_option(__version__, prog_name="tmuxorch", help=OPTIONS["--version"][2])
@_option("--home")
@_option("--socket")
@_option("--config")
@_option("--verbose", count=True)
@click.pass_context
def cli(
    ctx: click.Context, home: str | None, socket: str | None, config: str | None, verbose: int
) -> None:
    ctx.obj = Obj(home=home, socket=socket, config=config)
    if verbose:
        _log_to_stderr(verbose)


def _log_to_stderr(verbose: int) -> None:
    """Without -v, Python's last-resort handler shows warnings and above."""
    import logging  # here: a quick command without -v does not pay for it

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("tmuxorch %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tmuxorch")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
