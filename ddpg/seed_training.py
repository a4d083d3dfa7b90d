"""`train_seeds`: several seeds of one config trained in one process (issue 25), each into its own run directory
as `ddpg.training.train` writes it, their updates batched over a leading seed axis (ddpg.lockstep; Keras on JAX).

Each seed is a run of its own (ddpg.training.Session: its files, evaluator, checkpoints); only the steps are taken
together. A run whose budget is spent finishes at once, as it would alone, and the others go on.

Stops: on SIGINT or SIGTERM every unfinished run writes its checkpoint as its current episode began, and the call
raises TrainingInterrupted naming each run's; a second signal stops at once. A non-finite transition in any seed
stops them all the same way and is raised (alone, the failing seed's checkpoint would hold its last good step
instead of its episode's start: a resume replays that episode and meets the same transition either way).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ddpg.config import DDPGConfig
from ddpg.environments import BadEnvironmentOutput
from ddpg.lockstep import LockstepTrainers
from ddpg.run_files import TensorBoardError
from ddpg.run_options import RunOptions
from ddpg.training import (
    SecondSignal,
    Session,
    TrainingInterrupted,
    TrainResult,
    budget_spent,
    opened_session,
    stop_on_signals,
)

if TYPE_CHECKING:
    import gymnasium as gym


def train_seeds(configs: Sequence[DDPGConfig], options: Sequence[RunOptions | str | os.PathLike | None],
                env: Callable[[], gym.Env] | None = None) -> list[TrainResult]:
    """Train configs[s] into options[s] for each seed s, as `train(configs[s], options[s], env=env)` would, in
    lock-step: the configs must be equal but for their seeds. Each run's TrainResult, in the order given."""
    if len(options) != len(configs):
        raise ValueError(f"Expected one RunOptions (or None) per config. Received: {len(options)} for "
                         f"{len(configs)} configs")
    differ = sorted({field for config in configs for field, value in vars(config).items()
                     if field != "seed" and value != getattr(configs[0], field)})
    if differ:  # before any run's files are begun
        raise ValueError(f"Expected configs equal but for their seeds. Received: {', '.join(differ)} differ")
    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(opened_session(config, option, env=env))
                    for config, option in zip(configs, options, strict=True)]
        return _train_together(sessions)


def _train_together(sessions: list[Session]) -> list[TrainResult]:
    """Lock steps of the unfinished runs until every budget is spent; each run finished as its budget is."""
    trainers = [session.trainer for session in sessions]
    lockstep = LockstepTrainers(trainers)
    results: dict[int, TrainResult] = {}
    try:
        with stop_on_signals(*trainers):
            for session in sessions:
                session.evaluate_if_missed()
            running = list(range(len(sessions)))
            while running := _finish_spent(sessions, running, results):
                for i in running:
                    sessions[i].before_step()
                rows = lockstep.step(running)
                for i in running:
                    sessions[i].after_step(rows[i])  # no callbacks here, so no wish to stop early
                if trainers[0].stop_requested:  # every trainer's: the handler asks them all
                    raise TrainingInterrupted(trainers[0].stop_requested, "")
        return [results[i] for i in range(len(sessions))]
    except (TrainingInterrupted, BadEnvironmentOutput, TensorBoardError) as stop:
        unfinished = [session for i, session in enumerate(sessions) if i not in results]
        for session in unfinished:
            session.checkpoint_on_stop()
        if isinstance(stop, TrainingInterrupted):
            raise _interrupted(unfinished, stop.signal_name, f"stopped by {stop.signal_name}") from None
        raise
    except SecondSignal as second:
        unfinished = [session for i, session in enumerate(sessions) if i not in results]
        raise _interrupted(unfinished, second.signal_name, f"stopped at once by a second {second.signal_name}"
                           ) from None
    finally:
        for session in sessions:
            session.close()


def _finish_spent(sessions: list[Session], running: list[int], results: dict[int, TrainResult]) -> list[int]:
    """The runs of `running` whose budget is spent, finished into `results`; the others, still running."""
    for i in running:
        if budget_spent(sessions[i].trainer.config, sessions[i].trainer):
            results[i] = sessions[i].finish()
    return [i for i in running if i not in results]


def _interrupted(unfinished: list[Session], signal_name: str, what: str) -> TrainingInterrupted:
    """One message for all the stopped runs: each one's episode and step, and the checkpoint it left."""
    each = [str(session.interrupted(signal_name, f"seed {session.trainer.config.seed} after episode "
                                                  f"{session.trainer.episode} (step {session.trainer.steps})"))
            for session in unfinished]
    return TrainingInterrupted(signal_name, f"{what}: " + " | ".join(each))
