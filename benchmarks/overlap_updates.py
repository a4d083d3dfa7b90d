"""Issue 13's lever "overlap environment steps with the previous block's compiled updates".

    python benchmarks/overlap_updates.py

A prototype of this script only: the Trainer's agent is wrapped so that `update_many` hands its
batches to one background thread and returns at once (with the losses of the call before), while
the loop goes on acting, stepping the environment and storing transitions. TensorFlow releases
the GIL while the compiled call runs. The next due update first waits for the one in flight, so
at most one call runs beside the loop.

What it does to the algorithm: the K steps after an update is launched act with the weights from
before it (the NumPy policy is refreshed when the call ends, mid-block), so the behaviour policy
lags by up to one block of K updates, and the losses reported are one call old. Hence an option
at most, never the default.

Both trainers run in one process on the default config (Pendulum), their episodes alternating,
after one warm-up episode each; ms per environment step, ROUNDS episodes each.
"""

from __future__ import annotations

import math
import statistics
import time
from concurrent.futures import Future, ThreadPoolExecutor

from ddpg.config import DDPGConfig
from ddpg.loop import Trainer

ROUNDS = 6


class OverlappedUpdates:
    """The agent's update_many, run in a background thread one call at a time."""

    def __init__(self, agent) -> None:
        self.agent, self.pool = agent, ThreadPoolExecutor(max_workers=1)
        self.pending: Future | None = None

    def update_many(self, batches) -> dict[str, float]:
        previous = self.pending.result() if self.pending else {"critic_loss": math.nan, "actor_loss": math.nan}
        self.pending = self.pool.submit(self.agent.update_many, batches)
        return previous

    def __getattr__(self, name):
        return getattr(self.agent, name)


def main() -> None:
    for k in (1, 10):
        trainers = {"in turn": Trainer(DDPGConfig(update_every=k)), "overlapped": Trainer(DDPGConfig(update_every=k))}
        trainers["overlapped"].agent = OverlappedUpdates(trainers["overlapped"].agent)
        times: dict[str, list[float]] = {name: [] for name in trainers}
        returns: dict[str, list[float]] = {name: [] for name in trainers}
        for trainer in trainers.values():
            trainer.run_episode()  # compiles, and fills the buffer past a batch
        for _ in range(ROUNDS):
            for name, trainer in trainers.items():
                start = time.perf_counter()
                row = trainer.run_episode()
                times[name].append((time.perf_counter() - start) / 200 * 1e3)
                returns[name].append(row["return"])
        a, b = statistics.median(times["in turn"]), statistics.median(times["overlapped"])
        print(f"K={k}: in turn {a:.3f} ms/step, overlapped {b:.3f} ms/step (medians of {ROUNDS} episodes): "
              f"overlapped / in turn {b / a:.2f}; returns of the timed episodes: in turn "
              f"{', '.join(f'{r:.0f}' for r in returns['in turn'])}; overlapped "
              f"{', '.join(f'{r:.0f}' for r in returns['overlapped'])}", flush=True)


if __name__ == "__main__":
    main()
