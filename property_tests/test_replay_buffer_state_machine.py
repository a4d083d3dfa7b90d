"""The ring buffer against the model that is obviously right: deque(maxlen=capacity).

Every transition carries its insertion index in the reward, the observation, the action and the
next observation, so a wrap-around bug shows as a wrong set and a misaligned row as a mismatch.
"""

from collections import deque

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ddpg.replay_buffer import ReplayBuffer

OBS_DIM, ACTION_DIM = 2, 1


def transitions(first: int, count: int):
    i = np.arange(first, first + count, dtype=np.float64)
    return (np.repeat(i[:, None], OBS_DIM, 1), -i[:, None], i, i[:, None] + 0.5 + np.zeros(OBS_DIM),
            i % 3 == 0)


class ReplayBufferMachine(RuleBasedStateMachine):
    @initialize(capacity=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
    def create(self, capacity, seed):
        self.buffer = ReplayBuffer(capacity, OBS_DIM, ACTION_DIM, rng=np.random.default_rng(seed))
        self.model = deque(maxlen=capacity)
        self.next_index = 0

    @rule()
    def add(self):
        obs, action, reward, next_obs, terminated = transitions(self.next_index, 1)
        self.buffer.add(obs[0], action[0], reward[0], next_obs[0], terminated[0])
        self.model.append(self.next_index)
        self.next_index += 1

    @rule(count=st.integers(0, 30))
    def add_batch(self, count):
        self.buffer.add_batch(*transitions(self.next_index, count))
        self.model.extend(range(self.next_index, self.next_index + count))
        self.next_index += count

    @precondition(lambda self: len(self.model) > 0)
    @rule(batch_size=st.integers(1, 64))
    def sample(self, batch_size):
        batch = self.buffer.sample(batch_size)
        assert all(column.dtype == np.float32 for column in batch)
        i = batch.reward[:, 0]
        assert set(i) <= set(self.model), "sampled a transition that was overwritten or never added"
        # Rows stay aligned across columns.
        np.testing.assert_array_equal(batch.obs, np.repeat(i[:, None], OBS_DIM, 1))
        np.testing.assert_array_equal(batch.action[:, 0], -i)
        np.testing.assert_array_equal(batch.next_obs, batch.obs + 0.5)
        np.testing.assert_array_equal(batch.terminated[:, 0], (i % 3 == 0).astype(np.float32))

    @precondition(lambda self: len(self.model) > 0)
    @rule()
    def sample_reaches_everything_stored(self):
        # Uniform over what is stored: with capacity <= 12 and 2,000 draws, missing one of the
        # stored transitions has probability below 12 * (11/12)^2000 ~ 1e-74.
        assert set(self.buffer.sample(2_000).reward[:, 0]) == set(self.model)

    @invariant()
    def length_matches_and_never_exceeds_capacity(self):
        if hasattr(self, "buffer"):
            assert len(self.buffer) == len(self.model) <= self.buffer.capacity


TestReplayBuffer = ReplayBufferMachine.TestCase
