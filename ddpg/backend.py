"""Keras on TensorFlow (or on JAX: KERAS_BACKEND=jax), imported without TensorFlow's C++ start-up banners.

TensorFlow 2.21 prints oneDNN and CPU-feature lines through absl before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL does not hold them back; they are written to file descriptor 2 during the
import, which is therefore pointed at /dev/null for that moment only. An import that fails still
raises, and its traceback prints after stderr is back.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator

from ddpg.errors import UserInputError, install_command

# TensorFlow, the default, or JAX (KERAS_BACKEND=jax), an option: ddpg.jax_update says why.
KERAS_BACKENDS = ("tensorflow", "jax")


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _check_requested_backend() -> None:
    """Keras would end in a traceback (an unknown name, JAX not installed); a user gets one line instead."""
    requested = os.environ.get("KERAS_BACKEND") or "tensorflow"
    if requested not in KERAS_BACKENDS:
        raise UserInputError(f"Expected KERAS_BACKEND to be one of {', '.join(KERAS_BACKENDS)}. "
                             f"Received: KERAS_BACKEND={requested}")
    if requested == "jax" and importlib.util.find_spec("jax") is None:
        raise UserInputError(f"Expected JAX installed for KERAS_BACKEND=jax ({install_command('jax')}). "
                             "Received: no module named jax")


if "keras" not in sys.modules:  # once Keras is loaded, its backend is chosen and the variable no longer counts
    _check_requested_backend()
if "tensorflow" not in sys.modules:
    with _stderr_silenced():
        import tensorflow  # noqa: F401

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

if keras.backend.backend() not in KERAS_BACKENDS:  # set another way, e.g. in ~/.keras/keras.json
    raise UserInputError(f"Expected Keras on one of {', '.join(KERAS_BACKENDS)}. "
                         f"Received: Keras on {keras.backend.backend()}")

__all__ = ["KERAS_BACKENDS", "keras", "tf"]
