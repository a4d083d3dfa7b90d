"""`ddpg sweep --grid`: parsing each axis like its flag, the points in order, and the names of their runs."""

import pytest

from ddpg.errors import UserInputError
from ddpg.grid import expand, parse_grid, point_configs, point_name


def test_each_axis_is_parsed_as_its_field_is_on_the_command_line():
    axes = parse_grid(["actor_lr=1e-3,3e-4", "batch-size=32,64", "actor_hidden=400-300,64",
                       "critic_state_hidden=none,16", "total_steps=none,5000", "noise=ou,gaussian"])
    assert axes == [("actor_lr", [0.001, 0.0003]), ("batch_size", [32, 64]),
                    ("actor_hidden", [(400, 300), (64,)]), ("critic_state_hidden", [(), (16,)]),
                    ("total_steps", [None, 5000]), ("noise", ["ou", "gaussian"])]


def test_the_points_are_the_product_of_the_axes_first_axis_slowest():
    points = expand([("tau", [0.005, 0.001]), ("actor_lr", [0.001, 0.0003])])
    assert points == [{"tau": 0.005, "actor_lr": 0.001}, {"tau": 0.005, "actor_lr": 0.0003},
                      {"tau": 0.001, "actor_lr": 0.001}, {"tau": 0.001, "actor_lr": 0.0003}]
    assert expand([]) == [{}]


def test_a_point_names_its_values_in_the_order_of_the_axes():
    assert point_name({}) == ""
    assert point_name({"actor_lr": 0.0003, "tau": 0.005}) == "actor_lr=0.0003,tau=0.005"
    assert point_name({"actor_hidden": (400, 300), "critic_state_hidden": ()}) == \
        "actor_hidden=400-300,critic_state_hidden=none"
    assert point_name({"preset": "ourddpg2018", "env_id": "Hopper-v5"}) == "preset=ourddpg2018,env_id=Hopper-v5"


def test_the_same_value_typed_two_ways_names_the_same_run():
    # A sweep run again with 0.001 for 1e-3 must find its runs, not start new ones.
    assert point_name(expand(parse_grid(["actor_lr=1e-3"]))[0]) == point_name(expand(parse_grid(["actor_lr=0.001"]))[0])


@pytest.mark.parametrize(("specs", "fragment"), [
    (["actor_lr"], "Expected --grid FIELD=V1,V2"),
    (["actor_lr="], "Expected --grid FIELD=V1,V2"),
    (["learning_rate=0.1"], "Expected a DDPGConfig field, preset or env_id. Received: --grid learning_rate"),
    (["seed=1,2"], "--seeds"),
    (["actor_lr=fast"], "Expected float values for actor_lr. Received: --grid actor_lr=fast"),
    (["batch_size=1.5"], "Expected int values for batch_size"),
    (["actor_hidden=400-x"], "Expected layer sizes like 400-300"),
    (["tau=0.1,0.1"], "Expected distinct values for tau. Received: --grid tau=0.1,0.1"),
    (["tau=0.1", "tau=0.2"], "Expected each field in one --grid. Received: tau twice"),
    (["preset=nope"], "Expected a preset among"),
])
def test_a_bad_grid_is_one_line_naming_it(specs, fragment):
    with pytest.raises(UserInputError) as error:
        parse_grid(specs)
    assert fragment in str(error.value)
    assert "\n" not in str(error.value)


def test_each_point_and_seed_gets_a_validated_config():
    points = expand(parse_grid(["tau=0.5,0.25"]))
    configs = point_configs(points, [0, 1], lambda preset: {"episodes": 3})
    assert [(point_name(point), config.seed, config.tau) for point, config in configs] == [
        ("tau=0.5", 0, 0.5), ("tau=0.5", 1, 0.5), ("tau=0.25", 0, 0.25), ("tau=0.25", 1, 0.25)]
    assert all(config.episodes == 3 for _, config in configs)


def test_a_budget_in_the_grid_replaces_the_budget_below_it():
    configs = point_configs(expand(parse_grid(["total_steps=500"])), [0], lambda preset: {"episodes": 3})
    assert (configs[0][1].total_steps, configs[0][1].episodes) == (500, None)


def test_a_preset_in_the_grid_is_the_base_its_point_starts_from():
    seen = []

    def values_for(preset):
        seen.append(preset)
        return {"episodes": 2, "tau": 0.001 if preset == "lillicrap2016" else 0.005}

    configs = point_configs(expand(parse_grid(["preset=keras-example,lillicrap2016"])), [0], values_for)
    assert seen == ["keras-example", "lillicrap2016"]
    assert [config.tau for _, config in configs] == [0.005, 0.001]


def test_a_point_whose_config_is_invalid_is_one_line_naming_the_point():
    with pytest.raises(UserInputError) as error:
        point_configs(expand(parse_grid(["batch_size=64,100000"])), [0], lambda preset: {"buffer_capacity": 1000})
    assert str(error.value).startswith("Expected batch_size <= buffer_capacity")
    assert str(error.value).endswith("(grid point batch_size=100000)")  # the config's own message, then the point


def test_none_is_a_value_only_where_the_field_may_be_none_or_empty():
    assert parse_grid(["critic_action_hidden=none"]) == [("critic_action_hidden", [()])]
    with pytest.raises(UserInputError, match="Expected layer sizes like 400-300 for actor_hidden"):
        parse_grid(["actor_hidden=none"])  # an actor needs a hidden layer
    with pytest.raises(UserInputError, match="Expected float values for gamma. Received: --grid gamma=none"):
        parse_grid(["gamma=none"])


def test_a_switch_is_true_or_false_in_any_case_and_nothing_else():
    # As the flag's true/false: bool("false") would be True.
    assert parse_grid(["batch_norm=true,False", "normalize-observations=FALSE,True"]) == [
        ("batch_norm", [True, False]), ("normalize_observations", [False, True])]
    for spec in ("batch_norm=yes", "batch_norm=1,0", "batch_norm=true,t"):
        with pytest.raises(UserInputError) as error:
            parse_grid([spec])
        assert str(error.value) == f"Expected true or false for batch_norm. Received: --grid {spec}"


def test_the_messages_name_what_is_expected_in_full():
    with pytest.raises(UserInputError) as error:
        parse_grid(["preset=nope"])
    assert str(error.value) == ("Expected a preset among cleanrl, keras-example, lillicrap2016, ourddpg-retuned, "
                                "ourddpg2018. Received: --grid preset=nope")
    with pytest.raises(UserInputError) as error:
        parse_grid(["seed=1,2"])
    assert str(error.value) == ("Expected the seeds in --seeds, which gives each grid point its runs. "
                                "Received: --grid seed=1,2")


def test_a_value_is_everything_after_the_first_equals_sign():
    assert parse_grid(["env_id=a=b"]) == [("env_id", ["a=b"])]


def test_a_namespaced_environment_names_one_directory():
    assert point_name({"env_id": "ns/Env-v0"}) == "env_id=ns_Env-v0"


def test_without_a_grid_an_invalid_config_is_the_configs_own_message():
    with pytest.raises(UserInputError) as error:
        point_configs([{}], [0], lambda preset: {"buffer_capacity": 8, "batch_size": 16})
    assert str(error.value) == "Expected batch_size <= buffer_capacity. Received: batch_size=16, buffer_capacity=8"
