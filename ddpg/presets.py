"""Named sets of defaults for DDPGConfig: the Keras example's, the paper's, and TD3's "OurDDPG".

A preset only changes defaults: an option given on the command line overrides it, and config.json
records the resolved values, never the preset's name. Standard library only.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # DDPGConfig's own defaults.
    "keras-example": {},
    # Lillicrap et al. (2016), section 7: 400-300 units, the action entering the critic at its second
    # layer, Adam 1e-4 / 1e-3 with L2 1e-2 on the critic, tau 1e-3, batch 64, a buffer of 10^6, OU
    # theta 0.15 and sigma 0.2. Not reproduced: batch normalisation, and the critic's last layer in
    # U(-3e-3, 3e-3) (README, "Deviations").
    "lillicrap2016": {
        "actor_hidden": (400, 300), "critic_state_hidden": (400,), "critic_action_hidden": (),
        "critic_hidden": (300,), "actor_lr": 1e-4, "critic_lr": 1e-3, "critic_weight_decay": 1e-2,
        "tau": 1e-3, "batch_size": 64, "buffer_capacity": 1_000_000, "gamma": 0.99,
        "noise": "ou", "ou_theta": 0.15, "ou_sigma": 0.2,
    },
    # "OurDDPG" of Fujimoto et al. (2018) as CleanRL's ddpg_continuous_action.py runs it: 256-256 with
    # (s, a) joined at the critic's input, Adam 3e-4 for both, batch 256, tau 0.005, Gaussian noise of
    # 0.1 half-ranges, 25,000 uniform random steps before learning, a buffer of 10^6.
    "fujimoto2018": {
        "actor_hidden": (256, 256), "critic_state_hidden": (), "critic_action_hidden": (),
        "critic_hidden": (256, 256), "actor_lr": 3e-4, "critic_lr": 3e-4, "batch_size": 256, "tau": 0.005,
        "gamma": 0.99, "noise": "gaussian", "gaussian_sigma": 0.1, "random_steps": 25_000,
        "learning_starts": 25_000, "buffer_capacity": 1_000_000,
    },
}
DEFAULT_PRESET = "keras-example"
