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
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ddpg.checkpoint import Checkpoint, save_checkpoint
from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError

if TYPE_CHECKING:
    from ddpg.training import Trainer, TrainResult

METRICS_FIELDS = ("episode", "steps", "return", "average_return_40", "wall_seconds", "steps_per_second",
                  "critic_loss", "actor_loss")
AVERAGE_WINDOW = 40  # the Keras example reports the mean return of the last 40 episodes
LOCK = "ddpg.lock"
# What makes a directory hold a run, and what --overwrite removes.
RUN_MARKERS = ("metrics.csv", "checkpoint", "checkpoint.old")
RUN_FILES = ("checkpoint", "checkpoint.old", "checkpoint.tmp", "metrics.csv", "eval.json", "actor.keras",
             "learning_curve.png", "config.json")


def trailing_average(returns: list[float]) -> float:
    """Mean of the last AVERAGE_WINDOW returns (fewer at the start), the example's reported number."""
    return float(np.mean(returns[-AVERAGE_WINDOW:]))


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


def write_atomically(path: Path, text: str) -> None:
    """Write beside, then rename: a reader never sees half a file, and a failed write leaves nothing beside it."""
    tmp = path.with_name(path.name + ".tmp")
    with reported_os_errors(path, "write"):
        try:
            tmp.write_text(text, newline="")  # as given: csv's own line endings stay as they are
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise


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


def read_metrics(path: Path, episodes: int) -> list[dict[str, str]]:
    """The rows of episodes 1..episodes of a metrics.csv that `ddpg` wrote; rows after them (episodes lost
    with a killed process) are left out. Anything else is refused: another header, a row that is not
    the next episode, a value that is not a number."""
    with reported_os_errors(path, "read"):
        text = path.read_text() if path.exists() else ""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if tuple(reader.fieldnames or ()) != METRICS_FIELDS:
        raise RunFilesError(f"Expected {path} to begin with the header {','.join(METRICS_FIELDS)}. "
                            f"Received: {','.join(reader.fieldnames or ()) or 'no header'}")
    rows = []
    for line, row in enumerate(reader, start=2):
        expected_episode = str(line - 1)
        if row["episode"] != expected_episode or None in row or any(
                not _is_number(row[name]) for name in METRICS_FIELDS):
            raise RunFilesError(f"Expected line {line} of {path} to be episode {expected_episode}'s numbers, "
                                f"as ddpg wrote them. Received: {','.join(map(str, row.values()))}")
        if len(rows) < episodes:
            rows.append(row)
    if len(rows) < episodes:
        raise RunFilesError(f"Expected {path} to hold episodes 1 to {episodes}, as the checkpoint does. "
                            f"Received: {len(rows)} episodes")
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
        self._checkpointed_at: tuple[int, int] | None = None  # (episode, steps) of the last checkpoint written

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

    def start(self, config: DDPGConfig, resume_from: Checkpoint | None = None, overwrite: bool = False) -> None:
        """Write config.json and metrics.csv (cut back to the checkpoint's episode when resuming); with
        overwrite, first remove every file of the run that was there. Call after all validation."""
        rows = read_metrics(self.metrics, resume_from.manifest["episode"]) if resume_from else []
        if overwrite:  # the user asked for it: nothing of the old run may be mistaken for the new one
            with reported_os_errors(self.dir, "remove the previous run in"):
                for name in RUN_FILES:
                    path = self.dir / name
                    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        write_atomically(self.dir / "config.json", json.dumps(dataclasses.asdict(config), indent=2) + "\n")
        # Episodes after the checkpoint were lost with the process: they run again, so their rows go,
        # and every episode ends up in the file exactly once.
        text = io.StringIO()
        writer = csv.DictWriter(text, METRICS_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(self.metrics, text.getvalue())

    def append_metrics(self, row: dict) -> None:
        """One row, written whole: a row that did not fit on the disk is taken back out."""
        text = io.StringIO()
        csv.DictWriter(text, METRICS_FIELDS).writerow(row)
        with reported_os_errors(self.metrics, "write"), self.metrics.open("a", newline="") as file:
            end = file.tell()
            try:
                file.write(text.getvalue())
                file.flush()
            except OSError:
                with contextlib.suppress(OSError):
                    file.truncate(end)
                raise

    def checkpoint(self, trainer: Trainer, wall_seconds: float) -> None:
        """Save the trainer's state, unless this very state was the last one saved (the run's end
        often falls on a checkpoint_every boundary: the buffer is not written twice)."""
        if self._checkpointed_at == (trainer.episode, trainer.steps):
            return
        manifest, arrays = trainer.get_state()
        with reported_os_errors(self.dir / "checkpoint", "write a checkpoint to"):
            save_checkpoint(self.dir / "checkpoint", {**manifest, "wall_seconds": wall_seconds}, arrays)
        self._checkpointed_at = (trainer.episode, trainer.steps)

    def finish(self, agent, result: TrainResult) -> None:
        """The trained actor and the learning curve, each written beside and renamed into place."""
        from ddpg.plots import plot_learning_curve

        for name, write in (("actor.keras", agent.actor.save),
                            ("learning_curve.png", lambda path: plot_learning_curve(
                                result.returns, result.average_returns, path,
                                title=f"DDPG on {result.config.env_id}, seed {result.config.seed}"))):
            path = self.dir / name
            tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")  # Keras and matplotlib go by the suffix
            with reported_os_errors(path, "write"):
                try:
                    write(tmp)
                    os.replace(tmp, path)
                except OSError:
                    tmp.unlink(missing_ok=True)
                    raise
