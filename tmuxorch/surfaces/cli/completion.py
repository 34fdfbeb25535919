"""Shell completion (``tmuxorch completion bash|zsh|fish``) and "did you mean"
on a mistyped command.

Click's completion protocol drives it: the script a shell sources runs
``tmuxorch`` with ``_TMUXORCH_COMPLETE`` set. Commands complete from the
group's table; agent names from the fleet's store and profile names from
config, found with the line's own ``--home``/``--socket``/``--config``. The
command modules do not declare any of it: :func:`completing` gives each
loaded command's parameters their completion by the parameter's name, so new
commands taking NAME complete too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import click
from click.shell_completion import CompletionItem, get_completion_class

from tmuxorch.core.errors import TmuxorchError
from tmuxorch.surfaces.cli.common import CliUsage, Obj
from tmuxorch.surfaces.commandtable import COMPLETE_VAR, PROG

SHELLS = ("bash", "zsh", "fish")

# Parameters that take an existing agent's name, or a profile's, by name.
AGENT_PARAMS = frozenset({"name", "names", "old", "parent", "agent"})
PROFILE_PARAMS = frozenset({"profile"})
# Commands whose NAME is a new agent's: no existing name fits there.
NEW_NAME_COMMANDS = frozenset({"spawn", "delegate"})

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _settings(ctx: click.Context) -> Obj:
    # Completion parses without running the group's callback: its options are
    # in the root context's params, not yet in an Obj.
    params = ctx.find_root().params
    return Obj(home=params.get("home"), socket=params.get("socket"), config=params.get("config"))


def _items(names: Iterable[str], incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]


def agent_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from tmuxorch.store.opening import open_store

    try:
        settings = _settings(ctx).settings()
        with open_store(settings.home, create=False, url=settings.config.store.url) as store:
            names = [a.name for a in store.list_agents()]
    except (TmuxorchError, OSError):
        return []  # a broken config, home or store: no candidates, never an error in the shell
    return _items(names, incomplete)


def profile_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from tmuxorch.core.profiles import profiles

    try:
        names = profiles(_settings(ctx).settings().config)
    except (TmuxorchError, OSError):
        return []
    return _items(names, incomplete)


def completing(command: click.Command, name: str) -> click.Command:
    """``command`` (registered as ``name``) with its agent and profile
    parameters completing from the fleet."""
    for param in command.params:
        completer: Completer | None = None
        if param.name in PROFILE_PARAMS:
            completer = profile_names
        elif param.name in AGENT_PARAMS and not (
            name in NEW_NAME_COMMANDS and isinstance(param, click.Argument)
        ):
            completer = agent_names
        if completer is not None and param._custom_shell_complete is None:
            param._custom_shell_complete = completer
    return command


def unknown_command(name: str, known: Iterable[str]) -> CliUsage:
    """One line for a command that does not exist, naming the closest ones."""
    import difflib  # here, not at start-up: only a mistyped command needs it

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = f"`{PROG} --help` lists the commands"
    return CliUsage(f"no such command {name!r}: {hint}")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (commands, agent and profile names).

    \b
    bash: eval "$(tmuxorch completion bash)"   in ~/.bashrc
    zsh:  eval "$(tmuxorch completion zsh)"    in ~/.zshrc
    fish: tmuxorch completion fish > ~/.config/fish/completions/tmuxorch.fish
    """
    cls = get_completion_class(shell)
    assert cls is not None  # click ships all three
    click.echo(cls(ctx.find_root().command, {}, PROG, COMPLETE_VAR).source())
