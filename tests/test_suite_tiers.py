"""What each tox environment skips (tests/conftest.py): DDPG_SKIP_SLOW the tests marked slow, DDPG_SKIP_COMPILED
the tests marked compiled, and nothing else, so that an older Python's shorter run still runs every other test;
and nothing at all where the newest Python cannot be found, because then nothing else runs them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import NEWEST_PYTHON

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # pytest in a process per case, the same on every Python

MARKED_COMPILED = "tests/test_agent.py::test_targets_start_equal_to_the_online_networks"
MARKED_SLOW = "benchmarks/test_update_benchmarks.py::test_bound_matmul_replay[b64 h256-256]"  # a second, timed
UNMARKED = "tests/test_noise.py::test_ou_first_two_samples_by_hand"


def outcomes(path: Path, **skip: str) -> dict[str, str]:
    """Each of the three tests' outcome in a pytest process with the given DDPG_SKIP_* variables and PATH."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DDPG_SKIP_")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                             MARKED_COMPILED, MARKED_SLOW, UNMARKED], cwd=ROOT, capture_output=True, text=True,
                            env={**environment, **skip, "PATH": str(path)}, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    return {test: next(line[len(test):].split()[0] for line in lines if line.startswith(test + " ")) for test in
            (MARKED_COMPILED, MARKED_SLOW, UNMARKED)}


@pytest.fixture
def newest_python_on_path(tmp_path) -> Path:
    """A PATH on which tox would find the newest Python, as an executable file."""
    (tmp_path / NEWEST_PYTHON).write_text("#!/bin/sh\n")
    (tmp_path / NEWEST_PYTHON).chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("skip, skipped", [
    ({}, set()),
    ({"DDPG_SKIP_SLOW": "1"}, {MARKED_SLOW}),
    ({"DDPG_SKIP_SLOW": "1", "DDPG_SKIP_COMPILED": "1"}, {MARKED_SLOW, MARKED_COMPILED}),
], ids=["py313", "py310", "py311-py312"])
def test_each_environment_skips_exactly_the_marks_it_names(newest_python_on_path, skip, skipped):
    assert outcomes(newest_python_on_path, **skip) == {test: "SKIPPED" if test in skipped else "PASSED"
                                                       for test in (MARKED_COMPILED, MARKED_SLOW, UNMARKED)}


def test_without_the_newest_python_an_older_one_runs_everything(tmp_path):
    # Debian 12's python3 alone, say: tox runs py311 only, and the tests it would leave to py313 run there.
    everything = {test: "PASSED" for test in (MARKED_COMPILED, MARKED_SLOW, UNMARKED)}
    assert outcomes(tmp_path, DDPG_SKIP_SLOW="1", DDPG_SKIP_COMPILED="1") == everything
