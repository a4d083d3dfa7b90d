"""Acting on one observation: ours (NumPy forward pass of the actor's weights) against Keras calls."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from conftest import tag

from ddpg.agent import DDPGAgent
from ddpg.config import DDPGConfig
from ddpg.exploration import Explorer, clip_to_bounds, make_noise

LOW, HIGH = np.array([-2.0], np.float32), np.array([2.0], np.float32)


@pytest.fixture(scope="module")
def agent():
    return DDPGAgent(3, LOW, HIGH, DDPGConfig())


def greedy(agent, obs):
    return clip_to_bounds(agent.policy(obs), LOW, HIGH)


OBS = np.array([0.5, -0.3, 1.2], np.float32)


@pytest.mark.benchmark(group="act")
def test_ours_numpy_policy(benchmark, agent):
    tag(benchmark, "ours", unit="step")
    explorer = Explorer(agent.policy, LOW, HIGH, make_noise(DDPGConfig(), LOW, HIGH, np.random.default_rng(0)))
    action = benchmark(explorer.act, OBS, 0)  # mu(s) + N, clipped, as the loop acts
    assert action.shape == (1,)


@pytest.mark.benchmark(group="act")
def test_eager_keras_call(benchmark, agent):
    # The Keras example's way: an eager call on a (1, obs_dim) tensor each step.
    tag(benchmark, "baseline", unit="step")
    action = benchmark(lambda: agent.actor(tf.expand_dims(tf.convert_to_tensor(OBS), 0)).numpy()[0])
    np.testing.assert_allclose(action, greedy(agent, OBS), rtol=1e-5, atol=1e-6)


@pytest.mark.benchmark(group="act")
def test_compiled_keras_call(benchmark, agent):
    tag(benchmark, "alternative", unit="step")
    policy = tf.function(lambda obs: agent.actor(obs[None])[0])
    policy(OBS)
    action = benchmark(lambda: policy(OBS).numpy())
    np.testing.assert_allclose(action, greedy(agent, OBS), rtol=1e-5, atol=1e-6)
