"""The two update formulas of DDPG, written with + - * only.

Arithmetic operators are all these functions use, so the very functions that the tests check on
NumPy arrays run unchanged on TensorFlow tensors and Keras variables inside the compiled update.
There is no second implementation "for the graph". This module imports nothing.
"""


def td_target(reward, next_q, terminated, gamma):
    """Critic target of DDPG (Lillicrap et al. 2016, Algorithm 1).

        y = r + gamma * (1 - d) * Q'(s', mu'(s'))

    d is 1 only where the episode truly terminated; a time-limit truncation still bootstraps.

    Args:
        reward: r, shape [B, 1].
        next_q: Q'(s', mu'(s')) from the target networks, shape [B, 1].
        terminated: d in {0, 1}, shape [B, 1].
        gamma: discount gamma in [0, 1].
    """
    return reward + gamma * (1 - terminated) * next_q


def polyak(target, source, tau):
    """Soft target update (Lillicrap et al. 2016, Algorithm 1).

        theta' <- tau * theta + (1 - tau) * theta'

    tau = 1 copies the source, tau = 0 keeps the target.

    Args:
        target: theta', the target network's parameter.
        source: theta, the online network's parameter, of target's shape.
        tau: tau in [0, 1].
    """
    return tau * source + (1 - tau) * target
