"""A trained policy to use outside this package: `load_policy(run_dir).predict(obs)`.

The saved actor (actor.keras, or best_actor.keras) mirrored in NumPy (ddpg.networks.NumpyPolicy), its actions
clipped to the bounds its output layer maps tanh onto: no environment is made to load it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ddpg.errors import UserInputError
from ddpg.exploration import clip_to_bounds


class Policy:
    """mu(s) of a saved actor, clipped to its action bounds [low, high]."""

    def __init__(self, actor_policy, low: np.ndarray, high: np.ndarray, layout: dict | None = None) -> None:
        self.actor_policy, self.low, self.high, self.layout = actor_policy, low, high, layout

    def predict(self, obs) -> np.ndarray:
        """The actions for one observation [obs_dim] (an action [action_dim]) or a batch [B, obs_dim] ([B,
        action_dim]), as float32 inside the bounds. A run whose observations were flattened (a Dict, a Box of
        more dimensions) takes them as the environment gives them: one, or a batch (a Dict of batched arrays)."""
        flat = np.asarray(obs, np.float32) if self.layout is None else flatten(self.layout, obs)
        return clip_to_bounds(self.actor_policy(flat), self.low, self.high)

    __call__ = predict


def load_policy(run_dir: str | os.PathLike, best: bool = False) -> Policy:
    """The policy of a run directory written by `ddpg train`: its final actor, or with `best` the actor of its
    best evaluation (best_actor.keras, written when the run evaluated during training: --eval-every)."""
    from ddpg.evaluation import actor_file, load_actor_file, missing_actor, read_observation_file

    path = Path(run_dir) / actor_file(best)
    if not path.is_file():
        raise UserInputError(missing_actor(path, best))
    actor_policy = load_actor_file(path)
    layout = read_observation_file(Path(run_dir)).get("flatten")
    scale, offset = np.asarray(actor_policy.scale, np.float32), np.asarray(actor_policy.offset, np.float32)
    return Policy(actor_policy, offset - np.abs(scale), offset + np.abs(scale), layout)


def flatten(layout: dict, obs) -> np.ndarray:
    """An observation (or a batch) flattened as Gymnasium's FlattenObservation flattened it during training."""
    if "box" in layout:
        value = np.asarray(obs, np.float32)
        return value.reshape(-1) if value.shape == tuple(layout["box"]) else value.reshape(value.shape[0], -1)
    parts = [flatten(sub, obs[key]) for key, sub in layout["dict"]]
    batched = parts[0].ndim == 2
    return np.concatenate(parts, axis=-1 if batched else 0)
