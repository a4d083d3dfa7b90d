"""`ddpg report`: the statistics a results page states, recomputed from run directories' files alone.

A page that compares us with a paper or a peer must compare like with like, and a reader must be able
to recompute every number from committed data. Each statistic below is the one its source states,
computed per environment over its seeds from config.json, eval.csv and metrics.csv:

    table1  max_t mean_i E[i, t]      Fujimoto et al. (2018), Table 1: "Max Average Return over 10 trials
                                      of 1 million time steps": the maximum over evaluation steps t of the
                                      mean over seeds i of the deterministic evaluation's mean return E.
    final   mean_i E[i, T]            each seed's last common evaluation T, averaged over seeds.
    best    mean_i max_t E[i, t]      each seed's best evaluation, averaged over seeds.
    train   mean_i mean R[i, e]       CleanRL's: the training return R (with exploration noise) of the
                                      episodes e that ended within the `window` steps up to `at`, per seed,
                                      then over seeds.

Only the evaluation steps every seed has are used (the step budget is the last of them), up to `at` if
given. Each statistic comes with a percentile bootstrap interval over seeds: the seeds are resampled with
replacement and the whole statistic recomputed (for table1, the max over steps of the resampled mean
curve), with a generator seeded with BOOTSTRAP_SEED, so the same files give the same numbers.

Instead of a statistic, `--compute` states what the runs cost (issue 26): each run's steps and training wall
seconds, the last line of its metrics.csv (both cumulative across resumes, with the evaluations before that
line: not one due at the run's last step, which follows it), their ratio, and per environment the core-hours,
so that a page can say what its numbers took.

Beside the curves of `--plot`, `--anchor-curve` and `--anchor` draw what a peer or a paper published at the same
steps (issue 26): a CSV's points in Tianshou's benchmark columns, or one number as a dashed line; both are read and
checked here, and drawn by ddpg.plots. An `--anchor` also gets a column of the table, with or without `--plot`:
the published value and where it falls against the row's interval (above, inside or below), so that a page's
"within, above or below" is printed by this command, not judged by eye. NumPy and the standard library.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddpg.config import BUDGET_FIELDS, DDPGConfig
from ddpg.errors import UserInputError
from ddpg.run_files import load_run_config, read_evaluations, read_metrics, reported_os_errors

STATISTICS = {
    "table1": "the maximum over evaluation steps of the mean over seeds of the deterministic evaluation's mean "
              "return (Fujimoto et al. 2018, Table 1)",
    "final": "the mean over seeds of each seed's last common evaluation",
    "best": "the mean over seeds of each seed's best evaluation",
    "train": "the mean over seeds of each seed's mean training return, with exploration noise (CleanRL's)",
}
EVALUATION_STATISTICS = ("table1", "final", "best")
DEFAULT_WINDOW = 10_000
DEFAULT_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0
WITHIN = 0.1  # a final evaluation within 10 % of its seed's best: |best - final| <= 0.1 |best|
# What may differ between the seeds of one row: anything else is another experiment, not another seed.
SEED_AND_BUDGET = ("seed", *BUDGET_FIELDS)
COMPUTE = "compute"  # read_run's other reading: metrics.csv's last line, for --compute
COMPUTE_DEFINITION = ("each run's steps and training wall seconds are the last line of its metrics.csv (both "
                      "cumulative across resumes, with the evaluations before that line); steps per second is their "
                      "ratio, averaged over runs; core-hours are the runs' wall seconds summed (a run's core-seconds "
                      "when it ran on one core)")


@dataclass(frozen=True)
class Run:
    """One run's files, read and checked: its evaluations (step, mean return) and episodes (end step,
    return), each None when the statistic does not need them and the file is absent; with COMPUTE, its
    steps and training wall seconds so far (metrics.csv's last line) instead."""

    directory: Path
    config: DDPGConfig
    evaluations: tuple[np.ndarray, np.ndarray] | None
    episodes: tuple[np.ndarray, np.ndarray] | None
    elapsed: tuple[int, float] | None = None


# --- the arithmetic ------------------------------------------------------------------------------


def resample_weights(seeds: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[resamples, seeds]: row b holds the share of each seed in the b-th resample of `seeds` seeds drawn
    with replacement, so that weights @ per_seed is the resample's mean."""
    draws = rng.integers(0, seeds, size=(resamples, seeds))
    rows = np.repeat(np.arange(resamples), seeds)
    counts = np.bincount(rows * seeds + draws.ravel(), minlength=resamples * seeds).reshape(resamples, seeds)
    return counts / seeds


def statistic_values(statistic: str, data: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The statistic of each row of `weights` [B, seeds] (a resample, or uniform for the estimate itself).

    data: for table1 the curves E [seeds, steps], of which the max over steps of the weighted mean;
    otherwise one number per seed [seeds] (its final, its best, its windowed training return), of which
    the weighted mean.
    """
    means = weights @ data
    return means.max(axis=1) if statistic == "table1" else means


def percentile_interval(values: np.ndarray, confidence: float) -> tuple:
    """The (1 - c)/2 and (1 + c)/2 percentiles of `values` over its first axis: an interval's two ends (each an
    array, for values [B, steps])."""
    low, high = np.percentile(values, [50 * (1 - confidence), 50 * (1 + confidence)], axis=0)
    return (float(low), float(high)) if np.ndim(low) == 0 else (low, high)


def bootstrap_interval(statistic: str, data: np.ndarray, resamples: int, confidence: float,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the statistic over seeds: the statistic recomputed on `resamples`
    resamples of the seeds (data as statistic_values takes it), and its percentile interval."""
    weights = resample_weights(data.shape[0], resamples, np.random.default_rng(seed))
    return percentile_interval(statistic_values(statistic, data, weights), confidence)


def windowed_means(ends: np.ndarray, returns: np.ndarray, at: np.ndarray, window: int) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """For each step s in `at`: the mean return of the episodes that ended in (s - window, s], and how many
    there were (the mean is nan where none did). ends: the episodes' last steps, rising."""
    total = np.concatenate([[0.0], np.cumsum(returns)])
    high = np.searchsorted(ends, at, side="right")
    low = np.searchsorted(ends, np.asarray(at) - window, side="right")
    counts = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total[high] - total[low]) / counts, counts


def within_best(final: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Whether each seed's final evaluation is within WITHIN of its best: |best - final| <= 0.1 |best|."""
    return np.abs(best - final) <= WITHIN * np.abs(best)


# --- the runs ------------------------------------------------------------------------------------


def find_runs(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Every run directory given, or below a directory given (a sweep's, docs/mujoco/runs/ENV), once each.

    A run is a directory with config.json and eval.csv or metrics.csv, as `ddpg train` writes it or a copy
    of those files; nothing below a run is searched.
    """
    found: dict[Path, Path] = {}
    for path in map(Path, paths):
        if not path.is_dir():
            what = "is not a directory" if path.exists() else "does not exist"
            raise UserInputError(f"Expected RUN_DIR to be a run directory or a directory holding runs. "
                                 f"Received: {path}, which {what}")
        runs = sorted(_runs_below(path))
        if not runs:
            raise UserInputError(f"Expected RUN_DIR to hold a run (a directory with config.json and eval.csv or "
                                 f"metrics.csv). Received: {path}, with no run in it")
        for run in runs:
            found.setdefault(run.resolve(), run)
    return list(found.values())


def _runs_below(path: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(path):
        if "config.json" in files and ("eval.csv" in files or "metrics.csv" in files):
            dirs[:] = []  # a run's checkpoint/ and tensorboard/ hold no runs
            yield Path(root)


def read_run(directory: Path, statistic: str) -> Run:
    """A run's config and the files its statistic reads (eval.csv for table1, final and best; metrics.csv
    for train, and eval.csv too where there is one; metrics.csv alone for COMPUTE), each checked as
    `ddpg train` wrote it."""
    config = load_run_config(directory)
    evaluations = episodes = elapsed = None
    path = directory / "eval.csv"
    if statistic in EVALUATION_STATISTICS and not path.exists():
        raise UserInputError(f"Expected {path} for --statistic {statistic}, which reads the evaluations during "
                             f"training (ddpg train --eval-every N). Received: no such file; --statistic train "
                             f"reads metrics.csv alone")
    if path.exists() and statistic != COMPUTE:
        rows = read_evaluations(path)
        if not rows:
            raise UserInputError(f"Expected evaluations in {path}. Received: its header and no rows")
        evaluations = _columns(path, rows, "step", "mean_return")
    if statistic in ("train", COMPUTE):
        path = directory / "metrics.csv"
        if not path.exists():
            flag = "--compute" if statistic == COMPUTE else "--statistic train"
            raise UserInputError(f"Expected {path} for {flag}. Received: no such file")
        rows = read_metrics(path)
        if not rows:
            raise UserInputError(f"Expected episodes in {path}. Received: its header and no rows")
        if statistic == COMPUTE:
            steps, seconds = _columns(path, rows, "steps", "wall_seconds")
            if seconds[-1] <= 0:
                raise UserInputError(f"Expected a positive wall_seconds on the last line of {path}, the run's "
                                     f"training time. Received: {rows[-1]['wall_seconds']} at steps {steps[-1]}")
            elapsed = int(steps[-1]), float(seconds[-1])
        else:
            episodes = _columns(path, rows, "steps", "return")
    return Run(directory, config, evaluations, episodes, elapsed)


def _columns(path: Path, rows: list[dict[str, str]], step: str, value: str) -> tuple[np.ndarray, np.ndarray]:
    steps = np.array([int(row[step]) for row in rows])
    values = np.array([float(row[value]) for row in rows])
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise UserInputError(f"Expected a finite {value} on every line of {path}. Received: {rows[bad[0]][value]} "
                             f"at {step} {steps[bad[0]]}")
    return steps, values


# --- the anchors: published numbers drawn beside the curves (--plot) -----------------------------------


@dataclass(frozen=True)
class Anchor:
    """A published number to draw on an environment's panel: a curve's points (--anchor-curve: steps, mean and
    standard deviation over its seeds) or one value (--anchor: a dashed line). `given` is the flag as typed, for
    refusals."""

    given: str
    env_id: str
    label: str
    value: float | None = None
    curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


ANCHOR_COLUMNS = ("env_step", "rew", "rew:shaded")  # Tianshou's benchmark CSVs: the step, the mean, the std


def read_anchor_curve(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, std) of a CSV in the columns of Tianshou's benchmark CSVs (env_step, rew and rew:shaded, the
    mean and standard deviation over its seeds; other columns are left alone), each value checked finite so that
    a damaged file is refused in one line rather than drawn."""
    if not path.is_file():
        raise UserInputError(f"Expected --anchor-curve's CSV to be a file. Received: {path}, which "
                             + ("is not a file" if path.exists() else "does not exist"))
    with reported_os_errors(path, "read"), path.open(newline="") as file:
        reader = csv.DictReader(file)
        try:
            rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as error:
            raise UserInputError(f"Expected {path} to be a CSV file. Received: {error}") from None
    missing = [column for column in ANCHOR_COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise UserInputError(f"Expected {path} to have the columns {', '.join(ANCHOR_COLUMNS)}, as Tianshou's "
                             f"benchmark CSVs do. Received: no {', '.join(missing)}")
    if not rows:
        raise UserInputError(f"Expected rows in {path}. Received: its header and no rows")
    try:
        steps, mean = _columns(path, rows, "env_step", "rew")
        std = _columns(path, rows, "env_step", "rew:shaded")[1]
    except UserInputError:  # a value that is not finite: _columns's own line
        raise
    except (TypeError, ValueError):  # a short row (None) or a cell that is not a number
        raise UserInputError(f"Expected numbers in the columns {', '.join(ANCHOR_COLUMNS)} of every line of "
                             f"{path}. Received: a line without them") from None
    return steps, mean, std


def read_anchors(curves: Iterable[str], values: Iterable[str], plot: str | None) -> list[Anchor]:
    """--anchor-curve ENV:LABEL=CSV and --anchor ENV:LABEL=VALUE as given, each read and checked, in one line,
    before any run is read. A curve is only drawn on --plot's figure, so without it it would be ignored and is
    refused; a value also fills a cell of the table, one per environment and label."""
    anchors = []
    for flag, texts in (("--anchor-curve", curves), ("--anchor", values)):
        for text in texts:
            given = f"{flag} {text}"
            if plot is None and flag == "--anchor-curve":
                raise UserInputError(f"Expected {flag} with --plot FILE, the figure it draws on. Received: {given} "
                                     f"without --plot")
            target, equals, source = text.partition("=")
            env_id, colon, label = target.partition(":")
            if not (env_id and colon and label and equals and source):
                form = "CSV" if flag == "--anchor-curve" else "VALUE"
                raise UserInputError(f"Expected {flag} ENV:LABEL={form}, the environment's panel and the legend's "
                                     f"label. Received: {given}")
            if "|" in label or "\n" in label:
                raise UserInputError(f"Expected {flag}'s LABEL without '|' or a line break, which would split the "
                                     f"table. Received: {given}")
            if flag == "--anchor-curve":
                anchors.append(Anchor(given, env_id, label, curve=read_anchor_curve(Path(source))))
                continue
            try:
                value = float(source)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise UserInputError(f"Expected {flag} ENV:LABEL=VALUE with VALUE a finite number. Received: {given}")
            if any((a.env_id, a.label) == (env_id, label) for a in anchors if a.value is not None):
                raise UserInputError(f"Expected one {flag} per environment and label, the table's cell. Received: "
                                     f"{given} after another {env_id}:{label}")
            anchors.append(Anchor(given, env_id, label, value=value))
    return anchors


def anchor_position(value: float, interval: tuple[float, float]) -> str:
    """Where a published value falls against our interval [low, high]: "above" high, "below" low, else "inside"
    (the bounds included: a value at the interval's edge is one the interval holds)."""
    low, high = interval
    return "above" if value > high else "below" if value < low else "inside"


def place_anchors(result: dict, anchors: Iterable[Anchor]) -> None:
    """Into the report: the labels of the --anchor values in the order given (the table's extra columns), and in
    each environment's group its anchors with where each falls against the group's interval."""
    values = [anchor for anchor in anchors if anchor.value is not None]
    result["anchor_labels"] = list(dict.fromkeys(anchor.label for anchor in values))
    for group in result["groups"]:
        group["anchors"] = [{"label": anchor.label, "value": anchor.value,
                             "position": anchor_position(anchor.value, group["interval"])}
                            for anchor in values if anchor.env_id == group["env_id"]]


def check_anchor_environments(anchors: Iterable[Anchor], result: dict) -> None:
    """Each anchor names an environment the report has runs of: another one has no row or panel to go in."""
    env_ids = [group["env_id"] for group in result["groups"]]
    for anchor in anchors:
        if anchor.env_id not in env_ids:
            raise UserInputError(f"Expected the environment of {anchor.given.split()[0]} to be one the report has "
                                 f"runs of ({', '.join(env_ids)}). Received: {anchor.given}")


def group_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """The runs by environment id (sorted), each group by seed. A group's runs must be seeds of one
    experiment: one run per seed, and the same config but for seed and budget."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.config.env_id, []).append(run)
    for env_id, members in groups.items():
        members.sort(key=lambda run: run.config.seed)
        for previous, run in zip(members, members[1:], strict=False):
            if run.config.seed == previous.config.seed:
                raise UserInputError(f"Expected one run per seed of {env_id}. Received: seed {run.config.seed} in "
                                     f"{previous.directory} and in {run.directory}")
        first = members[0]
        for run in members[1:]:
            differing = [field.name for field in dataclasses.fields(DDPGConfig) if field.name not in SEED_AND_BUDGET
                         and getattr(run.config, field.name) != getattr(first.config, field.name)]
            if differing:
                name, more = differing[0], differing[1:]
                raise UserInputError(
                    f"Expected the runs of {env_id} to differ only in seed and budget, for their numbers to be "
                    f"averaged (report unlike runs in separate invocations). Received: "
                    f"{name}={getattr(first.config, name)!r} in {first.directory}, {name}="
                    f"{getattr(run.config, name)!r} in {run.directory}"
                    + (f" (also {', '.join(more)})" if more else ""))
    return dict(sorted(groups.items()))


# --- a group's numbers ---------------------------------------------------------------------------


def common_evaluations(env_id: str, runs: list[Run], at: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(steps [T], E [seeds, T]): the evaluation steps every run has, up to `at` if given."""
    common = sorted(set.intersection(*(set(run.evaluations[0].tolist()) for run in runs)))
    if not common:
        raise UserInputError(f"Expected the runs of {env_id} to share an evaluation step. Received: none in "
                             f"common among {', '.join(str(run.directory) for run in runs)}")
    if at is not None:
        if at < common[0]:
            raise UserInputError(f"Expected --at at or after {common[0]}, the first evaluation step every run of "
                                 f"{env_id} has. Received: --at {at}")
        if at > common[-1]:
            raise UserInputError(f"Expected --at at or before {common[-1]}, the last evaluation step every run of "
                                 f"{env_id} has. Received: --at {at}")
        common = [step for step in common if step <= at]
    steps = np.array(common)
    returns = np.array([run.evaluations[1][np.searchsorted(run.evaluations[0], steps)] for run in runs])
    return steps, returns


def training_at(env_id: str, runs: list[Run], at: int | None, window: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(the step, each seed's mean training return of the episodes that ended within `window` steps up to
    it, how many there were). The step is `at`, or the last step every run's metrics.csv reaches."""
    first = max(int(run.episodes[0][0]) for run in runs)
    last = min(int(run.episodes[0][-1]) for run in runs)
    if at is None:
        at = last
    elif at < first:
        raise UserInputError(f"Expected --at at or after {first}, the step by which every run of {env_id} has "
                             f"ended an episode. Received: --at {at}")
    elif at > last:
        raise UserInputError(f"Expected --at at or before {last}, the last step every run of {env_id} has in its "
                             f"metrics.csv. Received: --at {at}")
    means, counts = np.zeros(len(runs)), np.zeros(len(runs), dtype=int)
    for index, run in enumerate(runs):
        mean, count = windowed_means(*run.episodes, np.array([at]), window)
        if count[0] == 0:
            raise UserInputError(f"Expected every run of {env_id} to end an episode within --window {window} "
                                 f"steps up to step {at}. Received: none in {run.directory / 'metrics.csv'}")
        means[index], counts[index] = mean[0], count[0]
    return at, means, counts


def group_report(env_id: str, runs: list[Run], statistic: str, at: int | None, window: int, resamples: int,
                 confidence: float) -> dict:
    """Every number of one row: the statistic and its interval, the seeds, the step budget, the share of
    seeds whose final evaluation is within 10 % of their best and the means over seeds of the finals and the
    bests (issue 26's table: None where the runs have no evaluations), each seed's numbers, and the mean curve
    with its pointwise bootstrap band (for the plot)."""
    uniform = np.full((1, len(runs)), 1 / len(runs))
    weights = resample_weights(len(runs), resamples, np.random.default_rng(BOOTSTRAP_SEED))
    per_seed = [{"seed": run.config.seed, "run": str(run.directory)} for run in runs]
    row: dict = {"env_id": env_id, "seeds": [run.config.seed for run in runs],
                 "runs": [str(run.directory) for run in runs]}
    if statistic == "train":
        step, train, counts = training_at(env_id, runs, at, window)
        for entry, value, count in zip(per_seed, train, counts, strict=True):
            entry.update(train=float(value), train_episodes=int(count))
        evaluations = _evaluations_for_train(env_id, runs, step)
        steps, curves = _training_curves(runs, step, window)
    else:
        evaluations = steps, curves = common_evaluations(env_id, runs, at)
        step = int(steps[-1])
    row["steps"] = step
    row["final_within_10pct_of_best"] = row["final_mean"] = row["best_mean"] = None
    if evaluations is not None:
        final, best = evaluations[1][:, -1], evaluations[1].max(axis=1)
        within = within_best(final, best)
        for index, entry in enumerate(per_seed):
            entry.update(final=float(final[index]), final_step=int(evaluations[0][-1]), best=float(best[index]),
                         best_step=int(evaluations[0][evaluations[1][index].argmax()]),
                         final_within_10pct_of_best=bool(within[index]))
        row["final_within_10pct_of_best"] = float(within.mean())
        row["final_mean"], row["best_mean"] = float(final.mean()), float(best.mean())
    # What the statistic averages over seeds (statistic_values): table1 the curves, the others a number each.
    data = train if statistic == "train" else {"table1": curves, "final": final, "best": best}[statistic]
    if statistic == "table1":
        row["max_step"] = int(steps[int(np.argmax(uniform @ curves))])
    row["value"] = float(statistic_values(statistic, data, uniform)[0])
    row["interval"] = list(percentile_interval(statistic_values(statistic, data, weights), confidence))
    for entry, curve in zip(per_seed, curves, strict=True):
        entry["train_curve" if statistic == "train" else "returns"] = curve.tolist()
    row["per_seed"] = per_seed
    low, high = percentile_interval(weights @ curves, confidence)
    row["curve"] = {"steps": steps.tolist(), "mean": (uniform @ curves)[0].tolist(), "low": low.tolist(),
                    "high": high.tolist()}
    return row


def _evaluations_for_train(env_id: str, runs: list[Run], step: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For train's 10 % column: the common evaluations up to its step, where every run has them."""
    if any(run.evaluations is None for run in runs):
        return None
    try:
        steps, curves = common_evaluations(env_id, runs, None)
    except UserInputError:  # no step in common: the column stays empty, the statistic does not need it
        return None
    keep = steps <= step
    return (steps[keep], curves[:, keep]) if keep.any() else None


def _training_curves(runs: list[Run], at: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, [seeds, steps]): the windowed training return every `window` steps back from `at`, at the
    steps where every seed ended an episode within the window."""
    grid = np.arange(at, 0, -window)[::-1]
    curves = np.array([windowed_means(*run.episodes, grid, window)[0] for run in runs])
    keep = ~np.isnan(curves).any(axis=0)
    return grid[keep], curves[:, keep]


def check_options(statistic: str | None, at: int | None, window: int | None, resamples: int, confidence: float) -> None:
    """Each option in its range, in one line, before any file is read."""
    if statistic is None:
        raise UserInputError(f"Expected --statistic {'|'.join(STATISTICS)}, or --compute. Received: neither")
    if statistic not in STATISTICS:
        raise UserInputError(f"Expected --statistic to be one of {', '.join(STATISTICS)}. "
                             f"Received: --statistic {statistic}")
    if window is not None and statistic != "train":
        raise UserInputError(f"Expected --window only with --statistic train. Received: --window {window} with "
                             f"--statistic {statistic}")
    if window is not None and window < 1:
        raise UserInputError(f"Expected --window >= 1. Received: --window {window}")
    if resamples < 1:
        raise UserInputError(f"Expected --bootstrap >= 1. Received: --bootstrap {resamples}")
    if not 0 < confidence < 1:  # nan too
        raise UserInputError(f"Expected 0 < --confidence < 1. Received: --confidence {confidence:g}")
    if at is not None and at < 0:
        raise UserInputError(f"Expected --at >= 0. Received: --at {at}")


def report(paths: Iterable[str | os.PathLike], statistic: str, at: int | None = None, window: int | None = None,
           resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE) -> dict:
    """Every number of the report: the statistic of each environment's runs found in `paths`, with its
    bootstrap interval, as format_table prints it and `--json` writes it."""
    check_options(statistic, at, window, resamples, confidence)
    window = DEFAULT_WINDOW if window is None and statistic == "train" else window
    groups = group_runs([read_run(path, statistic) for path in find_runs(paths)])
    return {"statistic": statistic, "definition": STATISTICS[statistic], "at": at, "window": window,
            "resamples": resamples, "confidence": confidence, "bootstrap_seed": BOOTSTRAP_SEED,
            "groups": [group_report(env_id, runs, statistic, at, window, resamples, confidence)
                       for env_id, runs in groups.items()]}


def format_table(result: dict) -> str:
    """The report as Markdown: a line saying what each column is, then one row per environment."""
    statistic, confidence = result["statistic"], result["confidence"]
    percent = f"{100 * confidence:g} %"
    where = (f"the episodes that ended in the {result['window']:,} steps up to `steps`" if statistic == "train"
             else "evaluations up to `steps`, the last evaluation step every seed has"
             + (f" at or before {result['at']:,}" if result["at"] is not None else ""))
    labels = result.get("anchor_labels", [])
    lines = [f"Statistic `{statistic}`: {result['definition']}; {where}. {percent} interval: percentile bootstrap "
             f"over seeds, {result['resamples']:,} resamples (generator seed {result['bootstrap_seed']})."
             + (" Each anchor's column: its value, and whether it lies above, inside or below the interval."
                if labels else ""), "",
             f"| environment | seeds | steps | {statistic} | {percent} interval | max at step | final within 10 % "
             "of best | final evaluation, mean over seeds | best evaluation, mean over seeds |"
             + "".join(f" {label} |" for label in labels),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(labels)]
    for group in result["groups"]:
        low, high = group["interval"]
        share = group["final_within_10pct_of_best"]
        within = "—" if share is None else f"{round(share * len(group['seeds']))} of {len(group['seeds'])}"
        placed = {anchor["label"]: f"{anchor['value']:.2f} ({anchor['position']})"
                  for anchor in group.get("anchors", [])}
        lines.append(f"| {group['env_id']} | {len(group['seeds'])} | {group['steps']} | {group['value']:.2f} | "
                     f"[{low:.2f}, {high:.2f}] | {group.get('max_step', '—')} | {within} | "
                     f"{_number(group['final_mean'])} | {_number(group['best_mean'])} |"
                     + "".join(f" {placed.get(label, '—')} |" for label in labels))
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def format_seed_table(result: dict) -> str:
    """Each seed's own numbers, a row per run: its final and best evaluation (each with its step), whether
    the final is within 10 % of the best, and with train its windowed training return."""
    train = result["statistic"] == "train"
    lines = ["| environment | seed | final evaluation | at step | best evaluation | at step | final within 10 % of "
             "best |" + (" train |" if train else "") + " run |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |" + (" ---: |" if train else "") + " --- |"]
    for group in result["groups"]:
        for entry in group["per_seed"]:
            if "final" in entry:
                cells = (f"{entry['final']:.2f} | {entry['final_step']} | {entry['best']:.2f} | {entry['best_step']} | "
                         f"{'yes' if entry['final_within_10pct_of_best'] else 'no'}")
            else:
                cells = "— | — | — | — | —"
            lines.append(f"| {group['env_id']} | {entry['seed']} | {cells} |"
                         + (f" {entry['train']:.2f} |" if train else "") + f" {entry['run']} |")
    return "\n".join(lines)


# --- the compute: --compute ----------------------------------------------------------------------


def check_compute_options(given: dict[str, object]) -> None:
    """--compute reads each run's metrics.csv alone: an option of the statistic table given with it
    ({flag: value, None when not given}) would be ignored, so it is refused, in one line, before any file
    is read."""
    for flag, value in given.items():
        if value is not None:
            raise UserInputError(f"Expected --compute without {flag}, an option of the statistic table. "
                                 f"Received: --compute and {flag} {value}")


def compute_report(paths: Iterable[str | os.PathLike]) -> dict:
    """What the runs found in `paths` cost, grouped and refused as report groups them: per run, its steps
    and training wall seconds (metrics.csv's last line) and their ratio; per environment, the mean, least
    and most wall seconds, the mean steps per second over runs, and the core-hours (the wall seconds
    summed, each run's core-seconds when it ran on one core), as format_compute_table prints them."""
    groups = group_runs([read_run(path, COMPUTE) for path in find_runs(paths)])
    rows = []
    for env_id, runs in groups.items():
        per_seed = [{"seed": run.config.seed, "run": str(run.directory), "steps": run.elapsed[0],
                     "wall_seconds": run.elapsed[1], "steps_per_second": run.elapsed[0] / run.elapsed[1]}
                    for run in runs]
        seconds = np.array([entry["wall_seconds"] for entry in per_seed])
        rows.append({"env_id": env_id, "seeds": [run.config.seed for run in runs],
                     "runs": [str(run.directory) for run in runs],
                     "steps": [entry["steps"] for entry in per_seed],
                     "wall_seconds_mean": float(seconds.mean()), "wall_seconds_min": float(seconds.min()),
                     "wall_seconds_max": float(seconds.max()),
                     "steps_per_second_mean": float(np.mean([entry["steps_per_second"] for entry in per_seed])),
                     "core_hours": float(seconds.sum() / 3600), "per_seed": per_seed})
    return {"definition": COMPUTE_DEFINITION, "groups": rows}


def format_compute_table(result: dict) -> str:
    """compute_report as Markdown: a line saying what each column is, then one row per environment."""
    lines = [f"Compute: {result['definition']}.", "",
             "| environment | runs | steps per run | wall seconds per run (mean) | min | max | steps per second "
             "(mean over runs) | total core-hours |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for group in result["groups"]:
        low, high = min(group["steps"]), max(group["steps"])
        steps = f"{low}" if low == high else f"{low}–{high}"
        lines.append(f"| {group['env_id']} | {len(group['runs'])} | {steps} | {group['wall_seconds_mean']:.1f} | "
                     f"{group['wall_seconds_min']:.1f} | {group['wall_seconds_max']:.1f} | "
                     f"{group['steps_per_second_mean']:.1f} | {group['core_hours']:.2f} |")
    return "\n".join(lines)


def format_compute_seed_table(result: dict) -> str:
    """Each run's own compute, a row per run: its steps, wall seconds and steps per second."""
    lines = ["| environment | seed | steps | wall seconds | steps per second | run |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for group in result["groups"]:
        for entry in group["per_seed"]:
            lines.append(f"| {group['env_id']} | {entry['seed']} | {entry['steps']} | {entry['wall_seconds']:.1f} | "
                         f"{entry['steps_per_second']:.1f} | {entry['run']} |")
    return "\n".join(lines)
