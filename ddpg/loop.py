"""The training loop of DDPG: Algorithm 1 of Lillicrap et al. (2016), one environment step at a time.

    initialise mu, Q, their targets mu' <- mu, Q' <- Q, and the replay buffer R   Trainer.__init__
    for each episode: initialise the noise N, observe s_1                         _begin_episode
        for each step t: a_t = mu(s_t) + N_t (uniform random while warming up)   Explorer.act
            execute a_t, observe r_t, s_{t+1}; store (s_t, a_t, r_t, s_{t+1})     explore
            sample N transitions from R; update Q, then mu, then mu' and Q'      updates_due, DDPGAgent.update_many
            (or, with update_at_episode_end, as many updates at the episode's end)

With normalize_observations, as Stable-Baselines3 runs an off-policy algorithm on a VecNormalize: every
observation received (s_1 of each reset, each s_{t+1}, the warm-up's too) updates the running statistics before
anything uses it; mu acts on normalize(s_t), and the buffer keeps raw observations, normalised with the
statistics of the moment when a batch is drawn. Evaluation and the saved actors use them frozen.

The budget, the run's files, evaluation and signals are `ddpg.training`'s, what a checkpoint holds of
the trainer `ddpg.run_state`'s: this is the algorithm.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from ddpg.config import DDPGConfig
from ddpg.environments import check_finite, check_observation, config_env
from ddpg.exploration import Explorer, make_noise
from ddpg.normalization import RunningMeanStd
from ddpg.replay_buffer import Batch, ReplayBuffer
from ddpg.run_schema import trailing_average

if TYPE_CHECKING:  # the agent loads TensorFlow; importing ddpg.loop must not
    from ddpg.agent import DDPGAgent

# With one update per step on TensorFlow, steps run in blocks of one TensorFlow call each (DDPGAgent.run_steps):
# a call costs about as much as an update's arithmetic (docs/speed_levers.md). A block ends with its episode, or
# where the run wants control back (an evaluation, the budget, a signal), or after this many steps, which bounds
# how long a signal waits: Python runs its handler only between TensorFlow calls.
STEPS_IN_GRAPH = True
BLOCK_STEPS = 1000


def _nothing() -> None:
    pass


def _never() -> bool:
    return False


class Trainer:
    """The state of a run (environment, agent, replay buffer, explorer, counters), advanced by `step`.

    Seeding: one seed drives everything: Keras (the initial weights), the noise, the replay
    sampling, the warm-up's random actions, and the environment through its first reset.
    """

    def __init__(self, config: DDPGConfig, env: gym.Env | None = None) -> None:
        self.config = config
        self.env = env if env is not None else config_env(config)  # before TensorFlow loads
        # Here, so that importing ddpg.loop loads no TensorFlow.
        from ddpg.agent import DDPGAgent
        from ddpg.backend import keras

        obs_dim = self.env.observation_space.shape[0]
        low, high = self.env.action_space.low, self.env.action_space.high
        keras.utils.set_random_seed(config.seed)
        # Child i of a SeedSequence does not depend on how many are spawned: adding the warm-up's
        # generator left the noise's and the buffer's streams (and so the default run) as they were.
        noise_seed, buffer_seed, warmup_seed = np.random.SeedSequence(config.seed).spawn(3)
        self.agent: DDPGAgent = DDPGAgent(obs_dim, low, high, config)
        # The observations' running statistics (None: the networks see observations as they come).
        self.normalizer = RunningMeanStd(obs_dim) if config.normalize_observations else None
        # mu on observations as the environment gives them: acting and evaluation call it.
        self.policy = self.agent.policy if self.normalizer is None else self._policy_on_normalized
        self.explorer = Explorer(self.policy, low, high, make_noise(config, low, high,
                                                                           np.random.default_rng(noise_seed)),
                                 config.random_steps, np.random.default_rng(warmup_seed))
        self.buffer = ReplayBuffer(config.buffer_capacity, obs_dim, low.shape[0],
                                   rng=np.random.default_rng(buffer_seed))
        self.episode = 0  # finished episodes
        self.steps = 0
        self.returns: list[float] = []
        self.losses = {"critic_loss": math.nan, "actor_loss": math.nan}
        self.obs: np.ndarray | None = None  # None between episodes
        self.stop_requested: str | None = None  # set by a signal handler; checked after every step
        self._episode = {"return": 0.0, "steps": 0, "start": 0.0, "updates": 0, "critic_loss": 0.0,
                         "actor_loss": 0.0}

    def _begin_episode(self) -> None:
        # Seeded once, at the run's first reset; later resets continue the environment's generator.
        self.obs, _ = self.env.reset(seed=self.config.seed if self.episode == 0 else None)
        check_observation(self.obs, self.env.observation_space.shape, "from the reset after step", self.steps)
        self._observe(self.obs)
        self.explorer.noise.reset()  # "Initialize a random process N for action exploration"
        self._episode.update({"return": 0.0, "steps": 0, "start": time.perf_counter(), "updates": 0,
                              "critic_loss": 0.0, "actor_loss": 0.0})

    def step(self) -> dict | None:
        """One environment step of Algorithm 1, and the updates due after it; the episode's metrics row when the
        step ended it, else None."""
        terminated, truncated = self.explore()
        self._update(self.updates_due(terminated, truncated))
        return self.end_episode() if terminated or truncated else None

    def advance(self, before_step: Callable[[], None], hand_back: Callable[[], bool]) -> dict | None:
        """`step`, with before_step() before it; or, where steps run in the graph (`steps_in_graph`), as many such
        steps as until the episode ends or hand_back() (asked after each step) wants control back. The episode's
        metrics row if the last step ended it, else None; the same steps, updates and rows either way."""
        before_step()
        if not self.steps_in_graph:
            return self.step()
        # The block's first before_step ran above, outside TensorFlow: at an episode's start (always a block's first
        # step) it copies the agent's variables, a TensorFlow call, which inside the block's call would wait forever
        # for a thread where TensorFlow has one inter-op thread (a sweep's workers). Later steps' are NumPy only.
        ended, first = False, True

        def host_step(actor_weights: list[np.ndarray]) -> tuple[Batch | None, bool]:
            nonlocal ended, first
            self.agent.policy.use_weights(actor_weights)
            if not first:
                before_step()
            first = False
            terminated, truncated = self.explore()
            ended = terminated or truncated
            due = self.updates_due(terminated, truncated)  # 0 or 1: update_every is 1
            batch = Batch(*(column[0] for column in self.sample(1))) if due else None
            return batch, ended or bool(self.stop_requested) or hand_back()

        taken = self.agent.run_steps(host_step, BLOCK_STEPS)
        if taken.updates:
            self.losses = {"critic_loss": taken.critic_loss, "actor_loss": taken.actor_loss}
            self._episode["updates"] += taken.updates
            self._episode["critic_loss"] += taken.critic_loss_sum
            self._episode["actor_loss"] += taken.actor_loss_sum
        if taken.error is not None:
            raise taken.error
        return self.end_episode() if ended else None

    @property
    def steps_in_graph(self) -> bool:
        """Whether `advance` runs blocks of steps in one TensorFlow call: one update after every step, on
        TensorFlow (STEPS_IN_GRAPH)."""
        config = self.config
        return (STEPS_IN_GRAPH and config.update_every == 1 and not config.update_at_episode_end
                and self.agent.runs_steps)

    def explore(self) -> tuple[bool, bool]:
        """Act, step the environment, store the transition and move on to s'; (terminated, truncated). The
        updates due after it (`updates_due`) are the caller's: `step`'s, or ddpg.lockstep's for many seeds."""
        if self.obs is None:
            self._begin_episode()
        action = self.explorer.act(self.obs, self.steps)  # a = clip(mu(s) + N, low, high)
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        check_observation(next_obs, self.env.observation_space.shape, "at step", self.steps + 1)
        check_finite(self.steps + 1, next_obs, action, reward)  # as float32, before anything learns from it
        self._observe(next_obs)
        self.steps += 1
        # terminated, not truncated: a time-limit cut still bootstraps from s'.
        self.buffer.add(self.obs, action, reward, next_obs, terminated)
        self._episode["return"] += float(reward)
        self._episode["steps"] += 1
        self.obs = next_obs
        return bool(terminated), bool(truncated)

    def updates_due(self, terminated: bool, truncated: bool) -> int:
        """How many updates are due after the step just taken: update_every after every update_every-th step, or
        with update_at_episode_end as many as the episode had steps at its end; none before learning_starts."""
        config = self.config
        if self.steps >= config.learning_starts:
            if config.update_at_episode_end:  # the TD3 paper's DDPG: as many updates as the episode had steps
                if terminated or truncated:
                    return self._episode["steps"]
            elif self.steps % config.update_every == 0:
                return config.update_every
        return 0

    def _observe(self, obs: np.ndarray) -> None:
        """An observation received from the environment updates the running statistics (VecNormalize's reset and
        step_wait do so before they return it)."""
        if self.normalizer is not None:
            self.normalizer.update(obs)

    def _policy_on_normalized(self, obs: np.ndarray) -> np.ndarray:
        """mu(normalize(s)), with the statistics as they are now."""
        return self.agent.policy(self.normalizer.normalize(obs))

    def observation_statistics(self) -> dict | None:
        """The normalisation's statistics now ({mean, var, count}, a copy), None without normalisation: what a
        saved actor freezes into its layers."""
        return None if self.normalizer is None else self.normalizer.get_state()

    def _update(self, count: int) -> None:
        """count updates, in compiled calls (`update_calls`); each call's losses are one for the episode's means."""
        for size in self.update_calls(count):
            self.record_losses(self.agent.update_many(self.sample(size)))

    def update_calls(self, count: int) -> list[int]:
        """count updates as the sizes of their compiled calls: update_every updates each and single ones for the
        rest (two batch shapes only, so nothing retraces)."""
        calls = [self.config.update_every] * (count // self.config.update_every)
        calls += [1] * (count % self.config.update_every)
        return calls

    def record_losses(self, losses: dict[str, float]) -> None:
        """One update call's losses (of its last update): the latest, and one more for the episode's means."""
        self.losses = losses
        self._episode["updates"] += 1
        self._episode["critic_loss"] += self.losses["critic_loss"]
        self._episode["actor_loss"] += self.losses["actor_loss"]

    def run_episode(self) -> dict:
        """Steps to the end of the current (or a new) episode (in blocks where steps run in the graph); its
        metrics row."""
        while (row := self.advance(_nothing, _never)) is None:
            pass
        return row

    def run_steps(self, count: int) -> None:
        """count steps (in blocks where steps run in the graph), across episodes as they end."""
        target = self.steps + count
        while self.steps < target:
            self.advance(_nothing, lambda: self.steps >= target)

    def end_episode(self) -> dict:
        """The episode just ended: its counters closed, its metrics row."""
        seconds = time.perf_counter() - self._episode["start"]
        self.episode += 1
        self.returns.append(self._episode["return"])
        self.obs = None
        calls = self._episode["updates"]
        # The losses are those of the episode's last update; the means are over its update calls (each
        # the loss of the call's last update), for TensorBoard. Q's mean is minus the actor's loss.
        return {"episode": self.episode, "steps": self.steps, "return": self._episode["return"],
                "average_return_40": trailing_average(self.returns),
                "steps_per_second": self._episode["steps"] / seconds if seconds > 0 else math.nan, **self.losses,
                "mean_critic_loss": self._episode["critic_loss"] / calls if calls else math.nan,
                "mean_actor_loss": self._episode["actor_loss"] / calls if calls else math.nan}

    def sample(self, count: int) -> Batch:
        """count minibatches drawn at once, stacked as [count, batch_size, ...]; with normalisation, s and s'
        normalised with the statistics now (as SB3's ReplayBuffer.sample normalises with its VecNormalize's)."""
        batch = self.buffer.sample(self.config.batch_size * count)
        if self.normalizer is not None:
            batch = batch._replace(obs=self.normalizer.normalize(batch.obs),
                                   next_obs=self.normalizer.normalize(batch.next_obs))
        return Batch(*(column.reshape(count, self.config.batch_size, -1) for column in batch))

    def close(self) -> None:
        self.env.close()
