"""DDPG (Lillicrap et al. 2016) on Keras 3 with the TensorFlow backend.

Importing `ddpg` loads no framework: the pure parts (config, noise, replay buffer, targets) are
NumPy or nothing; the networks, the agent and training load Keras, TensorFlow and Gymnasium only
when imported themselves.
"""

from ddpg.config import DDPGConfig

__all__ = ["DDPGConfig"]
__version__ = "0.1.0"
