"""Golden tests for observation normalisation (ddpg.normalization), against hand-computed values."""

import json

import numpy as np
import pytest

from ddpg.normalization import CLIP, EPSILON, PRIOR_COUNT, RunningMeanStd, normalize


def test_the_prior_is_stable_baselines3s():
    # RunningMeanStd(epsilon=1e-4): mean 0, var 1, count 1e-4; VecNormalize(clip_obs=10, epsilon=1e-8).
    statistics = RunningMeanStd(3)
    np.testing.assert_array_equal(statistics.mean, np.zeros(3))
    np.testing.assert_array_equal(statistics.var, np.ones(3))
    assert statistics.count == PRIOR_COUNT == 1e-4
    assert (CLIP, EPSILON) == (10.0, 1e-8)
    assert statistics.mean.dtype == statistics.var.dtype == np.float64


def test_one_batch_by_hand():
    # Observations 1 and 3: batch mean 2, batch var 1, n 2; prior mean 0, var 1, count c = 1e-4.
    #   delta = 2 - 0 = 2, total = c + 2 = 2.0001
    #   mean  = 0 + 2 * 2 / 2.0001                                  = 4 / 2.0001
    #   M2    = 1 * c + 1 * 2 + 2^2 * c * 2 / 2.0001 = 2.0001 + 0.0008 / 2.0001
    #   var   = M2 / 2.0001 = 1 + 0.0008 / 2.0001^2
    statistics = RunningMeanStd(1)
    statistics.update(np.array([[1.0], [3.0]], np.float32))
    assert statistics.mean[0] == pytest.approx(4 / 2.0001, rel=1e-15)
    assert statistics.var[0] == pytest.approx(1 + 0.0008 / 2.0001**2, rel=1e-15)
    assert statistics.count == pytest.approx(2.0001, rel=1e-15)


def test_a_second_batch_by_hand():
    # From mean m = 4 / 2.0001, var v = 1 + 0.0008 / 2.0001^2, count 2.0001, one observation 7 (batch var 0):
    #   delta = 7 - m, total = 3.0001
    #   mean  = m + delta / 3.0001
    #   var   = (v * 2.0001 + 0 + delta^2 * 2.0001 * 1 / 3.0001) / 3.0001
    statistics = RunningMeanStd(1)
    statistics.update(np.array([[1.0], [3.0]]))
    statistics.update(np.array([[7.0]]))
    m, v = 4 / 2.0001, 1 + 0.0008 / 2.0001**2
    delta = 7 - m
    assert statistics.mean[0] == pytest.approx(m + delta / 3.0001, rel=1e-14)
    assert statistics.var[0] == pytest.approx((v * 2.0001 + delta**2 * 2.0001 / 3.0001) / 3.0001, rel=1e-14)
    assert statistics.count == pytest.approx(3.0001, rel=1e-15)


def test_each_dimension_has_its_own_statistics():
    # Column 0: 0 and 2 (mean 1, var 1); column 1: 10 and 10 (mean 10, var 0). Prior count c = 1e-4:
    #   mean = 2 * batch_mean / 2.0001; var = (c + 2 * batch_var + batch_mean^2 * c * 2 / 2.0001) / 2.0001
    statistics = RunningMeanStd(2)
    statistics.update(np.array([[0.0, 10.0], [2.0, 10.0]]))
    c = 1e-4
    np.testing.assert_allclose(statistics.mean, [2 / 2.0001, 20 / 2.0001], rtol=1e-15)
    np.testing.assert_allclose(statistics.var, [(c + 2 + c * 2 / 2.0001) / 2.0001,
                                                (c + 100 * c * 2 / 2.0001) / 2.0001], rtol=1e-14)


def test_normalize_by_hand():
    # mean 5000, var 1e6: (6000 - 5000) / sqrt(1e6 + 1e-8) = 1 (to 1e-14), (4500 - 5000) / 1000 = -0.5;
    # 1e6 and -1e6 are about +-995 standard deviations out, clipped to +-10. float32 out, as SB3's normalize_obs.
    obs = np.array([[6000.0], [4500.0], [1e6], [-1e6]], np.float32)
    z = normalize(obs, np.array([5000.0]), np.array([1e6]))
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0], [1.0, -0.5, 10.0, -10.0], rtol=1e-7)


def test_normalize_subtracts_in_float64_whatever_the_dtypes_given():
    # float32 observation 1, mean float32(0.2) = 0.20000000298..., var 3: the difference 0.79999999701... is exact
    # in float64, and its float32 rounding 0.8 divided by sqrt(3) in float32 rounds the other way.
    obs, mean, var = np.array([1.0], np.float32), np.array([0.2], np.float32), np.array([3.0], np.float32)
    z = normalize(obs, mean, var)
    exact = (1.0 - float(mean[0])) / float(np.sqrt(var[0] + np.float32(EPSILON)))
    assert z[0] == np.float32(exact) == np.float32(0.4618802)
    assert ((obs - mean) / np.sqrt(var + EPSILON))[0] == np.float32(0.46188024)  # float32 throughout: not it


def test_a_constant_dimension_is_scaled_by_epsilon_not_divided_by_zero():
    # var 0: (x - mean) / sqrt(1e-8) = (x - mean) * 1e4; 1e-4 away gives 1, 1 away is clipped to 10.
    z = normalize(np.array([3.0001, 4.0, 3.0]), np.array([3.0, 3.0, 3.0]), np.zeros(3))
    np.testing.assert_allclose(z, [1.0, 10.0, 0.0], rtol=1e-4)


def test_the_statistics_normalize_with_their_own_mean_and_var():
    statistics = RunningMeanStd(1)
    statistics.update(np.array([[1.0], [3.0]]))
    np.testing.assert_array_equal(statistics.normalize(np.array([2.5])),
                                  normalize(np.array([2.5]), statistics.mean, statistics.var))


def test_one_observation_is_a_batch_of_one():
    one, batch = RunningMeanStd(2), RunningMeanStd(2)
    one.update(np.array([1.0, -2.0], np.float32))
    batch.update(np.array([[1.0, -2.0]], np.float32))
    assert one.get_state() == batch.get_state()


def test_state_round_trips_exactly_as_json_values():
    statistics = RunningMeanStd(2)
    statistics.update(np.array([[0.1, 1e3], [0.7, -3e3], [1 / 3, 2.0]]))
    state = json.loads(json.dumps(statistics.get_state()))
    restored = RunningMeanStd(2)
    restored.set_state(state)
    np.testing.assert_array_equal(restored.mean, statistics.mean)  # float64 survives JSON bit for bit
    np.testing.assert_array_equal(restored.var, statistics.var)
    assert restored.count == statistics.count
    assert restored.mean.dtype == restored.var.dtype == np.float64


def test_set_state_holds_float64_whatever_numbers_it_is_given():
    # A statistics file written by hand (or by another tool) may hold integers, or NumPy's float32 from a caller:
    # they are held, and given back by get_state, as the float64 the statistics are computed in.
    statistics = RunningMeanStd(2)
    statistics.set_state({"mean": [0, 3], "var": [np.float32(0.1), np.float32(2.0)], "count": 3})
    assert statistics.mean.dtype == statistics.var.dtype == np.float64
    assert json.dumps(statistics.get_state()) == '{"mean": [0.0, 3.0], "var": [0.10000000149011612, 2.0], "count": 3.0}'


@pytest.mark.parametrize("count", [PRIOR_COUNT, 0.5, 1.0])
def test_any_count_above_zero_is_a_count_a_fresh_ones_too(count):
    statistics = RunningMeanStd(1)
    statistics.set_state({"mean": [2.0], "var": [4.0], "count": count})
    assert statistics.get_state() == {"mean": [2.0], "var": [4.0], "count": count}
    fresh = RunningMeanStd(1).get_state()
    statistics.set_state(fresh)
    assert statistics.get_state() == fresh == {"mean": [0.0], "var": [1.0], "count": 1e-4}


def test_get_state_is_a_copy():
    statistics = RunningMeanStd(1)
    state = statistics.get_state()
    statistics.update(np.array([[5.0]]))
    assert state == {"mean": [0.0], "var": [1.0], "count": 1e-4}


@pytest.mark.parametrize("state, fragment", [
    ({"mean": [0.0], "var": [1.0]}, "mean, var, count"),
    ({"mean": [0.0, 1.0], "var": [1.0], "count": 1.0}, "mean of 1 numbers"),
    ({"mean": [0.0], "var": [-1.0], "count": 1.0}, "var of 1 numbers >= 0"),
    ({"mean": [float("nan")], "var": [1.0], "count": 1.0}, "mean of 1 numbers"),
    ({"mean": ["a"], "var": [1.0], "count": 1.0}, "mean of 1 numbers"),
    ({"mean": [0.0], "var": [1.0], "count": 0.0}, "count > 0"),
    ({"mean": [0.0], "var": [1.0], "count": True}, "count > 0"),
    ("nothing", "mean, var, count"),
], ids=["missing-count", "wrong-length", "negative-var", "nan-mean", "text", "zero-count", "bool-count", "not-a-dict"])
def test_a_damaged_state_is_refused_in_one_line_and_changes_nothing(state, fragment):
    statistics = RunningMeanStd(1)
    statistics.update(np.array([[2.0]]))
    before = statistics.get_state()
    with pytest.raises(ValueError, match="^Expected .*Received: ") as caught:
        statistics.set_state(state)
    assert fragment in str(caught.value) and len(str(caught.value).splitlines()) == 1
    assert statistics.get_state() == before


def test_a_long_damaged_value_is_quoted_to_200_characters():
    # str of 50 floats 0.5 is "[0.5, 0.5, ..." (5 characters each): 249 characters, cut to its first 200.
    long = [0.5] * 50
    quoted = str(long)[:200]
    assert len(str(long)) > 200 and len(quoted) == 200
    for state, message in [
            ({"mean": long, "var": long}, f"Expected observation statistics {{mean, var, count}}. Received: "
                                          f"{str({'mean': long, 'var': long})[:200]}"),
            ({"mean": long, "var": [1.0], "count": 1.0},
             f"Expected the statistics' mean of 1 numbers. Received: mean={quoted}"),
            ({"mean": [0.0], "var": long, "count": 1.0},
             f"Expected the statistics' var of 1 numbers >= 0. Received: var={quoted}"),
            ({"mean": [0.0], "var": [1.0], "count": -2.5}, "Expected the statistics' count > 0. Received: count=-2.5")]:
        with pytest.raises(ValueError) as caught:
            RunningMeanStd(1).set_state(state)
        assert str(caught.value) == message


def test_an_observation_of_another_length_is_refused():
    with pytest.raises(ValueError, match="Expected observations of length 2"):
        RunningMeanStd(2).update(np.zeros((4, 3)))
    for observations, shape in [(np.zeros((4, 3)), "(4, 3)"), (np.zeros(3), "(3,)"), ([[[1.0, 2.0]]], "(1, 1, 2)")]:
        with pytest.raises(ValueError) as caught:
            RunningMeanStd(2).update(observations)
        assert str(caught.value) == f"Expected observations of length 2. Received: a batch of shape {shape}"
