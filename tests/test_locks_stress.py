"""Stress without Claude: 8 processes x 250 acquire/release on 3 paths.

Each worker process is one holder and calls the hook entry point's
``tmuxorch.claude.autolock.main`` in-process for every acquisition (the real stdin
parsing, store opening, waiting and deny output), then ends its "turn" with
``release_holder`` as the Stop hook does. In-process, because 4000 Python
starts would take minutes on CI; the subprocess path is covered by
tests/test_locks.py.

Mutual exclusion is checked by a witness independent of the store: while it
believes it holds a path, a worker owns an O_EXCL marker file for it.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

from tmuxorch.store.opening import open_store

WORKERS = 8
ROUNDS = 250  # 2000 acquisitions in all: contention on every path, in CI's time
PATHS = 3


def _worker(index: int, home: str, config: str, work: str, out: str) -> None:
    os.environ.update(TMUXORCH_HOME=home, TMUXORCH_CONFIG=config, TMUXORCH_AGENT=f"w{index}")
    os.environ.pop("TMUX_PANE", None)
    from tmuxorch.claude.autolock import main
    from tmuxorch.locks.acquisition import release_holder

    result: dict[str, Any] = {"granted": 0, "denied": [], "overlaps": 0, "max_wait": 0.0}
    for n in range(ROUNDS):
        target = f"{work}/file-{(index + n) % PATHS}.txt"
        payload = {"tool_name": "Write", "cwd": work, "tool_input": {"file_path": target}}
        sys.stdin = io.TextIOWrapper(io.BytesIO(json.dumps(payload).encode()))
        stdout = io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(stdout):
            code = main([])
        result["max_wait"] = max(result["max_wait"], time.monotonic() - started)
        if code != 0 or stdout.getvalue():
            result["denied"].append(stdout.getvalue() or f"exit {code}")
            continue
        result["granted"] += 1
        witness = f"{target}.held"
        try:
            fd = os.open(witness, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            result["overlaps"] += 1
        else:
            os.write(fd, f"w{index}".encode())  # a little work while holding it
            os.close(fd)
            os.unlink(witness)
        with open_store(Path(home), create=False) as store:
            release_holder(store, f"w{index}")
    Path(out).write_text(json.dumps(result))


def test_never_two_holders_and_no_waiter_starved(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text("locks: {wait: 60}\n")
    open_store(home).close()
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"out-{i}.json" for i in range(WORKERS)]
    procs = [
        ctx.Process(target=_worker, args=(i, str(home), str(config), str(work), str(outs[i])))
        for i in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(240)
        assert proc.exitcode == 0
    results = [json.loads(out.read_text()) for out in outs]
    assert sum(r["overlaps"] for r in results) == 0
    assert [r["denied"] for r in results] == [[]] * WORKERS  # nobody starved past locks.wait
    assert [r["granted"] for r in results] == [ROUNDS] * WORKERS
    with open_store(home) as store:
        assert store.locks() == [] and store.waiters() == []
    assert list((home / "lockwait").iterdir()) == []
