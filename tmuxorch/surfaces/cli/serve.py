"""``tmuxorch serve``: the web page and HTTP API (see tmuxorch/surfaces/http/app.py)."""

from __future__ import annotations

import click

from tmuxorch.surfaces.cli.common import Obj, handle_errors


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8420,
    show_default=True,
    help="Port (0: any free one, named in the start line).",
)
@handle_errors
def serve(host: str, port: int) -> None:
    """Serve the fleet over HTTP: web page, JSON API, event stream, /docs.

    Every request needs the token in HOME/http-token (Authorization: Bearer,
    or a browser's sign-in at /login?token=TOKEN). A --host other than
    loopback needs http.allow_remote: true in config.yaml.
    """
    # Here: fastapi and uvicorn cost the other commands' start-up nothing.
    from tmuxorch.surfaces.http import app, auth

    obj = click.get_current_context().find_object(Obj)
    assert obj is not None
    settings = obj.settings()  # a broken config.yaml stops here, with one clear line
    auth.check_host(host, settings.config.http.allow_remote)
    token, made = auth.load_token(settings.home)
    sock = app.listen(host, port)
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound}"
    # The token itself only when it is new: later start lines may end up in a journal.
    shown = token if made else "TOKEN"
    where = auth.token_path(settings.home)
    click.echo(f"tmuxorch serve: {url}/ (sign in at {url}/login?token={shown}; token in {where})")
    stop_bot = None
    if settings.config.telegram.token is not None:
        from tmuxorch.surfaces.telegram import runner  # only then: its import costs

        stop_bot = runner.beside(obj.settings)
    try:
        app.run(app.create_app(obj.settings, token), sock)
    finally:
        if stop_bot is not None:
            stop_bot()
