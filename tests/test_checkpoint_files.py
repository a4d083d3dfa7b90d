"""Checkpoint files without a trainer: what is written, the renames that make a save atomic, and every refusal.

NumPy only (tests/test_checkpoint.py drives the same code through training, with TensorFlow).
"""

import errno
import hashlib
import json
import os
import pathlib

import numpy as np
import pytest

from ddpg import checkpoint as checkpoint_module
from ddpg.checkpoint import ARRAYS, MANIFEST, CheckpointError, checkpoint_exists, load_checkpoint, save_checkpoint
from ddpg.errors import UserInputError, install_command

ARRAYS_IN = {"actor/0": np.arange(6, dtype=np.float32).reshape(2, 3), "buffer/reward": np.array([[1.5], [-2.0]]),
             "steps": np.array(7, dtype=np.int64)}
MANIFEST_IN = {"episode": 3, "steps": 600, "returns": [-1.5, -2.0, -0.5]}


def assert_arrays_equal(arrays, expected):
    assert arrays.keys() == expected.keys()
    for name, array in expected.items():
        np.testing.assert_array_equal(arrays[name], array)
        assert arrays[name].dtype == array.dtype, name


def siblings(directory):
    return sorted(path.name for path in directory.parent.iterdir())


def test_a_saved_checkpoint_loads_as_it_was_saved(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    checkpoint = load_checkpoint(tmp_path / "checkpoint")
    assert_arrays_equal(checkpoint.arrays, ARRAYS_IN)
    # The manifest comes back with the format and the checksum of arrays.npz added, computed here independently.
    arrays_sha256 = hashlib.sha256((tmp_path / "checkpoint" / ARRAYS).read_bytes()).hexdigest()
    assert checkpoint.manifest == {"format": 3, **MANIFEST_IN, "replay": None, "arrays_sha256": arrays_sha256}
    assert json.loads((tmp_path / "checkpoint" / MANIFEST).read_text()) == checkpoint.manifest
    assert siblings(tmp_path / "checkpoint") == ["checkpoint"]  # no .tmp or .old left behind
    assert sorted(path.name for path in (tmp_path / "checkpoint").iterdir()) == [ARRAYS, MANIFEST]


def test_the_checksum_covers_a_file_larger_than_one_read(tmp_path):
    # arrays.npz of about 3 MiB is hashed in 1 MiB reads: the digest must still be that of the whole file.
    big = {"x": np.random.default_rng(0).standard_normal(3 * 2**20 // 8 + 5)}
    save_checkpoint(tmp_path / "checkpoint", {}, big)
    data = (tmp_path / "checkpoint" / ARRAYS).read_bytes()
    assert len(data) > 3 * 2**20
    assert load_checkpoint(tmp_path / "checkpoint").manifest["arrays_sha256"] == hashlib.sha256(data).hexdigest()


def test_save_makes_missing_parent_directories(tmp_path):
    save_checkpoint(tmp_path / "runs" / "a" / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    assert load_checkpoint(tmp_path / "runs" / "a" / "checkpoint").manifest["steps"] == 600


def test_a_second_save_replaces_the_first_whole(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    save_checkpoint(tmp_path / "checkpoint", {"episode": 4}, {"y": np.ones(2)})
    checkpoint = load_checkpoint(tmp_path / "checkpoint")
    assert checkpoint.manifest["episode"] == 4 and "steps" not in checkpoint.manifest
    assert_arrays_equal(checkpoint.arrays, {"y": np.ones(2)})
    assert siblings(tmp_path / "checkpoint") == ["checkpoint"]


def test_leftovers_of_a_killed_save_are_cleared(tmp_path):
    # A kill during step 1 leaves checkpoint.tmp/, one during step 4 leaves checkpoint.old/; both hold junk here.
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    for leftover in ("checkpoint.tmp", "checkpoint.old"):
        (tmp_path / leftover).mkdir()
        (tmp_path / leftover / "junk").write_text("from a killed save")
    save_checkpoint(tmp_path / "checkpoint", {"episode": 5}, ARRAYS_IN)
    assert siblings(tmp_path / "checkpoint") == ["checkpoint"]
    assert sorted(path.name for path in (tmp_path / "checkpoint").iterdir()) == [ARRAYS, MANIFEST]
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 5


def test_a_kill_between_the_renames_loads_the_previous_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.old")  # step 2 done, step 3 not
    (tmp_path / "checkpoint.tmp").mkdir()
    checkpoint = load_checkpoint(tmp_path / "checkpoint")
    assert checkpoint.manifest["episode"] == 3
    assert_arrays_equal(checkpoint.arrays, ARRAYS_IN)


@pytest.mark.parametrize("present, exists", [((), False), (("checkpoint",), True), (("checkpoint.old",), True),
                                             (("checkpoint.tmp",), False), (("checkpoint", "checkpoint.old"), True)])
def test_what_counts_as_a_checkpoint(tmp_path, present, exists):
    # A kill between the two renames leaves only checkpoint.old/, which load_checkpoint falls back to; a
    # checkpoint.tmp/ alone is a write that never finished. The path may be given as a string.
    for name in present:
        (tmp_path / name).mkdir()
    assert checkpoint_exists(tmp_path / "checkpoint") is exists
    assert checkpoint_exists(str(tmp_path / "checkpoint")) is exists


def test_the_checkpoint_wins_over_a_leftover_old_one(tmp_path):
    save_checkpoint(tmp_path / "older", {"episode": 1}, ARRAYS_IN)
    (tmp_path / "older").rename(tmp_path / "checkpoint.old")
    save_checkpoint(tmp_path / "checkpoint", {"episode": 2}, ARRAYS_IN)
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 2


def test_checkpoint_errors_are_user_input_errors():
    assert issubclass(CheckpointError, UserInputError) and issubclass(UserInputError, ValueError)


@pytest.mark.parametrize("extra", ["mujoco", "ray"])
def test_the_install_command_installs_this_project_from_its_checkout(extra):
    # `ddpg` on PyPI is another project: never `pip install "ddpg[...]"`.
    assert install_command(extra) == f'pip install ".[{extra}]" in the ddpg checkout'


def refusal(directory):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(directory)
    return str(error.value)


def test_a_missing_checkpoint_is_named(tmp_path):
    assert refusal(tmp_path / "checkpoint") == (
        f"Expected a checkpoint directory written by `ddpg train`. Received: {tmp_path / 'checkpoint'}, "
        "which does not exist")


def test_a_file_where_the_directory_should_be_is_refused(tmp_path):
    (tmp_path / "checkpoint").write_text("")
    assert refusal(tmp_path / "checkpoint").endswith(f"Received: {tmp_path / 'checkpoint'}, which does not exist")


@pytest.mark.parametrize("kept, holding", [((), "nothing"), ((MANIFEST,), "['state.json']"),
                                           ((ARRAYS,), "['arrays.npz']")])
def test_a_checkpoint_missing_a_file_names_what_it_holds(tmp_path, kept, holding):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    for name in {ARRAYS, MANIFEST} - set(kept):
        (tmp_path / "checkpoint" / name).unlink()
    assert refusal(tmp_path / "checkpoint") == (
        f"Expected state.json and arrays.npz in the checkpoint. Received: {tmp_path / 'checkpoint'}, "
        f"holding {holding}")


def test_a_directory_named_like_a_file_is_not_the_file(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    (tmp_path / "checkpoint" / ARRAYS).unlink()
    (tmp_path / "checkpoint" / ARRAYS).mkdir()
    assert "Expected state.json and arrays.npz in the checkpoint" in refusal(tmp_path / "checkpoint")


@pytest.mark.parametrize("content, error", [(b"{not json", "Expecting property name enclosed in double quotes"),
                                            (b"\xff\xfe{}", "can't decode byte 0xff")])
def test_a_corrupt_state_json_is_named(tmp_path, content, error):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    (tmp_path / "checkpoint" / MANIFEST).write_bytes(content)
    message = refusal(tmp_path / "checkpoint")
    manifest_path = tmp_path / "checkpoint" / MANIFEST
    assert message.startswith(f"Expected state.json to be JSON. Received: a corrupt {manifest_path} (")
    assert error in message


@pytest.mark.parametrize("manifest, received", [([1, 2], "None"), ({"arrays_sha256": "0" * 64}, "None"),
                                                ({"format": 1}, "1"), ({"format": "3"}, "'3'")])
def test_another_format_is_named(tmp_path, manifest, received):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    (tmp_path / "checkpoint" / MANIFEST).write_text(json.dumps(manifest))
    assert refusal(tmp_path / "checkpoint") == (
        f"Expected a checkpoint of format 2 or 3. Received: {tmp_path / 'checkpoint' / MANIFEST} "
        f"with format {received}")




@pytest.mark.parametrize("damage", ["changed", "truncated", "sha_removed"])
def test_arrays_that_do_not_match_the_checksum_are_refused(tmp_path, damage):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    arrays_path, manifest_path = tmp_path / "checkpoint" / ARRAYS, tmp_path / "checkpoint" / MANIFEST
    data = arrays_path.read_bytes()
    if damage == "changed":
        arrays_path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "truncated":
        arrays_path.write_bytes(data[: len(data) // 2])
    else:
        manifest = json.loads(manifest_path.read_text())
        del manifest["arrays_sha256"]
        manifest_path.write_text(json.dumps(manifest))
    assert refusal(tmp_path / "checkpoint") == (
        f"Expected arrays.npz to match the checksum in state.json. Received: a corrupt or partly written {arrays_path}")


def replace_arrays(checkpoint, data):
    """arrays.npz replaced by `data`, with a checksum that matches it: only reading it can tell."""
    (checkpoint / ARRAYS).write_bytes(data)
    manifest = json.loads((checkpoint / MANIFEST).read_text())
    (checkpoint / MANIFEST).write_text(json.dumps({**manifest, "arrays_sha256": hashlib.sha256(data).hexdigest()}))


def test_an_unreadable_arrays_file_with_a_matching_checksum_is_refused(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    replace_arrays(tmp_path / "checkpoint", b"PK\x03\x04 not a zip")
    message = refusal(tmp_path / "checkpoint")
    assert message.startswith(f"Expected a readable arrays.npz. Received: {tmp_path / 'checkpoint' / ARRAYS} (")


def test_pickled_arrays_are_refused_not_unpickled(tmp_path):
    # np.savez pickles an object array; loading one would run whatever the file says.
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, {"evil": np.array([{"a": 1}], dtype=object)})
    message = refusal(tmp_path / "checkpoint")
    assert message.startswith(f"Expected a readable arrays.npz. Received: {tmp_path / 'checkpoint' / ARRAYS} (")
    assert "allow_pickle=False" in message


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["mkdir", "fsync"])
def test_a_full_disk_leaves_the_previous_checkpoint_and_nothing_beside_it(tmp_path, monkeypatch, where):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    if where == "mkdir":  # before checkpoint.tmp/ exists: clearing it must not hide the disk's error
        monkeypatch.setattr(pathlib.Path, "mkdir", disk_full)
    else:  # after arrays.npz was written into checkpoint.tmp/
        monkeypatch.setattr(checkpoint_module, "_fsync", disk_full)
    with pytest.raises(OSError) as error:
        save_checkpoint(tmp_path / "checkpoint", {"episode": 4}, ARRAYS_IN)
    assert error.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert siblings(tmp_path / "checkpoint") == ["checkpoint"]
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 3


def refuse_renaming(monkeypatch, source_name):
    """Path.rename refused (EACCES) for the directory named `source_name`, and done for any other."""
    rename = pathlib.Path.rename

    def refusing(self, target):
        if self.name == source_name:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return rename(self, target)

    monkeypatch.setattr(pathlib.Path, "rename", refusing)


@pytest.mark.parametrize("refused", ["checkpoint", "checkpoint.tmp"])  # the rename to .old, the rename into place
def test_a_refused_rename_puts_the_previous_checkpoint_back(tmp_path, monkeypatch, refused):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    refuse_renaming(monkeypatch, refused)
    with pytest.raises(PermissionError) as error:
        save_checkpoint(tmp_path / "checkpoint", {"episode": 4}, ARRAYS_IN)
    assert error.value.errno == errno.EACCES
    monkeypatch.undo()
    assert siblings(tmp_path / "checkpoint") == ["checkpoint"]
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 3


def test_a_refused_first_rename_leaves_nothing(tmp_path, monkeypatch):
    # No previous checkpoint to put back: only the refusal comes out, not an error about a missing checkpoint.old.
    refuse_renaming(monkeypatch, "checkpoint.tmp")
    with pytest.raises(PermissionError) as error:
        save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    assert error.value.errno == errno.EACCES
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_a_cleanup_that_fails_too_does_not_hide_the_refusal(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "checkpoint", MANIFEST_IN, ARRAYS_IN)
    refuse_renaming(monkeypatch, "checkpoint.tmp")

    def cannot_delete(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "unlink", cannot_delete)  # clearing checkpoint.tmp/ fails
    with pytest.raises(PermissionError) as error:
        save_checkpoint(tmp_path / "checkpoint", {"episode": 4}, ARRAYS_IN)
    assert error.value.errno == errno.EACCES
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "checkpoint").manifest["episode"] == 3
