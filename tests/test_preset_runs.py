"""Each preset run from the command line: config.json holds its source's values (tests/test_presets.py has
them), the actor it saves starts from the source's initialisation, and a retired preset's runs go on."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")

from test_presets import SOURCES  # noqa: E402

from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.cli import main  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.presets import PRESETS  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)


def run_preset(tmp_path, name: str, *options: str) -> tuple[dict, object]:
    """`ddpg train --preset NAME` for 3 steps on a corridor (no update is made: learning starts later or
    at an episode's end, which 3 steps do not reach); config.json and the saved actor's layers."""
    from helpers import corridor

    from ddpg.backend import keras

    out = tmp_path / name
    assert main(["train", "--preset", name, "--env-id", corridor(5, 10), "--total-steps", "3",
                 "--buffer-capacity", "1000", "--out", str(out), "--no-tensorboard", *options]) == 0
    actor = keras.models.load_model(out / "actor.keras")
    return json.loads((out / "config.json").read_text()), actor


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_train_with_a_preset_records_its_values_and_starts_from_its_initialisation(tmp_path, name):
    saved, actor = run_preset(tmp_path, name)
    expected = {**SOURCES[name], "buffer_capacity": 1000}
    for field, value in expected.items():
        assert saved[field] == (list(value) if isinstance(value, tuple) else value), field
    dense = [layer for layer in actor.layers if type(layer).__name__ == "Dense"]
    assert len(dense) == len(SOURCES[name]["actor_hidden"]) + 1
    for layer in dense:
        kernel, bias = (np.asarray(w) for w in (layer.kernel, layer.bias))
        fan_in = kernel.shape[0]
        final = layer is dense[-1]
        if final and saved["final_layer_init"] in ("actor", "both"):  # U(-3e-3, 3e-3)
            assert 2e-3 < np.abs(kernel).max() <= 3e-3, layer.name
        elif saved["initializer"] == "fan_in_uniform":  # U(-1/sqrt(f), 1/sqrt(f)), biases too
            bound = 1 / np.sqrt(fan_in)
            assert 0.8 * bound < np.abs(kernel).max() <= bound, layer.name
        else:  # Glorot uniform: sqrt(6 / (fan_in + fan_out))
            bound = np.sqrt(6 / (fan_in + kernel.shape[1]))
            assert 0.8 * bound < np.abs(kernel).max() <= bound, layer.name
        if final and saved["final_layer_init"] == "both":
            assert 0 < np.abs(bias).max() <= 3e-3, layer.name
        elif saved["initializer"] == "fan_in_uniform":
            assert 0 < np.abs(bias).max() <= 1 / np.sqrt(fan_in), layer.name
        else:
            assert not bias.any(), layer.name
    norms = [layer for layer in actor.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(norms) == (1 + len(SOURCES[name]["actor_hidden"]) if saved["batch_norm"] else 0)


def test_the_papers_critic_starts_its_last_layer_small_and_its_hidden_ones_by_fan_in():
    agent = DDPGAgent(3, [-2.0], [2.0], DDPGConfig(**PRESETS["lillicrap2016"]))
    q = agent.critic.get_layer("q")
    assert 2e-3 < np.abs(np.asarray(q.kernel)).max() <= 3e-3 and 0 < np.abs(np.asarray(q.bias)).max() <= 3e-3
    joint = agent.critic.get_layer("joint_0")  # fan-in 400 + 1: the state branch and the action
    assert joint.kernel.shape[0] == 401
    assert 0.8 / np.sqrt(401) < np.abs(np.asarray(joint.kernel)).max() <= 1 / np.sqrt(401)


# What `fujimoto2018` held, as runs made with it recorded it (before policy_delay and the other new fields).
FUJIMOTO2018_AS_RECORDED = {
    "actor_hidden": [256, 256], "critic_state_hidden": [], "critic_action_hidden": [], "critic_hidden": [256, 256],
    "actor_lr": 3e-4, "critic_lr": 3e-4, "batch_size": 256, "tau": 0.005, "gamma": 0.99, "noise": "gaussian",
    "gaussian_sigma": 0.1, "random_steps": 25_000, "learning_starts": 25_000, "buffer_capacity": 1_000_000}
NEW_FIELDS = ("policy_delay", "update_at_episode_end", "batch_norm", "initializer", "final_layer_init", "env_kwargs",
              "normalize_observations")


def test_a_run_written_with_fujimoto2018_still_resumes_and_evaluates(tmp_path):
    from helpers import corridor

    out = tmp_path / "old"
    values = {**FUJIMOTO2018_AS_RECORDED, "buffer_capacity": 1000, "random_steps": 4, "learning_starts": 8,
              "batch_size": 8, "actor_hidden": [8], "critic_hidden": [8]}
    config_file = tmp_path / "values.json"
    config_file.write_text(json.dumps(values))
    assert main(["train", "--config", str(config_file), "--env-id", corridor(5, 10), "--episodes", "2",
                 "--out", str(out), "--no-tensorboard"]) == 0
    # As an older version wrote it: no new field in config.json or in the checkpoint's config.
    for path, config_of in ((out / "config.json", lambda d: d), (out / "checkpoint" / "state.json",
                                                                 lambda d: d["config"])):
        document = json.loads(path.read_text())
        for field in NEW_FIELDS:
            del config_of(document)[field]
        document.pop("normalizer", None)  # nor the observation statistics' key in the checkpoint
        path.write_text(json.dumps(document))
    assert main(["train", "--resume", str(out), "--episodes", "3"]) == 0
    assert main(["evaluate", str(out), "--episodes", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["learning_starts"] == 8
