"""Semantic mutants of the learner and the training loop: the bugs a person writes into DDPG.

mutmut mutates syntax, one operator at a time, and each of its mutants costs a TensorFlow import
here, so the compiled update and the loop are proven another way: each mutant below is one named,
plausible bug (a wrong network, a wrong sign, a wrong variable, a wrong order, a missing step),
applied to a fresh copy of the project and run against the whole suite. Every one must be killed.

    python mutation/semantic_mutants.py               # the unmutated suite first (it must pass), then each mutant
    python mutation/semantic_mutants.py NAME [NAME]   # only these mutants
    python mutation/semantic_mutants.py --list        # the catalogue

Each mutant first runs the test that killed it in the last run (docs/semantic_mutants_last_run.md, or
--last-run FILE): a test of the suite that still fails on it kills it in seconds; only where that test no
longer exists or now passes does the whole suite decide, the fast tests first.

Exit status 0 when every mutant was killed, 1 when one survived, 2 when the catalogue no longer
applies to the code (a mutant's text is not found exactly once) or the unmutated suite fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("ddpg", "tests", "property_tests", "mutation", "docs", "setup.cfg", "pyproject.toml")  # docs: its data
# Fast, strong tests first, each run stopping at its first failure: a killed mutant costs seconds,
# only a survivor runs everything. (Two runs, since pytest orders by directory whatever it is given.)
FIRST = ("tests/test_losses.py", "tests/test_agent.py", "tests/test_exploration.py", "tests/test_training_loop.py",
         "tests/test_steps_in_graph.py",
         "tests/test_normalize_observations.py", "tests/test_normalization.py",
         "property_tests/test_agent_properties.py", "tests/test_networks.py", "tests/test_checkpoint.py",
         "tests/test_preset_runs.py", "tests/test_learning.py")
JAX_FIRST = ("tests/test_jax_backend.py", *FIRST)  # for the JAX update's mutants: its own tests first
TIMEOUT_SECONDS = 30 * 60
OWN_TEST = "tests/test_mutation_catalogue.py"
LAST_RUN = ROOT / "docs" / "semantic_mutants_last_run.md"


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # relative to the project root
    old: str  # found exactly once in the file
    new: str
    bug: str  # what a person would have done


AGENT, LOOP, LOSSES, EVALUATION = "ddpg/agent.py", "ddpg/loop.py", "ddpg/losses.py", "ddpg/evaluation.py"
EXPLORATION, TRAINING = "ddpg/exploration.py", "ddpg/training.py"
JAX_UPDATE = "ddpg/jax_update.py"  # its mutants run only where JAX is installed, its tests first
STORE = "self.buffer.add(self.obs, action, reward, next_obs, terminated)"
BOOTSTRAP = "self.target_critic([next_obs, self.target_actor(next_obs)])"
CRITIC_STEP = "        critic_loss = self.critic_step(obs, action, reward, next_obs, terminated)\n"
DELAY = ("        if self.config.policy_delay > 1:  # a branch in the graph only then: the default update stays as it "
         "was\n            return critic_loss, self._delayed_actor_step(obs)\n")
STEPS = (CRITIC_STEP + DELAY + "        actor_loss = self.actor_step(obs)\n"
         "        self.move_targets(self.tau)\n")
NETWORKS = "ddpg/networks.py"

CATALOGUE = (
    # --- the critic's target: wrong network, wrong state, wrong mask --------------------------------
    Mutant("bootstrap-from-online-networks", AGENT, BOOTSTRAP, "self.critic([next_obs, self.actor(next_obs)])",
           "y from Q(s', mu(s')) instead of the target networks (issue 10, change 1)"),
    Mutant("bootstrap-with-online-actor", AGENT, BOOTSTRAP, "self.target_critic([next_obs, self.actor(next_obs)])",
           "Q'(s', mu(s')): the online actor picks the next action"),
    Mutant("bootstrap-with-online-critic", AGENT, BOOTSTRAP, "self.critic([next_obs, self.target_actor(next_obs)])",
           "Q(s', mu'(s')): the online critic values it"),
    Mutant("bootstrap-from-current-state", AGENT, BOOTSTRAP, "self.target_critic([obs, self.target_actor(obs)])",
           "Q'(s, mu'(s)): s where s' belongs"),
    Mutant("gamma-ignored", AGENT, "keras.Variable(config.gamma,", "keras.Variable(0.99,",
           "the discount hard-coded to the default"),
    # --- the two losses and the two steps ----------------------------------------------------------
    Mutant("actor-ascends-minus-q", LOSSES, "return -ops.mean(q)", "return ops.mean(q)",
           "the actor's loss with the wrong sign: it descends Q"),
    Mutant("critic-loss-absolute", LOSSES, "ops.square(y - q)", "ops.abs(y - q)",
           "mean absolute instead of mean squared TD error"),
    Mutant("critic-loss-summed", LOSSES, "ops.mean(ops.square(y - q))", "ops.sum(ops.square(y - q))",
           "the critic's loss summed over the batch: a batch-size times larger step"),
    Mutant("actor-through-target-critic", AGENT,
           "loss = actor_loss(self.critic([obs, self.actor(obs, training=True)]))",
           "loss = actor_loss(self.target_critic([obs, self.actor(obs, training=True)]))",
           "the policy gradient through Q' instead of Q"),
    Mutant("critic-on-policy-actions", AGENT, "critic_loss(y, self.critic([obs, action], training=True),",
           "critic_loss(y, self.critic([obs, self.actor(obs)], training=True),",
           "Q fitted at mu(s) instead of the stored action a"),
    Mutant("actor-lr-for-critic", AGENT, "self.critic_optimizer = keras.optimizers.Adam(config.critic_lr)",
           "self.critic_optimizer = keras.optimizers.Adam(config.actor_lr)", "the learning rates mixed up"),
    Mutant("critic-lr-for-actor", AGENT, "self.actor_optimizer = keras.optimizers.Adam(config.actor_lr)",
           "self.actor_optimizer = keras.optimizers.Adam(config.critic_lr)", "the learning rates mixed up"),
    # --- the order and presence of Algorithm 1's steps ---------------------------------------------
    Mutant("actor-step-before-critic-step", AGENT, STEPS,
           "        actor_loss = self.actor_step(obs)\n" + CRITIC_STEP + DELAY
           + "        self.move_targets(self.tau)\n",
           "the actor steps on the critic from before its step"),
    Mutant("targets-move-before-the-steps", AGENT, STEPS,
           "        self.move_targets(self.tau)\n" + CRITIC_STEP + DELAY
           + "        actor_loss = self.actor_step(obs)\n",
           "the soft update toward the networks before they learn"),
    Mutant("no-actor-step", AGENT, "        actor_loss = self.actor_step(obs)\n",
           "        actor_loss = tf.constant(0.0)\n", "the actor never learns"),
    Mutant("no-critic-step", AGENT,
           "        critic_loss = self.critic_step(obs, action, reward, next_obs, terminated)\n",
           "        critic_loss = tf.constant(0.0)\n", "the critic never learns"),
    Mutant("no-target-update", AGENT, "        self.move_targets(self.tau)\n        return critic_loss, actor_loss",
           "        return critic_loss, actor_loss", "the targets stay at their initial copy"),
    # --- the target networks --------------------------------------------------------------------------
    Mutant("polyak-toward-the-target", AGENT, "target_variable.assign(polyak(target_variable, variable, tau))",
           "target_variable.assign(polyak(variable, target_variable, tau))",
           "theta' <- tau theta' + (1 - tau) theta: the target jumps to the online network"),
    Mutant("targets-not-copied-at-start", AGENT, "        self.move_targets(1.0)  #", "        pass  #",
           "mu' and Q' start from their own random initialisation"),
    Mutant("tau-ignored", AGENT, "keras.Variable(config.tau,", "keras.Variable(0.005,",
           "tau hard-coded to the default"),
    # --- K updates in one call ------------------------------------------------------------------------
    Mutant("update-many-runs-only-the-first", AGENT, "        if len(batches.obs) == 1:\n", "        if True:\n",
           "K batches passed, one update made"),
    Mutant("update-loop-skips-the-last", AGENT, "k < tf.shape(obs)[0]", "k < tf.shape(obs)[0] - 1",
           "an off-by-one in the while loop over K batches"),
    Mutant("update-loop-repeats-the-first-batch", AGENT,
           "self._update_step(obs[k], action[k], reward[k], next_obs[k], terminated[k])",
           "self._update_step(obs[0], action[0], reward[0], next_obs[0], terminated[0])",
           "K updates on the same batch"),
    # --- acting ------------------------------------------------------------------------------------------
    Mutant("act-without-clip", EXPLORATION, "return np.clip(action, low, high).astype(np.float32)",
           "return np.asarray(action, np.float32)", "mu(s) + N sent out of the bounds (issue 10, change 4)"),
    Mutant("act-with-stale-weights", AGENT, "        self.policy.use_weights(actor_weights)\n",
           "", "the NumPy policy never sees the actor's updates"),
    Mutant("resume-acts-with-initial-weights", AGENT,
           "            variable.assign(arrays[name])\n"
           "        self.policy.use_weights([w.numpy() for w in self.actor.weights])",
           "            variable.assign(arrays[name])", "a restored agent acts with the weights it was built with"),
    Mutant("acting-without-exploration", EXPLORATION, "self.policy(obs) + self.noise()", "self.policy(obs)",
           "training with the deterministic policy"),
    Mutant("warm-up-never-ends", EXPLORATION, "if steps_done < self.random_steps:", "if self.random_steps:",
           "uniform random actions for the whole run once any warm-up is asked for"),
    Mutant("warm-up-outside-the-bounds", EXPLORATION, "self.rng.uniform(self.low, self.high)",
           "self.rng.uniform(self.low, 2 * self.high)", "random actions drawn past the upper bound"),
    Mutant("gaussian-sigma-in-action-units", EXPLORATION, "config.gaussian_sigma * half_range",
           "config.gaussian_sigma", "sigma not scaled by the half-range (TD3 and CleanRL scale it)"),
    Mutant("gaussian-for-ou", EXPLORATION, 'if config.noise == "ou":', 'if config.noise == "gaussian":',
           "the noise kinds swapped"),
    # --- the loop --------------------------------------------------------------------------------------
    Mutant("truncation-stored-as-terminal", LOOP, STORE,
           "self.buffer.add(self.obs, action, reward, next_obs, terminated or truncated)",
           "a time-limit cut treated as the end of the world (issue 10, change 2)"),
    Mutant("one-update-per-call", LOOP, "return config.update_every", "return 1",
           "one update per update_every steps (issue 10, change 3)"),
    Mutant("noise-never-reset", LOOP, "        self.explorer.noise.reset()  #", "        pass  #",
           "the OU process carries over between episodes (issue 10, change 5)"),
    Mutant("learning-starts-at-one-transition", LOOP, "self.steps >= config.learning_starts", "self.steps >= 1",
           "the first updates on one transition drawn batch_size times (issue 10, change 6)"),
    Mutant("learning-starts-one-late", LOOP, "self.steps >= config.learning_starts",
           "self.steps > config.learning_starts", "an off-by-one in the warm-up"),
    Mutant("evaluation-replays-one-episode", EVALUATION, "env.reset(seed=seed if episode == 0 else None)",
           "env.reset(seed=seed)", "every evaluation episode the same one (issue 10, change 7)"),
    Mutant("steps-in-graph-act-with-stale-actor", LOOP, "            self.agent.policy.use_weights(actor_weights)\n",
           "", "in a block of steps, acting with the actor of the block's start, not of the last update"),
    Mutant("steps-in-graph-updates-not-counted", LOOP, '            self._episode["updates"] += taken.updates\n', "",
           "a block's updates left out of the episode's loss means"),
    Mutant("state-not-advanced", LOOP, "        self.obs = next_obs\n", "",
           "the policy acts on the episode's first observation every step"),
    Mutant("next-state-stored-as-state", LOOP, STORE, "self.buffer.add(next_obs, action, reward, next_obs, terminated)",
           "s' stored where s belongs"),
    Mutant("reward-sign-flipped", LOOP, STORE, "self.buffer.add(self.obs, action, -reward, next_obs, terminated)",
           "costs learned as rewards"),
    Mutant("updates-every-step", LOOP, "self.steps % config.update_every == 0", "True",
           "update_every updates after every step"),
    Mutant("first-reset-unseeded", LOOP, "self.env.reset(seed=self.config.seed if self.episode == 0 else None)",
           "self.env.reset(seed=None)", "the environment's starting states not drawn from the run's seed"),
    Mutant("nan-stored-before-the-check", LOOP,
           "        check_finite(self.steps + 1, next_obs, action, reward)  # as float32, before anything learns "
           "from it\n"
           "        self._observe(next_obs)\n"
           "        self.steps += 1\n"
           "        # terminated, not truncated: a time-limit cut still bootstraps from s'.\n"
           f"        {STORE}\n",
           "        self._observe(next_obs)\n"
           "        self.steps += 1\n"
           f"        {STORE}\n"
           "        check_finite(self.steps, next_obs, action, reward)\n",
           "a NaN transition enters the buffer before it is refused"),
    Mutant("evaluation-seeded-as-training", EVALUATION, "config.seed + EVAL_SEED_OFFSET if seed is None",
           "config.seed if seed is None",
           "evaluation replays training's starting states"),
    Mutant("evaluation-unclipped", EVALUATION, "clip_to_bounds(policy(obs), low, high)", "policy(obs)",
           "the evaluated policy acts an ulp outside the bounds"),
    # --- the budget and evaluation during training -----------------------------------------------------------
    Mutant("step-budget-one-short", TRAINING, "return trainer.steps >= config.total_steps",
           "return trainer.steps >= config.total_steps - 1", "a step budget that stops one step early"),
    Mutant("step-budget-ends-at-an-episode", TRAINING, "return trainer.steps >= config.total_steps",
           "return trainer.steps >= config.total_steps and trainer.obs is None",
           "a step budget rounded up to the end of the episode"),
    Mutant("best-actor-is-the-last", EVALUATION,
           'improved = self.best is None or row["mean_return"] > self.best.mean_return',
           "improved = True", "best_actor.keras overwritten by every evaluation"),
    Mutant("evaluation-with-noise", EVALUATION, "run_episodes(trainer.policy,",
           "run_episodes(lambda obs: trainer.policy(obs) + trainer.explorer.noise(),",
           "evaluation during training acts with the exploration noise (and draws from its generator)"),
    Mutant("weight-decay-ignored", AGENT, "self.config.critic_weight_decay)", "0.0)",
           "critic_weight_decay accepted and never applied"),
    Mutant("weight-decay-doubled", LOSSES, "ops.sum(ops.square(kernel)) / 2", "ops.sum(ops.square(kernel))",
           "lambda sum W^2, the paper's wording: twice the weight decay lambda that TensorFlow and baselines apply"),
    # --- the presets' options: the update's schedule and the networks' initialisation ----------------------
    Mutant("policy-delay-ignored", AGENT, "        if self.config.policy_delay > 1:", "        if False:",
           "policy_delay accepted and never applied: the actor steps with every critic step"),
    Mutant("policy-delay-off-by-one", AGENT, "self.critic_optimizer.iterations % self.config.policy_delay, 0)",
           "self.critic_optimizer.iterations % self.config.policy_delay, 1)",
           "the delayed actor steps after critic steps 1, 3, ... instead of 2, 4, ..."),
    Mutant("delayed-targets-move-every-critic-step", AGENT,
           "        def actor_stays():\n            return",
           "        def actor_stays():\n            self.move_targets(self.tau)\n            return",
           "with a delayed policy, the targets still move after every critic step"),
    Mutant("episode-end-updates-also-during-episodes", LOOP,
           "                if terminated or truncated:\n                    return self._episode",
           "                if True:\n                    return self._episode",
           "update_at_episode_end's updates made after every step"),
    Mutant("episode-end-updates-once", LOOP, 'return self._episode["steps"]', "return 1",
           "one update per episode instead of one per step it had"),
    Mutant("episode-end-updates-skip-truncation", LOOP, "                if terminated or truncated:\n",
           "                if terminated:\n", "an episode cut by its time limit gets no updates"),
    Mutant("episode-end-updates-drop-the-remainder", LOOP, "calls += [1] * (count % self.config.update_every)",
           "calls += []", "an episode's updates beyond a multiple of update_every are lost"),
    Mutant("fan-in-bound-from-fan-out", NETWORKS, "bound = 1.0 / float(np.sqrt(fan_in))",
           "bound = float(np.sqrt(6.0 / fan_in))", "He's bound sqrt(6 / f) for PyTorch's 1 / sqrt(f)"),
    Mutant("fan-in-biases-zero", NETWORKS,
           '"bias_initializer": fan_in_uniform(fan_in)}', '"bias_initializer": "zeros"}',
           "fan-in uniform weights with zero biases (PyTorch draws the biases too)"),
    Mutant("final-biases-not-small", NETWORKS, '        if final == "all":\n', "        if False:\n",
           "the paper's final layers: kernels in U(-3e-3, 3e-3), biases left to the initializer"),
    Mutant("critics-final-layer-not-small", NETWORKS, '"all" if final_layer_init == "both" else ""', '""',
           "the paper's U(-3e-3, 3e-3) on the actor's final layer only"),
    # --- batch normalisation (batch_norm): which statistics, where ------------------------------------
    Mutant("critic-step-in-inference-mode", AGENT, "critic_loss(y, self.critic([obs, action], training=True),",
           "critic_loss(y, self.critic([obs, action], training=False),",
           "the critic fitted with its moving statistics, which then never move"),
    Mutant("actor-step-in-inference-mode", AGENT,
           "loss = actor_loss(self.critic([obs, self.actor(obs, training=True)]))",
           "loss = actor_loss(self.critic([obs, self.actor(obs, training=False)]))",
           "the actor's step with its moving statistics, which then never move"),
    Mutant("critic-in-training-mode-in-the-actor-step", AGENT,
           "loss = actor_loss(self.critic([obs, self.actor(obs, training=True)]))",
           "loss = actor_loss(self.critic([obs, self.actor(obs, training=True)], training=True))",
           "the critic normalises mu(s) by the batch's statistics and moves its moving ones a second time"),
    Mutant("targets-in-training-mode", AGENT, BOOTSTRAP,
           "self.target_critic([next_obs, self.target_actor(next_obs, training=True)], training=True)",
           "the targets bootstrap with the batch's statistics and move their moving ones themselves"),
    Mutant("targets-skip-moving-statistics", AGENT,
           "zip(target.variables, source.variables, strict=True)",
           "zip(target.trainable_variables, source.trainable_variables, strict=True)",
           "Polyak averaging of the weights only: the targets keep their initial moving statistics"),
    Mutant("policy-ignores-moving-mean", NETWORKS, "t = (beta - moving_mean * s).astype(np.float32)",
           "t = (beta + 0 * s).astype(np.float32)", "the NumPy policy normalises without the moving mean"),
    Mutant("policy-ignores-moving-variance", NETWORKS,
           "s = (gamma / np.sqrt(moving_variance + np.float32(epsilon))).astype(np.float32)",
           "s = (gamma / np.sqrt(1 + np.float32(epsilon))).astype(np.float32)",
           "the NumPy policy normalises without the moving variance"),
    Mutant("policy-without-epsilon", NETWORKS, "np.sqrt(moving_variance + np.float32(epsilon))",
           "np.sqrt(moving_variance)", "the NumPy policy divides by sqrt(variance), not sqrt(variance + epsilon)"),
    Mutant("policy-input-normalisation-skipped", NETWORKS,
           "kernel, bias, before_first = s[:, None] * kernel, t @ kernel + bias, None",
           "before_first = None", "the NumPy policy acts on the raw state, as if the input were not normalised"),
    # --- observation normalisation (normalize_observations): which statistics, where ----------------
    Mutant("statistics-never-updated", LOOP, "            self.normalizer.update(obs)\n", "            pass\n",
           "the statistics stay at the prior mean 0, variance 1: observations in the thousands clip to 10"),
    Mutant("reset-observations-not-counted", LOOP, "        self._observe(self.obs)\n", "",
           "the statistics of steps' observations only (VecNormalize counts each reset's too)"),
    Mutant("replay-not-normalised", LOOP,
           "            batch = batch._replace(obs=self.normalizer.normalize(batch.obs),",
           "            batch = batch._replace(obs=batch.obs,",
           "the networks learn on raw observations and act on normalised ones"),
    Mutant("next-observation-not-normalised", LOOP,
           "next_obs=self.normalizer.normalize(batch.next_obs))", "next_obs=batch.next_obs)",
           "the target bootstraps from mu'(s') and Q'(s', .) of a raw s'"),
    Mutant("acting-on-raw-observations", LOOP, "return self.agent.policy(self.normalizer.normalize(obs))",
           "return self.agent.policy(obs)", "mu acts on raw observations while it learns on normalised ones"),
    Mutant("saved-actor-without-normalisation", AGENT, "        if statistics is None:\n            self._snapshot",
           "        if True:\n            self._snapshot",
           "actor.keras expects normalised observations: a user's raw ones give other actions"),
    Mutant("best-actor-without-its-statistics", EVALUATION, "                             trainer.observation_"
           "statistics())", "                             None)",
           "best_actor.keras without its evaluation's statistics"),
    Mutant("statistics-not-restored", "ddpg/run_state.py", "        trainer.normalizer.set_state(manifest["
           "\"normalizer\"])", "        pass", "a resumed run starts its statistics again from the prior"),
    Mutant("policy-ignores-the-saved-normalisation", NETWORKS,
           "            x = np.clip((x + offset) * scale, -1, 1) * c\n", "",
           "load_policy and evaluate feed raw observations to a network that learnt on normalised ones"),
    Mutant("normalisation-without-clip", "ddpg/normalization.py", "return np.clip(z, -CLIP, CLIP).astype(np.float32)",
           "return z.astype(np.float32)", "VecNormalize's clip at 10 standard deviations left out"),
    # --- the same bugs in the update compiled by JAX (KERAS_BACKEND=jax) -----------------------------
    Mutant("jax-bootstrap-from-online-networks", JAX_UPDATE,
           "target_critic, target_critic_stats,\n"
           "            [next_obs, agent.target_actor.stateless_call(target_actor, target_actor_stats, next_obs)[0]])",
           "critic, critic_stats,\n"
           "            [next_obs, agent.actor.stateless_call(actor, actor_stats, next_obs)[0]])",
           "on JAX, y from Q(s', mu(s')) instead of the target networks"),
    Mutant("jax-terminal-ignored", JAX_UPDATE, "td_target(reward, next_q, terminated, gamma)",
           "td_target(reward, next_q, 0 * terminated, gamma)", "on JAX, bootstrapping through terminal states"),
    Mutant("jax-actor-through-the-critic-before-its-step", JAX_UPDATE,
           "agent.critic.stateless_call(critic, critic_stats, [obs, action_now])",
           "agent.critic.stateless_call(state[1], state[7], [obs, action_now])",
           "on JAX, the actor's gradient through the critic from before the critic's step"),
    Mutant("jax-targets-not-moved", JAX_UPDATE,
           "target_actor = [polyak(t, s, tau) for t, s in zip(target_actor, actor, strict=True)]",
           "target_actor = list(target_actor)", "on JAX, the target actor never follows the actor"),
    Mutant("jax-polyak-toward-the-target", JAX_UPDATE,
           "target_critic = [polyak(t, s, tau) for t, s in zip(target_critic, critic, strict=True)]",
           "target_critic = [polyak(s, t, tau) for t, s in zip(target_critic, critic, strict=True)]",
           "on JAX, the target critic's Polyak arguments swapped: theta <- tau theta' + (1 - tau) theta"),
    Mutant("jax-gamma-and-tau-swapped", JAX_UPDATE, "gamma, tau = scalars", "tau, gamma = scalars",
           "on JAX, the discount and the Polyak rate passed in the wrong order"),
    Mutant("jax-weight-decay-ignored", JAX_UPDATE, "[weights[i] for i in self.decayed]", "[]",
           "on JAX, critic_weight_decay accepted and never applied"),
    Mutant("jax-policy-delay-ignored", JAX_UPDATE, "        if delay == 1:\n", "        if True:\n",
           "on JAX, policy_delay accepted and never applied"),
    Mutant("jax-policy-delay-off-by-one", JAX_UPDATE, "critic_slots[self.critic_steps] % delay == 0",
           "critic_slots[self.critic_steps] % delay == 1",
           "on JAX, the delayed actor steps after critic steps 1, 3, ..."),
    Mutant("jax-state-not-written-back", JAX_UPDATE, "                variable.assign(value)\n",
           "                pass\n", "on JAX, the new state dropped: every call starts from the old variables"),
    Mutant("jax-critic-statistics-dropped", JAX_UPDATE,
           "(critic_loss_, critic_stats), grads = jax.value_and_grad(critic_objective, has_aux=True)(critic)",
           "(critic_loss_, _), grads = jax.value_and_grad(critic_objective, has_aux=True)(critic)",
           "on JAX, the critic's moving statistics from its training-mode call dropped: they never move"),
    Mutant("jax-actor-statistics-dropped", JAX_UPDATE,
           "(actor_loss_, actor_stats), grads = jax.value_and_grad(actor_objective, has_aux=True)(",
           "(actor_loss_, _), grads = jax.value_and_grad(actor_objective, has_aux=True)(",
           "on JAX, the actor's moving statistics from its training-mode call dropped: they never move"),
    Mutant("jax-targets-skip-moving-statistics", JAX_UPDATE,
           "target_critic_stats = [polyak(t, s, tau) for t, s in zip(target_critic_stats, critic_stats, strict=True)]",
           "target_critic_stats = list(target_critic_stats)",
           "on JAX, the target critic keeps its initial moving statistics"),
    Mutant("jax-actor-stays-in-training-mode", JAX_UPDATE, "actor_objective(actor, actor_stats, False)[0]",
           "actor_objective(actor, actor_stats, True)[0]",
           "on JAX, J between delayed actor steps with the batch's statistics, unlike TensorFlow's"),
)


def check_catalogue(mutants: tuple[Mutant, ...] = CATALOGUE, root: Path = ROOT) -> list[str]:
    """What no longer applies: a mutant whose text is not found exactly once, a name used twice."""
    problems = []
    names = [mutant.name for mutant in mutants]
    problems += [f"{name}: named twice" for name in sorted({n for n in names if names.count(n) > 1})]
    for mutant in mutants:
        count = (root / mutant.path).read_text().count(mutant.old)
        if count != 1:
            problems.append(f"{mutant.name}: its text is found {count} times in {mutant.path}, not once")
    return problems


def copy_project(destination: Path, root: Path = ROOT) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)


def suite_env(copy: Path) -> dict[str, str]:
    # The copy first on the path, ahead of an installed (or editable) ddpg; subprocesses inherit it.
    return {**os.environ, "PYTHONPATH": str(copy), "HYPOTHESIS_PROFILE": "dev", "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONDONTWRITEBYTECODE": "1"}


def last_killers(table: Path) -> dict[str, str]:
    """{mutant: the test that killed it (or a test file)} from a last run's table; survivors and timeouts have none."""
    if not table.exists():
        return {}
    rows = re.findall(r"^\| (\S+) \| \S+ \| (\S+\.py(?:::\S+)?) \| \d+ \|$", table.read_text(), re.MULTILINE)
    return dict(rows)


def run_pytest(copy: Path, tests: list[str] | tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", *tests],
                          cwd=copy, env=suite_env(copy), capture_output=True, text=True, timeout=TIMEOUT_SECONDS)


def first_failure(result: subprocess.CompletedProcess) -> str | None:
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE)
    return failed.group(1) if failed else None


def run_suite(copy: Path, first: tuple[str, ...] = FIRST, killer: str | None = None) -> tuple[str, str, float]:
    """(survived | killed | timeout, the first failing test, seconds) for the suite run in `copy`, `first` first.

    `killer`, the test that killed this mutant last time, runs before all: it kills only by failing (pytest's
    exit 1 with a failed test named), not by being gone (exit 4) or deselected (exit 5).
    """
    found = subprocess.run([sys.executable, "-c", "import ddpg; print(ddpg.__file__)"], cwd=copy,
                           env=suite_env(copy), capture_output=True, text=True)
    if not found.stdout.strip().startswith(str(copy)):
        raise SystemExit(f"error: the copy's ddpg is not the one imported ({found.stdout.strip() or found.stderr})")
    # The catalogue's own test is left out: it checks that each mutant's text is in the code, so it fails
    # on any applied mutant, and would count as killing one that no test of the algorithm catches.
    rest = sorted(str(path.relative_to(copy)) for folder in ("tests", "property_tests")
                  for path in (copy / folder).glob("test_*.py")
                  if str(path.relative_to(copy)) not in (*first, OWN_TEST))
    start = time.monotonic()
    if killer is not None:
        try:
            result = run_pytest(copy, [killer])
        except subprocess.TimeoutExpired:
            return "timeout", f"no result in {TIMEOUT_SECONDS} s", time.monotonic() - start
        if result.returncode == 1 and first_failure(result):
            return "killed", first_failure(result), time.monotonic() - start
    for tests in (first, rest):
        if not tests:
            continue
        try:
            result = run_pytest(copy, tests)
        except subprocess.TimeoutExpired:
            return "timeout", f"no result in {TIMEOUT_SECONDS} s", time.monotonic() - start
        if result.returncode != 0:
            return "killed", first_failure(result) or f"pytest exit {result.returncode}", time.monotonic() - start
    return "survived", "", time.monotonic() - start


def run_mutant(mutant: Mutant | None, project: Path, killer: str | None = None) -> tuple[str, str, float]:
    with tempfile.TemporaryDirectory(prefix="ddpg-mutant-") as directory:
        copy = Path(directory)
        copy_project(copy, project)
        if mutant is not None:
            path = copy / mutant.path
            path.write_text(path.read_text().replace(mutant.old, mutant.new))
        return run_suite(copy, JAX_FIRST if mutant is not None and mutant.path == JAX_UPDATE else FIRST, killer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these mutants")
    parser.add_argument("--list", action="store_true", help="print the catalogue and stop")
    parser.add_argument("--last-run", type=Path, default=LAST_RUN,
                        help="a last run's table: each mutant's killer there runs first (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.list:
        for mutant in CATALOGUE:
            print(f"{mutant.name:40} {mutant.path:18} {mutant.bug}")
        return 0
    unknown = set(args.names) - {mutant.name for mutant in CATALOGUE}
    problems = check_catalogue() + [f"{name}: no such mutant" for name in sorted(unknown)]
    if problems:
        print("error: the catalogue does not apply:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    selected = [mutant for mutant in CATALOGUE if not args.names or mutant.name in args.names]
    if importlib.util.find_spec("jax") is None:  # the JAX update's tests skip, so its mutants would all survive
        skipped = [mutant.name for mutant in selected if mutant.path == JAX_UPDATE]
        selected = [mutant for mutant in selected if mutant.path != JAX_UPDATE]
        if skipped:
            print(f"not run, JAX is not installed (pip install -e \".[jax]\"): {', '.join(skipped)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="ddpg-snapshot-") as snapshot:
        # Every mutant is made from one snapshot: edits to the tree during the run do not leak in.
        copy_project(Path(snapshot))
        return run_catalogue(selected, Path(snapshot), baseline=not args.names, killers=last_killers(args.last_run))


def run_catalogue(selected: list[Mutant], project: Path, baseline: bool, killers: dict[str, str]) -> int:
    start = time.monotonic()
    if baseline:
        status, failed, seconds = run_mutant(None, project)
        print(f"unmutated suite: {'passed' if status == 'survived' else f'{status} at {failed}'} ({seconds:.0f} s)",
              flush=True)
        if status != "survived":
            return 2
    survivors = []
    print("| mutant | file | killed by | seconds |\n| --- | --- | --- | ---: |", flush=True)
    for mutant in selected:
        status, failed, seconds = run_mutant(mutant, project, killers.get(mutant.name))
        if status == "survived":
            survivors.append(mutant.name)
        print(f"| {mutant.name} | {mutant.path} | {failed if status == 'killed' else status.upper()} | {seconds:.0f} |",
              flush=True)
    print(f"\n{len(selected) - len(survivors)} of {len(selected)} mutants killed"
          f"{': survived ' + ', '.join(survivors) if survivors else ''} ({time.monotonic() - start:.0f} s in all)")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
