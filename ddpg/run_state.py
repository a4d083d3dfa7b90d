"""The checkpoint's view of a run: what of a trainer a checkpoint holds, how it is put back, and what a
resume must check first. Beside ddpg.checkpoint (the files) and ddpg.manifest (state.json's schema), so
that ddpg.loop is the algorithm alone.

The arrays are named by their owner: `buffer/COLUMN` the replay ring, `best/actor/I` the best
evaluation's actor (ddpg.evaluation.Evaluator), and every other name a variable of the agent.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ddpg.checkpoint import Checkpoint, CheckpointError, Ring, load_checkpoint, read_manifest
from ddpg.config import BUDGET_FIELDS, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.evaluation import BEST_ACTOR
from ddpg.manifest import check_manifest, generator_from_state

if TYPE_CHECKING:  # the trainer loads TensorFlow; importing ddpg.run_state must not
    from ddpg.evaluation import Evaluator
    from ddpg.loop import Trainer

BUFFER = "buffer/"


def run_state(trainer: Trainer, evaluator: Evaluator, wall_seconds: float) -> tuple[dict, dict[str, np.ndarray], Ring]:
    """A checkpoint of the run: the trainer's state, the best actor, and the time trained so far."""
    manifest, arrays, ring = trainer_state(trainer)
    best, best_arrays = evaluator.checkpoint_form()
    return {**manifest, "best": best, "wall_seconds": wall_seconds}, {**arrays, **best_arrays}, ring


class EpisodeStart:
    """The run as of the start of the current episode, so that a checkpoint taken mid-episode (on a signal, or at
    a step budget's end) describes that start: an environment's state cannot be saved, so a resumed run replays
    the episode from its reset, and only a checkpoint of the episode's start makes it replay the very same one.

    `capture` at each episode's start (before its reset) copies what the episode changes: the agent's variables,
    the counters, the returns and losses, the noise's and every generator's state, the observation statistics,
    the best evaluation, and where the replay ring stands; `before_step` keeps each ring row the episode is about
    to overwrite (once the ring is full). `state` is then run_state as it was at the capture, without touching the
    trainer.
    """

    def __init__(self) -> None:
        self.manifest: dict | None = None
        self.arrays: dict[str, np.ndarray] = {}
        self.best: tuple[dict | None, dict[str, np.ndarray]] = (None, {})
        self.overwritten: dict[int, dict[str, np.ndarray]] = {}  # entry number -> its columns, before the episode

    def capture(self, trainer: Trainer, evaluator: Evaluator) -> None:
        manifest, self.arrays, _ = trainer_state(trainer)
        self.manifest = {**manifest, "returns": list(manifest["returns"]), "losses": dict(manifest["losses"])}
        self.best = evaluator.checkpoint_form()
        self.overwritten = {}

    def before_step(self, trainer: Trainer) -> None:
        """Keep the ring's row that the coming step overwrites: entry steps - capacity, in slot steps % capacity."""
        capacity = trainer.buffer.capacity
        if trainer.steps >= capacity:
            slot = trainer.steps % capacity
            self.overwritten[trainer.steps - capacity] = {
                f"{BUFFER}{name}": column[slot].copy() for name, column in trainer.buffer.columns()._asdict().items()}

    def state(self, trainer: Trainer, wall_seconds: float) -> tuple[dict, dict[str, np.ndarray], Ring]:
        """run_state as of the capture: its manifest and arrays, and the ring as it was then (the rows the
        episode overwrote put back, the ones it added left out)."""
        best, best_arrays = self.best
        ring = _RingBefore({f"{BUFFER}{name}": column for name, column in trainer.buffer.columns()._asdict().items()},
                           end=self.manifest["steps"], overwritten=self.overwritten)
        return {**self.manifest, "best": best, "wall_seconds": wall_seconds}, {**self.arrays, **best_arrays}, ring


class _RingBefore(Ring):
    """The ring as it was at entry `end`: the rows overwritten since read from `overwritten`."""

    def __init__(self, columns: dict[str, np.ndarray], end: int, overwritten: dict[int, dict[str, np.ndarray]]):
        super().__init__(columns, end)
        self.overwritten = overwritten

    def rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        rows = super().rows(start, stop)
        for entry, columns in self.overwritten.items():
            if start <= entry < stop:
                for name, row in columns.items():
                    rows[name][entry - start] = row
        return rows


def restore_run(trainer: Trainer, evaluator: Evaluator, checkpoint: Checkpoint) -> float:
    """The trainer and the best actor as run_state left them; returns the seconds trained before."""
    manifest, arrays = checkpoint.manifest, checkpoint.arrays
    try:
        restore_trainer(trainer, manifest, arrays)
        evaluator.restore(manifest["best"], arrays, trainer.agent.policy.weights(), trainer.normalizer)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"Expected a checkpoint as ddpg wrote it. Received: {error}") from None
    return float(manifest["wall_seconds"])


def trainer_state(trainer: Trainer) -> tuple[dict, dict[str, np.ndarray], Ring]:
    """Everything to continue exactly: (JSON-able manifest, the agent's arrays, the replay ring, which the
    checkpoint writes as what is new since the last one). Taken mid-episode, the unfinished episode
    starts again on resume (an environment's own state cannot be saved), its transitions kept.

    TensorFlow's own random state is not in it: nothing in training draws from it after the
    networks are initialised, and a resumed run restores the weights instead.
    """
    buffer_info = trainer.buffer.position()
    explorer = trainer.explorer.get_state()
    manifest = {
        "config": dataclasses.asdict(trainer.config), "episode": trainer.episode, "steps": trainer.steps,
        "returns": trainer.returns, "losses": trainer.losses, "noise": explorer["noise"],
        "buffer": {"size": buffer_info["size"], "next": buffer_info["next"]},
        "rng": {"buffer": buffer_info["rng"], "env": trainer.env.unwrapped.np_random.bit_generator.state,
                "warmup": explorer["rng"]},
        "normalizer": trainer.observation_statistics(),
    }
    # One transition per step fills the ring in order: slot t % capacity holds transition t.
    ring = Ring({f"{BUFFER}{name}": column for name, column in trainer.buffer.columns()._asdict().items()},
                end=trainer.steps)
    return manifest, trainer.agent.get_state(), ring


def restore_trainer(trainer: Trainer, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
    """The trainer as trainer_state left it, between two episodes."""
    trainer.agent.set_state({name: a for name, a in arrays.items() if not name.startswith((BUFFER, BEST_ACTOR))})
    # A checkpoint of step 0 (a run stopped in its first episode) has no replay segment: no rows.
    trainer.buffer.set_state({**manifest["buffer"], "rng": manifest["rng"]["buffer"]},
                             {name: arrays.get(f"{BUFFER}{name}", column[:0])
                              for name, column in trainer.buffer.columns()._asdict().items()})
    trainer.explorer.set_state({"noise": manifest["noise"], "rng": manifest["rng"]["warmup"]})
    if trainer.normalizer is not None:
        trainer.normalizer.set_state(manifest["normalizer"])
    trainer.env.unwrapped.np_random = generator_from_state(manifest["rng"]["env"])
    trainer.episode, trainer.steps = int(manifest["episode"]), int(manifest["steps"])
    trainer.returns = [float(r) for r in manifest["returns"]]
    trainer.losses = dict(manifest["losses"])
    trainer.obs = None


def open_checkpoint(run_dir: Path, config: DDPGConfig) -> Checkpoint:
    """The run's checkpoint, read whole and checked against `config` before anything is restored from it."""
    checkpoint = load_checkpoint(run_dir / "checkpoint")
    check_resumable(config, check_manifest(checkpoint.manifest))
    check_budget(config, checkpoint.manifest)
    return checkpoint


class SavedRun(NamedTuple):
    config: DDPGConfig
    episode: int  # episodes done
    steps: int


def saved_run(run_dir: Path) -> SavedRun:
    """What the run's checkpoint has done, from its manifest alone: a resume builds its config on it; train
    then reads and checks the whole checkpoint (arrays, replay) once."""
    manifest = read_manifest(run_dir / "checkpoint")[1]
    return SavedRun(check_manifest(manifest), manifest["episode"], manifest["steps"])


def check_resumable(config: DDPGConfig, saved: DDPGConfig) -> None:
    """A resumed run must be the same run: only its budget may change."""
    for name in (f.name for f in dataclasses.fields(DDPGConfig)):
        if name not in BUDGET_FIELDS and getattr(config, name) != getattr(saved, name):
            raise UserInputError(f"Expected {name}={getattr(saved, name)!r} as in the checkpoint (only the "
                                 f"budget, episodes or total_steps, may change on resume). "
                                 f"Received: {name}={getattr(config, name)!r}")


def check_budget(config: DDPGConfig, manifest: dict) -> None:
    """The budget covers what the checkpoint has done."""
    done = {"episodes": manifest["episode"], "total_steps": manifest["steps"]}
    for name, value in done.items():
        budget = getattr(config, name)
        if budget is not None and budget < value:
            flag = "--" + name.replace("_", "-")
            raise UserInputError(f"Expected {flag} >= {value}, as many as the checkpoint has done. "
                                 f"Received: {flag} {budget}")
