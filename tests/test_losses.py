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


def test_critic_weight_decay_adds_half_lambda_times_the_squared_kernels():
    # TD part 7.5 as above; kernels [[1, 2]] and [[3]]: squares 1 + 4 + 9 = 14; lambda 0.01: 7.5 + 0.01 * 14 / 2.
    # Weight decay: the term's gradient is lambda W (TensorFlow's l2_regularizer, baselines' critic_l2_reg).
    y = np.array([[1.0], [0.0], [5.0], [-4.0]], np.float32)
    q = np.array([[0.0], [2.0], [2.0], [0.0]], np.float32)
    kernels = [np.array([[1.0, 2.0]], np.float32), np.array([[3.0]], np.float32)]
    assert float(critic_loss(y, q, kernels, 0.01)) == pytest.approx(7.57, rel=1e-6)
    assert float(critic_loss(y, q, kernels, 0.0)) == 7.5
