"""`ddpg train | evaluate | sweep`: the command line. `python -m ddpg` is the same."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import shutil
import sys
from pathlib import Path

from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError

SWEEP_FIELDS = ("seed", "final_average_return_40", "eval_mean_return", "eval_std_return", "wall_seconds",
                "steps_per_second")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One --dashed-option per DDPGConfig field, so each default lives only in the dataclass.

    An option not given is left out of the namespace (SUPPRESS), so that `--resume` can tell what
    the user asked to change from what they left alone.
    """
    group = parser.add_argument_group("hyperparameters (defaults: the Keras example's, but --update-every 10, "
                                      "where it updates after every step)")
    for field in dataclasses.fields(DDPGConfig):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, tuple):
            group.add_argument(flag, type=int, nargs="+", default=argparse.SUPPRESS, metavar="N",
                               help=f"{field.metadata['help']} (default: {' '.join(map(str, field.default))})")
        else:
            group.add_argument(flag, type=type(field.default), default=argparse.SUPPRESS,
                               help=f"{field.metadata['help']} (default: {field.default})")


def given_config_values(args: argparse.Namespace) -> dict:
    """The config fields given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(DDPGConfig) if hasattr(args, f.name)}


def config_from(values: dict) -> DDPGConfig:
    try:
        return DDPGConfig(**values)
    except ValueError as error:
        raise UserInputError(str(error)) from None


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Refuse to mix two runs in one directory, and find out now, not after training, if it cannot be written."""
    previous = [name for name in ("metrics.csv", "checkpoint", "checkpoint.old") if (out / name).exists()]
    if previous and not overwrite:
        raise UserInputError(f"Expected an output directory without a run in it. Received: --out {out}, which "
                             f"holds {', '.join(previous)}; pass --resume {out} to continue it or --overwrite "
                             "to replace it")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".ddpg-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserInputError(f"Expected a writable output directory. Received: --out {out} "
                             f"({error.strerror or error})") from None
    if overwrite:  # the user asked for it: nothing of the old run may be mistaken for the new one
        for name in ("checkpoint", "checkpoint.old", "checkpoint.tmp"):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in ("metrics.csv", "eval.json", "actor.keras", "learning_curve.png"):
            (out / name).unlink(missing_ok=True)


def parse_seeds(text: str) -> list[int]:
    """'0-9' or '0,3,5' or '0-4,7' -> a list of seeds."""
    seeds = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            seeds.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise UserInputError(f"Expected seeds like 0-9 or 0,3,5. Received: --seeds {text}") from None
    if not seeds:
        raise UserInputError(f"Expected at least one seed. Received: --seeds {text}")
    return seeds


def episode_printer(total: int):
    """A progress bar on a terminal; one plain line per episode otherwise (logs, CI)."""
    if sys.stdout.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="episode", dynamic_ncols=True)

        def show(row: dict) -> None:
            bar.update(1)
            bar.set_postfix(ret=f"{row['return']:.1f}", avg40=f"{row['average_return_40']:.1f}",
                            steps_s=f"{row['steps_per_second']:.0f}")
            if row["episode"] == total:
                bar.close()
        return show

    def show(row: dict) -> None:
        print(f"episode {row['episode']}/{total}  return {row['return']:9.2f}  "
              f"average-40 {row['average_return_40']:9.2f}  {row['steps_per_second']:6.0f} steps/s", flush=True)
    return show


def cmd_train(args: argparse.Namespace) -> int:
    from ddpg.checkpoint import load_checkpoint
    from ddpg.training import NonFiniteEnvironmentOutput, TrainingInterrupted, make_env, train

    given = given_config_values(args)
    if args.checkpoint_every < 0:
        raise UserInputError(f"Expected --checkpoint-every >= 0. Received: --checkpoint-every {args.checkpoint_every}")
    if args.resume:
        out = Path(args.resume)
        if args.out and Path(args.out) != out:
            raise UserInputError(f"Expected --out to be the resumed directory or left out. Received: --out {args.out} "
                                 f"with --resume {out}")
        saved = load_checkpoint(out / "checkpoint").manifest["config"]
        config = config_from({**saved, **given})
    else:
        config = config_from(given)
        out = Path(args.out or f"runs/{config.env_id}-seed{config.seed}")
        make_env(config.env_id).close()  # refuse a wrong environment before creating anything
        prepare_out_dir(out, args.overwrite)
    try:
        result = train(config, out, progress=episode_printer(config.episodes), checkpoint_every=args.checkpoint_every,
                       resume=bool(args.resume))
    except TrainingInterrupted as stop:
        print(f"ddpg train: {stop}; checkpoint in {out / 'checkpoint'}. Resume with: ddpg train --resume {out}",
              file=sys.stderr)
        return 130 if stop.signal_name == "SIGINT" else 143
    except NonFiniteEnvironmentOutput as error:
        raise UserInputError(f"{error}; the last good state is in {out / 'checkpoint'} "
                             f"(ddpg train --resume {out} continues from it)") from None
    print(f"trained {config.episodes} episodes ({result.steps} steps) in {result.wall_seconds:.1f} s; "
          f"final 40-episode average {result.average_returns[-1]:.1f}; files in {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ddpg.training import evaluate

    run = Path(args.dir)
    if not (run / "actor.keras").is_file() or not (run / "config.json").is_file():
        raise UserInputError(f"Expected a training run directory holding actor.keras and config.json. Received: {run}")
    if args.episodes < 1:
        raise UserInputError(f"Expected --episodes >= 1. Received: --episodes {args.episodes}")
    report = evaluate(run, episodes=args.episodes, seed=args.seed)
    print(f"{report['env_id']}: mean return {report['mean_return']:.1f} ± {report['std_return']:.1f} over "
          f"{report['episodes']} episodes (seed {report['seed']}); wrote {run / 'eval.json'}")
    return 0


def _sweep_one(config: DDPGConfig, out: Path, eval_episodes: int, threads: int) -> dict:
    """Train and evaluate one seed in a fresh process: no state shared between seeds."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from ddpg.training import evaluate, train

    result = train(config, out)
    report = evaluate(out, episodes=eval_episodes)
    return {"seed": config.seed, "final_average_return_40": result.average_returns[-1],
            "eval_mean_return": report["mean_return"], "eval_std_return": report["std_return"],
            "wall_seconds": result.wall_seconds, "steps_per_second": result.steps / result.wall_seconds}


def cmd_sweep(args: argparse.Namespace) -> int:
    import multiprocessing

    from ddpg.sweep import plot_sweep
    from ddpg.training import make_env

    seeds = parse_seeds(args.seeds)
    if args.workers < 1:
        raise UserInputError(f"Expected --workers >= 1. Received: --workers {args.workers}")
    configs = [config_from({**given_config_values(args), "seed": seed}) for seed in seeds]
    out = Path(args.out or f"runs/sweep-{configs[0].env_id}")
    if (out / "sweep.csv").exists() and not args.overwrite:
        raise UserInputError(f"Expected an output directory without a sweep in it. Received: --out {out}, which "
                             "holds sweep.csv; pass --overwrite to replace it")
    make_env(configs[0].env_id).close()  # refuse a wrong environment before creating anything
    out.mkdir(parents=True, exist_ok=True)
    cores = multiprocessing.cpu_count()
    threads = max(1, cores // args.workers)  # two trainings on two cores would otherwise fight
    jobs = [(config, out / f"seed_{config.seed}", args.eval_episodes, threads) for config in configs]
    # spawn: TensorFlow does not survive fork.
    with multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        rows = sorted(pool.starmap(_sweep_one, jobs, chunksize=1), key=lambda row: row["seed"])
    with (out / "sweep.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, SWEEP_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    plot_sweep(out, [row["seed"] for row in rows], out / "sweep.png")
    print(format_sweep_table(rows))
    print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    return 0


def format_sweep_table(rows: list[dict]) -> str:
    """A Markdown table of the sweep, with the median and the count of seeds at or above -200."""
    import statistics

    lines = ["| seed | final 40-episode average | evaluation mean ± std | wall s | steps/s |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['seed']} | {row['final_average_return_40']:.1f} | {row['eval_mean_return']:.1f} ± "
                     f"{row['eval_std_return']:.1f} | {row['wall_seconds']:.0f} | {row['steps_per_second']:.0f} |")
    evals = [row["eval_mean_return"] for row in rows]
    lines.append(f"\nevaluation: median {statistics.median(evals):.1f}, worst {min(evals):.1f}, "
                 f"{sum(e >= -200 for e in evals)} of {len(evals)} seeds >= -200")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ddpg", description="DDPG (Lillicrap et al. 2016) on Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train on an environment and save the actor, metrics and a plot")
    train.add_argument("--out", metavar="DIR", help="where the run's files go (default: runs/ENV_ID-seedSEED)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, up to --episodes; other options "
                            "must match the checkpoint's")
    train.add_argument("--checkpoint-every", type=int, default=10, metavar="N",
                       help="write DIR/checkpoint every N episodes, 0 for only at the end (default: 10); also "
                            "written on SIGINT/SIGTERM")
    add_config_options(train)
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="run a trained actor without noise; writes eval.json")
    evaluate.add_argument("dir", metavar="DIR", help="a directory written by `ddpg train`")
    evaluate.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default: 10)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="environment seed (default: the training seed + 1000000)")
    evaluate.set_defaults(run=cmd_evaluate)

    sweep = commands.add_parser("sweep", help="train and evaluate several seeds; writes sweep.csv and sweep.png")
    sweep.add_argument("--seeds", default="0-9", help="seeds, like 0-9 or 0,3,5 (default: 0-9)")
    sweep.add_argument("--workers", type=int, default=2, help="processes at once (default: 2)")
    sweep.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per seed (default: 10)")
    sweep.add_argument("--out", metavar="DIR", help="where the sweep goes (default: runs/sweep-ENV_ID)")
    sweep.add_argument("--overwrite", action="store_true", help="replace a sweep already in --out")
    add_config_options(sweep)
    sweep.set_defaults(run=cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserInputError as error:
        print(f"ddpg {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ddpg {args.command}: interrupted", file=sys.stderr)
        return 130
