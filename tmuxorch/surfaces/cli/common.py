"""What every command shares: the fleet from global options, errors at the edge, JSON."""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from tmuxorch.core.errors import TmuxorchError
from tmuxorch.surfaces.edge import error_line

if TYPE_CHECKING:
    from tmuxorch.core.config import Settings
    from tmuxorch.fleet.lifecycle import Fleet

F = TypeVar("F", bound=Callable[..., Any])


class _Amount(click.FloatRange):
    """A number of seconds or dollars: 0 or more and finite (``nan`` passes a
    range check, and ``inf`` overflows the waits it reaches)."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


AMOUNT = _Amount(min=0)


class CliError(click.ClickException):
    """A TmuxorchError at the CLI edge: one line on stderr, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"tmuxorch: {self.format_message()}", err=True)


class CliUsage(CliError):
    """Options that contradict each other: exit status 2, as click's usage
    errors, but one line."""

    exit_code = 2


class CliTimeout(CliError):
    """A wait that ran out: exit status 124, like timeout(1)."""

    exit_code = 124


@dataclass
class Obj:
    home: str | None = None
    socket: str | None = None
    config: str | None = None
    _fleet: Fleet | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        from tmuxorch.core.config import resolve

        return resolve(self.home, self.socket, self.config)

    def fleet(self) -> Fleet:
        if self._fleet is None:
            from tmuxorch.fleet.lifecycle import Fleet

            self._fleet = Fleet(self.settings())
            click.get_current_context().call_on_close(self._fleet.close)
        return self._fleet


def handle_errors(func: F) -> F:
    """Turn domain errors, and the file system's refusals, into ClickExceptions,
    at the edge and nowhere else."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (TmuxorchError, OSError) as exc:
            said = error_line(exc)
            if said is None:
                raise
            message, status = said
            raise (CliTimeout if status == CliTimeout.exit_code else CliError)(message) from None

    return cast(F, wrapper)


def fleet() -> Fleet:
    obj = click.get_current_context().find_object(Obj)
    assert obj is not None  # the group's callback made it
    return obj.fleet()


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def read_text_arg(text: str) -> str:
    """A message argument, or stdin for ``-`` (without its final newlines, as
    ``$(...)`` would: ``echo hi | tmuxorch send a -`` sends ``hi``)."""
    if text == "-":
        data = sys.stdin.buffer.read()
        try:
            return data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"stdin is not UTF-8 text (byte {exc.start})") from None
    return text


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
