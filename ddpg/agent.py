"""DDPGAgent: the actor, the critic, their targets, and one compiled update (Lillicrap et al. 2016)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ddpg.backend import keras, tf
from ddpg.config import DDPGConfig
from ddpg.losses import actor_loss, critic_loss
from ddpg.networks import NumpyPolicy, build_actor, build_critic, with_observation_normalization
from ddpg.replay_buffer import Batch
from ddpg.targets import polyak, td_target

# XLA fuses the update's few hundred small ops into a handful of kernels, but each XLA call also
# copies every variable in and out: faster with many updates per call, slower with one (measured in
# docs/performance.md, "XLA only pays with several updates per call"). So XLA from this many on:
XLA_FROM_UPDATES_PER_CALL = 2
# Inside a block of steps (run_steps), the update as a nested XLA call or as plain graph ops: measured in
# docs/speed_levers.md ("Steps in the graph").
XLA_UPDATE_IN_STEPS = False


class StepsTaken(NamedTuple):
    """What `DDPGAgent.run_steps` did: steps taken, updates made, the sums of their losses (float64, as Python
    sums them), the last update's losses (nan before any), and what host_step raised (None if nothing)."""

    steps: int
    updates: int
    critic_loss_sum: float
    actor_loss_sum: float
    critic_loss: float
    actor_loss: float
    error: BaseException | None


# host_step(actor weights) -> (the batch to learn from after this step, or None; whether the block ends here)
HostStep = Callable[[list[np.ndarray]], tuple[Batch | None, bool]]


def network_options(config: DDPGConfig) -> dict:
    """The networks' form beyond their widths: initialisation and batch normalisation."""
    return {"initializer": config.initializer, "final_layer_init": config.final_layer_init,
            "batch_norm": config.batch_norm}


class DDPGAgent:
    """The learner: networks mu, Q, mu', Q', their optimisers and the compiled update; `policy` is mu in
    NumPy, kept equal to the actor after every update, for acting (ddpg.exploration).

    With batch_norm (the paper's section 3), each online network is called in training mode only in its own
    step: the critic on (s, a) in the critic's step, the actor on s in the actor's. There it normalises with
    the batch's statistics and moves its moving mean and variance toward them (Keras's momentum, 0.99).
    Everywhere else a network is in inference mode and normalises with its moving statistics: the critic
    through which the actor's gradient flows, the actor's loss between delayed actor steps, acting (`policy`),
    evaluation and the saved actor.keras. The target networks are only ever in inference mode, with their own
    moving statistics, which are Polyak-averaged toward the online networks' with their weights
    (`move_targets` averages every variable): theta' <- tau theta + (1 - tau) theta' for gamma, beta, the
    moving mean and the moving variance alike. Checkpoints hold the moving statistics of all four networks.

    Args:
        obs_dim: length of an observation s.
        action_low, action_high: the action bounds, shape [action_dim].
        config: the hyperparameters.
    """

    def __init__(self, obs_dim: int, action_low: ArrayLike, action_high: ArrayLike, config: DDPGConfig) -> None:
        self.action_low = np.asarray(action_low, np.float32).reshape(-1)
        self.action_high = np.asarray(action_high, np.float32).reshape(-1)
        action_dim = len(self.action_low)
        self.config, self.obs_dim, self._snapshot, self._read_all = config, obs_dim, None, None
        # Set by ddpg.vectorized_update while it holds this agent's state newer than its variables: called (by
        # write_back_pending) before anything reads or writes them.
        self.pending_write_back: Callable[[], None] | None = None

        def critic(name: str) -> keras.Model:
            return build_critic(obs_dim, action_dim, config.critic_state_hidden, config.critic_action_hidden,
                                config.critic_hidden, name=name, **network_options(config))

        actor = self._build_actor

        self.actor, self.critic = actor("actor"), critic("critic")
        self.target_actor, self.target_critic = actor("target_actor"), critic("target_critic")
        self.move_targets(1.0)  # theta' <- theta (Algorithm 1): polyak with tau = 1 copies exactly

        self.actor_optimizer = keras.optimizers.Adam(config.actor_lr)
        self.critic_optimizer = keras.optimizers.Adam(config.critic_lr)
        # Built here so that the compiled update creates no variables when it is traced.
        self.actor_optimizer.build(self.actor.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)
        self.gamma = keras.Variable(config.gamma, dtype="float32", trainable=False, name="gamma")
        self.tau = keras.Variable(config.tau, dtype="float32", trainable=False, name="tau")

        self.policy = NumpyPolicy.from_actor(self.actor)
        # The L2 term is left out of the graph entirely when its weight is 0 (the default).
        self._decayed_kernels = [layer.kernel for layer in self.critic.layers if hasattr(layer, "kernel")
                                 ] if config.critic_weight_decay else []

        self._prepare_update(obs_dim, action_dim)

    def _prepare_update(self, obs_dim: int, action_dim: int) -> None:
        self._jax = None
        if keras.backend.backend() == "jax":  # the option (ddpg.jax_update); everything below is TensorFlow's
            from ddpg.jax_update import JaxUpdate

            self._jax = JaxUpdate(self)
            return
        # Two entry points into the same _update_step: one batch [B, ...], and K batches stacked as
        # [K, B, ...] run by a tf.while_loop. Without XLA the loop costs a fixed time per call (measured in
        # docs/performance.md, "Per-call overhead"), so one update per call skips it. B and K are left
        # open so that nothing ever retraces.
        batch_spec = [tf.TensorSpec((None, dim), tf.float32) for dim in (obs_dim, action_dim, 1, obs_dim, 1)]
        stacked_spec = [tf.TensorSpec((None, *spec.shape), tf.float32) for spec in batch_spec]
        jit_compile = self.config.update_every >= XLA_FROM_UPDATES_PER_CALL
        # No AutoGraph: the update's loop is an explicit tf.while_loop and its Python branches are on
        # Python values, so there is nothing to convert; converting cost start-up time in every run
        # (docs/performance.md, "Start-up and the whole run").
        options = {"jit_compile": jit_compile, "autograph": False}
        self._traced = {"one": tf.function(self._one_update, input_signature=batch_spec, **options),
                        "many": tf.function(self._update_loop, input_signature=stacked_spec, **options)}
        self._compiled = {}
        self._host_step: HostStep | None = None
        self._host_error: BaseException | None = None
        self._batch_spec = batch_spec
        self._no_batch = tuple(np.zeros((0, spec.shape[1]), np.float32) for spec in batch_spec)  # a step without update
        self._steps = tf.function(self._steps_loop, input_signature=[tf.TensorSpec((), tf.int32)], autograph=False)

    @property
    def runs_steps(self) -> bool:
        """Whether `run_steps` can run here: on TensorFlow (JAX's per-call cost is small already)."""
        return self._jax is None

    def _build_actor(self, name: str) -> keras.Model:
        return build_actor(self.obs_dim, self.action_low, self.action_high, self.config.actor_hidden, name=name,
                           **network_options(self.config))

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

    def write_back_pending(self) -> None:
        """A state held elsewhere (ddpg.vectorized_update's stacked seeds) into the variables, if any is."""
        if self.pending_write_back is not None:
            self.pending_write_back()

    def _run(self, which: str, batch: Batch) -> dict[str, float]:
        self.write_back_pending()
        run = self._jax.run if self._jax is not None else self._run_tensorflow
        critic_loss, actor_loss, actor_weights = run(which, batch)
        self.policy.use_weights(actor_weights)
        return {"critic_loss": critic_loss, "actor_loss": actor_loss}

    def _run_tensorflow(self, which: str, batch: Batch) -> tuple[float, float, list[np.ndarray]]:
        if which not in self._compiled:
            # Called as its one concrete function: tf.function's own dispatch (binding the arguments,
            # checking every captured variable) cost more than an update (docs/performance.md, "Per-call
            # overhead").
            self._compiled[which] = self._traced[which].get_concrete_function()
        critic_loss, actor_loss, *actor_weights = self._compiled[which](*batch)
        return float(critic_loss), float(actor_loss), [w.numpy() for w in actor_weights]

    def run_steps(self, host_step: HostStep, limit: int) -> StepsTaken:
        """Up to `limit` environment steps in one TensorFlow call, each followed by its update (one update per
        step, as update_every = 1): Python enters TensorFlow once per block of steps, not once per step.

        Each step, the graph hands the actor's weights to host_step (tf.numpy_function), which acts, steps the
        environment and stores the transition in NumPy as `Trainer.explore` does, and returns the batch to learn
        from (None: no update yet) and whether the block ends after this step; the update then runs in the graph
        before the next step's action. Order and arithmetic are those of a `step` and an `update` per step.
        An exception in host_step ends the block at that step (its update not made) and is returned in `error`,
        for the caller to raise once it has counted the steps before it.
        """
        self._host_step, self._host_error = host_step, None
        try:
            steps, _, updates, critic_sum, actor_sum, critic_last, actor_last, *weights = self._steps(
                tf.constant(limit))
        finally:
            self._host_step = None
        self.policy.use_weights([w.numpy() for w in weights])
        return StepsTaken(int(steps), int(updates), float(critic_sum), float(actor_sum), float(critic_last),
                          float(actor_last), self._host_error)

    def _call_host_step(self, *weights: np.ndarray) -> tuple:
        """The graph's call into Python for one step: the batch as five arrays (empty without an update), whether
        to update, whether the block ends."""
        try:
            # Copies: the arrays TensorFlow lends here are its tensors' buffers, reused after the call.
            batch, ends = self._host_step([np.array(w) for w in weights])
        except BaseException as error:  # noqa: BLE001 (raised again by run_steps, outside the graph)
            self._host_error = error
            return (*self._no_batch, False, True)
        if batch is None:
            return (*self._no_batch, False, bool(ends))
        return (*(np.asarray(column, np.float32) for column in batch), True, bool(ends))

    def _steps_loop(self, limit):
        float64 = tf.float64
        nan = tf.constant(float("nan"))
        step_update = (tf.function(self._update_step, jit_compile=True, autograph=False) if XLA_UPDATE_IN_STEPS
                       else self._update_step)

        def one_step(i, _, updates, critic_sum, actor_sum, critic_last, actor_last, *weights):
            *batch, learn, ends = tf.numpy_function(self._call_host_step, weights, [tf.float32] * 5 + [tf.bool] * 2,
                                                    stateful=True)
            for column, spec in zip(batch, self._batch_spec, strict=True):
                column.set_shape(spec.shape)

            def update():
                critic_loss, actor_loss = step_update(*batch)
                return (updates + 1, critic_sum + tf.cast(critic_loss, float64),
                        actor_sum + tf.cast(actor_loss, float64), critic_loss, actor_loss)

            def no_update():
                return updates, critic_sum, actor_sum, critic_last, actor_last

            learned = tf.cond(learn, update, no_update)
            with tf.control_dependencies(learned):  # the next step acts with the weights after this update
                weights = [tf.identity(w) for w in self._actor_weights()]
            return (i + 1, tf.reshape(ends, ()), *learned, *weights)

        zero = tf.constant(0.0, float64)
        start = (tf.constant(0), tf.constant(False), tf.constant(0), zero, zero, nan, nan, *self._actor_weights())
        return tf.while_loop(lambda i, ends, *_: tf.logical_and(i < limit, tf.logical_not(ends)), one_step, start)

    def save_actor(self, path, weights: list[np.ndarray] | None = None, statistics: dict | None = None) -> None:
        """Save mu as a .keras file that plain `keras.models.load_model` loads; with `weights` (in the order
        of `actor.weights`), an actor of the same shape holding those instead. With observation `statistics`
        ({mean, var, ...}: normalize_observations), the normalisation with them in front (with_observation_
        normalization), so that the file maps raw observations to mu(normalize(s))."""
        self.write_back_pending()
        if weights is None and statistics is None:
            self.actor.save(path)
            return
        if self._snapshot is None:  # built once: nothing draws from Keras's generator after __init__ anyway
            self._snapshot = self._build_actor("actor")
        self._snapshot.set_weights([w.numpy() for w in self.actor.weights] if weights is None else weights)
        if statistics is None:
            self._snapshot.save(path)
            return
        with_observation_normalization(self._snapshot, statistics["mean"], statistics["var"]).save(path)

    def variables(self) -> dict[str, keras.Variable]:
        """Every variable a checkpoint must hold: the four networks and both optimisers' state."""
        self.write_back_pending()
        owners = {"actor": self.actor, "critic": self.critic, "target_actor": self.target_actor,
                  "target_critic": self.target_critic, "actor_optimizer": self.actor_optimizer,
                  "critic_optimizer": self.critic_optimizer}
        return {f"{owner}/{i}": variable for owner, holder in owners.items()
                for i, variable in enumerate(holder.variables)}

    def get_state(self) -> dict[str, np.ndarray]:
        """A copy of every variable (ddpg.run_state keeps one at each episode's start). On TensorFlow one compiled
        call reads them all: a .numpy() each costs ten times as much (docs/performance.md)."""
        variables = self.variables()
        if self._jax is not None:
            return {name: variable.numpy() for name, variable in variables.items()}
        if self._read_all is None:
            held = [variable.value for variable in variables.values()]
            self._read_all = tf.function(lambda: [tf.identity(value) for value in held],
                                         autograph=False).get_concrete_function()
        return {name: value.numpy() for name, value in zip(variables, self._read_all(), strict=True)}

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

    @property
    def jax_update(self):
        """The update compiled by JAX (ddpg.jax_update.JaxUpdate) on Keras's JAX backend; None on TensorFlow."""
        return self._jax

    def tracing_count(self) -> int:
        """How often an update function has been traced at most: 1 after any calls, or it is retracing.
        On JAX, every batch shape is traced once: the count of traces, over every function and shape."""
        if self._jax is not None:
            return self._jax.traces
        return max(traced.experimental_get_tracing_count() for traced in (*self._traced.values(), self._steps))

    def _one_update(self, obs, action, reward, next_obs, terminated):
        critic_loss, actor_loss = self._update_step(obs, action, reward, next_obs, terminated)
        return critic_loss, actor_loss, *self._actor_weights()

    def _update_loop(self, obs, action, reward, next_obs, terminated):
        def one_update(k, critic_loss, actor_loss):
            return (k + 1, *self._update_step(obs[k], action[k], reward[k], next_obs[k], terminated[k]))

        nan = tf.constant(float("nan"))
        _, critic_loss, actor_loss = tf.while_loop(lambda k, *_: k < tf.shape(obs)[0], one_update,
                                                   (tf.constant(0), nan, nan))
        return critic_loss, actor_loss, *self._actor_weights()

    def _actor_weights(self) -> list[tf.Tensor]:
        # The new actor weights come back with the losses: reading the variables from outside the
        # graph would cost more than the forward pass they feed.
        return [keras.ops.convert_to_tensor(w) for w in self.actor.weights]

    def _update_step(self, obs, action, reward, next_obs, terminated):
        """One update of Algorithm 1: its three lines, in its order. With policy_delay d > 1, the actor's step
        and both targets' only after every d-th critic step (TD3's delayed policy updates, as CleanRL runs
        DDPG)."""
        critic_loss = self.critic_step(obs, action, reward, next_obs, terminated)
        if self.config.policy_delay > 1:  # a branch in the graph only then: the default update stays as it was
            return critic_loss, self._delayed_actor_step(obs)
        actor_loss = self.actor_step(obs)
        self.move_targets(self.tau)
        return critic_loss, actor_loss

    def _delayed_actor_step(self, obs):
        """The actor's step and the targets' when policy_due(); else nothing moves, and the loss reported is J
        of the actor as it stands (actor and critic in inference mode: with batch_norm, their moving statistics;
        ddpg.jax_update computes it so too)."""
        def actor_and_targets():
            loss = self.actor_step(obs)
            self.move_targets(self.tau)
            return loss

        def actor_stays():
            return actor_loss(self.critic([obs, self.actor(obs)]))

        return tf.cond(self.policy_due(), actor_and_targets, actor_stays)

    def policy_due(self):
        """True after every policy_delay-th critic step: the critic's Adam counts its steps."""
        return keras.ops.equal(self.critic_optimizer.iterations % self.config.policy_delay, 0)

    def critic_step(self, obs, action, reward, next_obs, terminated):
        """"Update critic by minimizing the loss" L = 1/N sum_i (y_i - Q(s_i, a_i))^2, with the targets

            y_i = r_i + gamma (1 - d_i) Q'(s_{i+1}, mu'(s_{i+1})),

        one Adam step on the critic's variables. Returns L. Eager or in a graph; `update` compiles it.
        """
        y = td_target(reward, self.target_critic([next_obs, self.target_actor(next_obs)]), terminated, self.gamma)
        with tf.GradientTape() as tape:
            loss = critic_loss(y, self.critic([obs, action], training=True), self._decayed_kernels,
                               self.config.critic_weight_decay)
        self.critic_optimizer.apply_gradients(
            zip(tape.gradient(loss, self.critic.trainable_variables), self.critic.trainable_variables, strict=True))
        return loss

    def actor_step(self, obs):
        """"Update the actor policy using the sampled policy gradient": one Adam step on the actor's
        variables down J = -1/N sum_i Q(s_i, mu(s_i)), through the critic as it is now (after its
        own step). Returns J.
        """
        with tf.GradientTape() as tape:
            loss = actor_loss(self.critic([obs, self.actor(obs, training=True)]))
        self.actor_optimizer.apply_gradients(
            zip(tape.gradient(loss, self.actor.trainable_variables), self.actor.trainable_variables, strict=True))
        return loss

    def move_targets(self, tau) -> None:
        """"Update the target networks": theta' <- tau theta + (1 - tau) theta' for both, through the very
        polyak() the tests check; every variable, with batch_norm the moving statistics too."""
        for target, source in ((self.target_actor, self.actor), (self.target_critic, self.critic)):
            for target_variable, variable in zip(target.variables, source.variables, strict=True):
                target_variable.assign(polyak(target_variable, variable, tau))
