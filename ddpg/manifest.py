"""The schema of a training checkpoint's state.json, checked whole before anything is restored from it.

A checksum proves that arrays.npz is the one state.json was written with; it proves nothing about
state.json itself. So every key, type and bound that the trainer writes is checked here, and a
resume refuses a manifest that is not exactly that, before it changes a byte of the run. NumPy
and the standard library only.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import numpy as np

from ddpg.checkpoint import CheckpointError, segment_name
from ddpg.config import DDPGConfig
from ddpg.normalization import RunningMeanStd

CONFIG_FIELDS = {field.name for field in dataclasses.fields(DDPGConfig)}  # all: none filled in with a default
# but those added since checkpoints were first written, whose defaults are what those runs did.
LATER_FIELDS = {"policy_delay", "update_at_episode_end", "batch_norm", "initializer", "final_layer_init",
                "env_kwargs", "normalize_observations"}
# The numpy.random generators whose state is {bit_generator, state, has_uint32, uinteger} (MT19937's and Philox's
# have other keys); a manifest may name only these (never a name to look up at large).
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "SFC64")


def _count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _rng(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"bit_generator", "state", "has_uint32", "uinteger"}
            and value["bit_generator"] in BIT_GENERATORS and isinstance(value["state"], dict)
            and _count(value["has_uint32"]) and _count(value["uinteger"]))


def _reals(value: Any) -> bool:
    return isinstance(value, list) and all(_real(v) for v in value)


def _segment(value: Any) -> bool:
    return (isinstance(value, dict) and set(value) == {"file", "start", "stop", "sha256"} and _count(value["start"])
            and _count(value["stop"]) and value["start"] < value["stop"]
            and value["file"] == segment_name(value["start"], value["stop"])  # a name, never a path
            and isinstance(value["sha256"], str) and len(value["sha256"]) == 64)


def _statistics(value: Any) -> bool:
    """Observation statistics as RunningMeanStd.get_state gives them: {mean, var, count}, finite, var >= 0,
    count > 0, of one length."""
    if not isinstance(value, dict) or not isinstance(value.get("mean"), list) or not value["mean"]:
        return False
    try:
        RunningMeanStd(len(value["mean"])).set_state(value)
    except ValueError:
        return False
    return True


def _best(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and set(value) - {"normalizer"} == {"step", "mean_return"}
                             and _count(value["step"]) and _real(value["mean_return"])
                             and ("normalizer" not in value or _statistics(value["normalizer"])))


# key -> (what it must be, in words; the check)
SCHEMA = {
    "format": ("an integer", _count),
    "config": ("an object of every DDPGConfig field", lambda v: isinstance(v, dict)
               and CONFIG_FIELDS - LATER_FIELDS <= set(v) <= CONFIG_FIELDS),
    "episode": ("an integer >= 0", _count),
    "steps": ("an integer >= 0", _count),
    "returns": ("a list of numbers", _reals),
    "losses": ("{critic_loss, actor_loss} numbers", lambda v: isinstance(v, dict)
               and set(v) == {"critic_loss", "actor_loss"} and all(map(_real, v.values()))),
    "noise": ("the noise's {}, {rng} or {rng, x}", lambda v: isinstance(v, dict)
              and (v == {} or set(v) in ({"rng"}, {"rng", "x"}) and _rng(v["rng"]) and _reals(v.get("x", [])))),
    "buffer": ("{size, next} integers >= 0",
               lambda v: isinstance(v, dict) and set(v) == {"size", "next"} and all(map(_count, v.values()))),
    "rng": ("{buffer, env, warmup} generator states",
            lambda v: isinstance(v, dict) and set(v) == {"buffer", "env", "warmup"} and all(map(_rng, v.values()))),
    "best": ("null or the best evaluation's {step, mean_return} (and normalizer, its observation statistics)",
             _best),
    "replay": ("null or the replay's {capacity, end, segments}", lambda v: v is None or (
        isinstance(v, dict) and set(v) == {"capacity", "end", "segments"} and _count(v["capacity"])
        and v["capacity"] >= 1 and _count(v["end"]) and isinstance(v["segments"], list)
        and all(_segment(segment) for segment in v["segments"]))),
    "normalizer": ("null or the observation statistics {mean, var, count} (finite, var >= 0, count > 0)",
                   lambda v: v is None or _statistics(v)),
    "wall_seconds": ("a number >= 0", lambda v: _real(v) and v >= 0),
    "arrays_sha256": ("a SHA-256 in hex", lambda v: isinstance(v, str) and len(v) == 64),
}


def check_manifest(manifest: Any) -> DDPGConfig:
    """The run's config, if the manifest is exactly what the trainer writes; else CheckpointError naming
    the first thing that is not."""
    def refuse(expected: str, received: str) -> CheckpointError:
        return CheckpointError(f"Expected a checkpoint state.json as ddpg wrote it: {expected}. Received: {received}")

    if isinstance(manifest, dict) and manifest.get("format") == 2 and "replay" not in manifest:
        manifest = {**manifest, "replay": None}  # format 2 held the ring in arrays.npz
    if isinstance(manifest, dict) and "normalizer" not in manifest:
        manifest = {**manifest, "normalizer": None}  # written before normalize_observations existed
    if not isinstance(manifest, dict) or set(manifest) != set(SCHEMA):
        keys = set(manifest) if isinstance(manifest, dict) else set()
        raise refuse(f"the keys {', '.join(SCHEMA)}",
                     f"missing {sorted(set(SCHEMA) - keys)}, extra {sorted(keys - set(SCHEMA))}")
    for key, (expected, valid) in SCHEMA.items():
        if not valid(manifest[key]):
            raise refuse(f"{key} to be {expected}", f"{key}={str(manifest[key])[:200]}")
    if len(manifest["returns"]) != manifest["episode"]:
        raise refuse("one return per episode done",
                     f"{len(manifest['returns'])} returns for episode={manifest['episode']}")
    if not manifest["episode"] <= manifest["steps"] or manifest["buffer"]["size"] > manifest["steps"]:
        raise refuse("episode <= steps and a buffer of at most one transition per step",
                     f"episode={manifest['episode']}, steps={manifest['steps']}, size={manifest['buffer']['size']}")
    try:
        config = DDPGConfig(**manifest["config"])
    except (TypeError, ValueError) as error:
        raise refuse("a valid config", str(error)) from None
    normalized = manifest["normalizer"] is not None, (manifest["best"] or {}).get("normalizer") is not None
    if normalized[0] != config.normalize_observations or (manifest["best"] is not None
                                                          and normalized[1] != config.normalize_observations):
        raise refuse("observation statistics (normalizer) in the state and its best evaluation exactly when the "
                     "config has normalize_observations",
                     f"normalize_observations={config.normalize_observations}, normalizer "
                     f"{'given' if normalized[0] else 'none'}, best's {'given' if normalized[1] else 'none'}")
    replay, buffer = manifest["replay"], manifest["buffer"]
    if replay is not None:
        end, capacity = replay["end"], replay["capacity"]
        if (end, capacity, buffer["size"], buffer["next"]) != (
                manifest["steps"], config.buffer_capacity, min(end, capacity), end % capacity):
            raise refuse("a replay of one transition per step into the config's ring",
                         f"replay end={end}, capacity={capacity}, buffer={buffer}, steps={manifest['steps']}, "
                         f"buffer_capacity={config.buffer_capacity}")
    return config


def generator_from_state(state: dict) -> np.random.Generator:
    """A Generator continuing from a saved `bit_generator.state`, of one of numpy's own generators."""
    if not _rng(state):
        raise ValueError(f"Expected a generator state of one of {', '.join(BIT_GENERATORS)}. Received: {state!r:.200}")
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator
