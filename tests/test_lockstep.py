"""Many seeds in one process (ddpg.lockstep, ddpg.seed_training; issue 25): each seed's run directory holds what its
own run writes, to float tolerance, while their updates share vectorised calls.

The grouping of the update calls (call_rounds) and the refusals are tested everywhere; the runs need Keras on JAX
(KERAS_BACKEND=jax: `tox -e jax`) and are skipped elsewhere.
"""

import importlib.util
import itertools
import os
import signal

import pytest
from helpers import SEEDED_CORRIDOR, SHORT_ENV, assert_same_rows, rows_of, tiny_config

import ddpg.lockstep
from ddpg.lockstep import call_rounds
from ddpg.run_options import RunOptions
from ddpg.seed_training import train_seeds
from ddpg.training import TrainingInterrupted, train

ON_JAX = importlib.util.find_spec("jax") is not None and os.environ.get("KERAS_BACKEND") == "jax"
needs_jax_backend = pytest.mark.skipif(not ON_JAX, reason="Keras on JAX only: KERAS_BACKEND=jax (tox -e jax)")
SEEDS = [0, 1, 2]


@pytest.mark.parametrize(("calls", "rounds"), [
    pytest.param({0: [10], 1: [10], 2: [10]}, [(10, [0, 1, 2])], id="default-schedule-one-call-for-all"),
    # update_at_episode_end: seed 0's episode had 11 steps, seed 1's 10, seed 2's 1
    pytest.param({0: [10, 1], 1: [10], 2: [1]}, [(10, [0, 1]), (1, [2]), (1, [0])], id="episode-ends-differ"),
    pytest.param({0: [], 1: [3, 3, 1]}, [(3, [1]), (3, [1]), (1, [1])], id="one-seed-due"),
    pytest.param({0: [], 1: []}, [], id="none-due"),
])
def test_call_rounds_keep_each_seeds_order_and_share_equal_sizes(calls, rounds):
    assert call_rounds(calls) == rounds


def test_configs_that_differ_beyond_their_seeds_are_refused_before_any_file(tmp_path):
    configs = [tiny_config(seed=0, episodes=1), tiny_config(seed=1, episodes=1, tau=0.5)]
    with pytest.raises(ValueError, match=r"^Expected configs equal but for their seeds\. Received: tau differ$"):
        train_seeds(configs, [tmp_path / "a", tmp_path / "b"])
    assert list(tmp_path.iterdir()) == []


def trained_both_ways(tmp_path, monkeypatch, **overrides) -> list[tuple[int, list[int]]]:
    """SEEDS trained together into tmp_path/together/seed_N and each alone into tmp_path/alone/seed_N, compared
    file by file; the update rounds of the lock steps (size, seeds)."""
    rounds = []

    def spy(calls):
        rounds.extend(call_rounds(calls))
        return call_rounds(calls)

    monkeypatch.setattr(ddpg.lockstep, "call_rounds", spy)
    configs = [tiny_config(seed=seed, **overrides) for seed in SEEDS]
    options = [RunOptions(tmp_path / "together" / f"seed_{seed}", tensorboard=False) for seed in SEEDS]
    results = train_seeds(configs, options)
    for config, option, result in zip(configs, options, results, strict=True):
        alone = tmp_path / "alone" / option.out_dir.name
        single = train(config, RunOptions(alone, tensorboard=False))
        assert sorted(p.name for p in option.out_dir.iterdir()) == sorted(p.name for p in alone.iterdir())
        assert (option.out_dir / "config.json").read_text() == (alone / "config.json").read_text()
        assert_same_rows(rows_of(option.out_dir / "metrics.csv"), rows_of(alone / "metrics.csv"), alone.name)
        if config.eval_every:
            assert_same_rows(rows_of(option.out_dir / "eval.csv"), rows_of(alone / "eval.csv"), alone.name)
        assert (result.steps, len(result.returns)) == (single.steps, len(single.returns))
    return rounds


@needs_jax_backend
def test_seeds_of_the_default_schedule_share_every_update_call(tmp_path, monkeypatch):
    # Pendulum cut at 20 steps: every seed is due at the same steps, so each due step is one call for all three
    rounds = trained_both_ways(tmp_path, monkeypatch, env_id=SHORT_ENV, episodes=3, update_every=2, eval_every=20,
                               eval_episodes=2)
    assert rounds and all(seeds == SEEDS for _, seeds in rounds)


@needs_jax_backend
def test_seeds_whose_episodes_end_apart_share_what_they_can_and_update_alone_otherwise(tmp_path, monkeypatch):
    # Corridors of 2 to 6 steps drawn per seed, updates at each episode's end: some calls shared, some alone, and
    # the runs end at different steps; with policy_delay 2 and batch normalisation in the state
    rounds = trained_both_ways(tmp_path, monkeypatch, env_id=SEEDED_CORRIDOR, episodes=6, update_every=2,
                               update_at_episode_end=True, learning_starts=4, policy_delay=2, batch_norm=True)
    assert any(len(seeds) > 1 for _, seeds in rounds) and any(len(seeds) == 1 for _, seeds in rounds)


@needs_jax_backend
def test_a_signal_stops_every_seed_at_a_checkpoint_and_each_resumes_to_its_own_run(tmp_path, monkeypatch):
    configs = [tiny_config(seed=seed, env_id=SHORT_ENV, episodes=3, update_every=2) for seed in SEEDS]
    dirs = [tmp_path / "together" / f"seed_{seed}" for seed in SEEDS]
    step, steps = ddpg.lockstep.LockstepTrainers.step, itertools.count(1)

    def step_then_signal(self, active):
        rows = step(self, active)
        if next(steps) == 30:  # in the second episode of 20 steps
            os.kill(os.getpid(), signal.SIGINT)
        return rows

    monkeypatch.setattr(ddpg.lockstep.LockstepTrainers, "step", step_then_signal)
    with pytest.raises(TrainingInterrupted) as stopped:
        train_seeds(configs, [RunOptions(run, checkpoint_every=1, tensorboard=False) for run in dirs])
    message = str(stopped.value)
    assert message.startswith("stopped by SIGINT: seed 0 after episode 1 (step 30); ")
    for run in dirs:  # each left its checkpoint as the interrupted episode began, and says so
        assert f"{run / 'checkpoint'} holds episode 1 (step 20). Resume with: ddpg train --resume {run}" in message
    monkeypatch.setattr(ddpg.lockstep.LockstepTrainers, "step", step)
    train_seeds(configs, [RunOptions(run, resume=True, checkpoint_every=1, tensorboard=False) for run in dirs])
    for config, run in zip(configs, dirs, strict=True):
        alone = tmp_path / "alone" / run.name
        train(config, RunOptions(alone, checkpoint_every=1, tensorboard=False))
        assert_same_rows(rows_of(run / "metrics.csv"), rows_of(alone / "metrics.csv"), run.name)
