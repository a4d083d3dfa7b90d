"""The pictures: one run's learning curve, and a sweep's returns across seeds. Matplotlib, headless."""

from __future__ import annotations

import csv
import dataclasses
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ddpg.run_schema import AVERAGE_WINDOW

if TYPE_CHECKING:
    from ddpg.report import Anchor


def _figure(panels: int):
    """One row of `panels` plots, 7 inches wide each (12 for two).

    A bare Figure on the Agg canvas, headless, without pyplot: pyplot's import (its backend
    machinery and figure manager) costs `ddpg train` start-up time these two do not
    (docs/performance.md, "Start-up and the whole run").
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12 if panels == 2 else 7, 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)
    return fig, axes[0]


def _label(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_learning_curve(returns: list[float], average_returns: list[float], path: Path, title: str,
                        evaluations: list[dict] | None = None) -> None:
    """Return per episode and its 40-episode average, like the Keras example's plot; beside it, when the
    run evaluated during training, the evaluation mean and its +-1 std band against steps."""
    fig, axes = _figure(2 if evaluations else 1)
    ax = axes[0]
    episodes = np.arange(1, len(returns) + 1)
    ax.plot(episodes, returns, color="tab:blue", alpha=0.35, label="episode return")
    ax.plot(episodes, average_returns, color="tab:blue", label=f"average of the last {AVERAGE_WINDOW}")
    _label(ax, "episode", "return", title)
    if evaluations:
        ax = axes[1]
        steps = np.array([row["step"] for row in evaluations])
        mean = np.array([row["mean_return"] for row in evaluations])
        std = np.array([row["std_return"] for row in evaluations])
        ax.plot(steps, mean, color="tab:green", marker=".", label="evaluation mean (no noise)")
        ax.fill_between(steps, mean - std, mean + std, color="tab:green", alpha=0.2, label="+-1 std")
        _label(ax, "environment step", "return", "evaluation during training")
    _save(fig, path)


def plot_sweep(run_dirs: list[Path], path: Path) -> None:
    """Episode returns across seeds (mean, its min-max and +-1 std bands, each seed's 40-average) against
    episodes; beside it, when the runs evaluated during training, the evaluation means across seeds
    against steps."""
    returns, averages = _episode_columns(run_dirs, "return", "average_return_40")
    episodes = np.arange(1, returns.shape[1] + 1)
    mean, std = returns.mean(axis=0), returns.std(axis=0)
    evaluations = _evaluation_means(run_dirs)

    fig, axes = _figure(2 if evaluations else 1)
    ax = axes[0]
    ax.fill_between(episodes, returns.min(axis=0), returns.max(axis=0), color="tab:blue", alpha=0.12,
                    label="min-max across seeds")
    ax.fill_between(episodes, mean - std, mean + std, color="tab:blue", alpha=0.25, label="mean ± std")
    ax.plot(episodes, mean, color="tab:blue", label=f"mean episode return ({len(run_dirs)} seeds)")
    for curve in averages:
        ax.plot(episodes, curve, color="tab:orange", alpha=0.5, linewidth=0.8)
    ax.plot([], [], color="tab:orange", label=f"each seed's {AVERAGE_WINDOW}-episode average")
    _label(ax, "episode", "return")
    if evaluations:
        ax = axes[1]
        steps, means = evaluations
        ax.fill_between(steps, means.min(axis=0), means.max(axis=0), color="tab:green", alpha=0.15,
                        label="min-max across seeds")
        ax.plot(steps, means.mean(axis=0), color="tab:green", marker=".",
                label=f"evaluation mean, mean of {len(means)} seeds")
        for curve in means:
            ax.plot(steps, curve, color="tab:green", alpha=0.4, linewidth=0.7)
        _label(ax, "environment step", "return (no noise)")
    _save(fig, path)


def plot_grid(groups: dict[str, list[Path]], path: Path) -> list[str]:
    """One curve per grid point: its mean episode return across seeds (+-1 std band) against episodes;
    beside it, when the runs evaluated during training, its mean evaluation across seeds against steps.
    Returns the curves' labels, the points' names."""
    curves = {point: (_episode_columns(run_dirs, "return")[0], _evaluation_means(run_dirs))
              for point, run_dirs in groups.items()}
    with_evaluations = any(evaluations for _, evaluations in curves.values())
    fig, axes = _figure(2 if with_evaluations else 1)
    for index, (point, (returns, evaluations)) in enumerate(curves.items()):
        color = f"C{index % 10}"
        episodes = np.arange(1, returns.shape[1] + 1)
        mean, std = returns.mean(axis=0), returns.std(axis=0)
        axes[0].fill_between(episodes, mean - std, mean + std, color=color, alpha=0.15)
        axes[0].plot(episodes, mean, color=color, label=f"{point} ({len(returns)} seeds)")
        if evaluations:
            steps, means = evaluations
            axes[1].plot(steps, means.mean(axis=0), color=color, marker=".", label=point)
    _label(axes[0], "episode", "mean episode return across seeds")
    if with_evaluations:
        _label(axes[1], "environment step", "mean evaluation across seeds (no noise)")
    _save(fig, path)
    return list(curves)


def _episode_columns(run_dirs: list[Path], *columns: str) -> list[np.ndarray]:
    """Each named column of the runs' metrics.csv as [seeds, episodes]. Episodes that end early (a fall, a
    terminal state) give seeds different counts: the episodes every seed has."""
    tables = [_csv_rows(run_dir / "metrics.csv") for run_dir in run_dirs]
    common = min(map(len, tables))
    return [np.array([[float(row[column]) for row in rows[:common]] for rows in tables]) for column in columns]


def _evaluation_means(run_dirs: list[Path]) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, evaluation means [seeds, steps]) of the runs that evaluated during training, over the
    evaluations they all have; None when none did."""
    evaluations = [_csv_rows(run_dir / "eval.csv") for run_dir in run_dirs if (run_dir / "eval.csv").exists()]
    if not evaluations:
        return None
    count = min(map(len, evaluations))
    steps = np.array([int(row["step"]) for row in evaluations[0][:count]])
    return steps, np.array([[float(row["mean_return"]) for row in rows[:count]] for rows in evaluations])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return list(csv.DictReader(file))


ANCHOR_POINTS = 40  # at most this many of an anchor curve's points per panel, for their error bars to stay apart
ANCHOR_COLORS = ("tab:blue", "tab:orange", "tab:purple", "tab:red", "tab:brown")  # not the runs' green


def anchor_points(curve: tuple[np.ndarray, np.ndarray, np.ndarray], last_step: int,
                  most: int = ANCHOR_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (steps, mean, std) of an anchor curve to draw: its points at or before the report's last step (the
    figure compares at the same steps; later ones have no curve of ours beside them), every Nth of them when
    there are more than `most` (Tianshou's CSVs have a point every 5,000 steps)."""
    keep = curve[0] <= last_step
    stride = max(1, -(-int(keep.sum()) // most))
    return tuple(values[keep][::stride] for values in curve)


def plot_report(result: dict, path: Path, anchors: Sequence[Anchor] = ()) -> list[Anchor]:
    """`ddpg report --plot`: per environment, a panel of its mean curve over seeds with the pointwise
    bootstrap interval, each seed's curve, and the reported statistic with its interval at its step; and on it
    the environment's anchors: a curve's points as mean ± std error bars (anchor_points), a value as a dashed
    line. Returns the anchors as drawn, their curves cut to the points on the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups, statistic = result["groups"], result["statistic"]
    columns = min(len(groups), 2)
    rows = -(-len(groups) // columns)
    fig = Figure(figsize=(7 * columns, 4 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    percent = f"{100 * result['confidence']:g} %"
    drawn: list[Anchor] = []
    for ax, group in zip(axes, groups, strict=False):
        curve = group["curve"]
        seeds = f"{len(group['seeds'])} seed{'' if len(group['seeds']) == 1 else 's'}"
        for entry in group["per_seed"]:
            ax.plot(curve["steps"], entry["train_curve" if statistic == "train" else "returns"], color="tab:green",
                    alpha=0.3, linewidth=0.7)
        ax.fill_between(curve["steps"], curve["low"], curve["high"], color="tab:green", alpha=0.2,
                        label=f"{percent} bootstrap interval over seeds")
        what = (f"training return, last {result['window']:,} steps" if statistic == "train"
                else "evaluation mean return (no noise)")
        ax.plot(curve["steps"], curve["mean"], color="tab:green", label=f"mean of {seeds}")
        low, high = group["interval"]
        ax.errorbar([group.get("max_step", group["steps"])], [group["value"]],
                    yerr=[[group["value"] - low], [high - group["value"]]], color="black", marker="o", capsize=4,
                    label=f"{statistic} {group['value']:.1f} [{low:.1f}, {high:.1f}]")
        panel = [anchor for anchor in anchors if anchor.env_id == group["env_id"]]
        for anchor, color in zip(panel, itertools.cycle(ANCHOR_COLORS), strict=False):
            if anchor.curve is None:
                ax.axhline(anchor.value, color=color, linestyle="--", label=f"{anchor.label} {anchor.value:g}")
                drawn.append(anchor)
                continue
            steps, mean, std = anchor_points(anchor.curve, group["steps"])
            ax.errorbar(steps, mean, yerr=std, color=color, fmt="s", markersize=3, capsize=2, linewidth=0.8,
                        label=f"{anchor.label}, mean ± std over its seeds")
            drawn.append(dataclasses.replace(anchor, curve=(steps, mean, std)))
        _label(ax, "environment step", what, f"{group['env_id']}: {seeds}, {group['steps']:,} steps")
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    _save(fig, path)
    return drawn
