"""make_env's side effects: MuJoCo's warnings go through Python's, and no log file lands in the working directory."""

import warnings

import pytest

from ddpg.environments import _mujoco_warning, make_env


def test_a_mujoco_environment_leaves_no_log_file_and_no_deprecation_line(tmp_path, monkeypatch, capfd):
    pytest.importorskip("mujoco", reason="MuJoCo is not installed")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = make_env("HalfCheetah-v5")  # Gymnasium's model sets settotalmass, which MuJoCo 4 deprecates
        env.reset(seed=0)
        env.step(env.action_space.sample())
        env.close()
    assert list(tmp_path.iterdir()) == []  # MuJoCo's default handler appended to ./MUJOCO_LOG.TXT
    assert "settotalmass" not in capfd.readouterr().err
    assert not [w for w in caught if "MuJoCo" in str(w.message)]


def test_other_mujoco_warnings_reach_python():
    with pytest.warns(RuntimeWarning, match="MuJoCo: Nan, Inf or huge value in QACC"):
        _mujoco_warning("Nan, Inf or huge value in QACC at DOF 0. The simulation is unstable.")
