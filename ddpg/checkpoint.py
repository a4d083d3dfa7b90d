"""Checkpoints on disk: written beside and swapped in by renames, so a kill never leaves a half one.

A checkpoint is a directory of two files: `arrays.npz` (every array: networks, optimiser state,
replay buffer rows) and `state.json` (counters, RNG states, the config, and the SHA-256 of
arrays.npz), written last. Saving goes:

    1. write checkpoint.tmp/          a kill here leaves checkpoint/ as it was
    2. rename checkpoint/ -> checkpoint.old/
    3. rename checkpoint.tmp/ -> checkpoint/
    4. delete checkpoint.old/

and loading falls back to checkpoint.old/ when a kill came between 2 and 3. NumPy and the
standard library only: what goes in is the trainer's business.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddpg.errors import UserInputError

FORMAT = 2  # 2: the step-based loop (warm-up generator, best evaluation)
ARRAYS, MANIFEST = "arrays.npz", "state.json"


class CheckpointError(UserInputError):
    """A checkpoint is missing, incomplete or corrupt."""


@dataclass
class Checkpoint:
    manifest: dict
    arrays: dict[str, np.ndarray]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def save_checkpoint(directory: Path, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write manifest and arrays to `directory` atomically (see the module docstring)."""
    directory = Path(directory)
    tmp, old = directory.with_name(directory.name + ".tmp"), directory.with_name(directory.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)  # a previous write that was killed half-way
    try:
        tmp.mkdir(parents=True)
        with (tmp / ARRAYS).open("wb") as file:
            np.savez(file, **arrays)
        _fsync(tmp / ARRAYS)
        (tmp / MANIFEST).write_text(json.dumps({"format": FORMAT, **manifest,
                                                "arrays_sha256": _sha256(tmp / ARRAYS)}))
        _fsync(tmp / MANIFEST)
    except OSError:  # a full disk: the previous checkpoint stands, and nothing half-written lies beside it
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if directory.exists():
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
        tmp.rename(directory)
    except OSError:  # a refused rename: put the previous checkpoint back where it was
        if old.exists() and not directory.exists():
            old.rename(directory)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(directory: Path) -> Checkpoint:
    """Read and verify a checkpoint; CheckpointError names the path and what is wrong."""
    directory = Path(directory)
    old = directory.with_name(directory.name + ".old")
    if not directory.is_dir() and old.is_dir():
        directory = old  # killed between the two renames: the previous checkpoint is complete
    if not directory.is_dir():
        raise CheckpointError(f"Expected a checkpoint directory written by `ddpg train`. Received: {directory}, "
                              "which does not exist")
    manifest_path, arrays_path = directory / MANIFEST, directory / ARRAYS
    if not manifest_path.is_file() or not arrays_path.is_file():
        raise CheckpointError(f"Expected {MANIFEST} and {ARRAYS} in the checkpoint. Received: {directory}, "
                              f"holding {sorted(p.name for p in directory.iterdir()) or 'nothing'}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"Expected {MANIFEST} to be JSON. Received: a corrupt {manifest_path} "
                              f"({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"Expected a checkpoint of format {FORMAT}. Received: {manifest_path} with format "
                              f"{manifest.get('format') if isinstance(manifest, dict) else None!r}")
    if _sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise CheckpointError(f"Expected {ARRAYS} to match the checksum in {MANIFEST}. Received: a corrupt or "
                              f"partly written {arrays_path}")
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"Expected a readable {ARRAYS}. Received: {arrays_path} ({error})") from None
    return Checkpoint(manifest, arrays)
