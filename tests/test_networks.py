"""The actor and critic architectures, and the NumPy policy that acts with the actor's weights."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from ddpg.networks import NumpyPolicy, build_actor, build_critic  # noqa: E402


def test_actor_architecture_is_the_examples():
    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(256, 256))
    dense = [layer for layer in actor.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [256, 256, 1]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "tanh"]
    last = dense[-1].kernel.numpy()
    assert np.abs(last).max() <= 3e-3  # U(-3e-3, 3e-3): starts near the middle of the action range


def test_actor_maps_into_asymmetric_bounds():
    # low + (tanh + 1) / 2 * (high - low): tanh = -1 gives low, tanh = +1 gives high.
    low, high = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)
    actor = build_actor(obs_dim=2, action_low=low, action_high=high, hidden=(8,))
    last = actor.layers[-2]
    kernel, bias = last.get_weights()
    for saturate, expected in ((+1e3, high), (-1e3, low)):
        last.set_weights([np.zeros_like(kernel), np.full_like(bias, saturate)])
        np.testing.assert_allclose(np.asarray(actor(np.zeros((1, 2), np.float32)))[0], expected, rtol=1e-6)
    last.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    # tanh = 0 gives the middle: (-1 + 3) / 2 = 1 and (0 + 0.5) / 2 = 0.25
    np.testing.assert_allclose(np.asarray(actor(np.zeros((1, 2), np.float32)))[0], [1.0, 0.25], rtol=1e-6)


def test_pendulum_actor_is_two_tanh():
    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(16,))
    obs = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    tanh = np.asarray(keras.Model(actor.inputs, actor.layers[-2].output)(obs))
    np.testing.assert_allclose(np.asarray(actor(obs)), 2 * tanh, rtol=1e-6)


def test_critic_architecture_is_the_examples():
    critic = build_critic(obs_dim=3, action_dim=1, state_hidden=(16, 32), action_hidden=(32,), hidden=(256, 256))
    units = sorted(layer.units for layer in critic.layers if isinstance(layer, keras.layers.Dense))
    assert units == sorted([16, 32, 32, 256, 256, 1])
    q = critic([np.zeros((4, 3), np.float32), np.zeros((4, 1), np.float32)])
    assert tuple(q.shape) == (4, 1)


def test_numpy_policy_equals_the_keras_actor():
    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(64, 32))
    # Larger last-layer weights than the initial 3e-3, so that tanh is exercised away from 0.
    last = actor.layers[-2]
    last.set_weights([w * 300 for w in last.get_weights()])
    policy = NumpyPolicy.from_actor(actor)
    obs = np.random.default_rng(1).normal(size=(10, 3)).astype(np.float32)
    np.testing.assert_allclose(policy(obs), np.asarray(actor(obs)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(policy(obs[0]), np.asarray(actor(obs[:1]))[0], rtol=1e-5, atol=1e-6)


def test_saved_actor_loads_with_plain_keras(tmp_path):
    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(8, 8))
    actor.save(tmp_path / "actor.keras")
    loaded = keras.models.load_model(tmp_path / "actor.keras")
    obs = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(np.asarray(loaded(obs)), np.asarray(actor(obs)))


def sequential_actor(*hidden_layers) -> keras.Model:
    obs = keras.Input((3,))
    x = obs
    for layer in hidden_layers:
        x = layer(x)
    x = keras.layers.Dense(1, activation="tanh")(x)
    return keras.Model(obs, keras.layers.Rescaling(2.0)(x))


@pytest.mark.parametrize("hidden_layers, refused", [
    ((keras.layers.Dense(4, activation="relu"), keras.layers.Dropout(0.5)), "Dropout"),
    ((keras.layers.Dense(4, activation="relu"), keras.layers.LayerNormalization()), "LayerNormalization"),
    ((keras.layers.Dense(4, activation="sigmoid"),), "sigmoid"),
    ((keras.layers.Dense(4, activation="relu", use_bias=False),), "Dense"),
])
def test_numpy_policy_refuses_what_it_cannot_mirror(hidden_layers, refused):
    # Skipping a layer would act differently from the saved model; refusing names what it met.
    with pytest.raises(ValueError, match=f"Expected .*Received: .*{refused}"):
        NumpyPolicy.from_actor(sequential_actor(*hidden_layers))


def test_numpy_policy_mirrors_any_dense_chain_it_accepts():
    actor = sequential_actor(keras.layers.Dense(5, activation="relu"), keras.layers.Dense(4, activation="linear"))
    obs = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(NumpyPolicy.from_actor(actor)(obs), np.asarray(actor(obs)), rtol=1e-5, atol=1e-6)
