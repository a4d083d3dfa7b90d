"""Callbacks of ddpg.train: after each episode and each evaluation, able to stop the run as a spent budget would."""

from __future__ import annotations

import pytest
from helpers import SHORT_ENV, tiny_config

import ddpg
from ddpg.callbacks import EarlyStopping
from ddpg.checkpoint import read_manifest


class Recorder:
    def __init__(self, stop_after_episodes=None):
        self.episodes, self.evaluations, self.stop_after = [], [], stop_after_episodes

    def on_episode_end(self, row):
        self.episodes.append(row["episode"])
        return self.stop_after is not None and row["episode"] >= self.stop_after

    def on_evaluation_end(self, row):
        self.evaluations.append(row["step"])


def test_hooks_run_after_each_episode_and_evaluation(tmp_path):
    recorder = Recorder()
    ddpg.train(tiny_config(env_id=SHORT_ENV, episodes=2, eval_every=20, eval_episodes=1), tmp_path / "run",
               callbacks=[recorder])
    assert recorder.episodes == [1, 2] and recorder.evaluations == [20, 40]


def test_a_callback_stops_the_run_cleanly(tmp_path):
    run = tmp_path / "run"
    result = ddpg.train(tiny_config(env_id=SHORT_ENV, episodes=5), run, callbacks=[Recorder(stop_after_episodes=2)])
    assert len(result.returns) == 2
    assert (run / "actor.keras").is_file() and (run / "learning_curve.png").is_file()
    assert read_manifest(run / "checkpoint")[1]["episode"] == 2


@pytest.mark.slow
def test_early_stopping_on_an_evaluation_threshold(tmp_path):
    stop = EarlyStopping(threshold=-1e9)  # any evaluation reaches it
    result = ddpg.train(tiny_config(env_id=SHORT_ENV, episodes=5, eval_every=20, eval_episodes=1), tmp_path / "r",
                        callbacks=[stop])
    assert len(result.evaluations) == 1 and result.steps == 20
    assert stop.stopped_at == 20
    never = EarlyStopping(threshold=1e9)
    result = ddpg.train(tiny_config(env_id=SHORT_ENV, episodes=2, eval_every=20, eval_episodes=1), None,
                        callbacks=[never])
    assert len(result.returns) == 2 and never.stopped_at is None
