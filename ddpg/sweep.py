"""`ddpg sweep`: one config over several seeds, each trained and evaluated in a fresh process."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import statistics
from pathlib import Path

from ddpg.config import MAX_SEED, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.run_files import RunFilesError, write_atomically

SWEEP_FIELDS = ("seed", "final_average_return_40", "eval_mean_return", "eval_std_return", "wall_seconds",
                "steps_per_second")
SOLVED = -200  # Pendulum-v1: the evaluation mean a solved seed reaches


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


def run_sweep(configs: list[DDPGConfig], out: Path, workers: int, overwrite: bool = False,
              oversubscribe: bool = False) -> list[dict]:
    """Train each config (one per seed) in its own process into out/seed_N, then evaluate it over its
    eval_episodes; write out/sweep.csv, out/sweep.json and out/sweep.png; return the rows, by seed."""
    from ddpg.environments import make_env

    check_workers(workers, oversubscribe)
    if (out / "sweep.csv").exists() and not overwrite:
        raise UserInputError(f"Expected an output directory without a sweep in it. Received: --out {out}, which "
                             "holds sweep.csv; pass --overwrite to replace it")
    make_env(configs[0].env_id).close()  # refuse a wrong environment before creating anything
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunFilesError(f"Expected a writable output directory. Received: --out {out} ({error.strerror})") from None
    workers = min(workers, len(configs))
    threads = max(1, multiprocessing.cpu_count() // workers)  # two trainings on two cores would otherwise fight
    jobs = [(config, out / f"seed_{config.seed}", threads, overwrite) for config in configs]
    # spawn: TensorFlow does not survive fork.
    with multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=1) as pool:
        rows = sorted(pool.starmap(_sweep_one, jobs, chunksize=1), key=lambda row: row["seed"])
    text = io.StringIO()
    writer = csv.DictWriter(text, SWEEP_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out / "sweep.csv", text.getvalue())
    write_atomically(out / "sweep.json", json.dumps({"rows": rows, **summary(rows)}, indent=2) + "\n")
    from ddpg.plots import plot_sweep

    plot_sweep([out / f"seed_{row['seed']}" for row in rows], out / "sweep.png")
    return rows


def _sweep_one(config: DDPGConfig, run_dir: Path, threads: int, overwrite: bool) -> dict:
    """Train and evaluate one seed in a fresh process: no state shared between seeds."""
    from ddpg.backend import tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from ddpg.evaluation import evaluate
    from ddpg.training import train

    result = train(config, run_dir, overwrite=overwrite)
    report = evaluate(run_dir, episodes=config.eval_episodes)
    return {"seed": config.seed, "final_average_return_40": result.average_returns[-1],
            "eval_mean_return": report["mean_return"], "eval_std_return": report["std_return"],
            "wall_seconds": result.wall_seconds, "steps_per_second": result.steps / result.wall_seconds}


def summary(rows: list[dict]) -> dict:
    evals = [row["eval_mean_return"] for row in rows]
    return {"median_eval_mean_return": statistics.median(evals), "worst_eval_mean_return": min(evals),
            "solved_threshold": SOLVED, "solved_seeds": sum(e >= SOLVED for e in evals), "seeds": len(evals)}


def format_sweep_table(rows: list[dict]) -> str:
    """A Markdown table of the sweep, with the median and the count of seeds at or above -200."""
    lines = ["| seed | final 40-episode average | evaluation mean ± std | wall s | steps/s |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['seed']} | {row['final_average_return_40']:.1f} | {row['eval_mean_return']:.1f} ± "
                     f"{row['eval_std_return']:.1f} | {row['wall_seconds']:.0f} | {row['steps_per_second']:.0f} |")
    total = summary(rows)
    lines.append(f"\nevaluation: median {total['median_eval_mean_return']:.1f}, worst "
                 f"{total['worst_eval_mean_return']:.1f}, {total['solved_seeds']} of {total['seeds']} seeds "
                 f">= {SOLVED}")
    return "\n".join(lines)
