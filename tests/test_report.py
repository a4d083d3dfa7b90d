"""`ddpg report`: every statistic of a results page, recomputed from committed run files.

The fixture tests/fixtures/report/ holds three tiny Pendulum runs, written by hand in the format
`ddpg train` writes (config.json, eval.csv, metrics.csv; the CSVs with csv's \\r\\n). Their numbers:

    eval.csv mean_return     step 200   400   600   800
    seed_0 (total 800)             10    30    20    40
    seed_1 (total 800)             20    50    45    30
    seed_2 (total 600)              0    40    45     -

    metrics.csv (episode end step: return)
    seed_0   100: -10   250: -8   400: -6   600: -4   800: -2
    seed_1   150: 1     300: 2    450: 3    600: 4    750: 5    800: 6
    seed_2   200: 0     400: 3    600: 9

Every expected value below is worked out by hand from these tables, in the comment beside it.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_whole_tables_on, run_cli

from ddpg.cli import main
from ddpg.errors import UserInputError
from ddpg.plots import anchor_points, plot_report
from ddpg.report import (
    anchor_position,
    bootstrap_interval,
    find_runs,
    format_table,
    read_anchor_curve,
    read_anchors,
    report,
)
from ddpg.run_schema import EVAL_FIELDS, METRICS_FIELDS

ROOT = Path(__file__).parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "report"


@pytest.fixture
def runs(tmp_path) -> Path:
    """A copy of the fixture that a test may change."""
    shutil.copytree(FIXTURE, tmp_path / "runs")
    return tmp_path / "runs"


def edit_config(run_dir: Path, **values) -> None:
    path = run_dir / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **values}, indent=2) + "\n")


def only_group(result: dict) -> dict:
    assert len(result["groups"]) == 1
    return result["groups"][0]


# --- the statistics, by hand ---------------------------------------------------------------------


def test_table1_is_the_max_over_steps_of_the_mean_over_seeds():
    group = only_group(report([FIXTURE], "table1", resamples=200))
    # Step 800 is seed_2's budget's after: the common steps are 200, 400, 600.
    # Mean over seeds: 200: (10+20+0)/3 = 10; 400: (30+50+40)/3 = 40; 600: (20+45+45)/3 = 36.67.
    assert group["value"] == pytest.approx(40.0)
    assert group["max_step"] == 400
    assert group["steps"] == 600
    assert group["seeds"] == [0, 1, 2]
    assert group["env_id"] == "Pendulum-v1"
    assert group["curve"]["steps"] == [200, 400, 600]
    assert group["curve"]["mean"] == pytest.approx([10.0, 40.0, 110 / 3])


def test_final_is_the_mean_of_each_seeds_last_common_evaluation():
    group = only_group(report([FIXTURE], "final", resamples=200))
    # At 600 (not seed_0's and seed_1's own last step, 800): (20 + 45 + 45) / 3 = 36.67.
    assert group["value"] == pytest.approx(110 / 3)
    assert group["steps"] == 600
    assert [seed["final"] for seed in group["per_seed"]] == [20.0, 45.0, 45.0]


def test_best_is_the_mean_of_each_seeds_best_evaluation():
    group = only_group(report([FIXTURE], "best", resamples=200))
    # Over 200-600: seed_0 max(10, 30, 20) = 30; seed_1 max(20, 50, 45) = 50; seed_2 max(0, 40, 45) = 45;
    # (30 + 50 + 45) / 3 = 41.67. Seed_0's 40 at 800 is not common, so not counted.
    assert group["value"] == pytest.approx(125 / 3)
    assert [seed["best"] for seed in group["per_seed"]] == [30.0, 50.0, 45.0]
    assert [seed["best_step"] for seed in group["per_seed"]] == [400, 400, 600]


def test_final_within_ten_percent_of_best_counts_the_boundary_in():
    group = only_group(report([FIXTURE], "final", resamples=200))
    # seed_0: |30 - 20| = 10 > 3, out; seed_1: |50 - 45| = 5 <= 0.1 * 50 = 5, in (the boundary);
    # seed_2: |45 - 45| = 0, in. 2 of 3.
    assert [seed["final_within_10pct_of_best"] for seed in group["per_seed"]] == [False, True, True]
    assert group["final_within_10pct_of_best"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("statistic, at, value, steps, within", [
    # Up to 200: one step; the mean (10+20+0)/3 = 10 is its own max; every final is its best (3 of 3).
    pytest.param("table1", 200, 10.0, 200, 1.0, id="table1-at-200"),
    # Up to 400: seeds' finals 30, 50, 40 -> 40; each is its seed's best too (3 of 3 within 10 %).
    pytest.param("final", 400, 40.0, 400, 1.0, id="final-at-400"),
    # Up to 500: the last common evaluation at or before it is 400's: bests 30, 50, 40 -> 40.
    pytest.param("best", 500, 40.0, 400, 1.0, id="best-at-500"),
])
def test_at_uses_the_evaluations_up_to_that_step(statistic, at, value, steps, within):
    group = only_group(report([FIXTURE], statistic, at=at, resamples=200))
    assert group["value"] == pytest.approx(value)
    assert group["steps"] == steps
    assert group["final_within_10pct_of_best"] == pytest.approx(within)


@pytest.mark.parametrize("at, window, value", [
    # Up to 600 (the last step every seed's metrics.csv reaches: seed_2's 600), all of it in 10,000 steps:
    # seed_0 (-10-8-6-4)/4 = -7; seed_1 (1+2+3+4)/4 = 2.5; seed_2 (0+3+9)/3 = 4; (-7+2.5+4)/3 = -1/6.
    pytest.param(None, None, -1 / 6, id="defaults"),
    # Episodes ending in (300, 600]: seed_0 (-6-4)/2 = -5; seed_1 (3+4)/2 = 3.5 (its 300 is out);
    # seed_2 (3+9)/2 = 6; (-5+3.5+6)/3 = 1.5.
    pytest.param(None, 300, 1.5, id="window-300"),
    # (350, 450]: seed_0 -6 (at 400); seed_1 3 (at 450, the end is in); seed_2 3 (at 400); 0/3 = 0.
    pytest.param(450, 100, 0.0, id="at-450-window-100"),
])
def test_train_is_the_mean_over_seeds_of_the_windowed_training_return(at, window, value):
    group = only_group(report([FIXTURE], "train", at=at, window=window, resamples=200))
    assert group["value"] == pytest.approx(value)
    assert group["steps"] == (at or 600)


def test_train_needs_no_eval_csv(runs):
    for run_dir in runs.iterdir():
        (run_dir / "eval.csv").unlink()
    result = report([runs], "train", window=300, resamples=200)
    group = only_group(result)
    assert group["value"] == pytest.approx(1.5)
    assert group["final_within_10pct_of_best"] is None
    # Without evaluations the table's evaluation columns are dashes, not numbers.
    row = format_table(result).splitlines()[-1]
    assert row.endswith("| — | — | — |"), row


# --- the bootstrap -------------------------------------------------------------------------------


def test_bootstrap_of_two_seeds_by_hand():
    # Resampling two seeds a=20, b=45 gives a mean of 20 (a, a: p 1/4), 32.5 (a, b or b, a: 1/2) or 45 (1/4).
    # 95 %: the 2.5th and 97.5th percentiles fall inside the quarters at each end: [20, 45].
    # 40 %: the 30th and 70th fall inside the middle half: [32.5, 32.5].
    data = np.array([20.0, 45.0])
    assert bootstrap_interval("final", data, 10_000, 0.95) == (20.0, 45.0)
    assert bootstrap_interval("final", data, 10_000, 0.40) == (32.5, 32.5)


def test_bootstrap_recomputes_the_max_over_steps_for_each_resample():
    # Two crossing curves: a = [0, 10], b = [10, 0]. The mean curve is [5, 5]: table1 = 5.
    # Resamples: (a, a) -> max 10, (b, b) -> max 10, (a, b) -> 5: 5 or 10, each with p 1/2 -> [5, 10].
    # Resampling only at the point estimate's argmax step would give [0, 10] instead.
    curves = np.array([[0.0, 10.0], [10.0, 0.0]])
    assert bootstrap_interval("table1", curves, 10_000, 0.95) == (5.0, 10.0)


def test_one_seed_has_no_spread():
    assert bootstrap_interval("table1", np.array([[1.0, 3.0, 2.0]]), 100, 0.95) == (3.0, 3.0)


@pytest.mark.parametrize("statistic", ["table1", "final", "best", "train"])
def test_the_interval_holds_the_estimate_and_is_reproducible(statistic):
    first = only_group(report([FIXTURE], statistic, resamples=2_000))
    again = only_group(report([FIXTURE], statistic, resamples=2_000))
    low, high = first["interval"]
    assert low <= first["value"] <= high
    assert low < high  # three unlike seeds: a real spread
    assert first == again


# --- finding and grouping runs -------------------------------------------------------------------


def test_runs_are_found_below_a_directory_once_each():
    found = find_runs([FIXTURE, FIXTURE / "seed_1"])
    assert [path.name for path in found] == ["seed_0", "seed_1", "seed_2"]


def test_one_row_per_environment(runs, tmp_path):
    other = tmp_path / "other" / "seed_0"
    shutil.copytree(runs / "seed_0", other)
    edit_config(other, env_id="MountainCarContinuous-v0")
    result = report([runs, tmp_path / "other"], "final", resamples=200)
    assert [(group["env_id"], group["seeds"]) for group in result["groups"]] == [
        ("MountainCarContinuous-v0", [0]), ("Pendulum-v1", [0, 1, 2])]
    # Alone in its group, seed_0's own steps are the common ones: its final is its 40 at 800.
    assert result["groups"][0]["value"] == pytest.approx(40.0)
    assert result["groups"][0]["steps"] == 800


def test_unlike_runs_are_refused_naming_the_field(runs):
    edit_config(runs / "seed_1", tau=0.01)
    with pytest.raises(UserInputError, match=r"^Expected .*Received: .*tau=0\.005.*tau=0\.01"):
        report([runs], "table1", resamples=200)
    # In separate invocations, each is its own report.
    assert only_group(report([runs / "seed_1"], "table1", resamples=200))["value"] == pytest.approx(50.0)


def test_the_same_seed_twice_is_refused(runs, tmp_path):
    shutil.copytree(runs / "seed_0", tmp_path / "copy" / "seed_0")
    with pytest.raises(UserInputError, match=r"^Expected one run per seed.*Received: seed 0"):
        report([runs, tmp_path / "copy"], "final", resamples=200)


# --- the command line ----------------------------------------------------------------------------


def test_the_command_prints_a_markdown_table_and_writes_json_and_plot(tmp_path, capsys):
    assert main(["report", str(FIXTURE), "--statistic", "table1", "--bootstrap", "500",
                 "--json", str(tmp_path / "r.json"), "--plot", str(tmp_path / "r.png")]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| Pendulum-v1 ")]
    assert len(rows) == 1
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[:3] == ["Pendulum-v1", "3", "600"] and cells[3] == "40.00" and cells[5] == "400"
    assert cells[6] == "2 of 3"
    # Issue 26's table: beside table1, the means over seeds of each seed's final and best evaluation (at the
    # common steps 200-600): finals 20, 45, 45 -> 36.67; bests 30, 50, 45 -> 41.67.
    assert cells[7:] == ["36.67", "41.67"]
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["statistic"] == "table1" and saved["resamples"] == 500 and saved["confidence"] == 0.95
    assert saved["groups"][0]["value"] == pytest.approx(40.0)
    assert saved["groups"][0]["runs"] == [str(FIXTURE / f"seed_{n}") for n in range(3)]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_command_prints_the_same_numbers(capsys):
    argv = ["report", str(FIXTURE), "--statistic", "train", "--window", "300", "--bootstrap", "500"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    assert "| Pendulum-v1 | 3 | 600 | 1.50 |" in first


def test_python_m_ddpg_report_runs():
    result = run_cli("report", FIXTURE, "--statistic", "best", "--bootstrap", "100", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| Pendulum-v1 | 3 | 600 | 41.67 |" in result.stdout


def _one_line_error(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("ddpg report: error: Expected ") and "Received: " in err, err
    return err


@pytest.mark.parametrize("args, says", [
    pytest.param(["--statistic", "table1", "--at", "100"], "--at 100", id="at-before-first-common-step"),
    pytest.param(["--statistic", "final", "--at", "700"], "--at 700", id="at-after-last-common-step"),
    pytest.param(["--statistic", "train", "--at", "150"], "--at 150", id="train-at-before-every-seed-ended-one"),
    pytest.param(["--statistic", "train", "--at", "500", "--window", "50"], "--window 50", id="window-empty"),
    pytest.param(["--statistic", "train", "--window", "0"], "--window 0", id="window-0"),
    pytest.param(["--statistic", "table1", "--window", "300"], "--window 300", id="window-without-train"),
    pytest.param(["--statistic", "best", "--bootstrap", "0"], "--bootstrap 0", id="bootstrap-0"),
    pytest.param(["--statistic", "best", "--confidence", "0"], "--confidence 0", id="confidence-0"),
    pytest.param(["--statistic", "best", "--confidence", "1"], "--confidence 1", id="confidence-1"),
    pytest.param(["--statistic", "best", "--confidence", "nan"], "--confidence nan", id="confidence-nan"),
])
def test_bad_options_are_one_line(args, says, capsys):
    assert says in _one_line_error(["report", str(FIXTURE), *args], capsys)


def test_a_missing_directory_is_one_line(tmp_path, capsys):
    assert str(tmp_path / "nope") in _one_line_error(["report", str(tmp_path / "nope"), "--statistic", "final"],
                                                     capsys)


def test_a_directory_without_runs_is_one_line(tmp_path, capsys):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert "no run" in _one_line_error(["report", str(tmp_path / "empty"), "--statistic", "final"], capsys)


@pytest.mark.parametrize("statistic", ["table1", "final", "best"])
def test_a_run_without_eval_csv_is_one_line_for_evaluation_statistics(runs, statistic, capsys):
    (runs / "seed_2" / "eval.csv").unlink()
    err = _one_line_error(["report", str(runs), "--statistic", statistic], capsys)
    assert str(runs / "seed_2" / "eval.csv") in err and "--statistic train" in err


@pytest.mark.parametrize("name, text, says", [
    pytest.param("eval.csv", "step,mean_return\r\n200,1\r\n", "header", id="eval-header"),
    pytest.param("eval.csv", "step,mean_return,std_return,episodes,wall_seconds\r\n200,x,0,10,1\r\n", "line 2",
                 id="eval-value"),
    pytest.param("eval.csv", "step,mean_return,std_return,episodes,wall_seconds\r\n", "evaluation",
                 id="eval-no-rows"),
    pytest.param("metrics.csv", "episode,steps\r\n", "header", id="metrics-header"),
    pytest.param("config.json", "{not json", "config.json", id="config-not-json"),
    pytest.param("config.json", '{"tau": 7}', "tau", id="config-out-of-range"),
])
def test_a_damaged_file_is_one_line(runs, name, text, says, capsys):
    (runs / "seed_1" / name).write_text(text)
    statistic = "train" if name == "metrics.csv" else "final"
    assert says in _one_line_error(["report", str(runs), "--statistic", statistic], capsys)


def test_unlike_runs_through_the_command_line_are_one_line(runs, capsys):
    edit_config(runs / "seed_2", actor_hidden=[8])
    assert "actor_hidden" in _one_line_error(["report", str(runs), "--statistic", "table1"], capsys)


def test_per_seed_prints_each_seeds_final_and_best(capsys):
    assert main(["report", str(FIXTURE), "--statistic", "final", "--bootstrap", "100", "--per-seed"]) == 0
    out = capsys.readouterr().out
    # From the tables above: finals at 600 are 20, 45, 45; bests 30 (400), 50 (400), 45 (600).
    assert f"| Pendulum-v1 | 0 | 20.00 | 600 | 30.00 | 400 | no | {FIXTURE / 'seed_0'} |" in out
    assert f"| Pendulum-v1 | 1 | 45.00 | 600 | 50.00 | 400 | yes | {FIXTURE / 'seed_1'} |" in out
    assert f"| Pendulum-v1 | 2 | 45.00 | 600 | 45.00 | 600 | yes | {FIXTURE / 'seed_2'} |" in out


# --- the anchors: --anchor-curve and --anchor ----------------------------------------------------

# A curve in the columns of Tianshou's benchmark CSVs (and a seed column, which the reader leaves alone), with
# csv's \r\n: step 0, 200, ..., 800 (the fixture's last common step is 600), by hand.
ANCHOR_CSV = ("env_step,rew,rew:shaded,rew:seed_0\r\n0,-1.5,0.5,-1.0\r\n200,10.0,2.0,8.0\r\n400,30.0,4.5,25.5\r\n"
              "600,35.25,1.0,34.25\r\n800,50.0,0.0,50.0\r\n")
TIANSHOU = ROOT / "docs" / "mujoco" / "anchors" / "tianshou"


@pytest.fixture
def anchor_csv(tmp_path) -> Path:
    path = tmp_path / "anchor.csv"
    path.write_text(ANCHOR_CSV, newline="")
    return path


def test_the_anchor_curve_reader_reads_env_step_rew_and_its_std(anchor_csv):
    steps, mean, std = read_anchor_curve(anchor_csv)
    assert steps.tolist() == [0, 200, 400, 600, 800]
    assert mean.tolist() == [-1.5, 10.0, 30.0, 35.25, 50.0]
    assert std.tolist() == [0.5, 2.0, 4.5, 1.0, 0.0]


def test_anchors_name_their_environment_and_label(anchor_csv):
    # ENV:LABEL=CSV and ENV:LABEL=VALUE: the label may hold spaces; the value is a number.
    curve, line = read_anchors([f"Pendulum-v1:Tianshou={anchor_csv}"], ["Pendulum-v1:Table 1 OurDDPG=8577.29"],
                               plot="r.png")
    assert (curve.env_id, curve.label, curve.value) == ("Pendulum-v1", "Tianshou", None)
    assert curve.curve[1].tolist() == [-1.5, 10.0, 30.0, 35.25, 50.0]
    assert (line.env_id, line.label, line.value, line.curve) == ("Pendulum-v1", "Table 1 OurDDPG", 8577.29, None)
    assert line.given == "--anchor Pendulum-v1:Table 1 OurDDPG=8577.29"


def test_dense_anchor_points_are_thinned_to_every_nth_up_to_the_last_step():
    steps = np.arange(0, 1100, 100)  # 0, 100, ..., 1000
    drawn = anchor_points((steps, steps / 10, steps / 100), last_step=600, most=3)
    # Up to 600: 7 points (0..600); at most 3 drawn: every ceil(7 / 3) = 3rd, i.e. 0, 300, 600.
    assert [values.tolist() for values in drawn] == [[0, 300, 600], [0.0, 30.0, 60.0], [0.0, 3.0, 6.0]]
    assert [values.tolist() for values in anchor_points((steps, steps, steps), last_step=200)] == [[0, 100, 200]] * 3


def test_plot_draws_the_anchors_points_from_the_csv(anchor_csv, tmp_path, capsys):
    png = tmp_path / "r.png"
    assert main(["report", str(FIXTURE), "--statistic", "table1", "--bootstrap", "100", "--plot", str(png),
                 "--anchor-curve", f"Pendulum-v1:Tianshou={anchor_csv}", "--anchor", "Pendulum-v1:Paper=35"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = report([FIXTURE], "table1", resamples=100)
    anchors = read_anchors([f"Pendulum-v1:Tianshou={anchor_csv}"], ["Pendulum-v1:Paper=35"], plot=str(png))
    curve, line = plot_report(result, tmp_path / "again.png", anchors)
    # The CSV's rows up to the report's last common step, 600 (four points: no thinning), as the CSV has them.
    assert [values.tolist() for values in curve.curve] == [[0, 200, 400, 600], [-1.5, 10.0, 30.0, 35.25],
                                                           [0.5, 2.0, 4.5, 1.0]]
    assert (line.label, line.value) == ("Paper", 35.0)


def test_the_committed_tianshou_csvs_hold_the_mean_and_std_of_their_seed_columns():
    # Each committed CSV as read from thu-ml/tianshou: rew is the mean of the seed columns and rew:shaded their
    # ddof-0 standard deviation, to the 4 decimals Tianshou printed, on every row; the page's example row holds.
    paths = sorted(TIANSHOU.glob("*.csv"))
    assert [path.stem for path in paths] == ["Ant-v3", "HalfCheetah-v3", "Hopper-v3", "InvertedDoublePendulum-v2",
                                             "InvertedPendulum-v2", "Reacher-v2", "Walker2d-v3"]
    for path in paths:
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        assert table.shape == (251, 13) and table[:, 0].tolist() == list(range(0, 1_250_001, 5000)), path
        np.testing.assert_allclose(table[:, 1], table[:, 3:].mean(axis=1), atol=6e-4, err_msg=str(path))
        np.testing.assert_allclose(table[:, 2], table[:, 3:].std(axis=1), atol=6e-4, err_msg=str(path))
    steps, mean, std = read_anchor_curve(TIANSHOU / "HalfCheetah-v3.csv")
    assert (mean[steps == 300_000][0], std[steps == 300_000][0]) == (9137.0428, 784.2173)
    steps, mean, _ = read_anchor_curve(TIANSHOU / "InvertedPendulum-v2.csv")  # the page: first at 1,000 at 20,000
    page = (ROOT / "docs" / "mujoco.md").read_text()
    assert steps[mean == 1000.0][0] == 20_000 and "1,000 first at step 20,000" in page


@pytest.mark.parametrize("flag, text, says", [
    ("--anchor", "Pendulum-v1:Paper", "--anchor Pendulum-v1:Paper"),  # no =VALUE
    ("--anchor", "Paper=35", "--anchor Paper=35"),  # no ENV:
    ("--anchor-curve", "Pendulum-v1:={csv}", "--anchor-curve"),  # no LABEL
    ("--anchor", "Pendulum-v1:Paper=lots", "Paper=lots"),
    ("--anchor", "Pendulum-v1:Paper=nan", "Paper=nan"),
    ("--anchor", "Pendulum-v1:Paper=inf", "Paper=inf"),
    ("--anchor-curve", "Pendulum-v1:T={tmp}/none.csv", "does not exist"),
    ("--anchor-curve", "Pendulum-v1:T={tmp}", "not a file"),
    ("--anchor-curve", "Pendulum-v1:T={bad}", "rew:shaded"),  # lacks the column
    ("--anchor-curve", "Pendulum-v1:T={nan}", "finite rew"),
    ("--anchor-curve", "Pendulum-v1:T={empty}", "no rows"),
    ("--anchor", "HalfCheetah-v5:Paper=8577.29", "HalfCheetah-v5"),  # no runs of it in the report
    ("--anchor", "Pendulum-v1:a|b=35", "a|b=35"),  # a label that would split the table's column
])
def test_bad_anchors_are_one_line_and_nothing_is_drawn(flag, text, says, anchor_csv, tmp_path, capsys):
    files = {"bad": "env_step,rew\r\n0,1.0\r\n", "nan": "env_step,rew,rew:shaded\r\n0,nan,1.0\r\n",
             "empty": "env_step,rew,rew:shaded\r\n"}
    for name, content in files.items():
        (tmp_path / f"{name}.csv").write_text(content, newline="")
    names = {"csv": anchor_csv, "tmp": tmp_path, **{name: tmp_path / f"{name}.csv" for name in files}}
    png = tmp_path / "r.png"
    argv = ["report", str(FIXTURE), "--statistic", "table1", "--bootstrap", "100", "--plot", str(png), flag,
            text.format(**names)]
    assert says in _one_line_error(argv, capsys)
    assert not png.exists()


def test_an_anchor_curve_without_plot_is_one_line(capsys):
    # A curve is only drawn, so without --plot it would be ignored: refused.
    err = _one_line_error(["report", str(FIXTURE), "--statistic", "table1", "--anchor-curve", "Pendulum-v1:T=a.csv"],
                          capsys)
    assert "--anchor-curve Pendulum-v1:T=a.csv" in err and "--plot" in err


@pytest.mark.parametrize("value, interval, position", [
    (8577.29, (5289.24, 8378.17), "above"),  # the page's HalfCheetah row and Table 1's OurDDPG, 5 seeds
    (1860.02, (664.64, 3191.93), "inside"),  # Hopper, 5 seeds
    (3098.11, (3688.00, 4638.47), "below"),  # Walker2d, 5 seeds
    (1000.0, (1000.0, 1000.0), "inside"),  # InvertedPendulum at its cap: the bounds belong to the interval
    (-4.01, (-5.0, -4.02), "above"),  # negative returns (Reacher)
])
def test_an_anchor_is_placed_above_inside_or_below_the_interval(value, interval, position):
    assert anchor_position(value, interval) == position


def test_anchors_add_a_column_saying_where_each_published_value_falls(capsys, tmp_path):
    # --anchor without --plot: one column per label, each environment's cell the value and where it falls against
    # that row's interval (computed by report() with the same resamples, so the same interval).
    (low, high), = [group["interval"] for group in report([FIXTURE], "table1", resamples=300)["groups"]]
    middle = (low + high) / 2
    argv = ["report", str(FIXTURE), "--statistic", "table1", "--bootstrap", "300", "--json", str(tmp_path / "r.json"),
            "--anchor", "Pendulum-v1:Paper=1000000", "--anchor", "Pendulum-v1:Peer=-1000000",
            "--anchor", f"Pendulum-v1:Mid={middle}"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("| environment |"))
    assert header.endswith("| Paper | Peer | Mid |")
    row = next(line for line in lines if line.startswith("| Pendulum-v1 "))
    assert row.endswith(f"| 1000000.00 (above) | -1000000.00 (below) | {middle:.2f} (inside) |")
    saved = json.loads((tmp_path / "r.json").read_text())["groups"][0]["anchors"]
    assert saved == [{"label": "Paper", "value": 1e6, "position": "above"},
                     {"label": "Peer", "value": -1e6, "position": "below"},
                     {"label": "Mid", "value": middle, "position": "inside"}]


def test_an_environment_without_the_anchor_gets_a_dash(tmp_path, capsys):
    # Two environments, an anchor on one: the other's cell is a dash, not a guess.
    other = tmp_path / "other"
    for seed in range(3):
        shutil.copytree(FIXTURE / f"seed_{seed}", other / f"seed_{seed}")
        edit_config(other / f"seed_{seed}", env_id="MountainCarContinuous-v0")
    assert main(["report", str(FIXTURE), str(other), "--statistic", "table1", "--bootstrap", "100",
                 "--anchor", "Pendulum-v1:Paper=1000000"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "Paper" not in line]
    assert any(row.startswith("| Pendulum-v1 ") and row.endswith("| 1000000.00 (above) |") for row in rows)
    assert any(row.startswith("| MountainCarContinuous-v0 ") and row.endswith("| — |") for row in rows)


def test_the_same_anchor_twice_is_one_line(capsys):
    err = _one_line_error(["report", str(FIXTURE), "--statistic", "table1", "--anchor", "Pendulum-v1:Paper=1",
                           "--anchor", "Pendulum-v1:Paper=2"], capsys)
    assert "--anchor Pendulum-v1:Paper=2" in err and "one" in err


def test_compute_with_an_anchor_is_one_line(capsys):
    err = _one_line_error(["report", str(FIXTURE), "--compute", "--anchor", "Pendulum-v1:Paper=35"], capsys)
    assert "--anchor Pendulum-v1:Paper=35" in err and "--compute" in err


@pytest.mark.parametrize("env_id", sorted(path.name for path in (ROOT / "docs" / "mujoco" / "runs").iterdir()))
def test_each_environment_with_runs_has_its_figure_on_the_mujoco_page(env_id, tmp_path):
    # docs/mujoco.md names, for every environment with committed runs, the command that drew its figure, with
    # Tianshou's curve and Table 1's OurDDPG value as on the page's Table 1 row; the command runs (here into tmp_path).
    page = (ROOT / "docs" / "mujoco.md").read_text()
    name = env_id.split("-")[0]
    table1_row = next(line for line in page.splitlines()
                      if line.startswith(f"| {name} | ") and "--statistic table1 --anchor" in line)
    table1 = table1_row.split(" | ")[1].split(" ± ")[0]  # the value alone, should a cell add a spread
    (tianshou,) = TIANSHOU.glob(f"{name}-v*.csv")
    command = (f"ddpg report docs/mujoco/runs/{env_id} --statistic table1 --plot docs/mujoco/{env_id}.png "
               f"--anchor-curve {env_id}:Tianshou=docs/mujoco/anchors/tianshou/{tianshou.name} "
               f'--anchor {env_id}:"Table 1 OurDDPG"={table1}')
    assert f"`{command}`" in page and f"](mujoco/{env_id}.png)" in page
    assert (ROOT / "docs" / "mujoco" / f"{env_id}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["report", str(ROOT / "docs" / "mujoco" / "runs" / env_id), "--statistic", "table1", "--bootstrap",
                 "200", "--plot", str(tmp_path / "f.png"), "--anchor-curve", f"{env_id}:Tianshou={tianshou}",
                 "--anchor", f"{env_id}:Table 1 OurDDPG={table1}"]) == 0
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the compute: --compute ----------------------------------------------------------------------

# Three fake HalfCheetah-v5 runs: each row of metrics.csv as (cumulative steps, cumulative wall_seconds).
COMPUTE_RUNS = {0: [(1000, 9.0), (2000, 15.0), (3000, 20.0)],
                1: [(1000, 12.0), (2000, 24.0), (3000, 30.0)],
                2: [(1000, 5.0), (2000, 8.0)]}  # a run still going: 2000 steps so far


@pytest.fixture
def compute_runs(tmp_path) -> Path:
    """COMPUTE_RUNS as run directories: the committed HalfCheetah-v5 seed 0's config.json but for its seed, a
    metrics.csv of those rows and a one-row eval.csv, with csv's \\r\\n as `ddpg train` writes them."""
    config = json.loads((ROOT / "docs/mujoco/runs/HalfCheetah-v5/seed_0/config.json").read_text())
    for seed, rows in COMPUTE_RUNS.items():
        run_dir = tmp_path / "compute" / f"seed_{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "config.json").write_text(json.dumps({**config, "seed": seed}, indent=2) + "\n")
        lines = [",".join(METRICS_FIELDS), *(f"{episode},{steps},-300.0,-300.0,{seconds},100.0,nan,nan,nan,nan"
                                             for episode, (steps, seconds) in enumerate(rows, start=1))]
        (run_dir / "metrics.csv").write_text("\r\n".join(lines) + "\r\n")
        (run_dir / "eval.csv").write_text(",".join(EVAL_FIELDS) + "\r\n1000,-300.0,10.0,10,4.0\r\n")
    return tmp_path / "compute"


def test_compute_prints_each_environments_steps_seconds_and_speed(compute_runs, tmp_path, capsys):
    assert main(["report", str(compute_runs), "--compute", "--per-seed", "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    # Each run's last row: seed_0 3000 steps / 20 s = 150.0 steps/s; seed_1 3000 / 30 s = 100.0; seed_2 2000 / 8 s =
    # 250.0. Wall seconds: mean (20 + 30 + 8) / 3 = 19.33, min 8, max 30; steps per second (150 + 100 + 250) / 3 =
    # 166.67; core-hours (20 + 30 + 8) / 3600 = 0.0161.
    assert "| HalfCheetah-v5 | 3 | 2000–3000 | 19.3 | 8.0 | 30.0 | 166.7 | 0.02 |" in out
    assert f"| HalfCheetah-v5 | 0 | 3000 | 20.0 | 150.0 | {compute_runs / 'seed_0'} |" in out
    assert f"| HalfCheetah-v5 | 1 | 3000 | 30.0 | 100.0 | {compute_runs / 'seed_1'} |" in out
    assert f"| HalfCheetah-v5 | 2 | 2000 | 8.0 | 250.0 | {compute_runs / 'seed_2'} |" in out
    assert "interval" not in out  # no statistic table
    group = only_group(json.loads((tmp_path / "c.json").read_text()))
    assert group["seeds"] == [0, 1, 2] and group["wall_seconds_mean"] == pytest.approx(58 / 3)
    assert group["steps_per_second_mean"] == pytest.approx(500 / 3)
    assert group["core_hours"] == pytest.approx(58 / 3600)
    assert [entry["steps_per_second"] for entry in group["per_seed"]] == [150.0, 100.0, 250.0]
    # Runs of one length say it once; without --per-seed, no run's row.
    shutil.rmtree(compute_runs / "seed_2")
    assert main(["report", str(compute_runs), "--compute"]) == 0
    out = capsys.readouterr().out
    # (20 + 30) / 2 = 25.0; (150 + 100) / 2 = 125.0; 50 / 3600 = 0.0139.
    assert "| HalfCheetah-v5 | 2 | 3000 | 25.0 | 20.0 | 30.0 | 125.0 | 0.01 |" in out
    assert "| HalfCheetah-v5 | 0 |" not in out


@pytest.mark.parametrize("args, says", [
    pytest.param(["--statistic", "table1"], "--statistic table1", id="statistic"),
    pytest.param(["--at", "1000"], "--at 1000", id="at"),
    pytest.param(["--window", "300"], "--window 300", id="window"),
    pytest.param(["--plot", "c.png"], "--plot c.png", id="plot"),
])
def test_compute_with_an_option_of_the_statistics_is_one_line(compute_runs, args, says, capsys):
    err = _one_line_error(["report", str(compute_runs), "--compute", *args], capsys)
    assert says in err and "--compute" in err


def test_neither_statistic_nor_compute_is_one_line(capsys):
    err = _one_line_error(["report", str(FIXTURE)], capsys)
    assert "--statistic" in err and "--compute" in err


def test_compute_refuses_unlike_runs_as_the_statistics_do(compute_runs, capsys):
    edit_config(compute_runs / "seed_1", tau=0.01)
    assert "tau" in _one_line_error(["report", str(compute_runs), "--compute"], capsys)


@pytest.mark.parametrize("text, says", [
    pytest.param(None, "no such file", id="no-metrics"),
    pytest.param(",".join(METRICS_FIELDS) + "\r\n", "no rows", id="no-rows"),
    pytest.param(",".join(METRICS_FIELDS) + "\r\n1,1000,0,0,0.0,0,0,0,0,0\r\n", "wall_seconds", id="zero-seconds"),
])
def test_compute_without_a_runs_time_is_one_line(compute_runs, text, says, capsys):
    path = compute_runs / "seed_1" / "metrics.csv"
    path.unlink()
    if text is not None:
        path.write_text(text)
    err = _one_line_error(["report", str(compute_runs), "--compute"], capsys)
    assert str(path) in err and says in err


def mujoco_page_and_report(capsys, runs: str, *options: str) -> tuple[str, str]:
    """docs/mujoco.md, which names the command, and what `ddpg report RUNS OPTIONS` prints from the committed files,
    its paths relative to the repository as the page writes them."""
    page = (ROOT / "docs" / "mujoco.md").read_text()
    assert f"`ddpg report {' '.join([runs, *options])}`" in page
    assert main(["report", str(ROOT / runs), *options]) == 0
    return page, capsys.readouterr().out.replace(str(ROOT) + "/", "")


def test_the_mujoco_pages_numbers_are_what_the_command_prints(capsys):
    # docs/mujoco.md states the re-tuned HalfCheetah run's numbers as `ddpg report` prints them from its committed
    # files; a change to either the files or the page shows here.
    page, printed = mujoco_page_and_report(capsys, "docs/mujoco/retuned/HalfCheetah-v5", "--statistic", "table1",
                                           "--per-seed")
    rows = [line for line in printed.splitlines() if line.startswith("| HalfCheetah-v5 ")]
    assert len(rows) == 2 and all(row in page for row in rows), rows


# Reading the committed runs' metrics.csv (`train`, `--compute`: about 200 MB) takes tens of seconds, the same code on
# every Python: slow. The evaluations (`table1`) are quick and run everywhere.
READS_EVERY_METRICS_CSV = pytest.mark.slow


@pytest.mark.parametrize("statistic, extra", [("table1", ["--per-seed"]),
                                              pytest.param("train", [], marks=READS_EVERY_METRICS_CSV)])
def test_the_mujoco_pages_rows_of_the_runs_so_far_are_what_the_command_prints(capsys, statistic, extra):
    # The Table 1 runs committed so far: every row `ddpg report` prints from docs/mujoco/runs is on the page, and
    # the anchor table's cell for each environment with runs starts with the value printed for it.
    page, printed = mujoco_page_and_report(capsys, "docs/mujoco/runs", "--statistic", statistic, *extra)
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "-v5 |" in line]
    assert rows and all(row in page for row in rows), [row for row in rows if row not in page]
    assert_whole_tables_on(page, printed)
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if len(cells) == 9:  # an environment's row (a seed's has 8 cells)
            cell = f"{cells[3]}, {cells[1]} of 10 seeds so far"
            anchor = f"| {cells[0].removesuffix('-v5')} | "
            assert any(line.startswith(anchor) and f"| {cell}" in line for line in page.splitlines()), cell


def test_the_mujoco_pages_table1_rows_say_where_table1_falls_as_the_command_prints(capsys):
    # The anchor table of Table 1: for each environment with runs, the row names the command (with Table 1's value
    # as an --anchor), and its cell "Table 1's value against our interval" is the word that command prints.
    page = (ROOT / "docs" / "mujoco.md").read_text()
    envs = sorted(path.name for path in (ROOT / "docs" / "mujoco" / "runs").iterdir())
    for env_id in envs:
        name = env_id.split("-")[0]
        (row,) = [line for line in page.splitlines() if line.startswith(f"| {name} | ") and "--anchor" in line]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        anchor = f'{env_id}:"Table 1 OurDDPG"={cells[1]}'
        assert cells[4] == f"`ddpg report docs/mujoco/runs/{env_id} --statistic table1 --anchor {anchor}`"
        assert main(["report", str(ROOT / "docs" / "mujoco" / "runs" / env_id), "--statistic", "table1", "--anchor",
                     f"{env_id}:Table 1 OurDDPG={cells[1]}"]) == 0
        (printed,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {env_id} |")]
        assert printed.endswith(f"| {cells[1]} ({cells[3]}) |"), (printed, cells)


@READS_EVERY_METRICS_CSV
def test_the_mujoco_pages_compute_rows_are_what_the_command_prints(capsys):
    # The page's "Compute" section holds every row `ddpg report docs/mujoco/runs --compute --per-seed` prints.
    page, printed = mujoco_page_and_report(capsys, "docs/mujoco/runs", "--compute", "--per-seed")
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "-v5 |" in line]
    section = page[page.index("\n## Compute\n"):page.index("\n## Checkpoints at this scale\n")]
    assert rows and all(row in section for row in rows), [row for row in rows if row not in section]
    assert_whole_tables_on(section + "\n", printed)
