"""Checkpoints: a run resumed from one continues exactly; a corrupt or missing one is a clear error."""

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("keras")

from helpers import damage_checkpoint, tiny_config  # noqa: E402

from ddpg.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.run_options import RunOptions  # noqa: E402
from ddpg.training import train  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

TINY = tiny_config(episodes=4, seed=5)


def metrics_returns(run_dir):
    import csv

    with (run_dir / "metrics.csv").open() as file:
        return [(int(row["episode"]), float(row["return"])) for row in csv.DictReader(file)]


# Not slow: py310 runs it too, because on 3.10 a sweep's worker process may train a second seed (ddpg/local_engine.py,
# FRESH_PROCESS_PER_SEED), which gives that seed its own returns only if a second run in a process is the same run.
def test_same_seed_same_returns(tmp_path):
    first = train(TINY, RunOptions(tmp_path / "a")).returns
    second = train(TINY, RunOptions(tmp_path / "b")).returns
    assert first == second  # bit-identical, not approximately equal
    assert metrics_returns(tmp_path / "a") == metrics_returns(tmp_path / "b")


@pytest.mark.slow
@pytest.mark.parametrize("update_every", [1, 8], ids=["graph", "xla"])
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, update_every):
    config = dataclasses.replace(TINY, update_every=update_every)
    uninterrupted = train(config, RunOptions(tmp_path / "full", checkpoint_every=2))
    train(dataclasses.replace(config, episodes=2), RunOptions(tmp_path / "split", checkpoint_every=2))
    resumed = train(config, RunOptions(tmp_path / "split", checkpoint_every=2, resume=True))
    assert resumed.returns == uninterrupted.returns
    assert resumed.average_returns == uninterrupted.average_returns  # the resumed ones rebuilt from the returns
    assert metrics_returns(tmp_path / "split") == metrics_returns(tmp_path / "full")


@pytest.mark.slow
def test_a_normalised_run_resumed_equals_the_uninterrupted_run(tmp_path):
    # The observation statistics are in the checkpoint (and the best evaluation's with its actor): the resumed run
    # acts, learns and saves actors as the uninterrupted one, bit for bit.
    from ddpg.backend import keras

    config = dataclasses.replace(TINY, update_every=8, normalize_observations=True, eval_every=300, eval_episodes=1)
    whole = train(config, RunOptions(tmp_path / "full", checkpoint_every=2))
    train(dataclasses.replace(config, episodes=2), RunOptions(tmp_path / "split", checkpoint_every=2))
    resumed = train(config, RunOptions(tmp_path / "split", checkpoint_every=2, resume=True))
    assert resumed.returns == whole.returns
    assert [(e["step"], e["mean_return"]) for e in resumed.evaluations] == [
        (e["step"], e["mean_return"]) for e in whole.evaluations]
    states = [load_checkpoint(tmp_path / run / "checkpoint").manifest for run in ("full", "split")]
    assert states[0]["normalizer"] == states[1]["normalizer"] and states[0]["best"] == states[1]["best"]
    assert states[0]["normalizer"]["count"] == 800 + 4 + 1e-4
    obs = np.random.default_rng(0).uniform(-10, 10, (9, 3)).astype(np.float32)
    for name in ("actor.keras", "best_actor.keras"):
        actions = [np.asarray(keras.models.load_model(tmp_path / run / name)(obs)) for run in ("full", "split")]
        np.testing.assert_array_equal(actions[0], actions[1])


def test_checkpoint_holds_the_buffer_and_counters(tmp_path):
    result = train(TINY, RunOptions(tmp_path, checkpoint_every=1))
    state = load_checkpoint(tmp_path / "checkpoint")
    assert state.manifest["episode"] == 4 and state.manifest["steps"] == 800
    assert state.manifest["buffer"] == {"size": 800, "next": 800}
    for name, column in zip(("obs", "action", "reward", "next_obs", "terminated"), result.buffer.columns(),
                            strict=True):
        np.testing.assert_array_equal(state.arrays[f"buffer/{name}"], column[:800])
    assert state.manifest["returns"] == result.returns


@pytest.mark.slow
def test_resume_truncates_metrics_to_the_checkpoint(tmp_path):
    train(dataclasses.replace(TINY, episodes=3), RunOptions(tmp_path, checkpoint_every=2))
    # The run ended at episode 3 with its final checkpoint; pretend episode 3's checkpoint was lost
    # by resuming from an older one: write episode 2's state again from a fresh run.
    other = tmp_path.parent / (tmp_path.name + "_two")
    train(dataclasses.replace(TINY, episodes=2), RunOptions(other, checkpoint_every=2))
    import shutil

    shutil.rmtree(tmp_path / "checkpoint")
    shutil.copytree(other / "checkpoint", tmp_path / "checkpoint")
    train(TINY, RunOptions(tmp_path, checkpoint_every=2, resume=True))
    assert [episode for episode, _ in metrics_returns(tmp_path)] == [1, 2, 3, 4]


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "empty", "bad_json", "bad_arrays", "truncated_arrays"])
def test_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    train(dataclasses.replace(TINY, episodes=1), RunOptions(tmp_path, checkpoint_every=1))
    checkpoint = tmp_path / "checkpoint"
    damage_checkpoint(checkpoint, damage)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(checkpoint)
    assert str(checkpoint) in str(error.value)
    assert "Expected" in str(error.value)


def test_a_kill_between_the_renames_falls_back_to_the_previous_checkpoint(tmp_path):
    train(dataclasses.replace(TINY, episodes=1), RunOptions(tmp_path, checkpoint_every=1))
    checkpoint = tmp_path / "checkpoint"
    checkpoint.rename(tmp_path / "checkpoint.old")  # the state right after step 2 of the swap
    state = load_checkpoint(checkpoint)
    assert state.manifest["episode"] == 1


def test_manifest_is_json_with_the_config(tmp_path):
    train(dataclasses.replace(TINY, episodes=1), RunOptions(tmp_path, checkpoint_every=1))
    manifest = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert DDPGConfig(**manifest["config"]) == dataclasses.replace(TINY, episodes=1)
    assert np.isfinite(manifest["wall_seconds"])


@pytest.mark.slow
def test_each_state_is_checkpointed_once(tmp_path, monkeypatch):
    # Episodes 2 and 4 checkpoint in the loop; the end of the run is episode 4 again, not a third write.
    import ddpg.run_files

    written = []
    save = ddpg.run_files.save_checkpoint
    monkeypatch.setattr(ddpg.run_files, "save_checkpoint",
                        lambda directory, manifest, arrays, ring=None: (written.append(manifest["episode"]),
                                                             save(directory, manifest, arrays, ring)))
    train(TINY, RunOptions(tmp_path, checkpoint_every=2))
    assert written == [2, 4]
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 4
