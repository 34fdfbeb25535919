"""``serve``'s web page in a real browser: Debian's chromium driven by
Playwright (never a downloaded browser), at a phone's 390x844, against a real
``tmuxorch serve`` (tests/test_http.py's ``served``).

Two scenarios, to start few agents: a real Claude agent (fake API) seen busy
then waiting on the page without a reload and approved from it; a shell agent
spawned, sent to and killed from the page, whose screen holds a script tag
that must stay text. Which paths answer a stranger with the sign-in note is a
unit table. ``TMUXORCH_WEB_PNG=docs/web.png`` saves the waiting
fleet's screenshot there (README's picture) instead of in the test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from tests.conftest import ClaudeFleet, Env
from tests.fakeapi import text, tool_use
from tests.helpers import retry_until
from tests.test_http import Served, served  # noqa: F401  (the fixture: a real serve)
from tmuxorch.surfaces.http import page as web

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
# Read at import: the env fixture clears TMUXORCH_* before a test runs.
REQUIRED = os.environ.get("TMUXORCH_REQUIRE_BROWSER") == "1"
README_PNG = os.environ.get("TMUXORCH_WEB_PNG")
SCRIPT = "<script>window.__pwned=1</script>"
# Each change of an agent's state on the page, in order, as "name:state".
WATCH_STATES = """() => {
  window.__seen = [];
  const note = () => {
    for (const el of document.querySelectorAll("article.agent")) {
      const seen = `${el.dataset.name}:${el.dataset.state}`;
      const last = window.__seen.filter((s) => s.startsWith(`${el.dataset.name}:`)).pop();
      if (seen !== last) window.__seen.push(seen);
    }
  };
  new MutationObserver(note).observe(document.getElementById("agents"),
    {subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"]});
  note();
  window.__same = 1;
}"""


# (path, whether a visit without the token gets the sign-in note rather than the 401 JSON)
SIGNIN = [
    pytest.param("/", True, id="fleet"),
    pytest.param("/agents/w1", True, id="agent"),
    pytest.param("/agents/w1/output", False, id="below-an-agent"),
    pytest.param("/api/agents", False, id="api"),
    pytest.param("/docs", False, id="docs"),
    pytest.param("/static/app.js", False, id="static"),
]


@pytest.mark.parametrize(("path", "note"), SIGNIN)
def test_only_the_pages_answer_a_stranger_with_the_sign_in_note(path: str, note: bool) -> None:
    assert (web.signin(path) is not None) == note


def require_browser() -> str:
    """Debian's chromium; else skip, or fail with TMUXORCH_REQUIRE_BROWSER=1 (CI)."""
    if shutil.which(CHROMIUM):
        return CHROMIUM
    problem = f"{CHROMIUM} not found (apt-get install chromium)"
    if REQUIRED:
        pytest.fail(f"TMUXORCH_REQUIRE_BROWSER=1: {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = require_browser()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: Browser, server: Served) -> Page:
    """A phone-sized page signed in through /login, showing the fleet live."""
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{server.url}/login?token={server.token}")
    assert page.url == f"{server.url}/"
    page.locator("#live[data-live]").wait_for()
    page.evaluate(WATCH_STATES)
    return page


def card(page: Page, name: str) -> Locator:
    return page.locator(f'article.agent[data-name="{name}"]')


def shows(page: Page, name: str, state: str) -> bool:
    return card(page, name).get_attribute("data-state", timeout=60_000) == state


@pytest.mark.browser
def test_a_claude_agent_goes_busy_then_waiting_live_and_is_approved_from_the_page(
    claude_fleet: ClaudeFleet,
    served: Served,  # noqa: F811
    browser: Browser,
    tmp_path: Path,
) -> None:
    fleet, env = claude_fleet, claude_fleet.env
    fleet.spawn("c1", "--permission-mode", "default")
    env.spawn_ready("build", "--cwd", str(fleet.project))  # the screenshot shows a fleet
    page = signed_in(browser, served)
    retry_until(lambda: shows(page, "c1", "idle"), message="c1 idle on the page")
    target = fleet.project / "hello.txt"
    # The answer waits a moment: busy lasts long enough to be seen.
    fleet.api.enqueue(
        tool_use("Write", {"file_path": str(target), "content": "hi\n"}, delay=2), text("Done.")
    )
    c1 = card(page, "c1")
    c1.locator(".send textarea").fill("write hello.txt")
    c1.locator(".send button").click()
    retry_until(lambda: shows(page, "c1", "waiting"), timeout=90, message="c1 waiting")
    prompt = c1.locator(".prompt-text")
    retry_until(lambda: "Do you want to create hello.txt?" in prompt.inner_text(), message="prompt")
    assert c1.locator(".approve").is_visible() and c1.locator(".deny").is_visible()
    seen = [s for s in page.evaluate("window.__seen") if s.startswith("c1:")]
    assert seen.index("c1:busy") < seen.index("c1:waiting"), seen
    shot = Path(README_PNG or tmp_path / "web.png")
    page.screenshot(path=str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG")
    c1.locator(".approve").click()
    retry_until(lambda: shows(page, "c1", "idle"), timeout=90, message="c1 idle after approve")
    assert target.read_text() == "hi\n"
    assert env.json("status", "c1")["state"] == "idle"
    assert page.evaluate("window.__same") == 1  # all of it without a reload


@pytest.mark.browser
def test_a_shell_agent_spawned_sent_to_and_killed_from_the_page_shows_its_screen_as_text(
    env: Env,
    served: Served,  # noqa: F811
    browser: Browser,
) -> None:
    stranger = browser.new_page(viewport=PHONE)
    for where in ("/", "/agents/sh"):
        reply = stranger.goto(served.url + where)
        assert reply is not None and reply.status == 401
        assert "/login?token=" in stranger.inner_text("body")
    page = signed_in(browser, served)
    assert page.locator("#empty").is_visible()
    page.locator("#spawn summary").click()
    form = page.locator("#spawn-form")
    form.locator("[name=name]").fill("sh")
    form.locator("[name=agent]").fill("shell")
    form.locator("[name=cwd]").fill(str(env.tmp))
    form.locator("[name=prompt]").fill(f"echo '{SCRIPT}'")
    form.locator("button").click()
    sh = card(page, "sh")
    sh.locator(".screen summary").click()
    screen = sh.locator(".screen-text")
    retry_until(lambda: screen.inner_text().count(SCRIPT) >= 2, message="command and output")
    assert screen.evaluate("el => el.children.length") == 0  # text, not markup
    assert page.evaluate("typeof window.__pwned") == "undefined"
    spawned = env.json("status", "sh")
    assert (spawned["profile"], spawned["cwd"]) == ("shell", str(env.tmp.resolve()))

    # A line far wider than a phone: only the screen box may scroll sideways.
    sh.locator(".send textarea").fill("echo from-the-page; printf '%0200d\\n' 0")
    sh.locator(".send select").select_option("important")
    sh.locator(".send button").click()
    retry_until(lambda: "\nfrom-the-page" in screen.inner_text(), message="sent from the page")
    retry_until(lambda: shows(page, "sh", "idle"), message="sh idle again on the page")

    # An API refusal is the page's error line: the same words as the API's.
    form.locator("[name=name]").fill("sh")
    form.locator("button").click()
    taken = served.request("POST", "/api/agents", {"name": "sh"})
    assert taken.status == 409
    retry_until(lambda: page.locator("#error").inner_text() == taken.json["error"], message="409")

    retry_until(lambda: "0" * 200 in screen.inner_text(), message="the wide line")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert screen.evaluate("el => el.scrollWidth > el.clientWidth")
    page.screenshot(path=str(env.tmp / "shell.png"))

    page.on("dialog", lambda dialog: dialog.accept())
    sh.locator(".kill").click()
    retry_until(lambda: shows(page, "sh", "exited"), message="sh killed from the page")
    assert env.json("status", "sh")["state"] == "exited"
    assert page.evaluate("window.__same") == 1
    # The agent's own page: that agent alone, its last screen open.
    page.goto(f"{served.url}/agents/sh")
    retry_until(lambda: "from-the-page" in page.locator(".screen-text").inner_text(), message="own")
    assert page.locator("article.agent").count() == 1
    assert page.evaluate("typeof window.__pwned") == "undefined"
