"""Invariants of the exploration noise."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ddpg.noise import GaussianNoise, OrnsteinUhlenbeckNoise

finite = st.floats(-10, 10, allow_nan=False)
theta = st.floats(0.0, 1.0)
dt = st.floats(1e-4, 0.5)
seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 4)


@given(mu=finite, x0=finite, theta=theta, dt=dt, n=st.integers(1, 200))
def test_without_diffusion_ou_decays_geometrically(mu, x0, theta, dt, n):
    # sigma = 0: x_{t+1} - mu = (1 - theta*dt) (x_t - mu), so x_n = mu + (1 - theta*dt)^n (x0 - mu).
    noise = OrnsteinUhlenbeckNoise(mu=np.full(1, mu), sigma=0.0, theta=theta, dt=dt,
                                   x0=np.full(1, x0), rng=np.random.default_rng(0))
    for _ in range(n):
        x = noise()
    expected = mu + (1 - theta * dt) ** n * (x0 - mu)
    np.testing.assert_allclose(x, [expected], rtol=1e-9, atol=1e-9)


@given(seed=seeds, dim=dims, sigma=st.floats(0.01, 2.0), n=st.integers(1, 50))
def test_same_seed_same_path(seed, dim, sigma, n):
    def path():
        noise = OrnsteinUhlenbeckNoise(mu=np.zeros(dim), sigma=sigma, rng=np.random.default_rng(seed))
        return np.array([noise() for _ in range(n)])

    np.testing.assert_array_equal(path(), path())


@given(seed=seeds, dim=dims, x0=finite, n=st.integers(1, 50))
def test_reset_restarts_from_x0(seed, dim, x0, n):
    # After reset, a fresh generator in the same state must reproduce the first path exactly:
    # reset forgets x_t completely.
    def run(noise):
        return np.array([noise() for _ in range(n)])

    reference = run(OrnsteinUhlenbeckNoise(np.zeros(dim), 0.3, x0=np.full(dim, x0),
                                           rng=np.random.default_rng(seed)))
    noise = OrnsteinUhlenbeckNoise(np.zeros(dim), 0.3, x0=np.full(dim, x0), rng=np.random.default_rng(seed))
    run(noise)
    noise.reset()
    noise.rng = np.random.default_rng(seed)
    np.testing.assert_array_equal(run(noise), reference)


@given(seed=seeds, dim=dims)
def test_samples_keep_mus_shape_and_are_finite(seed, dim):
    for noise in (OrnsteinUhlenbeckNoise(np.zeros(dim), 0.2, rng=np.random.default_rng(seed)),
                  GaussianNoise(np.zeros(dim), 0.2, rng=np.random.default_rng(seed))):
        sample = noise()
        assert sample.shape == (dim,)
        assert np.all(np.isfinite(sample))


@given(mu=finite, seed=seeds)
def test_gaussian_without_sigma_is_its_mean(mu, seed):
    noise = GaussianNoise(np.full(2, mu), 0.0, rng=np.random.default_rng(seed))
    np.testing.assert_array_equal(noise(), [mu, mu])


@given(seed=seeds, dim=dims, sigma=st.floats(0.0, 2.0), dt=dt, n=st.integers(1, 50))
def test_without_drift_ou_is_a_scaled_random_walk(seed, dim, sigma, dt, n):
    # theta = 0, x0 = 0: x_n = sigma * sqrt(dt) * (eps_1 + ... + eps_n), with the eps the
    # generator draws; a twin generator from the same seed replays them.
    noise = OrnsteinUhlenbeckNoise(np.zeros(dim), sigma, theta=0.0, dt=dt, rng=np.random.default_rng(seed))
    for _ in range(n):
        x = noise()
    eps = np.random.default_rng(seed).standard_normal((n, dim))
    np.testing.assert_allclose(x, sigma * np.sqrt(dt) * eps.sum(axis=0), rtol=1e-9, atol=1e-12)
