"""Golden tests for the exploration noise, against hand-computed values."""

import numpy as np
import pytest

from ddpg.noise import GaussianNoise, OrnsteinUhlenbeckNoise


class OnesGenerator:
    """A stand-in for numpy.random.Generator whose normal draws are all 1.

    It makes every golden value below computable by hand, whatever NumPy's
    bit stream does.
    """

    def standard_normal(self, size=None):
        return np.ones(size)


def test_ou_first_two_samples_by_hand():
    # x_{t+1} = x_t + theta * (mu - x_t) * dt + sigma * sqrt(dt) * eps, eps = 1
    # x_1 = 0      + 0.15 * (1 - 0)      * 0.01 + 0.2 * 0.1 = 0.0015     + 0.02 = 0.0215
    # x_2 = 0.0215 + 0.15 * (1 - 0.0215) * 0.01 + 0.2 * 0.1 = 0.00146775 + 0.0215 + 0.02
    #     = 0.04296775
    noise = OrnsteinUhlenbeckNoise(mu=np.ones(1), sigma=0.2, x0=np.zeros(1), rng=OnesGenerator())
    assert noise() == pytest.approx([0.0215], abs=1e-15)
    assert noise() == pytest.approx([0.04296775], abs=1e-15)


def test_ou_defaults_are_the_papers():
    # theta = 0.15 and dt = 0.01 by default: with mu = 0, x0 = 0 and eps = 1,
    # x_1 = 0 + 0.15 * 0 * 0.01 + 0.3 * sqrt(0.01) * 1 = 0.03
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(2), sigma=0.3, rng=OnesGenerator())
    np.testing.assert_allclose(noise(), [0.03, 0.03], rtol=0, atol=1e-15)


def test_ou_per_dimension_sigma():
    # sigma = [0.1, 0.4], mu = 0, x0 = 0, eps = 1: x_1 = sigma * sqrt(0.01) = [0.01, 0.04]
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(2), sigma=np.array([0.1, 0.4]), rng=OnesGenerator())
    np.testing.assert_allclose(noise(), [0.01, 0.04], rtol=0, atol=1e-15)


def test_ou_reset_returns_to_x0():
    # After reset the next sample starts again from x0 = 0.5:
    # x_1 = 0.5 + 0.15 * (0 - 0.5) * 0.01 + 0.2 * 0.1 = 0.5 - 0.00075 + 0.02 = 0.51925
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(1), sigma=0.2, x0=np.full(1, 0.5), rng=OnesGenerator())
    first = noise()
    noise()
    noise()
    noise.reset()
    assert noise() == pytest.approx(first)
    assert first == pytest.approx([0.51925], abs=1e-15)


def test_ou_reset_without_x0_returns_to_zero():
    noise = OrnsteinUhlenbeckNoise(mu=np.ones(1), sigma=0.2, rng=OnesGenerator())
    noise()
    noise.reset()
    assert noise() == pytest.approx([0.0215], abs=1e-15)


def test_ou_sample_has_mus_shape():
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(3), sigma=0.2, rng=np.random.default_rng(0))
    assert noise().shape == (3,)


def test_ou_rejects_sigma_of_the_wrong_shape():
    with pytest.raises(ValueError, match="sigma"):
        OrnsteinUhlenbeckNoise(mu=np.zeros(2), sigma=np.ones(3))


def test_gaussian_sample_by_hand():
    # mu + sigma * eps with eps = 1: [0.5 + 0.1, -1 + 0.2] = [0.6, -0.8]
    noise = GaussianNoise(mu=np.array([0.5, -1.0]), sigma=np.array([0.1, 0.2]), rng=OnesGenerator())
    np.testing.assert_allclose(noise(), [0.6, -0.8], rtol=0, atol=1e-15)
    noise.reset()  # memoryless: reset exists for the common interface and changes nothing
    np.testing.assert_allclose(noise(), [0.6, -0.8], rtol=0, atol=1e-15)


def test_ou_stationary_variance():
    # The Euler-Maruyama chain x' = (1 - theta*dt) x + sigma*sqrt(dt) eps has stationary variance
    # v = (1 - theta*dt)^2 v + sigma^2 dt  =>  v = sigma^2 / (theta * (2 - theta*dt)).
    # With theta=0.15, sigma=0.2, dt=0.01: v = 0.04 / (0.15 * 1.9985) = 0.13343...
    # The chain's autocorrelation time is ~1/(theta*dt) ~ 667 steps, so 2,000,000 steps give
    # about 1,500 effective samples per dimension, 8 dimensions ~ 12,000: the relative standard
    # error of the variance is about sqrt(2/12000) ~ 1.3 %; 6 % is more than four of those.
    theta, sigma, dt = 0.15, 0.2, 0.01
    expected = sigma**2 / (theta * (2 - theta * dt))
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(8), sigma=sigma, theta=theta, dt=dt,
                                   rng=np.random.default_rng(12345))
    for _ in range(5_000):  # burn-in from x0 = 0, about 7.5 autocorrelation times
        noise()
    samples = np.array([noise() for _ in range(250_000)])
    assert samples.var() == pytest.approx(expected, rel=0.06)
