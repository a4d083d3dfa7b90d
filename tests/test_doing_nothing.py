"""docs/mujoco/doing_nothing.py by hand: the middle of the action range at every step, episode i from reset(seed=i),
the rewards summed; and docs/mujoco.md holds its table as it prints."""

import importlib.util
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from helpers import assert_whole_tables_on, printed_tables

PATH = Path(__file__).parent.parent / "docs" / "mujoco" / "doing_nothing.py"
spec = importlib.util.spec_from_file_location("doing_nothing", PATH)
doing_nothing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(doing_nothing)


class Counting(gym.Env):
    """Episode i (reset with seed i) lasts i + 1 steps; each step pays the action's sum."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Box(np.array([-3.0, 0.0], dtype=np.float32), np.array([1.0, 4.0], dtype=np.float32))

    def __init__(self) -> None:
        self.actions: list[np.ndarray] = []

    def reset(self, *, seed=None, options=None):
        self.left = seed + 1
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.actions.append(action)
        self.left -= 1
        return np.zeros(1, dtype=np.float32), float(action.sum()) * 10, self.left == 0, False, {}


def test_the_middle_action_every_step_and_each_episode_from_its_own_seed():
    env = Counting()
    returns, lengths = doing_nothing.doing_nothing(lambda: env, episodes=3)
    # The middle of [-3, 1] x [0, 4] is (-1, 2): 10 a step, for 1, 2 and 3 steps.
    assert returns.tolist() == [10.0, 20.0, 30.0]
    assert lengths.tolist() == [1, 2, 3]
    assert all(action.tolist() == [-1.0, 2.0] and action.dtype == np.float32 for action in env.actions)
    assert len(env.actions) == 6


def test_the_mujoco_page_holds_the_table_as_it_prints(capsys):
    pytest.importorskip("mujoco", reason="MuJoCo is not installed")
    page = (PATH.parents[1] / "mujoco.md").read_text()
    assert "`python docs/mujoco/doing_nothing.py`" in page
    doing_nothing.main()
    printed = capsys.readouterr().out
    assert len(printed_tables(printed)) == 1
    assert_whole_tables_on(page, printed)
