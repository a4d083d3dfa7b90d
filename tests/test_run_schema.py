"""The run's trailing average: what metrics.csv's average_return_40 and a resumed run's result report."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ddpg import run_schema
from ddpg.run_schema import AVERAGE_WINDOW, trailing_average, trailing_averages


def test_trailing_average_by_hand():
    assert trailing_average([1.0]) == 1.0
    assert trailing_average([1.0, 2.0, 6.0]) == 3.0  # fewer than the window at the start: all of them
    assert trailing_average([100.0] + [2.0] * AVERAGE_WINDOW) == 2.0  # the 41st return back is out of the window


@given(st.lists(st.floats(-1e4, 1e4), max_size=3 * AVERAGE_WINDOW))
def test_trailing_averages_are_the_trailing_average_after_each_episode(returns):
    assert trailing_averages(returns) == [trailing_average(returns[:i]) for i in range(1, len(returns) + 1)]


def test_trailing_averages_read_a_window_each(monkeypatch):
    # A resumed run rebuilds its result's averages from every return so far: by prefixes, 300,000 episodes of a
    # pendulum that never learns (3 steps each) took tens of seconds at each resume; by windows, a fraction of one.
    seen = []
    monkeypatch.setattr(run_schema, "trailing_average", lambda returns: seen.append(len(returns)) or 0.0)
    trailing_averages(list(np.arange(500.0)))
    assert len(seen) == 500 and max(seen) == AVERAGE_WINDOW
