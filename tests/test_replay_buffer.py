"""Golden tests for the circular replay buffer."""

import json

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


def test_capacity_one_is_accepted_and_keeps_the_last_transition():
    buffer = ReplayBuffer(capacity=1, obs_dim=3, action_dim=1, rng=np.random.default_rng(0))
    buffer.add(*_transition(4))
    buffer.add(*_transition(5))
    assert len(buffer) == 1
    np.testing.assert_array_equal(buffer.sample(3).reward, [[5.0]] * 3)


def test_without_a_generator_the_buffer_gets_a_fresh_one():
    buffer = ReplayBuffer(capacity=2, obs_dim=3, action_dim=1)
    assert isinstance(buffer.rng, np.random.Generator)
    buffer.add(*_transition(1))
    np.testing.assert_array_equal(buffer.sample(2).reward, [[1.0], [1.0]])


def test_sampling_an_empty_buffer_says_so():
    with pytest.raises(ValueError) as error:
        ReplayBuffer(capacity=10, obs_dim=3, action_dim=1).sample(1)
    assert str(error.value) == "Cannot sample from an empty replay buffer: add transitions first."


@pytest.mark.parametrize("position, name, expected", [(0, "obs", "(3,)"), (1, "action", "(2,)"),
                                                      (3, "next_obs", "(3,)")])
def test_add_names_the_field_of_the_wrong_shape_and_both_shapes(position, name, expected):
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=2)
    transition = [np.zeros(3), np.zeros(2), 0.0, np.zeros(3), False]
    transition[position] = np.zeros((4, 1))  # (4, 1): its [2:] is () and its [1:] is (1,), neither is its shape
    with pytest.raises(ValueError) as error:
        buffer.add(*transition)
    assert str(error.value) == f"Expected {name} of shape {expected}. Received: shape (4, 1)"
    assert len(buffer) == 0


@pytest.mark.parametrize("position, name, expected", [(0, "obs", "(2, 3)"), (1, "action", "(2, 1)"),
                                                      (2, "reward", "(2, 1)"), (3, "next_obs", "(2, 3)"),
                                                      (4, "terminated", "(2, 1)")])
def test_add_batch_names_the_field_of_the_wrong_shape_and_both_shapes(position, name, expected):
    # One-wide columns (action here, reward, terminated) also take (N,); (N, 2) is refused even for them.
    buffer = ReplayBuffer(capacity=10, obs_dim=3, action_dim=1)
    batch = [np.zeros((2, 3)), np.zeros((2, 1)), np.zeros(2), np.zeros((2, 3)), np.zeros(2)]
    batch[position] = np.zeros((2, 2))
    with pytest.raises(ValueError) as error:
        buffer.add_batch(*batch)
    assert str(error.value) == f"Expected {name} of shape {expected}. Received: shape (2, 2)"
    assert len(buffer) == 0


def test_add_batch_takes_n_or_n_by_1_for_one_wide_columns():
    buffer = ReplayBuffer(capacity=4, obs_dim=2, action_dim=1, rng=np.random.default_rng(0))
    buffer.add_batch(np.zeros((2, 2)), np.array([1.0, 2.0]), np.array([[3.0], [4.0]]), np.zeros((2, 2)),
                     np.array([True, False]))
    columns = buffer.columns()
    np.testing.assert_array_equal(columns.action[:2], [[1.0], [2.0]])
    np.testing.assert_array_equal(columns.reward[:2], [[3.0], [4.0]])
    np.testing.assert_array_equal(columns.terminated[:2], [[1.0], [0.0]])


def test_columns_are_the_storage_in_insertion_order_until_it_wraps():
    # capacity 3, transitions 0..4: rows 0 and 1 were overwritten by 3 and 4, row 2 holds 2.
    buffer = ReplayBuffer(capacity=3, obs_dim=3, action_dim=1)
    for i in range(5):
        buffer.add(*_transition(i))
    columns = buffer.columns()
    np.testing.assert_array_equal(columns.reward[:, 0], [3.0, 4.0, 2.0])
    np.testing.assert_array_equal(columns.obs[:, 0], [3.0, 4.0, 2.0])
    np.testing.assert_array_equal(columns.terminated[:, 0], [0.0, 1.0, 1.0])


def _filled(count, seed, capacity=5):
    buffer = ReplayBuffer(capacity=capacity, obs_dim=3, action_dim=1, rng=np.random.default_rng(seed))
    for i in range(count):
        buffer.add(*_transition(i))
    return buffer


@pytest.mark.parametrize("count", [0, 3, 5, 7])  # empty, part full, just full, wrapped
def test_a_restored_buffer_continues_exactly(count):
    # Reference: 2 more transitions and two samples after the state was taken. Restored: another buffer, from
    # another seed and with other rows, given that state (its info through JSON, as a checkpoint stores it).
    reference = _filled(count, seed=1)
    info, arrays = reference.get_state()
    assert info["size"] == min(count, 5) and info["next"] == count % 5
    assert all(len(column) == info["size"] for column in arrays.values())
    restored = _filled(4, seed=2)
    restored.set_state(json.loads(json.dumps(info)), arrays)
    for buffer in (reference, restored):
        buffer.add(*_transition(100))
        buffer.add(*_transition(101))
    assert len(restored) == len(reference)
    for mine, theirs in zip(restored.columns(), reference.columns(), strict=True):
        np.testing.assert_array_equal(mine[:len(reference)], theirs[:len(reference)])
    for _ in range(2):
        for mine, theirs in zip(restored.sample(16), reference.sample(16), strict=True):
            np.testing.assert_array_equal(mine, theirs)


def test_get_state_copies_the_rows():
    buffer = _filled(3, seed=0)
    _, arrays = buffer.get_state()
    buffer.columns().reward[0] = 42.0  # a view of the storage would see this
    np.testing.assert_array_equal(arrays["reward"][:, 0], [0.0, 1.0, 2.0])


@pytest.mark.parametrize("size, position", [(5, 4), (0, 0)])
def test_set_state_accepts_the_bounds(size, position):
    info, arrays = _filled(7, seed=0).get_state()
    buffer = _filled(0, seed=1)
    buffer.set_state({**info, "size": size, "next": position}, {name: a[:size] for name, a in arrays.items()})
    assert len(buffer) == size


@pytest.mark.parametrize("size, position", [(6, 0), (-1, 0), (3, 5), (3, -1)])
def test_set_state_refuses_a_size_or_position_out_of_range_and_changes_nothing(size, position):
    info, arrays = _filled(7, seed=0).get_state()
    buffer = _filled(2, seed=1)
    before = buffer.get_state()
    with pytest.raises(ValueError) as error:
        buffer.set_state({**info, "size": size, "next": position}, arrays)
    assert str(error.value) == (f"Expected 0 <= size <= 5 and 0 <= next < 5. Received: size={size}, next={position}")
    _assert_same_state(buffer.get_state(), before)


@pytest.mark.parametrize("name, shape", [("obs", (3, 2)), ("action", (3, 2)), ("reward", (2, 1)),
                                         ("next_obs", (3,)), ("terminated", (4, 1))])
def test_set_state_refuses_rows_of_the_wrong_shape_and_changes_nothing(name, shape):
    info, arrays = _filled(3, seed=0).get_state()
    buffer = _filled(2, seed=1)
    before = buffer.get_state()
    with pytest.raises(ValueError) as error:
        buffer.set_state(info, {**arrays, name: np.zeros(shape, np.float32)})
    expected = {"obs": (3, 3), "action": (3, 1), "reward": (3, 1), "next_obs": (3, 3), "terminated": (3, 1)}[name]
    assert str(error.value) == f"Expected {name} of shape {expected}. Received: shape {shape}"
    _assert_same_state(buffer.get_state(), before)


def test_set_state_refuses_a_damaged_generator_state_and_changes_nothing():
    info, arrays = _filled(3, seed=0).get_state()
    buffer = _filled(2, seed=1)
    before = buffer.get_state()
    with pytest.raises(ValueError):
        buffer.set_state({**info, "rng": {**info["rng"], "bit_generator": "MT19937"}}, arrays)
    _assert_same_state(buffer.get_state(), before)


def _assert_same_state(state, expected):
    assert state[0] == expected[0]
    assert state[1].keys() == expected[1].keys()
    for name in expected[1]:
        np.testing.assert_array_equal(state[1][name], expected[1][name])


def test_add_after_add_batch_writes_the_next_row():
    # capacity 4: a batch of 3 fills rows 0-2, so the next add goes to row 3 and the one after wraps to row 0.
    buffer = ReplayBuffer(capacity=4, obs_dim=3, action_dim=1)
    buffer.add_batch(*(np.stack(column) for column in zip(*[_transition(i) for i in range(3)], strict=True)))
    buffer.add(*_transition(3))
    buffer.add(*_transition(4))
    np.testing.assert_array_equal(buffer.columns().reward[:, 0], [4.0, 1.0, 2.0, 3.0])
    assert len(buffer) == 4
