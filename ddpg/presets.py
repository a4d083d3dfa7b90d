"""Named sets of defaults for DDPGConfig, each reproducing one source, every value cited.

A preset only changes defaults: an option given on the command line overrides it, and config.json
records the resolved values, never the preset's name. tests/test_presets.py pins every value to
the source quoted beside it. Standard library only.

Values the config cannot express, and so not reproduced, are listed in docs/presets.md
("Deviations"), e.g. the paper's 10^-2 weight decay on Q's kernels as we read it, or the TD3
code's exploration noise in absolute units where an action bound is not 1.
"""

from __future__ import annotations

from typing import Any

# The TD3 repository (github.com/sfujim/TD3), at the camera-ready commit of the paper and today.
TD3_PAPER_COMMIT = "bc98e6260e4e35e1a2afc1c78b6925251dd0a1e9"
TD3_RETUNED_COMMIT = "6a9f76101058d674518018ffbb532f5a652c1d37"  # OurDDPG.py
TD3_RETUNED_MAIN_COMMIT = "10a61fa7e7b74fce5bdb1aae206a9a8951b59f25"  # main.py
CLEANRL_COMMIT = "004f8a086a892a2a180f4dd332b90d83a968aa7a"

PRESETS: dict[str, dict[str, Any]] = {
    # DDPGConfig's own defaults: the Keras example "Deep Deterministic Policy Gradient (DDPG)", but ten
    # updates per compiled call (README, "Deviations").
    "keras-example": {},
    # Lillicrap et al. (2016), "Continuous control with deep reinforcement learning", section 7
    # ("Experiment details") and Algorithm 1, low-dimensional case: Adam 1e-4 (mu) and 1e-3 (Q), weight
    # decay 1e-2 on Q, gamma 0.99, tau 1e-3, relu hidden layers, tanh output, 400 and 300 units, the
    # action entering Q at its second layer, final layers' weights and biases from U(-3e-3, 3e-3) and the
    # others from U(-1/sqrt(f), 1/sqrt(f)), batch normalisation on the state input, every layer of mu
    # and every layer of Q before the action, minibatch 64, replay 10^6, OU theta 0.15 and sigma 0.2 per
    # time step (dt = 1, as rllab's OUStrategy of the time), one update per time step.
    "lillicrap2016": {
        "actor_hidden": (400, 300), "critic_state_hidden": (400,), "critic_action_hidden": (),
        "critic_hidden": (300,), "actor_lr": 1e-4, "critic_lr": 1e-3, "critic_weight_decay": 1e-2,
        "gamma": 0.99, "tau": 1e-3, "batch_size": 64, "buffer_capacity": 1_000_000,
        "noise": "ou", "ou_theta": 0.15, "ou_sigma": 0.2, "ou_dt": 1.0,
        "initializer": "fan_in_uniform", "final_layer_init": "both", "batch_norm": True, "update_every": 1,
    },
    # Fujimoto et al. (2018), "Addressing Function Approximation Error in Actor-Critic Methods", Table 1's
    # "OurDDPG": OurDDPG.py at TD3_PAPER_COMMIT (400-300, (s, a) at Q's input, PyTorch's default Adam 1e-3
    # and nn.Linear initialisation, batch 100, gamma 0.99, tau 0.005) and main.py of that time
    # (N(0, 0.1) exploration, 10^4 uniform random steps (the paper's text: 10^4 on HalfCheetah and Ant,
    # 10^3 elsewhere: pass --random-steps 1000 there), a buffer of 10^6, and at each episode's end as
    # many updates as it had steps, from the first episode on). update_every only groups those updates
    # into compiled calls of 50: the same updates on the same batches.
    "ourddpg2018": {
        "actor_hidden": (400, 300), "critic_state_hidden": (), "critic_action_hidden": (),
        "critic_hidden": (400, 300), "actor_lr": 1e-3, "critic_lr": 1e-3, "batch_size": 100, "tau": 0.005,
        "gamma": 0.99, "noise": "gaussian", "gaussian_sigma": 0.1, "random_steps": 10_000,
        "learning_starts": 1, "buffer_capacity": 1_000_000, "update_at_episode_end": True, "update_every": 50,
        "initializer": "fan_in_uniform", "final_layer_init": "none",
    },
    # The TD3 repository's current "Re-tuned version of DDPG": OurDDPG.py at TD3_RETUNED_COMMIT and main.py
    # at TD3_RETUNED_MAIN_COMMIT: 256-256, Adam 3e-4, batch 256, tau 0.005, gamma 0.99, Gaussian noise of 0.1
    # half-ranges, uniform random actions while t < 25e3 and one update per step from t >= 25e3 (t from 0:
    # after our step 25,001), a buffer of 10^6 (utils.py), PyTorch's initialisation.
    "ourddpg-retuned": {
        "actor_hidden": (256, 256), "critic_state_hidden": (), "critic_action_hidden": (),
        "critic_hidden": (256, 256), "actor_lr": 3e-4, "critic_lr": 3e-4, "batch_size": 256, "tau": 0.005,
        "gamma": 0.99, "noise": "gaussian", "gaussian_sigma": 0.1, "random_steps": 25_000,
        "learning_starts": 25_001, "buffer_capacity": 1_000_000, "update_every": 1,
        "initializer": "fan_in_uniform", "final_layer_init": "none",
    },
    # CleanRL's ddpg_continuous_action.py at CLEANRL_COMMIT: the re-tune's networks and rates (256-256, one
    # learning_rate 3e-4, batch 256, tau 0.005, gamma 0.99, exploration_noise 0.1 times the half-range,
    # buffer 10^6), random actions while global_step < 25e3, a critic step when global_step > 25e3 (after
    # our step 25,002) and the actor and both targets when global_step % policy_frequency == 0 with
    # policy_frequency 2 (the 2nd, 4th, ... critic step).
    "cleanrl": {
        "actor_hidden": (256, 256), "critic_state_hidden": (), "critic_action_hidden": (),
        "critic_hidden": (256, 256), "actor_lr": 3e-4, "critic_lr": 3e-4, "batch_size": 256, "tau": 0.005,
        "gamma": 0.99, "noise": "gaussian", "gaussian_sigma": 0.1, "random_steps": 25_000,
        "learning_starts": 25_002, "buffer_capacity": 1_000_000, "update_every": 1, "policy_delay": 2,
        "initializer": "fan_in_uniform", "final_layer_init": "none",
    },
}
DEFAULT_PRESET = "keras-example"

# Names no longer given, and what to use instead. A run written with one still resumes and evaluates:
# config.json holds the values, never the preset's name.
RETIRED_PRESETS = {
    "fujimoto2018": "it held the TD3 repository's later re-tune, not the paper's Table 1 code: use ourddpg2018 "
                    "(the paper's) or ourddpg-retuned (the re-tune)",
}


def check_preset(name: str, received: str | None = None) -> dict[str, Any]:
    """The preset's values; a retired or unknown name raises ValueError saying what to use. `received`:
    how the user gave it (default: --preset NAME)."""
    if name in PRESETS:
        return PRESETS[name]
    received = received or f"--preset {name}"
    expected = f"Expected a preset among {', '.join(sorted(PRESETS))}. Received: {received}"
    raise ValueError(f"{expected}; {RETIRED_PRESETS[name]}" if name in RETIRED_PRESETS else expected)
