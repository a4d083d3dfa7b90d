"""The training loop of DDPG (Lillicrap et al. 2016, Algorithm 1), and `train`, which runs it into a run
directory: everything is validated first, then the directory is locked, then files are written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
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

from ddpg.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ddpg.config import DDPGConfig
from ddpg.environments import NonFiniteEnvironmentOutput, check_finite, make_env
from ddpg.errors import UserInputError
from ddpg.manifest import check_manifest, generator_from_state
from ddpg.memory import check_fits_in_memory
from ddpg.noise import OrnsteinUhlenbeckNoise
from ddpg.replay_buffer import Batch, ReplayBuffer
from ddpg.run_files import RunFiles, read_metrics, reported_os_errors, run_lock, trailing_average

if TYPE_CHECKING:  # the agent loads TensorFlow; importing ddpg.training must not
    from ddpg.agent import DDPGAgent


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; training stopped and says which checkpoint it left."""

    def __init__(self, signal_name: str, message: str) -> None:
        super().__init__(message)
        self.signal_name = signal_name


class _SecondSignal(BaseException):
    """A second SIGINT or SIGTERM: stop now, even inside a checkpoint write (BaseException: nothing swallows it)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class TrainResult:
    """What `train` leaves behind: the returns, the agent, and where the files are."""

    config: DDPGConfig
    returns: list[float] = field(default_factory=list)
    average_returns: list[float] = field(default_factory=list)
    steps: int = 0
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    agent: DDPGAgent | None = None
    buffer: ReplayBuffer | None = None
    episodes_trained: int = 0  # by this call: fewer than config.episodes when it resumed a run


class Trainer:
    """The state of a run (environment, agent, replay buffer, counters); one `run_episode` per episode.

    Seeding: one seed drives everything: Keras (the initial weights), the noise, the replay
    sampling, and the environment through its first reset.
    """

    def __init__(self, config: DDPGConfig, env: gym.Env | None = None) -> None:
        self.config = config
        self.env = env if env is not None else make_env(config.env_id)  # before TensorFlow loads

        # Here, so that importing ddpg.training loads no TensorFlow.
        from ddpg.agent import DDPGAgent
        from ddpg.backend import keras

        obs_dim = self.env.observation_space.shape[0]
        low, high = self.env.action_space.low, self.env.action_space.high
        keras.utils.set_random_seed(config.seed)
        noise_seed, buffer_seed = np.random.SeedSequence(config.seed).spawn(2)
        noise = OrnsteinUhlenbeckNoise(np.zeros(low.shape), config.ou_sigma, theta=config.ou_theta,
                                       dt=config.ou_dt, rng=np.random.default_rng(noise_seed))
        self.agent = DDPGAgent(obs_dim, low, high, config, noise=noise)
        self.buffer = ReplayBuffer(config.buffer_capacity, obs_dim, low.shape[0],
                                   rng=np.random.default_rng(buffer_seed))
        self.episode = 0
        self.steps = 0
        self.returns: list[float] = []
        self.losses = {"critic_loss": math.nan, "actor_loss": math.nan}
        self.stop_requested: str | None = None  # set by a signal handler; checked after every step

    def run_episode(self) -> dict:
        """One episode of Algorithm 1; returns its metrics row."""
        config, agent, buffer = self.config, self.agent, self.buffer
        # self.episode counts finished episodes only, so that a checkpoint taken mid-episode (on a
        # signal, or NaN from the environment) runs the unfinished one again on resume.
        obs, _ = self.env.reset(seed=config.seed if self.episode == 0 else None)
        agent.noise.reset()  # "Initialize a random process N for action exploration"
        episode_return, episode_steps, start = 0.0, 0, time.perf_counter()
        while True:
            action = agent.act(obs, explore=True)  # a = clip(mu(s) + N, low, high)
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            check_finite(self.steps + 1, next_obs, action, reward)  # as float32, before anything learns from it
            self.steps += 1
            episode_steps += 1
            # terminated, not truncated: a time-limit cut still bootstraps from s'.
            buffer.add(obs, action, reward, next_obs, terminated)
            if len(buffer) >= config.batch_size and self.steps % config.update_every == 0:
                self.losses = agent.update_many(self._sample(config.update_every))
            episode_return += float(reward)
            obs = next_obs
            if terminated or truncated:
                break
            if self.stop_requested:
                raise TrainingInterrupted(self.stop_requested, "")
        seconds = time.perf_counter() - start
        self.episode += 1
        self.returns.append(episode_return)
        # The losses are those of the episode's last update.
        return {"episode": self.episode, "steps": self.steps, "return": episode_return,
                "average_return_40": trailing_average(self.returns),
                "steps_per_second": episode_steps / seconds if seconds > 0 else math.nan, **self.losses}

    def _sample(self, count: int) -> Batch:
        """count minibatches drawn at once, stacked as [count, batch_size, ...]."""
        batch = self.buffer.sample(self.config.batch_size * count)
        return Batch(*(column.reshape(count, self.config.batch_size, -1) for column in batch))

    def close(self) -> None:
        self.env.close()

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Everything to continue exactly, at an episode boundary: (JSON-able manifest, arrays).

        TensorFlow's own random state is not in it: nothing in training draws from it after the
        networks are initialised, and a resumed run restores the weights instead.
        """
        buffer_info, buffer_arrays = self.buffer.get_state()
        manifest = {
            "config": dataclasses.asdict(self.config), "episode": self.episode, "steps": self.steps,
            "returns": self.returns, "losses": self.losses, "noise": self.agent.noise.get_state(),
            "buffer": {"size": buffer_info["size"], "next": buffer_info["next"]},
            "rng": {"buffer": buffer_info["rng"], "env": self.env.unwrapped.np_random.bit_generator.state},
        }
        arrays = {**self.agent.get_state(), **{f"buffer/{name}": a for name, a in buffer_arrays.items()}}
        return manifest, arrays

    def set_state(self, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
        self.agent.set_state({name: a for name, a in arrays.items() if not name.startswith("buffer/")})
        self.buffer.set_state({**manifest["buffer"], "rng": manifest["rng"]["buffer"]},
                              {name.removeprefix("buffer/"): a for name, a in arrays.items()
                               if name.startswith("buffer/")})
        self.agent.noise.set_state(manifest["noise"])
        self.env.unwrapped.np_random = generator_from_state(manifest["rng"]["env"])
        self.episode, self.steps = int(manifest["episode"]), int(manifest["steps"])
        self.returns = [float(r) for r in manifest["returns"]]
        self.losses = dict(manifest["losses"])


def train(config: DDPGConfig, out_dir: str | os.PathLike | None = None,
          progress: Callable[[dict], None] | None = None, checkpoint_every: int = 10,
          resume: bool = False, overwrite: bool = False) -> TrainResult:
    """Train DDPG on config.env_id; with out_dir, write config.json, metrics.csv, actor.keras, a plot
    and checkpoints.

    Everything is checked before anything is written: the config, the environment's spaces, the
    memory the buffer and networks need, and on resume the whole checkpoint and metrics.csv. Then
    the run directory is locked (a second writer is refused) and, with overwrite, the old run removed.

    Args:
        config: the hyperparameters.
        out_dir: where the run's files go; nothing is written when None.
        progress: called with each episode's metrics row as it ends.
        checkpoint_every: write out_dir/checkpoint every this many episodes (0: only at the end);
            also when stopped by SIGINT or SIGTERM, or by a non-finite transition.
        resume: continue the run in out_dir from its checkpoint, up to config.episodes; config
            must equal the checkpoint's but for `episodes`.
        overwrite: replace a run already in out_dir.
    """
    if not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise UserInputError(f"Expected --checkpoint-every >= 0. Received: --checkpoint-every {checkpoint_every}")
    env = make_env(config.env_id)
    try:
        check_fits_in_memory(config, env.observation_space.shape[0], env.action_space.shape[0])
        with contextlib.ExitStack() as stack:
            run = _open_run(stack, Path(out_dir), config, resume, overwrite) if out_dir is not None else None
            return _train(config, env, run, progress, checkpoint_every, overwrite)
    finally:
        env.close()


@dataclass
class _Run:
    files: RunFiles
    checkpoint: Checkpoint | None


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
        return _Run(files, None)
    checkpoint = load_checkpoint(run_dir / "checkpoint")
    check_resumable(config, check_manifest(checkpoint.manifest))
    done = checkpoint.manifest["episode"]
    if config.episodes < done:
        raise UserInputError(f"Expected --episodes >= {done}, the episodes the checkpoint has done. "
                             f"Received: --episodes {config.episodes}")
    read_metrics(files.metrics, done)  # refused now, before the trainer is built, if it was tampered with
    return _Run(files, checkpoint)


def _train(config: DDPGConfig, env: gym.Env, run: _Run | None, progress: Callable[[dict], None] | None,
           checkpoint_every: int, overwrite: bool) -> TrainResult:
    trainer = Trainer(config, env)
    checkpoint = run.checkpoint if run else None
    wall_offset = 0.0
    if checkpoint:
        try:
            trainer.set_state(checkpoint.manifest, checkpoint.arrays)
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"Expected a checkpoint as ddpg wrote it. Received: {error}") from None
        wall_offset = float(checkpoint.manifest["wall_seconds"])
    if run:
        run.files.start(config, checkpoint, overwrite)  # all is valid: the first write
    done_before = trainer.episode
    result = TrainResult(config=config, out_dir=run.files.dir if run else None, agent=trainer.agent,
                         buffer=trainer.buffer, returns=list(trainer.returns),
                         average_returns=[trailing_average(trainer.returns[:i]) for i in
                                          range(1, len(trainer.returns) + 1)])
    start = time.perf_counter() - wall_offset

    def save() -> None:
        if run:
            run.files.checkpoint(trainer, time.perf_counter() - start)

    try:
        with _stop_on_signals(trainer):
            while trainer.episode < config.episodes:
                row = trainer.run_episode()
                row["wall_seconds"] = time.perf_counter() - start
                result.returns.append(row["return"])
                result.average_returns.append(row["average_return_40"])
                if run:
                    run.files.append_metrics(row)
                    if checkpoint_every and trainer.episode % checkpoint_every == 0:
                        save()
                if progress:
                    progress(row)
                if trainer.stop_requested:  # arrived during the episode's last step: stop at the boundary
                    raise TrainingInterrupted(trainer.stop_requested, "")
            result.steps = trainer.steps
            result.wall_seconds = time.perf_counter() - start
            save()
            if run:
                run.files.finish(trainer.agent, result)
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
    result.episodes_trained = trainer.episode - done_before
    return result


def _interrupted(signal_name: str, run: _Run | None, what: str) -> TrainingInterrupted:
    """What a stopped run left: which checkpoint is on disk now, the one just written or an earlier one."""
    if run is None:
        return TrainingInterrupted(signal_name, what)
    shutil.rmtree(run.files.dir / "checkpoint.tmp", ignore_errors=True)  # a write cut short leaves nothing beside
    try:
        manifest = load_checkpoint(run.files.dir / "checkpoint").manifest
        held = f"{run.files.dir / 'checkpoint'} holds episode {manifest['episode']} (step {manifest['steps']})"
    except CheckpointError:
        held = f"no checkpoint was completed in {run.files.dir}"
    return TrainingInterrupted(signal_name, f"{what}; {held}. Resume with: ddpg train --resume {run.files.dir}")


def check_resumable(config: DDPGConfig, saved: DDPGConfig) -> None:
    """A resumed run must be the same run: only the number of episodes may change."""
    for name in (f.name for f in dataclasses.fields(DDPGConfig)):
        if name != "episodes" and getattr(config, name) != getattr(saved, name):
            raise UserInputError(f"Expected {name}={getattr(saved, name)!r} as in the checkpoint "
                                 f"(only episodes may change on resume). Received: {name}={getattr(config, name)!r}")


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
