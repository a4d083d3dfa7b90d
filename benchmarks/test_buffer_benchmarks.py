"""Replay buffer: the per-step `add` and the per-update `sample(64)` of a full 50,000 buffer."""

import numpy as np
import pytest
from conftest import filled_buffer, tag


@pytest.fixture
def full_buffer():
    return filled_buffer()


@pytest.mark.benchmark(group="buffer")
def test_add(benchmark, full_buffer):
    tag(benchmark, "ours", unit="add")
    obs, action, next_obs = np.ones(3, np.float32), np.ones(1, np.float32), np.ones(3, np.float32)
    benchmark(full_buffer.add, obs, action, -1.0, next_obs, False)
    assert len(full_buffer) == 50_000


@pytest.mark.benchmark(group="buffer")
def test_sample_64(benchmark, full_buffer):
    tag(benchmark, "ours", unit="sample")
    batch = benchmark(full_buffer.sample, 64)
    assert batch.obs.shape == (64, 3)
