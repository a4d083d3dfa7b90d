"""Ways of doing the same work timed in alternating rounds in one process, so that the host's drift falls on all of
them alike (the lever scripts: steps_in_graph.py, nested_update_levers.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def alternate(ways: dict[str, Callable[[], object]], rounds: int, count: int, unit: str) -> dict[str, list[float]]:
    """Each round runs every way once, in order; a way's time is ms per one of the `count` units it does. Prints
    each round as it ends; returns the times per way."""
    times: dict[str, list[float]] = {way: [] for way in ways}
    for round_ in range(rounds):
        for way, run in ways.items():
            start = time.perf_counter()
            run()
            times[way].append((time.perf_counter() - start) / count * 1e3)
        print(f"round {round_}: " + ", ".join(f"{way} {ms[-1]:.3f}" for way, ms in times.items()) + f" ms/{unit}",
              flush=True)
    return times


def report(label: str, times: dict[str, list[float]], base: str, unit: str) -> None:
    """Each way's median and its speed against the `base` way's."""
    reference = statistics.median(times[base])
    for way, ms in times.items():
        print(f"{label}, {way}: median {statistics.median(ms):.3f} ms/{unit} "
              f"({reference / statistics.median(ms):.2f}x {base})")
