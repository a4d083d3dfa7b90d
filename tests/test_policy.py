"""A trained policy to load (ddpg.load_policy) and to evaluate (its best actor too)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import RUN, assert_one_line

import ddpg
from ddpg.cli import main
from ddpg.errors import UserInputError


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    """2 episodes of the short Pendulum with an evaluation every 10 steps: actor.keras and best_actor.keras."""
    run = tmp_path_factory.mktemp("policy") / "run"
    assert main(["train", "--episodes", "2", "--eval-every", "10", "--eval-episodes", "1", "--out", str(run),
                 "--no-tensorboard", *RUN]) == 0
    return run


@pytest.mark.parametrize("best", [False, True])
def test_load_policy_acts_as_the_saved_actor_on_one_observation_or_a_batch(evaluated_run, best):
    from ddpg.backend import keras

    policy = ddpg.load_policy(evaluated_run, best=best)
    actor = keras.models.load_model(evaluated_run / ("best_actor.keras" if best else "actor.keras"))
    batch = np.random.default_rng(0).uniform(-1, 1, (5, 3)).astype(np.float32)
    actions = policy.predict(batch)
    assert actions.shape == (5, 1)
    np.testing.assert_allclose(actions, np.clip(np.asarray(actor(batch)), -2, 2), atol=1e-5)
    assert policy.predict(batch[0]).shape == (1,)
    np.testing.assert_allclose(policy.predict(batch[0]), actions[0], atol=1e-6)


def test_predict_clips_to_the_bounds(evaluated_run):
    policy = ddpg.load_policy(evaluated_run)
    actions = policy.predict(np.full((4, 3), 1e6, np.float32) * np.array([1, -1, 1], np.float32))
    assert np.all(actions >= -2) and np.all(actions <= 2)


def test_load_policy_of_a_directory_without_the_actor_is_one_line(tmp_path):
    with pytest.raises(UserInputError, match="best_actor.keras"):
        ddpg.load_policy(tmp_path, best=True)


def test_evaluate_best_evaluates_the_best_actor(evaluated_run, capsys):
    assert main(["evaluate", str(evaluated_run), "--best", "--episodes", "1"]) == 0
    assert "best_actor.keras" in capsys.readouterr().out


def test_evaluate_best_without_a_best_actor_is_one_line(finished_run, capsys):
    status = main(["evaluate", str(finished_run), "--best"])
    assert_one_line(status, capsys.readouterr().err, "best_actor.keras", "--eval-every")
