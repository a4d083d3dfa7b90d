"""One compiled update, checked against an independent NumPy computation."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import cancelled_by_batch_norm  # noqa: E402

from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.replay_buffer import Batch  # noqa: E402

pytestmark = pytest.mark.compiled  # the tests compile updates: py310 and py313 run them (conftest.py)

# These two drive TensorFlow itself (a GradientTape, a while loop of any length); on JAX (tox -e jax), the update is
# checked against the TensorFlow one instead (tests/test_jax_backend.py).
TENSORFLOW_ONLY = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="checks TensorFlow's update")

TINY = dict(actor_hidden=(8,), critic_state_hidden=(6,), critic_action_hidden=(6,), critic_hidden=(8,))


def make_agent(low=(-2.0,), high=(2.0,), **overrides):
    keras.utils.set_random_seed(0)
    config = DDPGConfig(**{**TINY, "batch_size": 8, **overrides})
    return DDPGAgent(obs_dim=3, action_low=np.array(low), action_high=np.array(high), config=config)


def fixed_batch(size=8, seed=0):
    rng = np.random.default_rng(seed)
    return Batch(
        obs=rng.normal(size=(size, 3)).astype(np.float32),
        action=rng.uniform(-2, 2, size=(size, 1)).astype(np.float32),
        reward=rng.normal(size=(size, 1)).astype(np.float32),
        next_obs=rng.normal(size=(size, 3)).astype(np.float32),
        terminated=(rng.uniform(size=(size, 1)) < 0.3).astype(np.float32),
    )


def relu(x):
    return np.maximum(x, 0)


def numpy_actor(model, obs):
    """The actor, layer by layer in NumPy: relu hidden layers, tanh, then scale to [-2, 2]."""
    dense = [layer.get_weights() for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    x = obs
    for kernel, bias in dense[:-1]:
        x = relu(x @ kernel + bias)
    kernel, bias = dense[-1]
    return 2.0 * np.tanh(x @ kernel + bias)


def numpy_critic(model, obs, action):
    """The critic in NumPy: obs branch and action branch, concatenated, then the joint layers."""
    def weights(name):
        return model.get_layer(name).get_weights()

    s = relu(obs @ weights("state_0")[0] + weights("state_0")[1])
    a = relu(action @ weights("action_0")[0] + weights("action_0")[1])
    x = relu(np.concatenate([s, a], axis=1) @ weights("joint_0")[0] + weights("joint_0")[1])
    return x @ weights("q")[0] + weights("q")[1]


@pytest.mark.parametrize("update_every", [1, 32], ids=["graph", "xla"])
def test_critic_loss_equals_numpy_forward_computation(update_every):
    # tau = 0.5 and two updates first: the targets have moved away from the online networks, so
    # bootstrapping from mu and Q instead of mu' and Q' gives another loss.
    agent = make_agent(gamma=0.9, tau=0.5, update_every=update_every)
    for seed in (1, 2):
        agent.update(fixed_batch(seed=seed))
    assert not np.allclose(agent.target_critic.weights[-2].numpy(), agent.critic.weights[-2].numpy(), atol=1e-4)
    batch = fixed_batch()
    # y = r + gamma (1 - d) Q'(s', mu'(s')) with the targets as they are before the update
    next_q = numpy_critic(agent.target_critic, batch.next_obs, numpy_actor(agent.target_actor, batch.next_obs))
    y = batch.reward + 0.9 * (1 - batch.terminated) * next_q
    q = numpy_critic(agent.critic, batch.obs, batch.action)
    expected = np.mean((y - q) ** 2)
    metrics = agent.update(batch)
    assert metrics["critic_loss"] == pytest.approx(expected, rel=1e-5)


def test_actor_loss_is_minus_mean_q_with_the_critic_after_its_step():
    # Algorithm 1 steps the critic first, then the actor on -mean Q(s, mu(s)) with that new critic
    # and the actor as it was before its own step.
    agent = make_agent()
    batch = fixed_batch()
    agent.update(fixed_batch(seed=1))  # move off the initial weights, where Q is nearly flat
    actor_before = [w.numpy() for w in agent.actor.weights]
    metrics = agent.update(batch)
    actor_after = [w.numpy() for w in agent.actor.weights]
    agent.actor.set_weights(actor_before)
    expected = -np.mean(numpy_critic(agent.critic, batch.obs, numpy_actor(agent.actor, batch.obs)))
    agent.actor.set_weights(actor_after)
    assert metrics["actor_loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_polyak_in_graph(tau):
    agent = make_agent(tau=tau)
    targets_before = [v.numpy() for v in agent.target_actor.weights + agent.target_critic.weights]
    agent.update(fixed_batch())
    online = [v.numpy() for v in agent.actor.weights + agent.critic.weights]
    targets = [v.numpy() for v in agent.target_actor.weights + agent.target_critic.weights]
    for before, source, after in zip(targets_before, online, targets, strict=True):
        np.testing.assert_allclose(after, tau * source + (1 - tau) * before, rtol=1e-5, atol=1e-7)


def test_tau_zero_keeps_the_targets():
    # DDPGConfig refuses tau = 0 (a target that never moves is a configuration error), so the
    # agent is asked directly for a zero step through the same in-graph function.
    agent = make_agent(tau=1.0)
    agent.tau.assign(0.0)
    targets_before = [v.numpy() for v in agent.target_actor.weights + agent.target_critic.weights]
    agent.update(fixed_batch())
    for before, after in zip(targets_before, agent.target_actor.weights + agent.target_critic.weights, strict=True):
        np.testing.assert_array_equal(after.numpy(), before)


def test_targets_start_equal_to_the_online_networks():
    agent = make_agent()
    for target, online in ((agent.target_actor, agent.actor), (agent.target_critic, agent.critic)):
        for t, o in zip(target.weights, online.weights, strict=True):
            np.testing.assert_array_equal(t.numpy(), o.numpy())


def test_update_is_traced_once():
    agent = make_agent()
    for seed in range(5):
        agent.update(fixed_batch(seed=seed))
    assert agent.tracing_count() == 1


def test_update_moves_both_networks_and_is_float32():
    agent = make_agent()
    actor_before = [v.numpy() for v in agent.actor.trainable_weights]
    critic_before = [v.numpy() for v in agent.critic.trainable_weights]
    agent.update(fixed_batch())
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(actor_before, agent.actor.trainable_weights,
                                                                 strict=True))
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(critic_before, agent.critic.trainable_weights,
                                                                strict=True))
    assert all(v.dtype == "float32" for v in agent.actor.weights + agent.critic.weights)


def test_the_acting_policy_follows_the_actor_after_updates():
    agent = make_agent()
    obs = np.array([0.3, -0.2, 1.0], np.float32)
    for seed in range(3):
        agent.update(fixed_batch(seed=seed))
    np.testing.assert_allclose(agent.policy(obs), np.asarray(agent.actor(obs[None]))[0], rtol=1e-5, atol=1e-6)
    assert agent.policy(obs).shape == (1,)


def stack(batches):
    return Batch(*(np.stack(column) for column in zip(*batches, strict=True)))


@pytest.mark.parametrize("update_every, batch_norm", [(1, False), (4, False), (4, True)],
                         ids=["graph", "xla", "xla-batch-norm"])
def test_k_updates_in_one_call_equal_k_single_updates(update_every, batch_norm):
    # update_many runs the very update step K times in one compiled call: same weights as K calls.
    batches = [fixed_batch(seed=seed) for seed in range(4)]
    one_by_one = make_agent(update_every=update_every, batch_norm=batch_norm)
    at_once = make_agent(update_every=update_every, batch_norm=batch_norm)
    for batch in batches:
        last = one_by_one.update(batch)
    metrics = at_once.update_many(stack(batches))
    networks = ("actor", "critic", "target_actor", "target_critic")
    for name in networks:
        for a, b in zip(getattr(one_by_one, name).weights, getattr(at_once, name).weights, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    assert metrics["critic_loss"] == pytest.approx(last["critic_loss"], rel=1e-4)
    assert metrics["actor_loss"] == pytest.approx(last["actor_loss"], rel=1e-4)
    np.testing.assert_allclose(at_once.policy(np.ones(3, np.float32)), one_by_one.policy(np.ones(3, np.float32)),
                               rtol=1e-5, atol=1e-6)


@TENSORFLOW_ONLY
def test_update_many_is_traced_once_whatever_k():
    agent = make_agent()
    for k in (1, 3, 3, 5):
        agent.update_many(stack([fixed_batch(seed=s) for s in range(k)]))
    agent.update(fixed_batch())
    assert agent.tracing_count() == 1


@TENSORFLOW_ONLY
@pytest.mark.parametrize("shape", [
    {},  # the Keras example's critic: state and action branches
    {"critic_state_hidden": (), "critic_action_hidden": (), "critic_weight_decay": 0.05},  # (s, a) joined, L2
    {"critic_state_hidden": (6,), "critic_action_hidden": ()},  # the paper's: the action enters at layer 2
    {"critic_state_hidden": (6,), "critic_action_hidden": (), "batch_norm": True},  # and its batch normalisation
], ids=["branches", "joined-with-l2", "action-at-layer-2", "batch-norm"])
def test_one_update_is_algorithm_1_written_out(shape):
    """The compiled update against Algorithm 1 written out eagerly here, line by line, with the test's own
    losses, its own Adam optimisers at the config's learning rates and NumPy Polyak averaging.

    Started from an agent that has trained (targets away from the online networks, Adam's moments
    non-zero) and compared on all four networks, it fails on a wrong network, a wrong sign, a wrong
    learning rate, a step left out or the steps in another order. With batch normalisation, each network
    learns on the batch's statistics (training=True) where it takes its own step, and is used with its moving
    ones elsewhere (the targets, the critic in the actor's step); Polyak averaging moves every weight of the
    targets, the moving statistics too.
    """
    import tensorflow as tf

    config = dict(gamma=0.9, tau=0.3, actor_lr=0.01, critic_lr=0.03, **shape)
    decay = shape.get("critic_weight_decay", 0.0)
    agent, reference = make_agent(**config), make_agent(**config)
    warm_up = [fixed_batch(seed=seed) for seed in (1, 2)]
    for batch in warm_up:
        agent.update(batch)
    # The reference's optimisers are its own, so it starts from a fresh agent and replays the warm-up.
    critic_adam = keras.optimizers.Adam(config["critic_lr"])
    actor_adam = keras.optimizers.Adam(config["actor_lr"])

    def reference_update(batch):
        s, a, r, s2, d = (tf.constant(column) for column in batch)
        y = r + 0.9 * (1 - d) * reference.target_critic([s2, reference.target_actor(s2)])
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((y - reference.critic([s, a], training=True)) ** 2)
            # Weight decay on the critic's kernels, not its biases: lambda/2 sum ||W||^2
            loss += decay / 2 * sum(tf.reduce_sum(layer.kernel ** 2) for layer in reference.critic.layers
                                if isinstance(layer, keras.layers.Dense))
        variables = reference.critic.trainable_variables
        critic_adam.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(reference.critic([s, reference.actor(s, training=True)]))
        variables = reference.actor.trainable_variables
        actor_adam.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        for target, online in ((reference.target_actor, reference.actor), (reference.target_critic, reference.critic)):
            for t, o in zip(target.weights, online.weights, strict=True):
                t.assign(0.3 * o.numpy() + 0.7 * t.numpy())

    for batch in warm_up:
        reference_update(batch)
    agent.update(fixed_batch())
    reference_update(fixed_batch())
    for name in ("actor", "critic", "target_actor", "target_critic"):
        network = getattr(agent, name)
        cancelled = cancelled_by_batch_norm(network)  # agree to about 1e-3 only: helpers.py says why
        assert bool(cancelled) == shape.get("batch_norm", False)
        for i, (ours, theirs) in enumerate(zip(network.variables, getattr(reference, name).variables, strict=True)):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-3 if i in cancelled else 1e-5,
                                       err_msg=f"{name} {ours.path}")



def snapshot(agent) -> dict[str, list[np.ndarray]]:
    return {name: [np.array(w) for w in getattr(agent, name).weights]
            for name in ("actor", "critic", "target_actor", "target_critic")}


def same(before: list[np.ndarray], after: list[np.ndarray]) -> bool:
    return all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("update_every", [1, 3], ids=["graph", "xla"])
def test_a_delayed_policy_steps_the_actor_and_targets_after_every_second_critic_step(update_every):
    """policy_delay 2 (CleanRL's policy_frequency): critic steps 1, 2, 3, ...; the actor's Adam step and both
    targets' Polyak step after critic steps 2, 4, ... only, each exactly as without a delay."""
    tau = 0.3
    agent = make_agent(policy_delay=2, tau=tau, actor_lr=0.01, critic_lr=0.03, update_every=update_every)
    start = snapshot(agent)
    losses = agent.update(fixed_batch(seed=1))  # critic step 1: nothing else moves
    first = snapshot(agent)
    assert not same(start["critic"], first["critic"])
    for name in ("actor", "target_actor", "target_critic"):
        assert same(start[name], first[name]), name
    assert int(agent.actor_optimizer.iterations) == 0
    # The loss reported is J of the actor as it stands, through the critic after its step.
    obs = fixed_batch(seed=1).obs
    q = agent.critic([obs, np.asarray(agent.actor(obs))])
    assert losses["actor_loss"] == pytest.approx(-float(np.mean(q)), rel=1e-5)

    agent.update(fixed_batch(seed=2))  # critic step 2: then the actor, then both targets
    second = snapshot(agent)
    assert not same(first["actor"], second["actor"]) and int(agent.actor_optimizer.iterations) == 1
    for target, online in (("target_actor", "actor"), ("target_critic", "critic")):
        for t, o, t_new in zip(first[target], second[online], second[target], strict=True):
            np.testing.assert_allclose(t_new, tau * o + (1 - tau) * t, rtol=1e-5, atol=1e-6, err_msg=target)

    batches = Batch(*(np.stack(column) for column in zip(*(fixed_batch(seed=s) for s in (3, 4, 5)), strict=True)))
    agent.update_many(batches)  # critic steps 3, 4, 5: one actor step, after the 4th
    assert (int(agent.critic_optimizer.iterations), int(agent.actor_optimizer.iterations)) == (5, 2)
    np.testing.assert_allclose(agent.policy(obs), np.asarray(agent.actor(obs)), rtol=1e-5, atol=1e-6)


def test_without_a_delay_the_actor_steps_with_every_critic_step():
    agent = make_agent(update_every=3)
    batches = Batch(*(np.stack(column) for column in zip(*(fixed_batch(seed=s) for s in (3, 4, 5)), strict=True)))
    agent.update_many(batches)
    assert (int(agent.critic_optimizer.iterations), int(agent.actor_optimizer.iterations)) == (3, 3)


NETWORKS = ("actor", "critic", "target_actor", "target_critic")


def everything(agent) -> dict[str, list[np.ndarray]]:
    """Every variable of the four networks: weights and moving statistics."""
    return {name: [v.numpy() for v in getattr(agent, name).variables] for name in NETWORKS}


def test_with_batch_norm_the_update_learns_on_batch_statistics_and_acts_on_the_moving_ones():
    agent = make_agent(batch_norm=True, tau=0.3)
    for seed in (1, 2):  # the targets' weights and moving statistics away from the online networks'
        agent.update(fixed_batch(seed=seed))
    batch = fixed_batch()
    before = everything(agent)
    agent.update(batch)
    after = everything(agent)
    # Each online network normalised the batch's states with their own statistics in its step, and moved its
    # moving statistics toward them: m <- momentum m + (1 - momentum) mean(s), v likewise with var(s).
    for network in (agent.actor, agent.critic):
        norm = network.get_layer("obs_norm")
        mean, variance = (before[network.name][[id(v) for v in network.variables].index(id(w))]
                          for w in (norm.moving_mean, norm.moving_variance))
        momentum = norm.momentum
        np.testing.assert_allclose(norm.moving_mean.numpy(), momentum * mean + (1 - momentum) * batch.obs.mean(0),
                                   rtol=1e-5, atol=1e-6, err_msg=network.name)
        np.testing.assert_allclose(norm.moving_variance.numpy(),
                                   momentum * variance + (1 - momentum) * batch.obs.var(0), rtol=1e-5, atol=1e-6,
                                   err_msg=network.name)
        for statistic in network.non_trainable_variables:  # every layer's, not only the input's
            i = [id(v) for v in network.variables].index(id(statistic))
            assert not np.array_equal(before[network.name][i], statistic.numpy()), statistic.path
    # The targets, used in inference (their statistics untouched by the forward pass), then Polyak-averaged:
    # every variable, the moving statistics too, moved by exactly tau of its gap to the online network's.
    for target, online in (("target_actor", "actor"), ("target_critic", "critic")):
        assert len(after[target]) > len(getattr(agent, target).trainable_variables)
        for theta_before, theta, theta_after in zip(before[target], after[online], after[target], strict=True):
            np.testing.assert_allclose(theta_after - theta_before, 0.3 * (theta - theta_before), rtol=1e-4,
                                       atol=1e-6, err_msg=target)
    # Acting: the moving statistics (inference), never the batch's.
    obs = fixed_batch(seed=5).obs
    acted = np.asarray(agent.actor(obs, training=False))
    np.testing.assert_allclose(agent.policy(obs), acted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(agent.policy(obs[0]), acted[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(agent.actor(obs, training=True)), acted, atol=1e-4)


def test_with_batch_norm_between_delayed_actor_steps_the_actor_loss_is_j_in_inference():
    agent = make_agent(policy_delay=2, batch_norm=True)
    batch = fixed_batch()
    before = everything(agent)
    skipped = agent.update(batch)  # the 1st critic step: no actor step, no target update
    after = everything(agent)
    for name in ("actor", "target_actor", "target_critic"):
        for b, a in zip(before[name], after[name], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
    # J = -mean Q(s, mu(s)) with both networks as they act: inference, their moving statistics.
    action = np.asarray(agent.actor(batch.obs, training=False))
    expected = -np.mean(np.asarray(agent.critic([batch.obs, action], training=False)))
    assert skipped["actor_loss"] == pytest.approx(expected, rel=1e-5)
    agent.update(batch)  # the 2nd: the actor's step and the targets'
    assert not all(np.array_equal(a, b) for a, b in zip(after["actor"], everything(agent)["actor"], strict=True))


def test_a_saved_actor_with_batch_norm_acts_as_the_policy(tmp_path):
    # actor.keras, as training writes it (the actor itself) and as it writes the best one (weights the policy
    # acted with earlier): plain Keras loads either, and it acts with the moving statistics, as the policy did.
    agent = make_agent(batch_norm=True)
    for seed in range(3):
        agent.update(fixed_batch(seed=seed))
    obs = fixed_batch(seed=9).obs
    acted, weights = agent.policy(obs), agent.policy.weights()
    agent.save_actor(tmp_path / "actor.keras")
    agent.update(fixed_batch(seed=4))
    assert not np.allclose(agent.policy(obs), acted, atol=1e-5)
    agent.save_actor(tmp_path / "best_actor.keras", weights=weights)
    for name in ("actor.keras", "best_actor.keras"):
        loaded = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(np.asarray(loaded(obs)), acted, rtol=1e-5, atol=1e-6, err_msg=name)
    agent.save_actor(tmp_path / "now.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "now.keras")(obs)), agent.policy(obs),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_checkpoint_holds_the_moving_statistics():
    # get_state / set_state round trip: a restored agent acts and learns exactly as the one it was taken from.
    agent = make_agent(batch_norm=True)
    for seed in range(3):
        agent.update(fixed_batch(seed=seed))
    state = agent.get_state()
    statistics = sum(len(getattr(agent, name).non_trainable_variables) for name in NETWORKS)
    assert statistics == 4 * 2 * 2  # per network, two batch-normalised layers (TINY), each a mean and a variance
    restored = make_agent(batch_norm=True)  # built from the same seed: only the checkpoint tells them apart
    restored.set_state(state)
    obs = fixed_batch(seed=9).obs
    np.testing.assert_array_equal(restored.policy(obs), agent.policy(obs))
    for name, values in everything(agent).items():
        for ours, theirs in zip(everything(restored)[name], values, strict=True):
            np.testing.assert_array_equal(ours, theirs, err_msg=name)
    assert restored.update(fixed_batch(seed=3)) == agent.update(fixed_batch(seed=3))
    for name, values in everything(agent).items():
        for ours, theirs in zip(everything(restored)[name], values, strict=True):
            np.testing.assert_array_equal(ours, theirs, err_msg=name)
