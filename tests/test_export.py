"""`ddpg export`: the actor in ONNX, TFLite (LiteRT) and SavedModel, each run by its own runtime, acting as
actor.keras does on raw observations."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import assert_one_line

from ddpg.cli import main

OBS = np.random.default_rng(1).uniform(-3, 3, (7, 3)).astype(np.float32)


def keras_actions(run, best=False):
    from ddpg.backend import keras

    return np.asarray(keras.models.load_model(run / ("best_actor.keras" if best else "actor.keras"))(OBS))


def needs(module):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} is not installed (pip install \".[export]\")")


@needs("onnxruntime")
@needs("tf2onnx")
def test_onnx_acts_as_the_actor(finished_run, tmp_path):
    import onnxruntime

    out = tmp_path / "actor.onnx"
    assert main(["export", str(finished_run), "--format", "onnx", "--out", str(out)]) == 0
    session = onnxruntime.InferenceSession(str(out))
    actions = session.run(None, {session.get_inputs()[0].name: OBS})[0]
    np.testing.assert_allclose(actions, keras_actions(finished_run), atol=1e-5)


@needs("ai_edge_litert")
def test_tflite_acts_as_the_actor(finished_run, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "actor.tflite"
    assert main(["export", str(finished_run), "--format", "tflite", "--out", str(out)]) == 0
    interpreter = Interpreter(model_path=str(out))
    runner = interpreter.get_signature_runner()
    name = next(iter(interpreter.get_signature_list()[next(iter(interpreter.get_signature_list()))]["inputs"]))
    actions = np.stack([next(iter(runner(**{name: OBS[i:i + 1]}).values()))[0] for i in range(len(OBS))])
    np.testing.assert_allclose(actions, keras_actions(finished_run), atol=1e-5)


def test_savedmodel_acts_as_the_actor(finished_run, tmp_path):
    from ddpg.backend import tf

    out = tmp_path / "actor_savedmodel"
    assert main(["export", str(finished_run), "--format", "savedmodel", "--out", str(out)]) == 0
    loaded = tf.saved_model.load(str(out))  # kept: its variables go with it
    actions = loaded.serve(OBS).numpy()
    np.testing.assert_allclose(actions, keras_actions(finished_run), atol=1e-5)


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
