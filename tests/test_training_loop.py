"""The training loop is Algorithm 1: what it stores, when and how often it learns, when the noise restarts,
and evaluation from distinct starting states."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("keras")

from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.evaluation import evaluate  # noqa: E402
from ddpg.noise import OrnsteinUhlenbeckNoise  # noqa: E402
from ddpg.run_options import RunOptions  # noqa: E402
from ddpg.training import Trainer, train  # noqa: E402

TINY = dict(actor_hidden=(8,), critic_state_hidden=(4,), critic_action_hidden=(4,), critic_hidden=(8,), batch_size=16)


class Corridor(gym.Env):
    """Walks `length` steps to a true end (terminated); the observation is the number of steps left."""

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, length: int = 5):
        self.length = length
        self.observation_space = gym.spaces.Box(0.0, float(length), (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = self.length
        return np.array([self.left], np.float32), {}

    def step(self, action):
        self.left -= 1
        return np.array([self.left], np.float32), -abs(float(action[0])), self.left == 0, False, {}


def corridor(length: int, time_limit: int) -> str:
    env_id = f"ddpg_tests/Corridor{length}-limit{time_limit}-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=Corridor, kwargs={"length": length}, max_episode_steps=time_limit)
    return env_id


def config(**overrides) -> DDPGConfig:
    return DDPGConfig(**{**TINY, **overrides})


@pytest.mark.parametrize("length, time_limit, terminal_rows", [
    (5, 8, [4, 9, 14]),  # the corridor ends before the time limit: each episode's last step is terminal
    (9, 5, []),  # the time limit cuts every episode first: a truncation, so s' still has a future
])
def test_only_a_true_termination_is_stored_as_terminal(length, time_limit, terminal_rows):
    result = train(config(env_id=corridor(length, time_limit), episodes=3, seed=1))
    steps = 3 * min(length, time_limit)
    terminated = result.buffer.columns().terminated[:steps, 0]
    assert np.flatnonzero(terminated).tolist() == terminal_rows


def test_a_real_time_limited_environment_stores_no_terminal_flag(pendulum_run):
    # Pendulum-v1 never terminates; its TimeLimit truncates at 200 steps.
    result, _ = pendulum_run
    assert len(result.buffer) == 200
    assert not result.buffer.columns().terminated[:200].any()


def test_each_step_stores_its_own_transition():
    # Corridor of 5: observations 5, 4, 3, 2, 1 then the next ones 4, 3, 2, 1, 0; reward -|a| of the action
    # actually taken (the stored one); three episodes in order.
    result = train(config(env_id=corridor(5, 10), episodes=3))
    stored = result.buffer.columns()
    np.testing.assert_array_equal(stored.obs[:15, 0], [5, 4, 3, 2, 1] * 3)
    np.testing.assert_array_equal(stored.next_obs[:15, 0], [4, 3, 2, 1, 0] * 3)
    np.testing.assert_array_equal(stored.reward[:15], -np.abs(stored.action[:15]))
    assert len(set(stored.action[:15, 0])) == 15  # the exploring policy's actions, not one repeated


@pytest.mark.parametrize("update_every", [1, 3, 10])
def test_one_update_per_step_from_the_first_full_batch(update_every):
    # Learning starts once the buffer holds one batch (README, deviations), and then every update_every
    # steps one call makes update_every updates. With update_every = 1: exactly one update per step
    # from step batch_size = 16 on, so 70 - 16 + 1 = 55 after 70 steps.
    result = train(config(env_id=corridor(7, 10), episodes=10, update_every=update_every))
    assert result.steps == 70
    calls = [t for t in range(1, 71) if t % update_every == 0 and t >= 16]
    expected = {1: 55, 3: 54, 10: 60}[update_every]
    assert update_every * len(calls) == expected
    assert int(result.agent.critic_optimizer.iterations.numpy()) == expected
    assert int(result.agent.actor_optimizer.iterations.numpy()) == expected


class RecordingNoise(OrnsteinUhlenbeckNoise):
    """OU noise that writes down every reset and every draw."""

    def __init__(self, *args, **kwargs) -> None:
        self.log: list[str] = []
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        super().reset()
        self.log.append("reset")

    def __call__(self) -> np.ndarray:
        self.log.append("draw")
        return super().__call__()


def test_the_noise_restarts_once_at_every_episode_start():
    trainer = Trainer(config(env_id=corridor(5, 10), episodes=3))
    noise = trainer.explorer.noise
    trainer.explorer.noise = recording = RecordingNoise(noise.mu, noise.sigma, noise.theta, noise.dt, rng=noise.rng)
    recording.log.clear()  # the reset of construction
    for _ in range(3):
        trainer.run_episode()
    trainer.close()
    assert recording.log == (["reset"] + ["draw"] * 5) * 3


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pendulum")
    return train(config(episodes=1, seed=2), RunOptions(out)), out


def test_evaluation_episodes_start_from_different_states(pendulum_run):
    _, out = pendulum_run
    returns = evaluate(out, episodes=3, seed=7)["returns"]
    assert len(set(returns)) == 3, returns  # one deterministic policy: only the starting states differ
    assert evaluate(out, episodes=3, seed=7)["returns"] == returns  # and they are the seed's own


def test_evaluation_seeds_away_from_training_by_default(pendulum_run):
    _, out = pendulum_run
    assert evaluate(out, episodes=1)["seed"] == 2 + 1_000_000  # the training seed is 2


class RecordingPendulum(gym.Wrapper):
    """Pendulum that writes down every action it is sent (Pendulum clips them itself, hiding a missing clip)."""

    def __init__(self):
        super().__init__(gym.make("Pendulum-v1"))
        self.sent = []

    def step(self, action):
        self.sent.append(np.array(action))
        return super().step(action)


def test_evaluation_sends_only_actions_within_the_bounds():
    from ddpg.evaluation import run_episodes

    env = RecordingPendulum()
    # A policy far outside [-2, 2] on both sides, as mu(s) can be by an ulp: the environment sees the bounds.
    run_episodes(lambda obs: np.array([5.0 if obs[2] > 0 else -7.0]), env, episodes=1, seed=0)
    sent = np.array(env.sent)
    assert len(sent) == 200 and sent.dtype == np.float32
    assert set(sent[:, 0]) == {2.0, -2.0}
