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
