"""Exploration noise added to the deterministic policy's action: a = mu(s) + N.

NumPy only. Each process draws from the `numpy.random.Generator` it is given, so a run is
reproducible from one seed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _sigma_like(sigma: ArrayLike, mu: np.ndarray) -> np.ndarray:
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim and sigma.shape != mu.shape:
        raise ValueError(f"Expected sigma to be a scalar or of mu's shape {mu.shape}. "
                         f"Received: sigma of shape {sigma.shape}")
    return np.broadcast_to(sigma, mu.shape)


class OrnsteinUhlenbeckNoise:
    """Temporally correlated noise, the paper's choice for physical control (Lillicrap et al. 2016).

    Euler-Maruyama discretisation of dx = theta (mu - x) dt + sigma dW:

        x_{t+1} = x_t + theta * (mu - x_t) * dt + sigma * sqrt(dt) * eps_t,   eps_t ~ N(0, I)

    Its stationary variance is sigma^2 / (theta * (2 - theta * dt)).

    Args:
        mu: long-run mean mu, shape (action_dim,).
        sigma: diffusion sigma, a scalar or of mu's shape.
        theta: mean-reversion rate theta.
        dt: time step Delta t.
        x0: the state `reset` returns to; zeros when None.
        rng: the source of eps; a fresh, unseeded Generator when None.
    """

    def __init__(self, mu: ArrayLike, sigma: ArrayLike, theta: float = 0.15, dt: float = 1e-2,
                 x0: ArrayLike | None = None, rng: np.random.Generator | None = None) -> None:
        self.mu = np.asarray(mu, dtype=np.float64)
        self.sigma = _sigma_like(sigma, self.mu)
        self.theta = theta
        self.dt = dt
        self.x0 = np.zeros_like(self.mu) if x0 is None else np.asarray(x0, dtype=np.float64)
        self.rng = np.random.default_rng() if rng is None else rng
        self.reset()

    def __call__(self) -> np.ndarray:
        """The next sample x_{t+1}, of mu's shape."""
        eps = self.rng.standard_normal(self.mu.shape)
        self.x = self.x + self.theta * (self.mu - self.x) * self.dt + self.sigma * np.sqrt(self.dt) * eps
        return self.x

    def reset(self) -> None:
        """Return the process to x0; called at every episode start."""
        self.x = self.x0.copy()

    def get_state(self) -> dict:
        """x_t and the generator's state: enough to continue the same path."""
        return {"x": self.x.tolist(), "rng": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        x = np.asarray(state["x"], dtype=np.float64).reshape(self.mu.shape)
        self.rng.bit_generator.state = state["rng"]  # raises on a damaged state: x must be unchanged then
        self.x = x


class GaussianNoise:
    """Uncorrelated noise N = mu + sigma * eps, eps ~ N(0, I) (as in TD3 and most later work).

    Args:
        mu: mean, shape (action_dim,).
        sigma: standard deviation, a scalar or of mu's shape.
        rng: the source of eps; a fresh, unseeded Generator when None.
    """

    def __init__(self, mu: ArrayLike, sigma: ArrayLike, rng: np.random.Generator | None = None) -> None:
        self.mu = np.asarray(mu, dtype=np.float64)
        self.sigma = _sigma_like(sigma, self.mu)
        self.rng = np.random.default_rng() if rng is None else rng

    def __call__(self) -> np.ndarray:
        """The next sample, of mu's shape."""
        return self.mu + self.sigma * self.rng.standard_normal(self.mu.shape)

    def reset(self) -> None:
        """Nothing to forget: the samples are independent. Here for the common interface."""

    def get_state(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]


class NoNoise:
    """No exploration noise: N = 0, for a policy that explores by other means (or not at all)."""

    def __init__(self, mu: ArrayLike) -> None:
        self.mu = np.zeros_like(np.asarray(mu, dtype=np.float64))

    def __call__(self) -> np.ndarray:
        return self.mu.copy()

    def reset(self) -> None:
        """Nothing to forget."""

    def get_state(self) -> dict:
        return {}

    def set_state(self, state: dict) -> None:
        if state:
            raise ValueError(f"Expected no state for no noise. Received: {state!r:.200}")
