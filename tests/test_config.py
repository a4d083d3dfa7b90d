"""DDPGConfig: the seed's defaults, and a clear error for every value out of range."""

import dataclasses

import pytest

from ddpg.config import DDPGConfig

SEED_DEFAULTS = {
    "env_id": "Pendulum-v1",
    "episodes": 100,
    "seed": 0,
    "gamma": 0.99,
    "tau": 0.005,
    "actor_lr": 0.001,
    "critic_lr": 0.002,
    "buffer_capacity": 50_000,
    "batch_size": 64,
    "ou_theta": 0.15,
    "ou_sigma": 0.2,
    "ou_dt": 0.01,
    "actor_hidden": (256, 256),
    "critic_state_hidden": (16, 32),
    "critic_action_hidden": (32,),
    "critic_hidden": (256, 256),
}


def test_defaults_are_the_keras_examples():
    config = DDPGConfig()
    for name, value in SEED_DEFAULTS.items():
        assert getattr(config, name) == value, name


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DDPGConfig().tau = 0.1


def test_every_field_is_documented():
    for field in dataclasses.fields(DDPGConfig):
        assert field.metadata.get("help"), field.name


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("tau", 1.5, "Expected 0 < tau <= 1. Received: tau=1.5"),
        ("tau", 0.0, "Expected 0 < tau <= 1. Received: tau=0.0"),
        ("gamma", 1.01, "Expected 0 <= gamma <= 1. Received: gamma=1.01"),
        ("gamma", -0.1, "Expected 0 <= gamma <= 1. Received: gamma=-0.1"),
        ("actor_lr", 0.0, "Expected actor_lr > 0. Received: actor_lr=0.0"),
        ("critic_lr", -1e-3, "Expected critic_lr > 0. Received: critic_lr=-0.001"),
        ("episodes", 0, "Expected episodes >= 1. Received: episodes=0"),
        ("episodes", 2.5, "Expected episodes to be an integer. Received: episodes=2.5"),
        ("seed", -1, "Expected seed >= 0. Received: seed=-1"),
        ("buffer_capacity", 0, "Expected buffer_capacity >= 1. Received: buffer_capacity=0"),
        ("batch_size", 0, "Expected batch_size >= 1. Received: batch_size=0"),
        ("ou_theta", -0.15, "Expected ou_theta >= 0. Received: ou_theta=-0.15"),
        ("ou_sigma", -0.2, "Expected ou_sigma >= 0. Received: ou_sigma=-0.2"),
        ("ou_dt", 0.0, "Expected ou_dt > 0. Received: ou_dt=0.0"),
        ("ou_dt", float("nan"), "Expected ou_dt > 0. Received: ou_dt=nan"),
        ("gamma", float("inf"), "Expected 0 <= gamma <= 1. Received: gamma=inf"),
        ("actor_hidden", (), "Expected actor_hidden to be one or more integers >= 1. Received: actor_hidden=()"),
        ("critic_hidden", (256, 0),
         "Expected critic_hidden to be one or more integers >= 1. Received: critic_hidden=(256, 0)"),
        ("env_id", "", "Expected env_id to be a non-empty string. Received: env_id=''"),
    ],
)
def test_out_of_range_names_field_value_and_range(field, value, message):
    with pytest.raises(ValueError) as error:
        DDPGConfig(**{field: value})
    assert str(error.value) == message


def test_theta_dt_must_keep_the_ou_chain_stable():
    # x' = (1 - theta*dt) x + ...: |1 - theta*dt| >= 1 explodes or oscillates.
    with pytest.raises(ValueError, match=r"Expected ou_theta \* ou_dt < 1\. Received: ou_theta=200.0, ou_dt=0.01"):
        DDPGConfig(ou_theta=200.0)


def test_batch_larger_than_buffer_is_refused():
    message = r"Expected batch_size <= buffer_capacity\. Received: batch_size=128, buffer_capacity=100"
    with pytest.raises(ValueError, match=message):
        DDPGConfig(batch_size=128, buffer_capacity=100)


def test_lists_become_tuples_so_the_config_stays_hashable():
    config = DDPGConfig(actor_hidden=[64, 64])
    assert config.actor_hidden == (64, 64)
    hash(config)


def test_bool_is_not_an_integer():
    with pytest.raises(ValueError, match="episodes"):
        DDPGConfig(episodes=True)


def test_update_every_is_a_positive_integer():
    assert DDPGConfig().update_every >= 1
    with pytest.raises(ValueError, match=r"Expected update_every >= 1\. Received: update_every=0"):
        DDPGConfig(update_every=0)
