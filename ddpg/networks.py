"""The actor mu(s) and the critic Q(s, a) of the Keras example, and a NumPy copy of the actor.

Only this module and the agent know Keras.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ddpg.backend import keras

layers = keras.layers

# The paper initialises the actor's last layer in U(-3e-3, 3e-3), so tanh starts near 0 and its
# gradient is not saturated (Lillicrap et al. 2016, section 7).
LAST_LAYER_INIT = 3e-3


def build_actor(obs_dim: int, action_low: ArrayLike, action_high: ArrayLike,
                hidden: Sequence[int] = (256, 256), name: str = "actor") -> keras.Model:
    """mu(s): relu hidden layers, then tanh mapped into the action bounds.

        a = low + (tanh(.) + 1) / 2 * (high - low) = tanh(.) * (high - low) / 2 + (high + low) / 2

    For Pendulum ([-2, 2]) that is 2 tanh(.). The mapping is a built-in `Rescaling` layer, so a
    saved actor loads with plain `keras.models.load_model`.
    """
    low = np.asarray(action_low, np.float32).reshape(-1)
    high = np.asarray(action_high, np.float32).reshape(-1)
    obs = keras.Input((obs_dim,), name="obs")
    x = obs
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    last_init = keras.initializers.RandomUniform(-LAST_LAYER_INIT, LAST_LAYER_INIT)
    x = layers.Dense(len(low), activation="tanh", kernel_initializer=last_init, name="tanh")(x)
    action = layers.Rescaling(scale=(high - low) / 2, offset=(high + low) / 2, name="to_bounds")(x)
    return keras.Model(obs, action, name=name)


def build_critic(obs_dim: int, action_dim: int, state_hidden: Sequence[int] = (16, 32),
                 action_hidden: Sequence[int] = (32,), hidden: Sequence[int] = (256, 256),
                 name: str = "critic") -> keras.Model:
    """Q(s, a): a branch on s and a branch on a, concatenated, then joint relu layers to one value."""
    obs = keras.Input((obs_dim,), name="obs")
    action = keras.Input((action_dim,), name="action")
    s = obs
    for i, units in enumerate(state_hidden):
        s = layers.Dense(units, activation="relu", name=f"state_{i}")(s)
    a = action
    for i, units in enumerate(action_hidden):
        a = layers.Dense(units, activation="relu", name=f"action_{i}")(a)
    x = layers.Concatenate(name="join")([s, a])
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"joint_{i}")(x)
    q = layers.Dense(1, name="q")(x)
    return keras.Model([obs, action], q, name=name)


_ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "linear": lambda x: x}


class NumpyPolicy:
    """The actor's forward pass in NumPy, for acting one observation at a time.

    A Keras call per environment step costs about 1.7 ms eagerly and 0.27 ms compiled; this costs
    about 0.01 ms. The weights are refreshed from the compiled update's outputs, so they are the
    actor's own; `tests/test_networks.py` checks that both give the same actions.
    """

    def __init__(self, activations: Sequence[str], weights: Sequence[np.ndarray], scale: np.ndarray,
                 offset: np.ndarray) -> None:
        self.activations = [_ACTIVATIONS[name] for name in activations]
        self.scale, self.offset = scale, offset
        self.use_weights(weights)

    @classmethod
    def from_actor(cls, actor: keras.Model) -> NumpyPolicy:
        """Read the structure of a `build_actor` model (or one loaded from `actor.keras`).

        Anything this copy could not mirror exactly (another kind of layer, another activation, a
        branch) is refused, never skipped: a skipped layer would act differently from the saved model.
        """
        kinds = [type(layer).__name__ for layer in actor.layers]
        dense = actor.layers[1:-1]
        if (kinds[0] != "InputLayer" or kinds[-1] != "Rescaling" or not dense
                or any(type(layer).__name__ != "Dense" or not layer.use_bias for layer in dense)):
            raise ValueError(f"Expected an actor of Dense layers ending in Rescaling, as build_actor makes. "
                             f"Received: layers {', '.join(kinds)}")
        unknown = [layer.activation.__name__ for layer in dense if layer.activation.__name__ not in _ACTIVATIONS]
        if unknown:
            raise ValueError(f"Expected activations among {', '.join(_ACTIVATIONS)}. Received: {', '.join(unknown)}")
        rescaling = actor.layers[-1]
        return cls([layer.activation.__name__ for layer in dense],
                   [w.numpy() for layer in dense for w in (layer.kernel, layer.bias)],
                   np.asarray(rescaling.scale, np.float32), np.asarray(rescaling.offset, np.float32))

    def use_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Act with these kernels and biases (in the order of `actor.weights`); no copy is made."""
        self.layers = list(zip(weights[0::2], weights[1::2], self.activations, strict=True))

    def weights(self) -> list[np.ndarray]:
        """The kernels and biases it acts with, in the order of `actor.weights`."""
        return [w for kernel, bias, _ in self.layers for w in (kernel, bias)]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """mu(s) for one observation [obs_dim] or a batch [B, obs_dim]."""
        x = np.asarray(obs, np.float32)
        for kernel, bias, activation in self.layers:
            x = activation(x @ kernel + bias)
        return x * self.scale + self.offset
