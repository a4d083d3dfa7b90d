"""Experience replay (Lillicrap et al. 2016, Algorithm 1: "Store transition ... in R").

A preallocated float32 ring: adding never allocates, and a sample is ready to feed a network.
NumPy only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike


class Batch(NamedTuple):
    """A minibatch of N transitions (s_i, a_i, r_i, s_{i+1}, d_i), all float32.

    reward and terminated are (N, 1), not (N,): a (N,) reward added to a (N, 1) Q(s, a)
    silently broadcasts to (N, N), the classic DDPG bug.
    """

    obs: np.ndarray  # [N, obs_dim]
    action: np.ndarray  # [N, action_dim]
    reward: np.ndarray  # [N, 1]
    next_obs: np.ndarray  # [N, obs_dim]
    terminated: np.ndarray  # [N, 1], 1.0 where the episode truly ended (not a time-limit truncation)


class ReplayBuffer:
    """A circular buffer of the last `capacity` transitions, sampled uniformly with replacement.

    Args:
        capacity: how many transitions it holds; when full, `add` overwrites the oldest.
        obs_dim: length of an observation s.
        action_dim: length of an action a.
        rng: the source of sample indices; a fresh, unseeded Generator when None.
    """

    def __init__(self, capacity: int, obs_dim: int, action_dim: int,
                 rng: np.random.Generator | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"Expected capacity >= 1. Received: capacity={capacity}")
        self.capacity = capacity
        self.rng = np.random.default_rng() if rng is None else rng
        self._columns = Batch(
            obs=np.zeros((capacity, obs_dim), np.float32),
            action=np.zeros((capacity, action_dim), np.float32),
            reward=np.zeros((capacity, 1), np.float32),
            next_obs=np.zeros((capacity, obs_dim), np.float32),
            terminated=np.zeros((capacity, 1), np.float32),
        )
        self._next = 0  # where the next transition goes
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, obs: ArrayLike, action: ArrayLike, reward: float, next_obs: ArrayLike,
            terminated: bool) -> None:
        """Store one transition (s, a, r, s', d). Called every environment step, so it writes the row directly."""
        row = self._next
        for name, column, value in (("obs", self._columns.obs, obs), ("action", self._columns.action, action),
                                    ("next_obs", self._columns.next_obs, next_obs)):
            if np.shape(value) != column.shape[1:]:  # NumPy would broadcast a wrong length silently
                raise ValueError(f"Expected {name} of shape {column.shape[1:]}. Received: shape {np.shape(value)}")
            column[row] = value
        self._columns.reward[row] = reward
        self._columns.terminated[row] = terminated
        self._next = (row + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def add_batch(self, obs: ArrayLike, action: ArrayLike, reward: ArrayLike, next_obs: ArrayLike,
                  terminated: ArrayLike) -> None:
        """Store N transitions at once, in order, e.g. one step of N vectorised environments.

        Shapes: obs and next_obs (N, obs_dim), action (N, action_dim), reward and terminated (N,)
        or (N, 1). When N > capacity only the newest `capacity` are kept, as N calls of `add` would.
        """
        new = Batch(obs, action, reward, next_obs, terminated)._asdict()
        count = len(new["obs"])
        for name, column in self._columns._asdict().items():
            expected = (count, *column.shape[1:])
            values = np.asarray(new[name])
            if values.shape != expected and not (column.shape[1] == 1 and values.shape == (count,)):
                raise ValueError(f"Expected {name} of shape {expected}. Received: shape {values.shape}")
        keep = min(count, self.capacity)
        rows = (self._next + np.arange(count - keep, count)) % self.capacity
        for name, column in self._columns._asdict().items():
            column[rows] = np.reshape(new[name], (count, column.shape[1]))[count - keep:]
        self._next = (self._next + count) % self.capacity
        self._size = min(self._size + count, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """Draw batch_size transitions uniformly, with replacement, from those stored."""
        if self._size == 0:
            raise ValueError("Cannot sample from an empty replay buffer: add transitions first.")
        index = self.rng.integers(self._size, size=batch_size)  # uniform on [0, size)
        return Batch(*(column[index] for column in self._columns))

    def columns(self) -> Batch:
        """The storage itself, all `capacity` rows (only the first len(self) are filled until it wraps)."""
        return self._columns

    def position(self) -> dict:
        """Where the ring stands and its generator's state: `get_state` without copying the rows."""
        return {"next": self._next, "size": self._size, "rng": self.rng.bit_generator.state}

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Everything needed to continue exactly: (position and RNG state, filled rows by column)."""
        return self.position(), {name: column[:self._size].copy() for name, column in self._columns._asdict().items()}

    def set_state(self, info: dict, arrays: dict[str, np.ndarray]) -> None:
        """Continue from what `get_state` returned; a state that does not fit is refused before anything changes."""
        size, position = int(info["size"]), int(info["next"])
        if not (0 <= size <= self.capacity and 0 <= position < self.capacity):
            raise ValueError(f"Expected 0 <= size <= {self.capacity} and 0 <= next < {self.capacity}. "
                             f"Received: size={size}, next={position}")
        for name, column in self._columns._asdict().items():
            if arrays[name].shape != (size, *column.shape[1:]):
                raise ValueError(f"Expected {name} of shape {(size, *column.shape[1:])}. "
                                 f"Received: shape {arrays[name].shape}")
        self.rng.bit_generator.state = info["rng"]  # raises on a damaged state, still before any row is written
        for name, column in self._columns._asdict().items():
            column[:size] = arrays[name]
        self._size, self._next = size, position
