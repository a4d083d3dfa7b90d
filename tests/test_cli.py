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


@pytest.mark.slow
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


@pytest.mark.slow
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
    # The train command's bad input is tested in test_faults.py.
    result = ddpg(*args, "--out", tmp_path / "out") if args[0] == "sweep" else ddpg(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def sweep_rows(out):
    with (out / "sweep.csv").open() as file:
        return [(row["seed"], row["eval_mean_return"], row["eval_std_return"]) for row in csv.DictReader(file)]


def metrics_episodes(run):
    with (run / "metrics.csv").open() as file:
        return [int(row["episode"]) for row in csv.DictReader(file)]


def finished_lines(result) -> dict[str, str]:
    return dict(line.split(":")[0].split(" ") for line in result.stdout.splitlines() if line.startswith("["))


@pytest.mark.slow
def test_a_sweep_run_again_finishes_what_is_left_and_gives_the_same_table(tmp_path):
    args = ["sweep", "--seeds", "0-1", "--workers", 2, "--eval-episodes", 1, "--out", tmp_path, *TINY]
    # As if a first driver was killed with seed 1 one episode in and seed 0 not started: seed 1's run
    # has a checkpoint at episode 1 of 2.
    assert ddpg("train", "--seed", 1, "--episodes", 1, "--eval-episodes", 1, "--out", tmp_path / "seed_1",
                *TINY).returncode == 0
    first = ddpg(*args, "--episodes", 2)
    assert first.returncode == 0, first.stderr
    assert metrics_episodes(tmp_path / "seed_0") == metrics_episodes(tmp_path / "seed_1") == [1, 2]
    # An uninterrupted sweep of the same seeds gives the same table: runs and evaluations are deterministic.
    fresh = ddpg(*args[:-len(TINY) - 2], "--out", tmp_path / "fresh", *TINY, "--episodes", 2)
    assert fresh.returncode == 0, fresh.stderr
    fresh_rows = sweep_rows(tmp_path / "fresh")
    assert sweep_rows(tmp_path) == fresh_rows
    # The uninterrupted sweep: a row per seed, in order, each with a finite evaluation; the plot; each run's actor.
    assert [int(seed) for seed, *_ in fresh_rows] == [0, 1]
    assert all(np.isfinite(float(mean)) for _, mean, _ in fresh_rows)
    assert (tmp_path / "fresh" / "sweep.png").is_file() and (tmp_path / "fresh" / "seed_1" / "actor.keras").is_file()
    # A line per finished run, as each finishes: "[1/2] seed_1: evaluation ...".
    assert sorted(finished_lines(first)) == ["[1/2]", "[2/2]"] and sorted(finished_lines(first).values()) == [
        "seed_0", "seed_1"]
    # And the finished sweep run again: nothing trains or evaluates again (no file of a run is touched), the
    # same table, and each run's line at once.
    before = {path: path.stat().st_mtime_ns for path in tmp_path.glob("seed_*/**/*")}
    again = ddpg(*args, "--episodes", 2)
    assert again.returncode == 0, again.stderr
    assert sweep_rows(tmp_path) == fresh_rows
    assert {path: path.stat().st_mtime_ns for path in tmp_path.glob("seed_*/**/*")} == before
    assert finished_lines(again) == {"[1/2]": "seed_0", "[2/2]": "seed_1"}


@pytest.mark.slow
def test_a_sweep_refuses_a_run_of_another_config_in_its_place(tmp_path):
    assert ddpg("train", "--seed", 0, "--episodes", 1, "--tau", 0.01, "--out", tmp_path / "seed_0",
                *TINY).returncode == 0
    before = (tmp_path / "seed_0" / "metrics.csv").read_text()
    result = ddpg("sweep", "--seeds", "0", "--workers", 1, "--episodes", 1, "--out", tmp_path, *TINY)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Expected tau=0.01 as in the checkpoint" in result.stderr and "--overwrite" in result.stderr
    assert (tmp_path / "seed_0" / "metrics.csv").read_text() == before


@pytest.mark.parametrize("env_id, threshold", [("Pendulum-v1", -200.0), ("InvertedPendulum-v5", 950.0),
                                               ("HalfCheetah-v5", 4800.0), ("Walker2d-v5", None)])
def test_the_solved_threshold_is_the_environments(env_id, threshold):
    from ddpg.sweep_report import format_sweep_table, solved_threshold

    assert solved_threshold(env_id) == threshold
    table = format_sweep_table([{"seed": 0, "final_average_return_40": 1.0, "eval_mean_return": 960.0,
                                 "eval_std_return": 0.0, "wall_seconds": 1.0, "steps_per_second": 1.0}], env_id)
    header = table.splitlines()[0]
    assert header == (f"{env_id}: solved at an evaluation mean >= {threshold:g}" if threshold is not None
                      else f"{env_id}: no solved threshold (Gymnasium's spec has none)")
    if threshold is not None:
        assert table.endswith(f"{int(960.0 >= threshold)} of 1 seeds >= {threshold:g}")


def test_version():
    from ddpg import __version__

    result = ddpg("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"ddpg {__version__}", result.stderr


def test_an_existing_run_is_refused_before_tensorflow_loads(tmp_path):
    # The other mistakes are refused in a second; TensorFlow's import alone took 17 s under load.
    (tmp_path / "metrics.csv").write_text("episode\n")
    code = ("import sys; from ddpg.cli import main; status = main(['train', '--out', sys.argv[1]]); "
            "print(status, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False"], result.stderr
    assert "Expected an output directory without a run in it" in result.stderr
