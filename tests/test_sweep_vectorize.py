"""`ddpg sweep --vectorize` (issue 25): the seeds of a config trained together in one process leave the files and the
table that the process pool leaves, to float tolerance; refused in one line where it cannot apply.

The refusals run everywhere; the sweeps need Keras on JAX (KERAS_BACKEND=jax: `tox -e jax`).
"""

import importlib.util
import os

import pytest
from helpers import TINY, assert_one_line, assert_same_rows, rows_of

from ddpg.cli import main

ON_JAX = importlib.util.find_spec("jax") is not None and os.environ.get("KERAS_BACKEND") == "jax"
# Pendulum itself: the pool's workers are fresh processes, where the tests' own environments are unknown.
SWEEP = ["sweep", "--seeds", "0-1", "--episodes", "1", "--eval-episodes", "2", "--update-every", "5", *TINY]


def test_vectorize_with_ray_is_refused_in_one_line(tmp_path, capsys):
    status = main([*SWEEP, "--vectorize", "--engine", "ray", "--out", str(tmp_path / "sweep")])
    assert_one_line(status, capsys.readouterr().err, "Expected --vectorize with --engine local",
                    "Received: --vectorize with --engine ray")
    assert not (tmp_path / "sweep").exists()


def test_vectorize_on_tensorflow_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    status = main([*SWEEP, "--vectorize", "--out", str(tmp_path / "sweep")])
    assert_one_line(status, capsys.readouterr().err, "Expected KERAS_BACKEND=jax with --vectorize",
                    "Received: KERAS_BACKEND=tensorflow")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.skipif(not ON_JAX, reason="Keras on JAX only: KERAS_BACKEND=jax (tox -e jax)")
def test_a_vectorised_sweep_leaves_what_the_process_pool_leaves(tmp_path, capsys):
    together, pool = tmp_path / "together", tmp_path / "pool"
    assert main([*SWEEP, "--vectorize", "--out", str(together)]) == 0
    table = capsys.readouterr().out
    assert main([*SWEEP, "--workers", "1", "--out", str(pool)]) == 0
    capsys.readouterr()
    assert_same_rows(rows_of(together / "sweep.csv"), rows_of(pool / "sweep.csv"), "sweep.csv")
    for seed in ("seed_0", "seed_1"):
        assert sorted(p.name for p in (together / seed).iterdir()) == sorted(p.name for p in (pool / seed).iterdir())
        assert (together / seed / "config.json").read_text() == (pool / seed / "config.json").read_text()
        assert_same_rows(rows_of(together / seed / "metrics.csv"), rows_of(pool / seed / "metrics.csv"), seed)
    # Run again, it keeps both finished runs and prints the same table (their rows kept in trial.json)
    assert main([*SWEEP, "--vectorize", "--out", str(together)]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == table.splitlines()[2:]
