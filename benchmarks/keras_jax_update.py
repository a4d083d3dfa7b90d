"""Issue 13's lever "Keras 3 on the JAX backend": our update compiled by JAX, against ours on TensorFlow.

    python benchmarks/keras_jax_update.py      # needs JAX, which `pip install -e ".[peers]"` brings

Keras picks its backend once per process, so every measurement is a fresh process, the two backends
alternating, ROUNDS times per case. Each side times ms per update over TIMED_CALLS calls of K
updates (after a compiling call), on random batches. Both also start once from the same weights (the
TensorFlow agent's, passed through a file) and take the same CHECK_CALLS calls of batches; the script
prints how far apart their losses and actor weights end, so that the figure is of the same update.

Both sides are `DDPGAgent.update_many`: on JAX it runs ddpg/jax_update.py (state donated, written
back into the Keras variables after each call), on TensorFlow the compiled update of ddpg/agent.py.
The first figures of docs/speed_levers.md were taken with a prototype of the JAX update inside this
script, before it moved into ddpg/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = {  # name: (obs_dim, action_dim, action bound, preset)
    "Pendulum": (3, 1, 2.0, "keras-example"),
    "HalfCheetah": (17, 6, 1.0, "ourddpg-retuned"),
}
ROUNDS, TIMED_CALLS, CHECK_CALLS = 3, 200, 3


def _config(case: str, k: int):
    from ddpg.config import DDPGConfig
    from ddpg.presets import PRESETS

    return DDPGConfig(**{**PRESETS[CASES[case][3]], "update_every": k})


def random_batches(rng: np.random.Generator, config, k: int, obs_dim: int, action_dim: int) -> tuple[np.ndarray, ...]:
    shape = (k, config.batch_size)
    return (rng.standard_normal((*shape, obs_dim), np.float32),
            rng.uniform(-1, 1, (*shape, action_dim)).astype(np.float32),
            rng.standard_normal((*shape, 1), np.float32), rng.standard_normal((*shape, obs_dim), np.float32),
            (rng.uniform(size=(*shape, 1)) < 0.05).astype(np.float32))


def measure(backend: str, case: str, k: int, weights: Path) -> dict:
    """One process's figures: ms per update, and the losses and actor after CHECK_CALLS calls on fixed batches.

    The agent is ddpg's own, `DDPGAgent.update_many`, on whichever backend Keras runs in this process.
    """
    from ddpg.agent import DDPGAgent
    from ddpg.replay_buffer import Batch

    obs_dim, action_dim, bound, _ = CASES[case]
    config = _config(case, k)
    agent = DDPGAgent(obs_dim, [-bound] * action_dim, [bound] * action_dim, config)
    if backend == "tensorflow":  # run first: its initial state is the one both start from
        np.savez(weights, **agent.get_state())
    else:
        agent.set_state(dict(np.load(weights)))
    fixed = np.random.default_rng(0)
    start = time.perf_counter()
    agent.update_many(Batch(*random_batches(fixed, config, k, obs_dim, action_dim)))
    first_call = time.perf_counter() - start
    for _ in range(CHECK_CALLS - 1):
        losses = agent.update_many(Batch(*random_batches(fixed, config, k, obs_dim, action_dim)))
    actor = [w.numpy().tolist() for w in agent.actor.weights]
    rng = np.random.default_rng(1)
    calls = max(TIMED_CALLS // k, 20)
    batches = [Batch(*random_batches(rng, config, k, obs_dim, action_dim)) for _ in range(calls + 1)]
    agent.update_many(batches[0])
    start = time.perf_counter()
    for batch in batches[1:]:
        agent.update_many(batch)
    seconds = time.perf_counter() - start
    return {"ms_per_update": seconds / (calls * k) * 1e3, "first_call_s": first_call, **losses, "actor": actor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=4, metavar=("BACKEND", "CASE", "K", "WEIGHTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        backend, case, k, weights = args.one
        print(json.dumps(measure(backend, case, int(k), Path(weights))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            for k in (1, 10):
                weights = Path(tmp) / f"{case}-{k}.npz"
                times: dict[str, list[float]] = {"tensorflow": [], "jax": []}
                first: dict[str, float] = {}
                for _ in range(ROUNDS):
                    for backend in times:  # tensorflow first: it writes the weights both start from
                        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
                        out = subprocess.run([sys.executable, __file__, "--one", backend, case, str(k), str(weights)],
                                             env=env, capture_output=True, text=True, check=True).stdout
                        result = json.loads(out.strip().splitlines()[-1])
                        times[backend].append(result["ms_per_update"])
                        first[backend] = result["first_call_s"]
                        if backend == "tensorflow":
                            reference = result
                        else:
                            pairs = zip(result["actor"], reference["actor"], strict=True)
                            gap = max(np.max(np.abs(np.subtract(a, b))) for a, b in pairs)
                            losses = (abs(result["critic_loss"] - reference["critic_loss"]),
                                      abs(result["actor_loss"] - reference["actor_loss"]))
                tf_ms, jax_ms = statistics.median(times["tensorflow"]), statistics.median(times["jax"])
                each = {backend: ", ".join(f"{t:.3f}" for t in values) for backend, values in times.items()}
                print(f"{case} K={k}: TensorFlow {tf_ms:.3f} ms/update ({each['tensorflow']}), JAX {jax_ms:.3f} "
                      f"({each['jax']}): JAX / TensorFlow {jax_ms / tf_ms:.2f}; first call {first['tensorflow']:.2f} "
                      f"and {first['jax']:.2f} s; after {CHECK_CALLS} calls the actors differ by at most {gap:.1e}, "
                      f"the losses by {losses[0]:.1e} and {losses[1]:.1e}", flush=True)


if __name__ == "__main__":
    main()
