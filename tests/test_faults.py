"""Fault injection: a full disk or a refused write at every write a run makes, a second writer, a
killed lock holder, tampered or damaged checkpoints and metrics, values at float32's edges, and every
kind of bad input (every config field out of range, a resume that contradicts its checkpoint).

Each ends in exit 0, or in exit 2 with one line naming the value and what was expected, and the run
directory either untouched or resumable with every episode exactly once. In-process, through
`ddpg.cli.main`, on a 20-step Pendulum so that a run takes a second (the bad-input table through the
real command line). A run as a process, killed or signalled, is test_processes.py's.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from helpers import RUN, TINY, assert_one_line, damage_checkpoint, episodes_in, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddpg.checkpoint import _sha256, load_checkpoint
from ddpg.cli import main
from ddpg.config import DDPGConfig

# Examples per Hypothesis fuzzer: modest in the default suite, many in `tox -e fuzz`.
EXAMPLES = int(os.environ.get("DDPG_FUZZ_EXAMPLES", "15"))
DEEP = EXAMPLES >= 100  # and the faults below at every write of a run, not at a sample


def ddpg(capsys, *args) -> tuple[int, str]:
    """`ddpg ARGS` in this process: (exit status, stderr)."""
    capsys.readouterr()
    status = main([str(arg) for arg in args])
    return status, capsys.readouterr().err


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under directory and its bytes (the lock file aside: it only names its last holder)."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file() and path.name != "ddpg.lock"}


def leftovers(run: Path) -> list[str]:
    return sorted(path.name for path in run.rglob("*") if ".tmp" in path.name)


def copy_of(run: Path) -> Path:
    target = Path(tempfile.mkdtemp(prefix="ddpg-fault-")) / "run"
    shutil.copytree(run, target)
    return target


# --- a full disk, a refused write ------------------------------------------------------------------


class FaultyDisk:
    """Counts every file-system write of a run and fails the `fail_at`-th with `code`.

    The writes: mkdir, Path.write_text, Path.open for writing, fsync, rename, os.replace, and the
    two writes of other libraries (Keras saving the actor, matplotlib the plot). A failing
    write_text or text append writes half its text first, as a disk that fills mid-write does.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None, code: int = errno.ENOSPC):
        import keras

        import ddpg.training

        self.fail_at, self.code, self.writes = fail_at, code, []
        # (owner, name, which argument is the path: none for fsync, whose error names no file)
        for owner, name, path_at in [(pathlib.Path, "mkdir", 0), (pathlib.Path, "rename", 0), (os, "replace", 0),
                                     (os, "fsync", None), (keras.Model, "save", 1),
                                     (ddpg.training, "plot_learning_curve", 2)]:  # where training calls it
            monkeypatch.setattr(owner, name, self._counted(getattr(owner, name), f"{owner.__name__}.{name}", path_at))
        real_write_text, real_open = pathlib.Path.write_text, pathlib.Path.open

        def write_text(path, text, *args, **kwargs):
            if self._fails("Path.write_text", path):
                real_write_text(path, text[: len(text) // 2], *args, **kwargs)
                raise self._error(path)
            return real_write_text(path, text, *args, **kwargs)

        def open_(path, mode="r", *args, **kwargs):
            if not set(mode) & set("wax+"):
                return real_open(path, mode, *args, **kwargs)
            if self._fails(f"Path.open({mode})", path):
                if "b" in mode:
                    raise self._error(path)
                return _HalfWrite(real_open(path, mode, *args, **kwargs), self._error(path))
            return real_open(path, mode, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "write_text", write_text)
        monkeypatch.setattr(pathlib.Path, "open", open_)

    def _error(self, path) -> OSError:
        return OSError(self.code, os.strerror(self.code), *([] if path is None else [str(path)]))

    def _fails(self, what: str, path) -> bool:
        self.writes.append(f"{what} {path}")
        return len(self.writes) == self.fail_at

    def _counted(self, real, what: str, path_at: int | None):
        def write(*args, **kwargs):
            path = None if path_at is None else args[path_at]
            if self._fails(what, path):
                raise self._error(path)
            return real(*args, **kwargs)
        return write


class _HalfWrite:
    """A text file whose next write stops half-way with an error."""

    def __init__(self, file, error: OSError) -> None:
        self._file, self._error = file, error

    def write(self, text: str) -> int:
        self._file.write(text[: len(text) // 2])
        self._file.flush()
        raise self._error

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()


# A run that writes what a learning run writes, write for write (test_a_run_that_does_not_learn_yet_writes_...
# checks it), without tracing and compiling an update: 0.5 s a run instead of 3, and the full-disk scan runs 50.
FILES_ONLY = [*RUN, "--learning-starts", "1000"]


def count_writes(tmp_path: Path, options: list[str] = RUN) -> list[str]:
    """Every write of a 2-episode run, in order, each as "primitive path" with the run's directory as RUN_DIR."""
    out = Path(tempfile.mkdtemp(dir=tmp_path)) / "counted"
    with pytest.MonkeyPatch.context() as patch:
        disk = FaultyDisk(patch)
        assert main(["train", "--episodes", "2", "--out", str(out), *options]) == 0
    return [write.replace(str(out), "RUN_DIR") for write in disk.writes]


def check_failed_write(capsys, tmp_path: Path, fail_at: int, code: int, options: list[str] = RUN) -> None:
    """Fail the fail_at-th write; then the run must be one line, nothing half-written, and resumable."""
    run = tmp_path / f"run-{fail_at}-{errno.errorcode[code]}"
    with pytest.MonkeyPatch.context() as patch:
        disk = FaultyDisk(patch, fail_at, code)
        status, err = ddpg(capsys, "train", "--episodes", 2, "--out", run, *options)
    failed = disk.writes[fail_at - 1]
    assert_one_line(status, err, os.strerror(code), "Expected to")
    assert str(run) in err, (failed, err)
    assert leftovers(run) == [], failed  # nothing half-written beside the run's files
    if (run / "checkpoint").exists() or (run / "checkpoint.old").exists():
        done = load_checkpoint(run / "checkpoint").manifest["episode"]  # complete, or the previous one
        assert len(episodes_in(run)) >= done, failed
        status, err = ddpg(capsys, "train", "--resume", run)
    else:  # no checkpoint yet: nothing to keep; the run starts again
        status, err = ddpg(capsys, "train", "--episodes", 2, "--out", run, "--overwrite", *options)
    assert status == 0, (failed, err)
    assert episodes_in(run) == [1, 2], failed
    assert (run / "actor.keras").is_file() and leftovers(run) == [], failed


def first_of_each(writes: list[str]) -> list[int]:
    """The write numbers (from 1) of each distinct write's first time: every primitive on every file the run
    writes (a replay segment's numbers aside), failed once. A later write of the same file in a later checkpoint
    is failed by test_a_refused_write_in_a_checkpoint_and_in_the_run_files, and by `tox -e fuzz` at every write."""
    first: dict[tuple[str, str], int] = {}
    for number, write in enumerate(writes, 1):
        what, _, path = write.partition(" ")
        first.setdefault((what, re.sub(r"\d+", "#", Path(path).name)), number)
    return sorted(first.values())


@pytest.mark.slow
def test_a_run_that_does_not_learn_yet_writes_what_a_learning_run_writes(tmp_path):
    # The full-disk scan below fails each write of FILES_ONLY's run: the same writes, in the same order, of the
    # same files, as a run whose update is traced, compiled and called.
    assert count_writes(tmp_path, FILES_ONLY) == count_writes(tmp_path, RUN)


@pytest.mark.slow
def test_a_full_disk_at_every_write_of_a_run(capsys, tmp_path):
    writes = count_writes(tmp_path, FILES_ONLY)
    kinds = {write.split()[0] for write in writes}
    # The run writes through every primitive the injector knows, so each is failed somewhere below.
    assert {"Path.mkdir", "Path.rename", "os.replace", "os.fsync", "Model.save", "ddpg.training.plot_learning_curve",
            "Path.write_text", "Path.open(a)", "Path.open(wb)"} <= kinds, kinds
    for fail_at in range(1, len(writes) + 1) if DEEP else first_of_each(writes):
        check_failed_write(capsys, tmp_path, fail_at, errno.ENOSPC, FILES_ONLY)


@pytest.mark.slow
@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_a_refused_write_in_a_checkpoint_and_in_the_run_files(capsys, tmp_path, code):
    writes = count_writes(tmp_path)
    # the second checkpoint's arrays, the metrics row after it, the actor
    picks = [max(i for i, w in enumerate(writes, 1) if w.startswith("Path.open(wb)")),
             max(i for i, w in enumerate(writes, 1) if w.startswith("Path.open(a)")),
             next(i for i, w in enumerate(writes, 1) if w.startswith("Model.save"))]
    for fail_at in picks:
        check_failed_write(capsys, tmp_path, fail_at, code)


def test_a_read_only_run_directory(capsys, finished_run):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories; the refused write is injected in the test above")
    run = copy_of(finished_run)
    before = snapshot(run)
    run.chmod(0o555)
    try:
        status, err = ddpg(capsys, "train", "--resume", run, "--episodes", 3)
        assert_one_line(status, err, "Permission denied")
        status, err = ddpg(capsys, "evaluate", run, "--episodes", 1)
        assert status == 0, err  # evaluation reads only
    finally:
        run.chmod(0o755)
    assert snapshot(run) == before


# --- one writer ------------------------------------------------------------------------------------


def hold_lock(run: Path) -> subprocess.Popen:
    code = ("import sys, time\nfrom pathlib import Path\nfrom ddpg.run_files import run_lock\n"
            f"with run_lock(Path({str(run)!r})):\n    print('locked', flush=True)\n    time.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    return holder


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_killed_holder_leaves_no_lock(capsys, finished_run):
    run = copy_of(finished_run)
    before = snapshot(run)
    holder = hold_lock(run)
    try:
        for args in (["train", "--resume", run, "--episodes", 3],
                     ["train", "--out", run, "--overwrite", "--episodes", 1, *RUN]):
            status, err = ddpg(capsys, *args)
            assert_one_line(status, err, f"Expected no other process writing {run}",
                            f"process {holder.pid} holds")
            assert snapshot(run) == before
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, and the OS releases the lock all the same
        holder.wait()
    status, err = ddpg(capsys, "train", "--resume", run, "--episodes", 3)
    assert status == 0, err
    assert episodes_in(run) == [1, 2, 3]


def test_a_new_run_into_a_locked_empty_directory_writes_nothing(capsys, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = hold_lock(run)
    try:
        status, err = ddpg(capsys, "train", "--out", run, "--episodes", 1, *RUN)
        assert_one_line(status, err, f"process {holder.pid} holds")
        assert snapshot(run) == {}
    finally:
        holder.kill()
        holder.wait()


# --- tampered checkpoints --------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3), max_leaves=6)


def locations(value, path=()) -> list[tuple]:
    """Every key or index path inside a JSON value."""
    found = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append((*path, key))
        found.extend(locations(child, (*path, key)))
    return found


@st.composite
def tampered(draw, manifest: dict) -> dict:
    """The manifest with one key removed, one added, or one value replaced, anywhere in it."""
    manifest = copy.deepcopy(manifest)
    path = draw(st.sampled_from(locations(manifest)))
    *parents, key = path
    parent = manifest
    for step in parents:
        parent = parent[step]
    action = draw(st.sampled_from(["remove", "add", "replace"]))
    if action == "remove":
        parent.pop(key) if isinstance(parent, dict) else parent.pop(key)
    elif action == "add" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8).filter(lambda name: name not in parent))] = draw(JSON)
    else:
        parent[key] = draw(JSON | st.integers(-3, 10**6) | st.sampled_from(["PCG64", "MT19937", "default_rng",
                                                                             "__class__", "os"]))
    return manifest


def write_manifest(run: Path, manifest: dict) -> None:
    """state.json replaced; its checksum of arrays.npz still holds, since the arrays did not change."""
    (run / "checkpoint" / "state.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def finished_manifest(finished_run) -> dict:
    return load_checkpoint(finished_run / "checkpoint").manifest


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
@pytest.mark.slow
@given(data=st.data())
def test_a_tampered_manifest_is_refused_before_anything_changes(capsys, finished_run, finished_manifest, data):
    manifest = data.draw(tampered(finished_manifest))
    run = copy_of(finished_run)
    write_manifest(run, manifest)
    before = snapshot(run)
    status, err = ddpg(capsys, "train", "--resume", run, "--episodes", 3)
    if status != 0:  # some changes are harmless, like another wall_seconds; the rest are refused whole
        assert_one_line(status, err, "Expected")
        assert snapshot(run) == before
    shutil.rmtree(run.parent)


@pytest.mark.parametrize("key, value", [
    (("rng", "env", "bit_generator"), "default_rng"),  # a name numpy.random has, but not a generator
    (("noise", "rng", "bit_generator"), "__class__"),
    (("episode",), 1),  # fewer than the returns it lists
    (("buffer", "size"), 10**6),  # more transitions than steps
    (("config",), {"episodes": 2}),  # another config: refused, not completed with defaults
])
def test_named_manifest_tampering(capsys, finished_run, finished_manifest, key, value):
    manifest = copy.deepcopy(finished_manifest)
    *parents, last = key
    parent = manifest
    for step in parents:
        parent = parent[step]
    parent[last] = value
    run = copy_of(finished_run)
    write_manifest(run, manifest)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 3), "Expected")
    assert snapshot(run) == before


@pytest.mark.parametrize("name, change, fragment", [
    ("actor/0", lambda a: a[:-1], "Expected a checkpoint as ddpg wrote"),  # a weight of another shape
    ("buffer/obs", lambda a: a[:, :2], "Expected a checkpoint as ddpg wrote"),  # observations of another size
    ("buffer/reward", lambda a: a[:-1], "Expected the replay segments"),  # a segment shorter than it says
])
def test_tampered_arrays_with_valid_checksums_are_refused(capsys, finished_run, name, change, fragment):
    # The networks' arrays are in checkpoint/arrays.npz, the replay's in replay/ segments; each file is
    # rewritten with its checksum in state.json updated, so that only the content is wrong.
    run = copy_of(finished_run)
    manifest = load_checkpoint(run / "checkpoint").manifest
    if name.startswith("buffer/"):
        for segment in manifest["replay"]["segments"]:
            path = run / "replay" / segment["file"]
            with np.load(path) as data:
                columns = {column: data[column] for column in data.files}
            columns[name] = change(columns[name])
            with path.open("wb") as file:
                np.savez(file, **columns)
            segment["sha256"] = _sha256(path)
    else:
        with np.load(run / "checkpoint" / "arrays.npz") as data:
            arrays = {array: data[array] for array in data.files}
        arrays[name] = change(arrays[name])
        with (run / "checkpoint" / "arrays.npz").open("wb") as file:
            np.savez(file, **arrays)
        manifest["arrays_sha256"] = _sha256(run / "checkpoint" / "arrays.npz")
    write_manifest(run, manifest)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 3), fragment)
    assert snapshot(run) == before


# --- tampered metrics.csv --------------------------------------------------------------------------

def edit_lines(run: Path, edit) -> None:
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(edit(lines)))


@pytest.mark.parametrize("edit, fragment", [
    (lambda lines: ["episode,steps,return\n", *lines[1:]], "to begin with the header"),
    (lambda lines: [lines[0], "garbage\n", *lines[1:]], "Expected line 2"),
    (lambda lines: [lines[0], lines[1], lines[1], *lines[2:]], "Expected line 3"),  # an episode twice
    (lambda lines: [lines[0], lines[2]], "Expected line 2"),  # episode 1 missing
    (lambda lines: [lines[0], lines[1]], "to hold episodes 1 to 2"),  # fewer than the checkpoint has
    (lambda lines: [lines[0], lines[1], lines[2].replace(",", ",x", 1)], "Expected line 3"),  # not a number
    (lambda lines: [], "no header"),
])
def test_an_edited_metrics_file_is_refused_before_anything_changes(capsys, finished_run, edit, fragment):
    run = copy_of(finished_run)
    edit_lines(run, edit)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 3), fragment, "metrics.csv")
    assert snapshot(run) == before


def test_rows_after_the_checkpoint_are_episodes_that_run_again(capsys, finished_run):
    # A process killed after writing a row and before its checkpoint leaves one row too many.
    run = copy_of(finished_run)
    edit_lines(run, lambda lines: [*lines, lines[-1].replace("2,", "3,", 1)])
    status, err = ddpg(capsys, "train", "--resume", run, "--episodes", 3)
    assert status == 0, err
    assert episodes_in(run) == [1, 2, 3]


# --- values at float32's edges ---------------------------------------------------------------------

class Rewarding(gym.Env):
    """Pendulum's spaces; a chosen observation and reward at step 30 overall, a small finite one before."""

    def __init__(self, obs=0.5, reward=-1.0):
        self.observation_space = gym.spaces.Box(-1e38, 1e38, (3,), np.float32)
        self.action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
        self.bad_obs, self.bad_reward, self.total = obs, reward, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.total += 1
        at_edge = self.total == 30
        obs = np.full(3, self.bad_obs if at_edge else 0.5)  # float64, as many environments return
        return obs, self.bad_reward if at_edge else -1.0, False, False, {}


EDGES = [
    (0.5, 1e300, False),  # finite in float64, infinite in float32
    (0.5, -3.5e38, False),
    (1e39, -1.0, False),
    (0.5, float("nan"), False),
    (0.5, float(np.finfo(np.float32).max), True),
    (-3.4e38, -1.0, True),
    (0.5, 1e-46, True),  # underflows to 0: finite
]


@pytest.mark.slow
@pytest.mark.parametrize("case", range(len(EDGES)), ids=[f"obs={o}-reward={r}" for o, r, _ in EDGES])
def test_values_at_the_edges_of_float32(capsys, tmp_path, case):
    obs, reward, finite = EDGES[case]
    env_id = f"ddpg_tests/Edge{case}-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=Rewarding, max_episode_steps=20, kwargs={"obs": obs, "reward": reward})
    run = tmp_path / "run"
    status, err = ddpg(capsys, "train", "--episodes", 2, "--out", run, *RUN, "--env-id", env_id)
    saved = load_checkpoint(run / "checkpoint")
    if finite:
        # Stored as it came, in float32. What the networks make of such values is their business: a
        # NaN action is refused in turn (at a later step), never stored and never reported as success.
        assert saved.manifest["steps"] >= 30, err
        assert saved.arrays["buffer/reward"][29, 0] == np.float32(reward)
        assert np.all(saved.arrays["buffer/next_obs"][29] == np.float32(obs))
        assert status == 0 or ("action=[nan]" in err and "at step 30" not in err), err
        return
    assert_one_line(status, err, "Expected finite observations, actions and rewards (as float32)", "at step 30")
    assert saved.manifest["steps"] == 29  # the last good step; the bad transition never entered the buffer
    assert all(np.all(np.isfinite(saved.arrays[f"buffer/{name}"])) for name in ("obs", "reward", "next_obs"))
    assert episodes_in(run) == [1]


# --- each case the issue measured ------------------------------------------------------------------

def test_overwrite_with_a_bad_seed_keeps_the_old_run(capsys, finished_run):
    run = copy_of(finished_run)
    before = snapshot(run)
    for seed in ("99999999999999999999", "4294967296", "-1"):
        assert_one_line(*ddpg(capsys, "train", "--out", run, "--overwrite", "--seed", seed, *RUN),
                        "Expected 0 <= seed <= 4294967295", f"Received: seed={seed}")
    assert snapshot(run) == before


@pytest.mark.parametrize("seed", ["4294967296", "-1"])
def test_evaluate_refuses_a_seed_outside_32_bits(capsys, finished_run, seed):
    assert_one_line(*ddpg(capsys, "evaluate", finished_run, "--seed", seed), "Expected 0 <= --seed <= 4294967295")


def test_resume_to_fewer_episodes_than_done_is_refused(capsys, finished_run):
    run = copy_of(finished_run)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 1),
                    "Expected --episodes >= 2, as many as the checkpoint has done", "Received: --episodes 1")
    assert snapshot(run) == before


def test_resume_reports_the_episodes_it_trained(capsys, finished_run):
    run = copy_of(finished_run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--episodes", "3"]) == 0
    assert "trained 1 episodes (3 in all" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--buffer-capacity", "10000000000"], ["--actor-hidden", "1000000", "1000000"]])
def test_a_run_that_cannot_fit_in_memory_is_refused_before_anything_is_made(capsys, tmp_path, args):
    assert_one_line(*ddpg(capsys, "train", "--out", tmp_path / "run", *RUN, *args),
                    "Expected a run that fits in memory", "GiB")
    assert not (tmp_path / "run").exists()


class DictWithADiscreteLeaf(gym.Env):  # a Dict of Boxes is flattened (tests/test_observations.py); this is not
    observation_space = gym.spaces.Dict({"x": gym.spaces.Box(-1, 1, (2,)), "mode": gym.spaces.Discrete(3)})
    action_space = gym.spaces.Box(-1, 1, (1,))


class MatrixActions(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (3,))
    action_space = gym.spaces.Box(-1, 1, (2, 2))


class UnboundedActions(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (3,))
    action_space = gym.spaces.Box(-np.inf, np.inf, (1,))


@pytest.mark.parametrize("env_class, fragment", [
    (DictWithADiscreteLeaf, "Expected a Dict observation space whose leaves are Boxes"),
    (MatrixActions, "flat, continuous Box action space of shape (n,)"),
    (UnboundedActions, "Expected finite action bounds"),
])
def test_spaces_ddpg_cannot_use_are_refused_by_name(capsys, tmp_path, env_class, fragment):
    env_id = f"ddpg_tests/{env_class.__name__}-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=env_class, max_episode_steps=5)
    assert_one_line(*ddpg(capsys, "train", "--env-id", env_id, "--out", tmp_path / "run"), fragment, env_id)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--seeds", "0,0"], "Expected distinct seeds"),
    (["--seeds", "4294967296"], "Expected seeds from 0 to 4294967295"),
    (["--eval-episodes", "0"], "Expected eval_episodes >= 1. Received: eval_episodes=0"),
    (["--workers", "1000"], "Expected 1 <= --workers <= "),
    (["--seed", "3"], "unrecognized arguments: --seed"),  # --seeds sets it; an ignored option is refused
])
def test_sweep_input_is_refused_before_any_run_starts(capsys, tmp_path, args, fragment):
    out = tmp_path / "sweep"
    argv = ["sweep", "--episodes", "1", "--out", str(out), *TINY, *args]
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own error
        status = exit_.code
    assert_one_line(status, capsys.readouterr().err, fragment)
    assert not out.exists()


@pytest.mark.parametrize("damage", ["bad_json", "bad_arrays"])
def test_a_sweep_over_a_run_with_a_damaged_checkpoint_refuses_it_and_loses_nothing(capsys, tmp_path, damage):
    # The sweep must not start the damaged seed over (that would throw away its episodes): one line naming
    # the checkpoint, the run as it was, and no other seed started. --overwrite is the way to start again.
    from helpers import damage_checkpoint

    run = tmp_path / "seed_0"
    assert ddpg(capsys, "train", "--episodes", "2", "--checkpoint-every", "1", "--eval-episodes", "1",
                "--out", run, *TINY)[0] == 0
    damage_checkpoint(run / "checkpoint", damage)
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    status, err = ddpg(capsys, "sweep", "--seeds", "0-1", "--workers", "1", "--episodes", "3", "--eval-episodes",
                       "1", "--out", tmp_path, *TINY)
    assert_one_line(status, err, str(run / "checkpoint"))
    assert {path: path.read_bytes() for path in run.rglob("*") if path.is_file()} == before
    assert not (tmp_path / "seed_1").exists()


def test_config_takes_numpy_scalars_as_the_python_numbers_they_are(tmp_path):
    from ddpg.config import DDPGConfig

    config = DDPGConfig(gamma=np.float32(0.5), episodes=np.int64(3), batch_size=np.int32(8),
                        actor_hidden=(np.int64(4),))
    assert type(config.gamma) is float and type(config.episodes) is int and type(config.actor_hidden[0]) is int
    assert json.loads(json.dumps(dataclasses.asdict(config)))["gamma"] == 0.5  # config.json can be written


# --- evaluate on a damaged run ---------------------------------------------------------------------

def damaged_actor(run: Path, kind: str) -> None:
    import keras

    from ddpg.networks import build_actor

    path = run / "actor.keras"
    if kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "wrong input size":
        build_actor(5, [-2.0], [2.0], hidden=(8,)).save(path)
    elif kind == "code in the file":  # Keras safe mode refuses to deserialise a lambda
        obs = keras.Input((3,))
        keras.Model(obs, keras.layers.Lambda(lambda x: x[:, :1] * 2.0)(obs)).save(path)


@pytest.mark.parametrize("kind, fragment", [
    ("random bytes", "to be an actor saved by ddpg train"),
    ("wrong input size", "to map observations of length 3 to actions of length 1"),
    ("code in the file", "to be an actor saved by ddpg train"),
])
def test_evaluate_names_a_damaged_actor(capsys, finished_run, kind, fragment):
    run = copy_of(finished_run)
    damaged_actor(run, kind)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "evaluate", run, "--episodes", 1), fragment, "actor.keras")
    assert snapshot(run) == before


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "config.json as ddpg train wrote it"),
    ("[1, 2]", "a JSON list, not an object"),
    ('{"gamma": 7}', "Expected 0 <= gamma <= 1"),
    ('{"colour": "red"}', "fields DDPGConfig does not have: colour"),
])
def test_evaluate_names_a_damaged_config(capsys, finished_run, text, fragment):
    run = copy_of(finished_run)
    (run / "config.json").write_text(text)
    assert_one_line(*ddpg(capsys, "evaluate", run, "--episodes", 1), fragment)


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "Expected --config FILE as ddpg train writes config.json"),
    ("[1, 2]", "a JSON list, not an object"),
    ('{"colour": "red"}', "fields DDPGConfig does not have: colour"),
    ('{"gamma": 7}', "Expected 0 <= gamma <= 1"),
])
def test_a_config_file_that_is_not_a_config_is_one_line(capsys, tmp_path, text, fragment):
    # --config reads a file as evaluate reads a run's config.json: by the same function, with the same checks.
    (tmp_path / "c.json").write_text(text)
    out = tmp_path / "run"
    assert_one_line(*ddpg(capsys, "train", "--config", tmp_path / "c.json", "--out", out), fragment)
    assert not out.exists()


def test_evaluate_never_writes_its_report_into_the_run(capsys, finished_run):
    run = copy_of(finished_run)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "evaluate", run, "--json", run / "config.json"), "Expected --json outside the run")
    assert snapshot(run) == before


def test_a_run_is_never_made_inside_another(capsys, finished_run):
    run = copy_of(finished_run)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--out", run / "checkpoint", *RUN), "Expected an output directory outside "
                    "any run")
    assert snapshot(run) == before


# --- signals, banners, progress --------------------------------------------------------------------

@pytest.mark.slow
def test_a_second_sigterm_during_the_final_checkpoint_says_which_checkpoint_is_left(tmp_path):
    # Both signals arrive while the final checkpoint's arrays are being written: the first asks to
    # stop, the second stops at once. The checkpoint before it (episode 1) is what is left, and said.
    run = tmp_path / "run"
    code = f"""
import os, signal, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import test_faults
import ddpg.checkpoint as checkpoint
real, calls = checkpoint._fsync, []
def fsync(path):
    real(path)
    calls.append(path.name)
    if calls.count("arrays.npz") == 2 and path.name == "arrays.npz":  # the second checkpoint's arrays.npz
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)
checkpoint._fsync = fsync
from ddpg.cli import main
sys.exit(main(["train", "--episodes", "2", "--out", {str(run)!r}, *test_faults.RUN]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 143, result.stderr
    assert_one_line(2, result.stderr, "stopped at once by a second SIGTERM",
                    f"{run / 'checkpoint'} holds episode 1 (step 20)", f"ddpg train --resume {run}")
    assert leftovers(run) == []


@pytest.mark.slow
def test_no_tensorflow_banner_reaches_the_terminal(tmp_path):
    from helpers import run_cli

    result = run_cli("train", "--episodes", 1, "--out", tmp_path / "run", *TINY)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    result = run_cli("evaluate", tmp_path / "run", "--episodes", 1)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.parametrize("args", [["train", "--gamma", "2"], ["train", "--env-id", "CartPole-v1"],
                                  ["train", "--resume", "/nonexistent"], ["evaluate", "/nonexistent"],
                                  ["sweep", "--seeds", "0,0"], ["train", "--buffer-capacity", "10000000000"]])
def test_errors_that_need_no_tensorflow_come_before_it_loads(args):
    code = (f"import sys\nfrom ddpg.cli import main\nstatus = main({args!r})\n"
            "print(status, 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.split() == ["2", "False"], result.stderr


def test_the_progress_bar_of_a_resumed_run_starts_at_the_episodes_done(monkeypatch):
    from ddpg.cli import episode_printer

    bars = []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    import tqdm

    real = tqdm.tqdm
    monkeypatch.setattr(tqdm, "tqdm", lambda **kwargs: bars.append(real(**kwargs, file=io.StringIO())) or bars[-1])
    from ddpg.config import DDPGConfig

    show = episode_printer(DDPGConfig(episodes=5), done_episodes=3, done_steps=600)
    assert (bars[0].n, bars[0].total) == (3, 5)
    show({"episode": 4, "steps": 800, "return": -1.0, "average_return_40": -1.0, "steps_per_second": 1.0})
    assert (bars[0].n, bars[0].total) == (4, 5)
    show = episode_printer(DDPGConfig(total_steps=1000), done_episodes=3, done_steps=600)  # a budget in steps
    assert (bars[1].n, bars[1].total) == (600, 1000)
    show({"episode": 4, "steps": 800, "return": -1.0, "average_return_40": -1.0, "steps_per_second": 1.0})
    assert (bars[1].n, bars[1].total) == (800, 1000)


def test_a_missing_extra_is_named_with_the_command_that_installs_it(capsys, tmp_path, monkeypatch):
    # As HalfCheetah-v5 without mujoco (or imageio) fails inside gym.make.
    def make(env_id, **kwargs):
        raise gym.error.DependencyNotInstalled('MuJoCo is not installed, run `pip install "gymnasium[mujoco]"`')

    monkeypatch.setattr(gym, "make", make)
    assert_one_line(*ddpg(capsys, "train", "--env-id", "HalfCheetah-v5", "--out", tmp_path / "run"),
                    'Expected the dependencies of HalfCheetah-v5: pip install ".[mujoco]" in the ddpg checkout',
                    "MuJoCo is not installed")
    assert not (tmp_path / "run").exists()


# --- bad input -------------------------------------------------------------------------------------

BAD_VALUES = {
    "env_id": "", "env_kwargs": "[1]", "episodes": "0", "seed": "-1", "gamma": "1.5", "tau": "0", "actor_lr": "0",
    "critic_lr": "-1", "buffer_capacity": "0", "batch_size": "0", "ou_theta": "-1", "ou_sigma": "-0.5",
    "ou_dt": "0", "actor_hidden": "0", "critic_state_hidden": "0", "critic_action_hidden": "-3",
    "critic_hidden": "0", "update_every": "0", "total_steps": "0", "learning_starts": "0", "random_steps": "-1",
    "noise": "ornstein", "gaussian_sigma": "-0.1", "critic_weight_decay": "-1", "eval_every": "-1",
    "eval_episodes": "0", "policy_delay": "0", "initializer": "he", "final_layer_init": "all",
}
# Flags on the command line (--batch-norm / --no-batch-norm) take no value: a bad one comes in a --config file.
BAD_FLAG_VALUES = {"update_at_episode_end": "yes", "batch_norm": 2, "normalize_observations": "on"}


def test_the_bad_value_table_covers_every_config_field():
    assert set(BAD_VALUES) | set(BAD_FLAG_VALUES) == {field.name for field in dataclasses.fields(DDPGConfig)}


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert_one_line(result.returncode, result.stderr, *fragments)


@pytest.mark.parametrize("field", sorted(BAD_VALUES))
def test_every_config_field_out_of_range(tmp_path, field):
    result = run_cli("train", f"--{field.replace('_', '-')}", BAD_VALUES[field], "--out", tmp_path / "out")
    assert_one_line_error(result, "Expected", f"Received: {field}=")
    assert not (tmp_path / "out").exists()  # nothing half-written


@pytest.mark.parametrize("field", sorted(BAD_FLAG_VALUES))
def test_every_flag_field_out_of_range_in_a_config_file(tmp_path, field):
    (tmp_path / "config.json").write_text(json.dumps({field: BAD_FLAG_VALUES[field]}))
    result = run_cli("train", "--config", tmp_path / "config.json", "--out", tmp_path / "out")
    assert_one_line_error(result, "Expected", f"Received: {field}=")
    assert not (tmp_path / "out").exists()


def corrupt_copy(finished_run: Path, damage: str) -> Path:
    run = copy_of(finished_run)
    damage_checkpoint(run / "checkpoint", damage)
    return run


@pytest.mark.parametrize("damage, fragment", [("missing", "does not exist"), ("empty", "holding nothing"),
                                              ("truncated_arrays", "corrupt or partly written")])
def test_resume_of_a_damaged_checkpoint(capsys, finished_run, damage, fragment):
    run = corrupt_copy(finished_run, damage)
    before = (run / "metrics.csv").read_text()
    assert_one_line(*ddpg(capsys, "train", "--resume", run), "Expected", fragment, str(run))
    assert (run / "metrics.csv").read_text() == before  # nothing touched


def test_resume_with_a_contradicting_config(capsys, finished_run):
    before = (finished_run / "metrics.csv").read_text()
    status, err = ddpg(capsys, "train", "--resume", finished_run, "--tau", "0.01", "--episodes", 2)
    assert_one_line(status, err, "Expected tau=0.005 as in the checkpoint", "Received: tau=0.01")
    assert (finished_run / "metrics.csv").read_text() == before


def test_out_dir_holding_a_run(capsys, finished_run):
    assert_one_line(*ddpg(capsys, "train", "--out", finished_run), "--resume", "--overwrite")


@pytest.mark.slow
def test_out_dir_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(run_cli("train", "--out", blocker / "run"), "Expected to create", "Not a directory")


@pytest.mark.parametrize("args, fragment", [
    (["--batch-size", "128", "--buffer-capacity", "100"], "Expected batch_size <= buffer_capacity"),
    (["--env-id", "NoSuchEnv-v0"], "Expected a registered Gymnasium environment id"),
    (["--env-id", "CartPole-v1"], "Expected an environment with a flat, continuous Box action space"),
    (["--checkpoint-every", "-1"], "Expected --checkpoint-every >= 0"),
])
def test_other_bad_input(tmp_path, args, fragment):
    assert_one_line_error(run_cli("train", *args, "--out", tmp_path / "out"), fragment)
    assert not (tmp_path / "out").exists()


# --- evaluation during training: eval.csv and the best actor are part of the checkpoint ----------------------

@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory) -> Path:
    """A finished run of 2 episodes of the short Pendulum, evaluated every 10 steps (4 rows)."""
    run = tmp_path_factory.mktemp("evaluated") / "run"
    assert main(["train", "--episodes", "2", "--eval-every", "10", "--eval-episodes", "1", "--out", str(run),
                 *RUN]) == 0
    return run


def edit_evaluations(run: Path, edit) -> None:
    lines = (run / "eval.csv").read_text().splitlines(keepends=True)
    (run / "eval.csv").write_text("".join(edit(lines)))


def best_line(lines: list[str], run: Path) -> int:
    best = load_checkpoint(run / "checkpoint").manifest["best"]
    return next(i for i, line in enumerate(lines) if line.startswith(f"{best['step']},"))


@pytest.mark.parametrize("damage, fragment", [
    ("deleted", "eval.csv with the evaluations every 10 steps up to step 40, as the checkpoint has them. "
                "Received: no eval.csv"),
    ("header only", "to hold the best evaluation, which the checkpoint and best_actor.keras keep"),
    ("the best row removed", "to hold the best evaluation"),
    ("a step that was never due", "Expected line 3 of"),
])
def test_a_resume_refuses_an_eval_csv_that_lost_its_rows(capsys, evaluated_run, damage, fragment):
    # A resume used to drop the evaluations of a deleted eval.csv, then report a best evaluation that
    # contradicted best_actor.keras.
    run = copy_of(evaluated_run)
    if damage == "deleted":
        (run / "eval.csv").unlink()
    elif damage == "header only":
        edit_evaluations(run, lambda lines: lines[:1])
    elif damage == "the best row removed":
        edit_evaluations(run, lambda lines: [line for i, line in enumerate(lines) if i != best_line(lines, run)])
    else:
        edit_evaluations(run, lambda lines: [lines[0], lines[1], "15" + lines[2][lines[2].index(","):],
                                             *lines[3:]])
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 3), fragment, str(run / "eval.csv"))
    assert snapshot(run) == before


def test_the_best_evaluation_reported_is_best_actor_keras(capsys, evaluated_run):
    run = copy_of(evaluated_run)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--episodes", "3"]) == 0
    best = load_checkpoint(run / "checkpoint").manifest["best"]
    assert f"best evaluation {best['mean_return']:.1f} at step {best['step']};" in capsys.readouterr().out
    steps = [int(line.split(",")[0]) for line in (run / "eval.csv").read_text().splitlines()[1:]]
    assert steps == [10, 20, 30, 40, 50, 60]


# --- environment ids: every way to name one that cannot be made ---------------------------------------------

class RaisingConstructor(gym.Env):
    def __init__(self):
        raise RuntimeError("no simulator licence")


@pytest.fixture
def env_modules(tmp_path, monkeypatch) -> None:
    """Modules that register environments when imported (`module:Name-v0`), or raise."""
    (tmp_path / "ddpg_test_raising_module.py").write_text('raise RuntimeError("this module refuses to import")\n')
    (tmp_path / "ddpg_test_env_module.py").write_text(
        "import gymnasium as gym\n"
        "if 'ModuleShortPendulum-v0' not in gym.registry:\n"
        "    gym.register('ModuleShortPendulum-v0', max_episode_steps=20, reward_threshold=-100.0,\n"
        "                 entry_point='gymnasium.envs.classic_control.pendulum:PendulumEnv')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    if "ddpg_tests/RaisingConstructor-v0" not in gym.registry:
        gym.register("ddpg_tests/RaisingConstructor-v0", entry_point=RaisingConstructor)


@pytest.mark.parametrize("env_id, fragment", [
    ("ddpg_no_such_module:Foo-v0", "Expected the module ddpg_no_such_module of env_id='ddpg_no_such_module:Foo-v0' "
                                   "to import and register Foo-v0. Received: ModuleNotFoundError"),
    ("ddpg_test_raising_module:Foo-v0", "Received: RuntimeError: this module refuses to import"),
    ("ddpg_test_env_module:NoSuch-v0", "Expected a registered Gymnasium environment id"),
    ("Pendulum-v1:", "Expected an environment id like Name-v0 or module:Name-v0. Received: env_id='Pendulum-v1:'"),
    (":Pendulum-v1", "Expected an environment id like Name-v0 or module:Name-v0"),
    ("a:b:c-v0", "Expected an environment id like Name-v0 or module:Name-v0"),
    ("ddpg_tests/RaisingConstructor-v0", "Expected gym.make('ddpg_tests/RaisingConstructor-v0') to make the "
                                         "environment. Received: RuntimeError: no simulator licence"),
])
def test_an_environment_that_cannot_be_made_is_one_line(capsys, tmp_path, env_modules, env_id, fragment):
    for command in (["train", "--out", tmp_path / "run"], ["sweep", "--seeds", "0", "--out", tmp_path / "sweep"]):
        assert_one_line(*ddpg(capsys, *command, "--env-id", env_id, "--episodes", 1, *TINY), fragment)
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_a_module_qualified_id_trains_and_its_sweep_has_a_summary(capsys, tmp_path, env_modules):
    from ddpg.sweep_report import solved_threshold

    env_id = "ddpg_test_env_module:ModuleShortPendulum-v0"
    assert ddpg(capsys, "train", "--env-id", env_id, "--episodes", 1, "--out", tmp_path / "run", *TINY)[0] == 0
    assert solved_threshold(env_id) == -100.0  # the spec's, found through the module's id
    capsys.readouterr()
    status = main(["sweep", "--env-id", env_id, "--seeds", "0", "--workers", "1", "--episodes", "1",
                   "--eval-episodes", "1", "--out", str(tmp_path / "sweep"), *TINY])
    out, err = capsys.readouterr()
    assert status == 0 and "Traceback" not in err, err
    assert f"{env_id}: solved at an evaluation mean >= -100" in out
    assert (tmp_path / "sweep" / "sweep.json").is_file()


class ChangingShape(gym.Env):
    """Pendulum's spaces, but from step `at` overall the observation has 4 numbers; `at_reset`: from a reset."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (3,), np.float32)
    action_space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)

    def __init__(self, at: int = 25):
        self.at, self.total = at, 0

    def observation(self):
        return np.zeros(4 if self.total >= self.at else 3, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation(), {}

    def step(self, action):
        self.total += 1
        return self.observation(), -1.0, False, False, {}


@pytest.mark.slow
def test_an_environment_that_changes_its_observations_shape_stops_with_a_checkpoint(capsys, tmp_path):
    env_id = "ddpg_tests/ChangingShape-v0"
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=ChangingShape, max_episode_steps=20)
    run = tmp_path / "run"
    status, err = ddpg(capsys, "train", "--episodes", 3, "--out", run, *RUN, "--env-id", env_id)
    assert_one_line(status, err, "Expected observations of shape (3,), as the observation space has. "
                                 "Received: shape (4,) at step 25")
    saved = load_checkpoint(run / "checkpoint")
    assert saved.manifest["steps"] == 24 and episodes_in(run) == [1]  # the last good step, as for a NaN
    # In an evaluation too: its own environment turns at its 25th step, in its 2nd episode.
    status, err = ddpg(capsys, "train", "--episodes", 3, "--eval-every", 20, "--eval-episodes", 2,
                       "--out", tmp_path / "evaluated", *RUN, "--env-id", env_id)
    assert_one_line(status, err, "Received: shape (4,) in evaluation episode 2")


# --- presets and paths on the command line ----------------------------------------------------------------

def test_a_grid_over_presets_is_taken_and_a_preset_given_beside_it_refused(capsys, tmp_path, monkeypatch):
    # The README's `sweep --grid preset=keras-example,lillicrap2016` was always refused, naming a --preset never
    # given. The sweep itself is not run here: the configs it would run are checked.
    from ddpg import sweep
    from ddpg.presets import PRESETS

    taken = []
    monkeypatch.setattr(sweep, "run_sweep", lambda trials, *args, **kwargs: taken.extend(trials) or [])
    monkeypatch.setattr("ddpg.sweep_report.format_grid_table", lambda rows: "")
    status, err = ddpg(capsys, "sweep", "--grid", "preset=keras-example,lillicrap2016", "--seeds", "0-1",
                       "--tau", "0.5", "--out", tmp_path / "sweep")
    assert status == 0, err
    assert [(point["preset"], config.seed) for point, config in taken] == [
        ("keras-example", 0), ("keras-example", 1), ("lillicrap2016", 0), ("lillicrap2016", 1)]
    papers = taken[2][1]
    assert (papers.actor_hidden, papers.batch_norm, papers.tau) == (PRESETS["lillicrap2016"]["actor_hidden"], True,
                                                                     0.5)  # the option over the point's preset
    assert_one_line(*ddpg(capsys, "sweep", "--grid", "preset=keras-example,lillicrap2016", "--preset", "cleanrl",
                          "--out", tmp_path / "sweep"),
                    "Expected preset in --grid or as --preset, not both", "--preset cleanrl")


@pytest.mark.parametrize("args, fragment", [
    (["--preset", "lillicrap2016"], "Expected tau=0.005 as in the checkpoint"),
    (["--preset", "fujimoto2018"], "Expected a preset among"),  # retired: named as such, as without --resume
    (["--preset", "nope"], "Expected a preset among"),
])
def test_a_resume_refuses_a_preset_that_contradicts_the_run(capsys, finished_run, args, fragment):
    # --resume used to accept any --preset and ignore it; a contradicting --config was refused.
    run = copy_of(finished_run)
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--resume", run, "--episodes", 3, *args), fragment)
    assert snapshot(run) == before


def test_a_resume_with_the_runs_own_preset_values_is_taken(capsys, finished_run):
    run = copy_of(finished_run)
    status, err = ddpg(capsys, "train", "--resume", run, "--episodes", 3, "--preset", "keras-example")
    assert status == 0, err
    assert episodes_in(run) == [1, 2, 3]


@pytest.mark.parametrize("args, fragment", [
    (["train", "--out", ""], "Expected --out to name a path. Received: --out ''"),
    (["train", "--resume", ""], "Expected --resume to name a path. Received: --resume ''"),
    (["train", "--config", " "], "Expected --config to name a path. Received: --config ' '"),
    (["sweep", "--out", ""], "Expected --out to name a path. Received: --out ''"),
    (["evaluate", ""], "Expected DIR to name a path. Received: DIR ''"),
    (["evaluate", "run", "--json", ""], "Expected --json to name a path. Received: --json ''"),
])
def test_an_empty_path_is_refused_not_taken_for_the_working_directory(capsys, tmp_path, monkeypatch, args, fragment):
    # --out "" trained into the default directory, runs/ENV-seedN.
    monkeypatch.chdir(tmp_path)
    assert_one_line(*ddpg(capsys, *args, "--episodes", 1, *([] if args[0] == "evaluate" else TINY)), fragment)
    assert list(tmp_path.iterdir()) == []


# --- TensorBoard's directory: validated before anything is written, its failures one line with a checkpoint -------

def test_a_file_in_place_of_the_tensorboard_directory_is_refused_before_anything_is_written(capsys, tmp_path,
                                                                                          finished_run):
    # It used to end in TensorFlow's traceback, after config.json and metrics.csv made the directory hold a run.
    run = tmp_path / "run"
    run.mkdir()
    (run / "tensorboard").write_text("not a directory\n")
    before = snapshot(run)
    assert_one_line(*ddpg(capsys, "train", "--out", run, "--episodes", 1, *RUN),
                    f"Expected to write TensorBoard's events to {run / 'tensorboard'}. Received: Not a directory")
    assert snapshot(run) == before  # no config.json, no metrics.csv: no run that now holds no checkpoint
    resumed = copy_of(finished_run)  # and a resume rewrites nothing of its run
    shutil.rmtree(resumed / "tensorboard")
    (resumed / "tensorboard").write_text("not a directory\n")
    before = snapshot(resumed)
    assert_one_line(*ddpg(capsys, "train", "--resume", resumed, "--episodes", 3), "Not a directory")
    assert snapshot(resumed) == before


class FailingWriter:
    """TensorFlow's summary writer, whose creation or `fail_at`-th flush fails as TensorFlow's do."""

    def __init__(self, monkeypatch, error: str, message: str, fail_at: int | None = None):
        import tensorflow as tf

        real, self.flushes = tf.summary.create_file_writer, 0

        def create(logdir, *args, **kwargs):
            if fail_at is None:  # as TensorFlow words it: the function node, the file, the cause, the op
                raise getattr(tf.errors, error)(None, None, "{{function_node __wrapped__CreateSummaryFileWriter}} "
                                                f"{logdir}/events.out.tfevents.1; {message} [Op:CreateSummary]")
            writer = real(logdir, *args, **kwargs)
            flush = writer.flush

            def failing_flush():
                self.flushes += 1
                if self.flushes == fail_at:
                    raise getattr(tf.errors, error)(None, None, f"{logdir}/events.out.tfevents.1; {message}")
                return flush()
            writer.flush = failing_flush
            return writer

        monkeypatch.setattr(tf.summary, "create_file_writer", create)


def test_a_read_only_tensorboard_directory_is_refused_before_anything_is_written(capsys, tmp_path, monkeypatch):
    FailingWriter(monkeypatch, "PermissionDeniedError", "Permission denied")
    run = tmp_path / "run"
    assert_one_line(*ddpg(capsys, "train", "--out", run, "--episodes", 1, *RUN),
                    f"Expected to write TensorBoard's events to {run / 'tensorboard'}. Received: Permission denied")
    assert snapshot(run) == {}


@pytest.mark.slow
def test_a_full_disk_under_tensorboard_mid_run_is_one_line_with_a_checkpoint(capsys, tmp_path, monkeypatch):
    # The 5th flush is episode 3's row (each episode's scalars are flushed as written, and as the writer's
    # default-context closes: twice).
    run = tmp_path / "run"
    with monkeypatch.context() as patch:
        FailingWriter(patch, "ResourceExhaustedError", "No space left on device", fail_at=5)
        status, err = ddpg(capsys, "train", "--out", run, "--episodes", 5, "--checkpoint-every", 10,
                           *RUN[:2], *TINY)
    assert_one_line(status, err, "Received: No space left on device", f"{run / 'checkpoint'} holds episode 3",
                    f"Resume with: ddpg train --resume {run} (--no-tensorboard to go on without it)")
    assert leftovers(run) == [] and episodes_in(run) == [1, 2, 3]
    status, err = ddpg(capsys, "train", "--resume", run, "--no-tensorboard")
    assert status == 0, err
    assert episodes_in(run) == [1, 2, 3, 4, 5]
