"""Invariants of observation normalisation: the running statistics are those of all the observations at once,
however they arrive, and a normalised observation always lies in [-10, 10]."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ddpg.normalization import CLIP, EPSILON, PRIOR_COUNT, RunningMeanStd, normalize

# Observations in raw units, large offsets included (millimetres around 5000, say); float32 as environments give.
values = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)


def observation_batches(dim: int, rows: int) -> st.SearchStrategy:
    return arrays(np.float32, (rows, dim), elements=values)


@st.composite
def observations_and_splits(draw):
    dim, rows = draw(st.integers(1, 4)), draw(st.integers(1, 40))
    observations = draw(observation_batches(dim, rows))
    cuts = sorted(draw(st.lists(st.integers(1, rows - 1), max_size=6, unique=True))) if rows > 1 else []
    return observations, cuts


def assert_close(ours: np.ndarray, theirs: np.ndarray, atol: np.ndarray) -> None:
    """Equal to rounding: 1e-9 relative, and atol per dimension (rounding grows with the values' size)."""
    assert np.all(np.abs(ours - theirs) <= 1e-9 * np.abs(theirs) + atol), (ours, theirs)


def with_prior(observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.mean and np.var of the observations and the prior N(0, 1) weighing PRIOR_COUNT observations:
    mean = sum(x) / (n + c), var = (c (1 + mean^2) + sum((x - mean)^2)) / (n + c)."""
    x = observations.astype(np.float64)
    n, c = len(x), PRIOR_COUNT
    mean = x.sum(axis=0) / (n + c)
    return mean, (c * (1 + mean**2) + ((x - mean) ** 2).sum(axis=0)) / (n + c)


@given(observations_and_splits())
def test_any_split_into_batches_gives_the_statistics_of_one_batch(drawn):
    observations, cuts = drawn
    whole, split = RunningMeanStd(observations.shape[1]), RunningMeanStd(observations.shape[1])
    whole.update(observations)
    for batch in np.split(observations, cuts):
        split.update(batch)
    scale = 1 + np.abs(observations.astype(np.float64)).max(axis=0)
    assert_close(split.mean, whole.mean, 1e-12 * scale)
    assert_close(split.var, whole.var, 1e-12 * scale**2)
    assert np.isclose(split.count, whole.count, rtol=1e-15, atol=0)


@given(observations_and_splits())
def test_the_statistics_are_np_mean_and_np_var_with_the_prior(drawn):
    observations, cuts = drawn
    statistics = RunningMeanStd(observations.shape[1])
    for batch in np.split(observations, cuts):
        statistics.update(batch)
    mean, var = with_prior(observations)
    scale = 1 + np.abs(observations.astype(np.float64)).max(axis=0)
    assert_close(statistics.mean, mean, 1e-12 * scale)
    assert_close(statistics.var, var, 1e-12 * scale**2)
    assert np.isclose(statistics.count, len(observations) + PRIOR_COUNT, rtol=1e-15)
    assert statistics.mean.dtype == statistics.var.dtype == np.float64
    # Without the prior's 1e-4, the statistics of many observations are np.mean's and np.var's to about 1e-4 / n.
    if len(observations) >= 10:
        x = observations.astype(np.float64)
        assert np.all(np.abs(statistics.mean - x.mean(axis=0)) <= 1e-4 * scale / len(x))


@given(obs=arrays(np.float64, st.tuples(st.integers(1, 6), st.just(3)),
                  elements=st.floats(-1e30, 1e30, allow_nan=False)),
       mean=arrays(np.float64, 3, elements=st.floats(-1e6, 1e6)),
       var=arrays(np.float64, 3, elements=st.floats(0, 1e12)))
def test_a_normalised_observation_lies_within_the_clip_and_is_the_standardisation_inside_it(obs, mean, var):
    z = normalize(obs, mean, var)
    assert z.dtype == np.float32 and z.shape == obs.shape
    assert np.all(np.abs(z) <= CLIP)
    exact = (obs - mean) / np.sqrt(var + EPSILON)
    inside = np.abs(exact) < CLIP
    np.testing.assert_allclose(z[inside], exact[inside], rtol=1e-6, atol=1e-6)  # float32's rounding
    assert np.all(z[~inside] == np.sign(exact[~inside]) * CLIP)

