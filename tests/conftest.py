"""Fixtures shared by the test files (helpers.py holds the plain functions and constants they use)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import NEWEST_PYTHON, RUN

# What tox's older Pythons leave to the newest one (tox.ini): each variable, set to 1, skips the tests with its mark,
# if tox can find the newest Python (NEWEST_PYTHON) here to run them.
SKIPPED_MARKS = {
    "DDPG_SKIP_SLOW": ("slow", "slow: tox runs it on the newest Python (py313) only"),
    "DDPG_SKIP_COMPILED": ("compiled", "compiled: tox runs it on py313 and on py310, whose Keras is older"),
}


def pytest_collection_modifyitems(config, items) -> None:
    """DDPG_SKIP_SLOW=1 (py310-py312) skips the tests marked slow: they drive whole runs, sweeps and processes, the
    same code on every Python. DDPG_SKIP_COMPILED=1 (py311, py312) also skips those marked compiled, files whose tests
    compile an update and train with it, most of them for seconds: py311 and py312 install py313's TensorFlow and
    Keras (py311 a NumPy between py310's and py313's; docs/testing.md), and the Python code those tests run, py310
    and py313 both run. Without the newest Python on PATH (Debian 12's python3 alone, say), nothing is skipped:
    nothing else would run them."""
    if shutil.which(NEWEST_PYTHON) is None:
        return
    for variable, (mark, reason) in SKIPPED_MARKS.items():
        if os.environ.get(variable):
            skip = pytest.mark.skip(reason=reason)
            for item in items:
                if mark in item.keywords:
                    item.add_marker(skip)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A run of 2 episodes of the short Pendulum, finished, trained in this process; copy it to change it."""
    from ddpg.cli import main

    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", "--episodes", "2", "--out", str(run), *RUN]) == 0
    return run
