"""Observations as they come: Dict and multi-dimensional Box spaces flattened (FlattenObservation), recorded in the
run, and applied by evaluate and the loaded policy."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import owntask_envs  # noqa: F401  registers owntask/DictReach-v0 and owntask/GridReach-v0
import pytest
from helpers import TINY, assert_one_line

import ddpg
from ddpg.cli import main
from ddpg.environments import UnusableEnvironment, make_env


def test_a_dict_observation_is_flattened():
    env = make_env("owntask/DictReach-v0")
    assert env.observation_space.shape == (5,)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,)
    env.close()


def test_a_dict_with_a_non_box_leaf_is_refused_in_one_line():
    with pytest.raises(UnusableEnvironment, match="Discrete") as caught:
        make_env("owntask/DictReach-v0", {"leaf": "discrete"})
    assert len(str(caught.value).splitlines()) == 1


def test_the_cli_refuses_a_non_box_leaf_in_one_line(tmp_path, capsys):
    status = main(["train", "--env-id", "owntask/DictReach-v0", "--env-kwargs", '{"leaf": "discrete"}',
                   "--out", str(tmp_path / "run")])
    assert_one_line(status, capsys.readouterr().err, "Discrete", "context")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("env_id, raw", [
    ("owntask/DictReach-v0", {"distance": np.array([0.3], np.float32), "context": np.full((2, 2), 0.5, np.float32)}),
    ("owntask/GridReach-v0", np.full((2, 3), 0.3, np.float32))])
def test_the_flattening_is_recorded_and_applied_by_evaluate_and_the_loaded_policy(tmp_path, env_id, raw):
    run = tmp_path / "run"
    assert main(["train", "--env-id", env_id, "--episodes", "1", "--out", str(run), "--no-tensorboard", *TINY]) == 0
    assert "flatten" in json.loads((run / "observation_space.json").read_text())
    assert main(["evaluate", str(run), "--episodes", "1"]) == 0
    policy = ddpg.load_policy(run)
    flat = gym.spaces.flatten(make_env.__globals__["gym"].make(env_id).unwrapped.observation_space, raw)
    expected = policy.actor_policy(flat.astype(np.float32))
    np.testing.assert_allclose(policy.predict(raw), np.clip(expected, -1, 1), atol=1e-6)
    batch = ({key: np.stack([value, value]) for key, value in raw.items()} if isinstance(raw, dict)
             else np.stack([raw, raw]))
    np.testing.assert_allclose(policy.predict(batch), np.stack([policy.predict(raw)] * 2), atol=1e-6)
