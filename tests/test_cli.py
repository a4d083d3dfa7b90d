"""The command line end to end, on a tiny budget: the files, the saved actor, evaluate, sweep, bad input."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import TINY
from helpers import run_cli as ddpg


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = ddpg("train", "--episodes", 2, "--seed", 3, "--out", out, "--overwrite", *TINY)
    assert result.returncode == 0, result.stderr
    return out


def test_train_writes_the_runs_files(run_dir):
    assert {"config.json", "metrics.csv", "actor.keras", "learning_curve.png"} <= {p.name for p in run_dir.iterdir()}
    assert not list(run_dir.glob("*.tmp*")), "a temporary file was left behind"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["seed"] == 3 and config["actor_hidden"] == [8] and config["episodes"] == 2
    with (run_dir / "metrics.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [int(row["episode"]) for row in rows] == [1, 2]
    assert [int(row["steps"]) for row in rows] == [200, 400]  # Pendulum truncates at 200 steps
    returns = [float(row["return"]) for row in rows]
    assert float(rows[1]["average_return_40"]) == pytest.approx(np.mean(returns))
    assert all(np.isfinite(float(row["critic_loss"])) for row in rows)  # updates ran from step 16
    assert (run_dir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_actor_loads_with_plain_keras_and_acts_within_bounds(run_dir):
    code = f"""
import ddpg, keras, numpy as np
actor = keras.models.load_model({str(run_dir / "actor.keras")!r})
obs = np.random.default_rng(0).normal(scale=10, size=(256, 3)).astype(np.float32)
action = np.asarray(actor(obs))
assert action.shape == (256, 1), action.shape
assert action.dtype == np.float32
assert np.all(action >= -2) and np.all(action <= 2), (action.min(), action.max())
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "ok", result.stderr


def test_evaluate_reads_what_train_wrote_and_writes_nothing_into_it(run_dir, tmp_path):
    before = {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()}
    result = ddpg("evaluate", run_dir, "--episodes", 2, "--seed", 5, "--json", tmp_path / "a.json")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["episodes"] == 2 and report["seed"] == 5 and len(report["returns"]) == 2
    assert report["mean_return"] == pytest.approx(np.mean(report["returns"]))
    assert f"{report['mean_return']:.1f}" in result.stdout
    # Deterministic policy, same seed: the same returns again.
    again = ddpg("evaluate", run_dir, "--episodes", 2, "--seed", 5, "--json", tmp_path / "b.json")
    assert json.loads((tmp_path / "b.json").read_text())["returns"] == report["returns"], again.stderr
    assert {path.name: path.stat().st_mtime_ns for path in run_dir.iterdir()} == before


def test_sweep_writes_a_row_per_seed(tmp_path):
    result = ddpg("sweep", "--seeds", "0-1", "--workers", 2, "--episodes", 1, "--eval-episodes", 1,
                  "--out", tmp_path, *TINY)
    assert result.returncode == 0, result.stderr
    with (tmp_path / "sweep.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [int(row["seed"]) for row in rows] == [0, 1]
    assert all(np.isfinite(float(row["eval_mean_return"])) for row in rows)
    assert (tmp_path / "sweep.png").is_file()
    assert (tmp_path / "seed_1" / "actor.keras").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["evaluate", "/nonexistent/run"], "Expected a training run directory"),
        (["evaluate", "/nonexistent/run", "--episodes", "0"], "Expected --episodes >= 1"),
        (["sweep", "--seeds", "a-b"], "Expected seeds like 0-9"),
        (["sweep", "--workers", "0"], "Expected 1 <= --workers <= "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    # The train command's bad input is tested in test_resilience.py.
    result = ddpg(*args, "--out", tmp_path / "out") if args[0] == "sweep" else ddpg(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
