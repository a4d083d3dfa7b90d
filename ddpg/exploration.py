"""How the loop acts: Algorithm 1's "select action a_t = mu(s_t) + N_t", clipped to the bounds, and the
uniform random warm-up before the policy acts. NumPy only.

Every noise process here has one small protocol: `noise()` draws the next sample, `reset()` starts
an episode, `get_state()` / `set_state()` checkpoint it (its generator too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from ddpg.config import DDPGConfig
from ddpg.noise import GaussianNoise, NoNoise, OrnsteinUhlenbeckNoise


class Noise(Protocol):
    def __call__(self) -> np.ndarray: ...
    def reset(self) -> None: ...
    def get_state(self) -> dict: ...
    def set_state(self, state: dict) -> None: ...


def make_noise(config: DDPGConfig, low: np.ndarray, high: np.ndarray, rng: np.random.Generator) -> Noise:
    """The config's noise: OU in action units (the Keras example), Gaussian in half-ranges (TD3, CleanRL:
    sigma_i = gaussian_sigma (high_i - low_i) / 2), or none."""
    zeros = np.zeros(np.shape(low))
    if config.noise == "ou":
        return OrnsteinUhlenbeckNoise(zeros, config.ou_sigma, theta=config.ou_theta, dt=config.ou_dt, rng=rng)
    if config.noise == "gaussian":
        half_range = (np.asarray(high) - np.asarray(low)) / 2
        return GaussianNoise(zeros, config.gaussian_sigma * half_range, rng=rng)
    return NoNoise(zeros)


def clip_to_bounds(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """clip(a, low, high) as float32. Needed on every path: even mu(s) alone, low + (tanh + 1) / 2 (high - low)
    in float32, can land an ulp outside the bounds."""
    return np.clip(action, low, high).astype(np.float32)


class Explorer:
    """The behaviour policy: a ~ U(low, high) for the first `random_steps` steps of a run, from its own
    generator; then a = clip(mu(s) + N, low, high).

    Args:
        policy: mu, observation [obs_dim] -> action [action_dim] (the agent's NumpyPolicy).
        low, high: the action bounds.
        noise: N.
        random_steps: steps of uniform random actions before mu acts.
        rng: the warm-up's generator; a fresh, unseeded one when None.
    """

    def __init__(self, policy: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray,
                 noise: Noise, random_steps: int = 0, rng: np.random.Generator | None = None) -> None:
        self.policy, self.noise, self.random_steps = policy, noise, random_steps
        self.low, self.high = low, high  # the action space's, float32; clip_to_bounds returns float32
        self.rng = np.random.default_rng() if rng is None else rng

    def act(self, obs: np.ndarray, steps_done: int) -> np.ndarray:
        """The action of the run's step number steps_done + 1."""
        if steps_done < self.random_steps:
            return self.rng.uniform(self.low, self.high).astype(np.float32)
        return clip_to_bounds(self.policy(obs) + self.noise(), self.low, self.high)

    def get_state(self) -> dict:
        return {"noise": self.noise.get_state(), "rng": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        probe = np.random.default_rng()
        probe.bit_generator.state = state["rng"]  # raises on a damaged state before anything changes
        self.noise.set_state(state["noise"])
        self.rng.bit_generator.state = state["rng"]
