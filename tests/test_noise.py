"""Golden tests for the exploration noise, against hand-computed values."""

import json

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


class ConstantGenerator:
    """Like OnesGenerator, but every normal draw is `value`: eps = 2 tells sigma * eps from sigma / eps."""

    def __init__(self, value):
        self.value = value

    def standard_normal(self, size=None):
        return np.full(size, self.value)


def test_gaussian_scales_eps_by_sigma():
    # mu + sigma * eps with eps = 2: [0.5 + 0.1 * 2, -1 + 0.2 * 2] = [0.7, -0.6]
    # (sigma / eps would give [0.55, -0.9], sigma + eps [2.6, 1.2]).
    noise = GaussianNoise(mu=np.array([0.5, -1.0]), sigma=np.array([0.1, 0.2]), rng=ConstantGenerator(2.0))
    np.testing.assert_allclose(noise(), [0.7, -0.6], rtol=0, atol=1e-15)


def test_ou_scales_eps_by_sigma_sqrt_dt():
    # mu = x0 = 0, eps = 2, sigma = 0.5, dt = 0.04: x_1 = 0.5 * sqrt(0.04) * 2 = 0.5 * 0.2 * 2 = 0.2
    noise = OrnsteinUhlenbeckNoise(mu=np.zeros(1), sigma=0.5, dt=0.04, rng=ConstantGenerator(2.0))
    np.testing.assert_allclose(noise(), [0.2], rtol=0, atol=1e-15)


def test_sigma_of_the_wrong_shape_is_named_with_both_shapes():
    for make in (OrnsteinUhlenbeckNoise, GaussianNoise):
        with pytest.raises(ValueError) as error:
            make(mu=np.zeros(2), sigma=np.ones(3))
        assert str(error.value) == "Expected sigma to be a scalar or of mu's shape (2,). Received: sigma of shape (3,)"


# float64 whatever the inputs come as. float32 and int would not show a slip (sigma * eps is float64 anyway and
# promotes the sum); long double does: an input kept as it came makes the sample long double.
@pytest.mark.parametrize("name", ["mu", "sigma", "x0"])
def test_ou_computes_in_float64_whatever_the_inputs_dtype(name):
    inputs = {"mu": np.zeros(2), "sigma": 0.2, "x0": np.zeros(2)}
    inputs[name] = np.asarray(inputs[name], dtype=np.longdouble)
    noise = OrnsteinUhlenbeckNoise(**inputs, rng=np.random.default_rng(0))
    assert noise().dtype == np.float64
    noise.reset()
    assert noise().dtype == np.float64


@pytest.mark.parametrize("name", ["mu", "sigma"])
def test_gaussian_computes_in_float64_whatever_the_inputs_dtype(name):
    inputs = {"mu": np.zeros(2), "sigma": 0.2}
    inputs[name] = np.asarray(inputs[name], dtype=np.longdouble)
    assert GaussianNoise(**inputs, rng=np.random.default_rng(0))().dtype == np.float64


def test_without_a_generator_each_noise_gets_a_fresh_one():
    for noise in (OrnsteinUhlenbeckNoise(np.zeros(2), 0.2), GaussianNoise(np.zeros(2), 0.2)):
        assert isinstance(noise.rng, np.random.Generator)
        assert noise().shape == (2,)


def _json_round_trip(state):
    return json.loads(json.dumps(state))  # what a checkpoint's state.json does to it


@pytest.mark.parametrize("make", [
    lambda rng: OrnsteinUhlenbeckNoise(np.array([0.3, -0.2]), np.array([0.2, 0.5]), theta=0.5, dt=0.1, rng=rng),
    lambda rng: GaussianNoise(np.array([0.3, -0.2]), np.array([0.2, 0.5]), rng=rng),
])
def test_a_restored_noise_continues_the_same_path(make):
    # Reference: one process draws 5 then 7 samples. Restored: a second process, from another seed, takes the state
    # after the first 5 (through JSON) and must draw the same 7, to the bit.
    reference = make(np.random.default_rng(1))
    for _ in range(5):
        reference()
    state = _json_round_trip(reference.get_state())
    expected = [reference() for _ in range(7)]
    restored = make(np.random.default_rng(2))
    restored()
    restored.set_state(state)
    np.testing.assert_array_equal([restored() for _ in range(7)], expected)


def test_ou_state_holds_x_as_a_list_and_set_state_takes_it_as_float64_of_mus_shape():
    noise = OrnsteinUhlenbeckNoise(np.zeros(2), 0.0, theta=0.0, rng=np.random.default_rng(0))
    noise.set_state({"x": np.array([[0.25, -0.5]], dtype=np.longdouble), "rng": noise.get_state()["rng"]})
    # sigma = theta = 0: x stays where it was set, as float64 and of mu's shape (2,), not (1, 2).
    sample = noise()
    assert sample.dtype == np.float64
    np.testing.assert_array_equal(sample, [0.25, -0.5])
    assert noise.get_state()["x"] == [0.25, -0.5]


def test_ou_refuses_a_state_of_the_wrong_size_and_keeps_its_own():
    noise = OrnsteinUhlenbeckNoise(np.zeros(2), 0.2, rng=np.random.default_rng(0))
    noise()
    before = noise.get_state()
    with pytest.raises(ValueError, match="size 3"):
        noise.set_state({"x": [0.0, 0.0, 0.0], "rng": np.random.default_rng(9).bit_generator.state})
    assert noise.get_state() == before


@pytest.mark.parametrize("make", [lambda: OrnsteinUhlenbeckNoise(np.zeros(2), 0.2, rng=np.random.default_rng(0)),
                                  lambda: GaussianNoise(np.zeros(2), 0.2, rng=np.random.default_rng(0))])
def test_a_damaged_generator_state_is_refused_and_the_noise_keeps_its_own(make):
    noise = make()
    noise()
    before = noise.get_state()
    damaged = {**before, "rng": {**before["rng"], "bit_generator": "MT19937"}}  # PCG64's state under another name
    with pytest.raises(ValueError):
        noise.set_state({**damaged, "x": [1.0, 1.0]} if "x" in before else damaged)
    assert noise.get_state() == before
