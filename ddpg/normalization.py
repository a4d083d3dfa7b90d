"""Observation normalisation (`normalize_observations`): a running mean and variance of the observations seen,
and the clipped standardisation the networks see. NumPy only.

Both are Stable-Baselines3's, line for line:
- `RunningMeanStd` is stable_baselines3/common/running_mean_std.py (DLR-RM/stable-baselines3 at 46449adc): a
  prior of mean 0 and variance 1 worth a pseudo-count of 1e-4, merged with each batch by Chan et al.'s
  parallel formula, in float64.
- `normalize` is VecNormalize._normalize_obs (stable_baselines3/common/vec_env/vec_normalize.py at cef4cf28) with
  its defaults clip_obs=10 and epsilon=1e-8, cast to float32 as its normalize_obs casts.

Which observations update the statistics and when they freeze is the loop's business (ddpg.loop.Trainer).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

PRIOR_COUNT = 1e-4  # RunningMeanStd's epsilon: how much the prior N(0, 1) weighs, in observations
EPSILON = 1e-8  # VecNormalize's epsilon, under the square root: a constant dimension is scaled, not divided by 0
CLIP = 10.0  # VecNormalize's clip_obs: a normalised observation lies in [-10, 10]


def normalize(obs: ArrayLike, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """VecNormalize's standardisation of observations [obs_dim] or [B, obs_dim], in float64, returned as float32:

        z = clip((s - mean) / sqrt(var + 1e-8), -10, 10)
    """
    z = (np.asarray(obs, np.float64) - mean) / np.sqrt(var + EPSILON)
    return np.clip(z, -CLIP, CLIP).astype(np.float32)


class RunningMeanStd:
    """The mean and variance of every observation given to `update`, per dimension, from a prior of mean 0 and
    variance 1 that counts as 1e-4 observations (so the first batch all but replaces it).

    A batch of n observations with mean m_B and (population) variance v_B merges into (mean, var, count = c) as

        delta = m_B - mean,  c' = c + n
        mean' = mean + delta n / c'
        var'  = (var c + v_B n + delta^2 c n / c') / c'

    which equals np.mean and np.var over all the observations given (the prior's pseudo-count included), however
    they were split into batches. Float64 throughout.

    Args:
        obs_dim: the length of an observation.
    """

    def __init__(self, obs_dim: int) -> None:
        self.mean = np.zeros(obs_dim, np.float64)
        self.var = np.ones(obs_dim, np.float64)
        self.count = PRIOR_COUNT

    def update(self, observations: ArrayLike) -> None:
        """Merge a batch [n, obs_dim] (or one observation [obs_dim], a batch of one) into the statistics."""
        batch = np.asarray(observations, np.float64)
        batch = batch.reshape(1, -1) if batch.ndim == 1 else batch
        if batch.ndim != 2 or batch.shape[1] != len(self.mean):
            raise ValueError(f"Expected observations of length {len(self.mean)}. "
                             f"Received: a batch of shape {np.shape(observations)}")
        self.update_from_moments(batch.mean(axis=0), batch.var(axis=0), batch.shape[0])

    def update_from_moments(self, batch_mean: np.ndarray, batch_var: np.ndarray, batch_count: float) -> None:
        """Chan et al.'s merge of a batch's mean, population variance and count (the class docstring's formula)."""
        delta = batch_mean - self.mean
        total = self.count + batch_count
        m_2 = self.var * self.count + batch_var * batch_count + np.square(delta) * self.count * batch_count / total
        self.mean = self.mean + delta * batch_count / total
        self.var = m_2 / total
        self.count = total

    def normalize(self, obs: ArrayLike) -> np.ndarray:
        """`normalize` with these statistics (which it leaves as they are)."""
        return normalize(obs, self.mean, self.var)

    def get_state(self) -> dict:
        """{mean, var, count} as JSON values (float64 round-trips through JSON exactly); a copy."""
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": float(self.count)}

    def set_state(self, state: dict) -> None:
        """The statistics get_state gave; ValueError in one line, and nothing changed, if `state` is not that."""
        dim = len(self.mean)
        if not isinstance(state, dict) or set(state) != {"mean", "var", "count"}:
            raise ValueError(f"Expected observation statistics {{mean, var, count}}. Received: {str(state)[:200]}")
        mean, var, count = state["mean"], state["var"], state["count"]
        if not _finite_numbers(mean, dim):
            raise ValueError(f"Expected the statistics' mean of {dim} numbers. Received: mean={str(mean)[:200]}")
        if not _finite_numbers(var, dim) or min(var) < 0:
            raise ValueError(f"Expected the statistics' var of {dim} numbers >= 0. Received: var={str(var)[:200]}")
        if not _finite_numbers([count], 1) or count <= 0:
            raise ValueError(f"Expected the statistics' count > 0. Received: count={count!r}")
        self.mean, self.var, self.count = np.array(mean, np.float64), np.array(var, np.float64), float(count)


def _finite_numbers(values: object, length: int) -> bool:
    return (isinstance(values, list) and len(values) == length
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in values))
