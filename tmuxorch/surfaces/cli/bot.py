"""``tmuxorch telegram``: the Telegram bot alone (see tmuxorch/surfaces/telegram/)."""

from __future__ import annotations

import click

from tmuxorch.surfaces.cli.common import Obj, handle_errors


@click.command()
@handle_errors
def telegram() -> None:
    """Run the two-way Telegram bot in the foreground.

    It answers /list, /status, /new, /stop and /kill from the chats in
    telegram.allowed_chats, sends a reply to a message about an agent to that
    agent, and tells those chats when an agent waits, with Approve and Deny
    buttons. Needs telegram.token in config.yaml; `serve` runs it too.
    """
    # Here: python-telegram-bot costs the other commands' start-up nothing.
    from tmuxorch.surfaces.telegram import runner

    obj = click.get_current_context().find_object(Obj)
    assert obj is not None
    settings = obj.settings()  # a broken config.yaml stops here, with one clear line
    runner.token_of(settings)
    chats = len(settings.config.telegram.allowed_chats)
    click.echo(f"tmuxorch telegram: polling {settings.config.telegram.api_url} for {chats} chat(s)")
    runner.run(obj.settings)
