"""The agent's update compiled by JAX, for Keras 3 on its JAX backend (`KERAS_BACKEND=jax`).

An option, not the default: faster than TensorFlow at one update per call, slower at ten
(benchmarks/keras_jax_update.py measures it; its figures are in docs/speed_levers.md and
docs/performance.md).
The initial weights come from JAX's random generator, so a run differs from the TensorFlow run of the same seed.

The same networks, optimisers, variables and formulas as the TensorFlow update (ddpg.targets,
ddpg.losses); only the compilation differs. A jitted JAX function cannot change variables, so it
takes the state (the four networks' weights and both optimisers' variables) and returns the new
one, which is written back into the Keras variables after every call, as `keras.Model.fit` does on
JAX: whoever reads a variable (a checkpoint, a saved actor, a test) reads the update's result.

With batch normalisation (batch_norm), the networks' non-trainable variables, the moving statistics, are
in the state too: each call in training mode (the critic in its step, the actor in its) returns them
updated and they are carried on, every other call uses them as they are (inference), and the targets'
are Polyak-averaged with the rest, as DDPGAgent does on TensorFlow. Without it those lists are empty:
the same computation as before they existed.
"""

from __future__ import annotations

import jax
import numpy as np

from ddpg.losses import actor_loss, critic_loss
from ddpg.replay_buffer import Batch
from ddpg.targets import polyak, td_target


class JaxUpdate:
    """`DDPGAgent._update_step` as a pure function of the state, jitted once per batch shape."""

    def __init__(self, agent) -> None:  # a DDPGAgent, not imported: the agent imports this module
        self.agent = agent
        # The order of the state: ten lists of variables, each as the update function takes them; the last four,
        # the networks' moving statistics, are empty without batch normalisation.
        networks = (agent.actor, agent.critic, agent.target_actor, agent.target_critic)
        self.holders = [*(network.trainable_variables for network in networks),
                        agent.actor_optimizer.variables, agent.critic_optimizer.variables,
                        *(network.non_trainable_variables for network in networks)]
        # The acting policy's weights in the order of actor.weights: (list in the state, index in it).
        where = {id(v): (holder, i) for holder in (0, 6) for i, v in enumerate(self.holders[holder])}
        self.actor_weights = [where[id(v)] for v in agent.actor.weights]
        position = {id(v): i for i, v in enumerate(agent.critic.trainable_variables)}
        self.decayed = [position[id(kernel)] for kernel in agent._decayed_kernels]  # in the TensorFlow sum's order
        # Where the critic's Adam keeps its step count, which decides a delayed actor step (policy_delay).
        self.critic_steps = [id(v) for v in agent.critic_optimizer.variables].index(
            id(agent.critic_optimizer.iterations))
        self.traces = 0
        # The old state is donated: XLA writes the new one into its buffers instead of allocating (faster at one
        # update per call: docs/speed_levers.md). Its arrays are the variables' until the call returns and
        # reassigns them; one that NumPy still views (the acting policy's weights) JAX copies instead.
        # The update as a pure function (state, scalars, batch) -> (state, critic loss, actor loss): one batch
        # [B, ...], or K stacked [K, B, ...]; ddpg.vectorized_update maps them over many seeds' states.
        self.pure = {"one": self._one_update, "many": self._update_loop}
        self.jitted = {which: jax.jit(function, donate_argnums=0) for which, function in self.pure.items()}

    def run(self, which: str, batch: Batch) -> tuple[float, float, list[np.ndarray]]:
        state, critic_loss_, actor_loss_ = self.jitted[which](self.read_state(), self.scalars(), tuple(batch))
        return float(critic_loss_), float(actor_loss_), self.write_state(state)

    def read_state(self) -> list[list]:
        """The state the update takes: the variables' values, in the order of `holders`."""
        return [[v.value for v in variables] for variables in self.holders]

    def scalars(self) -> tuple:
        """(gamma, tau), the update's other inputs."""
        return self.agent.gamma.value, self.agent.tau.value

    def write_state(self, state: list[list]) -> list[np.ndarray]:
        """A state the update returned, into the Keras variables; the acting policy's weights in it, in the order
        of actor.weights."""
        for variables, values in zip(self.holders, state, strict=True):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        return [np.asarray(state[holder][i]) for holder, i in self.actor_weights]

    def _one_update(self, state, scalars, batch):
        self.traces += 1  # Python runs here only while JAX traces
        state, (critic_loss_, actor_loss_) = self._update_step(state, scalars, batch)
        return state, critic_loss_, actor_loss_

    def _update_loop(self, state, scalars, batches):
        self.traces += 1
        state, (critic_losses, actor_losses) = jax.lax.scan(
            lambda carry, batch: self._update_step(carry, scalars, batch), state, batches)
        return state, critic_losses[-1], actor_losses[-1]

    def _update_step(self, state, scalars, batch):
        """One update of Algorithm 1, in its order: the critic's step, the actor's step (through the critic
        as it is after its own), then both targets theta' <- tau theta + (1 - tau) theta', moving statistics
        included. Each network is in training mode in its own step only, as on TensorFlow."""
        agent = self.agent
        (actor, critic, target_actor, target_critic, actor_slots, critic_slots,
         actor_stats, critic_stats, target_actor_stats, target_critic_stats) = state
        gamma, tau = scalars
        obs, action, reward, next_obs, terminated = batch
        next_q, _ = agent.target_critic.stateless_call(
            target_critic, target_critic_stats,
            [next_obs, agent.target_actor.stateless_call(target_actor, target_actor_stats, next_obs)[0]])
        y = jax.lax.stop_gradient(td_target(reward, next_q, terminated, gamma))

        def critic_objective(weights):
            q, stats = agent.critic.stateless_call(weights, critic_stats, [obs, action], training=True)
            return critic_loss(y, q, [weights[i] for i in self.decayed], agent.config.critic_weight_decay), stats

        (critic_loss_, critic_stats), grads = jax.value_and_grad(critic_objective, has_aux=True)(critic)
        critic, critic_slots = agent.critic_optimizer.stateless_apply(critic_slots, grads, critic)

        def actor_objective(weights, stats, training):
            """J through the critic as it now is, in inference; the actor in training mode in its own step."""
            action_now, stats = agent.actor.stateless_call(weights, stats, obs, training=training)
            return actor_loss(agent.critic.stateless_call(critic, critic_stats, [obs, action_now])[0]), stats

        def actor_and_targets(actor, actor_slots, actor_stats, target_actor, target_critic, target_actor_stats,
                              target_critic_stats):
            (actor_loss_, actor_stats), grads = jax.value_and_grad(actor_objective, has_aux=True)(
                actor, actor_stats, True)
            actor, actor_slots = agent.actor_optimizer.stateless_apply(actor_slots, grads, actor)
            target_actor = [polyak(t, s, tau) for t, s in zip(target_actor, actor, strict=True)]
            target_critic = [polyak(t, s, tau) for t, s in zip(target_critic, critic, strict=True)]
            target_actor_stats = [polyak(t, s, tau) for t, s in zip(target_actor_stats, actor_stats, strict=True)]
            target_critic_stats = [polyak(t, s, tau) for t, s in zip(target_critic_stats, critic_stats, strict=True)]
            return (actor, actor_slots, actor_stats, target_actor, target_critic, target_actor_stats,
                    target_critic_stats, actor_loss_)

        def actor_stays(*moving):  # J of the actor as it stands: in inference, as DDPGAgent._delayed_actor_step
            actor, _, actor_stats = moving[:3]
            return (*moving, actor_objective(actor, actor_stats, False)[0])

        moving = (actor, actor_slots, actor_stats, target_actor, target_critic, target_actor_stats, target_critic_stats)
        delay = agent.config.policy_delay
        if delay == 1:
            moved = actor_and_targets(*moving)
        else:  # after every delay-th critic step, as DDPGAgent._update_step
            moved = jax.lax.cond(critic_slots[self.critic_steps] % delay == 0, actor_and_targets, actor_stays, *moving)
        (actor, actor_slots, actor_stats, target_actor, target_critic, target_actor_stats, target_critic_stats,
         actor_loss_) = moved
        return ([actor, critic, target_actor, target_critic, actor_slots, critic_slots, actor_stats, critic_stats,
                 target_actor_stats, target_critic_stats], (critic_loss_, actor_loss_))
