"""`ddpg sweep --grid`: a run directory per (point, seed), a table row, a sweep.json entry and a curve per
point, resumed like a sweep of seeds; and the engine options refused where they cannot work."""

import csv
import json
import subprocess
import sys

import pytest
from helpers import TINY, run_cli

from ddpg.cli import main
from ddpg.sweep_report import format_grid_table


def read_csv(path):
    with path.open() as file:
        return list(csv.DictReader(file))


def results(rows):
    """The rows without their timings, which a finished run re-reads with its float rounding."""
    return [{name: value for name, value in row.items() if name not in ("wall_seconds", "steps_per_second")}
            for row in rows]


# Two axes (the second of one value, which still names the points), two seeds: four runs.
GRID = ["sweep", "--grid", "tau=0.5,0.25", "--grid", "gamma=0.9", "--seeds", "0-1", "--workers", 2,
        "--episodes", 1, "--eval-episodes", 1, *TINY]


@pytest.mark.slow
def test_a_grid_sweep_runs_each_point_and_seed_and_summarises_each_point(tmp_path):
    result = run_cli(*GRID, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    points = ["tau=0.5,gamma=0.9", "tau=0.25,gamma=0.9"]
    for point in points:
        for seed in (0, 1):
            config = json.loads((tmp_path / point / f"seed_{seed}" / "config.json").read_text())
            assert (config["seed"], config["tau"], config["gamma"]) == (
                seed, float(point.split(",")[0][4:]), float(point.split("=")[-1]))
    rows = read_csv(tmp_path / "sweep.csv")
    assert [(row["point"], row["tau"], row["gamma"], row["seed"]) for row in rows] == [
        (point, point.split(",")[0][4:], point.split("=")[-1], seed) for point in points for seed in "01"]
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert report["grid"] == {"tau": [0.5, 0.25], "gamma": [0.9]}
    assert [entry["point"] for entry in report["points"]] == points
    for entry in report["points"]:
        evals = [float(row["eval_mean_return"]) for row in rows if row["point"] == entry["point"]]
        assert entry["seeds"] == 2
        assert entry["mean_eval_mean_return"] == pytest.approx(sum(evals) / 2)
        assert entry["worst_eval_mean_return"] == pytest.approx(min(evals))
        assert entry["solved_seeds"] == sum(e >= -200 for e in evals)
    # The table printed has a row per point, in the grid's order; the plot a curve per point.
    table_rows = [line for line in result.stdout.splitlines() if line.startswith("| tau=")]
    assert [line.split(" | ")[0][2:] for line in table_rows] == points
    assert (tmp_path / "sweep.png").stat().st_size > 0

    # Run again: every run is finished, nothing trains again, the same table.
    before = {point: (tmp_path / point / "seed_0" / "metrics.csv").read_text() for point in points}
    again = run_cli(*GRID, "--out", tmp_path)
    assert again.returncode == 0, again.stderr
    assert results(read_csv(tmp_path / "sweep.csv")) == results(rows)
    assert {point: (tmp_path / point / "seed_0" / "metrics.csv").read_text() for point in points} == before


def test_the_grid_table_has_each_environments_threshold():
    rows = [{"point": "env_id=Pendulum-v1", "env_id": "Pendulum-v1", "seed": 0, "eval_mean_return": -150.0},
            {"point": "env_id=Pendulum-v1", "env_id": "Pendulum-v1", "seed": 1, "eval_mean_return": -250.0},
            {"point": "env_id=Walker2d-v5", "env_id": "Walker2d-v5", "seed": 0, "eval_mean_return": 900.0}]
    table = format_grid_table(rows)
    assert "Pendulum-v1: solved at an evaluation mean >= -200" in table
    assert "Walker2d-v5: no solved threshold" in table
    assert "| env_id=Pendulum-v1 | 2 | -200.0 ± 70.7 | -200.0 | -250.0 | 1 of 2 |" in table
    assert "| env_id=Walker2d-v5 | 1 | 900.0 ± 0.0 | 900.0 | 900.0 | — |" in table


@pytest.mark.parametrize(("args", "fragment"), [
    (["--grid", "tau=0.5", "--tau", "0.1"], "Expected tau in --grid or as --tau, not both"),
    (["--grid", "env_id=Pendulum-v1,NoSuchEnv-v0"], "NoSuchEnv-v0"),
    (["--grid", "buffer_capacity=1000,8"], "(grid point buffer_capacity=8)"),
    (["--address", "auto"], "Expected --address only with --engine ray"),
    (["--checkpoint-every", "-1"], "Expected --checkpoint-every >= 0. Received: --checkpoint-every -1"),
    (["--cpus-per-trial", "2"], "Expected --cpus-per-trial only with --engine ray"),
    (["--engine", "ray", "--cpus-per-trial", "0"], "Expected --cpus-per-trial >= 1"),
    (["--connect-timeout", "5"], "Expected --connect-timeout only with --engine ray"),
    (["--engine", "ray", "--connect-timeout", "0"], "Expected 0 < --connect-timeout < 1000000 seconds"),
    (["--engine", "ray", "--connect-timeout", "nan"], "Received: --connect-timeout nan"),
])
def test_a_grid_or_engine_that_cannot_run_is_one_line_before_anything_starts(capsys, tmp_path, args, fragment):
    out = tmp_path / "sweep"
    assert main(["sweep", "--episodes", "1", "--seeds", "0", "--out", str(out), *TINY, *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_the_ray_engine_without_ray_names_the_extra(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if not installed
    out = tmp_path / "sweep"
    assert main(["sweep", "--engine", "ray", "--episodes", "1", "--seeds", "0", "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert 'pip install ".[ray]" in the ddpg checkout' in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.slow
def test_a_trial_on_a_node_without_the_drivers_files_works_on_a_copy_and_returns_every_file(tmp_path):
    # run_trial as a Ray worker on another machine runs it: --out is not there (no token), so the run is
    # trained in the node's temporary directory and its files come back to the driver, which writes them.
    # Given those files again (a finished run, on a fresh node), it trains nothing and reports the same row.
    code = f"""
import json, sys, tempfile, uuid
from pathlib import Path
from ddpg.config import DDPGConfig
from ddpg.ray_engine import _write_files, run_trial
from ddpg.run_options import RunOptions
config = DDPGConfig(episodes=2, eval_episodes=1, actor_hidden=(8,), critic_state_hidden=(4,),
                    critic_action_hidden=(4,), critic_hidden=(8,), batch_size=16)
out = Path({str(tmp_path)!r})
run_dir = out / "seed_0"
token_a, token_b = uuid.uuid4().hex, uuid.uuid4().hex  # each names the node's copy of the run
row, files = run_trial(config, RunOptions(run_dir, checkpoint_every=1), str(out), token_a, 1, None)
_write_files(run_dir, files)
again, files_again = run_trial(config, RunOptions(run_dir, checkpoint_every=1), str(out), token_b, 1, files)
left = [str(path) for token in (token_a, token_b) for path in Path(tempfile.gettempdir(), "ddpg-ray", token).rglob("*")
        if path.is_file()]
print(json.dumps([row, again, sorted(files), files["metrics.csv"] == files_again["metrics.csv"], left]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    row, again, names, same_metrics, left_on_the_node = json.loads(result.stdout.splitlines()[-1])
    assert {"config.json", "metrics.csv", "actor.keras", "checkpoint/state.json"} <= set(names)
    assert (tmp_path / "seed_0" / "checkpoint" / "state.json").is_file()
    assert [int(r["episode"]) for r in read_csv(tmp_path / "seed_0" / "metrics.csv")] == [1, 2]
    assert (again["eval_mean_return"], again["final_average_return_40"]) == (row["eval_mean_return"],
                                                                            row["final_average_return_40"])
    assert same_metrics
    assert left_on_the_node == []  # the node keeps no copy of a run it returned
    assert not list(tmp_path.glob("*.incoming")) and not list(tmp_path.glob("*.old"))
