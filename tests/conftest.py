"""Fixtures shared by the test files (helpers.py holds the plain functions and constants they use)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RUN


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> Path:
    """A run of 2 episodes of the short Pendulum, finished, trained in this process; copy it to change it."""
    from ddpg.cli import main

    run = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", "--episodes", "2", "--out", str(run), *RUN]) == 0
    return run
