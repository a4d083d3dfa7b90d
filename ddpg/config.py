"""Every hyperparameter of a run, in one frozen dataclass with the Keras example's defaults.

Each field declares its default, its allowed range and its help text in one place; the command
line builds its options from `dataclasses.fields(DDPGConfig)`. Standard library only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Keras seeds NumPy's legacy generator, which takes 32-bit seeds.
MAX_SEED = 2**32 - 1
DEFAULT_EPISODES = 100  # the Keras example's budget
BUDGET_FIELDS = ("episodes", "total_steps")  # exactly one sets a run's budget; the only fields a resume may change

# A check takes the field's name and value and returns None when the value is allowed, else what
# was expected, in words: "0 < tau <= 1".
Check = Callable[[str, Any], "str | None"]


@dataclass(frozen=True)
class Interval:
    """A check: values in a real (or integer) interval from low to high; either end may be open, high absent.

    An object called at validation, not a closure made at import, so that mutation testing sees which
    tests run the check's code.
    """

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def __call__(self, name: str, value: Any) -> str | None:
        low, high = self.low, self.high
        if self.integer and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            return f"{name} to be an integer"
        lo, hi = (low, high) if self.integer else (f"{low:g}", f"{high:g}" if high is not None else None)
        if high is not None:
            expected = f"{lo} {'<' if self.low_open else '<='} {name} {'<' if self.high_open else '<='} {hi}"
        else:
            expected = f"{name} {'>' if self.low_open else '>='} {lo}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return expected
        too_low = value <= low if self.low_open else value < low
        too_high = high is not None and (value >= high if self.high_open else value > high)
        return expected if too_low or too_high else None


@dataclass(frozen=True)
class Optional:
    """A check: None (decided from other fields, see DDPGConfig.__post_init__) or what `check` allows."""

    check: Check

    def __call__(self, name: str, value: Any) -> str | None:
        return None if value is None else self.check(name, value)


@dataclass(frozen=True)
class LayerSizes:
    """A check: a tuple of layer widths, each an integer >= 1; empty only where `may_be_empty`."""

    may_be_empty: bool = False

    def __call__(self, name: str, value: Any) -> str | None:
        valid = isinstance(value, tuple) and (self.may_be_empty or len(value) > 0) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in value)
        return None if valid else f"{name} to be {'zero' if self.may_be_empty else 'one'} or more integers >= 1"


@dataclass(frozen=True)
class OneOf:
    """A check: one of a few names."""

    names: tuple[str, ...]

    def __call__(self, name: str, value: Any) -> str | None:
        return None if value in self.names else f"{name} to be one of {', '.join(self.names)}"


def boolean(name: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{name} to be true or false"


def non_empty_string(name: str, value: Any) -> str | None:
    return None if isinstance(value, str) and value else f"{name} to be a non-empty string"


def json_object(name: str, value: Any) -> str | None:
    """A check: the text of a JSON object (env_kwargs: the environment's constructor arguments)."""
    try:
        return None if isinstance(json.loads(value), dict) else f"{name} to be a JSON object"
    except (TypeError, ValueError):
        return f"{name} to be a JSON object"


def _plain(value: Any) -> Any:
    """Python's own numbers and tuples for NumPy scalars and lists (from JSON or a caller), so that a
    config is hashable and its config.json can be written; anything else is left for the checks."""
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, bool):  # an Integral, but refused by the checks as it is
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def setting(default: Any, check: Check, help: str, kind: type | None = None) -> Any:
    """A config field: its default, its allowed range and its help text, declared together; `kind` is its
    type on the command line where the default (None) does not tell."""
    return dataclasses.field(default=default, metadata={"check": check, "help": help,
                                                        "kind": kind or type(default)})


@dataclass(frozen=True)
class DDPGConfig:
    """Hyperparameters of a DDPG run (Lillicrap et al. 2016), with the Keras example's defaults."""

    env_id: str = setting("Pendulum-v1", non_empty_string, "Gymnasium environment id (continuous Box actions)")
    # A JSON object's text (a dict given is written as one): kept as text, canonical (sorted keys), so that a
    # config stays hashable and two spellings of the same arguments are the same config.
    env_kwargs: str = setting("{}", json_object, "the environment's constructor arguments, a JSON object passed to "
                              "gym.make (recorded in config.json; used by resume, evaluate and sweep)")
    # The budget: exactly one of episodes and total_steps; neither means 100 episodes.
    episodes: int | None = setting(None, Optional(Interval(1, integer=True)),
                                   "training episodes (100 unless --total-steps is given)", kind=int)
    seed: int = setting(0, Interval(0, MAX_SEED, integer=True),
                        "one seed for the environment, the noise, replay sampling and Keras")
    gamma: float = setting(0.99, Interval(0, 1), "discount factor gamma")
    tau: float = setting(0.005, Interval(0, 1, low_open=True),
                         "Polyak rate tau of the target networks: theta' <- tau theta + (1 - tau) theta'")
    actor_lr: float = setting(0.001, Interval(0, low_open=True), "Adam learning rate of the actor mu")
    critic_lr: float = setting(0.002, Interval(0, low_open=True), "Adam learning rate of the critic Q")
    buffer_capacity: int = setting(50_000, Interval(1, integer=True), "replay buffer size, in transitions")
    batch_size: int = setting(64, Interval(1, integer=True), "minibatch size N of each update")
    ou_theta: float = setting(0.15, Interval(0), "Ornstein-Uhlenbeck mean reversion theta")
    ou_sigma: float = setting(0.2, Interval(0), "Ornstein-Uhlenbeck diffusion sigma (in action units)")
    ou_dt: float = setting(0.01, Interval(0, low_open=True), "Ornstein-Uhlenbeck time step dt")
    actor_hidden: tuple[int, ...] = setting((256, 256), LayerSizes(), "actor hidden layer sizes")
    critic_state_hidden: tuple[int, ...] = setting(
        (16, 32), LayerSizes(may_be_empty=True),
        "critic layers on the observation alone (none, and none on the action: (s, a) joined at the input)")
    critic_action_hidden: tuple[int, ...] = setting((32,), LayerSizes(may_be_empty=True),
                                                    "critic layers on the action alone (may be none)")
    critic_hidden: tuple[int, ...] = setting((256, 256), LayerSizes(),
                                             "critic layers after the two branches are joined")
    # 10, not the example's 1: on seeds 0-19 both learn as well (docs/results.md), and one compiled call
    # per 10 steps makes a training step several times faster (docs/performance.md).
    update_every: int = setting(10, Interval(1, integer=True),
                                "environment steps between update calls; each call makes that many updates, so "
                                "there is always one update per step (1: after every step, as in the example)")
    total_steps: int | None = setting(None, Optional(Interval(1, integer=True)),
                                      "training budget in environment steps, instead of --episodes", kind=int)
    learning_starts: int | None = setting(None, Optional(Interval(1, integer=True)),
                                          "environment steps before the first update (default: batch_size)",
                                          kind=int)
    random_steps: int = setting(0, Interval(0, integer=True),
                                "environment steps of uniform random actions before the policy acts")
    noise: str = setting("ou", OneOf(("ou", "gaussian", "none")), "exploration noise N added to mu(s)")
    gaussian_sigma: float = setting(0.1, Interval(0), "Gaussian noise sigma, as a fraction of the action half-range")
    critic_weight_decay: float = setting(0.0, Interval(0), "weight decay lambda on the critic's kernels: "
                                         "lambda * sum(W^2) / 2 added to its loss (the paper: 0.01)")
    # The update's schedule and the networks' form, for the presets that reproduce a paper or a peer
    # (ddpg.presets); the defaults are the Keras example's.
    policy_delay: int = setting(1, Interval(1, integer=True),
                                "critic steps per actor step: the actor and both targets move after every "
                                "policy_delay-th critic step (CleanRL: 2)")
    update_at_episode_end: bool = setting(False, boolean,
                                          "no updates during an episode; at its end, as many as it had steps (the "
                                          "TD3 paper's DDPG)")
    # batch_norm: the batch's statistics in each online network's own step of the update; the moving (inference)
    # statistics when acting, evaluating, in actor.keras and the NumPy policy, and in the target networks, whose
    # moving statistics are Polyak-averaged with their weights; checkpoints hold them (ddpg.agent.DDPGAgent).
    batch_norm: bool = setting(False, boolean,
                               "batch normalisation on the state input and every layer of mu, and every layer of Q "
                               "before the action enters (the paper's low-dimensional networks)")
    # normalize_observations: the statistics are updated from every observation training receives (resets' and
    # steps', the warm-up's too) and frozen in evaluation and in each saved actor (ddpg.loop.Trainer).
    normalize_observations: bool = setting(False, boolean,
                                           "normalise observations with a running mean and variance, as "
                                           "Stable-Baselines3's VecNormalize: clip((s - mean) / sqrt(var + 1e-8), "
                                           "-10, 10); actor.keras takes raw observations")
    initializer: str = setting("glorot", OneOf(("glorot", "fan_in_uniform")),
                               "hidden layers' initialisation: glorot (Keras; zero biases) or fan_in_uniform "
                               "(weights and biases from U(-1/sqrt(f), 1/sqrt(f)), f the fan-in: the paper, PyTorch)")
    final_layer_init: str = setting("actor", OneOf(("actor", "both", "none")),
                                    "final layers from U(-3e-3, 3e-3): the actor's kernel (the Keras example), both "
                                    "networks' kernels and biases (the paper), or none (as --initializer)")
    eval_every: int = setting(0, Interval(0, integer=True),
                              "environment steps between evaluations during training (0: none)")
    eval_episodes: int = setting(10, Interval(1, integer=True),
                                 "episodes per evaluation: during training, and a sweep's final one")

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            value = _plain(value)
            if field.name == "env_kwargs":
                value = _canonical_json(value)
            object.__setattr__(self, field.name, value)
            expected = field.metadata["check"](field.name, value)
            if expected is not None:
                raise ValueError(f"Expected {expected}. Received: {field.name}={value!r}")
        if self.episodes is not None and self.total_steps is not None:
            raise ValueError("Expected one budget: episodes or total_steps, not both. "
                             f"Received: episodes={self.episodes}, total_steps={self.total_steps}")
        if self.episodes is None and self.total_steps is None:
            object.__setattr__(self, "episodes", DEFAULT_EPISODES)
        if self.learning_starts is None:  # the first update waits for one batch of transitions, as before
            object.__setattr__(self, "learning_starts", self.batch_size)
        # x' = (1 - theta dt) x + ...: theta dt >= 1 makes the noise oscillate or blow up.
        if self.ou_theta * self.ou_dt >= 1:
            raise ValueError("Expected ou_theta * ou_dt < 1. "
                             f"Received: ou_theta={self.ou_theta!r}, ou_dt={self.ou_dt!r}")
        if self.batch_size > self.buffer_capacity:
            raise ValueError("Expected batch_size <= buffer_capacity. "
                             f"Received: batch_size={self.batch_size}, buffer_capacity={self.buffer_capacity}")


def _canonical_json(value: Any) -> Any:
    """A dict, or the text of a JSON object, as its canonical text; anything else as it is, for the check."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value
    try:
        return json.dumps(parsed, sort_keys=True) if isinstance(parsed, dict) else value
    except (TypeError, ValueError):  # a dict holding what JSON cannot: the check names the field
        return "not JSON"


def env_kwargs(config: DDPGConfig) -> dict:
    """The environment's constructor arguments of a config."""
    return json.loads(config.env_kwargs)


def config_from_json(text: str) -> dict:
    """The DDPGConfig fields in a JSON text, as `ddpg train` writes config.json (not yet checked: pass them to
    DDPGConfig); ValueError says what the text is instead."""
    values = json.loads(text)  # json.JSONDecodeError is a ValueError
    if not isinstance(values, dict):
        raise ValueError(f"a JSON {type(values).__name__}, not an object")
    unknown = sorted(set(values) - {field.name for field in dataclasses.fields(DDPGConfig)})
    if unknown:
        raise ValueError(f"fields DDPGConfig does not have: {', '.join(unknown)}")
    return values
