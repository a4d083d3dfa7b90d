"""`ddpg sweep`: configs over several seeds, each trained and evaluated in a run directory of its own.

A sweep resumes: run the same command again after it was stopped, and each run is kept if finished
(its evaluation too), resumed from its checkpoint if not, started if absent; the table comes out the
same, since every run and its evaluation are deterministic per seed. The trial (train, then
evaluate, one config) is ddpg.trial's; the engines that run trials ddpg.local_engine's and
ddpg.ray_engine's; the files and tables ddpg.sweep_report's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ddpg.checkpoint import checkpoint_exists, load_checkpoint
from ddpg.config import MAX_SEED, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.grid import Point, format_value, point_name
from ddpg.run_files import RunFilesError, load_run_config
from ddpg.run_options import RunOptions
from ddpg.run_state import check_resumable
from ddpg.sweep_report import write_summary
from ddpg.trial import kept_row, run_name


class Engine(Protocol):
    """Runs the trials of the runs not in `done`: ddpg.local_engine.LocalEngine, ddpg.ray_engine.RayEngine."""

    def run(self, out: Path, runs: list[tuple[DDPGConfig, RunOptions]], done: dict[int, dict],
            progress: Callable[[int, dict], None]) -> dict[int, dict]: ...


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '0,3,5' or '0-4,7' -> distinct seeds in [0, MAX_SEED], in the order given."""
    seeds = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            seeds.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise UserInputError(f"Expected seeds like 0-9 or 0,3,5. Received: --seeds {text}") from None
    if not seeds:
        raise UserInputError(f"Expected at least one seed. Received: --seeds {text}")
    if len(set(seeds)) != len(seeds):
        twice = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        raise UserInputError(f"Expected distinct seeds, one run directory each. Received: --seeds {text} "
                             f"(twice: {', '.join(map(str, twice))})")
    if not all(0 <= seed <= MAX_SEED for seed in seeds):
        raise UserInputError(f"Expected seeds from 0 to {MAX_SEED}. Received: --seeds {text}")
    return seeds


def run_sweep(trials: list[tuple[Point, DDPGConfig]], options: RunOptions, engine: Engine,
              grid: dict[str, list] | None = None, progress: Callable[[str, dict], None] | None = None) -> list[dict]:
    """Train each (point, config) into OUT/POINT/seed_N (OUT/seed_N without a grid; OUT is options.out_dir,
    and each run has the options but its directory), then evaluate it over its eval_episodes; write
    OUT/sweep.csv, OUT/sweep.json and OUT/sweep.png; return the rows, in the order of the trials.

    Without options.overwrite, a run already there is kept if finished, resumed if not; a run of another
    config in its place is refused before anything starts. `progress(run name, row)` as each run
    finishes (a kept one at once)."""
    from ddpg.environments import config_env

    out = options.out_dir
    for config in {(config.env_id, config.env_kwargs): config for _, config in trials}.values():
        config_env(config).close()  # refuse a wrong environment before creating anything
    runs = [(config, dataclasses.replace(options, out_dir=out / point_name(point) / f"seed_{config.seed}"))
            for point, config in trials]
    if not options.overwrite:
        for config, run in runs:
            _check_same_run(config, run.out_dir)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunFilesError(f"Expected a writable output directory. Received: --out {out} ({error.strerror})") from None

    def finished(index: int, row: dict) -> None:
        if progress:
            progress(run_name(runs[index][1].out_dir), row)

    kept = {index: row for index, (config, run) in enumerate(runs) if (row := kept_row(config, run)) is not None}
    for index, row in kept.items():
        finished(index, row)
    try:
        done = engine.run(out, runs, kept, finished)
    except UserInputError:  # refused before any run began (Ray's cluster unreachable, say): nothing of ours left
        if created and not any(out.iterdir()):
            out.rmdir()
        raise
    rows = [done[index] for index in range(len(runs))]
    if grid:
        rows = [{"point": point_name(point), **{name: format_value(value) for name, value in point.items()},
                 "env_id": config.env_id, **row} for (point, config), row in zip(trials, rows, strict=True)]
    write_summary(out, rows, grid, trials[0][1].env_id, [run.out_dir for _, run in runs])
    return rows


def _check_same_run(config: DDPGConfig, run_dir: Path) -> None:
    """A run's directory may hold this config's run (to finish or resume), or nothing; its checkpoint, if it
    has one, must be whole: a damaged one is refused here, before anything starts, never started over."""

    if not (run_dir / "config.json").exists():
        return
    try:
        check_resumable(config, load_run_config(run_dir))
    except UserInputError as error:
        raise UserInputError(f"Expected {run_dir} to hold a run of this sweep's config, to finish it; pass "
                             f"--overwrite to start again. {error}") from None
    if checkpoint_exists(run_dir / "checkpoint"):
        load_checkpoint(run_dir / "checkpoint")  # CheckpointError: one line naming it
