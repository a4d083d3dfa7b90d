"""What an actor that has learned nothing can score on Table 1's environments: the middle of the action range at every
step, for 10 episodes from reset(seed=0) to reset(seed=9), the return summed as the queue's evaluations sum it.

Table 1's statistic is a maximum over evaluations. Where doing nothing scores near or above Table 1's value, an actor
that stands still reaches that value, and the statistic cannot tell it from one that learned (docs/mujoco.md).

    python docs/mujoco/doing_nothing.py        # the table docs/mujoco.md holds
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

ENVIRONMENTS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "InvertedPendulum-v5", "InvertedDoublePendulum-v5",
                "Ant-v5", "Reacher-v5")
EPISODES = 10


def doing_nothing(make_env: Callable[[], gym.Env], episodes: int = EPISODES) -> tuple[np.ndarray, np.ndarray]:
    """Each episode's return and length with the action (low + high) / 2 at every step; episode i from reset(seed=i)."""
    env = make_env()
    middle = ((env.action_space.low + env.action_space.high) / 2).astype(env.action_space.dtype)
    returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=int)
    for episode in range(episodes):
        env.reset(seed=episode)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(middle)
            returns[episode] += float(reward)
            lengths[episode] += 1
            done = terminated or truncated
    env.close()
    return returns, lengths


def main() -> None:
    print(f"| environment | return of the middle action, mean ± std over {EPISODES} episodes | steps per episode |")
    print("| --- | ---: | ---: |")
    for env_id in ENVIRONMENTS:
        returns, lengths = doing_nothing(lambda env_id=env_id: gym.make(env_id))
        print(f"| {env_id} | {returns.mean():.2f} ± {returns.std():.2f} | {lengths.mean():.1f} |")


if __name__ == "__main__":
    main()
