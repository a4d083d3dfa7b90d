"""Evaluation: the deterministic policy a = mu(s), without noise, over whole episodes.

It reads a run directory and never writes into it, so it needs no lock and may run while the run
trains. Every way the directory can be damaged is one line naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from ddpg.config import MAX_SEED, DDPGConfig
from ddpg.environments import check_observation, config_env
from ddpg.errors import UserInputError, first_line
from ddpg.exploration import clip_to_bounds
from ddpg.normalization import RunningMeanStd
from ddpg.run_files import RunFilesError, load_run_config
from ddpg.run_schema import OBSERVATION_FILE

if TYPE_CHECKING:  # the trainer loads TensorFlow; importing ddpg.evaluation must not
    from ddpg.loop import Trainer

EVAL_SEED_OFFSET = 1_000_000  # evaluation starts from other states than training's
BEST_ACTOR = "best/actor/"  # the best actor's weights in a checkpoint's arrays, by their index


class EvaluationStopped(Exception):
    """`stop()` said to stop: the evaluation was left unfinished, and is not recorded."""


def run_episodes(policy: Callable[[np.ndarray], np.ndarray], env: gym.Env, episodes: int, seed: int,
                 stop: Callable[[], object] | None = None) -> list[float]:
    """The return of each of `episodes` episodes of a = clip(policy(s), low, high); the environment is seeded
    once, at the first reset, so that the episodes start from different states. `stop()`, asked after every
    step: when true, EvaluationStopped (a signal is acted on within a step, not at the evaluation's end)."""
    low, high, shape = env.action_space.low, env.action_space.high, env.observation_space.shape
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        total, done = 0.0, False
        while not done:
            check_observation(obs, shape, "in evaluation episode", episode + 1)
            action = clip_to_bounds(policy(obs), low, high)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
            if stop is not None and stop():
                raise EvaluationStopped
        returns.append(total)
    return returns


@dataclass
class Best:
    """The best evaluation so far, the actor's weights then, and the observation statistics then (with
    normalize_observations; else None): best_actor.keras is that actor with those statistics frozen in front."""

    step: int
    mean_return: float
    weights: list[np.ndarray]
    statistics: dict | None = None


class Evaluator:
    """Evaluation during training and the best actor so far.

    Every config.eval_every steps (never when 0), the deterministic policy over config.eval_episodes
    episodes, on an environment of its own seeded config.seed + EVAL_SEED_OFFSET at its first reset;
    the best evaluation's actor weights (and observation statistics) are kept, and go into the checkpoint, so
    that best_actor.keras survives a resume. Evaluation acts as trainer.policy does (on normalised observations,
    with normalize_observations) and updates no statistics: they are frozen while it runs.
    """

    def __init__(self, config: DDPGConfig, make: Callable[[], gym.Env] | None = None) -> None:
        """`make`: the environment's maker (default: the config's env_id and env_kwargs)."""
        self.every, self.episodes = config.eval_every, config.eval_episodes
        self.seed = config.seed + EVAL_SEED_OFFSET
        make = make or (lambda: config_env(config))
        self.env = make() if self.every else None  # its own environment, its own seed
        self.best: Best | None = None

    def due(self, steps: int) -> bool:
        return bool(self.every) and steps % self.every == 0

    def evaluate(self, trainer: Trainer, wall_seconds: float) -> tuple[dict, bool] | None:
        """eval.csv's row for the trainer's policy now, and whether it is the best so far (then kept); None when
        a stop was requested (trainer.stop_requested) before it finished."""
        try:
            returns = run_episodes(trainer.policy, self.env, self.episodes, self.seed,
                                   stop=lambda: trainer.stop_requested)
        except EvaluationStopped:
            return None
        row = {"step": trainer.steps, "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
               "episodes": len(returns), "wall_seconds": wall_seconds}
        improved = self.best is None or row["mean_return"] > self.best.mean_return
        if improved:
            self.best = Best(trainer.steps, row["mean_return"], [w.copy() for w in trainer.agent.policy.weights()],
                             trainer.observation_statistics())
        return row, improved

    def checkpoint_form(self) -> tuple[dict | None, dict[str, np.ndarray]]:
        """(the manifest's "best", with its observation statistics as "normalizer" when it has them; the arrays of
        its actor's weights)."""
        if self.best is None:
            return None, {}
        normalizer = {} if self.best.statistics is None else {"normalizer": self.best.statistics}
        return ({"step": self.best.step, "mean_return": self.best.mean_return, **normalizer},
                {f"{BEST_ACTOR}{i}": weight for i, weight in enumerate(self.best.weights)})

    def restore(self, saved: dict | None, arrays: dict[str, np.ndarray], like: list[np.ndarray],
                normalizer: RunningMeanStd | None = None) -> None:
        """The best actor as checkpoint_form gave it; `like`: the actor's weights, whose shapes it must have;
        `normalizer`: the trainer's statistics (None without normalisation), whose length its own must have."""
        if saved is None:
            self.best = None
            return
        weights = [arrays[f"{BEST_ACTOR}{i}"] for i in range(len(like))]
        for weight, own in zip(weights, like, strict=True):
            if weight.shape != own.shape:
                raise ValueError(f"Expected the best actor's weights of shape {own.shape}. Received: {weight.shape}")
        statistics = None
        if normalizer is not None:
            probe = RunningMeanStd(len(normalizer.mean))
            probe.set_state(saved["normalizer"])  # refuses statistics of another length or damaged ones
            statistics = probe.get_state()
        self.best = Best(int(saved["step"]), float(saved["mean_return"]), weights, statistics)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()


def load_actor_policy(run_dir: Path, obs_dim: int, action_dim: int, file: str = "actor.keras"):
    """The saved actor (run_dir/file) as a NumPy policy, after checking that it is a Keras actor of the right
    shape."""
    path = run_dir / file
    policy = load_actor_file(path)
    actor = policy.actor
    shapes = (tuple(actor.input_shape), tuple(actor.output_shape))
    if shapes != ((None, obs_dim), (None, action_dim)):
        raise RunFilesError(f"Expected {path} to map observations of length {obs_dim} to actions of length "
                            f"{action_dim}, as the environment has. Received: an actor from {shapes[0]} to {shapes[1]}")
    return policy


def load_actor_file(path: Path):
    """An actor saved by ddpg train as a NumPy policy (its Keras model as `.actor`); one line if it is not one."""
    from ddpg.backend import keras
    from ddpg.networks import NumpyPolicy

    try:
        actor = keras.models.load_model(path)  # safe mode: no code is run from the file
        policy = NumpyPolicy.from_actor(actor)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, zipfile.BadZipFile) as error:
        raise RunFilesError(f"Expected {path} to be an actor saved by ddpg train. Received: {first_line(error)}"
                            ) from None
    policy.actor = actor
    return policy


def read_observation_file(run_dir: Path) -> dict:
    """observation_space.json of a run ({} when it has none: a run from before it was written); one line if it
    is not as train writes it."""
    path = run_dir / OBSERVATION_FILE
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text())
        if not isinstance(values, dict):
            raise ValueError(f"a JSON {type(values).__name__}")
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise RunFilesError(f"Expected {path} as ddpg train writes it. Received: {error}") from None
    return values


def actor_file(best: bool) -> str:
    return "best_actor.keras" if best else "actor.keras"


def missing_actor(path: Path, best: bool) -> str:
    hint = " (a run writes it when it evaluates during training: --eval-every)" if best else ""
    return f"Expected a training run directory holding {path.name}{hint}. Received: {path.parent}"


def evaluate(run_dir: str | os.PathLike, episodes: int = 10, seed: int | None = None, best: bool = False) -> dict:
    """Run the saved deterministic policy of a training run directory (with `best`, best_actor.keras: the actor
    of its best evaluation during training); returns the report.

    The default seed is the training seed plus 1,000,000, so evaluation does not replay the
    starting states of training.
    """
    run_dir = Path(run_dir)
    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise UserInputError(f"Expected --episodes >= 1. Received: --episodes {episodes}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserInputError(f"Expected 0 <= --seed <= {MAX_SEED}. Received: --seed {seed}")
    if not (run_dir / "actor.keras").is_file() or not (run_dir / "config.json").is_file():
        raise UserInputError(f"Expected a training run directory holding actor.keras and config.json. "
                             f"Received: {run_dir}")
    if best and not (run_dir / actor_file(best)).is_file():
        raise UserInputError(missing_actor(run_dir / actor_file(best), best))
    if read_observation_file(run_dir).get("factory"):
        raise UserInputError(f"Expected a run trained on an environment id; {run_dir} was trained on a factory's "
                             "environment (train(env=...)), which evaluate cannot make: run ddpg.load_policy on "
                             "it in your own environment")
    config = load_run_config(run_dir)
    seed = config.seed + EVAL_SEED_OFFSET if seed is None else seed
    env = config_env(config)
    try:
        policy = load_actor_policy(run_dir, env.observation_space.shape[0], env.action_space.shape[0],
                                   actor_file(best))
        returns = run_episodes(policy, env, episodes, seed)
    finally:
        env.close()
    return {"env_id": config.env_id, "actor": actor_file(best), "episodes": episodes, "seed": seed,
            "mean_return": float(np.mean(returns)),
            "std_return": float(np.std(returns)), "returns": returns}
