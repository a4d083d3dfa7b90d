"""Many seeds at once: a 5-seed Pendulum sweep on this machine's cores, as a user runs it, whole processes.

The baseline is the process pool, `ddpg sweep --workers 2` (TensorFlow, the default backend: each run its own
process, its own per-call cost, its own small products); "ours" is `KERAS_BACKEND=jax ddpg sweep --vectorize`
(one process, the five seeds' updates as one compiled call over a seed axis, ddpg.vectorized_update). A peer
row is the pool on JAX (`KERAS_BACKEND=jax ddpg sweep --workers 2`), to separate the backend from the
batching. Each is timed from its start to its last file, imports and compilation included, at K = 1 and
K = 10; the unit is one environment step of the sweep (5 seeds x EPISODES x 200), so the summary's
"x baseline" is the ratio of total environment steps per second. Skipped where JAX is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import tag

pytestmark = pytest.mark.slow

SEEDS, EPISODES = 5, 20
STEPS = SEEDS * EPISODES * 200


def sweep(tmp_path, update_every: int, *options: str, backend: str = "tensorflow") -> None:
    out = tmp_path / f"sweep-{backend}-{'-'.join(options)}"
    result = subprocess.run(
        [sys.executable, "-m", "ddpg", "sweep", "--seeds", f"0-{SEEDS - 1}", "--episodes", str(EPISODES),
         "--update-every", str(update_every), "--out", str(out), "--overwrite", *options],
        capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr
    assert len(list(out.glob("seed_*/metrics.csv"))) == SEEDS


def needs_jax() -> None:
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (pip install -e '.[jax]'); --vectorize needs it")


@pytest.fixture(autouse=True)
def timed_only(benchmark):
    """Whole sweeps only when they are timed: with --benchmark-disable (the test run) they would add minutes and
    prove nothing that tests/test_cli.py's and tests/test_sweep_vectorize.py's sweeps do not."""
    if benchmark.disabled:
        pytest.skip("a whole sweep, run only to be timed (pytest --benchmark-only)")


@pytest.mark.parametrize("update_every", [1, 10])
def test_process_pool_sweep(benchmark, tmp_path, update_every):
    benchmark.group = f"sweep {SEEDS} seeds K={update_every}"
    tag(benchmark, "baseline", per=STEPS, unit="step")
    benchmark.pedantic(sweep, args=(tmp_path, update_every, "--workers", "2"), rounds=1, iterations=1)


@pytest.mark.parametrize("update_every", [1, 10])
def test_process_pool_sweep_on_jax(benchmark, tmp_path, update_every):
    needs_jax()
    benchmark.group = f"sweep {SEEDS} seeds K={update_every}"
    tag(benchmark, "peer", per=STEPS, unit="step", peer="pool-on-JAX", update_every=update_every)
    benchmark.pedantic(sweep, args=(tmp_path, update_every, "--workers", "2"), kwargs={"backend": "jax"},
                       rounds=1, iterations=1)


@pytest.mark.parametrize("update_every", [1, 10])
def test_vectorized_sweep(benchmark, tmp_path, update_every):
    needs_jax()
    benchmark.group = f"sweep {SEEDS} seeds K={update_every}"
    tag(benchmark, "ours", per=STEPS, unit="step")
    benchmark.pedantic(sweep, args=(tmp_path, update_every, "--vectorize"), kwargs={"backend": "jax"},
                       rounds=1, iterations=1)
