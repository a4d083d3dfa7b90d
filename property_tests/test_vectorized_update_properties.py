"""ddpg.vectorized_update (issue 25): each seed's slice of the one vectorised call equals that agent's own update,
from random states and batches, on every variable a checkpoint holds, both losses and the acting policy.

Keras on JAX only: run with KERAS_BACKEND=jax (`tox -e jax` does); skipped where JAX or that backend is absent.
"""

import functools
import importlib.util
import os

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

if importlib.util.find_spec("jax") is None:
    pytest.skip('JAX is not installed (pip install -e ".[jax]")', allow_module_level=True)
if os.environ.get("KERAS_BACKEND") != "jax":
    pytest.skip("Keras is not on JAX here: KERAS_BACKEND=jax (tox -e jax) runs these", allow_module_level=True)

from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.backend import keras  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.replay_buffer import Batch  # noqa: E402
from ddpg.vectorized_update import SeedAxisUpdate  # noqa: E402

LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)
TINY = dict(actor_hidden=(8,), critic_state_hidden=(6,), critic_action_hidden=(6,), critic_hidden=(8,), batch_size=8,
            gamma=0.9, tau=0.3, actor_lr=0.01, critic_lr=0.03)
SHAPES = {
    "plain": {},
    "delayed-policy": {"policy_delay": 2},  # each seed's lax.cond, a select under vmap, on its own step count
    "batch-norm": {"batch_norm": True},  # moving statistics in the state, per seed
    "batch-norm-delayed-policy-l2": {"critic_state_hidden": (6,), "critic_action_hidden": (), "batch_norm": True,
                                     "policy_delay": 2, "critic_weight_decay": 0.05},
}
MOST_SEEDS = 3


@functools.cache
def agents(shape: str) -> tuple[DDPGAgent, ...]:
    """Agents of one config but their seeds (0, 1, 2), each compiled once for every test that uses it."""
    built = []
    for seed in range(MOST_SEEDS):
        keras.utils.set_random_seed(seed)
        built.append(DDPGAgent(3, LOW, HIGH, DDPGConfig(**{**TINY, **SHAPES[shape]}, seed=seed)))
    return tuple(built)


@functools.cache
def vectorized(shape: str) -> SeedAxisUpdate:
    return SeedAxisUpdate(agents(shape))


def random_start(agent: DDPGAgent, rng: np.random.Generator, critic_steps: int) -> dict[str, np.ndarray]:
    """The agent's variables moved at random, as after training: targets away from the online networks, Adam's
    moments non-zero (second moments and moving variances positive), the critic's Adam at step `critic_steps`."""
    start = {}
    for name, variable in agent.variables().items():
        value = variable.numpy()
        if "iteration" in variable.path:
            value = np.full_like(value, critic_steps if name.startswith("critic") else rng.integers(0, 5))
        elif "learning_rate" not in variable.path:
            value = value + rng.normal(scale=0.1, size=value.shape).astype(value.dtype)
            if "velocity" in variable.path or "moving_variance" in variable.path:
                value = np.abs(value) + np.float32(0.01)
        start[name] = value
    return start


def random_batches(rng: np.random.Generator, updates: int) -> Batch:
    """`updates` minibatches of 8, stacked as [K, 8, ...], actions inside the bounds."""
    shape = (updates, 8)
    return Batch(obs=rng.normal(size=(*shape, 3)).astype(np.float32),
                 action=rng.uniform(LOW, HIGH, size=(*shape, 2)).astype(np.float32),
                 reward=rng.normal(scale=3, size=(*shape, 1)).astype(np.float32),
                 next_obs=rng.normal(size=(*shape, 3)).astype(np.float32),
                 terminated=(rng.uniform(size=(*shape, 1)) < 0.3).astype(np.float32))


@pytest.mark.parametrize("shape", list(SHAPES))
@settings(max_examples=6, deadline=None)
@given(among=st.lists(st.integers(0, MOST_SEEDS - 1), min_size=1, max_size=MOST_SEEDS, unique=True),
       updates=st.sampled_from([1, 3]), seed=st.integers(0, 2**32 - 1),
       critic_steps=st.lists(st.integers(0, 5), min_size=MOST_SEEDS, max_size=MOST_SEEDS))
@example(among=[0, 1, 2], updates=1, seed=0, critic_steps=[1, 0, 3])  # policy_delay 2: the actor moves in 2 of 3
def test_each_seed_of_the_vectorised_update_equals_its_own_update(shape, among, updates, seed, critic_steps):
    # S = len(among) seeds of the three, in any order: the others' variables stay as they were
    rng = np.random.default_rng(seed)
    chosen = [agents(shape)[i] for i in among]
    starts = [random_start(agent, rng, steps) for agent, steps in zip(chosen, critic_steps, strict=False)]
    batches = [random_batches(rng, updates) for _ in chosen]
    probe = rng.normal(size=(5, 3)).astype(np.float32)
    alone = []
    for agent, start, batch in zip(chosen, starts, batches, strict=True):
        agent.set_state(start)
        alone.append((agent.update_many(batch), agent.get_state(), agent.policy(probe)))
    for agent, start in zip(chosen, starts, strict=True):
        agent.set_state(start)
    others = {i: agents(shape)[i].get_state() for i in range(MOST_SEEDS) if i not in among}
    together = vectorized(shape).update_many(batches, among=among)
    for agent, start, losses, (own_losses, own_state, own_actions) in zip(chosen, starts, together, alone, strict=True):
        state = agent.get_state()
        assert set(state) == set(own_state)
        for name, value in own_state.items():
            np.testing.assert_allclose(state[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
        assert not all(np.array_equal(state[name], start[name]) for name in state)  # it updated something
        for which, loss in own_losses.items():
            assert losses[which] == pytest.approx(loss, rel=1e-5, abs=1e-6), which
        np.testing.assert_allclose(agent.policy(probe), own_actions, rtol=1e-5, atol=1e-6)  # the policy written too
    for i, state in others.items():
        after = agents(shape)[i].get_state()
        assert all(np.array_equal(after[name], value) for name, value in state.items())


def test_agents_of_different_configs_are_refused():
    with pytest.raises(ValueError, match=r"^Expected agents of one config but for their seeds\. Received: "
                                         r"policy_delay differs"):
        SeedAxisUpdate([agents("plain")[0], agents("delayed-policy")[1]])


def test_a_batch_per_agent_is_required():
    with pytest.raises(ValueError, match=r"^Expected a batch for each of the 2 agents\. Received: 1"):
        vectorized("plain").update_many([random_batches(np.random.default_rng(0), 1)], among=[0, 2])


@settings(max_examples=5, deadline=None)
@given(rounds=st.lists(st.lists(st.integers(0, MOST_SEEDS - 1), min_size=1, max_size=MOST_SEEDS, unique=True),
                       min_size=2, max_size=5),
       seed=st.integers(0, 2**32 - 1))
@example(rounds=[[0, 1, 2], [0, 1, 2], [1], [0, 1, 2], [2, 0]], seed=0)
def test_calls_in_a_row_equal_each_seeds_own_updates_in_a_row(rounds, seed):
    # The stacked state stays between calls; a seed alone (its own update, as a lock step's fallback) or another
    # choice of seeds writes it back first, and the checkpoint's reads (get_state) see every update
    rng = np.random.default_rng(seed)
    shape = "delayed-policy"
    starts = [random_start(agent, rng, steps) for agent, steps in zip(agents(shape), (1, 0, 3), strict=True)]
    plan = [(among, [random_batches(rng, 1) for _ in among]) for among in rounds]
    probe = rng.normal(size=(5, 3)).astype(np.float32)
    for agent, start in zip(agents(shape), starts, strict=True):
        agent.set_state(start)
    for among, batches in plan:
        for i, batch in zip(among, batches, strict=True):
            agents(shape)[i].update_many(batch)
    alone = [(agent.policy(probe), agent.get_state()) for agent in agents(shape)]
    for agent, start in zip(agents(shape), starts, strict=True):
        agent.set_state(start)
    for among, batches in plan:
        if len(among) == 1:
            agents(shape)[among[0]].update_many(batches[0])
        else:
            vectorized(shape).update_many(batches, among=among)
    for agent, (own_actions, own) in zip(agents(shape), alone, strict=True):
        np.testing.assert_allclose(agent.policy(probe), own_actions, rtol=1e-5, atol=1e-6)  # before any read
        state = agent.get_state()
        for name, value in own.items():
            np.testing.assert_allclose(state[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
