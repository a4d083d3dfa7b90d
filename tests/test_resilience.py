"""Nothing lost: SIGKILL at any moment, SIGINT, and every kind of bad input, through the real CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, damage_checkpoint, run_cli

from ddpg.config import DDPGConfig

HERE = Path(__file__).parent


def start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "ddpg", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def episodes_in(run: Path) -> list[int]:
    with (run / "metrics.csv").open() as file:
        return [int(row["episode"]) for row in csv.DictReader(file)]


def wait_for_episodes(run: Path, count: int, process, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and process.poll() is None:
        if (run / "metrics.csv").exists() and len(episodes_in(run)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} episodes in {run} (exit {process.poll()})")


def checkpoint_state(run: Path):
    from ddpg.checkpoint import load_checkpoint

    return load_checkpoint(run / "checkpoint")


# --- SIGKILL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12])
def test_sigkill_at_a_random_moment_then_resume(tmp_path, seed):
    # Killed after a random 0-2 s past its second episode: during an episode, an update or a
    # checkpoint write (one every episode here), wherever it falls.
    run = tmp_path / "run"
    process = start_cli("train", "--episodes", 6, "--checkpoint-every", 1, "--out", run, "--seed", 3, *TINY)
    wait_for_episodes(run, 2, process)
    time.sleep(np.random.default_rng(seed).uniform(0, 2))
    process.send_signal(signal.SIGKILL)
    process.wait()
    saved = checkpoint_state(run)
    at_kill = saved.manifest["episode"]
    assert 2 <= at_kill <= 6
    assert saved.manifest["buffer"]["size"] == saved.manifest["steps"] == 200 * at_kill
    held = {name: saved.arrays[name] for name in saved.arrays if name.startswith("buffer/")}

    result = run_cli("train", "--resume", run, "--checkpoint-every", 1)
    assert result.returncode == 0, result.stderr
    assert episodes_in(run) == [1, 2, 3, 4, 5, 6]  # lost episodes ran again, none twice
    final = checkpoint_state(run)
    for name, rows in held.items():  # the transitions held at the checkpoint are still there, in place
        np.testing.assert_array_equal(final.arrays[name][: len(rows)], rows)


def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path):
    # The third checkpoint dies between writing arrays.npz and state.json in checkpoint.tmp/.
    run = tmp_path / "run"
    code = f"""
import os, signal, sys
import ddpg.checkpoint as checkpoint
calls = {{"n": 0}}
real = checkpoint._fsync
def dying_fsync(path):
    real(path)
    if path.name == "arrays.npz":
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGKILL)
checkpoint._fsync = dying_fsync
from ddpg.cli import main
sys.exit(main(["train", "--episodes", "5", "--checkpoint-every", "1", "--out", {str(run)!r}, *{TINY!r}]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == -signal.SIGKILL
    assert (run / "checkpoint.tmp" / "arrays.npz").exists() and not (run / "checkpoint.tmp" / "state.json").exists()
    assert checkpoint_state(run).manifest["episode"] == 2  # the previous checkpoint, intact
    assert episodes_in(run) == [1, 2, 3]

    resumed = run_cli("train", "--resume", run)
    assert resumed.returncode == 0, resumed.stderr
    assert episodes_in(run) == [1, 2, 3, 4, 5]
    assert not (run / "checkpoint.tmp").exists()


# --- SIGINT / SIGTERM ------------------------------------------------------------------------------


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_the_step_checkpoints_and_says_how_to_resume(tmp_path, sig, status):
    run = tmp_path / "run"
    process = start_cli("train", "--episodes", 50, "--checkpoint-every", 100, "--out", run, *TINY)
    wait_for_episodes(run, 1, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status
    last = stderr.strip().splitlines()[-1]
    assert f"stopped by {signal.Signals(sig).name}" in last
    assert f"ddpg train --resume {run}" in last
    assert "Traceback" not in stderr
    saved = checkpoint_state(run)  # written on the signal, though the period is 100 episodes
    assert saved.manifest["episode"] == len(episodes_in(run)) >= 1
    assert saved.manifest["steps"] >= 200 * saved.manifest["episode"]


def test_resume_after_a_clean_finish_can_extend_the_run(tmp_path):
    assert run_cli("train", "--episodes", 1, "--out", tmp_path, *TINY).returncode == 0
    result = run_cli("train", "--resume", tmp_path, "--episodes", 2)
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path) == [1, 2]
    assert json.loads((tmp_path / "config.json").read_text())["episodes"] == 2


# --- bad input -------------------------------------------------------------------------------------

BAD_VALUES = {
    "env_id": "", "episodes": "0", "seed": "-1", "gamma": "1.5", "tau": "0", "actor_lr": "0",
    "critic_lr": "-1", "buffer_capacity": "0", "batch_size": "0", "ou_theta": "-1", "ou_sigma": "-0.5",
    "ou_dt": "0", "actor_hidden": "0", "critic_state_hidden": "0", "critic_action_hidden": "-3",
    "critic_hidden": "0", "update_every": "0", "total_steps": "0", "learning_starts": "0", "random_steps": "-1",
    "noise": "ornstein", "gaussian_sigma": "-0.1", "critic_weight_decay": "-1", "eval_every": "-1",
    "eval_episodes": "0",
}


def test_the_bad_value_table_covers_every_config_field():
    assert set(BAD_VALUES) == {field.name for field in dataclasses.fields(DDPGConfig)}


def assert_one_line_error(result, *fragments, status=2):
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_every_config_field_out_of_range(tmp_path, field):
    result = run_cli("train", f"--{field.replace('_', '-')}", BAD_VALUES[field], "--out", tmp_path / "out")
    assert_one_line_error(result, "Expected", f"Received: {field}=")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("finished")
    result = run_cli("train", "--episodes", 1, "--out", run, "--overwrite", *TINY)
    assert result.returncode == 0, result.stderr
    return run


def corrupt_copy(finished_run: Path, tmp_path: Path, damage: str) -> Path:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    damage_checkpoint(run / "checkpoint", damage)
    return run


@pytest.mark.parametrize("damage, fragment", [("missing", "does not exist"), ("empty", "holding nothing"),
                                              ("truncated_arrays", "corrupt or partly written")])
def test_resume_of_a_damaged_checkpoint(finished_run, tmp_path, damage, fragment):
    run = corrupt_copy(finished_run, tmp_path, damage)
    before = (run / "metrics.csv").read_text()
    assert_one_line_error(run_cli("train", "--resume", run), "Expected", fragment, str(run))
    assert (run / "metrics.csv").read_text() == before  # nothing touched


def test_resume_with_a_contradicting_config(finished_run):
    before = (finished_run / "metrics.csv").read_text()
    result = run_cli("train", "--resume", finished_run, "--tau", "0.01", "--episodes", 2)
    assert_one_line_error(result, "Expected tau=0.005 as in the checkpoint", "Received: tau=0.01")
    assert (finished_run / "metrics.csv").read_text() == before


def test_out_dir_holding_a_run(finished_run):
    assert_one_line_error(run_cli("train", "--out", finished_run), "--resume", "--overwrite")


def test_out_dir_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(run_cli("train", "--out", blocker / "run"), "Expected to create", "Not a directory")


@pytest.mark.parametrize("args, fragment", [
    (["--batch-size", "128", "--buffer-capacity", "100"], "Expected batch_size <= buffer_capacity"),
    (["--env-id", "NoSuchEnv-v0"], "Expected a registered Gymnasium environment id"),
    (["--env-id", "CartPole-v1"], "Expected an environment with a flat, continuous Box action space"),
    (["--checkpoint-every", "-1"], "Expected --checkpoint-every >= 0"),
])
def test_other_bad_input(tmp_path, args, fragment):
    assert_one_line_error(run_cli("train", *args, "--out", tmp_path / "out"), fragment)
    assert not (tmp_path / "out").exists()


def test_nan_from_the_environment_stops_with_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    code = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
import gymnasium as gym
from helpers import NaNAfter
gym.register("ddpg_tests/NaNPendulum-v0", entry_point=NaNAfter, max_episode_steps=200)
from ddpg.cli import main
sys.exit(main(["train", "--env-id", "ddpg_tests/NaNPendulum-v0", "--episodes", "3", "--out", {str(run)!r}, *{TINY!r}]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "Expected finite observations, actions and rewards" in last and "at step 250" in last, last
    assert "Traceback" not in result.stderr
    saved = checkpoint_state(run)
    assert saved.manifest["steps"] == 249  # the last good step; the bad transition never entered the buffer
    assert np.all(np.isfinite(saved.arrays["buffer/next_obs"]))
    assert episodes_in(run) == [1]


# --- determinism across processes ------------------------------------------------------------------


def test_same_seed_same_returns_across_processes(tmp_path):
    def returns(run):
        result = run_cli("train", "--episodes", 2, "--seed", 9, "--out", run, *TINY)
        assert result.returncode == 0, result.stderr
        with (run / "metrics.csv").open() as file:
            return [row["return"] for row in csv.DictReader(file)]  # compared as written, to the last digit

    assert returns(tmp_path / "a") == returns(tmp_path / "b")
