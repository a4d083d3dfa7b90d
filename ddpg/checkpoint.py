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

The replay buffer is not rewritten whole each time (10^6 MuJoCo transitions are 170 MB). Its ring
is kept as a log of immutable segment files beside the checkpoint, `replay/START-STOP.npz`, each
the entries written from START to STOP, checksummed in state.json; a checkpoint writes one new
segment, of what was added since the last one (with the small segments just before it merged in,
so that short episodes do not make thousands), before step 1. Replaying the listed segments in
order rebuilds the ring exactly; a segment that later ones cover entirely is deleted after the
swap, and so is a segment a killed save left unlisted. So a save costs what is new (and, amortised,
a few rewrites of small segments), and a kill at any moment still leaves the previous checkpoint
whole: the segments it lists are never touched.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddpg.errors import UserInputError

FORMAT = 3  # 2: the step-based loop; 3: the replay ring in segments (2 is still read)
READABLE_FORMATS = (2, 3)
ARRAYS, MANIFEST = "arrays.npz", "state.json"
REPLAY = "replay"  # the segments' directory, beside the checkpoint's
MERGE_BELOW = 10_000  # entries: a new segment absorbs the smaller ones before it under this size (_write_segments)


class CheckpointError(UserInputError):
    """A checkpoint is missing, incomplete or corrupt."""


@dataclass
class Checkpoint:
    manifest: dict
    arrays: dict[str, np.ndarray]  # the ring's columns too, rebuilt: as they were given to save, [:size]


@dataclass
class Ring:
    """A ring buffer's columns: slot t % capacity holds entry t, for the last `capacity` of the `end` entries
    ever written (as ReplayBuffer fills its ring, one transition per environment step)."""

    columns: dict[str, np.ndarray]  # each [capacity, ...]
    end: int

    @property
    def capacity(self) -> int:
        return len(next(iter(self.columns.values())))

    def rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Entries start..stop-1 (all among the last `capacity`), copied out of their slots."""
        slots = np.arange(start, stop) % self.capacity
        return {name: column[slots] for name, column in self.columns.items()}


def segment_name(start: int, stop: int) -> str:
    return f"{start:012d}-{stop:012d}.npz"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def save_checkpoint(directory: Path, manifest: dict, arrays: dict[str, np.ndarray], ring: Ring | None = None) -> None:
    """Write manifest, arrays and the ring's new entries to `directory` atomically (see the module docstring)."""
    directory = Path(directory)
    tmp, old = directory.with_name(directory.name + ".tmp"), _old(directory)
    shutil.rmtree(tmp, ignore_errors=True)  # a previous write that was killed half-way
    try:
        replay = _write_segments(directory, ring) if ring is not None else None
        tmp.mkdir(parents=True)
        with (tmp / ARRAYS).open("wb") as file:
            np.savez(file, **arrays)
        _fsync(tmp / ARRAYS)
        (tmp / MANIFEST).write_text(json.dumps({"format": FORMAT, **manifest, "replay": replay,
                                                "arrays_sha256": _sha256(tmp / ARRAYS)}))
        _fsync(tmp / MANIFEST)
    except OSError:  # a full disk: the previous checkpoint stands, and nothing half-written lies beside it
        shutil.rmtree(tmp, ignore_errors=True)
        _delete_unlisted_segments(directory, {"segments": _listed_segments(directory)})
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
        _delete_unlisted_segments(directory, {"segments": _listed_segments(directory)})
        raise
    shutil.rmtree(old, ignore_errors=True)
    _delete_unlisted_segments(directory, replay)


def _write_segments(directory: Path, ring: Ring) -> dict:
    """The segment of what the ring gained since the checkpoint in `directory`, written; returns the
    manifest's "replay": the segments that rebuild the ring, oldest first."""
    folder = directory.parent / REPLAY
    first_needed = max(0, ring.end - ring.capacity)
    listed = _listed_segments(directory)
    # Reused only if they run without a gap from at or before the first entry needed up to at most the end.
    contiguous = all(a["stop"] == b["start"] for a, b in itertools.pairwise(listed))
    if not (listed and contiguous and listed[0]["start"] <= first_needed and listed[-1]["stop"] <= ring.end):
        listed = []
    kept = [segment for segment in listed if segment["stop"] > first_needed]
    start = max(kept[-1]["stop"] if kept else first_needed, first_needed)
    # A new segment takes in the last one while that is under MERGE_BELOW entries and no longer than it: each
    # rewrite of an entry at least doubles its segment, so it is rewritten at most log2(MERGE_BELOW / its first
    # segment's size) times, the segments stay few however short the episodes (3-step ones checkpointed every
    # 10 episodes made one of 30 entries per save), and segments of MERGE_BELOW or more are never rewritten.
    # (With no new entries, ring.end - start is 0 and nothing is taken in.)
    while kept and (size := kept[-1]["stop"] - kept[-1]["start"]) < MERGE_BELOW and size <= ring.end - start:
        start = max(kept.pop()["start"], first_needed)
    if start < ring.end:
        folder.mkdir(exist_ok=True)
        name = segment_name(start, ring.end)
        part = folder / (name + ".tmp")
        try:
            with part.open("wb") as file:
                np.savez(file, **ring.rows(start, ring.end))
            _fsync(part)
            os.replace(part, folder / name)
        finally:
            part.unlink(missing_ok=True)
        kept.append({"file": name, "start": start, "stop": ring.end, "sha256": _sha256(folder / name)})
    return {"capacity": ring.capacity, "end": ring.end, "segments": kept}


def _listed_segments(directory: Path) -> list[dict]:
    """The segments the checkpoint now in `directory` lists (or in .old, as load_checkpoint falls back to it);
    none if there is no checkpoint, or it is unreadable."""
    try:
        return list(read_manifest(directory)[1]["replay"]["segments"])
    except (CheckpointError, OSError, KeyError, TypeError):
        return []


def _delete_unlisted_segments(directory: Path, replay: dict | None) -> None:
    folder = directory.parent / REPLAY
    if not folder.is_dir():
        return
    listed = {segment["file"] for segment in replay["segments"]} if replay else set()
    for path in folder.iterdir():
        if path.name not in listed:
            path.unlink(missing_ok=True)


def _old(directory: Path) -> Path:
    return directory.with_name(directory.name + ".old")


def checkpoint_exists(directory: Path) -> bool:
    """Whether a checkpoint was written at `directory` (a kill between its two renames leaves only DIR.old)."""
    directory = Path(directory)
    return directory.is_dir() or _old(directory).is_dir()


def read_manifest(directory: Path) -> tuple[Path, dict]:
    """(the checkpoint directory read, its state.json) without reading the arrays, for what needs only the
    counters and the config; CheckpointError names the path and what is wrong."""
    directory = Path(directory)
    if not directory.is_dir() and _old(directory).is_dir():
        directory = _old(directory)  # killed between the two renames: the previous checkpoint is complete
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
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise CheckpointError(f"Expected a checkpoint of format {' or '.join(map(str, READABLE_FORMATS))}. "
                              f"Received: {manifest_path} with format "
                              f"{manifest.get('format') if isinstance(manifest, dict) else None!r}")
    return directory, manifest


def load_checkpoint(directory: Path) -> Checkpoint:
    """Read and verify a checkpoint; CheckpointError names the path and what is wrong."""
    directory, manifest = read_manifest(directory)
    arrays_path = directory / ARRAYS
    if _sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise CheckpointError(f"Expected {ARRAYS} to match the checksum in {MANIFEST}. Received: a corrupt or "
                              f"partly written {arrays_path}")
    try:
        with np.load(arrays_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"Expected a readable {ARRAYS}. Received: {arrays_path} ({error})") from None
    if manifest.get("replay") is not None:
        ring = _read_ring(directory.parent / REPLAY, manifest["replay"])
        if set(ring) & set(arrays):
            raise CheckpointError(f"Expected the replay's columns only in {REPLAY}/. Received: "
                                  f"{sorted(set(ring) & set(arrays))} in {arrays_path} too")
        arrays.update(ring)
    return Checkpoint(manifest, arrays)


def _read_ring(folder: Path, replay: dict) -> dict[str, np.ndarray]:
    """The ring's columns, [:min(end, capacity)], rebuilt by replaying the segments in order."""
    try:
        capacity, end, segments = int(replay["capacity"]), int(replay["end"]), list(replay["segments"])
        columns: dict[str, np.ndarray] = {}
        for segment in segments:
            start, stop, name = int(segment["start"]), int(segment["stop"]), segment["file"]
            if name != segment_name(start, stop) or not 0 <= start < stop <= end:  # never a path elsewhere
                raise ValueError(f"a segment {name!r} of entries {start} to {stop}")
            path = folder / name
            if _sha256(path) != segment["sha256"]:
                raise ValueError(f"{path}, corrupt or partly written: its checksum is not the one listed")
            with np.load(path, allow_pickle=False) as data:
                for column, rows in ((column, data[column]) for column in data.files):
                    if column not in columns:
                        columns[column] = np.zeros((capacity, *rows.shape[1:]), rows.dtype)
                    columns[column][np.arange(start, stop) % capacity] = rows
        gapless = all(a["stop"] == b["start"] for a, b in itertools.pairwise(segments))
        if end and not (segments and gapless and segments[0]["start"] <= max(0, end - capacity)
                        and segments[-1]["stop"] == end):
            raise ValueError(f"segments without a gap, over the last {min(end, capacity)} of {end} entries")
    except (OSError, ValueError, KeyError, TypeError, IndexError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"Expected the replay segments the checkpoint lists. Received: {error}") from None
    return {name: column[:min(end, capacity)] for name, column in columns.items()}
