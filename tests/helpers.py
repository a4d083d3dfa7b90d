"""Shared by the tests: the command line on tiny networks, an environment that turns NaN, damaged checkpoints."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv

# Networks small enough that a CLI run of a few episodes takes seconds.
TINY = ["--actor-hidden", "8", "--critic-state-hidden", "4", "--critic-action-hidden", "4",
        "--critic-hidden", "8", "--batch-size", "16"]


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
