"""Two TensorFlow executor settings for the one-update-per-call update (issue 25, docs/speed_levers.md).

    python benchmarks/executor_levers.py [--case pendulum|halfcheetah] [--rounds 8]

- `single-threaded`: the update's graph run by TensorFlow's SINGLE_THREADED_EXECUTOR
  (`tf.experimental.function_executor_type`), which schedules ops inline instead of through the thread pool.
  Two agents from the same state, one per executor, alternate rounds of 300 updates in this process; the state
  after their first updates is compared (the executor must not change a float).
- `autojit`: TensorFlow's XLA auto-clustering of the plain graph (TF_XLA_FLAGS="--tf_xla_auto_jit=2
  --tf_xla_cpu_global_jit"), which can only be set before TensorFlow loads: a process of its own and one
  without, alternating, each printing its median.

Pendulum: the default config (batch 64, 256-256); halfcheetah: `ourddpg-retuned` (batch 256, 256-256), on
random batches of HalfCheetah-v5's sizes. A script: it prints ms per update and the ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

UPDATES = 300
AUTOJIT = "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"


def agent_and_batches(case: str):
    from ddpg.agent import DDPGAgent
    from ddpg.config import DDPGConfig
    from ddpg.presets import PRESETS
    from ddpg.replay_buffer import Batch

    obs, act, config = (3, 1, DDPGConfig(update_every=1)) if case == "pendulum" else (
        17, 6, DDPGConfig(**PRESETS["ourddpg-retuned"]))
    rng, size = np.random.default_rng(0), config.batch_size
    batches = [Batch(rng.normal(size=(size, obs)).astype("f"), rng.uniform(-1, 1, (size, act)).astype("f"),
                     rng.normal(size=(size, 1)).astype("f"), rng.normal(size=(size, obs)).astype("f"),
                     np.zeros((size, 1), "f")) for _ in range(50)]
    return (lambda: DDPGAgent(obs, -np.ones(act), np.ones(act), config)), batches


def ms_per_update(agent, batches) -> float:
    start = time.perf_counter()
    for i in range(UPDATES):
        agent.update(batches[i % len(batches)])
    return (time.perf_counter() - start) / UPDATES * 1e3


def alternated(names, rounds: int):
    """The two names once each per round, the first first in even rounds and last in odd ones."""
    first, second = names
    for round_ in range(rounds):
        yield from (first, second) if round_ % 2 == 0 else (second, first)


def single_threaded(case: str, rounds: int) -> None:
    import tensorflow as tf

    make, batches = agent_and_batches(case)
    default, single = make(), make()
    single.set_state(default.get_state())
    executor = lambda: tf.experimental.function_executor_type("SINGLE_THREADED_EXECUTOR")  # noqa: E731
    for batch in batches[:5]:
        default.update(batch)
        with executor():
            single.update(batch)
    a, b = default.get_state(), single.get_state()
    print(f"state after 5 updates, largest difference: {max(float(np.abs(a[k] - b[k]).max()) for k in a):g}")
    times = {"default": [], "single-threaded": []}
    for name in alternated(times, rounds):
        if name == "default":
            times[name].append(ms_per_update(default, batches))
        else:
            with executor():
                times[name].append(ms_per_update(single, batches))
    report(case, times)


def autojit(case: str, rounds: int) -> None:
    times = {"default": [], "autojit": []}
    for name in alternated(times, rounds):
        env = {**os.environ, "TF_XLA_FLAGS": AUTOJIT} if name == "autojit" else {
            key: value for key, value in os.environ.items() if key != "TF_XLA_FLAGS"}
        printed = subprocess.run([sys.executable, __file__, "--case", case, "--one-process"], env=env, check=True,
                                 capture_output=True, text=True).stdout
        times[name].append(float(printed.split()[-1]))
    report(case, times)


def report(case: str, times: dict[str, list[float]]) -> None:
    (first, a), (second, b) = times.items()
    for name, values in times.items():
        print(f"{case}, {name}: ms per update {' '.join(f'{v:.3f}' for v in values)}, median {np.median(values):.3f}")
    print(f"{case}: {first} / {second} per round, median {np.median(np.array(a) / np.array(b)):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="pendulum", choices=("pendulum", "halfcheetah"))
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--one-process", action="store_true", help="(autojit's child: one median, printed)")
    args = parser.parse_args()
    if args.one_process:
        make, batches = agent_and_batches(args.case)
        agent = make()
        for batch in batches[:5]:
            agent.update(batch)
        print(np.median([ms_per_update(agent, batches) for _ in range(4)]))
        return
    single_threaded(args.case, args.rounds)
    autojit(args.case, max(2, args.rounds // 4))


if __name__ == "__main__":
    main()
