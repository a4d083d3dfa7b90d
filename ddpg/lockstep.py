"""Many seeds' Trainers stepped in lock-step, their due updates batched into one vectorised call (issue 25).

Each seed keeps what a single run has: its environment, replay buffer, noise and generators, its own Trainer
(ddpg.loop). A lock step is every seed's `Trainer.step`, taken apart:

    each seed: act, step its environment, store, move on to s'         Trainer.explore
    each seed: the sizes of the update calls due (update_every, ...)    Trainer.updates_due, update_calls
    round r = 1, 2, ...: every seed's r-th call, its minibatches sampled from its own buffer; the seeds whose
        r-th calls have one size share one vectorised call (SeedAxisUpdate), a seed alone in its size
        updates by itself (DDPGAgent.update_many: `fallbacks` counts those calls)
    each seed that ended an episode: its metrics row                    Trainer.end_episode

Under the default schedule (update_every updates after every update_every-th step from learning_starts on), seeds
of one config are due at the same steps, all with calls of one size: one vectorised call per due step. With
update_at_episode_end, each seed's updates come when its episode ends, in calls of update_every and then single
ones for the remainder; seeds whose episodes end together share calls round by round, the rest fall back.

A seed's updates see the same state, batches and order as in its own run, so its numbers are its single run's
to float tolerance (tests/test_lockstep.py). Only Keras's JAX backend has the vectorised update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # both load Keras; importing ddpg.lockstep must not
    from ddpg.loop import Trainer
    from ddpg.vectorized_update import SeedAxisUpdate


class LockstepTrainers:
    """S trainers of one config but their seeds, stepped together; `step(active)` steps those still running."""

    def __init__(self, trainers: Sequence[Trainer]) -> None:
        from ddpg.vectorized_update import SeedAxisUpdate

        self.trainers = list(trainers)
        self.vectorized: SeedAxisUpdate = SeedAxisUpdate([trainer.agent for trainer in self.trainers])
        self.fallbacks = 0  # update calls a seed made by itself: none other was due with a call of its size

    def step(self, active: Sequence[int]) -> dict[int, dict | None]:
        """One step of each trainer in `active` (indices into `trainers`) and the updates due after it: by index,
        the episode's metrics row when the step ended it, else None."""
        ended = {i: self.trainers[i].explore() for i in active}
        calls = {i: self.trainers[i].update_calls(self.trainers[i].updates_due(*ended[i])) for i in active}
        for size, seeds in call_rounds(calls):
            self._update(size, seeds)
        return {i: self.trainers[i].end_episode() if any(ended[i]) else None for i in active}

    def _update(self, size: int, seeds: list[int]) -> None:
        """One call of `size` updates for each of `seeds`, together when there are two or more."""
        trainers = [self.trainers[i] for i in seeds]
        batches = [trainer.sample(size) for trainer in trainers]
        if len(seeds) == 1:
            self.fallbacks += 1
            losses = [trainers[0].agent.update_many(batches[0])]
        else:
            losses = self.vectorized.update_many(batches, among=seeds)
        for trainer, seed_losses in zip(trainers, losses, strict=True):
            trainer.record_losses(seed_losses)


def call_rounds(calls: dict[int, list[int]]) -> list[tuple[int, list[int]]]:
    """Seeds' update calls (sizes, in order) as rounds of (size, seeds): round r holds each seed's r-th call,
    grouped by size, so every seed's calls stay in their order. {0: [10, 1], 1: [10], 2: [1]} ->
    [(10, [0, 1]), (1, [2]), (1, [0])]."""
    rounds = []
    for r in range(max(map(len, calls.values()), default=0)):
        groups: dict[int, list[int]] = {}
        for seed, sizes in calls.items():
            if r < len(sizes):
                groups.setdefault(sizes[r], []).append(seed)
        rounds += groups.items()
    return rounds
