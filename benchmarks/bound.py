"""The machine's limit for one update: its matrix products alone, replayed in NumPy.

One DDPG update does these dense-layer products on a batch of B (a layer maps `n_in` to `n_out`):
forward (B, n_in) @ (n_in, n_out); weight gradient (n_in, B) @ (B, n_out); input gradient
(B, n_out) @ (n_out, n_in), needed only where something upstream wants a gradient.

    target actor forward, target critic forward           -> y
    critic forward, weight and input gradients            -> critic step
    actor forward, critic forward, critic input gradients
      down to the action, actor weight and input gradients -> actor step

Elementwise work (activations, Adam, Polyak) is left out, so the time of these products is a
lower bound on the update's time on this machine.
"""

from __future__ import annotations

import numpy as np


def _chain(sizes):
    return list(zip(sizes[:-1], sizes[1:], strict=True))


def update_matmul_shapes(batch: int, obs_dim: int, action_dim: int, actor_hidden, critic_state_hidden,
                         critic_action_hidden, critic_hidden) -> list[tuple[int, int, int]]:
    """(m, k, n) of every product (m, k) @ (k, n) in one update."""
    actor = _chain([obs_dim, *actor_hidden, action_dim])
    state = _chain([obs_dim, *critic_state_hidden])
    action = _chain([action_dim, *critic_action_hidden])
    # An empty branch passes its input straight to the join: (s, a) concatenated, as in fujimoto2018.
    joined = ((critic_state_hidden[-1] if critic_state_hidden else obs_dim)
              + (critic_action_hidden[-1] if critic_action_hidden else action_dim))
    joint = _chain([joined, *critic_hidden, 1])
    critic = state + action + joint

    def forward(layers):
        return [(batch, i, o) for i, o in layers]

    def weight_grads(layers):
        return [(i, batch, o) for i, o in layers]

    def input_grads(layers):
        return [(batch, o, i) for i, o in layers]

    return (forward(actor) + forward(critic)  # y = r + gamma (1 - d) Q'(s', mu'(s'))
            # critic step; the join's input gradient only where a branch below it learns
            + forward(critic) + weight_grads(critic)
            + input_grads(state[1:] + action[1:] + (joint if state or action else joint[1:]))
            + forward(actor) + forward(critic) + input_grads(joint + action)  # dQ/da at a = mu(s)
            + weight_grads(actor) + input_grads(actor[1:]))  # actor step


def flops(shapes) -> int:
    return sum(2 * m * k * n for m, k, n in shapes)


class MatmulReplay:
    """Callable that performs the products of one update on random float32 operands."""

    def __init__(self, shapes, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.operands = [(rng.standard_normal((m, k), np.float32), rng.standard_normal((k, n), np.float32))
                         for m, k, n in shapes]

    def __call__(self):
        for a, b in self.operands:
            a @ b


GEMM_SIZE = 1024  # the large product whose rate is the machine's own: 2 * 1024^3 FLOP


class LargeGemm:
    """Callable: one (1024, 1024) @ (1024, 1024) float32 product through NumPy, the machine's large-GEMM rate.

    Timed, it gives the arithmetic bound of one update as `flops(shapes)` at that rate: the mean time of
    this call divided by `per_update`, which the benchmark summary does (its `per`).
    """

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.a, self.b = (rng.standard_normal((GEMM_SIZE, GEMM_SIZE), np.float32) for _ in range(2))

    @staticmethod
    def per_update(shapes) -> float:
        """How many updates' worth of products one call does."""
        return 2 * GEMM_SIZE**3 / flops(shapes)

    def __call__(self):
        self.a @ self.b
