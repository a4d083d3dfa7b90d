"""A run as a process, through the real command line: nothing lost to SIGKILL at any moment, SIGINT or SIGTERM
checkpoint and say how to resume, a NaN from the environment stops with a checkpoint, the same seed gives
the same returns in another process. (Bad input and damaged files: test_faults.py.)"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TINY, episodes_in, run_cli, tiny_config

HERE = Path(__file__).parent


def start_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "ddpg", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_long_evaluation_stops_within_a_second(tmp_path, sig):
    # The evaluation at step 200, episode 1's end, is 2000 episodes of 200 steps (some 20 s): the signal used to
    # wait for its end, and the checkpoint taken before it never had it done again.
    run = tmp_path / "run"
    process = start_cli("train", "--episodes", 3, "--eval-every", 200, "--eval-episodes", 2000, "--out", run, *TINY)
    wait_for_episodes(run, 1, process)
    time.sleep(0.5)  # inside the evaluation
    sent = time.monotonic()
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert time.monotonic() - sent < 5, (time.monotonic() - sent, stderr)  # a second to stop; the checkpoint, the exit
    assert process.returncode == 128 + sig and "Traceback" not in stderr, stderr
    assert "holds episode 1 (step 200)" in stderr.strip().splitlines()[-1]
    assert (run / "eval.csv").read_text().splitlines()[1:] == []  # not done; a resume does it (test_stops.py)


@pytest.mark.slow
def test_a_sweep_stopped_mid_episode_says_so_in_one_line_and_run_again_gives_the_uninterrupted_table(tmp_path):
    # SIGTERM to the driver only, in the middle of seed 0's episode 3 most likely (of 200 steps): it passes the
    # signal on to its worker and says so in one line. The run's checkpoint is of that episode's start and seed 1
    # never started, so the same command again replays the episode as the uninterrupted sweep played it, runs
    # seed 1, and the tables agree.
    args = ["sweep", "--seeds", "0-1", "--workers", 1, "--episodes", 8, "--eval-episodes", 1,
            "--checkpoint-every", 100, *TINY]

    def table(out: Path) -> list[dict]:
        with (out / "sweep.csv").open() as file:
            return [{name: value for name, value in row.items() if name not in ("wall_seconds", "steps_per_second")}
                    for row in csv.DictReader(file)]

    whole = run_cli(*args, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    process = start_cli(*args, "--out", tmp_path / "stopped")
    wait_for_episodes(tmp_path / "stopped" / "seed_0", 2, process)
    process.send_signal(signal.SIGTERM)  # an episode takes some 0.2 s: most likely inside episode 3
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143 and len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert "stopped by SIGTERM; finished: none" in stderr and "Run the same command again" in stderr, stderr
    saved = checkpoint_state(tmp_path / "stopped" / "seed_0").manifest
    assert saved["steps"] == 200 * saved["episode"] < 1600
    assert not (tmp_path / "stopped" / "seed_1").exists()  # never started
    again = run_cli(*args, "--out", tmp_path / "stopped")
    assert again.returncode == 0, again.stderr
    whole_table = table(tmp_path / "whole")
    assert table(tmp_path / "stopped") == whole_table and len(whole_table) == 2
    assert [episodes_in(tmp_path / "stopped" / f"seed_{seed}") for seed in (0, 1)] == [list(range(1, 9))] * 2


def worker_pids(driver: int) -> list[int]:
    """The sweep's worker processes: the driver's children that run multiprocessing's spawn, not its tracker."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == driver and "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.slow
def test_a_local_sweeps_killed_worker_is_one_line_naming_its_run_and_the_rerun_finishes_it(tmp_path):
    # As the out-of-memory killer would: SIGKILL to the worker of seed_1, which has a checkpoint. It used to end
    # in BrokenProcessPool's traceback.
    args = ["sweep", "--seeds", "0-1", "--workers", 1, "--episodes", 4, "--eval-episodes", 1, "--checkpoint-every", 1,
            *TINY, "--out", tmp_path]
    process = start_cli(*args)
    wait_for_episodes(tmp_path / "seed_1", 1, process)
    for pid in worker_pids(process.pid):
        os.kill(pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 2 and "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "the worker of seed_1 (killed by SIGKILL) died" in stderr and "finished: seed_0" in stderr, stderr
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert episodes_in(tmp_path / "seed_1") == [1, 2, 3, 4]
    assert "[2/2] seed_1" in again.stdout


class ReapedByThePool:
    """A worker the pool's own thread reaped first: our join finds no child and returns at once, and its exit
    code appears only when that thread records it, a moment later."""

    def __init__(self, code: int, after: float) -> None:
        self.code, self.ready = code, time.monotonic() + after

    @property
    def exitcode(self) -> int | None:
        return self.code if time.monotonic() >= self.ready else None

    def join(self, timeout: float | None = None) -> None:
        pass


def test_a_killed_worker_is_named_with_its_signal_when_the_pool_reaped_it_first(tmp_path):
    # Under load, the one line said "the worker of seed_1 died" without "(killed by SIGKILL)".
    from types import SimpleNamespace

    from ddpg.local_engine import _worker_died
    from ddpg.run_options import RunOptions

    runs = [(tiny_config(), RunOptions(out_dir=tmp_path / f"seed_{seed}")) for seed in (0, 1)]
    pool = SimpleNamespace(_processes={41: ReapedByThePool(-signal.SIGKILL, after=0.3)})
    started = SimpleNamespace(read=lambda: {40: 0, 41: 1})
    error = _worker_died(pool, started, runs, rows={0: {}})
    assert "the worker of seed_1 (killed by SIGKILL) died" in str(error) and "finished: seed_0" in str(error)


@pytest.mark.slow
def test_ctrl_c_to_a_sweeps_process_group_is_reported_as_sigint(tmp_path):
    # A terminal's Ctrl-C reaches the driver and every worker; it was reported as SIGTERM.
    args = ["sweep", "--seeds", "0-4", "--workers", 2, "--episodes", 20, "--eval-episodes", 1, *TINY, "--out",
            tmp_path]
    process = subprocess.Popen([sys.executable, "-m", "ddpg", *map(str, args)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_episodes(tmp_path / "seed_0", 1, process)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("ddpg sweep: stopped by SIGINT;"), stderr


@pytest.mark.slow
def test_resume_after_a_clean_finish_can_extend_the_run(tmp_path):
    assert run_cli("train", "--episodes", 1, "--out", tmp_path, *TINY).returncode == 0
    result = run_cli("train", "--resume", tmp_path, "--episodes", 2)
    assert result.returncode == 0, result.stderr
    assert episodes_in(tmp_path) == [1, 2]
    assert json.loads((tmp_path / "config.json").read_text())["episodes"] == 2


@pytest.mark.slow
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


@pytest.mark.slow
def test_same_seed_same_returns_across_processes(tmp_path):
    def returns(run):
        result = run_cli("train", "--episodes", 2, "--seed", 9, "--out", run, *TINY)
        assert result.returncode == 0, result.stderr
        with (run / "metrics.csv").open() as file:
            return [row["return"] for row in csv.DictReader(file)]  # compared as written, to the last digit

    assert returns(tmp_path / "a") == returns(tmp_path / "b")
