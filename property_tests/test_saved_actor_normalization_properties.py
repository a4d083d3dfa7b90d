"""The proof of normalize_observations' saved actor: for any statistics and any actor, actor.keras loaded with plain
`keras.models.load_model` maps raw observations to the agent's policy on normalised ones, and so does
`ddpg.load_policy(run).predict`. Few examples: every one saves and loads a Keras file."""

import functools
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")

import ddpg  # noqa: E402
from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.normalization import normalize  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

OBS_DIM = 3
LOW, HIGH = np.array([-2.0, 0.0], np.float32), np.array([2.0, 0.5], np.float32)
FEW = settings(max_examples=20, deadline=None)


@functools.cache
def agent(batch_norm: bool) -> DDPGAgent:
    return DDPGAgent(OBS_DIM, LOW, HIGH, DDPGConfig(actor_hidden=(16, 8), critic_state_hidden=(4,),
                                                    critic_action_hidden=(4,), critic_hidden=(8,), batch_size=8,
                                                    batch_norm=batch_norm, normalize_observations=True))


@st.composite
def statistics(draw) -> dict:
    """Per dimension a standard deviation from 1e-3 to 1e3 and a mean up to 20 of them from 0 (raw units: 5000 mm
    with a spread of 600 mm is 8): Keras's layers hold the mean in float32, whose rounding relative to the spread
    must stay below the tolerance. A count as a run reaches it."""
    std = np.array(draw(st.lists(st.floats(1e-3, 1e3), min_size=OBS_DIM, max_size=OBS_DIM)))
    offsets = np.array(draw(st.lists(st.floats(-20, 20), min_size=OBS_DIM, max_size=OBS_DIM)))
    return {"mean": (offsets * std).tolist(), "var": (std**2).tolist(), "count": draw(st.floats(1e-4, 1e7))}


def random_actor(agent: DDPGAgent, seed: int) -> list[np.ndarray]:
    """Weights away from the initial ones (the last layer's U(+-3e-3) would leave tanh near 0 whatever it is fed);
    moving variances kept > 0."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.7, size=w.shape).astype(np.float32) for w in agent.actor.weights]
    for i, variable in enumerate(agent.actor.weights):
        if "moving_variance" in variable.path:
            weights[i] = np.abs(weights[i]) + np.float32(0.1)
    return weights


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
@FEW
@given(state=statistics(), seed=st.integers(0, 2**32 - 1), spread=st.floats(0.1, 15))
def test_the_saved_actor_on_raw_observations_is_the_agents_policy_on_normalised_ones(batch_norm, state, seed, spread):
    learner = agent(batch_norm)
    weights = random_actor(learner, seed)
    learner.actor.set_weights(weights)
    learner.policy.use_weights(weights)
    mean, var = np.array(state["mean"]), np.array(state["var"])
    # Observations up to `spread` standard deviations from the mean: inside the clip at 10, and past it.
    raw = (mean + np.sqrt(var) * np.random.default_rng(seed).uniform(-spread, spread, (16, OBS_DIM))).astype(
        np.float32)
    expected = learner.policy(normalize(raw, mean, var))
    with tempfile.TemporaryDirectory() as run:
        learner.save_actor(Path(run) / "actor.keras", statistics=state)
        saved = keras.models.load_model(Path(run) / "actor.keras")
        np.testing.assert_allclose(np.asarray(saved(raw)), expected, rtol=1e-5, atol=1e-5)
        predicted = ddpg.load_policy(run).predict(raw)
    np.testing.assert_allclose(predicted, np.clip(expected, LOW, HIGH), rtol=1e-5, atol=1e-5)
