"""`ddpg export`: the actor in ONNX, TFLite (LiteRT) and SavedModel, each run by its own runtime, acting as
actor.keras does on raw observations."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import assert_one_line

from ddpg.cli import main

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

OBS = np.random.default_rng(1).uniform(-3, 3, (7, 3)).astype(np.float32)
MILLIMETRES = np.random.default_rng(1).uniform(2000, 8000, (7, 1)).astype(np.float32)  # past the clip too


@pytest.fixture(scope="module")
def normalised_run(tmp_path_factory):
    """A run with --normalize-observations on the task in millimetres: its actor takes raw observations."""
    import owntask_envs  # noqa: F401  registers owntask/MillimetreReach-v0

    run = tmp_path_factory.mktemp("normalised") / "run"
    assert main(["train", "--env-id", "owntask/MillimetreReach-v0", "--normalize-observations", "--episodes", "3",
                 "--out", str(run), "--no-tensorboard", "--actor-hidden", "8", "--batch-size", "16"]) == 0
    return run


@pytest.fixture(params=["plain", "normalised"])
def run_and_obs(request, finished_run):
    """(a run, observations for its actor): the short Pendulum's, or the normalised run's in millimetres."""
    if request.param == "plain":
        return finished_run, OBS
    return request.getfixturevalue("normalised_run"), MILLIMETRES


def keras_actions(run, best=False, obs=OBS):
    from ddpg.backend import keras

    return np.asarray(keras.models.load_model(run / ("best_actor.keras" if best else "actor.keras"))(obs))


def needs(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} is not installed (pip install \".[export]\")")


@needs("onnxruntime")
@needs("tf2onnx")
def test_onnx_acts_as_the_actor(run_and_obs, tmp_path):
    import onnxruntime

    run, obs = run_and_obs
    out = tmp_path / "actor.onnx"
    assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out))
    actions = session.run(None, {session.get_inputs()[0].name: obs})[0]
    np.testing.assert_allclose(actions, keras_actions(run, obs=obs), atol=1e-5)


@needs("ai_edge_litert")
def test_tflite_acts_as_the_actor(run_and_obs, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    run, obs = run_and_obs
    out = tmp_path / "actor.tflite"
    assert main(["export", str(run), "--format", "tflite", "--out", str(out)]) == 0
    interpreter = Interpreter(model_path=str(out))
    runner = interpreter.get_signature_runner()
    name = next(iter(interpreter.get_signature_list()[next(iter(interpreter.get_signature_list()))]["inputs"]))
    actions = np.stack([next(iter(runner(**{name: obs[i:i + 1]}).values()))[0] for i in range(len(obs))])
    np.testing.assert_allclose(actions, keras_actions(run, obs=obs), atol=1e-5)


def test_savedmodel_acts_as_the_actor(run_and_obs, tmp_path):
    from ddpg.backend import tf

    run, obs = run_and_obs
    out = tmp_path / "actor_savedmodel"
    assert main(["export", str(run), "--format", "savedmodel", "--out", str(out)]) == 0
    loaded = tf.saved_model.load(str(out))  # kept: its variables go with it
    actions = loaded.serve(obs).numpy()
    np.testing.assert_allclose(actions, keras_actions(run, obs=obs), atol=1e-5)


def test_a_normalised_runs_actor_takes_raw_observations_as_load_policy_does(normalised_run):
    import ddpg

    actions = keras_actions(normalised_run, obs=MILLIMETRES)
    assert len(np.unique(actions)) > 1  # the observations do tell the actor something
    np.testing.assert_allclose(ddpg.load_policy(normalised_run).predict(MILLIMETRES), np.clip(actions, -1, 1),
                               atol=1e-5)


def test_a_format_whose_package_is_missing_names_the_extra(finished_run, tmp_path, capsys, monkeypatch):
    import ddpg.export

    monkeypatch.setattr(ddpg.export, "FORMATS", {**ddpg.export.FORMATS,
                                                 "onnx": ("onnx", ("no_such_package_for_onnx",))})
    status = main(["export", str(finished_run), "--format", "onnx", "--out", str(tmp_path / "a.onnx")])
    assert_one_line(status, capsys.readouterr().err, "no_such_package_for_onnx", ".[export]")
    assert not (tmp_path / "a.onnx").exists()


def test_export_of_a_missing_best_actor_is_one_line(finished_run, tmp_path, capsys):
    status = main(["export", str(finished_run), "--format", "savedmodel", "--best", "--out", str(tmp_path / "m")])
    assert_one_line(status, capsys.readouterr().err, "best_actor.keras")
    assert not (tmp_path / "m").exists()
