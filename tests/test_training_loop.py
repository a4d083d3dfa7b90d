"""The training loop is Algorithm 1: what it stores, when and how often it learns, when the noise restarts,
and evaluation from distinct starting states. And the run around it: a budget in steps, the warm-up, when
learning starts, evaluation during training with the best actor kept, TensorBoard, presets and config
files, each resumed exactly."""

from __future__ import annotations

import csv
import dataclasses
import json

import gymnasium as gym
import numpy as np
import pytest
from helpers import TIMINGS, corridor, tiny_config

pytest.importorskip("keras")

from ddpg.checkpoint import load_checkpoint  # noqa: E402
from ddpg.cli import main  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.evaluation import evaluate  # noqa: E402
from ddpg.noise import OrnsteinUhlenbeckNoise  # noqa: E402
from ddpg.presets import PRESETS  # noqa: E402
from ddpg.run_options import RunOptions  # noqa: E402
from ddpg.training import Trainer, train  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)


@pytest.mark.parametrize("length, time_limit, terminal_rows", [
    (5, 8, [4, 9, 14]),  # the corridor ends before the time limit: each episode's last step is terminal
    (9, 5, []),  # the time limit cuts every episode first: a truncation, so s' still has a future
])
def test_only_a_true_termination_is_stored_as_terminal(length, time_limit, terminal_rows):
    result = train(tiny_config(env_id=corridor(length, time_limit), episodes=3, seed=1))
    steps = 3 * min(length, time_limit)
    terminated = result.buffer.columns().terminated[:steps, 0]
    assert np.flatnonzero(terminated).tolist() == terminal_rows


def test_a_real_time_limited_environment_stores_no_terminal_flag(pendulum_run):
    # Pendulum-v1 never terminates; its TimeLimit truncates at 200 steps.
    result, _ = pendulum_run
    assert len(result.buffer) == 200
    assert not result.buffer.columns().terminated[:200].any()


def test_each_step_stores_its_own_transition():
    # Corridor of 5: observations 5, 4, 3, 2, 1 then the next ones 4, 3, 2, 1, 0; reward -|a| of the action
    # actually taken (the stored one); three episodes in order.
    result = train(tiny_config(env_id=corridor(5, 10), episodes=3))
    stored = result.buffer.columns()
    np.testing.assert_array_equal(stored.obs[:15, 0], [5, 4, 3, 2, 1] * 3)
    np.testing.assert_array_equal(stored.next_obs[:15, 0], [4, 3, 2, 1, 0] * 3)
    np.testing.assert_array_equal(stored.reward[:15], -np.abs(stored.action[:15]))
    assert len(set(stored.action[:15, 0])) == 15  # the exploring policy's actions, not one repeated


@pytest.mark.slow
@pytest.mark.parametrize("update_every", [1, 3, 10])
def test_one_update_per_step_from_the_first_full_batch(update_every):
    # Learning starts once the buffer holds one batch (README, deviations), and then every update_every
    # steps one call makes update_every updates. With update_every = 1: exactly one update per step
    # from step batch_size = 16 on, so 70 - 16 + 1 = 55 after 70 steps.
    result = train(tiny_config(env_id=corridor(7, 10), episodes=10, update_every=update_every))
    assert result.steps == 70
    calls = [t for t in range(1, 71) if t % update_every == 0 and t >= 16]
    expected = {1: 55, 3: 54, 10: 60}[update_every]
    assert update_every * len(calls) == expected
    assert int(result.agent.critic_optimizer.iterations.numpy()) == expected
    assert int(result.agent.actor_optimizer.iterations.numpy()) == expected


class RecordingNoise(OrnsteinUhlenbeckNoise):
    """OU noise that writes down every reset and every draw."""

    def __init__(self, *args, **kwargs) -> None:
        self.log: list[str] = []
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        super().reset()
        self.log.append("reset")

    def __call__(self) -> np.ndarray:
        self.log.append("draw")
        return super().__call__()


def test_the_noise_restarts_once_at_every_episode_start():
    trainer = Trainer(tiny_config(env_id=corridor(5, 10), episodes=3))
    noise = trainer.explorer.noise
    trainer.explorer.noise = recording = RecordingNoise(noise.mu, noise.sigma, noise.theta, noise.dt, rng=noise.rng)
    recording.log.clear()  # the reset of construction
    for _ in range(3):
        trainer.run_episode()
    trainer.close()
    assert recording.log == (["reset"] + ["draw"] * 5) * 3


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pendulum")
    return train(tiny_config(episodes=1, seed=2), RunOptions(out)), out


def test_evaluation_episodes_start_from_different_states(pendulum_run):
    _, out = pendulum_run
    returns = evaluate(out, episodes=3, seed=7)["returns"]
    assert len(set(returns)) == 3, returns  # one deterministic policy: only the starting states differ
    assert evaluate(out, episodes=3, seed=7)["returns"] == returns  # and they are the seed's own


def test_evaluation_seeds_away_from_training_by_default(pendulum_run):
    _, out = pendulum_run
    assert evaluate(out, episodes=1)["seed"] == 2 + 1_000_000  # the training seed is 2


class RecordingPendulum(gym.Wrapper):
    """Pendulum that writes down every action it is sent (Pendulum clips them itself, hiding a missing clip)."""

    def __init__(self):
        super().__init__(gym.make("Pendulum-v1"))
        self.sent = []

    def step(self, action):
        self.sent.append(np.array(action))
        return super().step(action)


def test_evaluation_sends_only_actions_within_the_bounds():
    from ddpg.evaluation import run_episodes

    env = RecordingPendulum()
    # A policy far outside [-2, 2] on both sides, as mu(s) can be by an ulp: the environment sees the bounds.
    run_episodes(lambda obs: np.array([5.0 if obs[2] > 0 else -7.0]), env, episodes=1, seed=0)
    sent = np.array(env.sent)
    assert len(sent) == 200 and sent.dtype == np.float32
    assert set(sent[:, 0]) == {2.0, -2.0}


# --- the run around the loop: a budget in steps, the warm-up, evaluation during training, resume ---------


def rows(path) -> list[dict]:
    with path.open() as file:
        return list(csv.DictReader(file))


# --- the budget --------------------------------------------------------------------------------------

def test_a_step_budget_ends_mid_episode_and_resumes_to_a_larger_one(tmp_path):
    # Corridor of 5: steps 1-5 are episode 1, 6-10 episode 2; a budget of 7 stops two steps into episode 2.
    env_id = corridor(5, 10)
    result = train(tiny_config(env_id=env_id, total_steps=7, episodes=None), RunOptions(tmp_path))
    assert (result.steps, len(result.returns)) == (7, 1)
    assert [row["episode"] for row in rows(tmp_path / "metrics.csv")] == ["1"]
    saved = load_checkpoint(tmp_path / "checkpoint").manifest
    # The checkpoint is of episode 2's start (an environment's state cannot be saved, its reset can be replayed).
    assert (saved["steps"], saved["episode"], saved["buffer"]["size"]) == (5, 1, 5)
    # Resumed to 17: episode 2 replayed from its start, then episode 3 and 2 steps of episode 4, as a run of 17 does.
    resumed = train(tiny_config(env_id=env_id, total_steps=17, episodes=None), RunOptions(tmp_path, resume=True))
    assert (resumed.steps, resumed.steps_trained, resumed.episodes_trained) == (17, 12, 2)
    assert [row["steps"] for row in rows(tmp_path / "metrics.csv")] == ["5", "10", "15"]
    whole = train(tiny_config(env_id=env_id, total_steps=17, episodes=None))
    assert resumed.returns == whole.returns


def test_a_shorter_budget_is_the_longer_runs_beginning(tmp_path):
    # docs/mujoco.md's short runs (peer_check.py ours --as-queued, early) stand for the queue's long ones: the first
    # episodes of a run, losses included, do not depend on its budget. Updates at each episode's end, as ourddpg2018.
    env_id = corridor(5, 10)
    for steps in (7, 17):
        config = tiny_config(env_id=env_id, episodes=None, total_steps=steps, update_at_episode_end=True,
                             learning_starts=1)
        train(config, RunOptions(tmp_path / str(steps), tensorboard=False))
    short, long = (rows(tmp_path / str(steps) / "metrics.csv") for steps in (7, 17))
    assert len(short) == 1 and len(long) == 3
    untimed = [{name: value for name, value in row.items() if name not in TIMINGS} for row in (short[0], long[0])]
    assert untimed[0] == untimed[1]


def test_exactly_one_budget():
    assert (DDPGConfig().episodes, DDPGConfig().total_steps) == (100, None)
    assert (DDPGConfig(total_steps=500).episodes, DDPGConfig(total_steps=500).total_steps) == (None, 500)
    with pytest.raises(ValueError, match="Expected one budget: episodes or total_steps, not both. "
                                         "Received: episodes=3, total_steps=500"):
        DDPGConfig(episodes=3, total_steps=500)


# --- warm-up and the start of learning -----------------------------------------------------------------

def test_the_warm_up_acts_uniformly_then_the_policy_takes_over():
    # 40 random steps, then mu(s) + N. With noise none, the policy's actions on the corridor depend only
    # on the observation (5..1): at most 5 distinct values once it acts, 40 distinct ones before.
    result = train(tiny_config(env_id=corridor(5, 10), total_steps=60, episodes=None, random_steps=40,
                          learning_starts=1000, noise="none"))
    actions = result.buffer.columns().action[:60, 0]
    assert len(set(actions[:40])) == 40 and np.all(np.abs(actions[:40]) <= 1)
    assert len(set(actions[40:])) <= 5
    policy = [result.agent.policy(np.array([obs], np.float32))[0] for obs in result.buffer.columns().obs[40:60, 0]]
    np.testing.assert_array_equal(actions[40:], np.clip(policy, -1, 1))


@pytest.mark.parametrize("learning_starts, update_every, expected", [
    # updates at every step t >= learning_starts: 30 - 10 + 1 = 21; every 4 steps from t = 12: 12,...,28: 5 calls
    (10, 1, 21), (10, 4, 20), (1, 1, 30), (31, 1, 0)])
def test_learning_starts_at_its_step(learning_starts, update_every, expected):
    result = train(tiny_config(env_id=corridor(5, 10), total_steps=30, episodes=None, learning_starts=learning_starts,
                          update_every=update_every))
    assert int(result.agent.critic_optimizer.iterations.numpy()) == expected


def test_learning_starts_defaults_to_one_batch():
    assert DDPGConfig().learning_starts == 64 and DDPGConfig(batch_size=256).learning_starts == 256
    assert DDPGConfig(batch_size=256, learning_starts=10).learning_starts == 10


# --- evaluation during training ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluated") / "run"
    cfg = tiny_config(env_id="Pendulum-v1", episodes=3, eval_every=150, eval_episodes=2, seed=3)
    return train(cfg, RunOptions(out, checkpoint_every=1)), out


def test_evaluations_are_written_every_eval_every_steps(evaluated_run):
    result, out = evaluated_run
    written = rows(out / "eval.csv")
    assert [int(row["step"]) for row in written] == [150, 300, 450, 600]
    assert all(int(row["episodes"]) == 2 for row in written)
    assert [float(row["mean_return"]) for row in written] == [row["mean_return"] for row in result.evaluations]


def test_the_best_actor_is_the_one_of_the_best_evaluation(evaluated_run):
    # Evaluated again with the same seed and episodes, best_actor.keras gives the best row's mean exactly.
    result, out = evaluated_run
    best = max(result.evaluations, key=lambda row: row["mean_return"])
    import shutil

    copy = out.parent / "best-as-run"
    copy.mkdir()
    shutil.copy(out / "config.json", copy / "config.json")
    shutil.copy(out / "best_actor.keras", copy / "actor.keras")
    seed = result.config.seed + 1_000_000
    assert evaluate(copy, episodes=2, seed=seed)["mean_return"] == pytest.approx(best["mean_return"], rel=1e-6)
    assert load_checkpoint(out / "checkpoint").manifest["best"] == {"step": best["step"],
                                                                      "mean_return": best["mean_return"]}


@pytest.mark.slow
def test_evaluating_during_training_changes_nothing_of_training(evaluated_run, tmp_path):
    result, _ = evaluated_run
    plain = train(dataclasses.replace(result.config, eval_every=0))
    assert plain.returns == result.returns  # its own environment and generator: training's streams untouched


@pytest.mark.slow
def test_evaluations_resume_exactly(evaluated_run, tmp_path):
    result, out = evaluated_run
    split = tmp_path / "split"
    train(dataclasses.replace(result.config, episodes=2), RunOptions(split, checkpoint_every=1))
    resumed = train(result.config, RunOptions(split, checkpoint_every=1, resume=True))
    assert resumed.returns == result.returns
    assert [(r["step"], r["mean_return"]) for r in rows(split / "eval.csv")] == [
        (r["step"], r["mean_return"]) for r in rows(out / "eval.csv")]


def event_steps(out) -> dict[str, list[int]]:
    """Each scalar's tag in the run's TensorBoard events, with the steps it was written at."""
    import tensorflow as tf

    tags: dict[str, list[int]] = {}
    for path in sorted((out / "tensorboard").iterdir()):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(event.step)
    return tags


def test_tensorboard_events_hold_the_episode_scalars(evaluated_run):
    _, out = evaluated_run
    tags = event_steps(out)
    assert tags["episode/return"] == [200, 400, 600]
    assert tags["eval/mean_return"] == [150, 300, 450, 600]
    assert {"loss/critic", "loss/actor", "q/mean", "speed/steps_per_second"} <= set(tags)



@pytest.mark.parametrize("first", [True, False], ids=["with-events", "without"])
def test_a_resumed_run_writes_tensorboard_events_only_if_it_was_writing_them(tmp_path, first):
    # RunOptions' tensorboard is True unless --no-tensorboard: a run started without events and resumed without the
    # flag again began to write them from the middle (the Table 1 queue's resumed runs did, 2026-12-03).
    out = tmp_path / "run"
    config = tiny_config(env_id="Pendulum-v1", seed=1)
    train(dataclasses.replace(config, episodes=1), RunOptions(out, tensorboard=first))
    train(dataclasses.replace(config, episodes=2), RunOptions(out, resume=True))
    assert (out / "tensorboard").exists() is first
    if first:
        assert sorted(event_steps(out)["episode/return"]) == [200, 400]


# --- presets and config files --------------------------------------------------------------------------

TINY_CLI = ["--actor-hidden", "8", "--critic-hidden", "8", "--batch-size", "4"]


def run_config(tmp_path, *args, steps: int = 3) -> dict:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--env-id", corridor(5, 10), "--total-steps", str(steps),
                 "--buffer-capacity", "1000", *map(str, args)]) == 0
    return json.loads((out / "config.json").read_text())


def test_a_preset_sets_defaults_and_options_override_it(tmp_path):
    saved = run_config(tmp_path, "--preset", "ourddpg-retuned", "--batch-size", "32", "--random-steps", "2",
                       "--learning-starts", "2")
    expected = {**PRESETS["ourddpg-retuned"], "batch_size": 32, "random_steps": 2, "learning_starts": 2,
                "buffer_capacity": 1000}
    for name, value in expected.items():
        assert saved[name] == (list(value) if isinstance(value, tuple) else value), name
    assert saved["episodes"] is None and saved["total_steps"] == 3


def test_the_papers_preset_records_the_papers_values(tmp_path):
    saved = run_config(tmp_path, "--preset", "lillicrap2016")
    assert (saved["actor_hidden"], saved["critic_state_hidden"], saved["critic_action_hidden"],
            saved["critic_hidden"]) == ([400, 300], [400], [], [300])
    assert (saved["actor_lr"], saved["critic_lr"], saved["critic_weight_decay"], saved["tau"],
            saved["batch_size"]) == (1e-4, 1e-3, 1e-2, 1e-3, 64)


def test_a_config_file_sits_between_the_preset_and_the_options(tmp_path):
    file = tmp_path / "mine.json"
    file.write_text(json.dumps({"tau": 0.02, "gamma": 0.9, "episodes": 5}))
    saved = run_config(tmp_path, "--preset", "ourddpg-retuned", "--config", file, "--gamma", "0.8")
    # tau from the file over the preset, gamma from the option over the file, the budget from the option
    assert (saved["tau"], saved["gamma"], saved["batch_size"], saved["total_steps"], saved["episodes"]) == (
        0.02, 0.8, 256, 3, None)


@pytest.mark.slow
def test_a_runs_own_config_json_trains_the_same_run(tmp_path):
    first = run_config(tmp_path, "--seed", "4", "--critic-state-hidden", "--critic-action-hidden", *TINY_CLI,
                       steps=12)
    assert first["critic_state_hidden"] == [] and first["critic_action_hidden"] == []  # (s, a) joined at the input
    out = tmp_path / "again"
    assert main(["train", "--config", str(tmp_path / "run" / "config.json"), "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text()) == first
    assert len(rows(out / "metrics.csv")) == 2
    assert rows(out / "metrics.csv")[1]["return"] == rows(tmp_path / "run" / "metrics.csv")[1]["return"]


@pytest.mark.parametrize("options", [
    dict(noise="gaussian", random_steps=30, learning_starts=20),
    dict(noise="none", critic_state_hidden=(), critic_action_hidden=(), critic_weight_decay=0.01, update_every=5),
    dict(update_at_episode_end=True, update_every=3, policy_delay=2, learning_starts=8, initializer="fan_in_uniform",
         final_layer_init="both"),
    dict(normalize_observations=True, random_steps=12, update_every=4),
], ids=["gaussian-warm-up", "joined-critic-l2", "episode-end-delayed-fan-in", "normalised"])
@pytest.mark.slow
def test_a_run_resumed_with_the_new_options_equals_the_uninterrupted_one(tmp_path, options):
    # Split at step 40, an episode boundary of the 5-step corridor, and resumed to 70.
    def run(total_steps: int, out, resume: bool = False):
        return train(tiny_config(env_id=corridor(5, 10), total_steps=total_steps, episodes=None, seed=6, **options),
                     RunOptions(out, resume=resume))

    whole = run(70, tmp_path / "a")
    run(40, tmp_path / "b")
    resumed = run(70, tmp_path / "b", resume=True)
    assert resumed.returns == whole.returns  # bit-identical
    np.testing.assert_array_equal(resumed.buffer.columns().action[:70], whole.buffer.columns().action[:70])


# --- updates at an episode's end (the TD3 paper's DDPG) ---------------------------------------------------

def updates_made(result) -> tuple[int, int]:
    return int(result.agent.critic_optimizer.iterations), int(result.agent.actor_optimizer.iterations)


@pytest.mark.slow
@pytest.mark.parametrize("length, time_limit", [(5, 10), (9, 5)], ids=["terminated", "truncated"])
def test_updates_wait_for_the_episodes_end_then_match_its_steps(length, time_limit):
    # Episodes of 5 steps, whether the corridor ends or the time limit cuts it; a budget of 12 steps ends two
    # into the third episode: 5 + 5 updates, none for the unfinished one, none during an episode.
    env_id = corridor(length, time_limit)
    options = dict(env_id=env_id, update_at_episode_end=True, learning_starts=1, episodes=None)
    assert updates_made(train(tiny_config(total_steps=4, **options))) == (0, 0)
    assert updates_made(train(tiny_config(total_steps=5, **options))) == (5, 5)
    assert updates_made(train(tiny_config(total_steps=12, **options))) == (10, 10)


def test_updates_at_an_episodes_end_wait_for_learning_starts():
    # learning_starts 8: the first episode ends at step 5, too early; the second at step 10, with its 5 updates.
    options = dict(env_id=corridor(5, 10), update_at_episode_end=True, learning_starts=8, episodes=None)
    assert updates_made(train(tiny_config(total_steps=9, **options))) == (0, 0)
    assert updates_made(train(tiny_config(total_steps=10, **options))) == (5, 5)


@pytest.mark.slow
def test_an_episodes_updates_are_the_same_in_calls_of_any_size():
    # update_every only groups the episode's updates into compiled calls (7 updates: 3 + 3 + 1, or 7 single
    # ones): the same batches in the same order, so the same networks.
    def run(update_every):
        return train(tiny_config(env_id=corridor(7, 10), update_at_episode_end=True, learning_starts=1, episodes=3,
                            update_every=update_every))

    singles, grouped = run(1), run(3)
    assert updates_made(singles) == updates_made(grouped) == (21, 21)
    for ours, theirs in zip(grouped.agent.actor.weights, singles.agent.actor.weights, strict=True):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-5)
    assert grouped.returns == pytest.approx(singles.returns, rel=1e-4)
