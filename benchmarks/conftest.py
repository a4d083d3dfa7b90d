"""Shared fixtures, and the ratio summary printed at the end of `pytest benchmarks --benchmark-only`.

Each benchmark tags itself with `benchmark.extra_info`: `role` (ours, baseline or bound), `per`
(how many units one call does: updates or environment steps) and `unit`. The summary divides each
mean by `per` and reads the ratios within a group, all from the same run on the same machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from ddpg.replay_buffer import ReplayBuffer


def filled_buffer(capacity: int = 50_000, obs_dim: int = 3, action_dim: int = 1, seed: int = 0) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buffer = ReplayBuffer(capacity, obs_dim, action_dim, rng=rng)
    buffer.add_batch(rng.normal(size=(capacity, obs_dim)), rng.uniform(-2, 2, size=(capacity, action_dim)),
                     rng.normal(size=capacity), rng.normal(size=(capacity, obs_dim)), np.zeros(capacity))
    return buffer


@pytest.fixture(scope="session")
def buffer() -> ReplayBuffer:
    return filled_buffer()


def tag(benchmark, role: str, per: int = 1, unit: str = "call") -> None:
    benchmark.extra_info.update(role=role, per=per, unit=unit)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list] = {}
    for bench in session.benchmarks:
        if "role" in bench.extra_info and bench.stats is not None and bench.stats.rounds:
            groups.setdefault(bench.group or "", []).append(bench)
    if not groups:
        return
    write = terminalreporter.write_line
    write("")
    write("ratio summary (mean time per unit; x = how many times faster than the baseline; "
          "/bound = time over the NumPy replay of the same matrix products)")
    write(f"{'group':<28} {'benchmark':<34} {'ms/unit':>9} {'unit':<8} {'x baseline':>10} {'/bound':>7}")
    for name, benches in sorted(groups.items()):
        def per_unit(bench):
            return bench.stats.mean / bench.extra_info["per"] * 1000

        baseline = [per_unit(b) for b in benches if b.extra_info["role"] == "baseline"]
        bound = [per_unit(b) for b in benches if b.extra_info["role"] == "bound"]
        for bench in sorted(benches, key=per_unit):
            ms = per_unit(bench)
            speedup = f"{baseline[0] / ms:9.1f}x" if baseline and bench.extra_info["role"] != "baseline" else ""
            over_bound = f"{ms / bound[0]:6.2f}" if bound and bench.extra_info["role"] == "ours" else ""
            short = bench.name.split("[")[0].removeprefix("test_")
            if bench.param and bench.param not in name:  # the update groups already name their case
                short += f"[{bench.param}]"
            write(f"{name:<28} {short:<34} {ms:9.3f} {bench.extra_info['unit']:<8} {speedup:>10} {over_bound:>7}")
