"""`ddpg sweep`'s local engine (the default): the runs in a pool of worker processes on this machine.

SIGINT or SIGTERM to the driver is passed on to the workers, whose runs stop with a checkpoint, and
the runs not started yet are not started: the error says so, and the same command finishes the
sweep later. (A Ctrl-C in a terminal reaches the workers itself, and is passed on only once.)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError
from ddpg.run_options import RunOptions
from ddpg.signals import STOP_SIGNALS, stop_signals_handled
from ddpg.training import TrainingInterrupted
from ddpg.trial import run_name, stopped_sweep, train_and_evaluate, use_threads

# A fresh process per seed where Python offers it (3.11+): each run's memory goes with its process. On
# 3.10 a worker may run a second seed, which gives the same returns: everything is seeded per run.
FRESH_PROCESS_PER_SEED = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}


@dataclass(frozen=True)
class LocalEngine:
    """`workers` processes at once, at most the cores here unless `oversubscribe`."""

    workers: int = 1
    oversubscribe: bool = False

    def __post_init__(self) -> None:
        cores = multiprocessing.cpu_count()
        if self.workers < 1 or (self.workers > cores and not self.oversubscribe):
            raise UserInputError(f"Expected 1 <= --workers <= {cores}, the cores here (--oversubscribe allows "
                                 f"more). Received: --workers {self.workers}")

    def run(self, out: Path, runs: list[tuple[DDPGConfig, RunOptions]], done: dict[int, dict],
            progress: Callable[[int, dict], None]) -> dict[int, dict]:
        """The trial of each run (under `out`) not in `done` (rows by the runs' indices), in a fresh worker
        process each; `progress(index, row)` as each finishes. All the rows, by the runs' indices."""
        rows, todo = dict(done), [index for index in range(len(runs)) if index not in done]
        if not todo:
            return rows
        workers = min(self.workers, len(todo))
        threads = max(1, multiprocessing.cpu_count() // workers)  # two trainings on two cores would otherwise fight
        context = multiprocessing.get_context("spawn")  # spawn: TensorFlow does not survive fork
        forward, started = _Forward(context.Event()), _Started(context.SimpleQueue())
        with stop_signals_handled(forward), concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start_worker,
                initargs=(threads, forward.stop, started.queue), **FRESH_PROCESS_PER_SEED) as pool:
            futures = {pool.submit(_trial, index, *runs[index]): index for index in todo}
            try:
                interrupted = _collect(futures, rows, forward, progress, started)
            except concurrent.futures.process.BrokenProcessPool:  # a worker died, no signal sent: the OOM killer, say
                raise _worker_died(pool, started, runs, rows) from None
        if interrupted or forward.signal_name:
            name = forward.signal_name or interrupted.signal_name  # the one received here, whatever a worker said
            raise stopped_sweep(name, [run_name(runs[index][1].out_dir) for index in sorted(rows)])
        return rows


class _Started:
    """The workers' (pid, run) as each trial begins, read off their queue as trials finish (a pipe that is never
    read would fill, and block a worker, in a sweep of a few thousand runs)."""

    def __init__(self, queue) -> None:
        self.queue, self.running = queue, {}

    def read(self) -> dict[int, int]:
        while not self.queue.empty():
            pid, index = self.queue.get()
            self.running[pid] = index
        return self.running


def _collect(futures: dict, rows: dict[int, dict], forward: _Forward, progress: Callable[[int, dict], None],
             started: _Started | None = None) -> TrainingInterrupted | None:
    """Each finished trial's row into `rows`, as they finish; after a stop, the trials not started are
    cancelled. The first run's TrainingInterrupted, if one stopped."""
    interrupted = None
    for future in concurrent.futures.as_completed(futures):
        if started is not None:
            started.read()
        try:
            rows[futures[future]] = future.result()
            progress(futures[future], rows[futures[future]])
        except TrainingInterrupted as error:
            interrupted = interrupted or error
        except concurrent.futures.CancelledError:
            pass
        except concurrent.futures.process.BrokenProcessPool:
            if not forward.signal_name:
                raise  # a worker died by itself: LocalEngine.run names it
            break  # a worker the signal caught before it could stop cleanly: its last checkpoint stands
        if forward.signal_name or interrupted:  # (not pool.shutdown(cancel_futures=True): it breaks 3.11's pool)
            for pending in futures:
                pending.cancel()
    return interrupted


def _worker_died(pool, started: _Started, runs: list[tuple[DDPGConfig, RunOptions]],
                 rows: dict[int, dict]) -> UserInputError:
    """One line for a worker process that died (the pool breaks, and stops the others with SIGTERM, which they
    take as a stop): which run it ran and what ended it, which runs finished. Each worker named its pid and run
    as it began; the pool's own record of its processes (private, read if there) gives the exit codes."""
    running = started.read()
    processes = getattr(pool, "_processes", None) or {}
    died = []
    for pid, index in running.items():
        process = processes.get(pid)
        if process is not None and index not in rows:
            _join_racing_the_pool(process)
        code = getattr(process, "exitcode", None)
        if index not in rows and code is not None and code not in (0, -signal.SIGTERM):
            died.append(f"{run_name(runs[index][1].out_dir)} (" + (f"killed by {signal.Signals(-code).name}"
                        if code < 0 and -code in signal.valid_signals() else f"exit status {code}") + ")")
    if not died:  # no record of which: every run that began and did not finish
        died = [run_name(runs[index][1].out_dir) for index in sorted(set(running.values()) - set(rows))] or ["one"]
    done = ", ".join(run_name(runs[index][1].out_dir) for index in sorted(rows)) or "none"
    return UserInputError(f"Expected each run's worker process to finish it. Received: the worker of "
                          f"{', '.join(died)} died, as the out-of-memory killer ends one; finished: {done}; the "
                          "others keep their checkpoints. Run the same command again to finish")


def _join_racing_the_pool(process, seconds: float = 10) -> None:
    """Wait for `process`'s exit code. The pool's own thread is joining its processes too: when it reaps one
    first, our join finds no child and returns with no code until that thread records it (seen under load)."""
    deadline = time.monotonic() + seconds
    while process.exitcode is None and time.monotonic() < deadline:
        process.join(0.1)


class _Forward:
    """The driver's handler: the first SIGINT or SIGTERM sets the stop event (a worker that starts after it runs
    nothing) and is passed on to the workers."""

    def __init__(self, stop) -> None:
        self.stop = stop
        self.signal_name: str | None = None

    def __call__(self, signum, frame) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name
            self.stop.set()
            for child in multiprocessing.active_children():
                with contextlib.suppress(OSError):
                    os.kill(child.pid, signum)


class _Worker:
    """A worker process's own state: the driver's stop event, which a process inherits only at its start
    (through the pool's initializer), never with a task."""

    stop = None
    started = None  # where each trial names its process and run as it begins


def _start_worker(threads: int, stop, started) -> None:
    """TensorFlow's threads, set before it starts; and a signal outside training (while TensorFlow loads,
    or the run is evaluated) stops the seed as one inside it does, rather than killing the process."""
    _Worker.stop, _Worker.started = stop, started

    def interrupt(signum, frame):
        name = signal.Signals(signum).name
        raise TrainingInterrupted(name, f"stopped by {name} outside training")

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    use_threads(threads)


def _trial(index: int, config: DDPGConfig, options: RunOptions) -> dict:
    """The trial of run `index`, in a worker process, unless the sweep was stopped before the worker took it
    (the driver names the signal it received)."""
    if _Worker.stop is not None and _Worker.stop.is_set():
        raise TrainingInterrupted("SIGTERM", "not started: the sweep was stopped")
    if _Worker.started is not None:
        _Worker.started.put((os.getpid(), index))
    return train_and_evaluate(config, options)
