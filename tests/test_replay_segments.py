"""The replay ring in a checkpoint: written as segments of what is new, rebuilt exactly, never half-trusted.

NumPy only: a ring here is filled as ReplayBuffer fills its own, entry t in slot t % capacity.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ddpg import checkpoint
from ddpg.checkpoint import REPLAY, CheckpointError, Ring, load_checkpoint, save_checkpoint, segment_name

CAPACITY = 5


@pytest.fixture(autouse=True)
def one_segment_per_save(monkeypatch):
    """The tests pin the log's bookkeeping one save's segment at a time, with no small segment merged; merging
    is tested on its own at the end (test_small_segments_*), with its own threshold."""
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 0)


class FilledRing:
    """A ring of `capacity` slots; entry t is the row [t, -t] (so every row names the entry it holds)."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self.columns = {"buffer/obs": np.zeros((capacity, 2), np.float32),
                        "buffer/reward": np.zeros((capacity, 1), np.float32)}
        self.end = 0

    def add(self, count: int) -> Ring:
        for t in range(self.end, self.end + count):
            self.columns["buffer/obs"][t % self.capacity] = [t, -t]
            self.columns["buffer/reward"][t % self.capacity] = t
        self.end += count
        return Ring(self.columns, self.end)


def save(tmp_path, ring: Ring) -> None:
    save_checkpoint(tmp_path / "checkpoint", {"steps": ring.end}, {"actor/0": np.ones(2)}, ring)


def segments(tmp_path) -> list[str]:
    return sorted(path.name for path in (tmp_path / REPLAY).iterdir())


def rows_in(tmp_path, name) -> list[int]:
    with np.load(tmp_path / REPLAY / name) as data:
        return data["buffer/reward"][:, 0].astype(int).tolist()


@pytest.mark.parametrize("adds", [[3], [3, 4], [3, 4, 2, 9], [12], [5, 5, 1]])
def test_the_ring_comes_back_exactly_after_each_save(tmp_path, adds):
    ring = FilledRing()
    for count in adds:
        save(tmp_path, ring.add(count))
        loaded = load_checkpoint(tmp_path / "checkpoint").arrays
        size = min(ring.end, CAPACITY)
        for name, column in ring.columns.items():
            np.testing.assert_array_equal(loaded[name], column[:size], err_msg=f"{name} after {ring.end}")


def test_each_save_writes_only_what_is_new_and_drops_what_is_covered(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(3))  # entries 0-2
    assert segments(tmp_path) == [segment_name(0, 3)]
    save(tmp_path, ring.add(1))  # entry 3 only: the first segment is still needed
    assert segments(tmp_path) == [segment_name(0, 3), segment_name(3, 4)]
    assert rows_in(tmp_path, segment_name(3, 4)) == [3]
    save(tmp_path, ring.add(4))  # entries 4-7; the ring holds 3-7, so entries 0-2 are covered: dropped
    assert segments(tmp_path) == [segment_name(3, 4), segment_name(4, 8)]
    assert rows_in(tmp_path, segment_name(4, 8)) == [4, 5, 6, 7]
    save(tmp_path, ring.add(9))  # more than the ring holds since the last save: only the last 5, 12-16
    assert segments(tmp_path) == [segment_name(12, 17)]
    assert rows_in(tmp_path, segment_name(12, 17)) == [12, 13, 14, 15, 16]
    save(tmp_path, ring.add(0))  # nothing new: nothing written, the same segment listed
    assert segments(tmp_path) == [segment_name(12, 17)]


def test_a_save_killed_after_its_segment_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    ring = FilledRing()
    save(tmp_path, ring.add(4))
    before = load_checkpoint(tmp_path / "checkpoint").arrays

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between the new segment and the checkpoint's own files

    monkeypatch.setattr(np, "savez", _after_first(np.savez, killed))
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, ring.add(3))
    monkeypatch.undo()
    assert segment_name(4, 7) in segments(tmp_path)  # written, but listed by nothing
    for name, column in before.items():  # the previous checkpoint and its segments, untouched
        np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays[name], column)
    save(tmp_path, ring.add(1))
    assert segment_name(4, 7) not in segments(tmp_path)  # the orphan went with the next save
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0],
                                  [5, 6, 7, 3, 4])


def _after_first(real, then):
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs) if len(calls) == 1 else then(*args, **kwargs)
    return wrapped


def test_a_failed_save_removes_its_new_segment(tmp_path, monkeypatch):
    ring = FilledRing()
    save(tmp_path, ring.add(4))
    monkeypatch.setattr(np, "savez", _after_first(np.savez, lambda *a, **k: (_ for _ in ()).throw(
        OSError(28, "No space left on device"))))
    with pytest.raises(OSError):
        save(tmp_path, ring.add(3))
    assert segments(tmp_path) == [segment_name(0, 4)]  # nothing half-written, nothing unlisted


def test_a_changed_segment_is_refused(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(4))
    path = tmp_path / REPLAY / segment_name(0, 4)
    np.savez(path, **{"buffer/obs": np.zeros((4, 2), np.float32), "buffer/reward": np.zeros((4, 1), np.float32)})
    with pytest.raises(CheckpointError, match="Expected the replay segments the checkpoint lists. Received: .*"
                                              "its checksum is not the one listed"):
        load_checkpoint(tmp_path / "checkpoint")


@pytest.mark.parametrize("change, message", [
    (lambda s: {**s, "file": "../../etc/passwd"}, "a segment '../../etc/passwd' of entries 0 to 4"),  # never a path
    (lambda s: {**s, "stop": s["stop"] + 1}, "a segment '000000000000-000000000004.npz' of entries 0 to 5"),
    (lambda s: {**s, "file": segment_name(4, 4), "start": 4}, "a segment '000000000004-000000000004.npz'"),  # empty
])
def test_a_listed_segment_that_ddpg_did_not_write_is_refused(tmp_path, change, message):
    ring = FilledRing()
    save(tmp_path, ring.add(4))
    state = tmp_path / "checkpoint" / "state.json"
    manifest = json.loads(state.read_text())
    manifest["replay"]["segments"][0] = change(manifest["replay"]["segments"][0])
    state.write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="Expected the replay segments the checkpoint lists. Received: "
                                              + message.replace("(", r"\(").replace(".", r"\.")):
        load_checkpoint(tmp_path / "checkpoint")


def test_a_missing_segment_is_refused(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(3))
    save(tmp_path, ring.add(1))
    (tmp_path / REPLAY / segment_name(0, 3)).unlink()
    with pytest.raises(CheckpointError, match="Expected the replay segments the checkpoint lists"):
        load_checkpoint(tmp_path / "checkpoint")


def test_a_format_2_checkpoint_with_the_ring_in_its_arrays_still_loads(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", {"steps": 2}, {"buffer/reward": np.array([[1.0], [2.0]])})
    state = tmp_path / "checkpoint" / "state.json"
    manifest = json.loads(state.read_text())
    del manifest["replay"]
    state.write_text(json.dumps({**manifest, "format": 2}))
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"], [[1.0], [2.0]])


def test_a_segment_of_pickled_objects_is_refused(tmp_path):
    # np.load with allow_pickle=False: a segment file can never run code.
    ring = FilledRing()
    save(tmp_path, ring.add(2))
    path = tmp_path / REPLAY / segment_name(0, 2)
    np.savez(path, **{"buffer/reward": np.array([{"a": 1}, {"b": 2}], dtype=object)})
    import hashlib

    manifest = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    manifest["replay"]["segments"][0]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "checkpoint" / "state.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="Expected the replay segments the checkpoint lists"):
        load_checkpoint(tmp_path / "checkpoint")


@pytest.mark.parametrize("keep", [[1], [0, 2]])  # the oldest needed segment gone; a gap in the middle
def test_segments_that_do_not_cover_the_ring_are_refused(tmp_path, keep):
    ring = FilledRing()
    for count in (2, 1, 1):  # segments 0-2, 2-3, 3-4: all needed by a ring of 5 at entry 4
        save(tmp_path, ring.add(count))
    state = tmp_path / "checkpoint" / "state.json"
    manifest = json.loads(state.read_text())
    manifest["replay"]["segments"] = [manifest["replay"]["segments"][i] for i in keep]
    state.write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="segments without a gap, over the last 4 of 4 entries"):
        load_checkpoint(tmp_path / "checkpoint")


def test_the_rebuilt_ring_keeps_its_dtype(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(7))
    loaded = load_checkpoint(tmp_path / "checkpoint").arrays
    assert {loaded[name].dtype for name in ring.columns} == {np.dtype(np.float32)}


def test_a_save_after_a_kill_between_the_renames_reuses_the_old_checkpoints_segments(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(3))
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.old")  # killed between the two renames
    save(tmp_path, ring.add(1))
    assert segments(tmp_path) == [segment_name(0, 3), segment_name(3, 4)]  # only what is new was written
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0], [0, 1, 2, 3])


def test_nothing_new_rewrites_nothing(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(3))
    before = (tmp_path / REPLAY / segment_name(0, 3)).stat().st_ino
    save(tmp_path, ring.add(0))
    assert (tmp_path / REPLAY / segment_name(0, 3)).stat().st_ino == before


def test_a_listed_segments_with_a_gap_are_not_reused(tmp_path):
    # Whatever the previous state.json lists, a save leaves a checkpoint that loads.
    ring = FilledRing()
    for count in (2, 1, 1):
        save(tmp_path, ring.add(count))
    state = tmp_path / "checkpoint" / "state.json"
    manifest = json.loads(state.read_text())
    del manifest["replay"]["segments"][1]
    state.write_text(json.dumps(manifest))
    save(tmp_path, ring.add(1))
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0],
                                  [0, 1, 2, 3, 4])


def test_a_refused_rename_keeps_the_previous_checkpoint_and_no_new_segment(tmp_path, monkeypatch):
    import pathlib

    ring = FilledRing()
    save(tmp_path, ring.add(3))
    real = pathlib.Path.rename

    def refused(path, target):
        if path.name == "checkpoint.tmp":
            raise OSError(13, "Permission denied", str(path))
        return real(path, target)

    monkeypatch.setattr(pathlib.Path, "rename", refused)
    with pytest.raises(OSError, match="Permission denied"):
        save(tmp_path, ring.add(2))
    monkeypatch.undo()
    assert segments(tmp_path) == [segment_name(0, 3)]
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0], [0, 1, 2])


def test_a_checkpoint_without_a_ring_leaves_no_segments(tmp_path):
    ring = FilledRing()
    save(tmp_path, ring.add(3))
    save_checkpoint(tmp_path / "checkpoint", {"steps": 3}, {"actor/0": np.ones(2)})
    assert segments(tmp_path) == []
    assert load_checkpoint(tmp_path / "checkpoint").manifest["replay"] is None


def test_the_ring_in_arrays_and_in_segments_at_once_is_refused(tmp_path):
    ring = FilledRing()
    save_checkpoint(tmp_path / "checkpoint", {"steps": 3}, {"buffer/reward": np.zeros((3, 1))}, ring.add(3))
    with pytest.raises(CheckpointError, match=r"Expected the replay's columns only in replay/\. "
                                              r"Received: \['buffer/reward'\] in .*arrays\.npz too"):
        load_checkpoint(tmp_path / "checkpoint")


@pytest.mark.parametrize("first, message", [
    (1, "segments without a gap, over the last 4 of 4 entries"),  # entry 0 is needed: no segment holds it
])
def test_the_first_segment_must_reach_back_to_the_first_entry_needed(tmp_path, first, message):
    ring = FilledRing()
    save(tmp_path, ring.add(4))
    state = tmp_path / "checkpoint" / "state.json"
    manifest = json.loads(state.read_text())
    segment = manifest["replay"]["segments"][0]
    path = tmp_path / REPLAY / segment["file"]
    renamed = segment_name(first, 4)
    with np.load(path) as data:
        np.savez(tmp_path / REPLAY / renamed, **{name: data[name][first:] for name in data.files})
    import hashlib

    digest = hashlib.sha256((tmp_path / REPLAY / renamed).read_bytes()).hexdigest()
    manifest["replay"]["segments"] = [{"file": renamed, "start": first, "stop": 4, "sha256": digest}]
    state.write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "checkpoint")


def test_a_leftover_old_checkpoint_beside_a_complete_one_is_not_read(tmp_path):
    # Killed after the second rename and before checkpoint.old was deleted: the new checkpoint is complete
    # and is the one the next save continues from.
    import shutil

    ring = FilledRing()
    save(tmp_path, ring.add(3))
    shutil.copytree(tmp_path / "checkpoint", tmp_path / "older")
    save(tmp_path, ring.add(1))
    (tmp_path / "older").rename(tmp_path / "checkpoint.old")
    save(tmp_path, ring.add(1))
    assert segments(tmp_path) == [segment_name(0, 3), segment_name(3, 4), segment_name(4, 5)]


# Small segments merged. A run of 3-step episodes (a pendulum that never learns) checkpointed every 10 episodes
# saved a 30-entry segment each time: 10,000 files by 300,000 steps, each save reading and writing their whole
# list in state.json (1.5 MB) and listing the folder, so a save cost what the run had done, not what was new.


def listed(tmp_path) -> list[dict]:
    """The segments the checkpoint's state.json lists, oldest first."""
    return json.loads((tmp_path / "checkpoint" / "state.json").read_text())["replay"]["segments"]


def saved_sizes(tmp_path) -> list[int]:
    return [segment["stop"] - segment["start"] for segment in listed(tmp_path)]


def test_small_segments_merge_so_that_a_save_lists_a_few(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 64)
    ring, written = FilledRing(capacity=10_000), []
    real = np.savez
    monkeypatch.setattr(np, "savez", lambda file, **arrays: (written.append(len(arrays.get("buffer/reward", ()))),
                                                              real(file, **arrays))[1])
    for _ in range(1_000):  # a save of 3 new entries each time
        save(tmp_path, ring.add(3))
        assert len(saved_sizes(tmp_path)) <= 3_000 // 64 + 8, saved_sizes(tmp_path)
    assert segments(tmp_path) == sorted(segment["file"] for segment in listed(tmp_path))  # nothing unlisted on disk
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0],
                                  np.arange(3_000))
    # Each rewrite of an entry at least doubles its segment, up to MERGE_BELOW: log2(64 / 3) + 1 < 6 writes each.
    assert 3_000 <= sum(written) <= 3_000 * 6


def test_small_segments_merge_within_the_ring_only(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 64)
    ring = FilledRing(capacity=50)
    for count in [3] * 40:  # past the ring's 50 slots: merged segments start at the first entry still held
        save(tmp_path, ring.add(count))
        held = np.arange(max(0, ring.end - 50), ring.end)
        np.testing.assert_array_equal(np.sort(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0]),
                                      held)
        for segment in listed(tmp_path):
            # Each holds the entries it names: none from before the ring's oldest, whose slots hold later ones.
            assert rows_in(tmp_path, segment["file"]) == list(range(segment["start"], segment["stop"]))


def test_segments_of_merge_below_or_more_are_never_rewritten(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 8)
    ring = FilledRing(capacity=100)
    save(tmp_path, ring.add(8))  # as a MuJoCo run's ten 1,000-step episodes: at the threshold, kept as written
    inode = (tmp_path / REPLAY / segment_name(0, 8)).stat().st_ino
    for count in (2, 2, 8, 3, 8):
        save(tmp_path, ring.add(count))
    assert (tmp_path / REPLAY / segment_name(0, 8)).stat().st_ino == inode
    assert saved_sizes(tmp_path)[0] == 8


def test_a_save_killed_after_its_merged_segment_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 64)
    ring = FilledRing(capacity=100)
    for _ in range(3):
        save(tmp_path, ring.add(2))
    before = segments(tmp_path)
    monkeypatch.setattr(np, "savez", _after_first(np.savez, lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)))
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, ring.add(2))  # writes the segment of entries 0-8 (all merged), then is killed
    monkeypatch.undo()
    assert set(before) <= set(segments(tmp_path))  # the previous checkpoint's segments, untouched
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0],
                                  np.arange(6))
    monkeypatch.setattr(checkpoint, "MERGE_BELOW", 64)
    save(tmp_path, ring.add(1))
    np.testing.assert_array_equal(load_checkpoint(tmp_path / "checkpoint").arrays["buffer/reward"][:, 0],
                                  np.arange(9))
    assert segments(tmp_path) == sorted(segment["file"] for segment in listed(tmp_path))
