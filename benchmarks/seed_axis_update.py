"""One vmapped update of S seeds against the S seeds' own updates, alternating in one process (docs/speed_levers.md).

    KERAS_BACKEND=jax python benchmarks/seed_axis_update.py [--seeds 5] [--rounds 5] [--calls 100]

S agents of the default config (Pendulum's spaces, batch 64) and one random batch each (keras_jax_update's
`random_batches`, K = 1): each round times `calls` calls of `SeedAxisUpdate.update_many` (the S updates in one
jitted call over a seed axis) and as many rounds of each agent's own `DDPGAgent.update_many`, both warmed up
first. Prints ms per S updates and, for the vmapped call, the process's CPU time over wall time (how many cores
the call keeps busy). A script, not a test: Keras on JAX only.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from keras_jax_update import random_batches  # noqa: E402  (beside this script)

from ddpg.agent import DDPGAgent  # noqa: E402
from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.replay_buffer import Batch  # noqa: E402
from ddpg.vectorized_update import SeedAxisUpdate  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    agents = [DDPGAgent(3, [-2.0], [2.0], DDPGConfig(seed=seed)) for seed in range(args.seeds)]
    rng = np.random.default_rng(0)
    batches = [Batch(*random_batches(rng, agents[0].config, 1, 3, 1)) for _ in agents]  # K = 1: [1, B, ...]
    vectorized = SeedAxisUpdate(agents)

    def each_alone() -> None:
        vectorized.write_back()  # a no-op after the first: the agents' own updates then hold the state
        for agent, batch in zip(agents, batches, strict=True):
            agent.update_many(batch)

    cases = {"vmapped": lambda: vectorized.update_many(batches), "each alone": each_alone}
    times: dict[str, list[float]] = {name: [] for name in cases}
    busy: list[float] = []
    for _ in range(20):
        for case in cases.values():
            case()
    for _ in range(args.rounds):
        for name, case in cases.items():
            cpu, start = cpu_seconds(), time.perf_counter()
            for _ in range(args.calls):
                case()
            wall = time.perf_counter() - start
            times[name].append(wall / args.calls * 1e3)
            if name == "vmapped":
                busy.append((cpu_seconds() - cpu) / wall)
    for name, values in times.items():
        print(f"{name}: ms per {args.seeds} updates " + " ".join(f"{value:.2f}" for value in values)
              + f", median {statistics.median(values):.2f}")
    print(f"vmapped call: CPU time / wall time median {statistics.median(busy):.2f}; each alone / vmapped "
          f"{statistics.median(times['each alone']) / statistics.median(times['vmapped']):.2f}")


if __name__ == "__main__":
    main()
