"""The peers group: the training-step benchmark's protocol run by two other DDPGs, beside ours.

SBX's DDPG (JAX, `sbx-rl`) and Stable-Baselines3's DDPG (PyTorch), in ms per environment step, in
the same group ("train_step") and the same run as `test_ours_training_loop`, so that the summary
prints ours / SBX and ours / SB3 at the same K beside ours / the Keras example's way. Each peer is
skipped, with the reason, where it is not installed (`pip install -e '.[peers]'`).

Protocol, as for ours: Pendulum-v1; a warm-up `learn` of one episode fills a batch and traces and
JIT-compiles the update and the policy; each timed round is `learn` of 200 more steps
(`reset_num_timesteps=False`: the environment goes on, no re-setup), learning on throughout. K
updates every K environment steps is `train_freq=K, gradient_steps=K`; one compiled call per K
steps in SBX (a `fori_loop` under `jax.jit`), K PyTorch updates in SB3.

The hyperparameters are read from `DDPGConfig()`, ours (the Keras example's): batch 64, gamma 0.99,
tau 0.005, buffer 50,000, Adam 1e-3 (actor) and 2e-3 (critic), OU noise theta 0.15, dt 0.01 and
sigma 0.2 in action units, learning from the first full batch (`learning_starts` 64). The actor is
256-256 in all three. One difference stays: the peers' critic is one MLP 256-256 on the concatenated
(s, a), while ours (the example's) first maps s through 16-32 and a through 32 and joins those 64
features into 256-256, about a quarter more multiply-adds per critic pass (83k against 67k).

At MuJoCo scale (group "train_step HalfCheetah-v5", `conftest.mujoco_config`): the `fujimoto2018`
preset on HalfCheetah-v5, batch 256, actor and critic 256-256 with (s, a) joined at the critic's input
in all three (so here the arithmetic is the same), Adam 3e-4, Gaussian noise 0.1 (the actions are in
[-1, 1] already), learning from step 256; a warm-up `learn` of 512 steps, then rounds of 200 steps.

Threads: ours is TensorFlow's default pools (one thread per core); JAX on its CPU backend
(JAX_PLATFORMS=cpu, set in conftest before anything imports JAX) with XLA's default pool, one
thread per core; PyTorch on the CPU with `torch.set_num_threads(cores)` (SBX's replay buffer is
SB3's and samples through PyTorch too).
"""

from __future__ import annotations

import gymnasium as gym
import pytest
from conftest import MUJOCO_GROUP, mujoco_config, mujoco_env, tag
from peers import sb3_ddpg, sbx_ddpg

from ddpg.config import DDPGConfig

STEPS = 200  # per timed round: one Pendulum episode, as for ours
WARM_UP_STEPS = 200  # past learning_starts, so the update and the policy are compiled before timing
ROUNDS = 5

# SBX's tensorflow_probability still calls a JAX API that JAX deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:tensorflow_probability")


def time_learning(benchmark, model, peer: str, update_every: int, warm_up_steps: int = WARM_UP_STEPS) -> None:
    """Warm up, then time `learn` of STEPS steps per round; checks one update per step was made."""
    tag(benchmark, "peer", per=STEPS, unit="step", peer=peer, update_every=update_every)
    model.learn(total_timesteps=warm_up_steps)
    steps, updates = model.num_timesteps, model._n_updates
    benchmark.pedantic(lambda: model.learn(total_timesteps=STEPS, reset_num_timesteps=False),
                       rounds=ROUNDS, iterations=1)
    timed_steps = model.num_timesteps - steps
    assert timed_steps > 0 and timed_steps % STEPS == 0
    assert model._n_updates - updates == timed_steps  # learning was on: K updates per K steps
    model.get_env().close()


@pytest.mark.parametrize("update_every", [1, 10])  # the example's, our default
@pytest.mark.benchmark(group="train_step")
def test_sbx_training_loop(benchmark, update_every):
    config = DDPGConfig(update_every=update_every)
    time_learning(benchmark, sbx_ddpg(config, gym.make(config.env_id)), "SBX", update_every)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group="train_step")
def test_sb3_training_loop(benchmark, update_every):
    config = DDPGConfig(update_every=update_every)
    model = sb3_ddpg(config, gym.make(config.env_id))
    time_learning(benchmark, model, "SB3", update_every)
    assert model.critic.optimizer.param_groups[0]["lr"] == config.critic_lr
    assert model.actor.optimizer.param_groups[0]["lr"] == config.actor_lr


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group=MUJOCO_GROUP)
def test_sbx_mujoco_training_loop(benchmark, update_every):
    config = mujoco_config(update_every)
    time_learning(benchmark, sbx_ddpg(config, mujoco_env()), "SBX", update_every, warm_up_steps=2 * 256)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group=MUJOCO_GROUP)
def test_sb3_mujoco_training_loop(benchmark, update_every):
    config = mujoco_config(update_every)
    time_learning(benchmark, sb3_ddpg(config, mujoco_env()), "SB3", update_every, warm_up_steps=2 * 256)


@pytest.mark.parametrize("build", [sbx_ddpg, sb3_ddpg], ids=["sbx", "sb3"])
def test_the_peers_leave_no_log_folder_behind(build, tmp_path, monkeypatch):
    # SB3 (and SBX, built on it) make a folder SB3-<time> in the temporary directory at every learn() unless given a
    # logger: the paired benchmarks' rounds left hundreds of empty ones in /tmp.
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    config = DDPGConfig(update_every=1, batch_size=4)
    model = build(config, gym.make(config.env_id))
    for _ in range(2):
        model.learn(total_timesteps=8, reset_num_timesteps=False)
    assert model.num_timesteps == 16
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith("SB3-")] == []
