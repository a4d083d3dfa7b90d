"""The whole training step (act, env.step, add, update), in ms per environment step.

Ours runs `Trainer.run_episode` (200 Pendulum steps) after a warm-up episode has filled a batch
and compiled the update; the baseline runs 200 steps of the Keras example's loop.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import tag
from keras_example import KerasExampleBuffer, KerasExampleLearner, keras_example_episode

from ddpg.config import DDPGConfig
from ddpg.networks import build_actor, build_critic
from ddpg.noise import OrnsteinUhlenbeckNoise
from ddpg.training import Trainer

STEPS = 200  # one Pendulum episode


@pytest.mark.parametrize("update_every", [1, 10, 50])  # the example's, the default, the fastest measured
@pytest.mark.benchmark(group="train_step")
def test_ours_training_loop(benchmark, update_every):
    tag(benchmark, "ours", per=STEPS, unit="step")
    trainer = Trainer(DDPGConfig(update_every=update_every))
    trainer.run_episode()  # fills the buffer past one batch and compiles the update
    row = benchmark.pedantic(trainer.run_episode, rounds=5, iterations=1)
    assert row["steps"] == trainer.steps and np.isfinite(row["critic_loss"])


@pytest.mark.benchmark(group="train_step")
def test_keras_example_training_loop(benchmark):
    tag(benchmark, "baseline", per=STEPS, unit="step")
    env = gym.make("Pendulum-v1")
    actor, critic = build_actor(3, [-2.0], [2.0]), build_critic(3, 1)
    target_actor, target_critic = build_actor(3, [-2.0], [2.0]), build_critic(3, 1)
    target_actor.set_weights(actor.get_weights())
    target_critic.set_weights(critic.get_weights())
    learner = KerasExampleLearner(actor, critic, target_actor, target_critic)
    buffer = KerasExampleBuffer(50_000, 3, 1, 64, np.random.default_rng(0))
    noise = OrnsteinUhlenbeckNoise(np.zeros(1), 0.2, rng=np.random.default_rng(0))

    def episode():
        keras_example_episode(env, learner, buffer, noise, -2.0, 2.0, STEPS)

    episode()
    benchmark.pedantic(episode, rounds=3, iterations=1)
    assert buffer.counter >= 2 * STEPS and buffer.counter % STEPS == 0  # warm-up plus each timed round
    env.close()
