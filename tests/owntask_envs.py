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
