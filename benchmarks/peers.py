"""The peers, built from our config: SBX's DDPG (JAX, `sbx-rl`) and Stable-Baselines3's (PyTorch).

Shared by the training-step benchmarks that run them beside ours (test_train_step_peers_benchmarks.py, each in
its own test; test_train_step_paired_benchmarks.py, alternated with ours round by round). Each is skipped, with
the reason, where it is not installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from ddpg.config import DDPGConfig

INSTALL = "pip install -e '.[peers]'"


def peer_module(module: str, what: str) -> ModuleType:
    """The peer's module; a skip with the reason where it is not installed.

    An installed peer that fails to import fails the test: importorskip alone would turn a broken
    install (tensorflow_probability imported after TensorFlow wants tf_keras, see conftest) into
    a silent skip.
    """
    if importlib.util.find_spec(module) is not None:
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{what} is not installed ({INSTALL}); the peer comparison needs it")


def torch_on_the_cores() -> None:
    """PyTorch with one thread per core this process may use, as TensorFlow and XLA have by default."""
    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def peer_kwargs(config: DDPGConfig, env: gym.Env) -> dict[str, Any]:
    """The DDPG arguments shared by SBX and SB3, from our config."""
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    action_dim = env.action_space.shape[0]
    # SB3 and SBX add the noise to the action scaled to [-1, 1]; ours adds OU noise in action units, and
    # Gaussian noise in half-ranges, as they do.
    half_range = float(np.mean((env.action_space.high - env.action_space.low) / 2))
    if config.noise == "gaussian":
        noise = NormalActionNoise(np.zeros(action_dim), np.full(action_dim, config.gaussian_sigma))
    else:
        noise = OrnsteinUhlenbeckActionNoise(np.zeros(action_dim), np.full(action_dim, config.ou_sigma / half_range),
                                             theta=config.ou_theta, dt=config.ou_dt)
    return {"learning_rate": config.actor_lr, "buffer_size": config.buffer_capacity,
            # Ours waits for one batch (DDPGConfig.learning_starts, where the config has it).
            "learning_starts": getattr(config, "learning_starts", None) or config.batch_size,
            "batch_size": config.batch_size, "tau": config.tau,
            "gamma": config.gamma, "train_freq": config.update_every, "gradient_steps": config.update_every,
            "action_noise": noise, "seed": config.seed, "device": "cpu",
            "policy_kwargs": {"net_arch": {"pi": list(config.actor_hidden), "qf": list(config.critic_hidden)}}}


def without_log_folders(model):
    """The model with a logger that writes nowhere: without one, SB3 (and SBX, built on it) makes an empty folder
    SB3-<time> in the temporary directory at every learn()."""
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def sbx_ddpg(config: DDPGConfig, env: gym.Env):
    sbx = peer_module("sbx", "SBX (sbx-rl, JAX)")
    torch_on_the_cores()  # SBX's replay buffer is SB3's, on PyTorch
    return without_log_folders(sbx.DDPG("MlpPolicy", env, qf_learning_rate=config.critic_lr,
                                        **peer_kwargs(config, env)))


def sb3_ddpg(config: DDPGConfig, env: gym.Env):
    sb3 = peer_module("stable_baselines3", "Stable-Baselines3 (PyTorch)")
    torch_on_the_cores()

    class DDPG(sb3.DDPG):
        """SB3's DDPG with the critic's own learning rate: SB3 sets one rate on both optimisers
        before every `train`, so the critic's is put back after it."""

        def _update_learning_rate(self, optimizers) -> None:
            super()._update_learning_rate(optimizers)
            for group in self.critic.optimizer.param_groups:
                group["lr"] = config.critic_lr

    return without_log_folders(DDPG("MlpPolicy", env, **peer_kwargs(config, env)))
