"""Whether a run fits in memory, estimated from its config before anything is allocated or written.

Without it a buffer of 10^10 transitions ends in a MemoryError, or the kernel's OOM killer, after
the run directory was made. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError

FLOAT32 = 4
# Each online parameter lives in the network, its target, two Adam moments and a gradient, and is
# copied once more to act (NumpyPolicy) and to checkpoint: about eight copies, rounded up to ten.
COPIES_PER_PARAMETER = 10
# Each activation of a batch is kept for the backward pass, in several networks at once.
COPIES_PER_ACTIVATION = 8


def dense_parameters(inputs: int, sizes: Sequence[int]) -> int:
    """Weights and biases of a chain of Dense layers."""
    total = 0
    for units in sizes:
        total += inputs * units + units
        inputs = units
    return total


def footprint(config: DDPGConfig, obs_dim: int, action_dim: int) -> int:
    """Bytes a run needs, roughly: the replay buffer twice (a checkpoint copies it), the networks with their
    optimiser state, and the activations of the update's batches."""
    buffer = config.buffer_capacity * (2 * obs_dim + action_dim + 2) * FLOAT32
    state_out = config.critic_state_hidden[-1] if config.critic_state_hidden else obs_dim
    action_out = config.critic_action_hidden[-1] if config.critic_action_hidden else action_dim
    parameters = (dense_parameters(obs_dim, (*config.actor_hidden, action_dim))
                  + dense_parameters(obs_dim, config.critic_state_hidden)
                  + dense_parameters(action_dim, config.critic_action_hidden)
                  + dense_parameters(state_out + action_out, (*config.critic_hidden, 1)))
    widths = sum(config.actor_hidden) + sum(config.critic_state_hidden) + sum(config.critic_action_hidden) + sum(
        config.critic_hidden)
    activations = config.batch_size * widths * COPIES_PER_ACTIVATION * FLOAT32
    return 2 * buffer + parameters * COPIES_PER_PARAMETER * FLOAT32 + activations


def available_memory() -> int | None:
    """Bytes the machine can give now (Linux's MemAvailable), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(config: DDPGConfig, obs_dim: int, action_dim: int, available: int | None = None) -> None:
    available = available_memory() if available is None else available
    needed = footprint(config, obs_dim, action_dim)
    if available is not None and needed > available:
        raise UserInputError(f"Expected a run that fits in memory: about {needed / 2**30:.1f} GiB for the replay "
                             f"buffer and the networks, with {available / 2**30:.1f} GiB available. Received: "
                             f"buffer_capacity={config.buffer_capacity}, actor_hidden={config.actor_hidden}, "
                             f"critic_hidden={config.critic_hidden}, batch_size={config.batch_size}")
