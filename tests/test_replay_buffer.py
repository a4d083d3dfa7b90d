"""Golden tests for the circular replay buffer."""

import numpy as np
import pytest

from ddpg.replay_buffer import Batch, ReplayBuffer


def _transition(i: int, obs_dim: int = 3, action_dim: int = 1):
    """Transition number i, every field derived from i so a row tells where it came from."""
    return (np.full(obs_dim, i), np.full(action_dim, -i), float(i), np.full(obs_dim, i + 0.5), i % 2 == 0)


def test_batch_shapes_and_dtypes():
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=2, rng=np.random.default_rng(0))
    for i in range(5):
        buffer.add(*_transition(i, action_dim=2))
    batch = buffer.sample(7)
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (7, 3)
    assert batch.action.shape == (7, 2)
    # (B, 1), not (B,): a (B,) reward plus a (B, 1) Q broadcasts to (B, B).
    assert batch.reward.shape == (7, 1)
    assert batch.next_obs.shape == (7, 3)
    assert batch.terminated.shape == (7, 1)
    assert all(field.dtype == np.float32 for field in batch)


def test_rows_stay_aligned():
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=1, rng=np.random.default_rng(0))
    for i in range(10):
        buffer.add(*_transition(i))
    batch = buffer.sample(50)
    i = batch.reward[:, 0]
    np.testing.assert_array_equal(batch.obs, np.repeat(i[:, None], 3, axis=1))
    np.testing.assert_array_equal(batch.action[:, 0], -i)
    np.testing.assert_array_equal(batch.next_obs[:, 0], i + 0.5)
    np.testing.assert_array_equal(batch.terminated[:, 0], (i % 2 == 0).astype(np.float32))


def test_overwrites_the_oldest_when_full():
    # capacity 3, transitions 0..4 added: 0 and 1 are overwritten, {2, 3, 4} remain.
    buffer = ReplayBuffer(capacity=3, obs_dim=3, action_dim=1, rng=np.random.default_rng(0))
    for i in range(5):
        buffer.add(*_transition(i))
    assert len(buffer) == 3
    assert set(buffer.sample(200).reward[:, 0]) == {2.0, 3.0, 4.0}


def test_add_batch_equals_adding_one_by_one():
    one_by_one = ReplayBuffer(capacity=4, obs_dim=3, action_dim=1, rng=np.random.default_rng(1))
    batched = ReplayBuffer(capacity=4, obs_dim=3, action_dim=1, rng=np.random.default_rng(1))
    transitions = [_transition(i) for i in range(7)]
    for t in transitions:
        one_by_one.add(*t)
    batched.add_batch(*(np.stack(column) for column in zip(*transitions[:2], strict=True)))
    batched.add_batch(*(np.stack(column) for column in zip(*transitions[2:], strict=True)))  # wraps around
    assert len(batched) == len(one_by_one) == 4
    for mine, theirs in zip(batched.sample(32), one_by_one.sample(32), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_add_batch_larger_than_capacity_keeps_the_newest():
    buffer = ReplayBuffer(capacity=3, obs_dim=3, action_dim=1, rng=np.random.default_rng(0))
    transitions = [_transition(i) for i in range(8)]
    buffer.add_batch(*(np.stack(column) for column in zip(*transitions, strict=True)))
    assert len(buffer) == 3
    assert set(buffer.sample(200).reward[:, 0]) == {5.0, 6.0, 7.0}


def test_sampling_is_uniform():
    # 4 stored transitions, 40,000 draws: each count is Binomial(40000, 1/4), std ~ 87;
    # 10,000 +- 500 is more than five standard deviations.
    buffer = ReplayBuffer(capacity=4, obs_dim=1, action_dim=1, rng=np.random.default_rng(3))
    for i in range(4):
        buffer.add(*_transition(i, obs_dim=1))
    counts = np.bincount(buffer.sample(40_000).reward[:, 0].astype(int), minlength=4)
    assert np.all(np.abs(counts - 10_000) < 500), counts


def test_same_seed_same_samples():
    def draw(seed):
        buffer = ReplayBuffer(capacity=100, obs_dim=3, action_dim=1, rng=np.random.default_rng(seed))
        for i in range(100):
            buffer.add(*_transition(i))
        return buffer.sample(16).reward

    np.testing.assert_array_equal(draw(7), draw(7))
    assert not np.array_equal(draw(7), draw(8))


def test_sampling_an_empty_buffer_is_a_clear_error():
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=1)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1)


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_a_clear_error(capacity):
    with pytest.raises(ValueError, match=rf"Expected capacity >= 1\. Received: capacity={capacity}"):
        ReplayBuffer(capacity=capacity, obs_dim=3, action_dim=1)


def test_wrong_observation_shape_is_a_clear_error():
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=1)
    with pytest.raises(ValueError, match="obs"):
        buffer.add(np.zeros(4), np.zeros(1), 0.0, np.zeros(3), False)
