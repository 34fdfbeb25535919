"""``spawn`` arguments after ``--`` reach the agent's program as they are, and
``--system-prompt``/``--allowed-tools`` on a profile that cannot take them are
one line with nothing started (agents without hooks; Claude's side is in
test_e2e_spawn_options.py)."""

from __future__ import annotations

import pytest

from tests.conftest import Env
from tests.helpers import retry_until
from tests.test_mcp import Client, serve

# A name no shell may run: it arrives as the fake agent's --name, verbatim.
HOSTILE = "x; $(touch PWNED) `touch PWNED2` end;"


# How the command line says it: a -- before NAME only ends the options.
FORMS = [
    ("after NAME", ["f", "hello -- there", "--agent", "fake", "--", "--name", HOSTILE]),
    ("NAME after --", ["--agent", "fake", "--", "f", "hello -- there", "--", "--name", HOSTILE]),
]


@pytest.mark.parametrize("args", [f[1] for f in FORMS], ids=[f[0] for f in FORMS])
def test_program_args_after_double_dash_are_passed_verbatim(env: Env, args: list[str]) -> None:
    env.ok("spawn", *args)
    env.ok("wait", "f", "--timeout", "60")
    retry_until(lambda: f"{HOSTILE} (fake agent) ready" in env.ok("output", "f"), message="banner")
    retry_until(lambda: env.records() == ["hello -- there"], message="the prompt, not the args")
    assert not list(env.tmp.rglob("PWNED*")) and not list(env.home.rglob("PWNED*"))


# profile, options, the line
REFUSED = [
    ("system prompt on fake", "fake", ["--system-prompt", "be brief"],
     "--system-prompt does not apply to profile fake"),
    ("allowed tools on shell", "shell", ["--allowed-tools", "Read"],
     "--allowed-tools does not apply to profile shell"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("profile", "options", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_options_the_profile_does_not_take(
    env: Env, profile: str, options: list[str], message: str
) -> None:
    proc = env.cli("spawn", "a", "--agent", profile, *options)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"tmuxorch: {message}"]
    assert env.json("list") == []

    async def body(client: Client) -> None:
        key = options[0].lstrip("-").replace("-", "_")
        error = await client.error("spawn_agent", name="a", profile=profile, **{key: options[1]})
        assert message in error
        args = ["--name", "from-mcp"]
        await client.ok("spawn_agent", name="m", profile="fake", args=args)

    serve(env, body)
    assert [a["name"] for a in env.json("list")] == ["m"]
    env.ok("wait", "m", "--timeout", "60")
    retry_until(lambda: "from-mcp (fake agent) ready" in env.ok("output", "m"), message="args")


def test_a_nul_in_the_program_args_is_one_error(env: Env) -> None:
    async def body(client: Client) -> None:
        error = await client.error("spawn_agent", name="m", profile="fake", args=["a\0b"])
        assert "an argument for the agent's program contains a NUL byte" in error

    serve(env, body)
    assert env.json("list") == []
