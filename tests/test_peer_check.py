"""docs/mujoco/peer_check.py's arithmetic, by hand: when a Hopper run counts as having learned (docs/mujoco.md,
"Hopper seeds that never learn")."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_whole_tables_on, printed_tables

PATH = Path(__file__).parent.parent / "docs" / "mujoco" / "peer_check.py"
spec = importlib.util.spec_from_file_location("peer_check", PATH)
peer_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer_check)


def test_learned_is_the_first_step_where_the_last_40_returns_average_above_200():
    # 39 episodes of 0, then returns of 8,000 and 8,001: at the 40th episode the mean is 8,000 / 40 = 200, not
    # above; at the 41st the last 40 are 38 zeros, 8,000 and 8,001: 16,001 / 40 = 400.025, above.
    episodes = [(10 * (i + 1), 0.0) for i in range(39)] + [(400, 8000.0), (410, 8001.0)]
    assert peer_check.first_learned(episodes, budget=1000) == 410


def test_an_episode_leaves_the_average_after_40_more():
    # -8,000, then 41 returns of 210: with the -8,000 in, the mean of k episodes is (-8,000 + 210 (k - 1)) / k,
    # at most 4.75 (k = 40); at the 41st episode the last 40 are all 210, above 200.
    episodes = [(10, -8000.0)] + [(10 * (i + 2), 210.0) for i in range(41)]
    assert peer_check.first_learned(episodes, budget=1000) == 410


def test_the_first_episodes_average_over_the_episodes_so_far():
    # One episode of 201: its own mean, above 200 at once.
    assert peer_check.first_learned([(30, 201.0)], budget=1000) == 30
    assert peer_check.first_learned([(30, 200.0)], budget=1000) is None


def test_episodes_after_the_budget_are_not_counted():
    assert peer_check.first_learned([(100, 0.0), (2000, 5000.0)], budget=1000) is None
    assert peer_check.first_learned([(100, 0.0), (1000, 5000.0)], budget=1000) == 1000


@pytest.mark.parametrize("last_end, reached", [(39_000, False), (39_001, True), (40_028, True)])
def test_a_run_reached_its_budget_when_its_last_episode_ended_within_one_episode_of_it(last_end, reached):
    # Hopper's episodes are at most 1,000 steps: a run whose last whole episode ended at 39,001 went on to 40,000
    # (an unfinished episode of 999 steps); one that ended at 39,000 would have ended another by 40,000; SB3 logs
    # the episode that crosses the budget (40,028).
    assert peer_check.reached([(100, 0.0), (last_end, 1.0)], 40_000) is reached


@pytest.mark.slow  # reads the committed runs' metrics.csv, tens of MB each: the same code on every Python
@pytest.mark.parametrize("env_id, options, budget", [
    ("Hopper-v5", "", 40_000), ("InvertedPendulum-v5", "--env-id InvertedPendulum-v5 ", 30_000),
    ("InvertedDoublePendulum-v5", "--env-id InvertedDoublePendulum-v5 ", 8_000),
    ("Walker2d-v5", "--env-id Walker2d-v5 ", 100_000)])
def test_the_mujoco_page_holds_the_summary_as_it_prints(env_id, options, budget, capsys):
    # docs/mujoco.md, the sections on seeds that never learn (Hopper, Walker2d, the pendulums): each table the
    # summary prints from the committed runs is on the page whole (`python docs/mujoco/refresh_page.py` redraws it).
    page = (PATH.parents[1] / "mujoco.md").read_text()
    assert f"`python docs/mujoco/peer_check.py summary {options}--steps {budget}`" in page
    peer_check.summary(budget, env_id)
    printed = capsys.readouterr().out
    assert len(printed_tables(printed)) == 2
    assert_whole_tables_on(page, printed)


def test_early_counts_the_states_where_no_gradient_reaches_the_actor_through_any_component():
    # By hand, in float32: tanh(10) and tanh(20) round to exactly 1, so tanh' = 1 - tanh^2 is 0; tanh(8) is
    # 0.99999976, tanh' 4.8e-7 (below 1e-6, not 0); tanh(5) is 0.9999092, tanh' 1.8e-4. A state counts only if every
    # component does: the second state has no gradient at all, the third one below 1e-6, the fourth neither.
    z = np.array([[0.0, 0.0], [20.0, -10.0], [8.0, 20.0], [5.0, 20.0]])
    assert peer_check.early_row(300, z) == {"steps": 300, "z_min": "-10.00", "z_median": "6.50", "z_max": "20.00",
                                            "no_gradient": "0.250", "gradient_below_1e-6": "0.500"}


def test_reference_states_are_the_same_for_every_run():
    pytest.importorskip("mujoco", reason="MuJoCo is not installed")
    first, again = (peer_check.reference_states("InvertedPendulum-v5", 50) for _ in range(2))
    assert first.shape == (50, 4) and np.array_equal(first, again) and len(np.unique(first[:, 2])) > 1


@pytest.mark.parametrize("env_id", ["InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Walker2d-v5"])
def test_the_mujoco_page_holds_the_early_table_as_it_prints(env_id, capsys):
    # docs/mujoco.md, "What puts a pendulum's actor at a bound" and the Walker2d section: the table early-table prints
    # from the committed rows.
    page = (PATH.parents[1] / "mujoco.md").read_text()
    assert f"`python docs/mujoco/peer_check.py early-table --env-id {env_id}`" in page
    peer_check.early_table(env_id)
    printed = capsys.readouterr().out
    assert len(printed_tables(printed)) == 1
    assert_whole_tables_on(page, printed)
