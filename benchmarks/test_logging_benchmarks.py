"""What a run's files cost per episode: the metrics row alone, and with TensorBoard's scalars beside it.

Divided by the 200 steps of a Pendulum episode, the summary shows each per step, to set beside a
training step (about 1-2 ms): TensorBoard must not slow a step measurably.
"""

from __future__ import annotations

import pytest
from conftest import tag

from ddpg.config import DDPGConfig
from ddpg.run_files import RunFiles

STEPS = 200  # one Pendulum episode: one row per 200 steps
ROW = {"episode": 1, "steps": 200, "return": -1234.5, "average_return_40": -1234.5, "wall_seconds": 1.0,
       "steps_per_second": 500.0, "critic_loss": 0.1, "actor_loss": 5.0, "mean_critic_loss": 0.2,
       "mean_actor_loss": 4.0}


@pytest.mark.parametrize("tensorboard", [False, True], ids=["metrics.csv", "metrics.csv+tensorboard"])
@pytest.mark.benchmark(group="run files, per episode")
def test_run_files_per_episode(benchmark, tmp_path, tensorboard):
    tag(benchmark, "ours" if tensorboard else "alternative", per=STEPS, unit="step")
    files = RunFiles(tmp_path)
    files.start(DDPGConfig(), tensorboard=tensorboard)
    benchmark(files.append_metrics, ROW)
    files.close()
    assert (tmp_path / "metrics.csv").read_text().count("\n") >= 2  # the header and the rows
    assert (tmp_path / "tensorboard").is_dir() == tensorboard
