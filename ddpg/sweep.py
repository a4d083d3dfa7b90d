"""The picture of a sweep: returns across seeds, episode by episode."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ddpg.training import AVERAGE_WINDOW


def plot_sweep(sweep_dir: Path, seeds: list[int], path: Path) -> None:
    """Mean episode return across seeds with its min-max and +-1 std bands, and each seed's 40-average."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    returns, averages = [], []
    for seed in seeds:
        with (sweep_dir / f"seed_{seed}" / "metrics.csv").open() as file:
            rows = list(csv.DictReader(file))
        returns.append([float(row["return"]) for row in rows])
        averages.append([float(row["average_return_40"]) for row in rows])
    returns, averages = np.array(returns), np.array(averages)
    episodes = np.arange(1, returns.shape[1] + 1)
    mean, std = returns.mean(axis=0), returns.std(axis=0)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(episodes, returns.min(axis=0), returns.max(axis=0), color="tab:blue", alpha=0.12,
                    label="min-max across seeds")
    ax.fill_between(episodes, mean - std, mean + std, color="tab:blue", alpha=0.25, label="mean ± std")
    ax.plot(episodes, mean, color="tab:blue", label=f"mean episode return ({len(seeds)} seeds)")
    for curve in averages:
        ax.plot(episodes, curve, color="tab:orange", alpha=0.5, linewidth=0.8)
    ax.plot([], [], color="tab:orange", label=f"each seed's {AVERAGE_WINDOW}-episode average")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
