"""DDPGAgent: the actor, the critic, their targets, and one compiled update (Lillicrap et al. 2016)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ddpg.backend import keras, tf
from ddpg.config import DDPGConfig
from ddpg.losses import actor_loss, critic_loss
from ddpg.networks import NumpyPolicy, build_actor, build_critic
from ddpg.replay_buffer import Batch
from ddpg.targets import polyak, td_target

# XLA fuses the update's few hundred small ops into a handful of kernels, but each XLA call also
# copies every variable in and out. Measured on 2 cores, batch 64, whole training step: with 50
# updates per call, 1.1-1.6 ms per step with XLA against 1.9-2.0 without; with one update per
# call, 4.8-4.9 ms with XLA against 4.5-4.6 without. So XLA from this many updates per call on:
XLA_FROM_UPDATES_PER_CALL = 2


class _FlatTwin:
    """Flat float32 variables that the compiled update uses, mirroring Keras variables that everything else
    uses (reading or setting weights, saving, `variables()` for a checkpoint). Attributes not defined
    here are the Keras object's, brought up to date first; whichever side was written last is copied to
    the other before the other is used.
    """

    _keras: object  # the Keras model or optimizer
    shapes: list[tuple[int, ...]]
    sizes: list[int]

    def _pairs(self) -> list[tuple[tf.Variable, list]]:
        """(flat variable, the Keras variables it holds end to end)."""
        raise NotImplementedError

    @staticmethod
    def flatten(weights) -> np.ndarray:
        return np.concatenate([np.asarray(w, np.float32).reshape(-1) for w in weights])

    def unflatten(self, vector: np.ndarray) -> list[np.ndarray]:
        """NumPy views of the kernels and biases in a flat vector, in the order of `model.weights`."""
        return [part.reshape(shape) for part, shape in zip(np.split(vector, np.cumsum(self.sizes)[:-1]),
                                                            self.shapes, strict=True)]

    def mark_written(self) -> None:
        """The flat side was written (by an eager step, or by a compiled call: not while it is traced)."""
        if not tf.inside_function():
            self._newer = "flat"

    def sync(self) -> None:
        """Make the flat side equal to the Keras side if that was handed out since (eagerly only: while
        tracing this runs once, so `DDPGAgent` syncs before every compiled call)."""
        if getattr(self, "_newer", None) == "keras" and not tf.inside_function():
            for flat, variables in self._pairs():
                flat.assign(self.flatten([v.numpy() for v in variables]))
            self._newer = None

    def keras_side(self):
        """The Keras object, made equal to the flat side (which then follows it, should it be written)."""
        if getattr(self, "_newer", None) == "flat":
            for flat, variables in self._pairs():
                for variable, value in zip(variables, self.unflatten(flat.numpy()), strict=True):
                    variable.assign(value)
        self._newer = "keras"
        return self._keras

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("shapes", "sizes"):
            raise AttributeError(name)
        return getattr(self.keras_side(), name)


class FlatNetwork(_FlatTwin):
    """A Keras network whose parameters live in one flat float32 variable, which the update reads and writes.

    The compiled update then captures one variable per network instead of one per kernel and bias
    (14 in all instead of 78): Adam and Polyak become a few ops over a whole network instead of a few
    per weight. The forward pass is the Keras model's own (`stateless_call` on slices of the flat
    vector), so there is no second copy of the networks. The weights come out bit for bit as with the
    per-weight variables (docs/speed_levers.md has the figures).
    """

    def __init__(self, model: keras.Model) -> None:
        if model.non_trainable_variables:
            raise ValueError(f"Expected a network of trainable weights only. Received: {model.name} with "
                             f"{len(model.non_trainable_variables)} non-trainable variables")
        self._keras = model
        self.shapes = [tuple(w.shape) for w in model.trainable_variables]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.parameters = tf.Variable(self.flatten([w.numpy() for w in model.trainable_variables]),
                                      name=f"{model.name}_flat")

    def _pairs(self) -> list[tuple[tf.Variable, list]]:
        return [(self.parameters, self._keras.trainable_variables)]

    @property
    def model(self) -> keras.Model:
        return self.keras_side()

    def __call__(self, inputs, training: bool = False):
        outputs, _ = self._keras.stateless_call(self._weights(), [], inputs, training=training)
        return outputs

    def kernels(self) -> list[tf.Tensor]:
        """The weight matrices W of its layers (not their biases), read from the flat variable."""
        weights, variables = self._weights(), self._keras.trainable_variables
        index = [next(i for i, v in enumerate(variables) if v is layer.kernel)
                 for layer in self._keras.layers if hasattr(layer, "kernel")]
        return [weights[i] for i in index]

    def _weights(self) -> list[tf.Tensor]:
        self.sync()
        values = tf.split(self.parameters, self.sizes)
        return [tf.reshape(value, shape) for value, shape in zip(values, self.shapes, strict=True)]


class FlatAdam(_FlatTwin):
    """Adam over flat variables, the very arithmetic of `keras.optimizers.Adam.update_step`:

        m <- m + (g - m) (1 - beta_1),  v <- v + (g^2 - v) (1 - beta_2),
        theta <- theta - alpha m / (sqrt(v) + epsilon),  alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t),

    one op each over a whole network (tests/test_agent.py checks it bit for bit against Keras's Adam).
    Its step counter and learning rate are the Keras optimizer's own variables; its moments m and v are
    flat twins of the optimizer's.
    """

    def __init__(self, optimizer: keras.optimizers.Adam, network: FlatNetwork) -> None:
        variables = network._keras.trainable_variables
        optimizer.build(variables)
        self._keras, self.network = optimizer, network
        self.shapes, self.sizes = network.shapes, network.sizes
        index = optimizer._get_variable_index
        self._slots = ([optimizer._momentums[index(v)] for v in variables],
                       [optimizer._velocities[index(v)] for v in variables])
        zeros = np.zeros_like(network.parameters.numpy())
        self.momentum = tf.Variable(zeros, name=f"{network._keras.name}_momentum")
        self.velocity = tf.Variable(zeros, name=f"{network._keras.name}_velocity")

    def _pairs(self) -> list[tuple[tf.Variable, list]]:
        return [(self.momentum, self._slots[0]), (self.velocity, self._slots[1])]

    @property
    def optimizer(self) -> keras.optimizers.Adam:
        return self.keras_side()

    def minimize_with(self, gradient) -> None:
        """One Adam step on the network's flat parameters down `gradient` (their shape)."""
        self.sync()
        optimizer, m, v, theta = self._keras, self.momentum, self.velocity, self.network.parameters
        lr = tf.cast(optimizer.learning_rate, tf.float32)
        local_step = tf.cast(optimizer.iterations + 1, tf.float32)
        beta_1_power = tf.pow(tf.cast(optimizer.beta_1, tf.float32), local_step)
        beta_2_power = tf.pow(tf.cast(optimizer.beta_2, tf.float32), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m.assign_add((gradient - m) * (1 - optimizer.beta_1))
        v.assign_add((tf.square(gradient) - v) * (1 - optimizer.beta_2))
        theta.assign_sub((m * alpha) / (tf.sqrt(v) + optimizer.epsilon))
        optimizer.iterations.assign_add(1)
        self.mark_written()
        self.network.mark_written()


class DDPGAgent:
    """The learner: networks mu, Q, mu', Q', their optimisers and the compiled update; `policy` is mu in
    NumPy, kept equal to the actor after every update, for acting (ddpg.exploration).

    Args:
        obs_dim: length of an observation s.
        action_low, action_high: the action bounds, shape [action_dim].
        config: the hyperparameters.
    """

    def __init__(self, obs_dim: int, action_low: ArrayLike, action_high: ArrayLike, config: DDPGConfig) -> None:
        self.action_low = np.asarray(action_low, np.float32).reshape(-1)
        self.action_high = np.asarray(action_high, np.float32).reshape(-1)
        action_dim = len(self.action_low)
        self.config, self.obs_dim, self._snapshot = config, obs_dim, None

        def actor(name: str) -> keras.Model:
            return build_actor(obs_dim, self.action_low, self.action_high, config.actor_hidden, name=name)

        def critic(name: str) -> keras.Model:
            return build_critic(obs_dim, action_dim, config.critic_state_hidden, config.critic_action_hidden,
                                config.critic_hidden, name=name)

        self.actor, self.critic = FlatNetwork(actor("actor")), FlatNetwork(critic("critic"))
        self.target_actor = FlatNetwork(actor("target_actor"))
        self.target_critic = FlatNetwork(critic("target_critic"))
        self.move_targets(1.0)  # theta' <- theta (Algorithm 1): polyak with tau = 1 copies exactly

        self.actor_optimizer = keras.optimizers.Adam(config.actor_lr)
        self.critic_optimizer = keras.optimizers.Adam(config.critic_lr)
        # Built here (by FlatAdam) so that the compiled update creates no variables when it is traced.
        self.actor_optimizer = FlatAdam(self.actor_optimizer, self.actor)
        self.critic_optimizer = FlatAdam(self.critic_optimizer, self.critic)
        self.gamma = keras.Variable(config.gamma, dtype="float32", trainable=False, name="gamma")
        self.tau = keras.Variable(config.tau, dtype="float32", trainable=False, name="tau")

        self.policy = NumpyPolicy.from_actor(self.actor)
        # The L2 term is left out of the graph entirely when its weight is 0 (the default).
        self._decay_kernels = bool(config.critic_weight_decay)

        # Two entry points into the same _update_step: one batch [B, ...], and K batches stacked as
        # [K, B, ...] run by a tf.while_loop. Without XLA the loop costs 0.4 ms per call (about 9 %
        # of a step with update_every = 1), so one update per call skips it. B and K are left open
        # so that nothing ever retraces.
        batch_spec = [tf.TensorSpec((None, dim), tf.float32) for dim in (obs_dim, action_dim, 1, obs_dim, 1)]
        stacked_spec = [tf.TensorSpec((None, *spec.shape), tf.float32) for spec in batch_spec]
        jit_compile = config.update_every >= XLA_FROM_UPDATES_PER_CALL
        # No AutoGraph: the update's loop is an explicit tf.while_loop and its Python branches are on
        # Python values, so there is nothing to convert; converting cost 0.3 s of every run's start-up
        # (trace 0.67 against 0.36 s, fresh processes, K = 10).
        options = {"jit_compile": jit_compile, "autograph": False}
        self._traced = {"one": tf.function(self._one_update, input_signature=batch_spec, **options),
                        "many": tf.function(self._update_loop, input_signature=stacked_spec, **options)}
        self._compiled = {}

    def update(self, batch: Batch) -> dict[str, float]:
        """One critic step, one actor step and the soft target updates, in one compiled call.

        Returns the critic loss mean((y - Q(s, a))^2) and the actor loss -mean(Q(s, mu(s))).
        """
        return self._run("one", batch)

    def update_many(self, batches: Batch) -> dict[str, float]:
        """K updates in one compiled call, over K batches stacked as [K, B, ...].

        The same as K calls of `update`, without K times the per-call overhead. Returns the losses
        of the last update.
        """
        if len(batches.obs) == 1:
            return self._run("one", Batch(*(column[0] for column in batches)))
        return self._run("many", batches)

    def _run(self, which: str, batch: Batch) -> dict[str, float]:
        for part in self._parts():
            part.sync()  # weights or moments set through Keras since the last call
        if which not in self._compiled:
            # Called as its one concrete function: tf.function's own dispatch (binding the arguments,
            # checking its captured variables) cost 1.3-1.8 ms per call here, more than an update.
            self._compiled[which] = self._traced[which].get_concrete_function()
        critic_loss, actor_loss, actor_parameters = self._compiled[which](*batch)
        for part in self._parts():
            part.mark_written()
        self.policy.use_weights(self.actor.unflatten(actor_parameters.numpy()))
        return {"critic_loss": float(critic_loss), "actor_loss": float(actor_loss)}

    def _parts(self) -> tuple:
        return (self.actor, self.critic, self.target_actor, self.target_critic, self.actor_optimizer,
                self.critic_optimizer)

    def save_actor(self, path, weights: list[np.ndarray] | None = None) -> None:
        """Save mu as a .keras file that plain `keras.models.load_model` loads; with `weights` (in the order
        of `actor.weights`), an actor of the same shape holding those instead."""
        if weights is None:
            self.actor.save(path)
            return
        if self._snapshot is None:  # built once: nothing draws from Keras's generator after __init__ anyway
            self._snapshot = build_actor(self.obs_dim, self.action_low, self.action_high, self.config.actor_hidden)
        self._snapshot.set_weights(weights)
        self._snapshot.save(path)

    def variables(self) -> dict[str, keras.Variable]:
        """Every variable a checkpoint must hold: the four networks and both optimisers' state."""
        owners = {"actor": self.actor, "critic": self.critic, "target_actor": self.target_actor,
                  "target_critic": self.target_critic, "actor_optimizer": self.actor_optimizer,
                  "critic_optimizer": self.critic_optimizer}
        return {f"{owner}/{i}": variable for owner, holder in owners.items()
                for i, variable in enumerate(holder.variables)}

    def get_state(self) -> dict[str, np.ndarray]:
        return {name: variable.numpy() for name, variable in self.variables().items()}

    def set_state(self, arrays: dict[str, np.ndarray]) -> None:
        variables = self.variables()
        if set(arrays) != set(variables):
            raise ValueError(f"Expected the variables of this agent's networks and optimisers ({len(variables)}). "
                             f"Received: {len(arrays)} arrays, e.g. {sorted(set(arrays) ^ set(variables))[:3]} differ")
        for name, variable in variables.items():
            if tuple(arrays[name].shape) != tuple(variable.shape):
                raise ValueError(f"Expected {name} of shape {tuple(variable.shape)}. "
                                 f"Received: shape {arrays[name].shape}")
            variable.assign(arrays[name])
        self.policy.use_weights([w.numpy() for w in self.actor.weights])

    def tracing_count(self) -> int:
        """How often an update function has been traced at most: 1 after any calls, or it is retracing."""
        return max(traced.experimental_get_tracing_count() for traced in self._traced.values())

    def _one_update(self, obs, action, reward, next_obs, terminated):
        critic_loss, actor_loss = self._update_step(obs, action, reward, next_obs, terminated)
        return critic_loss, actor_loss, self._actor_parameters()

    def _update_loop(self, obs, action, reward, next_obs, terminated):
        def one_update(k, critic_loss, actor_loss):
            return (k + 1, *self._update_step(obs[k], action[k], reward[k], next_obs[k], terminated[k]))

        nan = tf.constant(float("nan"))
        _, critic_loss, actor_loss = tf.while_loop(lambda k, *_: k < tf.shape(obs)[0], one_update,
                                                   (tf.constant(0), nan, nan))
        return critic_loss, actor_loss, self._actor_parameters()

    def _actor_parameters(self) -> tf.Tensor:
        # The new actor weights come back with the losses, as one vector (one copy to the host): reading
        # the variables from outside the graph would cost more than the forward pass they feed.
        return tf.identity(self.actor.parameters)

    def _update_step(self, obs, action, reward, next_obs, terminated):
        """One update of Algorithm 1: its three lines, in its order."""
        critic_loss = self.critic_step(obs, action, reward, next_obs, terminated)
        actor_loss = self.actor_step(obs)
        self.move_targets(self.tau)
        return critic_loss, actor_loss

    def critic_step(self, obs, action, reward, next_obs, terminated):
        """"Update critic by minimizing the loss" L = 1/N sum_i (y_i - Q(s_i, a_i))^2, with the targets

            y_i = r_i + gamma (1 - d_i) Q'(s_{i+1}, mu'(s_{i+1})),

        one Adam step on the critic's variables. Returns L. Eager or in a graph; `update` compiles it.
        """
        y = td_target(reward, self.target_critic([next_obs, self.target_actor(next_obs)]), terminated, self.gamma)
        with tf.GradientTape() as tape:
            loss = critic_loss(y, self.critic([obs, action], training=True),
                               self.critic.kernels() if self._decay_kernels else [], self.config.critic_weight_decay)
        self.critic_optimizer.minimize_with(tape.gradient(loss, self.critic.parameters))
        return loss

    def actor_step(self, obs):
        """"Update the actor policy using the sampled policy gradient": one Adam step on the actor's
        variables down J = -1/N sum_i Q(s_i, mu(s_i)), through the critic as it is now (after its
        own step). Returns J.
        """
        with tf.GradientTape() as tape:
            loss = actor_loss(self.critic([obs, self.actor(obs, training=True)]))
        self.actor_optimizer.minimize_with(tape.gradient(loss, self.actor.parameters))
        return loss

    def move_targets(self, tau) -> None:
        """"Update the target networks": theta' <- tau theta + (1 - tau) theta' for both, through the very
        polyak() the tests check."""
        for target, source in ((self.target_actor, self.actor), (self.target_critic, self.critic)):
            target.sync()
            source.sync()
            target.parameters.assign(polyak(target.parameters, source.parameters, tau))
            target.mark_written()
