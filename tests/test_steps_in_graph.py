"""Steps in the graph (Trainer.advance, DDPGAgent.run_steps): with one update per step on TensorFlow, a block of
environment steps runs as one TensorFlow call. It is the same algorithm: the same steps, updates, losses and
files as a `step` and an `update` call per step, to float tolerance; it hands control back where the run needs
it (an episode's end, an evaluation, the budget, a signal) and raises what the environment's step raised."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit
from helpers import SHORT_ENV, NaNAfter, assert_same_rows, rows_of, tiny_config

import ddpg.loop
from ddpg.environments import BadEnvironmentOutput
from ddpg.loop import Trainer
from ddpg.run_options import RunOptions
from ddpg.training import train

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

CONFIG = tiny_config(env_id=SHORT_ENV, update_every=1, learning_starts=30, episodes=4, seed=3)


def in_graph(monkeypatch, on: bool) -> None:
    monkeypatch.setattr(ddpg.loop, "STEPS_IN_GRAPH", on)


def advance_through(trainer: Trainer, episodes: int) -> tuple[list[dict], int]:
    """The episodes' rows, and how many calls `advance` took."""
    rows, calls = [], 0
    while trainer.episode < episodes:
        row = trainer.advance(lambda: None, lambda: False)
        calls += 1
        if row is not None:
            rows.append(row)
    return rows, calls


def test_blocks_of_steps_equal_a_step_and_an_update_call_at_a_time(monkeypatch):
    in_graph(monkeypatch, False)
    one_at_a_time = Trainer(CONFIG)
    assert not one_at_a_time.steps_in_graph
    rows, calls = advance_through(one_at_a_time, 4)
    assert calls == one_at_a_time.steps == 80
    in_graph(monkeypatch, True)
    blocks = Trainer(CONFIG)
    assert blocks.steps_in_graph
    block_rows, block_calls = advance_through(blocks, 4)
    assert block_calls == 4  # one TensorFlow call per 20-step episode
    assert blocks.agent.tracing_count() == 1
    assert_same_rows([{k: str(v) for k, v in r.items()} for r in block_rows],
                     [{k: str(v) for k, v in r.items()} for r in rows], "metrics rows")
    assert not np.isnan(block_rows[-1]["critic_loss"])  # updates were made: 80 - 30 + 1 of them
    mine, theirs = blocks.agent.get_state(), one_at_a_time.agent.get_state()
    for name in theirs:
        np.testing.assert_allclose(mine[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert blocks.buffer.position() == one_at_a_time.buffer.position()
    for name, column in one_at_a_time.buffer.get_state()[1].items():
        np.testing.assert_array_equal(blocks.buffer.get_state()[1][name], column, err_msg=name)
    assert json.dumps(blocks.explorer.get_state(), default=str) == json.dumps(one_at_a_time.explorer.get_state(),
                                                                             default=str)
    # acting goes on with the actor after the last update
    obs = np.array([0.5, -0.5, 0.1], np.float32)
    np.testing.assert_allclose(blocks.agent.policy(obs), one_at_a_time.agent.policy(obs), rtol=1e-5, atol=1e-6)


def test_a_block_hands_control_back_after_the_step_that_asks(monkeypatch):
    in_graph(monkeypatch, True)
    trainer = Trainer(CONFIG)
    before = []
    row = trainer.advance(lambda: before.append(trainer.steps), lambda: trainer.steps == 7)
    assert row is None and trainer.steps == 7 and before == list(range(7))  # before_step ran before each step
    trainer.stop_requested = None
    row = trainer.advance(lambda: None, lambda: False)
    assert trainer.steps == 20 and row["episode"] == 1 and row["steps"] == 20  # then on to the episode's end


def test_a_block_ends_at_the_step_a_signal_arrives(monkeypatch):
    in_graph(monkeypatch, True)
    trainer = Trainer(CONFIG)

    def signal_at_step_5() -> None:  # as the handler would, while the block runs
        if trainer.steps == 5:
            trainer.stop_requested = "SIGTERM"

    assert trainer.advance(signal_at_step_5, lambda: False) is None
    assert trainer.steps == 6  # the step under way when it came is finished, as after a `step`


@pytest.mark.parametrize("on", [False, True], ids=["a-step-at-a-time", "in-graph"])
def test_an_environment_error_in_a_block_is_raised_with_the_steps_before_it_counted(monkeypatch, on):
    in_graph(monkeypatch, on)
    env = NaNAfter()
    env.bad_step = 45
    trainer = Trainer(CONFIG, TimeLimit(env, 20))
    with pytest.raises(BadEnvironmentOutput, match="step 45"):
        while True:
            trainer.advance(lambda: None, lambda: False)
    assert trainer.steps == 44 and len(trainer.buffer) == 44
    assert int(trainer.agent.critic_optimizer.iterations.numpy()) == 44 - 30 + 1  # the steps' before it, not its
    assert trainer._episode["updates"] == 4  # those of steps 41-44, in this third episode


@pytest.mark.slow
def test_a_run_with_steps_in_graph_writes_the_files_of_a_run_without(monkeypatch, tmp_path):
    config = dataclasses.replace(CONFIG, eval_every=25, eval_episodes=2, episodes=5)
    runs = {}
    for on in (False, True):
        in_graph(monkeypatch, on)
        runs[on] = tmp_path / str(on)
        train(config, RunOptions(out_dir=runs[on], checkpoint_every=2, tensorboard=False))
    for name in ("metrics.csv", "eval.csv"):
        assert_same_rows(rows_of(runs[True] / name), rows_of(runs[False] / name), name)
    assert [row["step"] for row in rows_of(runs[True] / "eval.csv")] == ["25", "50", "75", "100"]
    with np.load(runs[True] / "checkpoint" / "arrays.npz") as mine, np.load(runs[False] / "checkpoint" /
                                                                            "arrays.npz") as theirs:
        assert sorted(mine.files) == sorted(theirs.files)
        for name in theirs.files:
            if theirs[name].dtype.kind == "f":
                np.testing.assert_allclose(mine[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
            else:
                np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)


ONE_THREAD_RUN = """
import sys
sys.path.insert(0, {tests!r})
from ddpg.trial import use_threads
use_threads(1)  # as a sweep's worker: one intra-op and one inter-op thread
from helpers import SHORT_ENV, tiny_config
from ddpg.run_options import RunOptions
from ddpg.training import train
result = train(tiny_config(env_id=SHORT_ENV, update_every=1, learning_starts=30, episodes=3),
               RunOptions(out_dir={out!r}, checkpoint_every=1, tensorboard=False))
print(len(result.returns))
"""


@pytest.mark.slow
def test_a_run_with_one_inter_op_thread_does_not_wait_forever(tmp_path):
    # A TensorFlow call inside the block's (the checkpoint's copy of the variables at an episode's start) would
    # wait for the only inter-op thread, which runs the block: a sweep's workers hung so
    code = ONE_THREAD_RUN.format(tests=str(Path(__file__).parent), out=str(tmp_path / "run"))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "3"
