"""The Keras example's way of doing DDPG's work, kept faithfully as the reference to beat.

From the Keras example "Deep Deterministic Policy Gradient (DDPG)" (amifunny, 2020-2024): a
tf.function critic and actor update without a terminal mask, fed from float64 NumPy buffers
converted per call; target networks moved by `get_weights`/`set_weights` after every update; and
the policy an eager Keras call per environment step. Only the networks are shared with ddpg, so
that both sides do the same arithmetic.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class KerasExampleLearner:
    """`Buffer.update` + `Buffer.learn` + `update_target` of the example, on given networks."""

    def __init__(self, actor, critic, target_actor, target_critic, actor_lr=0.001, critic_lr=0.002,
                 gamma=0.99, tau=0.005):
        self.actor, self.critic = actor, critic
        self.target_actor, self.target_critic = target_actor, target_critic
        self.actor_optimizer = keras.optimizers.Adam(actor_lr)
        self.critic_optimizer = keras.optimizers.Adam(critic_lr)
        self.gamma, self.tau = gamma, tau

    @tf.function
    def update(self, state_batch, action_batch, reward_batch, next_state_batch):
        with tf.GradientTape() as tape:
            target_actions = self.target_actor(next_state_batch, training=True)
            y = reward_batch + self.gamma * self.target_critic([next_state_batch, target_actions], training=True)
            critic_value = self.critic([state_batch, action_batch], training=True)
            critic_loss = keras.ops.mean(keras.ops.square(y - critic_value))
        critic_grad = tape.gradient(critic_loss, self.critic.trainable_variables)
        self.critic_optimizer.apply_gradients(zip(critic_grad, self.critic.trainable_variables, strict=True))

        with tf.GradientTape() as tape:
            actions = self.actor(state_batch, training=True)
            critic_value = self.critic([state_batch, actions], training=True)
            actor_loss = -keras.ops.mean(critic_value)
        actor_grad = tape.gradient(actor_loss, self.actor.trainable_variables)
        self.actor_optimizer.apply_gradients(zip(actor_grad, self.actor.trainable_variables, strict=True))

    def learn(self, state, action, reward, next_state):
        """One update from float64 arrays, as `Buffer.learn` then the two `update_target` calls."""
        self.update(keras.ops.convert_to_tensor(state), keras.ops.convert_to_tensor(action),
                    keras.ops.cast(keras.ops.convert_to_tensor(reward), dtype="float32"),
                    keras.ops.convert_to_tensor(next_state))
        update_target(self.target_actor, self.actor, self.tau)
        update_target(self.target_critic, self.critic, self.tau)


def update_target(target, original, tau):
    """The example's Polyak average, through NumPy copies of every weight."""
    target_weights = target.get_weights()
    original_weights = original.get_weights()
    for i in range(len(target_weights)):
        target_weights[i] = original_weights[i] * tau + target_weights[i] * (1 - tau)
    target.set_weights(target_weights)


class KerasExampleBuffer:
    """The example's float64 buffer, sampled with np.random.choice (with replacement)."""

    def __init__(self, capacity, obs_dim, action_dim, batch_size, rng):
        self.capacity, self.batch_size, self.rng, self.counter = capacity, batch_size, rng, 0
        self.state = np.zeros((capacity, obs_dim))
        self.action = np.zeros((capacity, action_dim))
        self.reward = np.zeros((capacity, 1))
        self.next_state = np.zeros((capacity, obs_dim))

    def record(self, obs_tuple):
        index = self.counter % self.capacity
        self.state[index], self.action[index], self.reward[index], self.next_state[index] = obs_tuple
        self.counter += 1

    def sample(self):
        index = self.rng.choice(min(self.counter, self.capacity), self.batch_size)
        return self.state[index], self.action[index], self.reward[index], self.next_state[index]


def keras_example_episode(env, learner, buffer, noise, lower_bound, upper_bound, steps):
    """`steps` steps of the example's training loop: eager policy call, env.step, record, learn."""
    prev_state, _ = env.reset()
    for _ in range(steps):
        tf_prev_state = keras.ops.expand_dims(keras.ops.convert_to_tensor(prev_state), 0)
        sampled_actions = keras.ops.squeeze(learner.actor(tf_prev_state))
        legal_action = [np.squeeze(np.clip(sampled_actions.numpy() + noise(), lower_bound, upper_bound))]
        state, reward, done, truncated, _ = env.step(legal_action)
        buffer.record((prev_state, legal_action, reward, state))
        learner.learn(*buffer.sample())
        prev_state = state
        if done or truncated:
            prev_state, _ = env.reset()


def keras_example_setup(seed: int = 0):
    """The example's Pendulum set-up on ddpg's networks: (env, learner, buffer, noise), targets copied."""
    import gymnasium as gym

    from ddpg.networks import build_actor, build_critic
    from ddpg.noise import OrnsteinUhlenbeckNoise

    env = gym.make("Pendulum-v1")
    actor, critic = build_actor(3, [-2.0], [2.0]), build_critic(3, 1)
    target_actor, target_critic = build_actor(3, [-2.0], [2.0]), build_critic(3, 1)
    target_actor.set_weights(actor.get_weights())
    target_critic.set_weights(critic.get_weights())
    learner = KerasExampleLearner(actor, critic, target_actor, target_critic)
    buffer = KerasExampleBuffer(50_000, 3, 1, 64, np.random.default_rng(seed))
    noise = OrnsteinUhlenbeckNoise(np.zeros(1), 0.2, rng=np.random.default_rng(seed))
    return env, learner, buffer, noise
