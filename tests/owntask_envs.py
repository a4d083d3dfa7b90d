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
