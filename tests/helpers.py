"""Shared by the tests: the tiny config (as a config and as options), the command line, one-line errors, test
environments (a short Pendulum, a corridor, one that turns NaN), a run's episodes, damaged checkpoints, the
Markdown tables a results page must hold as a command prints them.
The fixtures built on them are in conftest.py."""

import csv
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from ddpg.config import DDPGConfig

# Networks small enough that a run of a few episodes takes seconds: as config fields, and as options.
TINY_NETWORKS = dict(actor_hidden=(8,), critic_state_hidden=(4,), critic_action_hidden=(4,), critic_hidden=(8,),
                     batch_size=16)
TINY = [arg for name, value in TINY_NETWORKS.items()
        for arg in ("--" + name.replace("_", "-"), *map(str, value if isinstance(value, tuple) else (value,)))]


def tiny_config(**overrides) -> DDPGConfig:
    return DDPGConfig(**{**TINY_NETWORKS, **overrides})


def assert_one_line(status: int, err: str, *fragments: str) -> None:
    """A user's error: exit status 2, one line on stderr holding every fragment, no traceback."""
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def episodes_in(run: Path) -> list[int]:
    """The episodes of metrics.csv, after read_metrics has checked every row is the next episode."""
    from ddpg.run_files import read_metrics

    path = run / "metrics.csv"
    if not path.exists():
        return []
    count = len(path.read_text().splitlines()) - 1
    return [int(row["episode"]) for row in read_metrics(path, count)]


# Pendulum cut at 20 steps: a run of a few episodes in a second, in this process (not in a subprocess's).
SHORT_ENV = "ddpg_tests/ShortPendulum-v0"
# tox.ini's newest Python, which runs every test; the older ones skip what it runs only if tox can find it here
# (on PATH, as tox looks for it): conftest.py.
NEWEST_PYTHON = "python3.13"
if SHORT_ENV not in gym.registry:
    gym.register(SHORT_ENV, entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv", max_episode_steps=20)
# In-process runs' options: the short Pendulum, a checkpoint after every episode, the tiny networks.
RUN = ["--env-id", SHORT_ENV, "--checkpoint-every", "1", *TINY]


class Corridor(gym.Env):
    """Walks `length` steps to a true end (terminated); the observation is the number of steps left."""

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, length: int = 5):
        self.length = length
        self.observation_space = gym.spaces.Box(0.0, float(length), (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = self.length
        return np.array([self.left], np.float32), {}

    def step(self, action):
        self.left -= 1
        return np.array([self.left], np.float32), -abs(float(action[0])), self.left == 0, False, {}


def corridor(length: int, time_limit: int) -> str:
    """The id of a Corridor of `length` steps under a time limit, registered in this process."""
    env_id = f"ddpg_tests/Corridor{length}-limit{time_limit}-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=Corridor, kwargs={"length": length}, max_episode_steps=time_limit)
    return env_id


class SeededCorridor(Corridor):
    """A Corridor whose length is drawn at each reset from its seeded generator (2 to 6 steps): runs of different
    seeds end their episodes at different steps."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = int(self.np_random.integers(2, 7))
        return np.array([self.left], np.float32), {}


SEEDED_CORRIDOR = "ddpg_tests/SeededCorridor-v0"
if SEEDED_CORRIDOR not in gym.registry:
    gym.register(SEEDED_CORRIDOR, entry_point=SeededCorridor, kwargs={"length": 6}, max_episode_steps=50)


def run_cli(*args, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m ddpg ARGS` in a fresh process, output captured; `env` is set on top of this process's."""
    return subprocess.run([sys.executable, "-m", "ddpg", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env} if env else None)


class NaNAfter(PendulumEnv):
    """A Pendulum whose observation turns NaN at its 250th step overall."""

    bad_step = 250

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total_steps = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.total_steps += 1
        if self.total_steps == self.bad_step:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info


def damage_checkpoint(checkpoint: Path, damage: str) -> None:
    """missing, empty, bad_json (state.json), bad_arrays (arrays.npz replaced) or truncated_arrays."""
    if damage == "missing":
        shutil.rmtree(checkpoint)
    elif damage == "empty":
        for path in checkpoint.iterdir():
            path.unlink()
    elif damage == "bad_json":
        (checkpoint / "state.json").write_text("{not json")
    elif damage == "bad_arrays":
        (checkpoint / "arrays.npz").write_bytes(b"garbage")
    elif damage == "truncated_arrays":
        data = (checkpoint / "arrays.npz").read_bytes()
        (checkpoint / "arrays.npz").write_bytes(data[: len(data) // 2])
    else:
        raise ValueError(f"unknown damage {damage!r}")


def cancelled_by_batch_norm(model) -> list[int]:
    """Positions in `model.variables` of what batch normalisation cancels in training mode: the bias of a
    Dense layer whose output only a BatchNormalization reads (its mean subtraction removes it), the beta of
    a BatchNormalization whose output only such a Dense layer reads, and the moving mean that tracks them.

    Their gradients are zero up to rounding, and Adam divides them by sqrt(v) + 1e-7: rounding-level
    gradients become steps of up to about lr * 1e-3 (more as the gradient's noise grows), whose sign depends
    on the order of the floating-point operations. Two computations of the same update (eager and compiled,
    TensorFlow and JAX) therefore agree on these to about 1e-3, not to rounding: the tests compare them so.
    """
    def readers(layer) -> list:
        return [node.operation for node in layer._outbound_nodes]

    def normalised(layer) -> bool:  # a Dense layer with a bias that only batch normalisation reads
        kind = type(layer).__name__
        after = readers(layer)
        return kind == "Dense" and layer.use_bias and after and all(
            type(r).__name__ == "BatchNormalization" for r in after)

    cancelled = []
    for layer in model.layers:
        kind = type(layer).__name__
        if normalised(layer):
            cancelled += [layer.bias, *(norm.moving_mean for norm in readers(layer))]
        elif kind == "BatchNormalization" and layer.center and readers(layer) and all(
                normalised(r) for r in readers(layer)):
            cancelled.append(layer.beta)
    position = {id(v): i for i, v in enumerate(model.variables)}
    return sorted(position[id(v)] for v in cancelled)


TIMINGS = {"wall_seconds", "steps_per_second"}  # the clock's columns, not the run's


def rows_of(path) -> list[dict[str, str]]:
    """A CSV file's rows, as text."""
    with open(path) as f:
        return list(csv.DictReader(f))


def assert_same_rows(ours: list[dict], theirs: list[dict], what: str) -> None:
    """The same rows and columns: numbers equal to float tolerance (NaN to NaN), text equal, timings aside."""
    assert len(ours) == len(theirs) > 0, what
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.keys() == other.keys()
        for name in mine.keys() - TIMINGS:
            try:
                a, b = float(mine[name]), float(other[name])
            except ValueError:  # a text column: the same text
                assert mine[name] == other[name], (what, name)
                continue
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-5, abs=1e-6), (what, name)


def printed_tables(printed: str) -> list[str]:
    """The Markdown tables a command printed, each whole (its lines joined), to find on a page as a block."""
    blocks = "\n".join(line if line.startswith("|") else "" for line in printed.splitlines()).split("\n\n")
    return [block.strip("\n") for block in blocks if block.strip("\n")]


def assert_whole_tables_on(page: str, printed: str) -> None:
    """Each printed table is on the page whole, with no other row before or after it: a row left from fewer
    seeds (`python docs/mujoco/refresh_page.py` redraws them) fails here."""
    for table in printed_tables(printed):
        assert f"\n{table}\n\n" in page, table
