"""A run's directory: one writer at a time, config.json, metrics.csv, checkpoints, and the actor and plot.

Every whole file is written beside and renamed into place, so a reader or a kill never sees half a
file; a file-system error (a full disk, a read-only directory) becomes one line naming the path and
its cause. NumPy and the standard library; the agent's files are written through its own methods.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import fcntl
import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ddpg.checkpoint import Ring, save_checkpoint
from ddpg.config import DDPGConfig, config_from_json
from ddpg.errors import UserInputError
from ddpg.run_schema import EVAL_FIELDS, LOCK, METRICS_FIELDS, RUN_FILES, RUN_MARKERS


class RunFilesError(UserInputError):
    """A run's file cannot be written or read as `ddpg` wrote it."""


class RunInUse(RunFilesError):
    """Another process holds the run directory's lock."""


@contextlib.contextmanager
def reported_os_errors(path: Path, doing: str) -> Iterator[None]:
    """An OSError becomes one line: 'Expected to write PATH. Received: No space left on device'."""
    try:
        yield
    except OSError as error:
        where = error.filename or path
        raise RunFilesError(f"Expected to {doing} {where}. Received: {error.strerror or error}") from None


def write_beside(path: Path, write: Callable[[Path], object]) -> None:
    """write(tmp) beside, then rename: a reader never sees half a file, and a failed write leaves nothing
    beside it. tmp is NAME.tmp.SUFFIX: Keras and matplotlib choose their format by the suffix."""
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")
    with reported_os_errors(path, "write"):
        try:
            write(tmp)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise


def write_atomically(path: Path, text: str) -> None:
    """A whole text file, written beside and renamed into place."""
    write_beside(path, lambda tmp: tmp.write_text(text, newline=""))  # as given: csv's own line endings stay


@contextlib.contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Hold DIR/ddpg.lock exclusively (fcntl), or refuse naming the process that holds it.

    The operating system releases the lock when the process ends, however it ends, so a crash
    never leaves a stale lock behind; the pid in the file only names the holder.
    """
    path = directory / LOCK
    with reported_os_errors(path, "lock"):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunInUse(f"Expected no other process writing {directory}. Received: process {holder} holds "
                           f"{path}; wait for it to finish or stop it") from None
        with contextlib.suppress(OSError):  # the pid is for people; a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def load_run_config(run_dir: Path) -> DDPGConfig:
    """The config.json that `ddpg train` wrote, or one line saying what is wrong with it."""
    path = run_dir / "config.json"
    try:
        with reported_os_errors(path, "read"):
            text = path.read_text()
        return DDPGConfig(**config_from_json(text))
    except ValueError as error:  # not JSON, not UTF-8, not DDPGConfig's fields or ranges
        raise RunFilesError(f"Expected {path} as ddpg train wrote it. Received: {error}") from None


def read_metrics(path: Path, episodes: int | None = None) -> list[dict[str, str]]:
    """The rows of episodes 1..episodes (all, when None) of a metrics.csv that `ddpg` wrote; rows after
    them (episodes lost with a killed process) are left out. Anything else is refused: another header, a
    row that is not the next episode, a value that is not a number."""
    rows = _read_rows(path, METRICS_FIELDS, lambda line, row, previous: row["episode"] == str(line - 1),
                      "the next episode's")
    if episodes is None:
        return rows
    if len(rows) < episodes:
        raise RunFilesError(f"Expected {path} to hold episodes 1 to {episodes}, as the checkpoint does. "
                            f"Received: {len(rows)} episodes")
    return rows[:episodes]


def read_evaluations(path: Path, steps: int | None = None, every: int = 0,
                     best: dict | None = None) -> list[dict[str, str]]:
    """The rows of an eval.csv that `ddpg` wrote, up to step `steps` (all, when None; later ones were lost with
    a killed process). A run that evaluates every `every` steps must have it (a missing one is refused as a
    missing metrics.csv is: its rows cannot be made again), each row at a multiple of `every`, and the
    checkpoint's `best` evaluation ({step, mean_return}) among them, as best_actor.keras is; without
    evaluations, a missing file is none. Refused as read_metrics refuses."""
    if not path.exists() and not every:
        return []
    if not path.exists():
        raise RunFilesError(f"Expected {path} with the evaluations every {every} steps up to step {steps}, as the "
                            f"checkpoint has them. Received: no {path.name}")
    rows = _read_rows(path, EVAL_FIELDS, lambda line, row, previous: row["step"].isdigit() and (
        not every or int(row["step"]) % every == 0) and (previous is None or int(row["step"]) > int(previous["step"])),
        "a later evaluation's" if every else "a later step's")
    rows = [row for row in rows if steps is None or int(row["step"]) <= steps]
    if best is not None and not any(int(row["step"]) == best["step"] and float(row["mean_return"]) ==
                                    best["mean_return"] for row in rows):
        found = [row["mean_return"] for row in rows if int(row["step"]) == best["step"]]
        raise RunFilesError(f"Expected {path} to hold the best evaluation, which the checkpoint and best_actor.keras "
                            f"keep: step {best['step']}, mean return {best['mean_return']!r}. Received: "
                            + (f"mean return {found[0]} at step {best['step']}" if found else
                               f"no row of step {best['step']}"))
    return rows


def _read_rows(path: Path, fields: tuple[str, ...], in_order, what: str) -> list[dict[str, str]]:
    with reported_os_errors(path, "read"):
        try:
            text = path.read_text() if path.exists() else ""
        except UnicodeDecodeError as error:
            raise RunFilesError(f"Expected {path} to be text, as ddpg wrote it. Received: {error}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != fields:
        raise RunFilesError(f"Expected {path} to begin with the header {','.join(fields)}. "
                            f"Received: {','.join(reader.fieldnames or ()) or 'no header'}")
    rows: list[dict[str, str]] = []
    for line, row in enumerate(reader, start=2):
        if None in row or not all(_is_number(row[name]) for name in fields) or not in_order(
                line, row, rows[-1] if rows else None):
            raise RunFilesError(f"Expected line {line} of {path} to be {what} numbers, as ddpg wrote them. "
                                f"Received: {','.join(map(str, row.values()))}")
        rows.append(row)
    return rows


def _is_number(text: str | None) -> bool:
    try:
        float(text)  # nan too: the losses before learning starts
    except (TypeError, ValueError):
        return False
    return True


class RunFiles:
    """The files of one run in `directory`, written by the one process that holds its lock."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.metrics = self.dir / "metrics.csv"
        self.evaluations = self.dir / "eval.csv"
        self.events = self.dir / "tensorboard"
        self._tensorboard = None

    def check_no_run(self, overwrite: bool) -> None:
        """Refuse to mix two runs in one directory, unless told to replace the one there."""
        inside = next((parent for parent in self.dir.resolve().parents if (parent / LOCK).exists()), None)
        if inside is not None:
            raise RunFilesError(f"Expected an output directory outside any run. Received: --out {self.dir}, "
                                f"inside the run in {inside}")
        previous = [name for name in RUN_MARKERS if (self.dir / name).exists()]
        if previous and not overwrite:
            raise RunFilesError(f"Expected an output directory without a run in it. Received: --out {self.dir}, "
                                f"which holds {', '.join(previous)}; pass --resume {self.dir} to continue it or "
                                "--overwrite to replace it")

    def start(self, config: DDPGConfig, overwrite: bool = False, tensorboard: bool = False,
              rows: Sequence[dict] = (), evaluations: Sequence[dict] = (), with_evaluations: bool = False) -> None:
        """Write config.json, metrics.csv and eval.csv (holding `rows` and `evaluations`: a resumed run's, as
        read_metrics and read_evaluations cut them back to the checkpoint); with overwrite, first remove
        every file of the run that was there. Call after all validation."""
        if overwrite:  # the user asked for it: nothing of the old run may be mistaken for the new one
            with reported_os_errors(self.dir, "remove the previous run in"):
                for name in RUN_FILES:
                    path = self.dir / name
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        if tensorboard:  # first: a directory TensorBoard cannot write is refused before the run's files change
            self._tensorboard = TensorBoard(self.events)
        write_atomically(self.dir / "config.json", json.dumps(dataclasses.asdict(config), indent=2) + "\n")
        # Episodes and evaluations after the checkpoint were lost with the process: they run again, so
        # their rows go, and every one ends up in its file exactly once.
        write_atomically(self.metrics, _csv(METRICS_FIELDS, rows))
        if with_evaluations or evaluations:
            write_atomically(self.evaluations, _csv(EVAL_FIELDS, evaluations))

    def append_metrics(self, row: dict) -> None:
        """One episode's row, written whole (a row that did not fit on the disk is taken back out), and
        its scalars in TensorBoard."""
        self._append(self.metrics, METRICS_FIELDS, row)
        if self._tensorboard:
            self._tensorboard.scalars(row["steps"], {
                "episode/return": row["return"], "episode/average_return_40": row["average_return_40"],
                "loss/critic": row["mean_critic_loss"], "loss/actor": row["mean_actor_loss"],
                "q/mean": -row["mean_actor_loss"], "speed/steps_per_second": row["steps_per_second"]})

    def append_evaluation(self, row: dict) -> None:
        self._append(self.evaluations, EVAL_FIELDS, row)
        if self._tensorboard:
            self._tensorboard.scalars(row["step"], {"eval/mean_return": row["mean_return"]})

    def _append(self, path: Path, fields: tuple[str, ...], row: dict) -> None:
        text = io.StringIO()
        csv.DictWriter(text, fields, extrasaction="ignore").writerow(row)
        with reported_os_errors(path, "write"), path.open("a", newline="") as file:
            end = file.tell()
            try:
                file.write(text.getvalue())
                file.flush()
            except OSError:
                with contextlib.suppress(OSError):
                    file.truncate(end)
                raise

    def checkpoint(self, manifest: dict, arrays: dict[str, np.ndarray], ring: Ring | None = None) -> None:
        """Save a checkpoint of the run: `manifest` (JSON-able), `arrays`, and the replay ring's new entries."""
        with reported_os_errors(self.dir / "checkpoint", "write a checkpoint to"):
            save_checkpoint(self.dir / "checkpoint", manifest, arrays, ring)

    def save_actor(self, name: str, agent, weights: list[np.ndarray] | None = None,
                   statistics: dict | None = None) -> None:
        """The actor (with these weights, if given; with these observation statistics in front, if given) as a
        .keras file, written beside and renamed into place."""
        write_beside(self.dir / name, lambda path: agent.save_actor(path, weights, statistics))

    def write(self, name: str, write: Callable[[Path], object]) -> None:
        """A whole file of the run (a plot), written by write(path) beside and renamed into place."""
        write_beside(self.dir / name, write)

    def close(self) -> None:
        if self._tensorboard:
            self._tensorboard.close()
            self._tensorboard = None


def _csv(fields: tuple[str, ...], rows: list[dict]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fields)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


class TensorBoardError(RunFilesError):
    """TensorBoard's event files cannot be written (its directory a file, read-only, its disk full)."""


class TensorBoard:
    """TensorBoard event files through TensorFlow's own summary writer (`tensorboard --logdir DIR`).

    Scalars are written with `tf.summary.write` and the metadata of TensorBoard's scalar plugin,
    which is what `tf.summary.scalar` writes, without needing the tensorboard package to write
    them (only to view them). A resumed run writes again the steps it lost; TensorBoard shows both.
    """

    def __init__(self, directory: Path) -> None:
        from tensorflow.core.framework import summary_pb2

        from ddpg.backend import tf

        self._tf, self.directory = tf, directory
        self._metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            data_class=summary_pb2.DATA_CLASS_SCALAR).SerializeToString()
        before = set(directory.iterdir()) if directory.is_dir() else set()
        try:
            with reported_os_errors(directory, "write"), self._reported():
                self._writer = tf.summary.create_file_writer(str(directory))
        except TensorBoardError:  # a disk that filled as it began leaves an empty events file: not kept
            for path in (set(directory.iterdir()) if directory.is_dir() else set()) - before:
                path.unlink(missing_ok=True)
            raise

    @contextlib.contextmanager
    def _reported(self) -> Iterator[None]:
        """TensorFlow's own errors (not OSError) as one line: 'Expected to write TensorBoard's events to DIR.
        Received: No space left on device'."""
        try:
            yield
        except self._tf.errors.OpError as error:
            first = (re.sub(r"\{\{.*?\}\}", "", error.message).strip().splitlines() or [""])[0]
            cause = first.split("[Op:")[0].strip().split("; ")[-1].strip()  # not the function, the file nor the op
            raise TensorBoardError(f"Expected to write TensorBoard's events to {self.directory}. Received: "
                                   f"{cause or type(error).__name__}") from None

    def scalars(self, step: int, values: dict[str, float]) -> None:
        with self._reported(), self._writer.as_default(step=step):
            for name, value in values.items():
                self._tf.summary.write(name, self._tf.constant(value, self._tf.float32), metadata=self._metadata)
            self._writer.flush()

    def close(self) -> None:
        with contextlib.suppress(self._tf.errors.OpError):  # every scalar was flushed as written
            self._writer.close()
