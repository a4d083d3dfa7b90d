"""DDPG (Lillicrap et al. 2016) on Keras 3 with the TensorFlow backend.

Importing `ddpg` loads no framework: the pure parts (config, noise, replay buffer, targets) are
NumPy or nothing; the networks, the agent and training load Keras, TensorFlow and Gymnasium only
when imported themselves.
"""

import os

# Defaults only (a user's own setting wins), set before any submodule can load Keras: the
# TensorFlow backend, and no TensorFlow C++ INFO banners on every run. Nothing is imported here.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ddpg.config import DDPGConfig  # noqa: E402

__all__ = ["DDPGConfig", "EarlyStopping", "evaluate", "load_policy", "train"]

# Loaded on first use (PEP 562): training and evaluation import Gymnasium, and their callers pay for it then.
_LAZY = {"train": "ddpg.training", "evaluate": "ddpg.evaluation", "load_policy": "ddpg.policy",
         "EarlyStopping": "ddpg.callbacks"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ddpg' has no attribute {name!r}")
__version__ = "0.1.0"
