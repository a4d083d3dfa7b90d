"""The actor and critic architectures, and the NumPy policy that acts with the actor's weights."""

import inspect
import re

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


def randomise_batch_norm(model: keras.Model, rng: np.random.Generator) -> None:
    """Moving statistics, gamma and beta away from their initial 0, 1, 1, 0, so that a mirror which left
    one of them out, or normalised with the batch's own statistics, acts differently."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(scale=2.0, size=size).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.05, 4.0, size=size).astype(np.float32))
            if layer.scale:
                layer.gamma.assign(rng.uniform(0.5, 2.0, size=size).astype(np.float32) * rng.choice([-1, 1], size))
            if layer.center:
                layer.beta.assign(rng.normal(size=size).astype(np.float32))


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_numpy_policy_equals_the_keras_actor(batch_norm):
    keras.utils.set_random_seed(2)
    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(64, 32), batch_norm=batch_norm)
    # Larger last-layer weights than the initial 3e-3, so that tanh is exercised away from 0 (less so after
    # batch normalisation, whose unit-scale activations would saturate it).
    last = actor.layers[-2]
    last.set_weights([w * (30 if batch_norm else 300) for w in last.get_weights()])
    randomise_batch_norm(actor, np.random.default_rng(0))
    policy = NumpyPolicy.from_actor(actor)
    obs = np.random.default_rng(1).normal(size=(10, 3)).astype(np.float32)
    # Inference statistics: the actor called as it acts (training=False, also its default).
    expected = np.asarray(actor(obs, training=False))
    assert np.abs(expected).max() > 0.6 and np.abs(expected).min() < 1.9  # tanh away from 0, not all saturated
    np.testing.assert_allclose(policy(obs), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(policy(obs[0]), np.asarray(actor(obs[:1]))[0], rtol=1e-5, atol=1e-6)
    # Its weights are the actor's, in the order of actor.weights: what the compiled update hands it.
    assert len(policy.weights()) == len(actor.weights)
    for ours, theirs in zip(policy.weights(), actor.weights, strict=True):
        np.testing.assert_array_equal(ours, theirs.numpy())
    if batch_norm:  # with the batch's statistics (which also moves the moving ones), Keras would act otherwise
        assert not np.allclose(np.asarray(actor(obs, training=True)), expected, atol=1e-3)


def test_numpy_policy_acts_with_the_weights_it_is_given():
    # use_weights takes the actor's weights (kernels, biases, gamma, beta, moving mean and variance) in the
    # order of actor.weights, as the update returns them, and acts with them from then on.
    keras.utils.set_random_seed(3)
    actor = build_actor(obs_dim=3, action_low=[-1.0], action_high=[1.0], hidden=(16, 8), batch_norm=True)
    policy = NumpyPolicy.from_actor(actor)
    rng = np.random.default_rng(3)
    randomise_batch_norm(actor, rng)
    actor.layers[-2].set_weights([w * 30 for w in actor.layers[-2].get_weights()])
    obs = rng.normal(size=(7, 3)).astype(np.float32)
    assert not np.allclose(policy(obs), np.asarray(actor(obs)), atol=1e-3)
    policy.use_weights([w.numpy() for w in actor.weights])
    np.testing.assert_allclose(policy(obs), np.asarray(actor(obs)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        policy.use_weights([w.numpy() for w in actor.weights][:-1])


def test_a_saved_actor_with_batch_norm_is_evaluated_with_its_moving_statistics(tmp_path):
    from ddpg.evaluation import load_actor_policy

    actor = build_actor(obs_dim=3, action_low=[-2.0], action_high=[2.0], hidden=(8, 8), batch_norm=True)
    randomise_batch_norm(actor, np.random.default_rng(4))
    actor.save(tmp_path / "actor.keras")
    policy = load_actor_policy(tmp_path, obs_dim=3, action_dim=1)
    obs = np.random.default_rng(5).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(policy(obs), np.asarray(actor(obs, training=False)), rtol=1e-5, atol=1e-6)


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
    *([((keras.layers.Dense(4), keras.layers.BatchNormalization(renorm=True)), "renorm")]
      if "renorm" in inspect.signature(keras.layers.BatchNormalization).parameters else []),
    ((keras.layers.Dense(4), keras.layers.Activation("sigmoid")), "sigmoid"),
    ((keras.layers.BatchNormalization(), keras.layers.Activation("relu"), keras.layers.Dense(4)), "Activation"),
])
def test_numpy_policy_refuses_what_it_cannot_mirror(hidden_layers, refused):
    # Skipping a layer would act differently from the saved model; refusing names what it met.
    with pytest.raises(ValueError, match=f"Expected .*Received: .*{refused}"):
        NumpyPolicy.from_actor(sequential_actor(*hidden_layers))


@pytest.mark.parametrize("hidden_layers", [
    (keras.layers.Dense(5, activation="relu"), keras.layers.Dense(4, activation="linear")),
    # Batch normalisation wherever it stands, with its own epsilon, without gamma or beta.
    (keras.layers.BatchNormalization(epsilon=0.3), keras.layers.Dense(5, activation="relu"),
     keras.layers.BatchNormalization(center=False), keras.layers.Dense(4),
     keras.layers.BatchNormalization(scale=False), keras.layers.Activation("tanh")),
    (keras.layers.BatchNormalization(), keras.layers.BatchNormalization(epsilon=0.5), keras.layers.Dense(6),
     keras.layers.Activation("relu"), keras.layers.Activation("tanh"),
     keras.layers.BatchNormalization(center=False, scale=False, epsilon=1e-5), keras.layers.Dense(4, "relu"),
     keras.layers.Dense(4), keras.layers.BatchNormalization()),
], ids=["dense", "batch-norm", "batch-norm-anywhere"])
def test_numpy_policy_mirrors_any_chain_it_accepts(hidden_layers):
    keras.utils.set_random_seed(6)
    actor = sequential_actor(*hidden_layers)
    randomise_batch_norm(actor, np.random.default_rng(6))
    obs = np.random.default_rng(2).normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(NumpyPolicy.from_actor(actor)(obs), np.asarray(actor(obs)), rtol=1e-5, atol=1e-6)


def layer_bounds(model) -> dict[str, tuple[float, float, int]]:
    """Each Dense layer's largest |kernel| and |bias|, and its fan-in."""
    return {layer.name: (float(np.abs(np.asarray(layer.kernel)).max()), float(np.abs(np.asarray(layer.bias)).max()),
                         layer.kernel.shape[0]) for layer in model.layers if isinstance(layer, keras.layers.Dense)}


@pytest.mark.parametrize("final_layer_init", ["actor", "both", "none"])
def test_fan_in_uniform_draws_weights_and_biases_by_fan_in_and_the_final_layers_as_asked(final_layer_init):
    # U(-1/sqrt(f), 1/sqrt(f)) for kernels and biases (PyTorch's nn.Linear, the paper's hidden layers); the
    # final layers in U(-3e-3, 3e-3): the actor's kernel ("actor"), both networks' kernels and biases ("both").
    options = dict(initializer="fan_in_uniform", final_layer_init=final_layer_init)
    actor = build_actor(obs_dim=5, action_low=[-1.0], action_high=[1.0], hidden=(64, 48), **options)
    critic = build_critic(obs_dim=5, action_dim=2, state_hidden=(64,), action_hidden=(), hidden=(48,), **options)
    small_kernels = {"actor": {"tanh"}, "both": {"tanh", "q"}, "none": set()}[final_layer_init]
    small_biases = {"actor": set(), "both": {"tanh", "q"}, "none": set()}[final_layer_init]
    for name, (kernel, bias, fan_in) in {**layer_bounds(actor), **layer_bounds(critic)}.items():
        bound = 1 / np.sqrt(fan_in)
        if name in small_kernels:
            assert 2e-3 < kernel <= 3e-3, name
        else:
            assert 0.75 * bound < kernel <= bound, name
        if name in small_biases:
            assert 0 < bias <= 3e-3, name
        elif name not in ("tanh", "q"):  # a bias of one value (one action, one Q) may land anywhere in the bound
            assert 0.5 * bound < bias <= bound, name
        else:
            assert 0 < bias <= bound, name
    assert critic.get_layer("joint_0").kernel.shape[0] == 66  # fan-in: the state branch's 64 and the 2 actions


def test_glorot_keeps_zero_biases_and_the_examples_last_actor_layer():
    actor = build_actor(obs_dim=5, action_low=[-1.0], action_high=[1.0], hidden=(64,))
    critic = build_critic(obs_dim=5, action_dim=2, state_hidden=(), action_hidden=(), hidden=(48,))
    for name, (kernel, bias, fan_in) in {**layer_bounds(actor), **layer_bounds(critic)}.items():
        assert bias == 0, name
        if name != "tanh":
            fan_out = (actor if name.startswith("hidden") else critic).get_layer(name).kernel.shape[1]
            assert 0.75 * np.sqrt(6 / (fan_in + fan_out)) < kernel <= np.sqrt(6 / (fan_in + fan_out)), name
    assert layer_bounds(actor)["tanh"][0] <= 3e-3


# --- observation normalisation built into the saved actor (normalize_observations) ----------------------

def normalised_actor(batch_norm: bool = False, obs_dim: int = 3):
    """An actor with weights away from their start, and statistics of observations in raw units (a large offset,
    a large and a tiny scale): (the actor, mean, var, the actor with the normalisation in front)."""
    from ddpg.networks import with_observation_normalization

    keras.utils.set_random_seed(8)
    actor = build_actor(obs_dim=obs_dim, action_low=[-2.0, 0.0], action_high=[2.0, 1.0], hidden=(16, 8),
                        batch_norm=batch_norm)
    randomise_batch_norm(actor, np.random.default_rng(8))
    actor.layers[-2].set_weights([w * 100 for w in actor.layers[-2].get_weights()])
    mean = np.array([5000.0, -3.0, 0.25][:obs_dim])
    var = np.array([1e6, 4.0, 1e-6][:obs_dim])
    return actor, mean, var, with_observation_normalization(actor, mean, var)


def raw_observations(mean, var, count: int = 50) -> np.ndarray:
    """Up to 15 standard deviations either side of the mean: a third of them past the clip at 10."""
    rng = np.random.default_rng(9)
    return (mean + np.sqrt(var) * rng.uniform(-15, 15, (count, len(mean)))).astype(np.float32)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_the_normalisation_in_front_of_the_actor_is_vecnormalizes(batch_norm):
    # s - mean, times 1 / (10 sqrt(var + 1e-8)) gives z / 10, hard_tanh clips it to [-1, 1], Rescaling(10) gives
    # clip(z, -10, 10): the actor's own layers then see normalize(s).
    from ddpg.normalization import normalize

    actor, mean, var, normalised = normalised_actor(batch_norm)
    assert [type(layer).__name__ for layer in normalised.layers[:5]] == [
        "InputLayer", "Rescaling", "Rescaling", "Activation", "Rescaling"]
    assert normalised.layers[5:] == actor.layers[1:]  # flat: the actor's layers themselves, in order
    assert len(normalised.weights) == len(actor.weights)  # the statistics are constants, not weights
    obs = raw_observations(mean, var)
    z = normalize(obs, mean, var)
    assert np.abs(z).max() == 10 and np.abs(z).min() < 1  # some clipped, some not
    np.testing.assert_allclose(np.asarray(normalised(obs)), np.asarray(actor(z)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "batch-norm"])
def test_numpy_policy_mirrors_the_normalisation_in_front(batch_norm):
    from ddpg.normalization import normalize

    actor, mean, var, normalised = normalised_actor(batch_norm)
    policy = NumpyPolicy.from_actor(normalised)
    obs = raw_observations(mean, var)
    np.testing.assert_allclose(policy(obs), np.asarray(normalised(obs)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(policy(obs[0]), np.asarray(normalised(obs[:1]))[0], rtol=1e-5, atol=1e-5)
    # The agent's own policy (no normalisation in it) on normalised observations acts alike.
    np.testing.assert_allclose(policy(obs), NumpyPolicy.from_actor(actor)(normalize(obs, mean, var)), atol=1e-5)


@pytest.mark.slow
def test_a_saved_actor_with_the_normalisation_loads_with_plain_keras_in_a_program_without_ddpg(tmp_path):
    import subprocess
    import sys

    _, mean, var, normalised = normalised_actor()
    normalised.save(tmp_path / "actor.keras")
    obs = raw_observations(mean, var, 5)
    np.save(tmp_path / "obs.npy", obs)
    program = ("import sys, numpy as np, keras; actor = keras.models.load_model(sys.argv[1]); "
               "np.save(sys.argv[3], np.asarray(actor(np.load(sys.argv[2])))); "
               "assert not [m for m in sys.modules if m.split('.')[0] == 'ddpg']")
    done = subprocess.run([sys.executable, "-c", program, str(tmp_path / "actor.keras"), str(tmp_path / "obs.npy"),
                           str(tmp_path / "actions.npy")], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "actions.npy"), np.asarray(normalised(obs)), atol=1e-6)


@pytest.mark.parametrize("prefix, refused", [
    (lambda: [keras.layers.Rescaling(2.0, offset=-1.0), keras.layers.Rescaling(0.1), keras.layers.Activation(
        "hard_tanh"), keras.layers.Rescaling(10.0)], "Rescaling(2.0, offset)"),
    (lambda: [keras.layers.Rescaling(1.0, offset=-1.0), keras.layers.Rescaling(0.1, offset=0.5),
              keras.layers.Activation("hard_tanh"), keras.layers.Rescaling(10.0)], "offset=0.5"),
    (lambda: [keras.layers.Rescaling(1.0, offset=-1.0), keras.layers.Rescaling(0.1), keras.layers.Activation("tanh"),
              keras.layers.Rescaling(10.0)], "Activation(tanh)"),
    (lambda: [keras.layers.Rescaling(1.0, offset=-1.0), keras.layers.Rescaling(0.1),
              keras.layers.Activation("hard_tanh"), keras.layers.Rescaling(10.0, offset=1.0)],
     "Rescaling(10.0, offset=1.0)"),
    (lambda: [keras.layers.Rescaling(1.0, offset=-1.0), keras.layers.Rescaling(0.1), keras.layers.Dense(4)],
     "Rescaling, Rescaling, Dense"),
    (lambda: [keras.layers.Normalization(mean=1.0, variance=4.0)], "Normalization"),
], ids=["centre-scaled", "scale-offset", "not-a-clip", "unclip-offset", "no-clip", "keras-normalization"])
def test_numpy_policy_refuses_a_normalisation_it_cannot_mirror(prefix, refused):
    obs = keras.Input((3,))
    x = obs
    for layer in prefix():
        x = layer(x)
    x = keras.layers.Dense(1, activation="tanh")(keras.layers.Dense(4, activation="relu")(x))
    with pytest.raises(ValueError, match=f"Expected .*Received: .*{re.escape(refused)}"):
        NumpyPolicy.from_actor(keras.Model(obs, keras.layers.Rescaling(2.0)(x)))
