"""The monitor on agents without hooks (the fake agent TUI and a shell): states
from the screen, answering prompts, waiting, and surviving its own death."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from libtmux.server import Server

from tests.conftest import Env
from tests.helpers import HOST, agent_row, retry_until
from tmuxorch.daemon import monitor, wakeups
from tmuxorch.fleet import monitorproc
from tmuxorch.fleet.launching import SpawnRequest


def _state(env: Env, name: str) -> tuple[str, str]:
    status = env.json("status", name)
    return status["state"], status["detail"]


def test_fake_agent_walks_through_states(env: Env) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    env.ok("wait", "f", "--timeout", "30")
    assert _state(env, "f") == ("idle", "")
    gate = env.tmp / "go"
    env.ok("send", "f", f"hold {gate}")
    retry_until(lambda: _state(env, "f")[0] == "busy", message="busy while it works")
    gate.touch()
    env.ok("wait", "f", "--until", "idle", "--timeout", "30")
    env.ok("send", "f", "ask create a.txt")
    env.ok("wait", "f", "--until", "waiting", "--timeout", "30")
    assert _state(env, "f") == ("waiting", "Do you want to create a.txt?")
    env.ok("approve", "f")
    env.ok("wait", "f", "--until", "idle", "--timeout", "30")
    env.ok("send", "f", "error 529 Overloaded")
    retry_until(lambda: _state(env, "f") == ("error", "API Error: 529 Overloaded"), message="error")
    env.ok("send", "f", "exit 7")
    env.ok("wait", "f", "--until", "exited", "--timeout", "30")
    status = env.json("status", "f")
    assert status["exit_status"] == 7
    events = [json.loads(x) for x in env.ok("events", "--json", "--agent", "f").splitlines()]
    states = [e["state"] for e in events if e["state"]]
    assert states[:2] == ["starting", "idle"]
    assert {"busy", "waiting", "error", "exited"} <= set(states)
    assert {"approved", "exited"} <= {e["event"] for e in events}


def test_deny_and_interrupt(env: Env) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    env.ok("wait", "f", "--timeout", "30")
    env.ok("send", "f", "ask delete everything")
    env.ok("wait", "f", "--until", "waiting", "--timeout", "30")
    env.ok("deny", "f")
    env.ok("wait", "f", "--until", "idle", "--timeout", "30")
    assert "denied" in env.ok("output", "f")
    env.ok("send", "f", "sleep 60")
    retry_until(lambda: _state(env, "f")[0] == "busy", message="busy")
    env.ok("interrupt", "f")
    env.ok("wait", "f", "--until", "idle", "--timeout", "30")
    assert "Interrupted" in env.ok("output", "f")


def test_answering_an_agent_that_is_not_waiting_fails(env: Env) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    env.ok("wait", "f", "--timeout", "30")
    for command in ("approve", "deny"):
        proc = env.cli(command, "f")
        assert proc.returncode == 1 and "not waiting" in proc.stderr


WAITS = [
    ("timeout", ["wait", "f", "--until", "waiting", "--timeout", "0.5"], 124, "timed out"),
    ("unknown", ["wait", "ghost"], 1, "no agent named 'ghost'"),
    ("bad-until", ["wait", "f", "--until", "sleepy"], 2, "Invalid value"),
]


@pytest.mark.parametrize(
    ("args", "code", "message"), [w[1:] for w in WAITS], ids=[w[0] for w in WAITS]
)
def test_wait_failures(env: Env, args: list[str], code: int, message: str) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    proc = env.cli(*args)
    assert proc.returncode == code and message in proc.stderr


def test_wait_any_and_exited_agents(env: Env) -> None:
    env.ok("spawn", "quick", "--agent", "fake")
    env.ok("spawn", "slow", "--agent", "fake")
    env.ok("wait", "quick", "slow", "--timeout", "30")
    env.ok("send", "slow", "sleep 30")
    out = env.ok("wait", "quick", "slow", "--any", "--timeout", "30")
    assert "quick idle" in out
    env.ok("kill", "quick")
    proc = env.cli("wait", "quick", "--until", "idle", "--timeout", "5")
    assert proc.returncode == 1 and "will not be idle" in proc.stderr


def test_shell_prompt_states(env: Env) -> None:
    env.ok("spawn", "sh")
    env.ok("wait", "sh", "--timeout", "30")
    env.ok("send", "sh", 'read -p "Overwrite file? [y/N] " answer')
    env.ok("wait", "sh", "--until", "waiting", "--timeout", "30")
    assert _state(env, "sh") == ("waiting", "Overwrite file? [y/N]")
    env.ok("approve", "sh")
    env.ok("wait", "sh", "--until", "idle", "--timeout", "30")


def test_single_instance_and_restart_after_kill(env: Env) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    env.ok("wait", "f", "--timeout", "30")
    assert monitorproc.is_running(env.home, HOST)
    second = subprocess.run(
        [sys.executable, "-m", "tmuxorch", "monitor"], env=env.environ, capture_output=True,
        text=True, timeout=30, check=False,
    )  # fmt: skip
    assert second.returncode == 1 and "already running" in second.stderr
    lock = monitorproc.lock_file(env.home, HOST)
    first = env.kill_monitor()  # the lock dies with it
    env.ok("send", "f", "ask go on")  # messages still go through without a monitor
    env.ok("wait", "f", "--until", "waiting", "--timeout", "30")  # restarts it
    assert int(lock.read_text().split()[0]) != first
    assert _state(env, "f")[1] == "Do you want to go on?"


def test_events_follow_streams_new_events(env: Env) -> None:
    env.ok("spawn", "f", "--agent", "fake")
    env.ok("wait", "f", "--timeout", "30")
    follower = subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "events", "--follow", "--json", "--agent", "f"],
        env=env.environ, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Read on a thread: a missing event fails the test with what came, not a hang.
    stdout = follower.stdout
    assert stdout is not None
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # the end of its output

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        env.ok("send", "f", "ask stream this")
        seen: list[dict[str, object]] = []
        while not any(e.get("state") == "waiting" for e in seen):
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                pytest.fail(f"no waiting event in 60 s; events --follow printed {seen}")
            assert line, f"events --follow ended early, after {seen}"
            seen.append(json.loads(line))
        assert {"ts", "agent", "event", "state", "detail"} <= set(seen[-1])
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        reader.join(timeout=10)


def test_watching_falls_back_to_polling_without_inotify(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """inotify's per-user instance limit is easily reached (Claude Code watches
    files too): waiters and the monitor then poll instead of crashing."""
    import watchdog.observers

    from tmuxorch.store.sqlite.wal import WalWatch

    class NoInotify:
        def __init__(self) -> None:
            raise OSError(24, "inotify instance limit reached")

    monkeypatch.setattr(watchdog.observers, "Observer", NoInotify)
    with env.fleet() as fleet:
        with WalWatch(fleet.home) as waker:
            fleet.store.add_event(None, "poke", None, "")
            assert waker.wait(10.0)
        watcher = wakeups.watch_logs(fleet.home / "logs", queue.SimpleQueue())
        try:
            assert watcher.is_alive()
        finally:
            watcher.stop()
            watcher.join()


def test_urgent_interrupt_of_a_vanished_pane_does_not_kill_the_monitor(env: Env) -> None:
    """The agent's pane went between the store read and the interrupt: the
    monitor logs it and goes on (the pane's death is noticed on its own)."""
    from tmuxorch.core.config import resolve

    watcher = monitor.Monitor(resolve(str(env.home), env.socket, str(env.config_path)))
    try:
        watcher.store.insert_agent(agent_row("f", state="busy", pane_id="%999"))
        message_id = watcher.store.add_message(None, "f", "urgent", "stop")
        watcher._pump()  # tmux: can't find pane %999
        assert watcher.interrupted == {"f": message_id}
        assert watcher.store.get_message(message_id).status == "queued"  # type: ignore[union-attr]
    finally:
        watcher.fleet.close()


# When the delivery of a message to an agent without hooks marks it busy: while
# the monitor reads its screen (the reading, "waiting", is refused: the agent
# is no longer idle), or after (it overwrites "waiting").
DELIVERED = [("during-the-look", True), ("after-the-look", False)]


@pytest.mark.parametrize("during", [d[1] for d in DELIVERED], ids=[d[0] for d in DELIVERED])
def test_a_prompt_seen_around_a_delivery_ends_waiting(
    env: Env, monkeypatch: pytest.MonkeyPatch, during: bool
) -> None:
    """A confirmation prompt is a still screen: no output wakes the monitor
    again, so the delivery's own word makes it look again, or the agent stays
    busy for good (``events --follow`` waited for "waiting" forever)."""
    from tmuxorch.core.config import resolve

    env.spawn_ready("f", "--agent", "fake")
    env.kill_monitor()  # this test runs the monitor's steps itself
    watcher = monitor.Monitor(resolve(str(env.home), env.socket, str(env.config_path)))
    try:
        watcher.last_event = watcher.store.last_event_id()
        pane = watcher.store.get_agent("f").pane_id  # type: ignore[union-attr]
        assert pane is not None
        watcher.tmux.send_keys(pane, "ask go on", "Enter")
        retry_until(lambda: "Do you want to go on?" in watcher.tmux.capture(pane), message="ask")
        capture = watcher.tmux.capture

        def deliver() -> None:  # as messaging's delivery marks an agent without hooks
            watcher.store.set_state("f", "busy", "", data={"source": "delivery"})

        def delivered_meanwhile(pane_id: str) -> str:
            deliver()
            return capture(pane_id)

        if during:
            monkeypatch.setattr(watcher.tmux, "capture", delivered_meanwhile)
        watcher._look("f")
        monkeypatch.setattr(watcher.tmux, "capture", capture)
        if not during:
            deliver()
        assert _state(env, "f")[0] == "busy"
        watcher._read_events()  # what the loop does on a store change, then the looks due
        for name in list(watcher.due):
            watcher._look(name)
        assert _state(env, "f") == ("waiting", "Do you want to go on?")
    finally:
        watcher.fleet.close()


def _monitor_on_a_thread(env: Env) -> tuple[list[monitor.Monitor], threading.Thread]:
    """The fleet's monitor run by the test on a started thread, in place of the
    background one; the list holds it once it is made."""
    env.kill_monitor()
    made: list[monitor.Monitor] = []

    def run() -> None:  # the store's connection belongs to the thread that opens it
        made.append(monitor.Monitor(env.fleet().settings))
        made[0].run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return made, thread


def test_stopped_monitor_leaves_no_tmux_client(env: Env) -> None:
    """A monitor stopped while its server lives takes its `wait-for` client along."""
    env.spawn_ready("f", "--agent", "fake")
    made, thread = _monitor_on_a_thread(env)
    client = retry_until(lambda: made and made[0].waker.client, message="blocked in wait-for")
    made[0].stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert client.wait(timeout=10) is not None


def test_a_store_write_by_another_process_wakes_the_monitor(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message queued by ``tmuxorch send`` to an idle agent: no pane
    output, no tmux signal, only the store's changes waiter can say it came."""
    env.spawn_ready("f", "--agent", "fake")
    monkeypatch.setattr(monitor, "_HEARTBEAT", 3600.0)  # no safety net to deliver it instead
    made, thread = _monitor_on_a_thread(env)
    try:
        # Its first look at f is done and nothing else is due: it sleeps.
        retry_until(lambda: made and "f" in made[0].looked_at and not made[0].due)
        sent = json.loads(env.ok("send", "f", "are you there", "--json"))
        assert sent["status"] == "delivered"
        assert env.records() == ["are you there"]
    finally:
        if made:
            made[0].stop()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert not made[0].store_waker.thread.is_alive()  # its changes waiter stopped too


def test_a_started_monitor_holds_its_lock_when_start_returns(env: Env) -> None:
    """A command that follows the one that started the monitor must see it
    running, or it starts a second that lingers until the lock comes free
    (and outlives a test's kill of the first)."""
    env.spawn_ready("s1", "--agent", "shell")
    env.kill_monitor()
    assert monitorproc.ensure_running(env.fleet().settings)
    assert monitorproc.is_running(env.home, HOST)
    assert not monitorproc.ensure_running(env.fleet().settings)


def test_a_name_removed_and_spawned_again_gets_idle_each_time(env: Env) -> None:
    """Removing the last agent ends the tmux server, and the monitor leaves
    with it: a spawn that came while it was leaving saw its lock still held
    and started none. Spawned at once, as an MCP client does, each new agent
    must still be seen ready."""
    with env.fleet() as fleet:
        for round_ in range(10):
            fleet.spawn(SpawnRequest(name="w1", profile="shell"))
            assert fleet.wait_for(["w1"], "idle", timeout=30) == {"w1": "idle"}, round_
            fleet.remove("w1")


def test_the_monitor_outlives_an_edit_of_config_yaml(env: Env) -> None:
    """config.yaml that does not parse for a while (a save under way), then a
    profile gone while its agent runs: the monitor says so and goes on."""
    config = yaml.safe_load(env.config_path.read_text())
    config["agents"]["late"] = {"extends": "shell"}
    env.write_config(config)
    env.spawn_ready("l1", "--agent", "late")
    lock, log = monitorproc.lock_file(env.home, HOST), env.home / monitorproc.LOG_FILE
    running = lock.read_text()
    with env.fleet() as fleet:
        env.config_path.write_text("agents: [")
        fleet.store.add_event("l1", "note", None, "a write wakes the monitor")
        retry_until(lambda: "keeping the settings read before" in log.read_text())
        del config["agents"]["late"]
        env.write_config(config)
        pane = env.json("status", "l1")["pane_id"]
        fleet.tmux.send_keys(pane, "echo moved", "Enter")  # its screen changes
        retry_until(lambda: "not reading the screen of l1" in log.read_text())
    env.spawn_ready("s1")
    assert lock.read_text() == running and monitorproc.is_running(env.home, HOST)


def _wait_for_clients(pid: int) -> list[int]:
    """The `tmux wait-for` clients process ``pid`` runs."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = (entry / "stat").read_text().rpartition(")")[2].split()[1]
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue  # not a process, or gone meanwhile
        if ppid == str(pid) and b"wait-for" in argv:
            found.append(int(entry.name))
    return found


def test_the_monitor_listens_to_the_next_tmux_server(env: Env, server: Server) -> None:
    """A monitor that stays when its tmux server goes (an agent is still
    starting) hears the server the next spawn starts: pane deaths there wake
    it at once, not at its next heartbeat."""
    env.spawn_ready("s1")
    pid = int(monitorproc.lock_file(env.home, HOST).read_text())
    with env.fleet() as fleet:
        fleet.store.insert_agent(agent_row("ghost", state="starting"))  # a spawn under way
        try:
            server.kill()
            retry_until(lambda: not _wait_for_clients(pid), message="its server gone")
            env.spawn_ready("s2")  # a new server
            assert int(monitorproc.lock_file(env.home, HOST).read_text()) == pid
            retry_until(lambda: _wait_for_clients(pid), message="listening to the new server")
        finally:
            fleet.store.delete_agent("ghost")  # so the monitor leaves with the server
