"""The two losses of DDPG (Lillicrap et al. 2016, Algorithm 1), written with `keras.ops`.

`keras.ops` takes NumPy arrays as well as tensors, so the very functions that the tests check on
NumPy arrays are the ones the compiled update minimises. The learner's side: this loads Keras.
"""

from ddpg.backend import keras

ops = keras.ops


def critic_loss(y, q, kernels=(), weight_decay=0.0):
    """The critic's loss, minimised over Q's parameters:

        L = 1/N sum_i (y_i - Q(s_i, a_i))^2 + lambda/2 sum_W ||W||^2,
        y_i = r_i + gamma (1 - d_i) Q'(s_{i+1}, mu'(s_{i+1}))

    The second term is weight decay lambda on Q's kernels W (lambda = 1e-2 in the paper, 0 in the
    Keras example): its gradient is lambda W, what "weight decay" means and what TensorFlow's
    `l2_regularizer` and OpenAI baselines' `critic_l2_reg` compute (the paper's wording, lambda
    sum ||W||^2, would be twice that). Biases and batch normalisation's scales are not decayed.

    Args:
        y: the targets y_i from `td_target`, shape [N, 1]; constants here (no gradient flows
            into the target networks).
        q: Q(s_i, a_i) of the online critic, shape [N, 1].
        kernels: the critic's weight matrices W.
        weight_decay: lambda.
    """
    loss = ops.mean(ops.square(y - q))
    for kernel in kernels:
        loss = loss + weight_decay * ops.sum(ops.square(kernel)) / 2
    return loss


def actor_loss(q):
    """The actor's loss: minus the mean value of its own actions,

        J = -1/N sum_i Q(s_i, mu(s_i)),

    whose gradient through mu is the sampled deterministic policy gradient of Algorithm 1
    (-1/N sum_i grad_a Q(s, a)|_{a = mu(s_i)} grad_theta mu(s_i)).

    Args:
        q: Q(s_i, mu(s_i)), shape [N, 1].
    """
    return -ops.mean(q)
