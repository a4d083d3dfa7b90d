"""Keras on JAX (KERAS_BACKEND=jax, ddpg.jax_update): the same update as on TensorFlow, and runs that move between them.

Keras takes its backend once per process, so each backend runs in a subprocess of its own. The update
on TensorFlow is proven against Algorithm 1 written out and a NumPy oracle (tests/test_agent.py); the
JAX update is proven equal to it here, on every variable a checkpoint holds. Skipped without JAX.
"""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import TINY, run_cli

ON_JAX = {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason='JAX is not installed (pip install -e ".[jax]")')

# One agent, started from the TensorFlow agent's state after two updates (targets away from the online
# networks, Adam's moments non-zero), then two single updates and one call of three: every variable saved.
ON_ONE_BACKEND = r"""
import json, sys
import numpy as np
import keras
from ddpg.agent import DDPGAgent
from ddpg.config import DDPGConfig
from ddpg.replay_buffer import Batch

config, start, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
def batch(seed, *shape):
    rng = np.random.default_rng(seed)
    return Batch(*(rng.normal(size=(*shape, dim)).astype(np.float32) for dim in (3, 1, 1, 3)),
                 (rng.uniform(size=(*shape, 1)) < 0.3).astype(np.float32))
keras.utils.set_random_seed(0)
agent = DDPGAgent(3, [-2.0], [2.0], DDPGConfig(**config))
if keras.backend.backend() == "tensorflow":
    agent.update(batch(1, 8))
    agent.update(batch(2, 8))
    np.savez(start, **agent.get_state())
else:
    agent.set_state(dict(np.load(start)))
losses = [agent.update(batch(3, 8)), agent.update(batch(4, 8)), agent.update_many(batch(5, 3, 8))]
np.savez(out, **agent.get_state())
probe = batch(6, 5).obs  # the acting policy against the actor in inference: its moving statistics, if any
gap = float(np.abs(agent.policy(probe) - np.asarray(agent.actor(probe, training=False))).max())
print(json.dumps({"losses": losses, "traced": agent.tracing_count(), "policy_gap": gap}))
"""

SHAPES = {
    "branches": {},  # the Keras example's critic
    "joined-with-l2": {"critic_state_hidden": [], "critic_action_hidden": [], "critic_weight_decay": 0.05},
    # Critic steps 3 to 7 from the shared start: the actor and targets move after the 4th and the 6th only.
    "delayed-policy": {"policy_delay": 2},
    "batch-norm": {"batch_norm": True},  # moving statistics in the state, Polyak-averaged with the rest
    # The paper's critic (the action at layer 2, L2), and the actor's step after every 2nd critic step: the
    # reported J in between is the actor's as it stands, in inference, on both backends.
    "batch-norm-policy-delay": {"critic_state_hidden": [6], "critic_action_hidden": [], "critic_weight_decay": 0.05,
                                "batch_norm": True, "policy_delay": 2},
}


NETWORKS = ("actor", "critic", "target_actor", "target_critic")


def network_names(config: dict) -> tuple[set[str], set[str]]:
    """The checkpoint names of what batch normalisation cancels (helpers.cancelled_by_batch_norm) and of the
    networks' moving statistics."""
    from helpers import cancelled_by_batch_norm

    from ddpg.agent import DDPGAgent
    from ddpg.config import DDPGConfig

    agent = DDPGAgent(3, [-2.0], [2.0], DDPGConfig(**config))
    cancelled, statistics = set(), set()
    for name in NETWORKS:
        network = getattr(agent, name)
        cancelled |= {f"{name}/{i}" for i in cancelled_by_batch_norm(network)}
        moving = {id(v) for v in network.non_trainable_variables}
        statistics |= {f"{name}/{i}" for i, v in enumerate(network.variables) if id(v) in moving}
    return cancelled, statistics


def on_backend(backend: str, config: dict, tmp_path) -> tuple[dict, dict]:
    env = {**os.environ, **ON_JAX, "KERAS_BACKEND": backend}
    out = tmp_path / f"{backend}.npz"
    done = subprocess.run([sys.executable, "-c", ON_ONE_BACKEND, json.dumps(config), str(tmp_path / "start.npz"),
                           str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), dict(np.load(out))


@needs_jax
@pytest.mark.parametrize("update_every", [1, 3], ids=["graph", "xla"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_jax_update_equals_the_tensorflow_update(shape, update_every, tmp_path):
    config = {"actor_hidden": [8], "critic_state_hidden": [6], "critic_action_hidden": [6], "critic_hidden": [8],
              "batch_size": 8, "gamma": 0.9, "tau": 0.3, "actor_lr": 0.01, "critic_lr": 0.03,
              "update_every": update_every, **SHAPES[shape]}
    tensorflow, tf_state = on_backend("tensorflow", config, tmp_path)  # writes the start both share
    jax, jax_state = on_backend("jax", config, tmp_path)
    assert set(jax_state) == set(tf_state)
    # What batch normalisation cancels in training mode agrees to about 1e-3 only (helpers.py says why). The
    # networks in inference (the targets, the critic in the actor's step) still see it, so with batch_norm the
    # rest agrees to 1e-3 relative (1e-4 seen after these five updates), not to rounding: still far closer
    # than a network in the wrong mode or a moving statistic dropped or left unaveraged would leave them.
    cancelled, statistics = network_names(config)
    assert bool(cancelled) == bool(statistics) == bool(config.get("batch_norm"))
    rtol = 1e-3 if cancelled else 1e-5
    start, moved = dict(np.load(tmp_path / "start.npz")), 0
    for name, value in tf_state.items():
        np.testing.assert_allclose(jax_state[name], value, rtol=rtol, err_msg=name,
                                   atol=1e-3 if name in cancelled else 1e-5 if cancelled else 1e-6)
        moved += name.startswith(("actor/", "critic/", "target_")) and not np.allclose(value, start[name])
    assert moved > 0  # the updates did something to compare
    for name in statistics:  # every moving statistic moved, the targets' too: equal above, yet not left as it was
        assert not np.array_equal(tf_state[name], start[name]), name
    for ours, theirs in zip(jax["losses"], tensorflow["losses"], strict=True):
        assert ours == pytest.approx(theirs, rel=rtol, abs=1e-6)
    assert jax["traced"] == 2  # once for one batch, once for [3, 8, ...]: never again for the same shape
    assert jax["policy_gap"] < 1e-5 and tensorflow["policy_gap"] < 1e-5  # each acts as its actor does


@needs_jax
def test_a_run_trained_on_jax_resumes_on_tensorflow(tmp_path):
    run = tmp_path / "run"
    first = run_cli("train", "--episodes", "2", "--update-every", "1", "--out", run, *TINY, env=ON_JAX)
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_cli("train", "--resume", run, "--episodes", "3", env={"KERAS_BACKEND": "tensorflow"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["episode"]) for row in rows] == [1, 2, 3]
    assert all(np.isfinite(float(row["critic_loss"])) for row in rows)


@pytest.mark.parametrize("backend", ["numpy", "pytorch"])
def test_a_backend_we_cannot_run_is_one_line(backend, tmp_path):
    done = run_cli("train", "--episodes", "1", "--out", tmp_path / "run", *TINY, env={"KERAS_BACKEND": backend})
    assert done.returncode == 2
    assert done.stderr.strip() == (f"ddpg train: error: Expected KERAS_BACKEND to be one of tensorflow, jax. "
                                   f"Received: KERAS_BACKEND={backend}")
    assert not (tmp_path / "run").exists()


def test_jax_asked_for_but_missing_is_one_line(monkeypatch):
    import ddpg.backend
    from ddpg.errors import UserInputError

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(ddpg.backend.importlib.util, "find_spec", lambda name: None)
    expected = (r'^Expected JAX installed for KERAS_BACKEND=jax \(pip install "\.\[jax\]" in the ddpg checkout\)\. '
                r'Received: no module')
    with pytest.raises(UserInputError, match=expected):
        ddpg.backend._check_requested_backend()
