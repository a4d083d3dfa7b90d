"""A sweep's trial: train one config into its run directory (or finish, or resume it), then evaluate it.

Below both engines, the local process pool (ddpg.local_engine) and Ray (ddpg.ray_engine): each runs
this in its workers, and reports a stopped sweep in the same words. A finished trial leaves its row
in RUN_DIR/trial.json, so that the same sweep run again keeps it instead of evaluating it again.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ddpg.checkpoint import CheckpointError, checkpoint_exists, read_manifest
from ddpg.config import DDPGConfig
from ddpg.evaluation import evaluate
from ddpg.run_files import write_atomically
from ddpg.run_options import RunOptions
from ddpg.run_schema import TRIAL_FILE
from ddpg.training import TrainingInterrupted, TrainResult, train


def train_and_evaluate(config: DDPGConfig, options: RunOptions) -> dict:
    """Train (or finish, or resume) one config in options.out_dir, then evaluate it over its eval_episodes;
    its row of sweep.csv. Without options.overwrite, a run there with a checkpoint is resumed (or found
    finished); without a checkpoint, nothing was kept yet (a run stopped before its first one): it starts
    again."""
    options = trial_options(options)
    return finish_trial(config, options, train(config, options))


def trial_options(options: RunOptions) -> RunOptions:
    """The options a trial trains with: resume the run there if it has a checkpoint (and overwrite is not asked),
    else start it anew."""
    resume = not options.overwrite and checkpoint_exists(options.out_dir / "checkpoint")
    return dataclasses.replace(options, resume=resume, overwrite=not resume)


def finish_trial(config: DDPGConfig, options: RunOptions, result: TrainResult) -> dict:
    """A trained run evaluated over its eval_episodes, its row of sweep.csv kept in RUN_DIR/trial.json."""
    report = evaluate(options.out_dir, episodes=config.eval_episodes)
    row = {"seed": config.seed, "final_average_return_40": result.average_returns[-1] if result.average_returns
           else float("nan"), "eval_mean_return": report["mean_return"], "eval_std_return": report["std_return"],
           "wall_seconds": result.wall_seconds, "steps_per_second": result.steps / result.wall_seconds}
    manifest = read_manifest(options.out_dir / "checkpoint")[1]  # of the last episode's start, if the budget cut it
    done = {"episode": manifest["episode"], "steps": manifest["steps"]}
    write_atomically(options.out_dir / TRIAL_FILE, json.dumps({"config": dataclasses.asdict(config), **done,
                                                               "row": row}, indent=2) + "\n")
    return row


def kept_row(config: DDPGConfig, options: RunOptions) -> dict | None:
    """The row of a trial of this very config (budget included) that finished in options.out_dir, if its
    checkpoint is still the one it finished with; None otherwise, or with options.overwrite."""
    path = options.out_dir / TRIAL_FILE
    if options.overwrite or not path.is_file():
        return None
    try:
        kept = json.loads(path.read_text())
        manifest = read_manifest(options.out_dir / "checkpoint")[1]
        same = (kept["config"] == json.loads(json.dumps(dataclasses.asdict(config)))
                and (kept["episode"], kept["steps"]) == (manifest["episode"], manifest["steps"]))
    except (OSError, ValueError, KeyError, TypeError, CheckpointError):
        return None  # not a trial.json as written, or no checkpoint: the trial runs, and writes it anew
    return kept["row"] if same else None


def use_threads(threads: int) -> None:
    """TensorFlow's thread pools at `threads`, before it runs anything (a process's first call only)."""
    from ddpg.backend import tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def run_name(run_dir: Path) -> str:
    """seed_N, or POINT/seed_N in a grid (a point's name always holds '=')."""
    return f"{run_dir.parent.name}/{run_dir.name}" if "=" in run_dir.parent.name else run_dir.name


def stopped_sweep(signal_name: str, finished: list[str]) -> TrainingInterrupted:
    """The one line of a sweep stopped by a signal, naming the runs it finished (`seed_0`, `tau=0.5/seed_1`)."""
    done = ", ".join(finished)
    return TrainingInterrupted(signal_name, f"stopped by {signal_name}; finished: {done or 'none'}; the others keep "
                                            "their checkpoints. Run the same command again to finish")
