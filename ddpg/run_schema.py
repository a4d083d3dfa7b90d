"""A run directory's schema: the columns of metrics.csv and eval.csv, the trailing average they report,
and which files make a run. Below everything that writes or reads a run (the loop, its files, the
plots, training), so that they agree by importing one place. NumPy and the standard library.
"""

from __future__ import annotations

import numpy as np

METRICS_FIELDS = ("episode", "steps", "return", "average_return_40", "wall_seconds", "steps_per_second",
                  "critic_loss", "actor_loss", "mean_critic_loss", "mean_actor_loss")
EVAL_FIELDS = ("step", "mean_return", "std_return", "episodes", "wall_seconds")
AVERAGE_WINDOW = 40  # the Keras example reports the mean return of the last 40 episodes
LOCK = "ddpg.lock"
TRIAL_FILE = "trial.json"  # a sweep's finished trial: its config, episodes, steps and row of sweep.csv
# What makes a directory hold a run, and what --overwrite removes.
RUN_MARKERS = ("metrics.csv", "checkpoint", "checkpoint.old")
RUN_FILES = ("checkpoint", "checkpoint.old", "checkpoint.tmp", "replay", "metrics.csv", "eval.csv", "actor.keras",
             "best_actor.keras", "learning_curve.png", "config.json", "tensorboard", TRIAL_FILE,
             "observation_space.json")
OBSERVATION_FILE = "observation_space.json"  # how observations were flattened: {"flatten": layout or null}


def trailing_average(returns: list[float]) -> float:
    """Mean of the last AVERAGE_WINDOW returns (fewer at the start), the example's reported number."""
    return float(np.mean(returns[-AVERAGE_WINDOW:]))


def trailing_averages(returns: list[float]) -> list[float]:
    """trailing_average after each episode of `returns`, each from its own window (a resume rebuilds them all: from
    whole prefixes, that cost the square of the episodes)."""
    return [trailing_average(returns[max(0, i - AVERAGE_WINDOW):i]) for i in range(1, len(returns) + 1)]


def evaluation_numbers(rows: list[dict[str, str]]) -> list[dict]:
    """eval.csv's rows, as read, with their numbers as numbers."""
    return [{name: float(value) if name in ("mean_return", "std_return", "wall_seconds") else int(value)
             for name, value in row.items()} for row in rows]
