"""What the benches share: a throw-away fleet, timed runs, percentiles, reports.

A bench script (run as ``python bench/NAME.py``, so this folder is first on
``sys.path``) imports it as ``_fleet``. The fleet lives on a private tmux
socket with a temporary home and config, and is cleaned up whatever happens:
Ctrl-C, kill(1), a closed terminal, an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from tmuxorch.core.hostname import host_name
from tmuxorch.fleet.monitorproc import is_running, lock_file

REPO = Path(__file__).resolve().parent.parent
FAKEAGENT = REPO / "tests" / "fakeagent.py"

# Profiles with predictable start-up: no rc files, a plain prompt. The same
# patterns as tests/conftest.py's ``base_config`` (not imported from there:
# that module is pytest's, with fixtures and libtmux behind it).
SHELL_PROFILE: dict[str, Any] = {"command": "/bin/bash --norc --noprofile", "env": {"PS1": "$ "}}
FAKE_PROFILE: dict[str, Any] = {
    "command": f"{sys.executable} {FAKEAGENT}",
    "ready": [r"^>( .*)?\Z"],
    "busy": [r"\(esc to interrupt\)"],
    "waiting": [r"(Do you want to [^\n]*\?)"],
    "error": [r"(API Error: [^\n]*)"],
    "quiet": 0.3,
}
SLEEPER_PROFILE: dict[str, Any] = {"command": "sleep", "args": ["100000"], "quiet": 0.5}

# --------------------------------------------------------------------------
# A throw-away fleet: private socket, tmp home, cleaned up whatever happens
# --------------------------------------------------------------------------


def tmuxorch_argv() -> list[str]:
    """The installed console script next to this Python, else ``python -m tmuxorch``."""
    script = Path(sys.executable).with_name("tmuxorch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tmuxorch"]


@dataclass
class BenchFleet:
    tmp: Path
    socket: str
    unset: tuple[str, ...] = ()  # variables of this environment the fleet must not see
    extra_env: dict[str, str] = field(default_factory=dict)
    home: Path = field(init=False)
    config_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.tmp / "home"
        self.config_path = self.tmp / "config.yaml"

    @property
    def environ(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TMUXORCH_", "TMUX")) and k not in self.unset
        }
        env.update(
            TMUXORCH_HOME=str(self.home),
            TMUXORCH_SOCKET=self.socket,
            TMUXORCH_CONFIG=str(self.config_path),
            **self.extra_env,
        )
        return env

    def write_config(self, agents: dict[str, dict[str, Any]]) -> None:
        config = {"default_agent": "shell", "agents": agents}
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")

    def run(
        self, *args: str, stdin: bytes | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*tmuxorch_argv(), *args], input=stdin, capture_output=True,
            env=self.environ, timeout=timeout, check=False,
        )  # fmt: skip

    def ok(self, *args: str, stdin: bytes | None = None, timeout: float = 120) -> bytes:
        proc = self.run(*args, stdin=stdin, timeout=timeout)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"tmuxorch {' '.join(args)} failed ({proc.returncode}): {err}")
        return proc.stdout

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, check=True, timeout=10
        )
        return proc.stdout.decode().strip()

    def monitor_pid(self) -> int:
        """The pid the running monitor wrote into its lock file."""
        return int(lock_file(self.home, host_name(None)).read_text().split()[0])

    def spawn(self, names: Sequence[str], agent: Callable[[str], str], workers: int) -> None:
        """``tmuxorch spawn NAME --agent agent(NAME)`` for every name, ``workers`` at a time."""
        cwd = str(self.tmp)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(
                lambda n: self.ok("spawn", n, "--agent", agent(n), "--cwd", cwd), names
            ):
                pass

    def shutdown(self) -> None:
        """Kill the private tmux server, then make sure the monitor is gone."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        # tmux does not always remove its socket file when killed.
        tmpdir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.geteuid()}"
        (tmpdir / self.socket).unlink(missing_ok=True)
        deadline = time.monotonic() + 10
        while is_running(self.home, host_name(None)) and time.monotonic() < deadline:
            time.sleep(0.1)  # the monitor exits on its own once tmux is gone
        if is_running(self.home, host_name(None)):
            with contextlib.suppress(ValueError, IndexError, ProcessLookupError, OSError):
                os.kill(self.monitor_pid(), signal.SIGKILL)


def install(tmp: Path) -> Path:
    """A venv in ``tmp`` with tmuxorch installed from a copy of this checkout
    (uncommitted changes included; no build files in the checkout); its bin/.

    As a user gets it: built and installed, not the editable install (its
    import finder alone costs milliseconds), its modules compiled once (with
    PYTHONDONTWRITEBYTECODE set, an editable tree is compiled on every run);
    the dependencies seen through a ``.pth`` to this venv's site-packages."""
    src = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "tmuxorch", src / "tmuxorch", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         "--no-deps", str(src)],
        check=True,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # After the venv's own site-packages: the installed tmuxorch wins over the editable one.
    Path(site, "_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Run from tmp: ``python -c`` puts its working directory first on sys.path,
    # and from the checkout that finds ./tmuxorch (the console script does not).
    where = subprocess.run(
        [str(python), "-c", "import tmuxorch; print(tmuxorch.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp,
    ).stdout.strip()  # fmt: skip
    if not where.startswith(site):
        raise RuntimeError(f"the bench venv imports tmuxorch from {where}, not {site}")
    return venv / "bin"


def spawn_sleepers(fleet: BenchFleet, count: int) -> list[str]:
    """``count`` cheap agents (a ``sleep`` profile), named s00, s01, ..."""
    fleet.write_config({"sleeper": SLEEPER_PROFILE})
    names = [f"s{i:02d}" for i in range(count)]
    # One spawn starts the monitor first, so the others do not race to start it.
    fleet.ok("spawn", names[0], "--agent", "sleeper", "--cwd", str(fleet.tmp))
    fleet.spawn(names[1:], lambda _: "sleeper", workers=6)
    return names


@contextlib.contextmanager
def bench_fleet(prefix: str) -> Iterator[BenchFleet]:
    """A fleet in a fresh temporary folder on socket ``PREFIX-PID``; torn down on exit."""
    tmp = Path(tempfile.mkdtemp(prefix=f"tmuxorch-{prefix}-"))
    fleet = BenchFleet(tmp=tmp, socket=f"{prefix}-{os.getpid()}")
    # kill(1) and a closed terminal clean up like Ctrl-C does.
    previous = {
        sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield fleet
    finally:
        try:
            fleet.shutdown()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --------------------------------------------------------------------------
# Timing processes, percentiles
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    env: dict[str, str]
    stdin: bytes = b""


def timed(case: Case) -> tuple[float, float]:
    """Wall and CPU (user+sys of the child) seconds of one run; fails loudly."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        case.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=case.env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(case.stdin)
    proc.stdin.close()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0 or err:
        raise RuntimeError(f"{case.name}: exit {proc.returncode}: {err.decode(errors='replace')}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def measure(cases: list[Case], runs: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms of ``runs`` interleaved runs of each case (after two
    warm-ups), and their ratios to the first case, the baseline."""
    for case in cases:
        for _ in range(2):
            timed(case)  # warm-up: bytecode, page cache
    samples: dict[str, list[tuple[float, float]]] = {c.name: [] for c in cases}
    for _ in range(runs):
        for case in cases:
            samples[case.name].append(timed(case))
    base = cases[0].name
    base_wall = statistics.median(s[0] for s in samples[base])
    base_cpu = statistics.median(s[1] for s in samples[base])
    result: dict[str, dict[str, float]] = {}
    for name, values in samples.items():
        wall = statistics.median(s[0] for s in values)
        cpu = statistics.median(s[1] for s in values)
        result[name] = {
            "wall_ms": round(wall * 1000, 1),
            "cpu_ms": round(cpu * 1000, 1),
            "wall_ratio": round(wall / base_wall, 2),
            "cpu_ratio": round(cpu / base_cpu, 2),
        }
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --------------------------------------------------------------------------
# Reporting and running
# --------------------------------------------------------------------------


def agents_runs_args(doc: str, argv: list[str] | None, runs: int) -> argparse.Namespace:
    """The options of a bench over a fleet of sleepers: --agents (50), --runs, --json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.agents < 1 or args.runs < 1:
        parser.error("need --agents >= 1 and --runs >= 1")
    return args


def claude_bench_args(
    doc: str | None, argv: list[str] | None, flag: str, default: int, what: str
) -> tuple[argparse.Namespace, str | None]:
    """The options of a bench over a real Claude Code (``flag``: how many
    rounds, and --json), and the Claude Code the e2e tests use (None, said
    on stderr, when there is none); the tests' helpers importable."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(flag, type=int, default=default, help=f"{what} (default {default})")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if getattr(args, flag.lstrip("-")) < 1:
        parser.error(f"need {flag} >= 1")
    sys.path.insert(0, str(REPO))
    from tests.claude_env import find_claude

    claude = find_claude()
    if claude is None:
        print("no Claude Code found (set TMUXORCH_TEST_CLAUDE)", file=sys.stderr)
    return args, claude


def logger(quiet: bool) -> Callable[[str], None]:
    """``print`` for progress lines, silent when the figures go out as JSON."""

    def log(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    return log


def print_json(figures: Any, *, ensure_ascii: bool = True) -> None:
    print(json.dumps(figures, indent=2, ensure_ascii=ensure_ascii))


def run_main(main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s status; 130 after Ctrl-C (the fleet is gone by then)."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted (fleet cleaned up)", file=sys.stderr)
        sys.exit(130)
