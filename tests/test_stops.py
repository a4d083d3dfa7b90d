"""A run stopped at every step, killed or by SIGTERM, inside training or inside an evaluation, then resumed, equals
the run that was never stopped: metrics.csv and eval.csv byte for byte but for their timing columns, so every
episode and every due evaluation is in them exactly once, with the same numbers.

In-process, on a corridor of 4 steps evaluated every 2 steps (so evaluations fall mid-episode and at episodes'
ends): a kill is an exception nothing catches (the process gone, its lock released, no checkpoint written), a
signal is SIGTERM sent from inside the environment's step. The default suite stops at a sample of the steps;
`tox -e fuzz` (DDPG_FUZZ_EXAMPLES >= 100) at every one.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import signal
from pathlib import Path

import gymnasium as gym
import pytest
from helpers import TIMINGS, Corridor, tiny_config

from ddpg.run_options import RunOptions
from ddpg.training import TrainingInterrupted, train

DEEP = int(os.environ.get("DDPG_FUZZ_EXAMPLES", "15")) >= 100
ENV = "ddpg_tests/TripwireCorridor-v0"
EPISODES, LENGTH, EVAL_EVERY = 3, 4, 2
# Environment steps of a whole run, training's and evaluations' in the order they happen: each training step,
# and after every EVAL_EVERY-th, one evaluation episode of LENGTH steps.
TOTAL = EPISODES * LENGTH * (1 + LENGTH // EVAL_EVERY)
class Killed(BaseException):
    """The process dies here: nothing catches it, no checkpoint is written."""


class Tripwire(Corridor):
    """The corridor, counting every step of every instance (training's and evaluation's); at step `at`
    overall, `action` ("kill" or "sigterm")."""

    count, at, action = 0, None, None

    def step(self, action):
        Tripwire.count += 1
        if Tripwire.count == Tripwire.at:
            if Tripwire.action == "kill":
                raise Killed
            os.kill(os.getpid(), signal.SIGTERM)
        return super().step(action)


if ENV not in gym.registry:
    gym.register(ENV, entry_point=Tripwire, kwargs={"length": LENGTH}, max_episode_steps=LENGTH)

# A ring of 6 transitions: from step 7 on, each step overwrites one that a checkpoint of its episode's start holds,
# and that no checkpoint has yet when it is episode 2's.
CONFIG = tiny_config(env_id=ENV, episodes=EPISODES, batch_size=4, buffer_capacity=6, update_every=1,
                     eval_every=EVAL_EVERY, eval_episodes=1, seed=7)


def options(run: Path, resume: bool = False) -> RunOptions:
    # Every 2nd episode: a stop in episode 2 or 4 goes back past the last periodic checkpoint.
    return RunOptions(run, resume=resume, checkpoint_every=2, tensorboard=False)


def without_timing(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text(), newline="")))
    return [{name: value for name, value in row.items() if name not in TIMINGS} for row in rows]


def trip(at: int | None, action: str | None = None) -> None:
    Tripwire.count, Tripwire.at, Tripwire.action = 0, at, action


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("whole") / "run"
    trip(None)
    train(CONFIG, options(run))
    assert Tripwire.count == TOTAL
    assert [int(row["step"]) for row in without_timing(run / "eval.csv")] == list(range(2, 13, 2))
    return run


# Steps 1-2 train, 3-6 evaluate at step 2 (mid-episode), 7-8 train (8 ends episode 1), 9-12 evaluate at step 4,
# ...: the first step, inside a mid-episode evaluation, the step that ends an episode, inside and at the end of an
# evaluation due at an episode's end, a mid-episode training step, the very last.
SAMPLE = [1, 5, 8, 11, 19, 24, TOTAL]


def stop_then_resume(config, run: Path, at: int, action: str) -> None:
    """Train, stopped at step `at` overall (killed, or by SIGTERM), then the same run finished: resumed from its
    checkpoint, or started again when it was stopped before its first."""
    trip(at, action)
    with pytest.raises(Killed if action == "kill" else TrainingInterrupted):
        train(config, options(run))
    trip(None)
    if (run / "checkpoint").exists():
        train(config, options(run, resume=True))
    else:  # nothing kept: the run starts again
        train(config, RunOptions(run, overwrite=True, checkpoint_every=2, tensorboard=False))


@pytest.mark.slow
@pytest.mark.parametrize("action", ["kill", "sigterm"])
@pytest.mark.parametrize("at", range(1, TOTAL + 1) if DEEP else SAMPLE)
def test_a_stop_at_any_step_then_resume_equals_the_uninterrupted_run(uninterrupted, tmp_path, action, at):
    run = tmp_path / "run"
    stop_then_resume(CONFIG, run, at, action)
    for name in ("metrics.csv", "eval.csv"):
        assert without_timing(run / name) == without_timing(uninterrupted / name), name


def test_a_step_budget_that_cuts_an_episode_then_a_longer_one_equals_the_longer_run(uninterrupted, tmp_path):
    # 6 steps end in the middle of episode 2: its checkpoint is of episode 2's start, so the longer budget
    # replays episode 2 from its reset, as the uninterrupted run played it.
    run = tmp_path / "run"
    trip(None)
    train(dataclasses.replace(CONFIG, episodes=None, total_steps=6), options(run))
    from ddpg.checkpoint import load_checkpoint

    assert load_checkpoint(run / "checkpoint").manifest["steps"] == 4
    train(dataclasses.replace(CONFIG, episodes=None, total_steps=LENGTH * EPISODES), options(run, resume=True))
    for name in ("metrics.csv", "eval.csv"):
        assert without_timing(run / name) == without_timing(uninterrupted / name), name


@pytest.fixture(scope="module")
def uninterrupted_normalised(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("whole-normalised") / "run"
    trip(None)
    train(NORMALISED, options(run))
    return run


# With normalize_observations: a checkpoint of an episode's start holds the statistics as of that start, so the
# replayed episode acts and learns on the same normalised observations.
NORMALISED = dataclasses.replace(CONFIG, normalize_observations=True)


@pytest.mark.slow
@pytest.mark.parametrize("action", ["kill", "sigterm"])
@pytest.mark.parametrize("at", range(1, TOTAL + 1) if DEEP else [5, 11, 19])
def test_a_normalised_run_stopped_then_resumed_equals_the_uninterrupted_one(uninterrupted_normalised, tmp_path,
                                                                            action, at):
    run = tmp_path / "run"
    stop_then_resume(NORMALISED, run, at, action)
    for name in ("metrics.csv", "eval.csv"):
        assert without_timing(run / name) == without_timing(uninterrupted_normalised / name), name
    states = [json.loads((path / "checkpoint" / "state.json").read_text()) for path in (run, uninterrupted_normalised)]
    assert states[0]["normalizer"] == states[1]["normalizer"]
