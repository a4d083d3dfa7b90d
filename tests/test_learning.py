"""DDPG must learn problems whose answers are known, and a broken update must not.

Two problems: the optimal one-step policy below (the actor, and the critic's terminal mask), and
`TwoStarts` further down (the critic's bootstrapping through a time limit, and its stop at a true end).

The one-step environment: s ~ U(-1, 1); reward r = -(a - 0.5 s)^2 - s^2; the episode terminates after the
one step, with next observation s' = a. Q(s, a) = r exactly, so the optimal policy is mu(s) = 0.5 s.

The margin: max |mu(s) - 0.5 s| < 0.15 on s in [-0.9, 0.9]. Measured with this config, a correct
update ends at 0.016-0.078 (seeds 0-5); each broken update below ends at 0.246 or more.

Why each broken update fails the margin:
- actor loss with the wrong sign: the actor descends Q and runs to a bound, |error| >= 0.55 at s = 0.9;
- no terminal mask: the target bootstraps gamma Q'(s', .) ~ -gamma a^2 from s' = a, so Q ~
  -(a - 0.5 s)^2 - 0.99 a^2 and its argmax is a = 0.5 s / 1.99 ~ 0.25 s: error ~ 0.23 at s = 0.9;
- a frozen actor, or a frozen critic, stays near a = 0 (last layer U(-3e-3, 3e-3)): error ~ 0.45.
Measured (seeds 0 and 1): wrong sign 1.45, no mask 0.246 and 0.257, frozen actor 0.45, frozen critic 0.45.
"""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("keras")

from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.training import train  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

ENV_ID = "ddpg_tests/OneStepTarget-v0"


class OneStepTarget(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = self.np_random.uniform(-1, 1, size=1).astype(np.float32)
        return self.s, {}

    def step(self, action):
        a = float(np.clip(action[0], -1, 1))
        s = float(self.s[0])
        reward = -((a - 0.5 * s) ** 2) - s**2
        return np.array([a], np.float32), reward, True, False, {}


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=OneStepTarget)

CONFIG = DDPGConfig(
    env_id=ENV_ID, episodes=2000, seed=0, gamma=0.99, tau=0.05, actor_lr=1e-3, critic_lr=2e-3,
    buffer_capacity=5_000, batch_size=64, ou_sigma=3.0,  # one step per episode: N ~ 3 * sqrt(0.01) = 0.3
    actor_hidden=(32, 32), critic_state_hidden=(32,), critic_action_hidden=(32,), critic_hidden=(64,),
    update_every=1,  # the margins above were measured with an update after every step
)
MARGIN = 0.15


def policy_error(seed: int) -> float:
    result = train(DDPGConfig(**{**CONFIG.__dict__, "seed": seed}))
    s = np.linspace(-0.9, 0.9, 37, dtype=np.float32)[:, None]
    return float(np.max(np.abs(result.agent.policy(s) - 0.5 * s)))


@pytest.mark.parametrize("seed", [0, 1])
def test_learns_the_optimal_one_step_policy(seed):
    assert policy_error(seed) < MARGIN


class TwoStarts(gym.Env):
    """Bootstrapping through a time limit, and stopping at a true end.

    Reward 1 on every step. An episode starts in s = 0 or s = 1 (even odds). From s = 1 the one step
    terminates; from s = 0 the episode goes on in s = 0 until the time limit (10 steps) truncates it.
    So, whatever the action, Q(1, a) = 1 and Q(0, a) = 1 / (1 - gamma) = 10 with gamma = 0.9: the
    truncation must still bootstrap.

    The margins, |Q(0, mu(0)) - 10| < 1 and |Q(1, mu(1)) - 1| < 0.5, measured (seeds 0 and 1): a correct
    update ends at [9.99, 1.00] and [10.00, 1.00]. Broken:
    - truncation stored as terminal: 1 step in 10 from s = 0 ends the bootstrap, Q(0) = 1 / (1 - 0.9 * 0.9)
      = 5.3 (measured 5.3 and 6.0);
    - the mask inverted, gamma d Q': Q(0) = 1 and Q(1) = 1 + 0.9 Q(0) = 1.9 (measured [1.0, 1.9] twice);
    - no mask, gamma Q' always: Q(1) = 1 + 0.9 Q(0) = 10 (measured 10.0 twice).
    """

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = float(self.np_random.integers(2))
        return np.array([self.s], np.float32), {}

    def step(self, action):
        terminated = self.s == 1.0
        self.s = 0.0
        return np.array([self.s], np.float32), 1.0, terminated, False, {}


TWO_STARTS = "ddpg_tests/TwoStarts-v0"
if TWO_STARTS not in gym.registry:
    gym.register(TWO_STARTS, entry_point=TwoStarts, max_episode_steps=10)


@pytest.mark.parametrize("seed", [0, 1])
def test_bootstraps_through_truncation_and_stops_at_termination(seed):
    config = DDPGConfig(env_id=TWO_STARTS, episodes=300, seed=seed, gamma=0.9, tau=0.05, critic_lr=2e-3,
                        buffer_capacity=10_000, batch_size=64, actor_hidden=(16,), critic_state_hidden=(16,),
                        critic_action_hidden=(16,), critic_hidden=(32,), update_every=1)
    agent = train(config).agent
    s = np.array([[0.0], [1.0]], np.float32)
    q0, q1 = agent.critic([s, agent.policy(s)]).numpy().ravel()
    assert abs(q0 - 10) < 1 and abs(q1 - 1) < 0.5, (q0, q1)
