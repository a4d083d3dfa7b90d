"""The environment: `gym.make` with the checks DDPG needs, and the finiteness of what it returns.

With the loop and evaluation, the only place that knows Gymnasium.
"""

from __future__ import annotations

import importlib
import json
import warnings

import gymnasium as gym
import numpy as np

from ddpg.errors import UserInputError, first_line, install_command, raised

# Gymnasium's families whose dependencies are optional, and the extra of this package that installs them.
EXTRAS = {"mujoco": "mujoco", "box2d": "box2d"}
# MuJoCo's warnings that no user can act on: MuJoCo 4 deprecates an attribute of Gymnasium's own models.
MUJOCO_WARNINGS_IGNORED = ("compiler attribute 'settotalmass' is deprecated",)


class UnusableEnvironment(UserInputError):
    """The environment cannot be used: unknown id, a missing extra, spaces DDPG cannot act in."""


class BadEnvironmentOutput(UnusableEnvironment):
    """The environment returned what DDPG cannot store or act on; training stopped with a checkpoint of the last
    good state."""


class NonFiniteEnvironmentOutput(BadEnvironmentOutput):
    """A transition held NaN or infinity (as float32)."""


def make_env(env_id: str, kwargs: dict | None = None) -> gym.Env:
    """gym.make, refusing what DDPG cannot use: an unknown id, a missing dependency, spaces that are not
    flat Boxes of floats, unbounded actions. `kwargs`: the environment's constructor arguments (gym.make's);
    an id `module:Name-v0` imports `module` first, here, so that a missing or failing module is one line."""
    _import_module_of(env_id)
    if _is_mujoco(env_id):
        _mujoco_warnings_to_python()
    try:
        env = gym.make(env_id, **(kwargs or {}))  # no render_mode: never a window
    except TypeError as error:
        if not kwargs:
            raise
        raise UnusableEnvironment(f"Expected --env-kwargs that {env_id} accepts. Received: {json.dumps(kwargs)} "
                                  f"({first_line(error)})") from None
    except (gym.error.DependencyNotInstalled, ImportError) as error:
        raise UnusableEnvironment(f"Expected the dependencies of {env_id}: {missing_extra_hint(env_id)}. "
                                  f"Received: {first_line(error)}") from None
    except gym.error.Error as error:
        raise UnusableEnvironment(f"Expected a registered Gymnasium environment id. Received: env_id={env_id!r} "
                                  f"({error})") from None
    except Exception as error:  # the environment's own constructor failed: its words, in one line
        raise UnusableEnvironment(f"Expected gym.make({env_id!r}) to make the environment. Received: "
                                  f"{raised(error)}") from None
    return _checked(env_id, env)


def _import_module_of(env_id: str) -> None:
    """`module:Name-v0` (Gymnasium's form for an environment that a module registers when imported): the module
    imported here, so that an id of another form, a missing module or one that raises is one line."""
    if ":" not in env_id:
        return
    module, _, name = env_id.partition(":")
    if not module.strip() or not name.strip() or ":" in name:
        raise UnusableEnvironment(f"Expected an environment id like Name-v0 or module:Name-v0. Received: "
                                  f"env_id={env_id!r}")
    try:
        importlib.import_module(module)
    except Exception as error:  # the user's module: whatever it raises
        raise UnusableEnvironment(f"Expected the module {module} of env_id={env_id!r} to import and register "
                                  f"{name}. Received: {raised(error)}") from None


def registered_spec(env_id: str):
    """Gymnasium's spec of env_id (of Name-v0 for module:Name-v0, whose module make_env imported); None when it
    has none."""
    try:
        return gym.spec(env_id.partition(":")[2] if ":" in env_id else env_id)
    except (gym.error.Error, ValueError, ImportError):
        return None


def flattened(name: str, env: gym.Env) -> gym.Env:
    """A Dict or multi-dimensional Box observation space flattened (Gymnasium's FlattenObservation, whose order
    observation_layout records); a Dict with a leaf that is not a Box refused."""
    space = env.observation_space
    if not (isinstance(space, gym.spaces.Dict) or (isinstance(space, gym.spaces.Box) and len(space.shape) > 1)):
        return env
    for path, leaf in _leaves(space, ""):
        if not isinstance(leaf, gym.spaces.Box):
            raise UnusableEnvironment(f"Expected a Dict observation space whose leaves are Boxes, to flatten it; "
                                      f"DDPG cannot use {leaf} at {path!r}. Received: env_id={name!r}")
    return gym.wrappers.FlattenObservation(env)


def _leaves(space: gym.Space, path: str):
    if isinstance(space, gym.spaces.Dict):
        for key, sub in space.spaces.items():
            yield from _leaves(sub, f"{path}/{key}" if path else str(key))
    else:
        yield path, space


def observation_layout(env: gym.Env) -> dict | None:
    """How the environment's observations were flattened, for a policy loaded without it (ddpg.policy): the
    Box shapes and Dict keys in FlattenObservation's order; None when they were not."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.FlattenObservation):
            return _layout(env.env.observation_space)
        env = env.env
    return None


def _layout(space: gym.Space) -> dict:
    if isinstance(space, gym.spaces.Dict):
        return {"dict": [[key, _layout(sub)] for key, sub in space.spaces.items()]}
    return {"box": list(space.shape)}


def config_env(config) -> gym.Env:
    """The environment of a DDPGConfig: its env_id with its env_kwargs."""
    from ddpg.config import env_kwargs

    return make_env(config.env_id, env_kwargs(config))


def factory_env(factory) -> gym.Env:
    """The environment a zero-argument factory returns (ddpg.train(..., env=factory)), checked as make_env checks
    an id's; one line if the factory raises or returns something else."""
    try:
        env = factory()
    except Exception as error:  # the user's code: whatever it raises is their error, in one line
        raise UnusableEnvironment(f"Expected env=factory to return a Gymnasium environment. Received: it raised "
                                  f"{raised(error)}") from None
    if not isinstance(env, gym.Env):
        raise UnusableEnvironment(f"Expected env=factory to return a Gymnasium environment (gymnasium.Env). "
                                  f"Received: {type(env).__name__}")
    return _checked(env.spec.id if env.spec is not None else type(env.unwrapped).__name__, env)


def _checked(name: str, env: gym.Env) -> gym.Env:
    """The environment, its observations flattened, once its spaces are ones DDPG can use; else closed, and
    UnusableEnvironment naming it. The same check for an id's environment and a factory's."""
    try:
        env = flattened(name, env)
        check_spaces(name, env.observation_space, env.action_space)
    except UnusableEnvironment:
        env.close()
        raise
    return env


def missing_extra_hint(env_id: str) -> str:
    spec = registered_spec(env_id)  # called while handling make's error: it must not raise in turn
    entry_point = str(spec.entry_point) if spec is not None else ""
    for family, extra in EXTRAS.items():
        if family in entry_point:
            return install_command(extra)
    return "install what its package needs"


def _is_mujoco(env_id: str) -> bool:
    spec = registered_spec(env_id)
    return spec is not None and "mujoco" in str(spec.entry_point)  # else make_env refuses it, in its words


def _mujoco_warnings_to_python() -> None:
    """MuJoCo's warnings through Python's `warnings`, not its default handler, which prints them and appends them
    to MUJOCO_LOG.TXT in the working directory (a file in every directory a run started from)."""
    try:
        import mujoco
    except ImportError:
        return  # make_env names the extra that installs it
    mujoco.set_mju_user_warning(_mujoco_warning)


def _mujoco_warning(message: str) -> None:
    if not message.startswith(MUJOCO_WARNINGS_IGNORED):
        warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=1)


def check_spaces(env_id: str, observation_space: gym.Space, action_space: gym.Space) -> None:
    """A flat float Box of observations; a flat float Box of actions with finite bounds (tanh maps onto them)."""
    for name, space in (("observation", observation_space), ("action", action_space)):
        if not (isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating)
                and len(space.shape) == 1 and space.shape[0] >= 1):
            raise UnusableEnvironment(f"Expected an environment with a flat, continuous Box {name} space of shape "
                                      f"(n,); DDPG cannot use {space}. Received: env_id={env_id!r}")
    if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
        raise UnusableEnvironment(f"Expected finite action bounds, since the actor maps tanh onto them. "
                                  f"Received: low={action_space.low}, high={action_space.high} for env_id={env_id!r}")


def check_observation(obs: np.ndarray, shape: tuple[int, ...], where: str, number: int) -> None:
    """Refuse an observation of another shape than the observation space's (an environment that changes it
    mid-run): the replay buffer and the networks hold the space's. `where` and `number` say when ("at step", 7)."""
    if np.shape(obs) != shape:
        raise BadEnvironmentOutput(f"Expected observations of shape {shape}, as the observation space has. "
                                   f"Received: shape {np.shape(obs)} {where} {number}")


def check_finite(step: int, obs: np.ndarray, action: np.ndarray, reward: float) -> None:
    """Refuse a transition unless it is finite as float32, the dtype the replay buffer stores: 1e300 is
    finite in float64 and infinite in float32. The action is the policy's, checked all the same."""
    with np.errstate(over="ignore", invalid="ignore"):
        finite = all(np.all(np.isfinite(np.asarray(value, np.float32))) for value in (obs, action, reward))
    if not finite:
        raise NonFiniteEnvironmentOutput(f"Expected finite observations, actions and rewards (as float32). Received: "
                                         f"observation={obs}, action={action}, reward={reward} at step {step}")
