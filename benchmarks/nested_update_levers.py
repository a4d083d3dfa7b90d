"""What one update per step costs on TensorFlow when it is launched from a graph loop (issue 25, docs/speed_levers.md).

    python benchmarks/nested_update_levers.py [--case pendulum|halfcheetah] [--rounds 5]

N = 200 updates on random batches of the case's sizes, inside one tf.while_loop per call, four ways, alternating
rounds in this process:

- `plain graph`: the update's ops in the loop's body (what the K = 1 steps-in-graph path runs);
- `nested XLA on variables`: the body calls the update compiled by XLA (ddpg.agent.XLA_UPDATE_IN_STEPS), one
  launch per update that reads and writes the agent's variables;
- `nested XLA, pure state`: the body calls an XLA-compiled pure update, state in, state out, the state carried by
  the loop as tensors and written into the variables once at the end (no variable read or write per launch);
- `whole loop XLA`: the whole loop compiled by XLA (the K = N path): no launch per update, the floor.

With the environment inside the loop (K = 1 on TensorFlow) only the first three are possible: XLA on TensorFlow
cannot call back into Python, so the gap between them and the floor is the cost of a launch per step.

The pure update is a prototype for this measurement only: Keras's TensorFlow optimisers have no stateless_apply,
so its Adam is written here (the same formula, Keras's epsilon), with ddpg.losses and ddpg.targets for the rest.
A script: it prints ms per update and each way's speed against the plain graph.
"""

from __future__ import annotations

import argparse

import numpy as np
import tensorflow as tf
from alternating import alternate, report

from ddpg.agent import DDPGAgent
from ddpg.config import DDPGConfig
from ddpg.losses import actor_loss, critic_loss
from ddpg.presets import PRESETS
from ddpg.targets import polyak, td_target

UPDATES = 200


def adam(slots: list, grads: list, params: list, learning_rate: float, beta_1: float = 0.9, beta_2: float = 0.999,
         epsilon: float = 1e-7) -> tuple[list, list]:
    """Adam as a pure function: slots = [t, m..., v...] -> (new params, new slots)."""
    count = len(params)
    t, m, v = slots[0] + 1.0, slots[1:1 + count], slots[1 + count:]
    m = [beta_1 * old + (1 - beta_1) * g for old, g in zip(m, grads, strict=True)]
    v = [beta_2 * old + (1 - beta_2) * g * g for old, g in zip(v, grads, strict=True)]
    alpha = learning_rate * tf.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return [p - alpha * a / (tf.sqrt(b) + epsilon) for p, a, b in zip(params, m, v, strict=True)], [t, *m, *v]


def four_ways(agent: DDPGAgent, batches: list[tf.Tensor]) -> dict:
    """The four ways, each a tf.function running UPDATES updates and returning the last losses."""
    config = agent.config
    nan = tf.constant(float("nan"))

    def graph_loop(step):
        return tf.while_loop(lambda k, *_: k < UPDATES, lambda k, c, a: (k + 1, *step(*(b[k] for b in batches))),
                             (tf.constant(0), nan, nan))[1:]

    nested = tf.function(agent._update_step, jit_compile=True, autograph=False)
    networks = (agent.actor, agent.critic, agent.target_actor, agent.target_critic)

    def slots(network):
        return [tf.Variable(0.0)] + [tf.Variable(tf.zeros_like(w.value)) for w in network.trainable_variables] * 2

    holders = [*(network.trainable_variables for network in networks), slots(agent.actor), slots(agent.critic)]
    sizes = [len(holder) for holder in holders]
    variables = [variable for holder in holders for variable in holder]
    position = {id(v): i for i, v in enumerate(agent.critic.trainable_variables)}
    decayed = [position[id(kernel)] for kernel in agent._decayed_kernels]

    def pure_update(flat, obs, action, reward, next_obs, terminated):
        bounds = np.cumsum([0, *sizes])
        actor, critic, target_actor, target_critic, actor_slots, critic_slots = (
            list(flat[start:end]) for start, end in zip(bounds[:-1], bounds[1:], strict=True))
        next_action = agent.target_actor.stateless_call(target_actor, [], next_obs)[0]
        y = td_target(reward, agent.target_critic.stateless_call(target_critic, [], [next_obs, next_action])[0],
                      terminated, agent.gamma.value)
        with tf.GradientTape() as tape:
            tape.watch(critic)
            q = agent.critic.stateless_call(critic, [], [obs, action], training=True)[0]
            critic_loss_ = critic_loss(y, q, [critic[i] for i in decayed], config.critic_weight_decay)
        critic, critic_slots = adam(critic_slots, tape.gradient(critic_loss_, critic), critic, config.critic_lr)
        with tf.GradientTape() as tape:
            tape.watch(actor)
            action_now = agent.actor.stateless_call(actor, [], obs, training=True)[0]
            actor_loss_ = actor_loss(agent.critic.stateless_call(critic, [], [obs, action_now])[0])
        actor, actor_slots = adam(actor_slots, tape.gradient(actor_loss_, actor), actor, config.actor_lr)
        tau = agent.tau.value
        target_actor = [polyak(t, s, tau) for t, s in zip(target_actor, actor, strict=True)]
        target_critic = [polyak(t, s, tau) for t, s in zip(target_critic, critic, strict=True)]
        return [*actor, *critic, *target_actor, *target_critic, *actor_slots, *critic_slots], critic_loss_, actor_loss_

    pure = tf.function(pure_update, jit_compile=True, autograph=False)

    def pure_loop():
        def body(k, _c, _a, *flat):
            new, critic_loss_, actor_loss_ = pure(list(flat), *(b[k] for b in batches))
            return (k + 1, critic_loss_, actor_loss_, *new)

        out = tf.while_loop(lambda k, *_: k < UPDATES, body,
                            (tf.constant(0), nan, nan, *(tf.convert_to_tensor(v) for v in variables)))
        for variable, value in zip(variables, out[3:], strict=True):
            variable.assign(value)
        return out[1:3]

    return {"plain graph": tf.function(lambda: graph_loop(agent._update_step), autograph=False),
            "nested XLA on variables": tf.function(lambda: graph_loop(nested), autograph=False),
            "nested XLA, pure state": tf.function(pure_loop, autograph=False),
            "whole loop XLA": tf.function(lambda: graph_loop(agent._update_step), autograph=False, jit_compile=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("pendulum", "halfcheetah"), default="pendulum")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.case == "pendulum":
        config, obs_dim, action_dim = DDPGConfig(update_every=1), 3, 1
    else:
        config, obs_dim, action_dim = DDPGConfig(**{**PRESETS["ourddpg-retuned"], "env_id": "HalfCheetah-v5"}), 17, 6
    agent = DDPGAgent(obs_dim, -np.ones(action_dim), np.ones(action_dim), config)
    rng = np.random.default_rng(0)
    batches = [tf.constant(rng.standard_normal((UPDATES, config.batch_size, dim)), tf.float32)
               for dim in (obs_dim, action_dim, 1, obs_dim)]
    batches.append(tf.zeros((UPDATES, config.batch_size, 1)))  # terminated
    functions = four_ways(agent, batches)
    for function in functions.values():  # traced and compiled outside the timing
        function()
    ways = {way: lambda function=function: float(function()[0]) for way, function in functions.items()}
    report(args.case, alternate(ways, args.rounds, UPDATES, "update"), "plain graph", "update")

if __name__ == "__main__":
    main()
