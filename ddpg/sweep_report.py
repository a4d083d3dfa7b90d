"""A sweep's report: sweep.csv, sweep.json and sweep.png, and the tables `ddpg sweep` prints.

By seed without a grid; by grid point with one (each point's seeds summarised: mean and spread,
median, worst, solved count against the environment's threshold).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

from ddpg.plots import plot_grid, plot_sweep
from ddpg.run_files import write_atomically

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
    # A module-qualified id (module:Name-v0): its module was imported when the sweep made its environment.
    threshold = gym.spec(env_id.split(":", 1)[-1]).reward_threshold
    return None if threshold is None else float(threshold)


def write_summary(out: Path, rows: list[dict], grid: dict[str, list] | None, env_id: str,
                   run_dirs: list[Path]) -> None:
    """sweep.csv, sweep.json and sweep.png: by seed without a grid (env_id's), else by grid point."""
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
