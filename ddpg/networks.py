"""The actor mu(s) and the critic Q(s, a) of the Keras example, and a NumPy copy of the actor.

Only this module and the agent know Keras.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ddpg.backend import keras

layers = keras.layers

# The paper initialises the final layers in U(-3e-3, 3e-3), so that tanh starts near 0 and its
# gradient is not saturated, and Q starts near 0 (Lillicrap et al. 2016, section 7).
LAST_LAYER_INIT = 3e-3


def fan_in_uniform(fan_in: int) -> keras.initializers.Initializer:
    """U(-1/sqrt(f), 1/sqrt(f)), f the layer's fan-in: the paper's hidden layers (section 7) and PyTorch's
    nn.Linear default for weights and biases alike (kaiming_uniform with a = sqrt(5) gives that bound)."""
    bound = 1.0 / float(np.sqrt(fan_in))
    return keras.initializers.RandomUniform(-bound, bound)


def _dense(units: int, fan_in: int, activation: str, name: str, initializer: str,
           final: str | None = None) -> layers.Dense:
    """A Dense layer initialised as the config says. `final`: None for a hidden layer, "kernel" for a final
    layer whose kernel alone starts in U(-3e-3, 3e-3), "all" for kernel and bias, "" for as the others.

    With glorot the layer is built exactly as before these options existed (Keras's defaults, the
    actor's last kernel constructed just before its layer), so the default run draws the same weights.
    """
    options = {}
    if initializer == "fan_in_uniform":
        options = {"kernel_initializer": fan_in_uniform(fan_in), "bias_initializer": fan_in_uniform(fan_in)}
    if final:
        options["kernel_initializer"] = keras.initializers.RandomUniform(-LAST_LAYER_INIT, LAST_LAYER_INIT)
        if final == "all":
            options["bias_initializer"] = keras.initializers.RandomUniform(-LAST_LAYER_INIT, LAST_LAYER_INIT)
    return layers.Dense(units, activation=activation, name=name, **options)


def _hidden(x, units: int, name: str, initializer: str, batch_norm: bool):
    """relu(W x + b), or with batch normalisation relu(BN(W x + b)) (normalised before the non-linearity,
    as Ioffe and Szegedy place it)."""
    fan_in = int(x.shape[-1])
    if not batch_norm:
        return _dense(units, fan_in, "relu", name, initializer)(x)
    x = _dense(units, fan_in, "linear", name, initializer)(x)
    x = layers.BatchNormalization(name=f"{name}_norm")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_actor(obs_dim: int, action_low: ArrayLike, action_high: ArrayLike,
                hidden: Sequence[int] = (256, 256), name: str = "actor", initializer: str = "glorot",
                final_layer_init: str = "actor", batch_norm: bool = False) -> keras.Model:
    """mu(s): relu hidden layers, then tanh mapped into the action bounds.

        a = low + (tanh(.) + 1) / 2 * (high - low) = tanh(.) * (high - low) / 2 + (high + low) / 2

    For Pendulum ([-2, 2]) that is 2 tanh(.). The mapping is a built-in `Rescaling` layer, so a
    saved actor loads with plain `keras.models.load_model`. With batch_norm, the state input and
    every hidden layer are batch-normalised (the paper, section 7); the tanh layer is not, so that
    the final layer's small initialisation still sets where mu starts.
    """
    low = np.asarray(action_low, np.float32).reshape(-1)
    high = np.asarray(action_high, np.float32).reshape(-1)
    obs = keras.Input((obs_dim,), name="obs")
    x = layers.BatchNormalization(name="obs_norm")(obs) if batch_norm else obs
    for i, units in enumerate(hidden):
        x = _hidden(x, units, f"hidden_{i}", initializer, batch_norm)
    final = {"actor": "kernel", "both": "all", "none": ""}[final_layer_init]
    x = _dense(len(low), int(x.shape[-1]), "tanh", "tanh", initializer, final)(x)
    action = layers.Rescaling(scale=(high - low) / 2, offset=(high + low) / 2, name="to_bounds")(x)
    return keras.Model(obs, action, name=name)


def build_critic(obs_dim: int, action_dim: int, state_hidden: Sequence[int] = (16, 32),
                 action_hidden: Sequence[int] = (32,), hidden: Sequence[int] = (256, 256),
                 name: str = "critic", initializer: str = "glorot", final_layer_init: str = "actor",
                 batch_norm: bool = False) -> keras.Model:
    """Q(s, a): a branch on s and a branch on a, concatenated, then joint relu layers to one value.

    With batch_norm, the state input and the state branch's layers, every layer before the action
    enters, are batch-normalised (the paper, section 7); the action and the joint layers are not.
    """
    obs = keras.Input((obs_dim,), name="obs")
    action = keras.Input((action_dim,), name="action")
    s = layers.BatchNormalization(name="obs_norm")(obs) if batch_norm else obs
    for i, units in enumerate(state_hidden):
        s = _hidden(s, units, f"state_{i}", initializer, batch_norm)
    a = action
    for i, units in enumerate(action_hidden):
        a = _hidden(a, units, f"action_{i}", initializer, False)
    x = layers.Concatenate(name="join")([s, a])
    for i, units in enumerate(hidden):
        x = _hidden(x, units, f"joint_{i}", initializer, False)
    q = _dense(1, int(x.shape[-1]), "linear", "q", initializer, "all" if final_layer_init == "both" else "")(x)
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
