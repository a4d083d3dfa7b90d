"""Replay buffer: the per-step `add` and the per-update `sample(64)` of a full 50,000 buffer."""

import numpy as np
import pytest

from ddpg.replay_buffer import ReplayBuffer


@pytest.fixture
def full_buffer():
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(50_000, obs_dim=3, action_dim=1, rng=rng)
    n = 50_000
    buffer.add_batch(rng.normal(size=(n, 3)), rng.normal(size=(n, 1)), rng.normal(size=n),
                     rng.normal(size=(n, 3)), np.zeros(n))
    return buffer


@pytest.mark.benchmark(group="buffer")
def test_add(benchmark, full_buffer):
    obs, action, next_obs = np.ones(3, np.float32), np.ones(1, np.float32), np.ones(3, np.float32)
    benchmark(full_buffer.add, obs, action, -1.0, next_obs, False)
    assert len(full_buffer) == 50_000


@pytest.mark.benchmark(group="buffer")
def test_sample_64(benchmark, full_buffer):
    batch = benchmark(full_buffer.sample, 64)
    assert batch.obs.shape == (64, 3)
