"""`ddpg train | evaluate | sweep`: the command line, which only parses and reports. `python -m ddpg` is the same.

A user's mistake, and a fault of the machine (a full disk, a read-only directory), ends in one line
on stderr and exit status 2; no traceback reaches the terminal for either.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import sys
from pathlib import Path

from ddpg import __version__
from ddpg.config import BUDGET_FIELDS, DDPGConfig, config_from_json
from ddpg.errors import UserInputError
from ddpg.presets import DEFAULT_PRESET, PRESETS, check_preset
from ddpg.run_options import RunOptions


class Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line like every other error here (not usage plus a line)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_config_options(parser: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    """One --dashed-option per DDPGConfig field, so each default lives only in the dataclass; --preset and
    --config to start from other defaults.

    An option not given is left out of the namespace (SUPPRESS), so that presets, config files and
    `--resume` can tell what the user asked to change from what they left alone.
    """
    parser.add_argument("--preset", metavar="|".join(sorted(PRESETS)),
                        help="defaults to start from, each reproducing a source (docs/presets.md); options given "
                             "override them (default: keras-example)")
    parser.add_argument("--config", metavar="FILE", help="a JSON config, e.g. a run's config.json, over the "
                                                         "preset; options given override it")
    group = parser.add_argument_group("hyperparameters (defaults: the Keras example's, but --update-every 10, "
                                      "where it updates after every step)")
    for field in dataclasses.fields(DDPGConfig):
        if field.name in leave_out:
            continue
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, tuple):
            may_be_empty = getattr(field.metadata["check"], "may_be_empty", False)
            group.add_argument(flag, type=int, nargs="*" if may_be_empty else "+", default=argparse.SUPPRESS,
                               metavar="N", help=f"{field.metadata['help']} (default: "
                                                 f"{' '.join(map(str, field.default)) or 'none'})")
        elif field.metadata["kind"] is bool:  # --batch-norm / --no-batch-norm
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=f"{field.metadata['help']} (default: {'on' if field.default else 'off'})")
        else:
            default = "" if field.default is None else f" (default: {field.default})"
            group.add_argument(flag, type=field.metadata["kind"], default=argparse.SUPPRESS,
                               help=f"{field.metadata['help']}{default}")


def config_values(args: argparse.Namespace, saved: dict | None = None, preset: str | None = None,
                  file: dict | None = None) -> dict:
    """The config's fields from, in rising order: a saved config (resume) or the preset (`preset`, else
    --preset), --config FILE, and the options given. A budget given (episodes or total_steps) replaces the
    budget from below it. `file`: --config FILE's values, if already read."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(DDPGConfig) if hasattr(args, f.name)}
    if saved is None:
        values = dict(check_preset_option(preset or args.preset or DEFAULT_PRESET))
    else:  # a preset given on resume is checked against the run like an option: its values over the saved ones
        values = {**saved, **(check_preset_option(args.preset) if args.preset else {})}
    if args.config:
        values.update(read_config_file(Path(args.config)) if file is None else file)
    if any(name in given for name in BUDGET_FIELDS):
        values = {name: value for name, value in values.items() if name not in BUDGET_FIELDS}
    return {**values, **given}


def check_preset_option(name: str) -> dict:
    try:
        return check_preset(name)
    except ValueError as error:
        raise UserInputError(str(error)) from None


def config_from(values: dict) -> DDPGConfig:
    try:
        return DDPGConfig(**values)
    except ValueError as error:
        raise UserInputError(str(error)) from None


def read_config_file(path: Path) -> dict:
    """The fields of a JSON config file, as `ddpg train` writes config.json; one line if it is not that."""
    try:
        return config_from_json(path.read_text())
    except OSError as error:
        raise UserInputError(f"Expected a readable --config file. Received: {path} ({error.strerror})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UserInputError(f"Expected --config FILE as ddpg train writes config.json. Received: {path}, "
                             f"{error}") from None


def episode_printer(config: DDPGConfig, done_episodes: int = 0, done_steps: int = 0):
    """A progress bar on a terminal (in steps or episodes, as the budget is); one plain line per episode
    otherwise (logs, CI). `done_*`: what a resumed run had already."""
    by_steps = config.total_steps is not None
    total = config.total_steps if by_steps else config.episodes
    if sys.stdout.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done_steps if by_steps else done_episodes, unit="step" if by_steps
                   else "episode", dynamic_ncols=True)

        def show(row: dict) -> None:
            bar.update((row["steps"] if by_steps else row["episode"]) - bar.n)
            bar.set_postfix(ret=f"{row['return']:.1f}", avg40=f"{row['average_return_40']:.1f}",
                            steps_s=f"{row['steps_per_second']:.0f}")
        return show

    def show(row: dict) -> None:
        episode = f"episode {row['episode']}" + ("" if by_steps else f"/{total}")
        steps = f"step {row['steps']}" + (f"/{total}" if by_steps else "")
        print(f"{episode}  {steps}  return {row['return']:9.2f}  average-40 {row['average_return_40']:9.2f}  "
              f"{row['steps_per_second']:6.0f} steps/s", flush=True)
    return show


def check_paths(args: argparse.Namespace, *flags: str) -> None:
    """An empty path (--out "") is refused: Path("") is the working directory, never what was meant."""
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None and not value.strip():
            shown = flag if flag.startswith("--") else flag.upper()
            raise UserInputError(f"Expected {shown} to name a path. Received: {shown} {value!r}")


def cmd_train(args: argparse.Namespace) -> int:
    from ddpg.run_state import saved_run
    from ddpg.training import TrainingInterrupted, train

    check_paths(args, "--out", "--resume", "--config")

    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise UserInputError(f"Expected --out to be the resumed directory or left out. Received: --out {args.out} "
                             f"with --resume {args.resume}")
    saved = saved_run(Path(args.resume)) if args.resume else None
    config = config_from(config_values(args, saved=dataclasses.asdict(saved.config) if saved else None))
    options = RunOptions(Path(args.resume or args.out or f"runs/{config.env_id}-seed{config.seed}"),
                         resume=bool(args.resume), overwrite=args.overwrite, checkpoint_every=args.checkpoint_every,
                         tensorboard=not args.no_tensorboard)
    try:
        result = train(config, options, progress=episode_printer(config, saved.episode if saved else 0,
                                                                 saved.steps if saved else 0))
    except TrainingInterrupted as stop:
        print(f"ddpg train: {stop}", file=sys.stderr)
        return 130 if stop.signal_name == "SIGINT" else 143
    average = (f"final 40-episode average {result.average_returns[-1]:.1f}" if result.average_returns
               else "no episode finished")
    best = result.best_evaluation  # best_actor.keras's, as the checkpoint keeps it
    print(f"trained {result.episodes_trained} episodes ({len(result.returns)} in all, {result.steps} steps) in "
          f"{result.wall_seconds:.1f} s; {average}"
          + (f"; best evaluation {best['mean_return']:.1f} at step {best['step']}" if best else "")
          + f"; files in {options.out_dir}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ddpg.evaluation import evaluate
    from ddpg.run_files import write_atomically

    check_paths(args, "dir", "--json")
    if args.json and Path(args.dir).resolve() in Path(args.json).resolve().parents:
        raise UserInputError(f"Expected --json outside the run directory, which evaluate never writes into. "
                             f"Received: --json {args.json}")
    report = evaluate(Path(args.dir), episodes=args.episodes, seed=args.seed, best=args.best)
    if args.json:
        write_atomically(Path(args.json), json.dumps(report, indent=2) + "\n")
    print(f"{report['env_id']} ({report['actor']}): "
          f"mean return {report['mean_return']:.1f} ± {report['std_return']:.1f} over "
          f"{report['episodes']} episodes (seed {report['seed']})" + (f"; wrote {args.json}" if args.json else ""))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ddpg.export import export_actor

    out = export_actor(Path(args.dir), args.format, Path(args.out), best=args.best)
    print(f"wrote {out} ({args.format}) from {Path(args.dir) / ('best_actor.keras' if args.best else 'actor.keras')}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ddpg.grid import expand, format_value, parse_grid, point_configs
    from ddpg.sweep import parse_seeds, run_sweep
    from ddpg.sweep_report import format_grid_table, format_sweep_table
    from ddpg.training import TrainingInterrupted

    check_paths(args, "--out", "--config")
    seeds = parse_seeds(args.seeds)
    axes = parse_grid(args.grid)
    for name, values in axes:
        if getattr(args, name, None) is not None:  # given: an option left out is not in args, --preset is None
            flag = "--" + name.replace("_", "-")
            raise UserInputError(f"Expected {name} in --grid or as {flag}, not both. Received: --grid "
                                 f"{name}={','.join(map(format_value, values))} and {flag} {getattr(args, name)}")
    check_engine_options(args)
    file_values = read_config_file(Path(args.config)) if args.config else None  # read once, for every point
    trials = point_configs(expand(axes), seeds, lambda preset: config_values(args, preset=preset, file=file_values))
    out = Path(args.out or f"runs/sweep-{trials[0][1].env_id}")
    options = RunOptions(out, overwrite=args.overwrite, checkpoint_every=args.checkpoint_every)
    try:
        rows = run_sweep(trials, options, engine(args), grid=dict(axes) or None, progress=run_printer(len(trials)))
    except TrainingInterrupted as stop:
        print(f"ddpg sweep: {stop}", file=sys.stderr)
        return 130 if stop.signal_name == "SIGINT" else 143
    print(format_grid_table(rows) if axes else format_sweep_table(rows, trials[0][1].env_id))
    print(f"wrote {out / 'sweep.csv'}, {out / 'sweep.json'} and {out / 'sweep.png'}")
    return 0


def engine(args: argparse.Namespace):
    """The sweep's engine, checked: the seeds together in this process (--vectorize), the local pool's workers, or
    Ray's presence."""
    if args.vectorize:
        from ddpg.vectorized_engine import VectorizedEngine

        return VectorizedEngine()
    if args.engine == "ray":
        from ddpg.ray_engine import CONNECT_TIMEOUT, RayEngine

        return RayEngine(args.address, args.cpus_per_trial or 1, args.connect_timeout or CONNECT_TIMEOUT)
    from ddpg.local_engine import LocalEngine

    return LocalEngine(args.workers, args.oversubscribe)


def run_printer(total: int):
    """One line per finished run of a sweep (a run kept from before, at once), so a long sweep is not silent."""
    finished = itertools.count(1)

    def show(name: str, row: dict) -> None:
        print(f"[{next(finished)}/{total}] {name}: evaluation {row['eval_mean_return']:.1f} ± "
              f"{row['eval_std_return']:.1f}, final 40-episode average {row['final_average_return_40']:.1f}, "
              f"{row['wall_seconds']:.0f} s", flush=True)
    return show


def cmd_report(args: argparse.Namespace) -> int:
    from ddpg.report import (
        check_anchor_environments,
        check_compute_options,
        compute_report,
        format_compute_seed_table,
        format_compute_table,
        format_seed_table,
        format_table,
        place_anchors,
        read_anchors,
        report,
    )
    from ddpg.run_files import write_atomically, write_beside

    anchors = []
    if args.compute:
        check_compute_options({"--statistic": args.statistic, "--at": args.at, "--window": args.window,
                               "--plot": args.plot, "--anchor-curve": args.anchor_curve and args.anchor_curve[0],
                               "--anchor": args.anchor and args.anchor[0]})
        result = compute_report(args.dirs)
        table, seed_table = format_compute_table, format_compute_seed_table
    else:
        if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg"):
            raise UserInputError(f"Expected --plot FILE ending in .png, .pdf or .svg. Received: --plot {args.plot}")
        anchors = read_anchors(args.anchor_curve or (), args.anchor or (), args.plot)
        result = report(args.dirs, args.statistic, at=args.at, window=args.window, resamples=args.bootstrap,
                        confidence=args.confidence)
        check_anchor_environments(anchors, result)
        place_anchors(result, anchors)
        table, seed_table = format_table, format_seed_table
    if args.json:
        write_atomically(Path(args.json), json.dumps(result, indent=2) + "\n")
    if args.plot:
        from ddpg.plots import plot_report

        write_beside(Path(args.plot), lambda path: plot_report(result, path, anchors))
    print(table(result))
    if args.per_seed:
        print("\n" + seed_table(result))
    written = [name for name in (args.json, args.plot) if name]
    if written:
        print(f"\nwrote {' and '.join(written)}")
    return 0


def check_engine_options(args: argparse.Namespace) -> None:
    if args.vectorize:
        check_vectorize(args)
    if args.engine != "ray":
        for flag, value in (("--address", args.address), ("--cpus-per-trial", args.cpus_per_trial),
                            ("--connect-timeout", args.connect_timeout)):
            if value is not None:
                raise UserInputError(f"Expected {flag} only with --engine ray. Received: {flag} {value} with "
                                     f"--engine {args.engine}")
    elif args.cpus_per_trial is not None and args.cpus_per_trial < 1:
        raise UserInputError(f"Expected --cpus-per-trial >= 1. Received: --cpus-per-trial {args.cpus_per_trial}")
    elif args.connect_timeout is not None and not 0 < args.connect_timeout < 1e6:  # nan too
        raise UserInputError(f"Expected 0 < --connect-timeout < 1000000 seconds. Received: --connect-timeout "
                             f"{args.connect_timeout}")


def check_vectorize(args: argparse.Namespace) -> None:
    """--vectorize trains the seeds together in this process, through the update vectorised by JAX: the local
    engine on Keras's JAX backend only (checked before Keras loads, as ddpg.backend reads the variable)."""
    if args.engine != "local":
        raise UserInputError(f"Expected --vectorize with --engine local: the seeds train together in this process. "
                             f"Received: --vectorize with --engine {args.engine}")
    backend = os.environ.get("KERAS_BACKEND") or "tensorflow"
    if backend != "jax":
        raise UserInputError("Expected KERAS_BACKEND=jax with --vectorize: the vectorised update is JAX's. "
                             f"Received: KERAS_BACKEND={backend}")


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: `--seed` must never quietly mean `--seeds`, nor `--ep` `--episodes`.
    parser = Parser(prog="ddpg", description="DDPG (Lillicrap et al. 2016) on Keras 3.", allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (_add_train, _add_evaluate, _add_export, _add_sweep, _add_report):
        add(commands)
    return parser


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="train on an environment and save the actor, metrics and a plot",
                                allow_abbrev=False)
    train.add_argument("--out", metavar="DIR", help="where the run's files go (default: runs/ENV_ID-seedSEED)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    train.add_argument("--resume", metavar="DIR",
                       help="continue the run in DIR from its last checkpoint, up to --episodes; other options "
                            "must match the checkpoint's")
    train.add_argument("--checkpoint-every", type=int, default=10, metavar="N",
                       help="write DIR/checkpoint every N episodes, 0 for only at the end (default: 10); also "
                            "written on SIGINT/SIGTERM")
    train.add_argument("--no-tensorboard", action="store_true",
                       help="write no TensorBoard event files (a resumed run writes them only if it was writing them)")
    add_config_options(train)
    train.set_defaults(run=cmd_train)


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="run a trained actor without noise; reads the run, writes nothing "
                                   "into it", allow_abbrev=False)
    evaluate.add_argument("dir", metavar="DIR", help="a directory written by `ddpg train`")
    evaluate.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default: 10)")
    evaluate.add_argument("--seed", type=int, default=None,
                          help="environment seed (default: the training seed + 1000000)")
    evaluate.add_argument("--best", action="store_true", help="evaluate best_actor.keras, the actor of the best "
                          "evaluation during training (--eval-every), instead of actor.keras")
    evaluate.add_argument("--json", metavar="FILE", help="also write the report, with every return, to FILE")
    evaluate.set_defaults(run=cmd_evaluate)


def _add_export(commands) -> None:
    export = commands.add_parser("export", help="write a run's actor as ONNX, TFLite or a SavedModel",
                                 allow_abbrev=False)
    export.add_argument("dir", metavar="RUN_DIR", help="a directory written by `ddpg train`")
    export.add_argument("--format", required=True, choices=("onnx", "tflite", "savedmodel"),
                        help="onnx and tflite need the export extra (pip install \".[export]\")")
    export.add_argument("--out", required=True, metavar="PATH", help="the file (onnx, tflite) or directory "
                        "(savedmodel) to write; must not exist")
    export.add_argument("--best", action="store_true", help="export best_actor.keras instead of actor.keras")
    export.set_defaults(run=cmd_export)


def _add_sweep(commands) -> None:
    sweep = commands.add_parser("sweep", help="train and evaluate several seeds; writes sweep.csv, sweep.json and "
                                "sweep.png", allow_abbrev=False)
    sweep.add_argument("--seeds", default="0-9", help="distinct seeds, like 0-9 or 0,3,5 (default: 0-9)")
    sweep.add_argument("--workers", type=int, default=2, help="local engine: processes at once, at most the cores "
                       "(default: 2)")
    sweep.add_argument("--oversubscribe", action="store_true", help="allow more --workers than cores")
    sweep.add_argument("--out", metavar="DIR", help="where the sweep goes (default: runs/sweep-ENV_ID)")
    sweep.add_argument("--overwrite", action="store_true", help="replace a sweep already in --out")
    sweep.add_argument("--checkpoint-every", type=int, default=10, metavar="N",
                       help="each run writes its checkpoint every N episodes, 0 for only at its end (default: 10)")
    sweep.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2",
                       help="vary a config field (or preset, env_id) over these values, each with every seed; "
                            "repeat for a product grid; runs go to DIR/FIELD=V,.../seed_N")
    sweep.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: a process pool here (default); ray: Ray tasks on a cluster (pip install "
                            "'.[ray]' in the ddpg checkout)")
    sweep.add_argument("--address", help="with --engine ray: the cluster to join (auto, HOST:PORT or "
                                         "ray://HOST:PORT; default: start a local one)")
    sweep.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                       help="with --engine ray: how long to try to reach --address before giving up (default: 30)")
    sweep.add_argument("--cpus-per-trial", type=int, help="with --engine ray: cores each run asks Ray for, and "
                                                          "TensorFlow's threads (default: 1)")
    sweep.add_argument("--vectorize", action="store_true",
                       help="train the seeds of each config together in this process, their updates batched into "
                       "one compiled call (KERAS_BACKEND=jax only; --workers does not apply)")
    add_config_options(sweep, leave_out=("seed",))  # --seeds sets it, one run each
    sweep.set_defaults(run=cmd_sweep)


def _add_report(commands) -> None:
    report = commands.add_parser("report", help="recompute a results page's statistic per environment from run "
                                 "directories' eval.csv and metrics.csv, with a bootstrap interval over seeds "
                                 "(--compute: what the runs cost)",
                                 allow_abbrev=False)
    report.add_argument("dirs", nargs="+", metavar="RUN_DIR",
                        help="a run directory (config.json, eval.csv, metrics.csv), or a directory holding runs")
    report.add_argument("--statistic", choices=("table1", "final", "best", "train"),
                        help="table1: max over evaluation steps of the mean over seeds (Fujimoto et al. 2018, "
                             "Table 1); final: mean of each seed's last common evaluation; best: mean of each "
                             "seed's best evaluation; train: mean training return with noise over --window "
                             "steps (CleanRL's); required unless --compute")
    report.add_argument("--compute", action="store_true",
                        help="instead of a statistic, what the runs cost: per environment the steps, training wall "
                             "seconds (core-seconds of a run on one core), steps per second and core-hours, from "
                             "each run's metrics.csv")
    report.add_argument("--at", type=int, metavar="STEP",
                        help="use evaluations up to STEP (train: the window ends at STEP; default: the last "
                             "step every seed has)")
    report.add_argument("--window", type=int, metavar="STEPS",
                        help="with --statistic train: the episodes that ended in the last STEPS steps "
                             "(default: 10000)")
    report.add_argument("--bootstrap", type=int, default=10_000, metavar="N",
                        help="resamples of the seeds for the interval (default: 10000; generator seed 0)")
    report.add_argument("--confidence", type=float, default=0.95, help="the interval's level (default: 0.95)")
    report.add_argument("--per-seed", action="store_true", help="also print each seed's final and best evaluation "
                                                            "(with --compute: each run's steps and seconds)")
    report.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    report.add_argument("--plot", metavar="FILE", help="also draw each environment's mean curve and its "
                                                       "interval (.png, .pdf or .svg)")
    report.add_argument("--anchor-curve", action="append", metavar="ENV:LABEL=CSV",
                        help="with --plot: also draw on ENV's panel a published curve's points, mean ± std, from a "
                             "CSV with the columns env_step, rew and rew:shaded (Tianshou's benchmark CSVs); "
                             "repeatable")
    report.add_argument("--anchor", action="append", metavar="ENV:LABEL=VALUE",
                        help="also a column LABEL in the table: the published number and whether it lies above, "
                             "inside or below ENV's interval; with --plot, drawn on ENV's panel as a dashed line; "
                             "repeatable")
    report.set_defaults(run=cmd_report)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserInputError as error:
        print(f"ddpg {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the machine's fault, not the user's, but no less one line
        where = f"{error.filename}: " if error.filename else ""
        print(f"ddpg {args.command}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"ddpg {args.command}: error: out of memory; try a smaller --buffer-capacity or smaller networks",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ddpg {args.command}: interrupted", file=sys.stderr)
        return 130
