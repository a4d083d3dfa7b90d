"""A module that registers an environment when imported: for module-qualified ids (`owntask_envs:Reach-v0`)."""

import gymnasium as gym
import numpy as np


class Reach(gym.Env):
    """A 1-D target: the observation is the distance to it (times `scale`), the action moves toward it."""

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, scale: float = 1.0, length: int = 10):
        self.scale, self.length = scale, length
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-1, 1)), 0
        return np.array([self.x * self.scale], np.float32), {}

    def step(self, action):
        self.x += 0.2 * float(np.clip(action[0], -1, 1))
        self.t += 1
        return np.array([self.x * self.scale], np.float32), -abs(self.x), False, self.t >= self.length, {}


if "owntask/Reach-v0" not in gym.registry:
    gym.register("owntask/Reach-v0", entry_point=Reach, max_episode_steps=10)


class DictReach(Reach):
    """Reach, observed as a Dict: the distance as a (1,) Box and a (2, 2) Box of context."""

    def __init__(self, scale: float = 1.0, length: int = 10, leaf: str = "box"):
        super().__init__(scale, length)
        context = (gym.spaces.Discrete(3) if leaf == "discrete" else
                   gym.spaces.Box(-1.0, 1.0, (2, 2), np.float32))
        self.observation_space = gym.spaces.Dict({"distance": gym.spaces.Box(-np.inf, np.inf, (1,), np.float32),
                                                  "context": context})

    def _observe(self, distance):
        return {"distance": distance, "context": np.full((2, 2), 0.5, np.float32)}

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        return self._observe(obs), info

    def step(self, action):
        obs, *rest = super().step(action)
        return (self._observe(obs), *rest)


class GridReach(Reach):
    """Reach, observed as a (2, 3) Box: the distance repeated."""

    def __init__(self):
        super().__init__()
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2, 3), np.float32)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        return np.full((2, 3), obs[0], np.float32), info

    def step(self, action):
        obs, *rest = super().step(action)
        return (np.full((2, 3), obs[0], np.float32), *rest)


for _id, _entry in (("owntask/DictReach-v0", DictReach), ("owntask/GridReach-v0", GridReach)):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_entry, max_episode_steps=10)


class MillimetreReach(gym.Env):
    """Reach in raw units, the own task of --normalize-observations: a point at x in [-1, 1] (uniform at the reset)
    moves by 0.2 a per step toward the origin, reward -|x|, 10 steps; it is observed as a sensor reports it, in
    millimetres from a far reference, obs = 1000 x + 5000 (4000 to 6000 at the reset).

    Without normalisation the networks' first layers see inputs in the thousands, which saturate the actor's tanh
    from the first step (its gradient vanishes, mu stays at a bound, x runs away: a return near -11); normalised,
    it is Reach in unit scale (a return near -1.5 once learnt).
    """

    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    length, millimetres, origin = 10, 1000.0, 5000.0

    def observe(self) -> np.ndarray:
        return np.array([self.millimetres * self.x + self.origin], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-1, 1)), 0
        return self.observe(), {}

    def step(self, action):
        self.x += 0.2 * float(np.clip(action[0], -1, 1))
        self.t += 1
        return self.observe(), -abs(self.x), False, self.t >= self.length, {}


if "owntask/MillimetreReach-v0" not in gym.registry:
    gym.register("owntask/MillimetreReach-v0", entry_point=MillimetreReach, max_episode_steps=10)
