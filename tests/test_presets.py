"""Every preset pinned, value by value, to the source it is named after.

Each table below is written from the source, quoted in its comments, not from ddpg/presets.py: a value
changed in the preset, or a field added to DDPGConfig that a preset leaves at a default the source
contradicts, fails here. tests/test_preset_runs.py runs each one. NumPy and the command line's parsing
only: no TensorFlow (mutmut runs these on ddpg/presets.py).
"""

from __future__ import annotations

import dataclasses

import pytest

from ddpg.cli import main
from ddpg.config import DDPGConfig
from ddpg.presets import PRESETS, check_preset

# Fields a preset leaves to the user: the task and its arguments, the seed, the budget and the evaluation schedule.
# normalize_observations too: no source normalises observations, and no preset sets it.
NOT_A_PRESETS = {"env_id", "env_kwargs", "seed", "episodes", "total_steps", "eval_every", "eval_episodes",
                 "normalize_observations"}

SOURCES = {
    # The Keras example "Deep Deterministic Policy Gradient (DDPG)" (keras.io/examples/rl/ddpg_pendulum),
    # its cells as the mission statement lists them: actor 256-256, critic state 16-32 and action 32
    # branches then 256-256, Adam 0.002 / 0.001, gamma 0.99, tau 0.005, buffer 50,000, batch 64,
    # OU theta 0.15, sigma 0.2, dt 1e-2, the actor's last kernel in U(-3e-3, 3e-3), Keras's Glorot
    # elsewhere. One update after every step there; ten at a time here (README, "Deviations").
    "keras-example": dict(
        actor_hidden=(256, 256), critic_state_hidden=(16, 32), critic_action_hidden=(32,),
        critic_hidden=(256, 256), actor_lr=0.001, critic_lr=0.002, gamma=0.99, tau=0.005,
        buffer_capacity=50_000, batch_size=64, noise="ou", ou_theta=0.15, ou_sigma=0.2, ou_dt=0.01,
        gaussian_sigma=0.1, critic_weight_decay=0.0, initializer="glorot", final_layer_init="actor",
        batch_norm=False, update_every=10, update_at_episode_end=False, policy_delay=1, random_steps=0,
        learning_starts=64),
    # Lillicrap et al. 2016, section 7: "learning rate of 10^-4 and 10^-3 for the actor and critic
    # respectively. For Q we included L2 weight decay of 10^-2 and used a discount factor of 0.99. For
    # the soft target updates we used tau = 0.001 ... rectified non-linearity for all hidden layers. The
    # final output layer of the actor was a tanh layer ... 2 hidden layers with 400 and 300 units ...
    # Actions were not included until the 2nd hidden layer of Q. The final layer weights and biases of
    # both the actor and critic were initialized from a uniform distribution [-3e-3, 3e-3] ... The other
    # layers were initialized from uniform distributions [-1/sqrt(f), 1/sqrt(f)] where f is the fan-in
    # of the layer ... minibatch sizes of 64 ... replay buffer size of 10^6 ... Ornstein-Uhlenbeck
    # process with theta = 0.15 and sigma = 0.2"; section 3: "batch normalization on the state input
    # and all layers of the mu network and all layers of the Q network prior to the action input";
    # Algorithm 1: one minibatch update per time step. The OU process read per time step (dt = 1).
    "lillicrap2016": dict(
        actor_hidden=(400, 300), critic_state_hidden=(400,), critic_action_hidden=(), critic_hidden=(300,),
        actor_lr=1e-4, critic_lr=1e-3, gamma=0.99, tau=1e-3, buffer_capacity=1_000_000, batch_size=64,
        noise="ou", ou_theta=0.15, ou_sigma=0.2, ou_dt=1.0, gaussian_sigma=0.1, critic_weight_decay=1e-2,
        initializer="fan_in_uniform", final_layer_init="both", batch_norm=True, update_every=1,
        update_at_episode_end=False, policy_delay=1, random_steps=0, learning_starts=64),
    # Fujimoto et al. 2018, Table 1's "OurDDPG": sfujim/TD3 OurDDPG.py at bc98e62: nn.Linear(state_dim,
    # 400), (400, 300), (300, action_dim) for the actor, nn.Linear(state_dim + action_dim, 400), (400,
    # 300), (300, 1) for the critic (PyTorch's default initialisation), torch.optim.Adam(...) with its
    # default lr 1e-3 for both, train(..., batch_size=100, discount=0.99, tau=0.005); main.py of that
    # time: expl_noise 0.1 (np.random.normal(0, 0.1)), start_timesteps 1e4 of env.action_space.sample(),
    # policy.train(replay_buffer, episode_timesteps, ...) when an episode is done, from the first one
    # (total_timesteps != 0); utils.ReplayBuffer's max_size 1e6.
    "ourddpg2018": dict(
        actor_hidden=(400, 300), critic_state_hidden=(), critic_action_hidden=(), critic_hidden=(400, 300),
        actor_lr=1e-3, critic_lr=1e-3, gamma=0.99, tau=0.005, buffer_capacity=1_000_000, batch_size=100,
        noise="gaussian", gaussian_sigma=0.1, ou_theta=0.15, ou_sigma=0.2, ou_dt=0.01, critic_weight_decay=0.0,
        initializer="fan_in_uniform", final_layer_init="none", batch_norm=False, update_every=50,
        update_at_episode_end=True, policy_delay=1, random_steps=10_000, learning_starts=1),
    # sfujim/TD3 OurDDPG.py at 6a9f761 ("Re-tuned version of DDPG"): 256-256 both, Adam lr=3e-4 both,
    # discount 0.99, tau 0.005; main.py at 10a61fa: start_timesteps 25e3 (random while t < 25e3, train
    # once per step when t >= 25e3, t counted from 0), expl_noise 0.1 * (max_action - min_action) / 2,
    # batch_size 256; utils.py: max_size int(1e6).
    "ourddpg-retuned": dict(
        actor_hidden=(256, 256), critic_state_hidden=(), critic_action_hidden=(), critic_hidden=(256, 256),
        actor_lr=3e-4, critic_lr=3e-4, gamma=0.99, tau=0.005, buffer_capacity=1_000_000, batch_size=256,
        noise="gaussian", gaussian_sigma=0.1, ou_theta=0.15, ou_sigma=0.2, ou_dt=0.01, critic_weight_decay=0.0,
        initializer="fan_in_uniform", final_layer_init="none", batch_norm=False, update_every=1,
        update_at_episode_end=False, policy_delay=1, random_steps=25_000, learning_starts=25_001),
    # vwxyzjn/cleanrl cleanrl/ddpg_continuous_action.py at 004f8a0: learning_rate 3e-4 (both Adams),
    # buffer_size 1e6, gamma 0.99, tau 0.005, batch_size 256, exploration_noise 0.1 (times action_scale,
    # the half-range), learning_starts 25e3 (random while global_step < 25e3; a critic step while
    # global_step > 25e3), policy_frequency 2 (actor and targets when global_step % 2 == 0), 256-256
    # networks with (s, a) concatenated at fc1, PyTorch's default initialisation.
    "cleanrl": dict(
        actor_hidden=(256, 256), critic_state_hidden=(), critic_action_hidden=(), critic_hidden=(256, 256),
        actor_lr=3e-4, critic_lr=3e-4, gamma=0.99, tau=0.005, buffer_capacity=1_000_000, batch_size=256,
        noise="gaussian", gaussian_sigma=0.1, ou_theta=0.15, ou_sigma=0.2, ou_dt=0.01, critic_weight_decay=0.0,
        initializer="fan_in_uniform", final_layer_init="none", batch_norm=False, update_every=1,
        update_at_episode_end=False, policy_delay=2, random_steps=25_000, learning_starts=25_002),
}


def test_every_preset_has_its_source_and_no_other():
    assert set(PRESETS) == set(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_preset_holds_every_value_of_its_source(name):
    config = dataclasses.asdict(DDPGConfig(**PRESETS[name]))
    pinned = {field: value for field, value in config.items() if field not in NOT_A_PRESETS}
    assert pinned == SOURCES[name]


def test_cleanrls_schedule_counts_its_global_step_from_zero():
    # global_step g (from 0) acts at our step g + 1: random while g < 25e3 is our steps 1-25,000; a critic
    # step while g > 25e3 is from our step 25,002; the actor when g is even is our odd steps from
    # 25,003: the 2nd, 4th, ... critic step, which policy_delay 2 counts.
    first_critic_step = next(g for g in range(30_000) if g > 25_000) + 1
    first_actor_step = next(g for g in range(30_000) if g > 25_000 and g % 2 == 0) + 1
    assert PRESETS["cleanrl"]["learning_starts"] == first_critic_step == 25_002
    assert first_actor_step - first_critic_step + 1 == PRESETS["cleanrl"]["policy_delay"]


@pytest.mark.parametrize("args", [["train", "--preset", "fujimoto2018"],
                                  ["sweep", "--grid", "preset=keras-example,fujimoto2018"]])
def test_fujimoto2018_is_refused_naming_what_it_became(capsys, args):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "fujimoto2018" in err and "ourddpg2018" in err and "ourddpg-retuned" in err
    # The list of presets names ourddpg2018 and ourddpg-retuned anyway: what it became is said after it.
    assert err.endswith("; it held the TD3 repository's later re-tune, not the paper's Table 1 code: use ourddpg2018 "
                        "(the paper's) or ourddpg-retuned (the re-tune)")


def test_a_retired_preset_is_named_as_retired_and_an_unknown_one_is_not():
    among = "Expected a preset among cleanrl, keras-example, lillicrap2016, ourddpg-retuned, ourddpg2018"
    retired = ("it held the TD3 repository's later re-tune, not the paper's Table 1 code: use ourddpg2018 (the "
               "paper's) or ourddpg-retuned (the re-tune)")
    for name, received, message in [
            ("fujimoto2018", None, f"{among}. Received: --preset fujimoto2018; {retired}"),
            ("fujimoto2018", "--grid preset=fujimoto2018", f"{among}. Received: --grid preset=fujimoto2018; {retired}"),
            ("nope", None, f"{among}. Received: --preset nope")]:
        with pytest.raises(ValueError) as error:
            check_preset(name, received)
        assert str(error.value) == message
    assert check_preset("cleanrl") is PRESETS["cleanrl"]
