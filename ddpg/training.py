"""The training loop of DDPG (Lillicrap et al. 2016, Algorithm 1), evaluation, and the run's files.

Only this module knows Gymnasium.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from ddpg.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError
from ddpg.noise import OrnsteinUhlenbeckNoise
from ddpg.replay_buffer import Batch, ReplayBuffer

if TYPE_CHECKING:  # the agent loads TensorFlow; importing ddpg.training must not
    from ddpg.agent import DDPGAgent

METRICS_FIELDS = ("episode", "steps", "return", "average_return_40", "wall_seconds", "steps_per_second",
                  "critic_loss", "actor_loss")
AVERAGE_WINDOW = 40  # the Keras example reports the mean return of the last 40 episodes


def trailing_average(returns: list[float]) -> float:
    """Mean of the last AVERAGE_WINDOW returns (fewer at the start), the example's reported number."""
    return float(np.mean(returns[-AVERAGE_WINDOW:]))


class UnusableEnvironment(UserInputError):
    """The environment cannot be used: unknown id, discrete actions, or NaN in what it returns."""


class NonFiniteEnvironmentOutput(UnusableEnvironment):
    """The environment returned NaN or infinity; training stopped with a checkpoint of the last good state."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; training stopped after the current step and wrote a checkpoint."""

    def __init__(self, signal_name: str, episode: int, steps: int) -> None:
        super().__init__(f"stopped by {signal_name} after episode {episode} (step {steps})")
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


def make_env(env_id: str) -> gym.Env:
    """gym.make, refusing ids that do not exist and action spaces that are not continuous."""
    try:
        env = gym.make(env_id)  # no render_mode: never a window
    except gym.error.Error as error:
        raise UnusableEnvironment(f"Expected a registered Gymnasium environment id. Received: env_id={env_id!r} "
                                  f"({error})") from None
    if not isinstance(env.action_space, gym.spaces.Box) or not np.issubdtype(env.action_space.dtype, np.floating):
        env.close()
        raise UnusableEnvironment(f"Expected an environment with a continuous Box action space; DDPG cannot act "
                                  f"in {env.action_space}. Received: env_id={env_id!r}")
    if not np.all(np.isfinite(env.action_space.low)) or not np.all(np.isfinite(env.action_space.high)):
        env.close()
        raise UnusableEnvironment(f"Expected finite action bounds, since the actor maps tanh onto them. "
                                  f"Received: low={env.action_space.low}, high={env.action_space.high} "
                                  f"for env_id={env_id!r}")
    if len(env.observation_space.shape) != 1:
        env.close()
        raise UnusableEnvironment(f"Expected a flat Box observation space. Received: {env.observation_space} "
                                  f"for env_id={env_id!r}")
    return env


def _check_finite(step: int, obs: np.ndarray, reward: float) -> None:
    if not (np.all(np.isfinite(obs)) and math.isfinite(reward)):
        raise NonFiniteEnvironmentOutput(f"Expected finite observations and rewards from the environment. "
                                         f"Received: observation={obs}, reward={reward} at step {step}")


class Trainer:
    """The state of a run (environment, agent, replay buffer, counters); one `run_episode` per episode.

    Seeding: one seed drives everything: Keras (the initial weights), the noise, the replay
    sampling, and the environment through its first reset.
    """

    def __init__(self, config: DDPGConfig) -> None:
        self.config = config
        self.env = make_env(config.env_id)  # before TensorFlow loads: a wrong id is refused in a blink

        import keras

        from ddpg.agent import DDPGAgent  # here, so that importing ddpg.training loads no TensorFlow

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
            _check_finite(self.steps + 1, next_obs, reward)  # before anything learns from it
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
                raise TrainingInterrupted(self.stop_requested, self.episode, self.steps)
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
        env_rng = manifest["rng"]["env"]
        self.env.unwrapped.np_random = np.random.Generator(getattr(np.random, env_rng["bit_generator"])())
        self.env.unwrapped.np_random.bit_generator.state = env_rng
        self.episode, self.steps = int(manifest["episode"]), int(manifest["steps"])
        self.returns = [float(r) for r in manifest["returns"]]
        self.losses = dict(manifest["losses"])


def train(config: DDPGConfig, out_dir: str | os.PathLike | None = None,
          progress: Callable[[dict], None] | None = None, checkpoint_every: int = 10,
          resume: bool = False) -> TrainResult:
    """Train DDPG on config.env_id; with out_dir, write config.json, metrics.csv, actor.keras, a plot
    and checkpoints.

    Args:
        config: the hyperparameters.
        out_dir: where the run's files go; nothing is written when None.
        progress: called with each episode's metrics row as it ends.
        checkpoint_every: write out_dir/checkpoint every this many episodes (0: only at the end);
            also when stopped by SIGINT or SIGTERM, or by non-finite output of the environment.
        resume: continue the run in out_dir from its checkpoint, up to config.episodes; config
            must equal the checkpoint's but for `episodes`.
    """
    checkpoint = load_checkpoint(Path(out_dir) / "checkpoint") if resume and out_dir is not None else None
    if checkpoint:
        check_resumable(config, DDPGConfig(**checkpoint.manifest["config"]))
    trainer = Trainer(config)
    run = RunFiles(Path(out_dir), config, resume_from=checkpoint) if out_dir is not None else None
    wall_offset = 0.0
    if checkpoint:
        trainer.set_state(checkpoint.manifest, checkpoint.arrays)
        wall_offset = float(checkpoint.manifest["wall_seconds"])
    result = TrainResult(config=config, out_dir=run.dir if run else None, agent=trainer.agent,
                         buffer=trainer.buffer, returns=list(trainer.returns),
                         average_returns=[trailing_average(trainer.returns[:i]) for i in
                                          range(1, len(trainer.returns) + 1)])
    start = time.perf_counter() - wall_offset
    try:
        with _stop_on_signals(trainer):
            while trainer.episode < config.episodes:
                row = trainer.run_episode()
                row["wall_seconds"] = time.perf_counter() - start
                result.returns.append(row["return"])
                result.average_returns.append(row["average_return_40"])
                if run:
                    run.append_metrics(row)
                    if checkpoint_every and trainer.episode % checkpoint_every == 0:
                        run.checkpoint(trainer, time.perf_counter() - start)
                if progress:
                    progress(row)
                if trainer.stop_requested:  # arrived during the episode's last step: stop at the boundary
                    raise TrainingInterrupted(trainer.stop_requested, trainer.episode, trainer.steps)
    except (TrainingInterrupted, NonFiniteEnvironmentOutput):
        if run:  # the last good state: a resumed run starts the unfinished episode again
            run.checkpoint(trainer, time.perf_counter() - start)
        raise
    finally:
        trainer.close()
    result.steps = trainer.steps
    result.wall_seconds = time.perf_counter() - start
    if run:
        run.checkpoint(trainer, result.wall_seconds)
        run.finish(trainer.agent, result)
    return result


def check_resumable(config: DDPGConfig, saved: DDPGConfig) -> None:
    """A resumed run must be the same run: only the number of episodes may change."""
    for name in (f.name for f in dataclasses.fields(DDPGConfig)):
        if name != "episodes" and getattr(config, name) != getattr(saved, name):
            raise UserInputError(f"Expected {name}={getattr(saved, name)!r} as in the checkpoint "
                                 f"(only episodes may change on resume). Received: {name}={getattr(config, name)!r}")


@contextlib.contextmanager
def _stop_on_signals(trainer: Trainer):
    """SIGINT and SIGTERM ask the trainer to stop after the current step; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum, frame):
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.stop_requested = signal.Signals(signum).name

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class RunFiles:
    """A run's directory: config.json, metrics.csv row by row, checkpoints, and the actor and plot at the end."""

    def __init__(self, directory: Path, config: DDPGConfig, resume_from: Checkpoint | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomically(self.dir / "config.json", json.dumps(dataclasses.asdict(config), indent=2) + "\n")
        self.metrics = self.dir / "metrics.csv"
        rows = []
        if resume_from is not None and self.metrics.exists():
            # Episodes after the checkpoint were lost with the process: they run again, so their
            # rows go, and every episode ends up in the file exactly once.
            with self.metrics.open(newline="") as file:
                rows = [row for row in csv.DictReader(file)
                        if row.get("episode", "").isdigit() and int(row["episode"]) <= resume_from.manifest["episode"]]
        text = io.StringIO()
        writer = csv.DictWriter(text, METRICS_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(self.metrics, text.getvalue())
        self._checkpointed_at: tuple[int, int] | None = None  # (episode, steps) of the last checkpoint written

    def append_metrics(self, row: dict) -> None:
        with self.metrics.open("a", newline="") as file:
            csv.DictWriter(file, METRICS_FIELDS).writerow(row)

    def checkpoint(self, trainer: Trainer, wall_seconds: float) -> None:
        """Save the trainer's state, unless this very state was the last one saved (the run's end
        often falls on a checkpoint_every boundary: the buffer is not written twice)."""
        if self._checkpointed_at == (trainer.episode, trainer.steps):
            return
        manifest, arrays = trainer.get_state()
        save_checkpoint(self.dir / "checkpoint", {**manifest, "wall_seconds": wall_seconds}, arrays)
        self._checkpointed_at = (trainer.episode, trainer.steps)

    def finish(self, agent, result: TrainResult) -> None:
        tmp = self.dir / "actor.tmp.keras"
        agent.actor.save(tmp)
        os.replace(tmp, self.dir / "actor.keras")
        plot_learning_curve(result.returns, result.average_returns, self.dir / "learning_curve.png",
                            title=f"DDPG on {result.config.env_id}, seed {result.config.seed}")


def write_atomically(path: Path, text: str) -> None:
    """Write beside, then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, newline="")  # as given: csv's own line endings stay as they are
    os.replace(tmp, path)


def plot_learning_curve(returns: list[float], average_returns: list[float], path: Path, title: str) -> None:
    """Return per episode and its 40-episode average, like the Keras example's plot."""
    import matplotlib

    matplotlib.use("Agg")  # headless: never opens a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    episodes = np.arange(1, len(returns) + 1)
    ax.plot(episodes, returns, color="tab:blue", alpha=0.35, label="episode return")
    ax.plot(episodes, average_returns, color="tab:blue", label=f"average of the last {AVERAGE_WINDOW}")
    ax.set_xlabel("episode")
    ax.set_ylabel("return")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def evaluate(run_dir: str | os.PathLike, episodes: int = 10, seed: int | None = None) -> dict:
    """Run the saved deterministic policy a = mu(s) (no noise) and write eval.json beside it.

    The default seed is the training seed plus 1,000,000, so evaluation does not replay the
    starting states of training.
    """
    import keras

    from ddpg.networks import NumpyPolicy

    run_dir = Path(run_dir)
    config = DDPGConfig(**json.loads((run_dir / "config.json").read_text()))
    policy = NumpyPolicy.from_actor(keras.models.load_model(run_dir / "actor.keras"))
    seed = config.seed + 1_000_000 if seed is None else seed
    env = make_env(config.env_id)
    returns = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed if episode == 0 else None)
            total, done = 0.0, False
            while not done:
                action = np.clip(policy(obs), env.action_space.low, env.action_space.high)  # as DDPGAgent.act does
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    report = {"env_id": config.env_id, "episodes": episodes, "seed": seed, "mean_return": float(np.mean(returns)),
              "std_return": float(np.std(returns)), "returns": returns}
    write_atomically(run_dir / "eval.json", json.dumps(report, indent=2) + "\n")
    return report

