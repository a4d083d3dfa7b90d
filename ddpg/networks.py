"""The actor mu(s) and the critic Q(s, a) of the Keras example, and a NumPy copy of the actor.

Only this module and the agent know Keras.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ddpg.backend import keras
from ddpg.normalization import CLIP, EPSILON

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
    the final layer's small initialisation still sets where mu starts. Called with training=True it
    normalises with the batch's statistics and moves its moving ones; otherwise (acting, the target
    actor, actor.keras) with the moving statistics: DDPGAgent says where each is used.
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


def with_observation_normalization(actor: keras.Model, mean: ArrayLike, var: ArrayLike) -> keras.Model:
    """The actor on raw observations: VecNormalize's standardisation (ddpg.normalization.normalize) in front of
    its layers, as built-in layers only, so that plain `keras.models.load_model` loads it where ddpg is not:

        Rescaling(1, offset=-mean)                   s - mean
        Rescaling(1 / (10 sqrt(var + 1e-8)))         (s - mean) / (10 sqrt(var + 1e-8)) = z / 10
        Activation("hard_tanh")                      clip(z / 10, -1, 1)
        Rescaling(10)                                clip(z, -10, 10)

    then the actor's own layers, in order (a flat model, sharing them). The statistics are the layers' constants
    (float64 in their config), not weights: the model's weights are the actor's. Computed in float32, so it equals
    normalize's float64 to float32 rounding (of the mean, relative to sqrt(var)).

    Not Keras's Normalization layer, which computes the same (s - mean) / sqrt(variance): it keeps its statistics
    as tensors made outside the traced call, which tf2onnx leaves as missing inputs of the exported graph (`ddpg
    export --format onnx` failed with "Required inputs (['.../Sub/y:0', '.../Sqrt/x:0']) are missing"); Rescaling
    casts its constants inside the call, as the actor's own output layer does.
    """
    obs = keras.Input((actor.input_shape[-1],), name="obs")
    x = layers.Rescaling(1.0, offset=-np.asarray(mean, np.float64), name="obs_centre")(obs)
    x = layers.Rescaling(1.0 / (CLIP * np.sqrt(np.asarray(var, np.float64) + EPSILON)), name="obs_scale")(x)
    x = layers.Activation("hard_tanh", name="obs_clip")(x)
    x = layers.Rescaling(CLIP, name="obs_unclip")(x)
    for layer in actor.layers[1:]:
        x = layer(x)
    return keras.Model(obs, x, name=actor.name)


PREFIX = ("Rescaling", "Rescaling", "Activation", "Rescaling")  # with_observation_normalization's layers


def _observation_normalization(prefix: Sequence) -> tuple[np.ndarray, np.ndarray, np.float32]:
    """(offset, scale, c) of a `with_observation_normalization` prefix, as float32 as Keras casts them, for
    c clip((s + offset) scale, -1, 1); ValueError naming anything else."""
    kinds = tuple(type(layer).__name__ for layer in prefix)
    if kinds != PREFIX:
        raise ValueError(f"Expected an observation normalisation as with_observation_normalization makes: "
                         f"{', '.join(PREFIX)} before the actor. Received: {', '.join(kinds)}")
    centre, scale, clip, unclip = prefix
    activation = clip.activation.__name__
    if (np.any(np.asarray(centre.scale) != 1) or np.any(np.asarray(scale.offset) != 0) or activation != "hard_tanh"
            or np.ndim(unclip.scale) != 0 or unclip.scale <= 0 or np.any(np.asarray(unclip.offset) != 0)):
        raise ValueError(f"Expected an observation normalisation as with_observation_normalization makes: "
                         f"Rescaling(1, offset), Rescaling(scale), Activation(hard_tanh), Rescaling(c > 0). "
                         f"Received: Rescaling({centre.scale}, offset), Rescaling(scale, offset={scale.offset}), "
                         f"Activation({activation}), Rescaling({unclip.scale}, offset={unclip.offset})")
    return (np.asarray(centre.offset, np.float32).reshape(-1), np.asarray(scale.scale, np.float32).reshape(-1),
            np.float32(unclip.scale))


_ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "linear": lambda x: x}
_CHAIN = ("Dense", "BatchNormalization", "Activation")  # the layers between the input and the Rescaling


def _plan(layer) -> tuple:
    """One layer of the actor as NumpyPolicy folds it: ("dense", activation), ("activation", name) or
    ("norm", epsilon, scale, center): whether it has gamma and beta, which decides how many weights it takes."""
    kind = type(layer).__name__
    if kind == "Dense":
        return "dense", layer.activation.__name__
    if kind == "Activation":
        return "activation", layer.activation.__name__
    return "norm", float(layer.epsilon), bool(layer.scale), bool(layer.center)


class NumpyPolicy:
    """The actor's forward pass in NumPy, for acting one observation at a time.

    A Keras call per environment step costs about 1.7 ms eagerly and 0.27 ms compiled; this costs
    about 0.01 ms. The weights are refreshed from the compiled update's outputs, so they are the
    actor's own; `tests/test_networks.py` checks that both give the same actions.

    Batch normalisation acts as Keras's does in inference (training=False), with the moving statistics:
    gamma (x - moving_mean) / sqrt(moving_variance + epsilon) + beta, computed as Keras computes it, x * s + t
    with s = gamma / sqrt(moving_variance + epsilon) and t = beta - moving_mean * s, once per weights given
    (`use_weights`). After a Dense layer, x * s + t runs in place on its output, where the layer stands (in
    build_actor, before the relu); on the state input, it is folded into the first Dense layer's kernel and
    bias (obs_dim rows: cheap to fold, nothing to do per step). With 17 inputs and 400-300 layers (HalfCheetah),
    that acts in about 15 us against 13 us without batch normalisation, and takes about 20 us per use_weights.
    """

    def __init__(self, plan: Sequence[tuple], weights: Sequence[np.ndarray], scale: np.ndarray,
                 offset: np.ndarray, observation_normalization: tuple | None = None) -> None:
        self.plan = tuple(plan)
        # (offset, scale, c) of with_observation_normalization's layers, None without them: the actor.keras of a
        # run with normalize_observations takes raw observations; the agent's own policy never has it.
        self.observation_normalization = observation_normalization
        # Dense layers only (no batch normalisation): acting with the weights as given, as always.
        self.plain = all(step[0] == "dense" for step in self.plan)
        self.activations = [_ACTIVATIONS[step[1]] for step in self.plan if step[0] == "dense"]
        self.weight_count = sum(2 if step[0] == "dense" else 2 + step[2] + step[3] if step[0] == "norm" else 0
                                for step in self.plan)
        self.scale, self.offset = scale, offset
        self.use_weights(weights)

    @classmethod
    def from_actor(cls, actor: keras.Model) -> NumpyPolicy:
        """Read the structure of a `build_actor` model (or one loaded from `actor.keras`).

        Anything this copy could not mirror exactly (another kind of layer, another activation, a
        branch, batch renormalisation) is refused, never skipped: a skipped layer would act differently
        from the saved model. An observation normalisation in front (with_observation_normalization) is mirrored.
        """
        model_layers, normalization = list(actor.layers), None
        if len(model_layers) > 2 and type(model_layers[1]).__name__ == "Rescaling":  # only the prefix starts so
            normalization = _observation_normalization(model_layers[1:1 + len(PREFIX)])
            model_layers = [model_layers[0], *model_layers[1 + len(PREFIX):]]
        kinds = [type(layer).__name__ for layer in model_layers]
        chain = model_layers[1:-1]
        if (kinds[0] != "InputLayer" or kinds[-1] != "Rescaling" or "Dense" not in kinds
                or any(kind not in _CHAIN for kind in kinds[1:-1])
                or any(type(layer).__name__ == "Dense" and not layer.use_bias for layer in chain)
                or "Activation" in kinds[:kinds.index("Dense")]):
            raise ValueError(f"Expected an actor of Dense, BatchNormalization and Activation layers (a non-linearity "
                             f"after the first Dense) ending in Rescaling, as build_actor makes. "
                             f"Received: layers {', '.join(kinds)}")
        plan = [_plan(layer) for layer in chain]
        unknown = [step[1] for step in plan if step[0] != "norm" and step[1] not in _ACTIVATIONS]
        if unknown:
            raise ValueError(f"Expected activations among {', '.join(_ACTIVATIONS)}. Received: {', '.join(unknown)}")
        for layer in chain:
            # Keras before 3.13 has no renorm option (nor the attribute): its batch norm is the plain one.
            renorm = getattr(layer, "renorm", False)
            if type(layer).__name__ == "BatchNormalization" and (renorm or layer.axis not in (-1, 1)):
                raise ValueError(f"Expected batch normalisation over the last axis, without renorm, as build_actor "
                                 f"makes. Received: {layer.name} with axis={layer.axis}, renorm={renorm}")
        rescaling = actor.layers[-1]
        return cls(plan, [w.numpy() for w in actor.weights],
                   np.asarray(rescaling.scale, np.float32), np.asarray(rescaling.offset, np.float32), normalization)

    def use_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Act with these weights, in the order of `actor.weights`: each Dense layer's kernel and bias, each
        BatchNormalization's gamma, beta, moving mean and moving variance (those it has). Without batch
        normalisation no copy is made."""
        self._weights = weights
        if self.plain:
            self.layers = list(zip(weights[0::2], weights[1::2], self.activations, strict=True))
            return
        if len(weights) != self.weight_count:
            raise ValueError(f"Expected the actor's {self.weight_count} weights. Received: {len(weights)}")
        self.layers = self._with_batch_norm(weights)

    def _with_batch_norm(self, weights: Sequence[np.ndarray]) -> list[tuple]:
        """(kernel, bias, f) per Dense layer, f what follows it up to the next Dense layer (batch normalisation
        as x * s + t, non-linearities), in order; batch normalisation before the first Dense folded into it."""
        layers, given = [], iter(weights)
        before_first = None  # (s, t): batch normalisation of the input, not yet folded into the first kernel
        for step in self.plan:
            if step[0] == "dense":
                kernel, bias = next(given), next(given)
                if before_first is not None:  # (x s + t) @ W + b = x @ (s W) + (t @ W + b)
                    s, t = before_first
                    kernel, bias, before_first = s[:, None] * kernel, t @ kernel + bias, None
                layers.append((kernel, bias, [_ACTIVATIONS[step[1]]] if step[1] != "linear" else []))
            elif step[0] == "norm":
                _, epsilon, has_gamma, has_beta = step
                gamma = next(given) if has_gamma else np.float32(1)
                beta = next(given) if has_beta else np.float32(0)
                moving_mean, moving_variance = next(given), next(given)
                s = (gamma / np.sqrt(moving_variance + np.float32(epsilon))).astype(np.float32)
                t = (beta - moving_mean * s).astype(np.float32)
                if layers:
                    layers[-1][2].append(_affine(s, t))
                elif before_first is None:
                    before_first = s, t
                else:  # two in a row on the input: (x s1 + t1) s + t
                    before_first = before_first[0] * s, before_first[1] * s + t
            else:
                layers[-1][2].append(_ACTIVATIONS[step[1]])
        return [(kernel, bias, _composed(after)) for kernel, bias, after in layers]

    def weights(self) -> list[np.ndarray]:
        """The weights it acts with, as given: in the order of `actor.weights`."""
        return list(self._weights)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """mu(s) for one observation [obs_dim] or a batch [B, obs_dim]."""
        x = np.asarray(obs, np.float32)
        if self.observation_normalization is not None:  # c clip((s - mean) scale, -1, 1), in float32 as Keras
            offset, scale, c = self.observation_normalization
            x = np.clip((x + offset) * scale, -1, 1) * c
        for kernel, bias, activation in self.layers:
            x = activation(x @ kernel + bias)
        return x * self.scale + self.offset


def _affine(s: np.ndarray, t: np.ndarray):
    """x * s + t, in place: x is always a new array here, the output of x @ kernel + bias."""
    def affine(x):
        x *= s
        x += t
        return x
    return affine


def _composed(functions: list):
    """The functions applied in order: one as it is, none as the identity."""
    if not functions:
        return _ACTIVATIONS["linear"]
    if len(functions) == 1:
        return functions[0]

    def composed(x):
        for function in functions:
            x = function(x)
        return x
    return composed
