"""A Pendulum whose observation turns NaN at its 250th step overall, for the bad-input tests."""

import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv


class NaNAfter(PendulumEnv):
    bad_step = 250

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total_steps = 0

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        self.total_steps += 1
        if self.total_steps == self.bad_step:
            obs = np.full_like(obs, np.nan)
        return obs, reward, terminated, truncated, info
