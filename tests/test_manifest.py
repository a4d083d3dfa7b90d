"""The checkpoint manifest's schema: exactly what the trainer writes passes, anything else is named and refused.

NumPy only: the manifest here is built the way Trainer.get_state builds it, from the pure parts.
"""

import dataclasses
import json

import numpy as np
import pytest

from ddpg.checkpoint import CheckpointError
from ddpg.config import DDPGConfig
from ddpg.manifest import BIT_GENERATORS, SCHEMA, check_manifest, generator_from_state
from ddpg.noise import GaussianNoise, OrnsteinUhlenbeckNoise

CONFIG = DDPGConfig(episodes=7, seed=3, actor_hidden=(8, 4))
PREFIX = "Expected a checkpoint state.json as ddpg wrote it: "


def rng_state(seed=0):
    return np.random.default_rng(seed).bit_generator.state


def written(**changes):
    """A manifest as the trainer writes it (through JSON, as it is read back), with `changes`."""
    noise = OrnsteinUhlenbeckNoise(np.zeros(2), 0.2, rng=np.random.default_rng(1))
    noise()
    manifest = {
        "format": 3, "config": dataclasses.asdict(CONFIG), "episode": 2, "steps": 400, "returns": [-1200.5, -900],
        "losses": {"critic_loss": 0.5, "actor_loss": -3}, "noise": noise.get_state(),
        "buffer": {"size": 400, "next": 400}, "rng": {"buffer": rng_state(2), "env": rng_state(3),
                                                       "warmup": rng_state(4)},
        "best": None, "replay": None, "normalizer": None, "wall_seconds": 12.5,
        "arrays_sha256": "0123456789abcdef" * 4,
    }
    return json.loads(json.dumps({**manifest, **changes}))


def refusal(manifest):
    with pytest.raises(CheckpointError) as error:
        check_manifest(manifest)
    message = str(error.value)
    assert message.startswith(PREFIX)
    return message[len(PREFIX):]


def test_the_trainers_manifest_gives_back_its_config():
    assert check_manifest(written()) == CONFIG


def test_the_start_of_a_run_and_a_gaussian_noise_pass():
    # Every count at its lower bound 0; a noise without x (Gaussian noise keeps no x_t); no time spent yet.
    start = written(episode=0, steps=0, returns=[], buffer={"size": 0, "next": 0}, wall_seconds=0,
                    noise=GaussianNoise(np.zeros(2), 0.2, rng=np.random.default_rng(0)).get_state())
    assert check_manifest(start) == CONFIG


def test_a_full_buffer_at_as_many_steps_as_transitions_passes():
    assert check_manifest(written(episode=400, steps=400, returns=[0.0] * 400)) == CONFIG


@pytest.mark.parametrize("manifest, missing, extra", [
    ({key: value for key, value in written().items() if key != "episode"}, ["episode"], []),
    ({**written(), "seed": 1}, [], ["seed"]),
    ({key: value for key, value in written().items() if key not in ("format", "rng")} | {"x": 1, "a": 2},
     ["format", "rng"], ["a", "x"]),
    ([], sorted(SCHEMA), []),
    ("state", sorted(SCHEMA), []),
])
def test_missing_and_extra_keys_are_named(manifest, missing, extra):
    assert refusal(manifest) == (
        "the keys format, config, episode, steps, returns, losses, noise, buffer, rng, best, replay, "
        "normalizer, wall_seconds, arrays_sha256. "
        f"Received: missing {missing}, extra {extra}")


GOOD_RNG = rng_state()
BAD_VALUES = [
    ("format", -1, "an integer"), ("format", True, "an integer"), ("format", 1.0, "an integer"),
    ("config", [], "an object of every DDPGConfig field"),
    ("config", {"tau": 0.5}, "an object of every DDPGConfig field"),
    ("config", {**dataclasses.asdict(CONFIG), "learning_rate": 0.1}, "an object of every DDPGConfig field"),
    ("episode", -1, "an integer >= 0"), ("episode", 2.0, "an integer >= 0"), ("episode", False, "an integer >= 0"),
    ("steps", -1, "an integer >= 0"), ("steps", "400", "an integer >= 0"),
    ("returns", "-1, -2", "a list of numbers"), ("returns", [1.0, "2"], "a list of numbers"),
    ("returns", [1.0, True], "a list of numbers"), ("returns", {"0": 1.0}, "a list of numbers"),
    ("losses", {"critic_loss": 1.0}, "{critic_loss, actor_loss} numbers"),
    ("losses", {"critic_loss": 1.0, "actor_loss": 2.0, "loss": 3.0}, "{critic_loss, actor_loss} numbers"),
    ("losses", {"critic_loss": 1.0, "actor_loss": "2"}, "{critic_loss, actor_loss} numbers"),
    ("losses", {"critic_loss": None, "actor_loss": 2.0}, "{critic_loss, actor_loss} numbers"),
    ("losses", [1.0, 2.0], "{critic_loss, actor_loss} numbers"),
    ("noise", {"x": [0.0]}, "the noise's {}, {rng} or {rng, x}"),
    ("noise", {"rng": GOOD_RNG, "y": [0.0]}, "the noise's {}, {rng} or {rng, x}"),
    ("noise", {"rng": GOOD_RNG, "x": [0.0, "0"]}, "the noise's {}, {rng} or {rng, x}"),
    ("noise", {"rng": GOOD_RNG, "x": 0.0}, "the noise's {}, {rng} or {rng, x}"),
    ("noise", {"rng": {**GOOD_RNG, "bit_generator": "Foo"}}, "the noise's {}, {rng} or {rng, x}"),
    ("noise", [GOOD_RNG], "the noise's {}, {rng} or {rng, x}"),
    ("buffer", {"size": 1}, "{size, next} integers >= 0"),
    ("buffer", {"size": 1, "next": 1, "rng": 0}, "{size, next} integers >= 0"),
    ("buffer", {"size": 1, "next": -1}, "{size, next} integers >= 0"),
    ("buffer", {"size": True, "next": 1}, "{size, next} integers >= 0"),
    ("buffer", [1, 1], "{size, next} integers >= 0"),
    ("rng", {"buffer": GOOD_RNG}, "{buffer, env, warmup} generator states"),
    ("rng", {"buffer": GOOD_RNG, "env": GOOD_RNG, "warmup": GOOD_RNG, "noise": GOOD_RNG},
     "{buffer, env, warmup} generator states"),
    ("rng", {"buffer": GOOD_RNG, "env": {**GOOD_RNG, "has_uint32": -1}, "warmup": GOOD_RNG},
     "{buffer, env, warmup} generator states"),
    ("rng", [GOOD_RNG, GOOD_RNG], "{buffer, env, warmup} generator states"),
    *[("normalizer", value, "null or the observation statistics {mean, var, count} (finite, var >= 0, count > 0)")
      for value in ({"mean": [0.0], "var": [1.0]}, {"mean": [0.0, 1.0], "var": [1.0], "count": 1.0},
                    {"mean": [0.0], "var": [-1.0], "count": 1.0}, {"mean": [0.0], "var": [1.0], "count": 0},
                    {"mean": [], "var": [], "count": 1.0}, {"mean": ["0"], "var": [1.0], "count": 1.0},
                    {"mean": [0.0], "var": [1.0], "count": 1.0, "clip": 10}, [[0.0], [1.0], 1.0],
                    {"mean": 0.5, "var": [1.0], "count": 1.0}, {"var": [1.0], "count": 1.0})],
    ("best", {"step": 10, "mean_return": -3.0, "normalizer": {"mean": [0.0], "var": [1.0], "count": -1.0}},
     "null or the best evaluation's {step, mean_return} (and normalizer, its observation statistics)"),
    ("wall_seconds", -0.001, "a number >= 0"), ("wall_seconds", True, "a number >= 0"),
    ("wall_seconds", "1", "a number >= 0"),
    ("arrays_sha256", "a" * 63, "a SHA-256 in hex"), ("arrays_sha256", "a" * 65, "a SHA-256 in hex"),
    ("arrays_sha256", ["a" * 64], "a SHA-256 in hex"),
]


@pytest.mark.parametrize("key, value, expected", BAD_VALUES)
def test_a_bad_value_is_named_with_what_was_expected(key, value, expected):
    assert refusal(written(**{key: value})) == f"{key} to be {expected}. Received: {key}={str(value)[:200]}"


def test_a_long_value_is_cut_to_200_characters():
    returns = ["x"] * 100  # str(...) is "['x', 'x', ...", 5 characters per item
    expected = f"returns to be a list of numbers. Received: returns={str(returns)[:200]}"
    assert refusal(written(returns=returns)) == expected
    assert len(str(returns)) > 200


@pytest.mark.parametrize("change", [
    {"bit_generator": "MT19937"},  # a name outside the list
    {"state": [1, 2]}, {"state": 5},
    {"has_uint32": -1}, {"has_uint32": True}, {"has_uint32": 0.0},
    {"uinteger": -1}, {"uinteger": False}, {"uinteger": "0"},
])
def test_a_generator_state_that_numpy_did_not_write_is_refused(change):
    state = {**GOOD_RNG, **change}
    assert refusal(written(rng={"buffer": GOOD_RNG, "env": state, "warmup": GOOD_RNG})).startswith(
        "rng to be {buffer, env, warmup} generator")
    with pytest.raises(ValueError) as error:
        generator_from_state(state)
    assert str(error.value) == f"Expected a generator state of one of PCG64, PCG64DXSM, SFC64. Received: {state!r:.200}"


@pytest.mark.parametrize("state", [{key: value for key, value in GOOD_RNG.items() if key != "uinteger"},
                                   {**GOOD_RNG, "buffer": 0}, [GOOD_RNG], None])
def test_a_generator_state_with_other_keys_is_refused(state):
    with pytest.raises(ValueError, match=r"^Expected a generator state of one of PCG64, PCG64DXSM, SFC64\. Received: "):
        generator_from_state(state)


def test_a_long_generator_state_is_cut_to_200_characters():
    state = {**GOOD_RNG, "bit_generator": "X" * 300}
    with pytest.raises(ValueError) as error:
        generator_from_state(state)
    assert str(error.value).endswith(f"Received: {repr(state)[:200]}")


@pytest.mark.parametrize("name", BIT_GENERATORS)
def test_a_restored_generator_continues_the_same_stream(name):
    original = np.random.Generator(getattr(np.random, name)(11))
    original.standard_normal(3)
    # SFC64 keeps its state in an array: JSON holds it as a list, as it holds any other.
    state = json.loads(json.dumps(original.bit_generator.state, default=np.ndarray.tolist))
    restored = generator_from_state(state)
    assert type(restored.bit_generator).__name__ == name
    np.testing.assert_array_equal(restored.standard_normal(5), original.standard_normal(5))
    np.testing.assert_array_equal(restored.integers(0, 100, 5), original.integers(0, 100, 5))


def test_one_return_per_episode():
    assert refusal(written(returns=[1.0, 2.0, 3.0])) == "one return per episode done. Received: 3 returns for episode=2"
    assert refusal(written(returns=[1.0])) == "one return per episode done. Received: 1 returns for episode=2"


@pytest.mark.parametrize("episode, steps, size", [(401, 400, 400), (2, 400, 401), (2, 0, 1)])
def test_more_episodes_or_transitions_than_steps_are_refused(episode, steps, size):
    manifest = written(episode=episode, steps=steps, returns=[0.0] * episode, buffer={"size": size, "next": 0})
    assert refusal(manifest) == ("episode <= steps and a buffer of at most one transition per step. "
                                 f"Received: episode={episode}, steps={steps}, size={size}")


@pytest.mark.parametrize("changes, received", [
    ({"tau": 2}, "Expected 0 < tau <= 1. Received: tau=2"),
    ({"batch_size": 100, "buffer_capacity": 50}, "Expected batch_size <= buffer_capacity. "
                                                 "Received: batch_size=100, buffer_capacity=50"),
])
def test_an_invalid_config_is_refused_with_its_own_message(changes, received):
    config = {**dataclasses.asdict(CONFIG), **changes}
    assert refusal(written(config=config)) == f"a valid config. Received: {received}"


def test_a_replay_that_is_not_one_transition_per_step_into_the_configs_ring_is_refused():
    segment = {"file": "000000000000-000000000400.npz", "start": 0, "stop": 400, "sha256": "ab" * 32}
    replay = {"capacity": CONFIG.buffer_capacity, "end": 400, "segments": [segment]}
    assert check_manifest(written(replay=replay)) == CONFIG
    for changed in ({**replay, "end": 399}, {**replay, "capacity": 400}):
        assert refusal(written(replay=changed)).startswith("a replay of one transition per step")
    assert refusal(written(replay={**replay, "segments": [{**segment, "file": "../x.npz"}]})).startswith(
        "replay to be null or the replay's {capacity, end, segments}")


def test_a_format_2_manifest_has_no_replay():
    old = {key: value for key, value in written(format=2).items() if key != "replay"}
    assert check_manifest(old) == CONFIG


def test_an_empty_segment_is_not_one_ddpg_writes():
    segment = {"file": "000000000400-000000000400.npz", "start": 400, "stop": 400, "sha256": "ab" * 32}
    replay = {"capacity": CONFIG.buffer_capacity, "end": 400, "segments": [segment]}
    assert refusal(written(replay=replay)).startswith("replay to be null or the replay's {capacity, end, segments}")


def test_a_format_2_manifest_is_checked_whole_too():
    with_replay = {**written(format=2), "replay": "not a replay"}
    assert refusal(with_replay).startswith("replay to be null or the replay's")


def test_an_inconsistent_replay_is_named_with_its_numbers():
    segment = {"file": "000000000000-000000000400.npz", "start": 0, "stop": 400, "sha256": "ab" * 32}
    replay = {"capacity": CONFIG.buffer_capacity, "end": 399, "segments": [segment]}
    assert refusal(written(replay=replay)) == (
        "a replay of one transition per step into the config's ring. Received: replay end=399, "
        f"capacity={CONFIG.buffer_capacity}, buffer={{'size': 400, 'next': 400}}, steps=400, "
        f"buffer_capacity={CONFIG.buffer_capacity}")


# --- normalize_observations: the observation statistics -----------------------------------------------------

NORMALIZED = dataclasses.replace(CONFIG, normalize_observations=True)
STATISTICS = {"mean": [5000.25, -1.5], "var": [1e6, 0.0], "count": 401.0001}


def test_a_normalised_runs_statistics_pass_with_its_best_evaluations():
    best = {"step": 200, "mean_return": -3.5, "normalizer": {**STATISTICS, "count": 201.0001}}
    assert check_manifest(written(config=dataclasses.asdict(NORMALIZED), normalizer=STATISTICS)) == NORMALIZED
    assert check_manifest(written(config=dataclasses.asdict(NORMALIZED), normalizer=STATISTICS, best=best)) == (
        NORMALIZED)


def test_a_manifest_written_before_normalize_observations_existed_passes():
    old = {key: value for key, value in written().items() if key != "normalizer"}
    del old["config"]["normalize_observations"]
    assert check_manifest(old) == CONFIG


@pytest.mark.parametrize("config, normalizer, best, received", [
    (NORMALIZED, None, None, "normalize_observations=True, normalizer none, best's none"),
    (CONFIG, STATISTICS, None, "normalize_observations=False, normalizer given, best's none"),
    (NORMALIZED, STATISTICS, {"step": 200, "mean_return": -3.5},
     "normalize_observations=True, normalizer given, best's none"),
    (CONFIG, None, {"step": 200, "mean_return": -3.5, "normalizer": STATISTICS},
     "normalize_observations=False, normalizer none, best's given"),
], ids=["missing", "unasked", "best-without", "best-unasked"])
def test_statistics_exactly_when_the_config_normalises(config, normalizer, best, received):
    manifest = written(config=dataclasses.asdict(config), normalizer=normalizer, best=best)
    assert refusal(manifest) == (
        "observation statistics (normalizer) in the state and its best evaluation exactly when the config has "
        f"normalize_observations. Received: {received}")
