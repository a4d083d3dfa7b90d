"""Golden tests for the critic target and the Polyak update."""

import numpy as np
import pytest

from ddpg.targets import polyak, td_target


@pytest.mark.parametrize(
    "reward, next_q, terminated, gamma, expected",
    [
        # y = r + gamma * (1 - d) * Q'
        pytest.param(1.0, 10.0, 0.0, 0.99, 1.0 + 0.99 * 10.0, id="bootstraps: 1 + 0.99*10 = 10.9"),
        pytest.param(1.0, 10.0, 1.0, 0.99, 1.0, id="terminal drops Q': 1 + 0.99*0*10 = 1"),
        pytest.param(-2.5, -4.0, 0.0, 0.5, -4.5, id="-2.5 + 0.5*(-4) = -4.5"),
        pytest.param(3.0, 7.0, 0.0, 0.0, 3.0, id="gamma 0 is the reward alone"),
    ],
)
def test_td_target_by_hand(reward, next_q, terminated, gamma, expected):
    assert td_target(reward, next_q, terminated, gamma) == pytest.approx(expected)


def test_td_target_keeps_b_by_1_shapes():
    reward = np.array([[1.0], [2.0]], dtype=np.float32)
    next_q = np.array([[10.0], [20.0]], dtype=np.float32)
    terminated = np.array([[0.0], [1.0]], dtype=np.float32)
    y = td_target(reward, next_q, terminated, 0.9)
    # row 0: 1 + 0.9*10 = 10; row 1 terminated: 2
    np.testing.assert_allclose(y, [[10.0], [2.0]])
    assert y.shape == (2, 1)
    assert y.dtype == np.float32


@pytest.mark.parametrize(
    "target, source, tau, expected",
    [
        # tau * source + (1 - tau) * target
        pytest.param(0.0, 1.0, 0.005, 0.005, id="0.005*1 + 0.995*0 = 0.005"),
        pytest.param(2.0, 4.0, 0.25, 2.5, id="0.25*4 + 0.75*2 = 2.5"),
        pytest.param(3.0, -1.0, 1.0, -1.0, id="tau 1 copies"),
        pytest.param(3.0, -1.0, 0.0, 3.0, id="tau 0 keeps"),
    ],
)
def test_polyak_by_hand(target, source, tau, expected):
    assert polyak(target, source, tau) == pytest.approx(expected)


def test_polyak_on_arrays_elementwise():
    target = np.array([[0.0, 10.0], [-4.0, 1.0]], dtype=np.float32)
    source = np.array([[1.0, 0.0], [4.0, 1.0]], dtype=np.float32)
    # 0.5 * source + 0.5 * target
    np.testing.assert_allclose(polyak(target, source, 0.5), [[0.5, 5.0], [0.0, 1.0]])
