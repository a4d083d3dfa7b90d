"""A command-line fuzzer: Hypothesis draws argument lists for `train`, `evaluate` and `sweep`, with numbers
at and past every bound, empty and odd strings, and paths that are runs, files, empty, missing.

Every draw ends in exit 0, or in exit 2 with one line on stderr and no traceback; and every file
under the paths it was given is byte-for-byte as it was, unless the command succeeded and was one
that writes there. Modest in the default suite; `tox -e fuzz` runs many more examples.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from helpers import RUN, SHORT_ENV, TINY
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_faults import EXAMPLES, snapshot

from ddpg.cli import main

# Values at and past the bounds of the options, and strings a parser must survive.
NUMBERS = ["0", "1", "2", "-1", "0.5", "1.5", "1e-9", "1e308", "nan", "inf", "-inf", "4294967295", "4294967296",
           "99999999999999999999", "", " ", "x", "0x10", "1_000", "--", "٣"]
# tb-file: a directory whose tensorboard/ is a file (TensorBoard's writer cannot be made there).
PATHS = ["run", "file", "empty", "missing", "missing/deeper", "run/metrics.csv", "run/checkpoint", "", ".", "tb-file",
         "run/tensorboard"]
CONFIG_OPTIONS = ["--seed", "--gamma", "--tau", "--actor-lr", "--batch-size", "--buffer-capacity", "--update-every",
                  "--ou-theta", "--ou-dt", "--ou-sigma"]
# --grid specs, good and bad (never --engine ray: the fuzzer does not start Ray).
GRIDS = ["tau=0.5,0.25", "tau=", "x=1", "seed=1", "tau=0.1,0.1", "actor_hidden=8-x", "actor_hidden=8,none",
         "buffer_capacity=8,1000", "env_id=NoSuchEnv-v0", "preset=nope", "gamma=2", "=", "noise=ou,gaussian",
         "preset=keras-example,ourddpg2018", "preset=fujimoto2018", "preset=cleanrl,cleanrl",
         "env_id=Pendulum-v1,nosuchmodule:X-v0", "env_id=Pendulum-v1:"]
# Ids that name no environment that can be made: a module that is not there, forms Gymnasium does not parse.
ENV_IDS = [SHORT_ENV, "", "NoSuchEnv-v0", "CartPole-v1", "Pendulum-v1", "x/y-v0", "nosuchmodule:X-v0", "Pendulum-v1:",
           ":Pendulum-v1", "a:b:c-v0", "gymnasium:NoSuch-v0"]
PRESET_NAMES = ["keras-example", "cleanrl", "nope", "fujimoto2018", ""]
# Small enough that a run that succeeds takes a second or two: few episodes of 20 steps.
EPISODES = ["0", "1", "2", "-1", "1.5", "x", ""]


@pytest.fixture(scope="module")
def a_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("fuzz") / "run"
    assert main(["train", "--episodes", "1", "--out", str(run), *RUN]) == 0
    return run


def option(name: str, values: list[str]):
    return st.tuples(st.just(name), st.sampled_from(values)).map(list)


def flag(name: str):
    return st.just([name])


@st.composite
def argv(draw) -> list[str]:
    command = draw(st.sampled_from(["train", "evaluate", "sweep"]))
    if command == "evaluate":
        parts = [[draw(st.sampled_from(PATHS))]] + draw(st.lists(st.one_of(
            option("--episodes", ["1", *EPISODES]), option("--seed", NUMBERS),
            option("--json", [*PATHS, "report.json", "run/report.json"]),
        ), max_size=3))
        return ["evaluate", *(arg for part in parts for arg in part)]
    common = [option("--episodes", EPISODES), option("--out", PATHS), flag("--overwrite"),
              *(option(name, NUMBERS) for name in CONFIG_OPTIONS),
              option("--env-id", ENV_IDS), option("--preset", PRESET_NAMES),
              option("--actor-hidden", ["8", "0", "-1", "x"])]
    if command == "train":
        extra = [option("--resume", PATHS), option("--checkpoint-every", NUMBERS), flag("--no-tensorboard")]
        base = ["train", "--env-id", SHORT_ENV, "--episodes", "1", *TINY]
    else:
        extra = [option("--seeds", ["0", "0,0", "0-1", "1-0", "a-b", "", "-1", "4294967296", "0,,1"]),
                 option("--workers", NUMBERS), option("--eval-episodes", ["1", "0", "-1", "x"]),
                 option("--seed", ["1"]), flag("--oversubscribe"), option("--checkpoint-every", NUMBERS),
                 option("--grid", GRIDS), option("--engine", ["local", "x", ""]), option("--address", ["auto", ""]),
                 option("--cpus-per-trial", NUMBERS), option("--connect-timeout", NUMBERS)]
        # Pendulum: a sweep's workers are fresh processes, where the test's short environment is unknown.
        base = ["sweep", "--env-id", "Pendulum-v1", "--episodes", "1", "--eval-episodes", "1", "--seeds", "0", *TINY]
    parts = draw(st.lists(st.one_of(*common, *extra), max_size=4))
    return base + [arg for part in parts for arg in part]


def writes_to(args: list[str]) -> set[str]:
    """The paths a successful command was asked to write into."""
    named = {args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("--out", "--resume", "--json")}
    return {Path(path).parts[0] if path else "" for path in named} if args[0] != "evaluate" else {
        Path(path).parts[0] for path in named if path}


def run_main(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(args)
        except SystemExit as exit_:  # argparse's own errors and --help
            status = exit_.code
    return status, err.getvalue()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@pytest.mark.slow
@given(args=argv())
def test_any_command_line_ends_in_success_or_one_line(a_run, args):
    base = Path(tempfile.mkdtemp(prefix="ddpg-fuzz-"))
    shutil.copytree(a_run, base / "run")
    (base / "file").write_text("not a run\n")
    (base / "empty").mkdir()
    (base / "tb-file").mkdir()
    (base / "tb-file" / "tensorboard").write_text("not a directory\n")
    before = {name: snapshot(base / name) for name in ("run", "empty", "tb-file")}
    before["file"] = (base / "file").read_bytes()
    cwd = os.getcwd()
    os.chdir(base)  # relative paths, and the default runs/ directory, land in this example's own folder
    try:
        status, err = run_main(args)
    finally:
        os.chdir(cwd)
    event(f"{args[0]} exit {status}")  # shown by --hypothesis-show-statistics
    assert status in (0, 2), (args, status, err)
    assert "Traceback" not in err, (args, err)
    if status == 2:
        assert len(err.strip().splitlines()) == 1, (args, err)
    changed = writes_to(args) if status == 0 else set()
    for name in ("run", "empty", "tb-file"):
        if name not in changed and "." not in changed:
            assert snapshot(base / name) == before[name], (args, name, err)
    if "file" not in changed:
        assert (base / "file").read_bytes() == before["file"], (args, err)
    shutil.rmtree(base)
