"""`ddpg sweep --vectorize`'s engine (issue 25): the seeds of each config, grid points that differ only in their
seed included, trained together in this process (ddpg.seed_training), their updates batched into one vectorised
call; then each evaluated and kept as a trial of the process pool is (ddpg.trial). Keras on JAX only.

A signal stops the sweep as the pool's does: the runs in training write their checkpoints, the rest are not
started, and the same command finishes the sweep later.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from pathlib import Path

from ddpg.config import DDPGConfig
from ddpg.run_options import RunOptions
from ddpg.seed_training import train_seeds
from ddpg.signals import stop_signals_handled
from ddpg.training import TrainingInterrupted
from ddpg.trial import finish_trial, run_name, stopped_sweep, trial_options


@dataclasses.dataclass(frozen=True)
class VectorizedEngine:
    """The runs to do, one group per config (its seed aside), each group's seeds trained together here."""

    def run(self, out: Path, runs: list[tuple[DDPGConfig, RunOptions]], done: dict[int, dict],
            progress: Callable[[int, dict], None]) -> dict[int, dict]:
        """The trial of each run not in `done`, group by group; `progress(index, row)` as each finishes. All the
        rows, by the runs' indices."""
        rows = dict(done)
        try:
            with stop_signals_handled(_interrupt):  # outside training too (evaluating, loading): a stop
                for group in seed_groups(runs, [index for index in range(len(runs)) if index not in done]):
                    _train_group(runs, group, rows, progress)
        except TrainingInterrupted as stop:
            raise stopped_sweep(stop.signal_name, [run_name(runs[index][1].out_dir) for index in sorted(rows)]
                                ) from None
        return rows


def seed_groups(runs: list[tuple[DDPGConfig, RunOptions]], todo: list[int]) -> list[list[int]]:
    """The runs of `todo` grouped by their config but for its seed, each group in the order of its first run."""
    groups: dict[DDPGConfig, list[int]] = {}
    for index in todo:
        groups.setdefault(dataclasses.replace(runs[index][0], seed=0), []).append(index)
    return list(groups.values())


def _train_group(runs: list[tuple[DDPGConfig, RunOptions]], group: list[int], rows: dict[int, dict],
                 progress: Callable[[int, dict], None]) -> None:
    """The group's seeds trained together (each resumed if it has a checkpoint), then each one's trial row."""
    configs = [runs[index][0] for index in group]
    options = [trial_options(runs[index][1]) for index in group]
    results = train_seeds(configs, options)
    for index, config, option, result in zip(group, configs, options, results, strict=True):
        rows[index] = finish_trial(config, option, result)
        progress(index, rows[index])


def _interrupt(signum, frame) -> None:
    name = signal.Signals(signum).name
    raise TrainingInterrupted(name, f"stopped by {name} outside training")
