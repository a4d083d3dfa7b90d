"""`ddpg sweep`: one config over several seeds, each trained and evaluated in a fresh process.

A sweep resumes: run the same command again after it was stopped, and each seed's run is skipped
if finished, resumed from its checkpoint if not, started if absent; the table comes out the same,
since every run and its evaluation are deterministic per seed.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import io
import json
import multiprocessing
import os
import signal
import statistics
import sys
from pathlib import Path

from ddpg.checkpoint import checkpoint_exists, load_checkpoint
from ddpg.config import MAX_SEED, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.grid import Point, format_value, point_name
from ddpg.run_files import RunFilesError, load_run_config, write_atomically
from ddpg.run_options import RunOptions
from ddpg.run_state import check_resumable
from ddpg.signals import STOP_SIGNALS, stop_signals_handled
from ddpg.training import TrainingInterrupted
from ddpg.trial import run_name, stopped_sweep, train_and_evaluate, use_threads

SWEEP_FIELDS = ("seed", "final_average_return_40", "eval_mean_return", "eval_std_return", "wall_seconds",
                "steps_per_second")
# Where Gymnasium's spec has no reward_threshold: Pendulum-v1's customary bar (the Keras example's
# runs end near -150 to -200).
SOLVED_THRESHOLDS = {"Pendulum-v1": -200.0}


def solved_threshold(env_id: str) -> float | None:
    """The evaluation mean at which a seed counts as solved: ours for Pendulum-v1, else Gymnasium's
    reward_threshold for the environment, else none."""
    import gymnasium as gym

    if env_id in SOLVED_THRESHOLDS:
        return SOLVED_THRESHOLDS[env_id]
    threshold = gym.spec(env_id).reward_threshold
    return None if threshold is None else float(threshold)


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


def check_workers(workers: int, oversubscribe: bool) -> None:
    cores = multiprocessing.cpu_count()
    if workers < 1 or (workers > cores and not oversubscribe):
        raise UserInputError(f"Expected 1 <= --workers <= {cores}, the cores here (--oversubscribe allows more). "
                             f"Received: --workers {workers}")


def run_sweep(trials: list[tuple[Point, DDPGConfig]], options: RunOptions, workers: int = 1,
              oversubscribe: bool = False, grid: dict[str, list] | None = None, engine: str = "local",
              address: str | None = None, cpus_per_trial: int = 1) -> list[dict]:
    """Train each (point, config) in a fresh process into OUT/POINT/seed_N (OUT/seed_N without a grid; OUT is
    options.out_dir, and each run has the options but its directory),
    then evaluate it over its eval_episodes; write out/sweep.csv, out/sweep.json and out/sweep.png;
    return the rows, in the order of the trials.

    Without options.overwrite, a run already there is finished or resumed, not started again; a run of another
    config in its place is refused before anything starts. `engine` "local": a process pool of
    `workers`; "ray": Ray tasks of `cpus_per_trial` cores each, on the cluster at `address` (None:
    a local one)."""
    from ddpg.environments import make_env

    out, overwrite = options.out_dir, options.overwrite
    if engine == "local":
        check_workers(workers, oversubscribe)
    else:
        from ddpg.ray_engine import import_ray

        import_ray()
    for env_id in dict.fromkeys(config.env_id for _, config in trials):
        make_env(env_id).close()  # refuse a wrong environment before creating anything
    runs = [(config, dataclasses.replace(options, out_dir=out / point_name(point) / f"seed_{config.seed}"))
            for point, config in trials]
    if not overwrite:
        for config, run in runs:
            _check_same_run(config, run.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunFilesError(f"Expected a writable output directory. Received: --out {out} ({error.strerror})") from None
    if engine == "local":
        done = _run_all(runs, min(workers, len(runs)))
    else:
        from ddpg.ray_engine import run_on_ray

        done = run_on_ray(runs, out, cpus_per_trial, address)
    rows = [done[index] for index in range(len(runs))]
    if grid:
        rows = [{"point": point_name(point), **{name: format_value(value) for name, value in point.items()},
                 "env_id": config.env_id, **row} for (point, config), row in zip(trials, rows, strict=True)]
    _write_summary(out, rows, grid, trials[0][1].env_id, [run.out_dir for _, run in runs])
    return rows


def _write_summary(out: Path, rows: list[dict], grid: dict[str, list] | None, env_id: str,
                   run_dirs: list[Path]) -> None:
    """sweep.csv, sweep.json and sweep.png: by seed without a grid (env_id's), else by grid point."""
    from ddpg.plots import plot_grid, plot_sweep

    fields = list(dict.fromkeys(rows[0])) if grid else SWEEP_FIELDS
    text = io.StringIO()
    writer = csv.DictWriter(text, fields)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out / "sweep.csv", text.getvalue())
    report = ({"grid": grid, "rows": rows, "points": point_summaries(rows)} if grid else
              {"env_id": env_id, "rows": rows, **summary(rows, solved_threshold(env_id))})
    write_atomically(out / "sweep.json", json.dumps(report, indent=2) + "\n")
    if grid:
        groups: dict[str, list[Path]] = {}
        for row, run_dir in zip(rows, run_dirs, strict=True):
            groups.setdefault(row["point"], []).append(run_dir)
        plot_grid(groups, out / "sweep.png")
    else:
        plot_sweep(run_dirs, out / "sweep.png")


# A fresh process per seed where Python offers it (3.11+): each run's memory goes with its process. On
# 3.10 a worker may run a second seed, which gives the same returns: everything is seeded per run.
FRESH_PROCESS_PER_SEED = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}


def _run_all(runs: list[tuple[DDPGConfig, RunOptions]], workers: int) -> dict[int, dict]:
    """Each run in a worker process, `workers` at once; the rows by the runs' indices.

    SIGINT or SIGTERM to this process is passed on to the workers, whose runs stop with a checkpoint,
    and the seeds not started yet are not started: the error says so, and the same command finishes
    the sweep later. (A Ctrl-C in a terminal reaches the workers itself, and is passed on only once.)
    """
    threads = max(1, multiprocessing.cpu_count() // workers)  # two trainings on two cores would otherwise fight
    # spawn: TensorFlow does not survive fork.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()  # set on a signal: a worker that starts after it runs nothing
    stopped: list[str] = []

    def forward(signum, frame):
        if not stopped:
            stopped.append(signal.Signals(signum).name)
            stop.set()
            for child in multiprocessing.active_children():
                with contextlib.suppress(OSError):
                    os.kill(child.pid, signum)

    rows, interrupted = {}, None
    with stop_signals_handled(forward):
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                                    initargs=(threads, stop), **FRESH_PROCESS_PER_SEED) as pool:
            futures = {pool.submit(_sweep_one, config, run): index for index, (config, run) in enumerate(runs)}
            for future in concurrent.futures.as_completed(futures):
                try:
                    rows[futures[future]] = future.result()
                except TrainingInterrupted as error:
                    interrupted = interrupted or error
                except concurrent.futures.CancelledError:
                    pass
                except concurrent.futures.process.BrokenProcessPool:
                    if not stopped:
                        raise
                    break  # a worker the signal caught before it could stop cleanly: its last checkpoint stands
                if stopped or interrupted:  # (not pool.shutdown(cancel_futures=True): it breaks 3.11's pool)
                    for pending in futures:
                        pending.cancel()
    if interrupted or stopped:
        name = interrupted.signal_name if interrupted else stopped[0]
        raise stopped_sweep(name, [run_name(runs[index][1].out_dir) for index in sorted(rows)])
    return rows


_STOP = None  # in a worker: the driver's stop event


def _start_worker(threads: int, stop) -> None:
    """TensorFlow's threads, set before it starts; and a signal outside training (while TensorFlow loads,
    or the run is evaluated) stops the seed as one inside it does, rather than killing the process."""
    global _STOP
    _STOP = stop

    def interrupt(signum, frame):
        name = signal.Signals(signum).name
        raise TrainingInterrupted(name, f"stopped by {name} outside training")

    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupt)
    use_threads(threads)


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


def _sweep_one(config: DDPGConfig, options: RunOptions) -> dict:
    """The trial, in a worker process, unless the sweep was stopped before the worker took it."""
    if _STOP is not None and _STOP.is_set():
        raise TrainingInterrupted("SIGTERM", "not started: the sweep was stopped")
    return train_and_evaluate(config, options)


def summary(rows: list[dict], threshold: float | None) -> dict:
    evals = [row["eval_mean_return"] for row in rows]
    return {"median_eval_mean_return": statistics.median(evals), "worst_eval_mean_return": min(evals),
            "solved_threshold": threshold,
            "solved_seeds": None if threshold is None else sum(e >= threshold for e in evals), "seeds": len(evals)}


def threshold_line(env_id: str) -> str:
    """The tables' header: the environment and the evaluation mean at which a seed counts as solved."""
    threshold = solved_threshold(env_id)
    return (f"{env_id}: solved at an evaluation mean >= {threshold:g}" if threshold is not None else
            f"{env_id}: no solved threshold (Gymnasium's spec has none)")


def format_sweep_table(rows: list[dict], env_id: str) -> str:
    """A Markdown table of the sweep, with the median and the count of seeds at or above the environment's
    solved threshold (when it has one)."""
    threshold = solved_threshold(env_id)
    lines = [threshold_line(env_id), "",
             "| seed | final 40-episode average | evaluation mean ± std | wall s | steps/s |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['seed']} | {row['final_average_return_40']:.1f} | {row['eval_mean_return']:.1f} ± "
                     f"{row['eval_std_return']:.1f} | {row['wall_seconds']:.0f} | {row['steps_per_second']:.0f} |")
    total = summary(rows, threshold)
    solved = "" if threshold is None else f", {total['solved_seeds']} of {total['seeds']} seeds >= {threshold:g}"
    lines.append(f"\nevaluation: median {total['median_eval_mean_return']:.1f}, worst "
                 f"{total['worst_eval_mean_return']:.1f}{solved}")
    return "\n".join(lines)


def point_summaries(rows: list[dict]) -> list[dict]:
    """Per grid point, in the rows' order: summary() of its seeds' evaluation means, with their mean and
    spread (standard deviation over seeds), against its environment's solved threshold."""
    points: dict[str, list[dict]] = {}
    for row in rows:
        points.setdefault(row["point"], []).append(row)
    summaries = []
    for point, point_rows in points.items():
        evals = [row["eval_mean_return"] for row in point_rows]
        env_id = point_rows[0]["env_id"]
        summaries.append({"point": point, "env_id": env_id, "mean_eval_mean_return": statistics.fmean(evals),
                          "std_eval_mean_return": statistics.stdev(evals) if len(evals) > 1 else 0.0,
                          **summary(point_rows, solved_threshold(env_id))})
    return summaries


def format_grid_table(rows: list[dict]) -> str:
    """A Markdown table with a row per grid point (its evaluation means over seeds: mean ± standard
    deviation, median, worst, solved count), under each environment's solved threshold."""
    summaries = point_summaries(rows)
    lines = [threshold_line(env_id) for env_id in dict.fromkeys(entry["env_id"] for entry in summaries)]
    lines += ["", "| grid point | seeds | evaluation mean ± std over seeds | median | worst | solved |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for entry in summaries:
        solved = "—" if entry["solved_seeds"] is None else f"{entry['solved_seeds']} of {entry['seeds']}"
        lines.append(f"| {entry['point']} | {entry['seeds']} | {entry['mean_eval_mean_return']:.1f} ± "
                     f"{entry['std_eval_mean_return']:.1f} | {entry['median_eval_mean_return']:.1f} | "
                     f"{entry['worst_eval_mean_return']:.1f} | {solved} |")
    return "\n".join(lines)
