"""Many seeds' updates in one compiled call, for Keras on JAX (issue 25): `jax.vmap` of ddpg.jax_update's pure
update over a leading seed axis.

S agents of one config but for its seed have the same networks, optimisers and update; only their variables'
values differ. So their S states stack into one with a leading axis [S, ...], their batches into [S, B, ...] (or
[S, K, B, ...]), their (gamma, tau) into [S], and the pure update maps over them, in one call:

    (theta_s', L_s, J_s) = update(theta_s, (gamma_s, tau_s), batch_s)    for s = 1, ..., S

Seed s's slice of the result is what its own update returns from its state and batch, to float tolerance: XLA may
sum a batched matrix product in another order (property_tests/test_vectorized_update_properties.py). Each
agent's acting policy is written from its slice after every call, as JaxUpdate.run does for one; the stacked state
itself stays on the device for the next call, and is written back into the agents' Keras variables only when one
of them is read or written (DDPGAgent.variables, save_actor, its own update: DDPGAgent.write_back_pending). Stacking
and writing back every variable of every seed at every call cost ten times the update (docs/speed_levers.md).

Under vmap, policy_delay's `lax.cond` on each seed's critic step count becomes a select: both branches are
computed and each seed keeps its own, so seeds whose actors are due at different steps still share the call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from ddpg.replay_buffer import Batch

if TYPE_CHECKING:  # the agent imports ddpg.jax_update, which this module only reaches through it
    from ddpg.agent import DDPGAgent


class SeedAxisUpdate:
    """The updates of S agents of one config (their seeds aside) in one jitted call, over a leading seed axis.

    Args:
        agents: S DDPGAgents on Keras's JAX backend, of one config but for the seed, on one environment's spaces.
    """

    def __init__(self, agents: Sequence[DDPGAgent]) -> None:
        check_one_config(agents)
        self.agents = list(agents)
        self.updates = [agent.jax_update for agent in self.agents]
        # The first agent's networks and optimisers trace the update for all: only the values differ (its
        # tracing_count counts these traces too). The state is stacked afresh for every call, so donating it costs
        # no agent its variables.
        self.jitted = {which: jax.jit(jax.vmap(function), donate_argnums=0)
                       for which, function in self.updates[0].pure.items()}
        for agent in self.agents:  # another SeedAxisUpdate's state of them, if any, into their variables first
            agent.write_back_pending()
        # The chosen agents' state after the last call, stacked [S, ...]: newer than their Keras variables until
        # write_back; None when it must be stacked afresh from them.
        self._stacked: list | None = None
        self._among: tuple[int, ...] = ()

    def update(self, batches: Sequence[Batch], among: Sequence[int] | None = None) -> list[dict[str, float]]:
        """One update per agent, batches[s] ([B, ...]) for agent s; each agent's losses, as DDPGAgent.update.
        `among`: the indices of the agents to update (all when None), batches in their order."""
        return self._run("one", batches, among)

    def update_many(self, batches: Sequence[Batch], among: Sequence[int] | None = None) -> list[dict[str, float]]:
        """K updates per agent, batches[s] stacked as [K, B, ...] for agent s; each agent's losses of its last
        update, as DDPGAgent.update_many (which also calls K = 1 as one update). `among` as in `update`."""
        if all(len(batch.obs) == 1 for batch in batches):
            return self._run("one", [Batch(*(column[0] for column in batch)) for batch in batches], among)
        return self._run("many", batches, among)

    def _run(self, which: str, batches: Sequence[Batch], among: Sequence[int] | None) -> list[dict[str, float]]:
        """One jitted call over the chosen agents; each subset's size is traced once."""
        among = range(len(self.agents)) if among is None else among
        if len(batches) != len(among):
            raise ValueError(f"Expected a batch for each of the {len(among)} agents. Received: {len(batches)}")
        among = tuple(among)
        if among != self._among:
            self.write_back()  # and stacked afresh below
        agents, updates = [self.agents[i] for i in among], [self.updates[i] for i in among]
        state = self._stacked if self._stacked is not None else stack_seeds([u.read_state() for u in updates])
        self._stacked = None  # donated to the call
        state, critic_losses, actor_losses = self.jitted[which](
            state, stack_on_host([update.scalars() for update in updates]),
            stack_on_host([tuple(batch) for batch in batches]))
        self._stacked, self._among = state, among
        # Only the actors' weights to the host, for acting: one copy of each, each seed's slice a view into it.
        actor_weights = [np.asarray(state[holder][i]) for holder, i in updates[0].actor_weights]
        critic_losses, actor_losses = np.asarray(critic_losses), np.asarray(actor_losses)
        losses = []
        for s, agent in enumerate(agents):
            agent.policy.use_weights([weight[s] for weight in actor_weights])
            agent.pending_write_back = self.write_back
            losses.append({"critic_loss": float(critic_losses[s]), "actor_loss": float(actor_losses[s])})
        return losses

    def write_back(self) -> None:
        """The stacked state into each chosen agent's Keras variables; it is then stacked afresh for the next call,
        since whoever asked may change the variables."""
        if self._stacked is None:
            return
        state, self._stacked = jax.tree.map(np.asarray, self._stacked), None
        for s, i in enumerate(self._among):
            self.updates[i].write_state(jax.tree.map(lambda stacked, s=s: stacked[s], state))
            self.agents[i].pending_write_back = None


def stack_seeds(trees: list):
    """S trees of one structure -> one tree of arrays with a leading axis [S, ...], on the device."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)


def stack_on_host(trees: list):
    """As stack_seeds, by NumPy, for the batches and scalars of each call: a jnp.stack per field is an eager
    dispatch of its own (docs/speed_levers.md has the figure); the jitted call copies each stacked field once."""
    return jax.tree.map(lambda *leaves: np.stack(leaves), *trees)


def check_one_config(agents: Sequence[DDPGAgent]) -> None:
    """Agents that can share one vectorised update: on JAX, of one config but for the seed, on the same spaces."""
    if not agents:
        raise ValueError("Expected at least one agent. Received: none")
    first = agents[0]
    for agent in agents:
        if agent.jax_update is None:
            raise ValueError("Expected agents on Keras's JAX backend (KERAS_BACKEND=jax). Received: an agent on "
                             "TensorFlow")
        differ = [field.name for field in dataclasses.fields(first.config) if field.name != "seed"
                  and getattr(agent.config, field.name) != getattr(first.config, field.name)]
        if agent.obs_dim != first.obs_dim:
            differ.append("obs_dim")
        if not (np.array_equal(agent.action_low, first.action_low)
                and np.array_equal(agent.action_high, first.action_high)):
            differ.append("the action bounds")
        if differ:
            raise ValueError(f"Expected agents of one config but for their seeds. Received: {', '.join(differ)} "
                             "differ" + ("s" if len(differ) == 1 else ""))
