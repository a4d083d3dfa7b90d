"""Invariants of the critic target and the Polyak update."""

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from ddpg.targets import polyak, td_target

values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
gammas = st.floats(0.0, 1.0)
taus = st.floats(0.0, 1.0)
shapes = array_shapes(min_dims=1, max_dims=3, max_side=5)


def same_shape_arrays(count):
    return shapes.flatmap(lambda shape: st.tuples(*[arrays(np.float64, shape, elements=values)] * count))


@given(pair=same_shape_arrays(2))
def test_polyak_tau_zero_keeps_and_tau_one_copies(pair):
    target, source = pair
    np.testing.assert_array_equal(polyak(target, source, 0.0), target)
    np.testing.assert_array_equal(polyak(target, source, 1.0), source)


@given(pair=same_shape_arrays(2), tau=taus)
def test_polyak_lies_between_target_and_source(pair, tau):
    target, source = pair
    result = polyak(target, source, tau)
    low, high = np.minimum(target, source), np.maximum(target, source)
    slack = 1e-9 * (1 + np.abs(target) + np.abs(source))  # rounding of tau*s + (1-tau)*t
    assert result.shape == target.shape
    assert np.all(result >= low - slack) and np.all(result <= high + slack)


@given(pair=same_shape_arrays(2), tau=st.floats(0.01, 1.0))
def test_repeated_polyak_converges_to_the_source(pair, tau):
    # After n steps target - source shrinks by (1 - tau)^n; n chosen so that (1 - tau)^n < 1e-12.
    target, source = pair
    n = int(np.ceil(np.log(1e-12) / np.log1p(-tau))) if tau < 1 else 1
    for _ in range(n):
        target = polyak(target, source, tau)
    np.testing.assert_allclose(target, source, rtol=0, atol=1e-6)


@given(triple=same_shape_arrays(3), gamma=gammas)
def test_terminal_drops_the_bootstrap(triple, gamma):
    reward, next_q, _ = triple
    np.testing.assert_array_equal(td_target(reward, next_q, np.ones_like(reward), gamma), reward)


@given(triple=same_shape_arrays(3), gamma=gammas, shift=values)
def test_td_target_is_linear_in_the_reward(triple, gamma, shift):
    reward, next_q, terminated = triple
    terminated = (terminated > 0).astype(np.float64)
    y = td_target(reward, next_q, terminated, gamma)
    y_shifted = td_target(reward + shift, next_q, terminated, gamma)
    np.testing.assert_allclose(y_shifted - y, np.full_like(y, shift), rtol=1e-9, atol=1e-6)


@given(triple=same_shape_arrays(3), gamma=st.floats(0.01, 1.0), delta=st.floats(1e-3, 1e3))
def test_td_target_is_monotone_in_next_q(triple, gamma, delta):
    reward, next_q, terminated = triple
    terminated = (terminated > 0).astype(np.float64)
    assume(np.any(terminated == 0))
    low = td_target(reward, next_q, terminated, gamma)
    high = td_target(reward, next_q + delta, terminated, gamma)
    live = terminated == 0
    assert np.all(high[live] > low[live])
    np.testing.assert_array_equal(high[~live], low[~live])


@given(triple=same_shape_arrays(3), gamma=gammas)
def test_td_target_preserves_shape_and_float32(triple, gamma):
    reward, next_q, terminated = (a.astype(np.float32) for a in triple)
    y = td_target(reward, next_q, (terminated > 0).astype(np.float32), np.float32(gamma))
    assert y.shape == reward.shape
    assert y.dtype == np.float32


@given(triple=same_shape_arrays(3), gamma=gammas)
def test_the_bootstrap_is_proportional_to_gamma(triple, gamma):
    # y - r = gamma * (1 - d) * Q': scaling gamma scales what is added to the reward.
    reward, next_q, terminated = triple
    terminated = (terminated > 0).astype(np.float64)
    bootstrap = td_target(reward, next_q, terminated, gamma) - reward
    undiscounted = td_target(reward, next_q, terminated, 1.0) - reward
    np.testing.assert_allclose(bootstrap, gamma * undiscounted, rtol=1e-9, atol=1e-6)
