"""--normalize-observations in the loop: which observations update the running statistics and when they freeze,
what the networks see (acting, replayed batches, evaluation), and the saved actors, which take raw observations."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import tiny_config
from owntask_envs import MillimetreReach

import ddpg
from ddpg.cli import main
from ddpg.evaluation import Evaluator, run_episodes
from ddpg.loop import Trainer
from ddpg.normalization import RunningMeanStd, normalize
from ddpg.run_options import RunOptions
from ddpg.training import train

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

ENV_ID = "owntask/MillimetreReach-v0"  # registered by importing owntask_envs
CONFIG = tiny_config(env_id=ENV_ID, normalize_observations=True, batch_size=8, learning_starts=8, random_steps=5,
                     update_every=4, seed=3)


class Recording(MillimetreReach):
    """MillimetreReach keeping every observation it returns, resets' and steps', in order."""

    def __init__(self):
        self.returned = []

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        self.returned.append(obs)
        return obs, info

    def step(self, action):
        obs, *rest = super().step(action)
        self.returned.append(obs)
        return (obs, *rest)


def test_the_statistics_are_those_of_every_observation_received_warm_up_included():
    # 25 steps: 3 resets and 25 next observations, the first 5 steps' under the warm-up's random actions.
    env = Recording()
    trainer = Trainer(CONFIG, env)
    for _ in range(25):
        trainer.step()
    expected = RunningMeanStd(1)
    for obs in env.returned:
        expected.update(obs)
    assert len(env.returned) == 28
    assert trainer.normalizer.get_state() == expected.get_state()  # the same merges in the same order: exactly
    assert trainer.normalizer.count == pytest.approx(28 + 1e-4)
    assert 4000 < trainer.normalizer.mean[0] < 6000 and trainer.normalizer.var[0] > 1e4  # raw units


def test_the_buffer_keeps_raw_observations_and_batches_are_normalised_when_drawn():
    env = Recording()
    trainer = Trainer(CONFIG, env)
    drawn, learnt = [], []
    sample, update_many = trainer.buffer.sample, trainer.agent.update_many
    trainer.buffer.sample = lambda size: drawn.append((sample(size), trainer.normalizer.get_state())) or drawn[-1][0]
    trainer.agent.update_many = lambda batches: learnt.append(batches) or update_many(batches)
    for _ in range(16):
        trainer.step()
    # Raw in the ring: s_t is what the environment returned (reset or step), s_{t+1} the next one.
    columns = trainer.buffer.columns()
    assert np.all(columns.obs[:16] > 1000)
    np.testing.assert_array_equal(columns.next_obs[:10], np.stack(env.returned[1:11]))
    # Updates at steps 8, 12 and 16, each on batches normalised with the statistics of that moment.
    assert len(learnt) == len(drawn) == 3
    for (raw, statistics), batches in zip(drawn, learnt, strict=True):
        mean, var = np.array(statistics["mean"]), np.array(statistics["var"])
        for name in ("obs", "next_obs"):
            np.testing.assert_array_equal(getattr(batches, name).reshape(-1, 1),
                                          normalize(getattr(raw, name), mean, var))
        np.testing.assert_array_equal(batches.action.reshape(-1, 1), raw.action)  # the rest as stored
        np.testing.assert_array_equal(batches.reward.reshape(-1, 1), raw.reward)
    assert np.abs(learnt[-1].obs).max() < 10  # the networks see unit scale, not millimetres


def test_acting_normalises_the_current_observation_with_the_statistics_now():
    class Spy:
        """The agent's policy, keeping what it was asked to act on and the statistics then."""

        def __call__(self, obs):
            seen.append((obs, trainer.normalizer.get_state()))
            return np.zeros(1, np.float32)

        def use_weights(self, weights):
            pass

    env = Recording()
    trainer = Trainer(dataclasses.replace(CONFIG, noise="none"), env)
    seen = []
    trainer.agent.policy = Spy()
    for _ in range(12):
        trainer.step()
    # The warm-up's 5 steps act at random; steps 6-10 act on s_6 .. s_10 (returned[5:10]); step 10 ends the episode,
    # its s_11 (returned[10]) is stored but never acted on; steps 11 and 12 act on the next reset's and its successor.
    assert len(seen) == 7
    for (obs, statistics), raw in zip(seen, env.returned[5:10] + env.returned[11:13], strict=True):
        np.testing.assert_array_equal(obs, normalize(raw, np.array(statistics["mean"]), np.array(statistics["var"])))
    assert seen[-1][1]["count"] == pytest.approx(13 + 1e-4)  # s_1 .. s_11, the second reset's and its first step's


def test_evaluation_acts_on_normalised_observations_and_leaves_the_statistics_as_they_were():
    trainer = Trainer(dataclasses.replace(CONFIG, eval_every=10, eval_episodes=2), MillimetreReach())
    evaluator = Evaluator(trainer.config, MillimetreReach)
    for _ in range(10):
        trainer.step()
    before = trainer.normalizer.get_state()
    row, _ = evaluator.evaluate(trainer, 0.0)
    assert trainer.normalizer.get_state() == before  # frozen: 20 evaluation steps added nothing
    mean, var = np.array(before["mean"]), np.array(before["var"])
    returns = run_episodes(lambda obs: trainer.agent.policy(normalize(obs, mean, var)), MillimetreReach(), 2,
                           evaluator.seed)
    assert row["mean_return"] == np.mean(returns)
    assert evaluator.best.statistics == before  # best_actor.keras will hold these


def test_without_the_option_nothing_is_normalised():
    trainer = Trainer(dataclasses.replace(CONFIG, normalize_observations=False), MillimetreReach())
    assert trainer.normalizer is None and trainer.observation_statistics() is None
    assert trainer.explorer.policy is trainer.agent.policy  # acting as it always did
    learnt = []
    trainer.agent.update_many = lambda batches: learnt.append(batches) or {"critic_loss": 0.0, "actor_loss": 0.0}
    for _ in range(8):
        trainer.step()
    assert np.all(learnt[0].obs > 1000)  # raw


# --- the run's files -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def normalised_run(tmp_path_factory):
    """A run of 6 episodes with an evaluation every 20 steps, on the task in millimetres: (its directory, result)."""
    run = tmp_path_factory.mktemp("normalised") / "run"
    config = dataclasses.replace(CONFIG, episodes=6, eval_every=20, eval_episodes=2)
    return run, train(config, RunOptions(run, tensorboard=False, checkpoint_every=2))


def raw_batch(count: int = 40) -> np.ndarray:
    """Observations from 2,000 mm to 8,000 mm: past the clip on either side for these statistics too."""
    return np.random.default_rng(4).uniform(2000, 8000, (count, 1)).astype(np.float32)


def test_actor_keras_maps_raw_observations_to_the_agents_policy_on_normalised_ones(normalised_run):
    from ddpg.backend import keras

    run, result = normalised_run
    statistics = json.loads((run / "checkpoint" / "state.json").read_text())["normalizer"]
    assert statistics["count"] == pytest.approx(60 + 6 + 1e-4)  # every step's and every reset's, none evaluation's
    actor = keras.models.load_model(run / "actor.keras")
    obs = raw_batch()
    expected = result.agent.policy(normalize(obs, np.array(statistics["mean"]), np.array(statistics["var"])))
    np.testing.assert_allclose(np.asarray(actor(obs)), expected, atol=1e-5)
    np.testing.assert_allclose(ddpg.load_policy(run).predict(obs), np.clip(expected, -1, 1), atol=1e-5)


def test_best_actor_keras_holds_the_statistics_of_its_evaluation(normalised_run):
    from ddpg.backend import keras
    from ddpg.checkpoint import load_checkpoint
    from ddpg.networks import NumpyPolicy

    run, result = normalised_run
    checkpoint = load_checkpoint(run / "checkpoint")
    best = checkpoint.manifest["best"]
    assert best["normalizer"]["count"] == pytest.approx(best["step"] + best["step"] // 10 + 1e-4)
    assert best["normalizer"] != checkpoint.manifest["normalizer"]  # earlier than the end: a test that tells
    policy = NumpyPolicy.from_actor(result.agent.actor)
    policy.use_weights([checkpoint.arrays[f"best/actor/{i}"] for i in range(len(policy.weights()))])
    obs = raw_batch()
    expected = policy(normalize(obs, np.array(best["normalizer"]["mean"]), np.array(best["normalizer"]["var"])))
    np.testing.assert_allclose(np.asarray(keras.models.load_model(run / "best_actor.keras")(obs)), expected,
                               atol=1e-5)


def test_evaluate_runs_the_saved_actor_on_raw_observations(normalised_run, capsys):
    run, result = normalised_run
    final = json.loads((run / "checkpoint" / "state.json").read_text())["normalizer"]
    report = ddpg.evaluate(run, episodes=3)
    mean, var = np.array(final["mean"]), np.array(final["var"])
    returns = run_episodes(lambda obs: result.agent.policy(normalize(obs, mean, var)), MillimetreReach(), 3,
                           report["seed"])
    np.testing.assert_allclose(report["returns"], returns, rtol=1e-4)
    assert main(["evaluate", str(run), "--best", "--episodes", "1"]) == 0


def snapshot(directory) -> dict:
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file() and path.name != "ddpg.lock"}


@pytest.mark.parametrize("damage, fragment", [
    # Statistics of two dimensions: valid as such, refused against the environment's one.
    (lambda state: state["normalizer"].update(mean=[5000.0, 1.0], var=[1.0, 1.0]), "the statistics' mean of 1 numbers"),
    (lambda state: state["normalizer"].update(var=[-1.0]), "normalizer to be null or the observation statistics"),
    (lambda state: state.update(normalizer=None), "exactly when the config has normalize_observations"),
    (lambda state: state["best"].pop("normalizer"), "exactly when the config has normalize_observations"),
    (lambda state: state["best"]["normalizer"].update(mean=[1.0, 2.0], var=[1.0, 2.0]),
     "the statistics' mean of 1 numbers"),
    (lambda state: state["best"]["normalizer"].update(count=0), "best to be null or the best evaluation's"),
], ids=["length", "negative-var", "none", "best-none", "best-length", "best-count"])
def test_damaged_statistics_in_a_checkpoint_are_one_line_and_change_nothing(normalised_run, tmp_path, capsys, damage,
                                                                            fragment):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(normalised_run[0], run)
    path = run / "checkpoint" / "state.json"
    state = json.loads(path.read_text())
    damage(state)
    path.write_text(json.dumps(state))
    before = snapshot(run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--episodes", "7"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Expected" in err and fragment in err, err
    assert snapshot(run) == before
