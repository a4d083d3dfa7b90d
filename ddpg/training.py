"""`train`: runs the loop of `ddpg.loop` for a budget of episodes or steps, into a run directory.

Everything is validated first (the config, the environment, the memory it needs, on resume the
whole checkpoint and the run's CSV files), then the directory is locked, then files are written.
Around the loop: metrics and TensorBoard per episode, evaluation (ddpg.evaluation.Evaluator, which
keeps the best actor), checkpoints (what they hold: ddpg.run_state), and SIGINT/SIGTERM.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ddpg.callbacks import any_stops
from ddpg.checkpoint import Checkpoint, CheckpointError, read_manifest
from ddpg.config import DDPGConfig
from ddpg.environments import BadEnvironmentOutput, config_env, factory_env, observation_layout
from ddpg.evaluation import Evaluator
from ddpg.loop import Trainer
from ddpg.memory import check_fits_in_memory
from ddpg.plots import plot_learning_curve
from ddpg.run_files import (
    RunFiles,
    TensorBoardError,
    read_evaluations,
    read_metrics,
    reported_os_errors,
    run_lock,
    write_atomically,
)
from ddpg.run_options import RunOptions
from ddpg.run_schema import OBSERVATION_FILE, evaluation_numbers, trailing_averages
from ddpg.run_state import EpisodeStart, open_checkpoint, restore_run, run_state
from ddpg.signals import stop_signals_handled

if TYPE_CHECKING:  # the agent loads TensorFlow; importing ddpg.training must not
    import gymnasium as gym

    from ddpg.agent import DDPGAgent
    from ddpg.replay_buffer import ReplayBuffer


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; training stopped and says which checkpoint it left."""

    def __init__(self, signal_name: str, message: str) -> None:
        super().__init__(message)
        self.signal_name = signal_name

    def __reduce__(self):  # pickled from a sweep's worker to its driver with both arguments
        return type(self), (self.signal_name, str(self))


class SecondSignal(BaseException):
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
    best_evaluation: dict | None = None  # {step, mean_return} of best_actor.keras
    steps: int = 0
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    agent: DDPGAgent | None = None
    buffer: ReplayBuffer | None = None
    episodes_trained: int = 0  # by this call: fewer than config.episodes when it resumed a run
    steps_trained: int = 0


def train(config: DDPGConfig, options: RunOptions | str | os.PathLike | None = None,
          progress: Callable[[dict], None] | None = None, env: Callable[[], gym.Env] | None = None,
          callbacks: Sequence[object] = ()) -> TrainResult:
    """Train DDPG on config.env_id for config.episodes episodes or config.total_steps steps; with options,
    write into options.out_dir config.json, metrics.csv, eval.csv, TensorBoard events, actor.keras,
    best_actor.keras, a plot and checkpoints (nothing is written when None).

    Args:
        config: the hyperparameters and the budget.
        options: where the run's files go, and how (ddpg.run_options.RunOptions).
        progress: called with each episode's metrics row as it ends.
        env: a zero-argument factory returning a Gymnasium environment, instead of config.env_id (and
            env_kwargs): called once for training, once for evaluation during training (eval_every > 0);
            checked as an id's environment is. A resumed run needs the same factory again.
        callbacks: objects with on_episode_end(row) and/or on_evaluation_end(row) (ddpg.callbacks); a hook
            returning True stops the run, which finishes as a spent budget does.
    """
    with opened_session(config, options, progress, env, callbacks) as session:
        return _train(session)


@contextlib.contextmanager
def opened_session(config: DDPGConfig, options: RunOptions | str | os.PathLike | None = None,
                   progress: Callable[[dict], None] | None = None, env: Callable[[], gym.Env] | None = None,
                   callbacks: Sequence[object] = ()) -> Iterator[Session]:
    """`train`'s run, everything validated and its files begun, ready to step (`train` says what the arguments
    are); its environments closed at the end. ddpg.seed_training opens one per seed."""
    if options is not None and not isinstance(options, RunOptions):  # an out_dir: a new run there
        options = RunOptions(options)
    if options is not None and not options.resume:  # refused in a second, not after TensorFlow's import
        RunFiles(options.out_dir).check_no_run(options.overwrite)
    factory = env
    make = (lambda: factory_env(factory)) if factory is not None else (lambda: config_env(config))
    env = make()
    try:
        evaluator = Evaluator(config, make)
    except BaseException:
        env.close()
        raise
    try:
        check_fits_in_memory(config, env.observation_space.shape[0], env.action_space.shape[0])
        import ddpg.backend  # noqa: F401  Keras's backend refused (KERAS_BACKEND) before the run directory is made
        with contextlib.ExitStack() as stack:
            run = _open_run(stack, config, options) if options is not None else None
            session = Session(Trainer(config, env), evaluator, run, progress)
            session.callbacks, session.from_factory = list(callbacks), factory is not None
            session.begin()
            yield session
    finally:
        env.close()
        evaluator.close()


@dataclass
class _Run:
    options: RunOptions
    files: RunFiles
    checkpoint: Checkpoint | None = None
    rows: list[dict] = field(default_factory=list)  # metrics.csv and eval.csv as the checkpoint left them
    evaluations: list[dict] = field(default_factory=list)


def _open_run(stack: contextlib.ExitStack, config: DDPGConfig, options: RunOptions) -> _Run:
    """Lock the run directory and read (resume) or check (new run) what is in it; writes nothing but the lock."""
    run_dir = options.out_dir
    if options.resume and not run_dir.is_dir():
        raise CheckpointError(f"Expected a run directory with a checkpoint. Received: {run_dir}, which does not exist")
    with reported_os_errors(run_dir, "create"):
        run_dir.mkdir(parents=True, exist_ok=True)
    stack.enter_context(run_lock(run_dir))
    files = RunFiles(run_dir)
    if not options.resume:
        files.check_no_run(options.overwrite)
        return _Run(options, files)
    checkpoint = open_checkpoint(run_dir, config)
    # Read (and refused if they were tampered with) now, before the trainer is built.
    manifest = checkpoint.manifest
    return _Run(options, files, checkpoint, read_metrics(files.metrics, manifest["episode"]),
                read_evaluations(files.evaluations, manifest["steps"], config.eval_every, manifest["best"]))


def _train(session: Session) -> TrainResult:
    """Algorithm 1's steps under the budget, and around them what a run adds: record each episode, evaluate,
    checkpoint, and stop on a signal (a checkpoint first) or a non-finite transition."""
    trainer = session.trainer
    try:
        with stop_on_signals(trainer):
            session.evaluate_if_missed()
            stop = False  # a callback's wish: the run then finishes as if its budget were spent
            while not stop and not budget_spent(trainer.config, trainer):
                row = trainer.advance(session.before_step, session.wants_control)
                stop = session.after_step(row)
                if trainer.stop_requested:
                    raise TrainingInterrupted(trainer.stop_requested, "")
            return session.finish()
    except (TrainingInterrupted, BadEnvironmentOutput) as stop:
        session.checkpoint_on_stop(at_episode_start=isinstance(stop, TrainingInterrupted))
        if isinstance(stop, TrainingInterrupted):
            raise session.interrupted(stop.signal_name, f"stopped by {stop.signal_name} after episode "
                                                        f"{trainer.episode} (step {trainer.steps})") from None
        raise
    except SecondSignal as second:
        raise session.interrupted(second.signal_name, f"stopped at once by a second {second.signal_name}") from None
    except TensorBoardError as error:  # its disk filled, say: a checkpoint first, as on a signal, if it can be written
        session.checkpoint_on_stop()
        raise TensorBoardError(f"{error}; {session.what_is_left()} (--no-tensorboard to go on without it)") from None
    finally:
        session.close()


class Session:
    """One call of `train`: the trainer, the evaluator, the run's files (None: no files), the clock, and the
    result that they fill in."""

    def __init__(self, trainer: Trainer, evaluator: Evaluator, run: _Run | None,
                 progress: Callable[[dict], None] | None) -> None:
        self.trainer, self.evaluator, self.run, self.progress = trainer, evaluator, run, progress
        self.wall_offset = restore_run(trainer, evaluator, run.checkpoint) if run and run.checkpoint else 0.0
        self.done_before = (trainer.episode, trainer.steps)
        self.checkpointed: tuple | None = None  # (episode, steps, best step) of the last checkpoint written
        self.episode_start = EpisodeStart() if run else None  # what a checkpoint mid-episode describes
        self.callbacks: list = []  # ddpg.callbacks: hooks after each episode and each evaluation
        self.from_factory = False  # the environment came from train(env=factory): config.env_id is a label

    def begin(self) -> None:
        """The run's files, once everything is valid: the first write; and the result so far."""
        trainer, run = self.trainer, self.run
        if run:
            # A resumed run goes on as it began: with events only if it was writing them.
            tensorboard = run.options.tensorboard and (not run.options.resume or run.files.events.exists())
            run.files.start(trainer.config, run.options.overwrite, tensorboard, run.rows, run.evaluations,
                            with_evaluations=bool(self.evaluator.every))
            write_atomically(run.files.dir / OBSERVATION_FILE,
                             json.dumps({"flatten": observation_layout(trainer.env),
                                         "factory": self.from_factory}) + "\n")
            best = self.evaluator.best
            if best is not None:  # the file may be from an evaluation after the checkpoint, now undone
                run.files.save_actor("best_actor.keras", trainer.agent, best.weights, best.statistics)
        self.result = TrainResult(config=trainer.config, out_dir=run.files.dir if run else None, agent=trainer.agent,
                                  buffer=trainer.buffer, returns=list(trainer.returns),
                                  average_returns=trailing_averages(trainer.returns),
                                  evaluations=evaluation_numbers(run.evaluations) if run else [])
        self.start = time.perf_counter() - self.wall_offset

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def before_step(self) -> None:
        """At an episode's start, what a checkpoint taken before its end describes; at every step, the ring row
        it overwrites. (A few ms an episode: docs/performance.md.)"""
        if self.episode_start is not None:
            if self.trainer.obs is None:
                self.episode_start.capture(self.trainer, self.evaluator)
            self.episode_start.before_step(self.trainer)

    def wants_control(self) -> bool:
        """Whether the step just taken needs the run's attention though its episode goes on (an evaluation is due,
        or the budget is spent): where steps run in blocks (Trainer.advance), the block ends there."""
        trainer = self.trainer
        return self.evaluator.due(trainer.steps) or budget_spent(trainer.config, trainer)

    def after_step(self, row: dict | None) -> bool:
        """What a run adds to a step (`row`: the episode's metrics row if it ended): record it, evaluate if due,
        checkpoint if due, report; True when a callback asks the run to stop."""
        stop = False
        if row is not None:
            self.record(row)
        if self.evaluator.due(self.trainer.steps):  # before this step's checkpoint, which then holds it
            evaluation = self.evaluate()
            stop = evaluation is not None and any_stops(self.callbacks, "on_evaluation_end", evaluation)
        if row is not None:
            if self.checkpoint_due():
                self.checkpoint()
            self.report(row)
            stop = any_stops(self.callbacks, "on_episode_end", row) or stop
        return stop

    def record(self, row: dict) -> None:
        """An episode's metrics row, as it ends: in the result and in metrics.csv."""
        row["wall_seconds"] = self.seconds()
        self.result.returns.append(row["return"])
        self.result.average_returns.append(row["average_return_40"])
        if self.run:
            self.run.files.append_metrics(row)

    def report(self, row: dict) -> None:
        if self.progress:
            self.progress(row)

    def evaluate(self) -> dict | None:
        """The evaluation due now, into the result and eval.csv (and best_actor.keras if the best), its row; None if
        a signal cut it short: the checkpoint written on the stop does not hold it, and a resume does it again."""
        evaluated = self.evaluator.evaluate(self.trainer, self.seconds())
        if evaluated is None:
            return None
        row, improved = evaluated
        self.result.evaluations.append(row)
        if self.run:
            self.run.files.append_evaluation(row)
            if improved:
                best = self.evaluator.best
                self.run.files.save_actor("best_actor.keras", self.trainer.agent, best.weights, best.statistics)
        return row

    def evaluate_if_missed(self) -> None:
        """On resume, the evaluation due at the checkpoint's very step if eval.csv does not hold it: a stop during
        that evaluation left a checkpoint of the step without it (as did versions that checkpointed first)."""
        steps, done = self.trainer.steps, self.result.evaluations
        if steps and self.evaluator.due(steps) and not (done and done[-1]["step"] == steps):
            self.evaluate()

    def checkpoint_due(self) -> bool:
        every = self.run.options.checkpoint_every if self.run else 0
        return bool(every) and self.trainer.episode % every == 0

    def checkpoint(self, at_episode_start: bool = False) -> None:
        """A checkpoint of the run, unless of this very state (the run's end often falls on a checkpoint_every
        boundary: the buffer is not written twice). `at_episode_start`, mid-episode: of the run as the episode
        began, which a resume replays exactly (ddpg.run_state.EpisodeStart)."""
        if not self.run:
            return
        trainer, start = self.trainer, self.episode_start
        if at_episode_start and trainer.obs is not None and start.manifest is not None:
            best = start.best[0]
            key = (start.manifest["episode"], start.manifest["steps"], None if best is None else best["step"])
            state = functools.partial(start.state, trainer)
        else:
            best = self.evaluator.best
            key = (trainer.episode, trainer.steps, None if best is None else best.step)
            state = functools.partial(run_state, trainer, self.evaluator)
        if key != self.checkpointed:
            self.run.files.checkpoint(*state(self.seconds()))
            self.checkpointed = key

    def checkpoint_on_stop(self, at_episode_start: bool = True) -> None:
        """A checkpoint of the run as the current episode began (`at_episode_start`: a signal), or of the last
        good state (a non-finite transition, which a resume would meet again). A second signal during this write
        still leaves a complete checkpoint: this one, or the previous one."""
        with stop_on_signals(self.trainer, second_stops=True):
            try:
                self.checkpoint(at_episode_start)
            except SecondSignal as second:
                raise self.interrupted(second.signal_name, f"a second {second.signal_name} stopped the checkpoint "
                                                           "write") from None

    def finish(self) -> TrainResult:
        """The budget spent: the last checkpoint, the trained actor and the learning curve."""
        trainer, result = self.trainer, self.result
        result.steps = trainer.steps
        result.wall_seconds = self.seconds()
        best = self.evaluator.best
        result.best_evaluation = None if best is None else {"step": best.step, "mean_return": best.mean_return}
        self.checkpoint(at_episode_start=True)  # a step budget may end mid-episode: a longer one replays it
        if self.run:
            self.run.files.save_actor("actor.keras", trainer.agent, statistics=trainer.observation_statistics())
            self.run.files.write("learning_curve.png", lambda path: plot_learning_curve(
                result.returns, result.average_returns, path, title=f"DDPG on {trainer.config.env_id}, seed "
                f"{trainer.config.seed}", evaluations=result.evaluations))
        result.episodes_trained = trainer.episode - self.done_before[0]
        result.steps_trained = trainer.steps - self.done_before[1]
        return result

    def interrupted(self, signal_name: str, what: str) -> TrainingInterrupted:
        """What a stopped run left: which checkpoint is on disk now, the one just written or an earlier one."""
        if self.run is None:
            return TrainingInterrupted(signal_name, what)
        return TrainingInterrupted(signal_name, f"{what}; {self.what_is_left()}")

    def what_is_left(self) -> str:
        """Which checkpoint a stopped run left, and how to resume it."""
        run_dir = self.run.files.dir
        shutil.rmtree(run_dir / "checkpoint.tmp", ignore_errors=True)  # a write cut short leaves nothing beside
        try:
            manifest = read_manifest(run_dir / "checkpoint")[1]
            held = f"{run_dir / 'checkpoint'} holds episode {manifest['episode']} (step {manifest['steps']})"
        except CheckpointError:
            held = f"no checkpoint was completed in {run_dir}"
        return f"{held}. Resume with: ddpg train --resume {run_dir}"

    def close(self) -> None:
        if self.run:
            self.run.files.close()


def budget_spent(config: DDPGConfig, trainer: Trainer) -> bool:
    """config.episodes finished, or config.total_steps taken."""
    if config.total_steps is not None:
        return trainer.steps >= config.total_steps  # may end mid-episode
    return trainer.episode >= config.episodes


@contextlib.contextmanager
def stop_on_signals(*trainers: Trainer, second_stops: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM ask the trainers to stop after the current step; a second one stops at once."""
    def request_stop(signum, frame):
        name = signal.Signals(signum).name
        if any(trainer.stop_requested for trainer in trainers) or second_stops:
            raise SecondSignal(name)
        for trainer in trainers:
            trainer.stop_requested = name

    with stop_signals_handled(request_stop):
        yield
