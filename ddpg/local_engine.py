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
        forward = _Forward(context.Event())
        with stop_signals_handled(forward), concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start_worker, initargs=(threads, forward.stop),
                **FRESH_PROCESS_PER_SEED) as pool:
            futures = {pool.submit(_trial, *runs[index]): index for index in todo}
            interrupted = _collect(futures, rows, forward, progress)
        if interrupted or forward.signal_name:
            name = interrupted.signal_name if interrupted else forward.signal_name
            raise stopped_sweep(name, [run_name(runs[index][1].out_dir) for index in sorted(rows)])
        return rows


def _collect(futures: dict, rows: dict[int, dict], forward: _Forward,
             progress: Callable[[int, dict], None]) -> TrainingInterrupted | None:
    """Each finished trial's row into `rows`, as they finish; after a stop, the trials not started are
    cancelled. The first run's TrainingInterrupted, if one stopped."""
    interrupted = None
    for future in concurrent.futures.as_completed(futures):
        try:
            rows[futures[future]] = future.result()
            progress(futures[future], rows[futures[future]])
        except TrainingInterrupted as error:
            interrupted = interrupted or error
        except concurrent.futures.CancelledError:
            pass
        except concurrent.futures.process.BrokenProcessPool:
            if not forward.signal_name:
                raise
            break  # a worker the signal caught before it could stop cleanly: its last checkpoint stands
        if forward.signal_name or interrupted:  # (not pool.shutdown(cancel_futures=True): it breaks 3.11's pool)
            for pending in futures:
                pending.cancel()
    return interrupted


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


def _start_worker(threads: int, stop) -> None:
    """TensorFlow's threads, set before it starts; and a signal outside training (while TensorFlow loads,
    or the run is evaluated) stops the seed as one inside it does, rather than killing the process."""
    _Worker.stop = stop

    def interrupt(signum, frame):
        name = signal.Signals(signum).name
        raise TrainingInterrupted(name, f"stopped by {name} outside training")

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    use_threads(threads)


def _trial(config: DDPGConfig, options: RunOptions) -> dict:
    """The trial, in a worker process, unless the sweep was stopped before the worker took it."""
    if _Worker.stop is not None and _Worker.stop.is_set():
        raise TrainingInterrupted("SIGTERM", "not started: the sweep was stopped")
    return train_and_evaluate(config, options)
