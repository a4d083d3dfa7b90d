"""Every preset pinned, value by value, to the source it is named after.

Each table below is written from the source, quoted in its comments, not from ddpg/presets.py: a value
changed in the preset, or a field added to DDPGConfig that a preset leaves at a default the source
contradicts, fails here. Then each preset is run from the command line: config.json holds the
table's values, and the actor it saves starts from the source's initialisation.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ddpg.cli import main
from ddpg.config import DDPGConfig
from ddpg.presets import PRESETS

# Fields a preset leaves to the user: the task, the seed, the budget and the evaluation schedule.
NOT_A_PRESETS = {"env_id", "seed", "episodes", "total_steps", "eval_every", "eval_episodes"}

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


def run_preset(tmp_path, name: str, *options: str) -> tuple[dict, object]:
    """`ddpg train --preset NAME` for 3 steps on a corridor (no update is made: learning starts later or
    at an episode's end, which 3 steps do not reach); config.json and the saved actor's layers."""
    from test_training_loop import corridor

    from ddpg.backend import keras

    out = tmp_path / name
    assert main(["train", "--preset", name, "--env-id", corridor(5, 10), "--total-steps", "3",
                 "--buffer-capacity", "1000", "--out", str(out), "--no-tensorboard", *options]) == 0
    actor = keras.models.load_model(out / "actor.keras")
    return json.loads((out / "config.json").read_text()), actor


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_train_with_a_preset_records_its_values_and_starts_from_its_initialisation(tmp_path, name):
    saved, actor = run_preset(tmp_path, name)
    expected = {**SOURCES[name], "buffer_capacity": 1000}
    for field, value in expected.items():
        assert saved[field] == (list(value) if isinstance(value, tuple) else value), field
    dense = [layer for layer in actor.layers if type(layer).__name__ == "Dense"]
    assert len(dense) == len(SOURCES[name]["actor_hidden"]) + 1
    for layer in dense:
        kernel, bias = (np.asarray(w) for w in (layer.kernel, layer.bias))
        fan_in = kernel.shape[0]
        final = layer is dense[-1]
        if final and saved["final_layer_init"] in ("actor", "both"):  # U(-3e-3, 3e-3)
            assert 2e-3 < np.abs(kernel).max() <= 3e-3, layer.name
        elif saved["initializer"] == "fan_in_uniform":  # U(-1/sqrt(f), 1/sqrt(f)), biases too
            bound = 1 / np.sqrt(fan_in)
            assert 0.8 * bound < np.abs(kernel).max() <= bound, layer.name
        else:  # Glorot uniform: sqrt(6 / (fan_in + fan_out))
            bound = np.sqrt(6 / (fan_in + kernel.shape[1]))
            assert 0.8 * bound < np.abs(kernel).max() <= bound, layer.name
        if final and saved["final_layer_init"] == "both":
            assert 0 < np.abs(bias).max() <= 3e-3, layer.name
        elif saved["initializer"] == "fan_in_uniform":
            assert 0 < np.abs(bias).max() <= 1 / np.sqrt(fan_in), layer.name
        else:
            assert not bias.any(), layer.name
    norms = [layer for layer in actor.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(norms) == (1 + len(SOURCES[name]["actor_hidden"]) if saved["batch_norm"] else 0)


def test_the_papers_critic_starts_its_last_layer_small_and_its_hidden_ones_by_fan_in():
    from ddpg.agent import DDPGAgent

    agent = DDPGAgent(3, [-2.0], [2.0], DDPGConfig(**PRESETS["lillicrap2016"]))
    q = agent.critic.get_layer("q")
    assert 2e-3 < np.abs(np.asarray(q.kernel)).max() <= 3e-3 and 0 < np.abs(np.asarray(q.bias)).max() <= 3e-3
    joint = agent.critic.get_layer("joint_0")  # fan-in 400 + 1: the state branch and the action
    assert joint.kernel.shape[0] == 401
    assert 0.8 / np.sqrt(401) < np.abs(np.asarray(joint.kernel)).max() <= 1 / np.sqrt(401)


@pytest.mark.parametrize("args", [["train", "--preset", "fujimoto2018"],
                                  ["sweep", "--grid", "preset=keras-example,fujimoto2018"]])
def test_fujimoto2018_is_refused_naming_what_it_became(capsys, args):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "fujimoto2018" in err and "ourddpg2018" in err and "ourddpg-retuned" in err


# What `fujimoto2018` held, as runs made with it recorded it (before policy_delay and the other new fields).
FUJIMOTO2018_AS_RECORDED = {
    "actor_hidden": [256, 256], "critic_state_hidden": [], "critic_action_hidden": [], "critic_hidden": [256, 256],
    "actor_lr": 3e-4, "critic_lr": 3e-4, "batch_size": 256, "tau": 0.005, "gamma": 0.99, "noise": "gaussian",
    "gaussian_sigma": 0.1, "random_steps": 25_000, "learning_starts": 25_000, "buffer_capacity": 1_000_000}
NEW_FIELDS = ("policy_delay", "update_at_episode_end", "batch_norm", "initializer", "final_layer_init")


def test_a_run_written_with_fujimoto2018_still_resumes_and_evaluates(tmp_path):
    from test_training_loop import corridor

    out = tmp_path / "old"
    values = {**FUJIMOTO2018_AS_RECORDED, "buffer_capacity": 1000, "random_steps": 4, "learning_starts": 8,
              "batch_size": 8, "actor_hidden": [8], "critic_hidden": [8]}
    config_file = tmp_path / "values.json"
    config_file.write_text(json.dumps(values))
    assert main(["train", "--config", str(config_file), "--env-id", corridor(5, 10), "--episodes", "2",
                 "--out", str(out), "--no-tensorboard"]) == 0
    # As an older version wrote it: no new field in config.json or in the checkpoint's config.
    for path, config_of in ((out / "config.json", lambda d: d), (out / "checkpoint" / "state.json",
                                                                 lambda d: d["config"])):
        document = json.loads(path.read_text())
        for field in NEW_FIELDS:
            del config_of(document)[field]
        path.write_text(json.dumps(document))
    assert main(["train", "--resume", str(out), "--episodes", "3"]) == 0
    assert main(["evaluate", str(out), "--episodes", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["learning_starts"] == 8
