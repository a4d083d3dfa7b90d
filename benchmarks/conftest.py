"""Shared fixtures, and the ratio summary printed at the end of `pytest benchmarks --benchmark-only`.

Each benchmark tags itself with `benchmark.extra_info`: `role` (ours, baseline, bound, peer or paired), `per`
(how many units one call does: updates or environment steps) and `unit`; a peer also names itself
(`peer`: SBX, SB3) and its updates per call (`update_every`, K). The summary divides each mean by
`per` and reads the ratios within a group, all from the same run on the same machine: against the
baseline, the bound, and each peer at the same K as ours (ours' K is its `update_every` parameter). The paired
benchmarks (ours and a peer alternated round by round, test_train_step_paired_benchmarks.py) get a table of their
own: each side's median and the median and range of the rounds' ratios.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

# For the peers (test_train_step_peers_benchmarks.py), before anything imports JAX (Keras does, when
# JAX is installed): its CPU backend, without looking for accelerators.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
# SBX uses tensorflow_probability's JAX substrate. Imported after TensorFlow, tensorflow_probability
# loads its TensorFlow parts at once and fails without tf_keras; imported first, it loads nothing
# (1 ms) and the substrate works. Conftest is imported before any benchmark imports TensorFlow.
with contextlib.suppress(ImportError):
    import tensorflow_probability  # noqa: F401

import gymnasium as gym  # noqa: E402

from ddpg.config import DDPGConfig  # noqa: E402
from ddpg.presets import PRESETS  # noqa: E402
from ddpg.replay_buffer import ReplayBuffer  # noqa: E402

MUJOCO_ENV = "HalfCheetah-v5"
MUJOCO_GROUP = f"train_step {MUJOCO_ENV}"


def mujoco_config(update_every: int) -> DDPGConfig:
    """fujimoto2018 on HalfCheetah-v5, learning after one batch: the peers' benchmark uses the same."""
    return DDPGConfig(**{**PRESETS["ourddpg-retuned"], "env_id": MUJOCO_ENV, "update_every": update_every,
                         "learning_starts": 256, "random_steps": 256})


def mujoco_env():
    """HalfCheetah-v5, or a skip with the reason where MuJoCo is not installed."""
    pytest.importorskip("mujoco", reason="MuJoCo is not installed (pip install 'gymnasium[mujoco]'); the "
                                         "HalfCheetah-v5 case needs it")
    return gym.make(MUJOCO_ENV)


def filled_buffer(capacity: int = 50_000, obs_dim: int = 3, action_dim: int = 1, seed: int = 0) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buffer = ReplayBuffer(capacity, obs_dim, action_dim, rng=rng)
    buffer.add_batch(rng.normal(size=(capacity, obs_dim)), rng.uniform(-2, 2, size=(capacity, action_dim)),
                     rng.normal(size=capacity), rng.normal(size=(capacity, obs_dim)), np.zeros(capacity))
    return buffer


@pytest.fixture(scope="session")
def buffer() -> ReplayBuffer:
    return filled_buffer()


def tag(benchmark, role: str, per: int = 1, unit: str = "call", **info: object) -> None:
    benchmark.extra_info.update(role=role, per=per, unit=unit, **info)


def updates_per_call(bench) -> int | None:
    """K of a training-loop benchmark: tagged by a peer, a parameter of ours; None elsewhere."""
    k = bench.extra_info.get("update_every")
    return k if k is not None or not bench.params else bench.params.get("update_every")


def write_paired(write, benches) -> None:
    """The paired benchmarks' table: each side's median ms per step and the rounds' ratios, theirs over ours."""
    write("")
    write("paired summary (ours and the peer alternated round by round in one process; K: the peer's updates per "
          "call, ours K: ours' (a floor group's: one call per round); ms/step: each side's median round; "
          "peer/ours: the median, min and max over rounds of the round's time of the peer over ours)")
    write(f"{'group':<24} {'K':>3} {'ours K':>6} {'rounds':>6} {'ours ms/step':>12} {'peer':<5} {'peer ms/step':>12} "
          f"{'peer/ours median':>16} {'min':>6} {'max':>6}")
    for bench in sorted(benches, key=lambda b: (b.group or "", b.extra_info["update_every"])):
        info = bench.extra_info
        write(f"{bench.group or '':<24} {info['update_every']:>3} {info['ours_update_every']:>6} {info['rounds']:>6} "
              f"{info['ours_ms']:>12.3f} "
              f"{info['peer']:<5} {info['theirs_ms']:>12.3f} {info['ratio_median']:>16.2f} "
              f"{info['ratio_min']:>6.2f} {info['ratio_max']:>6.2f}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list] = {}
    paired = []
    for bench in session.benchmarks:
        if "role" in bench.extra_info and bench.stats is not None and bench.stats.rounds:
            if bench.extra_info["role"] == "paired":
                paired.append(bench)
            else:
                groups.setdefault(bench.group or "", []).append(bench)
    if groups:
        write_groups(terminalreporter.write_line, groups)
    if paired:
        write_paired(terminalreporter.write_line, paired)


def write_groups(write, groups: dict[str, list]) -> None:
    """The ratio summary: each benchmark's ms per unit against its group's baseline, bound and peers."""
    # One column per peer, in the order they ran (SBX, then SB3).
    peers = list(dict.fromkeys(b.extra_info["peer"] for bs in groups.values() for b in bs
                               if b.extra_info["role"] == "peer"))
    write("")
    write("ratio summary (mean time per unit; x = how many times faster than the baseline; "
          "/bound = time over the group's bound (update groups: a NumPy replay of the update's matrix products; "
          "training-step groups: one update's products at the machine's 1024^3 GEMM rate)"
          + ("; ours/PEER = the peer's time over ours at the same updates per call K, how many times "
             "faster ours is)" if peers else ")"))
    write(f"{'group':<28} {'benchmark':<34} {'ms/unit':>9} {'unit':<8} {'x baseline':>10} {'/bound':>7}"
          + "".join(f" {'ours/' + peer:>9}" for peer in peers))
    for name, benches in sorted(groups.items()):
        def per_unit(bench):
            return bench.stats.mean / bench.extra_info["per"] * 1000

        baseline = [per_unit(b) for b in benches if b.extra_info["role"] == "baseline"]
        bound = [per_unit(b) for b in benches if b.extra_info["role"] == "bound"]
        peer_ms = {(b.extra_info["peer"], updates_per_call(b)): per_unit(b)
                   for b in benches if b.extra_info["role"] == "peer"}
        for bench in sorted(benches, key=per_unit):
            ms = per_unit(bench)
            role = bench.extra_info["role"]
            speedup = f"{baseline[0] / ms:9.1f}x" if baseline and role != "baseline" else ""
            over_bound = f"{ms / bound[0]:6.2f}" if bound and role == "ours" else ""
            over_peers = ""
            for peer in peers:
                theirs = peer_ms.get((peer, updates_per_call(bench))) if role == "ours" else None
                over_peers += f" {f'{theirs / ms:.2f}x' if theirs is not None else '':>9}"
            short = bench.name.split("[")[0].removeprefix("test_")
            if bench.param and bench.param not in name:  # the update groups already name their case
                short += f"[{bench.param}]"
            write(f"{name:<28} {short:<34} {ms:9.3f} {bench.extra_info['unit']:<8} {speedup:>10} {over_bound:>7}"
                  + over_peers)
