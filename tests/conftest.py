"""Fixtures shared by the test files (helpers.py holds the plain functions and constants they use)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import RUN


def pytest_collection_modifyitems(config, items) -> None:
    """DDPG_SKIP_SLOW=1 (tox's environments but the newest Python's) skips the tests marked slow: they drive whole
    runs, sweeps and processes, the same code on every Python, at about 4/5 of the suite's time."""
    if os.environ.get("DDPG_SKIP_SLOW"):
        skip = pytest.mark.skip(reason="slow: tox runs it on the newest Python (py313) only")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A run of 2 episodes of the short Pendulum, finished, trained in this process; copy it to change it."""
    from ddpg.cli import main

    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", "--episodes", "2", "--out", str(run), *RUN]) == 0
    return run
