"""The two losses of DDPG, against values computed by hand."""

import numpy as np
import pytest

pytest.importorskip("keras")

from ddpg.losses import actor_loss, critic_loss  # noqa: E402


def test_critic_loss_is_the_mean_squared_td_error():
    # y - Q = [1, -2, 3, -4]: squares 1, 4, 9, 16, mean 30 / 4 = 7.5
    y = np.array([[1.0], [0.0], [5.0], [-4.0]], np.float32)
    q = np.array([[0.0], [2.0], [2.0], [0.0]], np.float32)
    assert float(critic_loss(y, q)) == 7.5


def test_critic_loss_is_zero_on_the_target():
    y = np.array([[-3.0], [0.5]], np.float32)
    assert float(critic_loss(y, y.copy())) == 0.0


def test_actor_loss_is_minus_the_mean_q():
    # Q = [1, 2, 6]: mean 3, so the loss is -3; minimising it raises Q
    assert float(actor_loss(np.array([[1.0], [2.0], [6.0]], np.float32))) == -3.0


def test_losses_keep_float32():
    q = np.ones((3, 1), np.float32)
    assert np.asarray(critic_loss(q, 2 * q)).dtype == np.float32
    assert np.asarray(actor_loss(q)).dtype == np.float32
