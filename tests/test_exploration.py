"""The behaviour policy: the warm-up's uniform actions, mu(s) + N clipped to the bounds, each noise by config."""

import numpy as np
import pytest

from ddpg.config import DDPGConfig
from ddpg.exploration import Explorer, clip_to_bounds, make_noise
from ddpg.noise import GaussianNoise, NoNoise, OrnsteinUhlenbeckNoise

LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)


def constant_policy(value):
    return lambda obs: np.asarray(value, np.float32)


def test_warm_up_actions_are_uniform_within_the_bounds_then_the_policy_acts():
    noise = NoNoise(np.zeros(2))
    explorer = Explorer(constant_policy([0.7, 0.2]), LOW, HIGH, noise, random_steps=3000,
                        rng=np.random.default_rng(0))
    warm = np.array([explorer.act(np.zeros(3), steps_done=t) for t in range(3000)])
    assert warm.dtype == np.float32 and np.all(warm >= LOW) and np.all(warm <= HIGH)
    # U(low, high): mean (low + high) / 2 = [1, 0.25], std (high - low) / sqrt(12) = [1.155, 0.144]
    np.testing.assert_allclose(warm.mean(axis=0), [1.0, 0.25], atol=0.05)
    np.testing.assert_allclose(warm.std(axis=0), [4 / 12**0.5, 0.5 / 12**0.5], rtol=0.05)
    # step 3001: mu(s)
    np.testing.assert_array_equal(explorer.act(np.zeros(3), steps_done=3000), np.float32([0.7, 0.2]))


def test_no_warm_up_by_default():
    explorer = Explorer(constant_policy([0.7, 0.2]), LOW, HIGH, NoNoise(np.zeros(2)))
    np.testing.assert_array_equal(explorer.act(np.zeros(3), steps_done=0), np.float32([0.7, 0.2]))


def test_exploring_actions_stay_inside_asymmetric_bounds_under_a_huge_sigma():
    noise = OrnsteinUhlenbeckNoise(np.zeros(2), 1e3, rng=np.random.default_rng(0))
    explorer = Explorer(constant_policy([1.0, 0.25]), LOW, HIGH, noise)
    actions = []
    for _ in range(200):
        noise.reset()  # a first OU step from 0 is N(0, (sigma sqrt(dt))^2): both signs, far past the bounds
        actions.append(explorer.act(np.zeros(3), steps_done=0))
    actions = np.array(actions)
    assert np.all(actions >= LOW) and np.all(actions <= HIGH)
    # the noise really pushed past both bounds, and the clip held them
    assert {-1.0, 3.0} <= set(actions[:, 0]) and {0.0, 0.5} <= set(actions[:, 1])


def test_clip_to_bounds_returns_float32_inside():
    clipped = clip_to_bounds(np.array([-1.0000001, 0.6]), LOW, HIGH)
    assert clipped.dtype == np.float32
    np.testing.assert_array_equal(clipped, [-1.0, 0.5])


def test_gaussian_sigma_is_a_fraction_of_the_half_range():
    # half-ranges (3 - -1) / 2 = 2 and (0.5 - 0) / 2 = 0.25; sigma 0.1 of them: 0.2 and 0.025
    noise = make_noise(DDPGConfig(noise="gaussian", gaussian_sigma=0.1), LOW, HIGH, np.random.default_rng(0))
    assert isinstance(noise, GaussianNoise)
    np.testing.assert_allclose(noise.sigma, [0.2, 0.025])
    samples = np.array([noise() for _ in range(4000)])
    np.testing.assert_allclose(samples.std(axis=0), [0.2, 0.025], rtol=0.05)
    np.testing.assert_allclose(samples.mean(axis=0), [0, 0], atol=0.01)


def test_ou_noise_is_in_action_units_and_none_is_zero():
    ou = make_noise(DDPGConfig(ou_sigma=0.3, ou_theta=0.2, ou_dt=0.05), LOW, HIGH, np.random.default_rng(0))
    assert isinstance(ou, OrnsteinUhlenbeckNoise)
    assert (ou.theta, ou.dt) == (0.2, 0.05) and np.all(ou.sigma == 0.3)
    first = ou()  # from x_0 = mu = 0: N(0, (0.3 sqrt(0.05))^2) per action dimension
    assert first.shape == (2,) and np.all(np.isfinite(first)) and np.all(ou.mu == 0)
    none = make_noise(DDPGConfig(noise="none"), LOW, HIGH, np.random.default_rng(0))
    np.testing.assert_array_equal(none(), [0.0, 0.0])


@pytest.mark.parametrize("kind", ["ou", "gaussian", "none"])
def test_the_explorer_state_continues_exactly(kind):
    def explorer(seed):
        rngs = np.random.default_rng(seed), np.random.default_rng(seed + 1)
        config = DDPGConfig(noise=kind)
        return Explorer(constant_policy([0.5, 0.1]), LOW, HIGH, make_noise(config, LOW, HIGH, rngs[0]),
                        random_steps=5, rng=rngs[1])

    first = explorer(0)
    for t in range(7):
        first.act(np.zeros(3), t)
    second = explorer(99)
    second.set_state(first.get_state())
    for t in range(7, 20):  # through the end of the warm-up and beyond
        np.testing.assert_array_equal(first.act(np.zeros(3), t - 4), second.act(np.zeros(3), t - 4))


def test_a_damaged_explorer_state_changes_nothing():
    noise = OrnsteinUhlenbeckNoise(np.zeros(2), 0.2, rng=np.random.default_rng(0))
    explorer = Explorer(constant_policy([0.5, 0.1]), LOW, HIGH, noise, rng=np.random.default_rng(1))
    before = explorer.get_state()
    with pytest.raises((ValueError, TypeError, KeyError)):
        explorer.set_state({"noise": before["noise"], "rng": {"bit_generator": "PCG64", "state": "garbage"}})
    assert explorer.get_state() == before


@pytest.mark.parametrize("kind", ["ou", "gaussian"])
def test_each_noise_draws_from_the_generator_it_is_given(kind):
    # The run's seed reaches the noise only through this generator: two of the same seed, the same draws.
    first, second = (make_noise(DDPGConfig(noise=kind), LOW, HIGH, np.random.default_rng(7)) for _ in range(2))
    np.testing.assert_array_equal([first() for _ in range(5)], [second() for _ in range(5)])


def test_no_noise_has_the_actions_shape_and_no_state():
    noise = make_noise(DDPGConfig(noise="none"), LOW, HIGH, np.random.default_rng(0))
    assert noise().shape == (2,) and noise().dtype == np.float64
    assert noise.get_state() == {}
    with pytest.raises(ValueError, match="Expected no state for no noise. Received: {'x': 1}"):
        noise.set_state({"x": 1})


def test_the_noise_is_added_to_mu_of_the_observation():
    # mu(s) = s[:2] / 10; N = the OU draw: a = clip(mu(s) + N), seen through the same generator.
    noise, twin = (OrnsteinUhlenbeckNoise(np.zeros(2), 0.5, rng=np.random.default_rng(3)) for _ in range(2))
    explorer = Explorer(lambda obs: obs[:2] / 10, LOW, HIGH, noise)
    obs = np.array([5.0, 2.0, 0.0])
    np.testing.assert_allclose(explorer.act(obs, steps_done=0), np.clip([0.5, 0.2] + twin(), LOW, HIGH), rtol=1e-6)


def test_the_warm_up_draws_from_the_generator_it_is_given_and_works_without_one():
    def warm_up(rng):
        explorer = Explorer(constant_policy([0.0, 0.0]), LOW, HIGH, NoNoise(np.zeros(2)), random_steps=5, rng=rng)
        return [explorer.act(np.zeros(3), t) for t in range(5)]

    np.testing.assert_array_equal(warm_up(np.random.default_rng(5)), warm_up(np.random.default_rng(5)))
    unseeded = np.array(warm_up(None))
    assert np.all(unseeded >= LOW) and np.all(unseeded <= HIGH)


def test_no_noise_is_float_zeros_whatever_mu_is_given_as():
    noise = NoNoise([0, 0, 0])  # integers
    assert noise().dtype == np.float64 and noise().tolist() == [0.0, 0.0, 0.0]
