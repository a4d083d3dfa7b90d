"""The whole training step (act, env.step, add, update), in ms per environment step.

Ours runs `Trainer.run_episode` (200 Pendulum steps; at K = 1 as one TensorFlow call, Trainer.advance)
after a warm-up episode has filled a batch and compiled the update; the baseline runs 200 steps of the
Keras example's loop. The bound of a step with one update per step is one update's matrix products
(`bound.update_matmul_shapes`, 97.5 MFLOP at batch 64) at this machine's own large-GEMM rate, a 1024^3
float32 product through NumPy timed in the same run.

At MuJoCo scale (group "train_step HalfCheetah-v5"): the `ourddpg-retuned` preset (batch 256, 256-256,
(s, a) joined at the critic's input, Gaussian noise 0.1), on HalfCheetah-v5, with learning from the
first 256 steps instead of the preset's 25,000 (warm-up steps are not what is timed), 200 steps per
round; skipped with the reason where MuJoCo is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from bound import LargeGemm, update_matmul_shapes
from conftest import MUJOCO_GROUP, mujoco_config, mujoco_env, tag
from keras_example import keras_example_episode, keras_example_setup

from ddpg.config import DDPGConfig
from ddpg.training import Trainer

pytestmark = pytest.mark.slow  # whole training loops and many update shapes: the newest Python runs them

STEPS = 200  # one Pendulum episode


def bound_per_step(benchmark, config: DDPGConfig, obs_dim: int, action_dim: int) -> None:
    """One update's products at the large-GEMM rate: a step's bound at one update per step."""
    shapes = update_matmul_shapes(config.batch_size, obs_dim, action_dim, config.actor_hidden,
                                  config.critic_state_hidden, config.critic_action_hidden, config.critic_hidden)
    tag(benchmark, "bound", per=LargeGemm.per_update(shapes), unit="step")
    benchmark.pedantic(LargeGemm(), rounds=20, iterations=1, warmup_rounds=2)


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
    env, learner, buffer, noise = keras_example_setup()

    def episode():
        keras_example_episode(env, learner, buffer, noise, -2.0, 2.0, STEPS)

    episode()
    benchmark.pedantic(episode, rounds=3, iterations=1)
    assert buffer.counter >= 2 * STEPS and buffer.counter % STEPS == 0  # warm-up plus each timed round
    env.close()


@pytest.mark.benchmark(group="train_step")
def test_bound_large_gemm_rate(benchmark):
    bound_per_step(benchmark, DDPGConfig(), 3, 1)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group=MUJOCO_GROUP)
def test_ours_mujoco_training_loop(benchmark, update_every):
    tag(benchmark, "ours", per=STEPS, unit="step")
    trainer = Trainer(mujoco_config(update_every), env=mujoco_env())
    trainer.run_steps(2 * 256)  # past learning_starts, the update compiled
    benchmark.pedantic(trainer.run_steps, args=(STEPS,), rounds=5, iterations=1)
    assert np.isfinite(trainer.losses["critic_loss"]) and trainer.agent.critic_optimizer.iterations.numpy() > 0


@pytest.mark.benchmark(group=MUJOCO_GROUP)
def test_bound_mujoco_large_gemm_rate(benchmark):
    env = mujoco_env()
    bound_per_step(benchmark, mujoco_config(10), env.observation_space.shape[0], env.action_space.shape[0])
