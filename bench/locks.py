"""auto-lock figures: hand-off latency, throughput under contention.

    python bench/locks.py [--runs N]

The hook's own cost, as Claude runs it, is bench/hooks.py's.

1. Hand-off: from ``release`` returning in one process to ``acquire``
   returning in the waiting process. Target: p50 <= 20 ms.
2. Dead holder: from ``kill -9`` of the process holding a lock to the waiting
   process acquiring it (it re-checks the holder's liveness every
   ``LIVENESS_CHECK``). Target: p50 <= 2 s (issue 4: "release within 2 s").
3. Acquisitions per second: 8 processes x ROUNDS acquire/release on 3 paths.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tmuxorch.locks.acquisition import acquire, release_holder
from tmuxorch.locks.keys import Holder
from tmuxorch.store.interface import Store
from tmuxorch.store.opening import open_store

_WAITER = """
import sys, time
from pathlib import Path
from tmuxorch.locks.acquisition import acquire
from tmuxorch.locks.keys import Holder
from tmuxorch.store.opening import open_store
with open_store(Path(sys.argv[1])) as store:
    outcome = acquire(store, sys.argv[2], Holder("waiter"), wait=30)
    print(time.time(), outcome.granted, flush=True)
"""


def _waiter_proceeds(store: Store, home: Path, path: str, free: Callable[[], None]) -> float:
    """Seconds from ``free()`` (which lets the lock go) to a queued waiter process having it."""
    waiter = subprocess.Popen(
        [sys.executable, "-c", _WAITER, str(home), path], stdout=subprocess.PIPE, text=True
    )
    while not store.waiters():
        time.sleep(0.005)
    time.sleep(0.05)  # let the waiter settle into its wait
    freed = time.time()
    free()
    out, _ = waiter.communicate(timeout=30)
    stamp, granted = out.split()
    assert granted == "True"
    release_holder(store, "waiter")
    return float(stamp) - freed


def _frees(
    tmp: Path, name: str, runs: int, hold: Callable[[Store, Path, str], Callable[[], None]]
) -> list[float]:
    """``runs`` times: ``hold`` takes the lock and returns how to let it go;
    seconds from letting go to a queued waiter having it."""
    home, path = tmp / name, str(tmp / f"{name}.txt")
    with open_store(home) as store:
        return [_waiter_proceeds(store, home, path, hold(store, home, path)) for _ in range(runs)]


def _held_here(store: Store, home: Path, path: str) -> Callable[[], None]:
    assert acquire(store, path, Holder("holder")).granted
    return lambda: release_holder(store, "holder")


def handoff(tmp: Path, runs: int) -> None:
    latencies = _frees(tmp, "handoff", runs, _held_here)
    p50 = statistics.median(latencies) * 1000
    p90 = sorted(latencies)[int(len(latencies) * 0.9)] * 1000
    print(f"  release -> waiter proceeds: p50 {p50:.2f} ms, p90 {p90:.2f} ms (target p50 <= 20 ms)")


_HOLDER = """
import os, sys, time
from pathlib import Path
from tmuxorch.core import procs
from tmuxorch.locks.acquisition import acquire
from tmuxorch.locks.keys import Holder
from tmuxorch.store.opening import open_store
me = Holder("doomed", pid=os.getpid(), pid_start=procs.start_time(os.getpid()))
with open_store(Path(sys.argv[1])) as store:
    assert acquire(store, sys.argv[2], me).granted
print("held", flush=True)
time.sleep(600)
"""


def _held_by_a_process(store: Store, home: Path, path: str) -> Callable[[], None]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(home), path], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"

    def kill() -> None:
        holder.kill()
        holder.wait()

    return kill


def dead_holder(tmp: Path, runs: int) -> None:
    latencies = _frees(tmp, "dead", runs, _held_by_a_process)
    p50 = statistics.median(latencies) * 1000
    worst = max(latencies) * 1000
    print(f"  kill -9 holder -> waiter proceeds: p50 {p50:.0f} ms, max {worst:.0f} ms"
          " (target p50 <= 2000 ms)")  # fmt: skip


ROUNDS = 300


def _contender(index: int, home: str, work: str) -> None:
    holder = Holder(f"w{index}")
    with open_store(Path(home)) as store:
        for n in range(ROUNDS):
            outcome = acquire(store, f"{work}/file-{(index + n) % 3}", holder, wait=60)
            assert outcome.granted
            release_holder(store, holder.key)


def throughput(tmp: Path, workers: int = 8) -> None:
    home = tmp / "contention"
    open_store(home).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_contender, args=(i, str(home), str(tmp))) for i in range(workers)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    elapsed = time.perf_counter() - started
    total = workers * ROUNDS
    print(f"  {workers} processes x {ROUNDS} on 3 paths: {total / elapsed:.0f} acquisitions/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tmuxorch-bench-"))
    try:
        print("hand-off latency")
        handoff(tmp, max(10, args.runs // 2))
        print("dead holder")
        dead_holder(tmp, max(5, args.runs // 4))
        print("throughput under contention")
        throughput(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
