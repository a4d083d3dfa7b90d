"""Invariants of the assembled agent: the soft target update, the separation of its two steps, K updates
in one call, and actions inside the bounds. Few examples each: every one runs TensorFlow."""

import functools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.exploration import Explorer  # noqa: E402
from ddpg.noise import NoNoise, OrnsteinUhlenbeckNoise  # noqa: E402
from ddpg.replay_buffer import Batch  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

TINY = dict(actor_hidden=(8,), critic_state_hidden=(6,), critic_action_hidden=(6,), critic_hidden=(8,), batch_size=8)
LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)
FEW = settings(max_examples=10, deadline=None)


@functools.cache
def _agent_and_start(xla: bool, batch_norm: bool = False) -> tuple[DDPGAgent, dict]:
    keras.utils.set_random_seed(0)
    agent = DDPGAgent(3, LOW, HIGH, DDPGConfig(**TINY, update_every=4 if xla else 1, batch_norm=batch_norm))
    # Targets away from the online networks, as after training: "moved by tau (theta - theta')" is then
    # not trivially 0 = 0, and a step that read the wrong network would show.
    rng = np.random.default_rng(0)
    for variable in agent.target_actor.weights + agent.target_critic.weights:  # moving variances stay > 0
        variable.assign(np.abs(variable.numpy() + rng.normal(scale=0.1, size=variable.shape).astype(np.float32))
                        if "moving_variance" in variable.path else
                        variable.numpy() + rng.normal(scale=0.1, size=variable.shape).astype(np.float32))
    return agent, agent.get_state()


def fresh_agent(xla: bool = False, batch_norm: bool = False) -> DDPGAgent:
    """The same agent every time (compiled once), its networks and optimisers back at the start."""
    agent, start = _agent_and_start(xla, batch_norm)
    agent.set_state(start)
    agent.tau.assign(DDPGConfig.tau)
    return agent


def values(width: float):
    return st.floats(-width, width, width=32, allow_subnormal=False)


@st.composite
def batches(draw, size: int | None = None) -> Batch:
    size = size or draw(st.integers(1, 12))
    action = draw(arrays(np.float32, (size, 2), elements=st.floats(0, 1, width=32, allow_subnormal=False)))
    return Batch(obs=draw(arrays(np.float32, (size, 3), elements=values(5))),
                 action=(LOW + action * (HIGH - LOW)).astype(np.float32),
                 reward=draw(arrays(np.float32, (size, 1), elements=values(10))),
                 next_obs=draw(arrays(np.float32, (size, 3), elements=values(5))),
                 terminated=draw(arrays(np.float32, (size, 1), elements=st.sampled_from([0.0, 1.0]))))


def weights(*networks) -> list[np.ndarray]:
    return [w.numpy() for network in networks for w in network.weights]


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
@FEW
@given(batch=batches(), tau=st.floats(0.01, 1.0))
def test_each_target_parameter_moves_by_tau_times_its_gap_to_the_online_one(batch_norm, batch, tau):
    # theta'_new - theta' = tau (theta - theta'), theta being the online parameter after this update's steps;
    # with batch normalisation, the moving statistics too (weights() holds them)
    agent = fresh_agent(batch_norm=batch_norm)
    agent.tau.assign(tau)
    before = weights(agent.target_actor, agent.target_critic)
    agent.update(batch)
    online, after = weights(agent.actor, agent.critic), weights(agent.target_actor, agent.target_critic)
    for theta_before, theta, theta_after in zip(before, online, after, strict=True):
        np.testing.assert_allclose(theta_after - theta_before, tau * (theta - theta_before), rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="runs TensorFlow's eager steps; on JAX the update is checked against TensorFlow's")
@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
@FEW
@given(batch=batches())
def test_the_critic_step_moves_only_the_critic_and_the_actor_step_only_the_actor(batch_norm, batch):
    # with batch normalisation, each step moves its own network's moving statistics, no other's
    agent = fresh_agent(batch_norm=batch_norm)
    s, a, r, s2, d = (tf.constant(column) for column in batch)
    actor, targets = weights(agent.actor), weights(agent.target_actor, agent.target_critic)
    agent.critic_step(s, a, r, s2, d)
    for before, after in zip(actor + targets, weights(agent.actor, agent.target_actor, agent.target_critic),
                             strict=True):
        np.testing.assert_array_equal(after, before)
    critic = weights(agent.critic)
    agent.actor_step(s)
    for before, after in zip(critic + targets, weights(agent.critic, agent.target_actor, agent.target_critic),
                             strict=True):
        np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("xla", [False, True], ids=["graph", "xla"])
@FEW
@given(data=st.data(), k=st.integers(1, 5))
def test_k_updates_in_one_call_equal_k_single_updates(xla, data, k):
    # One batch size: XLA compiles once per shape, and a compile costs seconds.
    batch_list = [data.draw(batches(TINY["batch_size"])) for _ in range(k)]
    agent = fresh_agent(xla)
    for batch in batch_list:
        agent.update(batch)
    one_by_one = weights(agent.actor, agent.critic, agent.target_actor, agent.target_critic)
    agent = fresh_agent(xla)
    agent.update_many(Batch(*(np.stack(column) for column in zip(*batch_list, strict=True))))
    at_once = weights(agent.actor, agent.critic, agent.target_actor, agent.target_critic)
    for a, b in zip(one_by_one, at_once, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@st.composite
def bounds(draw) -> tuple[np.ndarray, np.ndarray]:
    dim = draw(st.integers(1, 3))
    low = draw(arrays(np.float32, dim, elements=st.floats(-5, 5, width=32, allow_subnormal=False)))
    width = draw(arrays(np.float32, dim, elements=st.floats(2**-10, 10, width=32)))
    return low, (low + width).astype(np.float32)


@settings(max_examples=15, deadline=None)
@given(low_high=bounds(), obs=arrays(np.float32, (16, 3), elements=values(1e4)), sigma=st.floats(0, 1e4))
# Found by this test: mu(s) = low + (tanh + 1) / 2 (high - low) in float32 came out at -0.39183426 < low.
@example(low_high=(np.array([-0.39183405], np.float32), np.array([4.6081657], np.float32)),
         obs=np.full((16, 3), 6724.0, np.float32), sigma=0.0)
def test_actions_lie_within_the_bounds(low_high, obs, sigma):
    low, high = low_high
    keras.utils.set_random_seed(0)
    agent = DDPGAgent(3, low, high, DDPGConfig(**TINY))
    for noise in (NoNoise(low), OrnsteinUhlenbeckNoise(np.zeros_like(low), sigma, rng=np.random.default_rng(0))):
        explorer = Explorer(agent.policy, low, high, noise)
        actions = np.array([explorer.act(o, steps_done=0) for o in obs])
        assert np.all(low <= actions) and np.all(actions <= high), (noise, actions)
