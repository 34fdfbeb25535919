"""Logging: -v/-vv on the CLI, the monitor's rotated log in the home, and no
print outside the surfaces."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Env, base_config
from tests.helpers import HOST, retry_until
from tmuxorch.fleet import monitorproc

PACKAGE = Path(__file__).resolve().parent.parent / "tmuxorch"

# (id, global options, a text on stderr, shown?)
VERBOSITY = [
    ("quiet: no info", (), "INFO tmuxorch.fleet.monitorproc: starting the monitor", False),
    ("-v: info", ("-v",), "INFO tmuxorch.fleet.monitorproc: starting the monitor", True),
    ("-v: no debug", ("-v",), "DEBUG tmuxorch.tmux.server: tmux new-", False),
    ("-vv: tmux commands", ("-vv",), "DEBUG tmuxorch.tmux.server: tmux new-", True),
    ("--verbose: info", ("--verbose",), "INFO tmuxorch.fleet.monitorproc: starting", True),
]


@pytest.mark.parametrize(
    ("options", "text", "shown"), [v[1:] for v in VERBOSITY], ids=[v[0] for v in VERBOSITY]
)
def test_verbose_sends_log_records_to_stderr(
    env: Env, options: tuple[str, ...], text: str, shown: bool
) -> None:
    proc = env.cli(*options, "spawn", "a")  # starts the monitor: no other runs yet
    assert proc.returncode == 0, proc.stderr
    assert (text in proc.stderr) == shown, proc.stderr


def _lines(home: Path) -> list[str]:
    """The monitor's log, oldest file first."""
    files = sorted(home.glob(f"{monitorproc.LOG_FILE}*"), reverse=True)
    return [line for path in files for line in path.read_text().splitlines()]


def test_the_monitor_logs_state_changes_to_a_rotated_private_file(env: Env) -> None:
    config = base_config(env.tmp)
    config["monitor_log"] = {"max_bytes": 1, "backups": 2}  # each record rotates
    env.write_config(config)
    env.spawn_ready("f", "--agent", "fake")
    seen = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO tmuxorch\.daemon\.monitor: f: \S+ -> idle"
    )
    retry_until(
        lambda: any(seen.match(line) for line in _lines(env.home)), message="f idle in the log"
    )
    log = env.home / monitorproc.LOG_FILE
    names = {p.name for p in env.home.glob(f"{log.name}*")}
    assert f"{log.name}.1" in names
    assert names <= {log.name, f"{log.name}.1", f"{log.name}.2"}
    for name in names:
        assert stat.S_IMODE((env.home / name).stat().st_mode) == 0o600, name
    # The detached monitor's stderr (a crash's traceback) follows the rotation.
    pid = int(monitorproc.lock_file(env.home, HOST).read_text().split()[0])
    assert os.readlink(f"/proc/{pid}/fd/2") == str(log)


def test_the_monitor_logs_what_it_delivered(env: Env) -> None:
    env.spawn_ready("f", "--agent", "fake")
    sent = env.json("send", "f", "hello")
    line = f"INFO tmuxorch.fleet.messaging: message {sent['id']} delivered to f"
    retry_until(lambda: any(line in x for x in _lines(env.home)), message="delivery logged")


def test_nothing_prints_outside_the_surfaces() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if "surfaces" not in path.relative_to(PACKAGE).parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(?<![\w.])print\(", line)
    ]
    assert found == []


# (id, what the process does first, the record, on stderr?): a lazy logger
# emits as the module's logging logger would, without importing logging early.
LAZY = [
    ("debug, nothing configured", "", "log.debug('seen')", False),
    ("info, nothing configured", "", "log.info('seen')", False),
    ("warning, nothing configured", "", "log.warning('seen')", True),
    ("debug at -vv", "import logging; logging.basicConfig(level=logging.DEBUG)",
     "log.debug('seen')", True),
    ("info at the default level", "import logging; logging.basicConfig()",
     "log.info('seen')", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "record", "shown"), [c[1:] for c in LAZY], ids=[c[0] for c in LAZY]
)
def test_lazy_logger_logs_as_logging_would(setup: str, record: str, shown: bool) -> None:
    code = (
        f"{setup}\nimport sys\nfrom tmuxorch.core import lazylog\n"
        f"log = lazylog.getLogger('tmuxorch.x')\n{record}\n"
        "print('logging' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert ("seen" in proc.stderr) == shown
    # Loaded only when a record could go somewhere.
    assert proc.stdout.strip() == str(bool(setup) or shown)
