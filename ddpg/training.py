"""`train`: runs the loop of `ddpg.loop` for a budget of episodes or steps, into a run directory.

Everything is validated first (the config, the environment, the memory it needs, on resume the
whole checkpoint and the run's CSV files), then the directory is locked, then files are written.
Around the loop: metrics and TensorBoard per episode, evaluation every `eval_every` steps with the
best actor kept, checkpoints, and SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from ddpg.checkpoint import Checkpoint, CheckpointError, read_manifest
from ddpg.config import DDPGConfig
from ddpg.environments import NonFiniteEnvironmentOutput, make_env
from ddpg.errors import UserInputError
from ddpg.evaluation import EVAL_SEED_OFFSET, run_episodes
from ddpg.loop import Trainer
from ddpg.memory import check_fits_in_memory
from ddpg.plots import plot_learning_curve
from ddpg.run_files import RunFiles, read_evaluations, read_metrics, reported_os_errors, run_lock
from ddpg.run_schema import evaluation_numbers, trailing_average
from ddpg.run_state import open_checkpoint, restore_trainer, trainer_state

if TYPE_CHECKING:  # the agent loads TensorFlow; importing ddpg.training must not
    from ddpg.agent import DDPGAgent
    from ddpg.replay_buffer import ReplayBuffer


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; training stopped and says which checkpoint it left."""

    def __init__(self, signal_name: str, message: str) -> None:
        super().__init__(message)
        self.signal_name = signal_name

    def __reduce__(self):  # pickled from a sweep's worker to its driver with both arguments
        return type(self), (self.signal_name, str(self))


class _SecondSignal(BaseException):
    """A second SIGINT or SIGTERM: stop now, even inside a checkpoint write (BaseException: nothing swallows it)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class TrainResult:
    """What `train` leaves behind: the returns, the evaluations, the agent, and where the files are."""

    config: DDPGConfig
    returns: list[float] = field(default_factory=list)
    average_returns: list[float] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)  # rows of eval.csv: step, mean_return, std_return, ...
    steps: int = 0
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    agent: DDPGAgent | None = None
    buffer: ReplayBuffer | None = None
    episodes_trained: int = 0  # by this call: fewer than config.episodes when it resumed a run
    steps_trained: int = 0


@dataclass
class _Best:
    """The best evaluation so far and the actor's weights then (checkpointed, so best_actor.keras survives)."""

    step: int
    mean_return: float
    weights: list[np.ndarray]


def train(config: DDPGConfig, out_dir: str | os.PathLike | None = None,
          progress: Callable[[dict], None] | None = None, checkpoint_every: int = 10,
          resume: bool = False, overwrite: bool = False, tensorboard: bool = True) -> TrainResult:
    """Train DDPG on config.env_id for config.episodes episodes or config.total_steps steps; with out_dir,
    write config.json, metrics.csv, eval.csv, TensorBoard events, actor.keras, best_actor.keras, a
    plot and checkpoints.

    Args:
        config: the hyperparameters and the budget.
        out_dir: where the run's files go; nothing is written when None.
        progress: called with each episode's metrics row as it ends.
        checkpoint_every: write out_dir/checkpoint every this many episodes (0: only at the end);
            also when stopped by SIGINT or SIGTERM, or by a non-finite transition.
        resume: continue the run in out_dir from its checkpoint; config must equal the checkpoint's
            but for the budget.
        overwrite: replace a run already in out_dir.
        tensorboard: write TensorBoard event files to out_dir/tensorboard.
    """
    check_checkpoint_every(checkpoint_every)
    env = make_env(config.env_id)
    eval_env = make_env(config.env_id) if config.eval_every else None  # its own environment, its own seed
    try:
        check_fits_in_memory(config, env.observation_space.shape[0], env.action_space.shape[0])
        import ddpg.backend  # noqa: F401  Keras's backend refused (KERAS_BACKEND) before the run directory is made
        with contextlib.ExitStack() as stack:
            run = _open_run(stack, Path(out_dir), config, resume, overwrite) if out_dir is not None else None
            return _train(config, env, eval_env, run, progress, checkpoint_every, overwrite, tensorboard)
    finally:
        env.close()
        if eval_env is not None:
            eval_env.close()


@dataclass
class _Run:
    files: RunFiles
    checkpoint: Checkpoint | None = None
    rows: list[dict] = field(default_factory=list)  # metrics.csv and eval.csv as the checkpoint left them
    evaluations: list[dict] = field(default_factory=list)


def _open_run(stack: contextlib.ExitStack, run_dir: Path, config: DDPGConfig, resume: bool, overwrite: bool) -> _Run:
    """Lock the run directory and read (resume) or check (new run) what is in it; writes nothing but the lock."""
    if resume and not run_dir.is_dir():
        raise CheckpointError(f"Expected a run directory with a checkpoint. Received: {run_dir}, which does not exist")
    with reported_os_errors(run_dir, "create"):
        run_dir.mkdir(parents=True, exist_ok=True)
    stack.enter_context(run_lock(run_dir))
    files = RunFiles(run_dir)
    if not resume:
        files.check_no_run(overwrite)
        return _Run(files)
    checkpoint = open_checkpoint(run_dir, config)
    done = {"episodes": checkpoint.manifest["episode"], "total_steps": checkpoint.manifest["steps"]}
    # Read (and refused if they were tampered with) now, before the trainer is built.
    return _Run(files, checkpoint, read_metrics(files.metrics, done["episodes"]),
                read_evaluations(files.evaluations, done["total_steps"]))


def _train(config: DDPGConfig, env: gym.Env, eval_env: gym.Env | None, run: _Run | None,
           progress: Callable[[dict], None] | None, checkpoint_every: int, overwrite: bool,
           tensorboard: bool) -> TrainResult:
    trainer = Trainer(config, env)
    checkpoint = run.checkpoint if run else None
    wall_offset, best = 0.0, None
    if checkpoint:
        try:
            restore_trainer(trainer, checkpoint.manifest, checkpoint.arrays)
            best = _best_from(checkpoint, trainer.agent)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"Expected a checkpoint as ddpg wrote it. Received: {error}") from None
        wall_offset = float(checkpoint.manifest["wall_seconds"])
    if run:
        run.files.start(config, overwrite, tensorboard, run.rows, run.evaluations)  # all is valid: the first write
        if best is not None:  # the file may be from an evaluation after the checkpoint, now undone
            run.files.save_actor("best_actor.keras", trainer.agent, best.weights)
    done_before = (trainer.episode, trainer.steps)
    result = TrainResult(config=config, out_dir=run.files.dir if run else None, agent=trainer.agent,
                         buffer=trainer.buffer, returns=list(trainer.returns),
                         average_returns=[trailing_average(trainer.returns[:i]) for i in
                                          range(1, len(trainer.returns) + 1)],
                         evaluations=evaluation_numbers(run.evaluations) if run else [])
    start = time.perf_counter() - wall_offset
    checkpointed = None  # (episode, steps, best) of the last checkpoint written

    def save() -> None:
        # The run's end often falls on a checkpoint_every boundary: the buffer is not written twice.
        nonlocal checkpointed
        key = (trainer.episode, trainer.steps, None if best is None else best.step)
        if run and key != checkpointed:
            manifest, arrays, ring = trainer_state(trainer)
            best_manifest, best_arrays = _best_state(best)
            run.files.checkpoint({**manifest, "best": best_manifest, "wall_seconds": time.perf_counter() - start},
                                 {**arrays, **best_arrays}, ring)
            checkpointed = key

    def evaluate() -> None:
        nonlocal best
        returns = run_episodes(trainer.agent.policy, eval_env, config.eval_episodes, config.seed + EVAL_SEED_OFFSET)
        row = {"step": trainer.steps, "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
               "episodes": len(returns), "wall_seconds": time.perf_counter() - start}
        result.evaluations.append(row)
        improved = best is None or row["mean_return"] > best.mean_return
        if improved:
            best = _Best(trainer.steps, row["mean_return"], [w.copy() for w in trainer.agent.policy.weights()])
        if run:
            run.files.append_evaluation(row)
            if improved:
                run.files.save_actor("best_actor.keras", trainer.agent, best.weights)

    try:
        with _stop_on_signals(trainer):
            while not _budget_spent(config, trainer):
                row = trainer.step()
                if row is not None:
                    row["wall_seconds"] = time.perf_counter() - start
                    result.returns.append(row["return"])
                    result.average_returns.append(row["average_return_40"])
                    if run:
                        run.files.append_metrics(row)
                        if checkpoint_every and trainer.episode % checkpoint_every == 0:
                            save()
                    if progress:
                        progress(row)
                if config.eval_every and trainer.steps % config.eval_every == 0:
                    evaluate()
                if trainer.stop_requested:
                    raise TrainingInterrupted(trainer.stop_requested, "")
            result.steps = trainer.steps
            result.wall_seconds = time.perf_counter() - start
            save()
            if run:
                run.files.save_actor("actor.keras", trainer.agent)
                run.files.write("learning_curve.png", lambda path: plot_learning_curve(
                    result.returns, result.average_returns, path, title=f"DDPG on {config.env_id}, seed {config.seed}",
                    evaluations=result.evaluations))
    except (TrainingInterrupted, NonFiniteEnvironmentOutput) as stop:
        # The last good state: a resumed run starts the unfinished episode again. A second signal
        # during this write still leaves a complete checkpoint: this one, or the previous one.
        with _stop_on_signals(trainer, second_stops=True):
            try:
                save()
            except _SecondSignal as second:
                raise _interrupted(second.signal_name, run, f"a second {second.signal_name} stopped the checkpoint "
                                                            "write") from None
        if isinstance(stop, TrainingInterrupted):
            raise _interrupted(stop.signal_name, run, f"stopped by {stop.signal_name} after episode {trainer.episode} "
                                                      f"(step {trainer.steps})") from None
        raise
    except _SecondSignal as second:
        raise _interrupted(second.signal_name, run, f"stopped at once by a second {second.signal_name}") from None
    finally:
        if run:
            run.files.close()
    result.episodes_trained = trainer.episode - done_before[0]
    result.steps_trained = trainer.steps - done_before[1]
    return result


def _budget_spent(config: DDPGConfig, trainer: Trainer) -> bool:
    if config.total_steps is not None:
        return trainer.steps >= config.total_steps  # may end mid-episode
    return trainer.episode >= config.episodes


def _best_state(best: _Best | None) -> tuple[dict | None, dict[str, np.ndarray]]:
    if best is None:
        return None, {}
    return ({"step": best.step, "mean_return": best.mean_return},
            {f"best/actor/{i}": weight for i, weight in enumerate(best.weights)})


def _best_from(checkpoint: Checkpoint, agent: DDPGAgent) -> _Best | None:
    saved = checkpoint.manifest["best"]
    if saved is None:
        return None
    weights = [checkpoint.arrays[f"best/actor/{i}"] for i in range(len(agent.policy.weights()))]
    for weight, own in zip(weights, agent.policy.weights(), strict=True):
        if weight.shape != own.shape:
            raise ValueError(f"Expected the best actor's weights of shape {own.shape}. Received: {weight.shape}")
    return _Best(int(saved["step"]), float(saved["mean_return"]), weights)


def _interrupted(signal_name: str, run: _Run | None, what: str) -> TrainingInterrupted:
    """What a stopped run left: which checkpoint is on disk now, the one just written or an earlier one."""
    if run is None:
        return TrainingInterrupted(signal_name, what)
    shutil.rmtree(run.files.dir / "checkpoint.tmp", ignore_errors=True)  # a write cut short leaves nothing beside
    try:
        manifest = read_manifest(run.files.dir / "checkpoint")[1]
        held = f"{run.files.dir / 'checkpoint'} holds episode {manifest['episode']} (step {manifest['steps']})"
    except CheckpointError:
        held = f"no checkpoint was completed in {run.files.dir}"
    return TrainingInterrupted(signal_name, f"{what}; {held}. Resume with: ddpg train --resume {run.files.dir}")


def check_checkpoint_every(checkpoint_every: int) -> None:
    if not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise UserInputError(f"Expected --checkpoint-every >= 0. Received: --checkpoint-every {checkpoint_every}")


@contextlib.contextmanager
def _stop_on_signals(trainer: Trainer, second_stops: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM ask the trainer to stop after the current step; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        name = signal.Signals(signum).name
        if trainer.stop_requested or second_stops:
            raise _SecondSignal(name)
        trainer.stop_requested = name

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
