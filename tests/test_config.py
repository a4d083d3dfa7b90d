"""DDPGConfig: the seed's defaults, and a clear error for every value out of range."""

import dataclasses
import json
import math

import numpy as np
import pytest

from ddpg.config import MAX_SEED, DDPGConfig, Interval, LayerSizes, _plain, env_kwargs, non_empty_string, setting

SEED_DEFAULTS = {
    "env_id": "Pendulum-v1",
    "episodes": 100,
    "seed": 0,
    "gamma": 0.99,
    "tau": 0.005,
    "actor_lr": 0.001,
    "critic_lr": 0.002,
    "buffer_capacity": 50_000,
    "batch_size": 64,
    "ou_theta": 0.15,
    "ou_sigma": 0.2,
    "ou_dt": 0.01,
    "actor_hidden": (256, 256),
    "critic_state_hidden": (16, 32),
    "critic_action_hidden": (32,),
    "critic_hidden": (256, 256),
}


def test_defaults_are_the_keras_examples():
    config = DDPGConfig()
    for name, value in SEED_DEFAULTS.items():
        assert getattr(config, name) == value, name


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DDPGConfig().tau = 0.1


def test_every_field_is_documented():
    for field in dataclasses.fields(DDPGConfig):
        assert field.metadata.get("help"), field.name


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("tau", 1.5, "Expected 0 < tau <= 1. Received: tau=1.5"),
        ("tau", 0.0, "Expected 0 < tau <= 1. Received: tau=0.0"),
        ("gamma", 1.01, "Expected 0 <= gamma <= 1. Received: gamma=1.01"),
        ("gamma", -0.1, "Expected 0 <= gamma <= 1. Received: gamma=-0.1"),
        ("actor_lr", 0.0, "Expected actor_lr > 0. Received: actor_lr=0.0"),
        ("critic_lr", -1e-3, "Expected critic_lr > 0. Received: critic_lr=-0.001"),
        ("episodes", 0, "Expected episodes >= 1. Received: episodes=0"),
        ("episodes", 2.5, "Expected episodes to be an integer. Received: episodes=2.5"),
        ("seed", -1, "Expected 0 <= seed <= 4294967295. Received: seed=-1"),
        ("buffer_capacity", 0, "Expected buffer_capacity >= 1. Received: buffer_capacity=0"),
        ("batch_size", 0, "Expected batch_size >= 1. Received: batch_size=0"),
        ("ou_theta", -0.15, "Expected ou_theta >= 0. Received: ou_theta=-0.15"),
        ("ou_sigma", -0.2, "Expected ou_sigma >= 0. Received: ou_sigma=-0.2"),
        ("ou_dt", 0.0, "Expected ou_dt > 0. Received: ou_dt=0.0"),
        ("ou_dt", float("nan"), "Expected ou_dt > 0. Received: ou_dt=nan"),
        ("gamma", float("inf"), "Expected 0 <= gamma <= 1. Received: gamma=inf"),
        ("actor_hidden", (), "Expected actor_hidden to be one or more integers >= 1. Received: actor_hidden=()"),
        ("critic_hidden", (256, 0),
         "Expected critic_hidden to be one or more integers >= 1. Received: critic_hidden=(256, 0)"),
        ("env_id", "", "Expected env_id to be a non-empty string. Received: env_id=''"),
        ("batch_norm", 1, "Expected batch_norm to be true or false. Received: batch_norm=1"),
        ("normalize_observations", "false",
         "Expected normalize_observations to be true or false. Received: normalize_observations='false'"),
        # env_kwargs: what is not a JSON object is received as given (a list's text is not re-spaced, a number not
        # made text); a dict JSON cannot write is named as such.
        ("env_kwargs", "[1,2]", "Expected env_kwargs to be a JSON object. Received: env_kwargs='[1,2]'"),
        ("env_kwargs", 5, "Expected env_kwargs to be a JSON object. Received: env_kwargs=5"),
        ("env_kwargs", "{g: 1}", "Expected env_kwargs to be a JSON object. Received: env_kwargs='{g: 1}'"),
        ("env_kwargs", {"g": {1, 2}}, "Expected env_kwargs to be a JSON object. Received: env_kwargs='not JSON'"),
    ],
)
def test_out_of_range_names_field_value_and_range(field, value, message):
    with pytest.raises(ValueError) as error:
        DDPGConfig(**{field: value})
    assert str(error.value) == message


def test_theta_dt_must_keep_the_ou_chain_stable():
    # x' = (1 - theta*dt) x + ...: |1 - theta*dt| >= 1 explodes or oscillates.
    with pytest.raises(ValueError, match=r"Expected ou_theta \* ou_dt < 1\. Received: ou_theta=200.0, ou_dt=0.01"):
        DDPGConfig(ou_theta=200.0)


def test_batch_larger_than_buffer_is_refused():
    message = r"Expected batch_size <= buffer_capacity\. Received: batch_size=128, buffer_capacity=100"
    with pytest.raises(ValueError, match=message):
        DDPGConfig(batch_size=128, buffer_capacity=100)


def test_lists_become_tuples_so_the_config_stays_hashable():
    config = DDPGConfig(actor_hidden=[64, 64])
    assert config.actor_hidden == (64, 64)
    hash(config)


def test_bool_is_not_an_integer():
    with pytest.raises(ValueError, match="episodes"):
        DDPGConfig(episodes=True)


def test_update_every_is_a_positive_integer():
    assert DDPGConfig().update_every >= 1
    with pytest.raises(ValueError, match=r"Expected update_every >= 1\. Received: update_every=0"):
        DDPGConfig(update_every=0)


# --- the checks themselves, and every bound exactly at and one past it --------------------------------------------
# One past a real bound is the next float beyond it (math.nextafter), one past an integer bound is the next integer.


@pytest.mark.parametrize(
    "check, value, expected",
    [
        # Closed real ends: the ends themselves are in, the next floats beyond them are out.
        (Interval(0, 1), 0.0, None),
        (Interval(0, 1), 1.0, None),
        (Interval(0, 1), math.nextafter(0.0, -1.0), "0 <= x <= 1"),
        (Interval(0, 1), math.nextafter(1.0, 2.0), "0 <= x <= 1"),
        # Open ends: the ends are out, the next floats inside are in.
        (Interval(0, 1, low_open=True, high_open=True), 0.0, "0 < x < 1"),
        (Interval(0, 1, low_open=True, high_open=True), 1.0, "0 < x < 1"),
        (Interval(0, 1, low_open=True, high_open=True), math.nextafter(0.0, 1.0), None),
        (Interval(0, 1, low_open=True, high_open=True), math.nextafter(1.0, 0.0), None),
        (Interval(0, 1, high_open=True), 0.0, None),
        (Interval(0, 1, high_open=True), 1.0, "0 <= x < 1"),
        # No upper end: any finite value above low.
        (Interval(0), 0.0, None),
        (Interval(0), 1e300, None),
        (Interval(0), math.nextafter(0.0, -1.0), "x >= 0"),
        (Interval(0, low_open=True), 0.0, "x > 0"),
        (Interval(0, low_open=True), 5e-324, None),  # the smallest positive float
        # Reals are written with %g, integers exactly: 2**32 - 1 would print as 4.29497e+09.
        (Interval(0.25, 2.5), 3.0, "0.25 <= x <= 2.5"),
        (Interval(0.0, 1.0), 2.0, "0 <= x <= 1"),  # not "0.0 <= x <= 1.0"
        (Interval(1.0), 0.0, "x >= 1"),
        (Interval(0, 2**32 - 1, integer=True), 2**32, "0 <= x <= 4294967295"),
        (Interval(0, 2**32 - 1, integer=True), 2**32 - 1, None),
        (Interval(1, integer=True), 1, None),
        (Interval(1, integer=True), 0, "x >= 1"),
        (Interval(1, integer=True), np.int64(1), None),  # NumPy integers are integers
        # Not an integer where one is needed: floats, even whole ones, and bools.
        (Interval(1, integer=True), 3.0, "x to be an integer"),
        (Interval(1, integer=True), True, "x to be an integer"),
        # Not a finite real: refused with the range, whatever the bounds.
        (Interval(0), float("inf"), "x >= 0"),
        (Interval(0, 1), float("-inf"), "0 <= x <= 1"),
        (Interval(0, 1), float("nan"), "0 <= x <= 1"),
        (Interval(0, 1), "0.5", "0 <= x <= 1"),
        (Interval(0, 1), None, "0 <= x <= 1"),
        (Interval(0, 1), True, "0 <= x <= 1"),
        (Interval(0, 1), 1 + 0j, "0 <= x <= 1"),
    ],
)
def test_interval_check(check, value, expected):
    assert check("x", value) == expected


def test_setting_declares_default_check_and_help():
    field = setting(3, non_empty_string, "what it is")
    assert field.default == 3
    assert dict(field.metadata) == {"check": non_empty_string, "help": "what it is", "kind": int}


@pytest.mark.parametrize(
    "value, valid",
    [((1,), True), ((1, 1), True), ((np.int64(7), 300), True), ((0,), False), ((1, 0), False), ((-3,), False),
     ((), False), ((1.0,), False), ((True,), False), ("64", False), (64, False)],
)
def test_layer_sizes_are_one_or_more_integers_of_at_least_one(value, valid):
    assert LayerSizes()("layers", value) == (None if valid else "layers to be one or more integers >= 1")
    if value != ():
        # Where none may be, only the empty tuple changes its answer.
        assert LayerSizes(may_be_empty=True)("layers", value) == (
            None if valid else "layers to be zero or more integers >= 1")


def test_layer_sizes_that_may_be_empty():
    assert LayerSizes(may_be_empty=True)("layers", ()) is None


@pytest.mark.parametrize("value, valid", [("a", True), ("", False), (None, False), (b"Pendulum-v1", False)])
def test_non_empty_string(value, valid):
    assert non_empty_string("env_id", value) == (None if valid else "env_id to be a non-empty string")


# Each field's accepted bound: the config is made without error and keeps the value.
@pytest.mark.parametrize(
    "values",
    [{"episodes": 1}, {"seed": 0}, {"seed": MAX_SEED}, {"gamma": 0.0}, {"gamma": 1.0}, {"tau": 1.0},
     {"tau": 5e-324}, {"actor_lr": 5e-324}, {"critic_lr": 5e-324}, {"buffer_capacity": 1, "batch_size": 1},
     {"batch_size": 1}, {"ou_theta": 0.0}, {"ou_sigma": 0.0}, {"ou_dt": 5e-324}, {"actor_hidden": (1,)},
     {"critic_state_hidden": (1,)}, {"critic_action_hidden": (1,)}, {"critic_hidden": (1,)}, {"update_every": 1},
     {"env_id": "x"}, {"critic_state_hidden": (), "critic_action_hidden": ()}, {"total_steps": 1, "episodes": None},
     {"learning_starts": 1}, {"random_steps": 0}, {"noise": "gaussian"}, {"noise": "none"}, {"gaussian_sigma": 0.0},
     {"critic_weight_decay": 0.0}, {"eval_every": 0}, {"eval_episodes": 1}],
)
def test_every_bound_is_accepted_exactly_at_it(values):
    config = DDPGConfig(**values)
    assert {name: getattr(config, name) for name in values} == values


# And one past it: refused, with the field, the value and the range.
@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("seed", MAX_SEED + 1, "0 <= seed <= 4294967295"),
        ("gamma", math.nextafter(0.0, -1.0), "0 <= gamma <= 1"),
        ("gamma", math.nextafter(1.0, 2.0), "0 <= gamma <= 1"),
        ("tau", math.nextafter(1.0, 2.0), "0 < tau <= 1"),
        ("ou_theta", math.nextafter(0.0, -1.0), "ou_theta >= 0"),
        ("ou_sigma", math.nextafter(0.0, -1.0), "ou_sigma >= 0"),
        ("update_every", 2.0, "update_every to be an integer"),
        ("seed", True, "seed to be an integer"),
        ("actor_hidden", (0,), "actor_hidden to be one or more integers >= 1"),
        ("critic_state_hidden", (16, 0), "critic_state_hidden to be zero or more integers >= 1"),
        ("critic_action_hidden", (-1,), "critic_action_hidden to be zero or more integers >= 1"),
        ("critic_hidden", (), "critic_hidden to be one or more integers >= 1"),
        ("total_steps", 0, "total_steps >= 1"),
        ("learning_starts", 0, "learning_starts >= 1"),
        ("random_steps", -1, "random_steps >= 0"),
        ("noise", "OU", "noise to be one of ou, gaussian, none"),
        ("gaussian_sigma", math.nextafter(0.0, -1.0), "gaussian_sigma >= 0"),
        ("critic_weight_decay", math.nextafter(0.0, -1.0), "critic_weight_decay >= 0"),
        ("eval_every", -1, "eval_every >= 0"),
        ("eval_episodes", 0, "eval_episodes >= 1"),
        ("env_id", None, "env_id to be a non-empty string"),
    ],
)
def test_every_bound_is_refused_one_past_it(field, value, expected):
    with pytest.raises(ValueError) as error:
        DDPGConfig(**{field: value})
    assert str(error.value) == f"Expected {expected}. Received: {field}={value!r}"


def test_theta_dt_exactly_one_is_refused_and_just_below_is_accepted():
    # 100 * 0.01 == 1.0 exactly in binary floating point: theta dt = 1 makes x' = 0 * x + noise, the edge
    # where the chain stops reverting and starts to oscillate.
    with pytest.raises(ValueError) as error:
        DDPGConfig(ou_theta=100.0, ou_dt=0.01)
    assert str(error.value) == "Expected ou_theta * ou_dt < 1. Received: ou_theta=100.0, ou_dt=0.01"
    below = math.nextafter(100.0, 0.0)
    assert below * 0.01 < 1
    assert DDPGConfig(ou_theta=below, ou_dt=0.01).ou_theta == below


def test_batch_equal_to_the_buffer_is_accepted_and_one_more_is_refused():
    assert DDPGConfig(batch_size=100, buffer_capacity=100).batch_size == 100
    with pytest.raises(ValueError) as error:
        DDPGConfig(batch_size=101, buffer_capacity=100)
    assert str(error.value) == "Expected batch_size <= buffer_capacity. Received: batch_size=101, buffer_capacity=100"


def test_every_list_field_becomes_a_tuple_and_is_then_checked():
    config = DDPGConfig(actor_hidden=[8], critic_state_hidden=[4, 2], critic_action_hidden=[3], critic_hidden=[5])
    assert (config.actor_hidden, config.critic_state_hidden, config.critic_action_hidden, config.critic_hidden) == (
        (8,), (4, 2), (3,), (5,))
    # The message shows the tuple the value became.
    with pytest.raises(ValueError, match=r"^Expected actor_hidden to be one or more integers >= 1\. "
                                         r"Received: actor_hidden=\(0,\)$"):
        DDPGConfig(actor_hidden=[0])


# --- NumPy scalars and lists become Python's own numbers and tuples -------------------------------------------------


@pytest.mark.parametrize("field, value, plain", [
    ("episodes", np.int64(5), 5), ("seed", np.uint32(7), 7), ("gamma", np.float32(0.5), 0.5),
    ("tau", np.float64(0.25), 0.25), ("actor_hidden", [np.int64(8), 4], (8, 4)),
    ("critic_hidden", (np.int32(3),), (3,)),
])
def test_numpy_values_become_python_numbers(field, value, plain):
    config = DDPGConfig(**{field: value})
    got = getattr(config, field)
    # The very types, not only equal values: json.dumps refuses np.int64, and a message would show np.float64(0.25).
    assert got == plain and type(got) is type(plain)
    assert all(type(item) is int for item in got) if isinstance(got, tuple) else True
    assert json.loads(json.dumps(dataclasses.asdict(config)))[field] == (list(plain) if isinstance(plain, tuple)
                                                                         else plain)
    hash(config)


def test_a_float32_becomes_the_float_it_holds():
    # float32(0.1) is 0.100000001490116..., not 0.1: the conversion keeps the value, it does not re-round it.
    assert DDPGConfig(gamma=np.float32(0.1)).gamma == 0.10000000149011612


def test_nested_lists_become_nested_tuples_and_other_values_are_left_to_the_checks():
    assert _plain([1, [2, np.int64(3)], (np.float32(0.5),)]) == (1, (2, 3), (0.5,))
    assert _plain((1, [2])) == (1, (2,))
    for value in ("a", None, True, np.bool_(True), 1 + 2j):
        assert _plain(value) is value
    with pytest.raises(ValueError, match=r"^Expected episodes to be an integer\. Received: episodes=True$"):
        DDPGConfig(episodes=True)  # a bool is not made an int


def test_one_budget_and_learning_starts_resolve_in_the_config():
    assert (DDPGConfig().episodes, DDPGConfig().total_steps) == (100, None)
    assert DDPGConfig(total_steps=500).episodes is None
    with pytest.raises(ValueError, match=r"^Expected one budget: episodes or total_steps, not both\. "
                                         r"Received: episodes=3, total_steps=500$"):
        DDPGConfig(episodes=3, total_steps=500)
    assert DDPGConfig(batch_size=32).learning_starts == 32 and DDPGConfig(learning_starts=5).learning_starts == 5


def test_a_config_json_gives_its_fields_or_says_what_it_is_instead():
    from ddpg.config import config_from_json

    assert config_from_json('{"gamma": 0.5, "actor_hidden": [8]}') == {"gamma": 0.5, "actor_hidden": [8]}
    assert config_from_json("{}") == {}
    for text, reason in [("[1, 2]", "a JSON list, not an object"), ('"x"', "a JSON str, not an object"),
                         ('{"colour": 1, "gamma": 0.5, "aroma": 2}', "fields DDPGConfig does not have: aroma, colour")]:
        with pytest.raises(ValueError) as error:
            config_from_json(text)
        assert str(error.value) == reason
    with pytest.raises(ValueError, match="Expecting"):
        config_from_json("{not json")


def test_env_kwargs_are_kept_as_canonical_json_text_and_read_back_as_a_dict():
    # Sorted keys at every depth, json.dumps's spacing: two spellings of the same arguments are one config.
    config = DDPGConfig(env_kwargs='{"max_episode_steps":5, "g": {"y": 2, "x": 1.5}}')
    assert config.env_kwargs == '{"g": {"x": 1.5, "y": 2}, "max_episode_steps": 5}'
    assert DDPGConfig(env_kwargs={"max_episode_steps": 5, "g": {"y": 2, "x": 1.5}}) == config  # a dict, written
    assert env_kwargs(config) == {"g": {"x": 1.5, "y": 2}, "max_episode_steps": 5}
    assert (DDPGConfig().env_kwargs, env_kwargs(DDPGConfig())) == ("{}", {})
    hash(config)
