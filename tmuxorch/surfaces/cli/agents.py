"""Agent commands: spawn, send, list, status, output, attach, kill, rm."""

from __future__ import annotations

import os

import click

from tmuxorch.core.errors import AgentError
from tmuxorch.core.vocab import MODES
from tmuxorch.locks.keys import agent_name
from tmuxorch.surfaces.cli import several
from tmuxorch.surfaces.cli.common import (
    AMOUNT,
    echo_json,
    fleet,
    handle_errors,
    json_option,
    read_text_arg,
)


class _WithProgramArgs(click.Command):
    """A command whose arguments after ``--`` are the agent program's own,
    kept apart from its PROMPT (click would take the first as PROMPT). A
    ``--`` before NAME only ends the options, as ever (``spawn -- -dash``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for cut in (i for i, a in enumerate(args) if a == "--"):
            named, _, _ = self.make_parser(ctx).parse_args(args[:cut])
            if isinstance(named.get("name"), str):
                args, ctx.meta["program_args"] = args[:cut], tuple(args[cut + 1 :])
                break
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- PROGRAM_ARGS...]"]


@click.command(cls=_WithProgramArgs)
@click.argument("name")
@click.argument("prompt", required=False)
@click.option(
    "--agent", "profile", metavar="PROFILE", help="Profile (default from config: claude)."
)
@click.option("--cwd", metavar="DIR", help="Working directory (default: here).")
@click.option("--model", metavar="M", help="Model for the agent.")
@click.option("--permission-mode", metavar="MODE", help="Claude Code permission mode.")
@click.option(
    "--system-prompt", metavar="TEXT", help="Added to Claude's system prompt (Claude profiles)."
)
@click.option(
    "--allowed-tools",
    metavar="LIST",
    help="Tools that run without asking, e.g. 'Read,Grep,Bash(git *)' (Claude's --allowedTools).",
)
@click.option("--env", "env", multiple=True, metavar="K=V", help="Extra environment (repeatable).")
@click.option("--parent", metavar="NAME", help="Parent agent (default: the calling agent).")
@click.option(
    "--worktree",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[BRANCH]",
    help="Run in its own git worktree: a new branch tmuxorch/NAME, or BRANCH.",
)
@click.option("--max-cost", type=AMOUNT, metavar="USD", help="Cost cap.")
@click.option(
    "--max-turns",
    type=click.IntRange(min=0),
    metavar="N",
    help="Cap on model steps (a prompt's request, one after each tool call).",
)
@click.option("--max-duration", type=AMOUNT, metavar="S", help="Cap on seconds of work.")
@click.option(
    "--allow-protected",
    multiple=True,
    metavar="PATTERN",
    help="May write protected paths matching PATTERN (repeatable).",
)
@click.option(
    "--host", metavar="HOST", help="Run it on HOST (its daemon starts it; default: this host)."
)
@click.option("--wait", "wait_turn", is_flag=True, help="Return when the first turn ends.")
@click.option("--timeout", type=AMOUNT, metavar="S", help="For --wait (exit 124).")
@json_option
@handle_errors
def spawn(
    name: str,
    prompt: str | None,
    profile: str | None,
    cwd: str | None,
    model: str | None,
    permission_mode: str | None,
    system_prompt: str | None,
    allowed_tools: str | None,
    env: tuple[str, ...],
    parent: str | None,
    worktree: str | None,
    max_cost: float | None,
    max_turns: int | None,
    max_duration: float | None,
    allow_protected: tuple[str, ...],
    host: str | None,
    wait_turn: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Start agent NAME in a new window; send PROMPT once it is ready.

    --max-cost/--max-turns/--max-duration override config's limits for this
    agent: on a breach it is interrupted (or killed, per config) and its
    parent told. Arguments after -- go to the agent's program as they are
    (`spawn w 'task' -- --add-dir ../lib`).
    """
    from tmuxorch.fleet.launching import SpawnRequest, check_name, parse_env

    check_name(name)
    limits = {"max_cost": max_cost, "max_turns": max_turns, "max_duration": max_duration}
    caps: dict[str, float] = {k: v for k, v in limits.items() if v is not None}
    if worktree and prompt is None:
        from tmuxorch.fleet.worktrees import is_branch_name

        if not is_branch_name(worktree):
            # `--worktree 'fix the tests'`: the option's value is optional, so
            # it took the prompt; no branch is named like that.
            prompt, worktree = worktree, ""
    request = SpawnRequest(
        name=name, prompt=read_text_arg(prompt) if prompt is not None else None,
        profile=profile, cwd=cwd, model=model, permission_mode=permission_mode,
        env=parse_env(env), parent=parent, worktree=worktree,
        args=click.get_current_context().meta.get("program_args", ()),
        limits=caps, allow_protected=allow_protected,
        system_prompt=system_prompt, allowed_tools=allowed_tools, host=host,
    )  # fmt: skip
    f = fleet()
    agent = f.spawn(request)
    response = None
    if wait_turn and request.prompt is not None:
        from tmuxorch.fleet import messaging

        first = f.store.messages(agent.name)[0]
        agent = messaging.wait_turn(f, first.id, timeout=timeout)
        response = messaging.turn_response(f, f.store.get_message(first.id) or first)
    if as_json:
        from tmuxorch.fleet.views import agents as views

        shown = views.of(f, agent).to_json()
        echo_json(shown if response is None else {**shown, "response": response})
    else:
        click.echo(f"spawned {agent.name} ({agent.profile}) in window {agent.window_id}")
        if response:
            click.echo(response)


@click.command()
@click.argument("name")
@click.argument("message")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="sequential",
    show_default=True,
    help="sequential: when idle, in order; important: ahead of those; urgent: interrupt now.",
)
@click.option("--wait", "wait_turn", is_flag=True, help="Return when the agent's turn on it ends.")
@click.option("--timeout", type=AMOUNT, metavar="S", help="For --wait (exit 124).")
@json_option
@handle_errors
def send(
    name: str, message: str, mode: str, wait_turn: bool, timeout: float | None, as_json: bool
) -> None:
    """Deliver MESSAGE (or stdin with -) to agent NAME; prints the message id.

    From inside an agent's pane the message names that agent as its sender.
    """
    from tmuxorch.fleet import messaging
    from tmuxorch.fleet.views.messages import message_view

    text = read_text_arg(message)
    f = fleet()
    sender = agent_name(f.store, os.environ)
    msg = messaging.send(f, name, text, mode=mode, sender=sender)
    if wait_turn:
        messaging.wait_turn(f, msg.id, timeout=timeout)
        msg = f.store.get_message(msg.id) or msg  # removed with its agent meanwhile: as sent
    view = message_view(f, msg, waited=wait_turn)
    if as_json:
        echo_json(view.to_json())
    else:
        click.echo(str(view.id))
        if view.note:
            click.echo(f"tmuxorch: message {view.id} delivered: {view.note}", err=True)
        if view.response:
            click.echo(view.response)


@click.command("list")
@click.option("--state", metavar="STATE", help="Only agents in this state (idle, busy, ...).")
@json_option
@handle_errors
def list_(state: str | None, as_json: bool) -> None:
    """The fleet as a table."""
    from tmuxorch.fleet.views.agents import agent_views

    views = agent_views(fleet(), state)
    if as_json:
        echo_json([view.to_json() for view in views])
        return
    if not views:
        click.echo(f"no {state} agents" if state else "no agents")
        return
    from rich.console import Console
    from rich.table import Table

    from tmuxorch.core.records import now
    from tmuxorch.surfaces.dashboard import STATE_STYLE, age

    table = Table(box=None, pad_edge=False)
    columns = ("NAME", "PROFILE", "STATE", "FOR", "DETAIL", "PARENT", "HOST", "QUEUED", "LOCKS")
    for column in (*columns, "TURNS", "COST"):
        table.add_column(column, no_wrap=column != "DETAIL", overflow="ellipsis")
    for view in views:
        table.add_row(
            view.name,
            view.profile,
            f"[{STATE_STYLE.get(view.state, '')}]{view.state}[/]",
            age(now() - view.since),
            view.detail,
            view.parent or "",
            view.host,
            str(view.queued or ""),
            str(len(view.locks) or ""),
            str(view.turns or ""),
            f"${view.cost_usd:.2f}" if view.cost_usd else "",
        )
    Console(highlight=False).print(table)


@click.command()
@click.argument("name", required=False)
@json_option
@handle_errors
def status(name: str | None, as_json: bool) -> None:
    """One agent in detail (default: the calling agent)."""
    if not name and os.environ.get("TMUXORCH_AGENT"):
        name = agent_name(fleet().store, os.environ)
    if not name:
        raise click.UsageError("name an agent (or run this inside an agent's pane)")
    from tmuxorch.fleet.views.agents import agent_view

    view = agent_view(fleet(), name)
    shown = view.to_json()
    if as_json:
        echo_json(shown)
        return
    rows = [
        ("name", view.name),
        ("state", view.state + (f" ({view.detail})" if view.detail else "")),
        ("since", shown["since"]),
        ("profile", view.profile),
        ("cwd", view.cwd),
        ("parent", view.parent or "-"),
        ("children", ", ".join(view.children or ()) or "-"),
        ("pane", f"{view.pane_id} pid {view.pid}"),
        ("session id", view.session_id or "-"),
        ("queued", str(view.queued)),
        ("locks", ", ".join(view.locks) or "-"),
        ("turns", str(view.turns)),
        ("tokens", " ".join(f"{k}={v}" for k, v in shown["tokens"].items())),
        ("cost", f"${view.cost_usd:.4f}"),
    ]
    for sub in shown.get("subagents", ()):
        rows.append(("subagent", f"{sub['type'] or 'agent'} {sub['id']} since {sub['since']}"))
    for mate in shown.get("teammates", ()):
        since = f" since {mate['since']}" if mate["since"] else ""
        rows.append(("teammate", f"{view.name}/{mate['name']} {mate['state']}{since}"))
    if view.worktree:
        rows.append(("worktree", f"{view.worktree['path']} ({view.worktree['branch']})"))
    if view.exit_status is not None:
        rows.append(("exit status", str(view.exit_status)))
    caps = {k: v for k, v in shown["limits"].items() if v is not None and k != "on_breach"}
    if caps:
        rows.append(("limits", " ".join(f"{k}={v}" for k, v in caps.items())))
    for violation in view.violations:
        rows.append(("violation", f"{violation.detail} ({violation.action})"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


@click.command()
@click.argument("name")
@click.option("--lines", type=click.IntRange(min=1), metavar="N", help="Only the last N lines.")
@click.option("--full", is_flag=True, help="The whole scrollback, not just the screen.")
@click.option("--raw", is_flag=True, help="Keep colours and attributes (ANSI escapes).")
@handle_errors
def output(name: str, lines: int | None, full: bool, raw: bool) -> None:
    """Agent NAME's screen (or scrollback)."""
    from tmuxorch.fleet import control

    click.echo(control.output(fleet(), name, lines=lines, full=full, raw=raw))


@click.command()
@click.argument("name", required=False)
@click.option("--read-only", "-r", is_flag=True, help="Watch without typing.")
@handle_errors
def attach(name: str | None, read_only: bool) -> None:
    """Attach to the fleet session at NAME's window (from inside tmux too)."""
    f = fleet()
    agent = f.agent(name) if name else None
    if agent is not None and not f.mine(agent):  # its window is on that host's tmux server
        raise AgentError(f"agent {name!r} runs on host {agent.host!r}: attach there")
    if not f.tmux.has_session():
        raise AgentError("the fleet has no tmux session: spawn an agent first")
    if agent is not None:
        if agent.window_id is None or f.pane(agent) is None:
            raise AgentError(f"agent {name!r} has no window (state {agent.state})")
        f.tmux.select_window(agent.window_id)
    argv, env = f.attach_command(read_only=read_only)
    os.execvpe(argv[0], argv, env)


@click.command()
@several.options
@handle_errors
def kill(names: tuple[str, ...], all_: bool, yes: bool) -> None:
    """Force agents NAME... (or --all running ones) down and close their windows;
    the records stay. --all asks first on a terminal (--yes does not)."""

    def act(name: str) -> str:
        fleet().kill(name)
        return f"killed {name}"

    several.act_on_each("kill", names, all_, yes, act)


@click.command()
@click.argument("name")
@handle_errors
def rm(name: str) -> None:
    """Remove agent NAME: window, record, logs and generated files (and its
    worktree, when clean)."""
    for note in fleet().remove(name):
        click.echo(note)
    click.echo(f"removed {name}")
