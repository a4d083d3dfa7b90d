"""Keras on TensorFlow, imported without TensorFlow's C++ start-up banners reaching the terminal.

TensorFlow 2.21 prints oneDNN and CPU-feature lines through absl before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL does not hold them back; they are written to file descriptor 2 during the
import, which is therefore pointed at /dev/null for that moment only. An import that fails still
raises, and its traceback prints after stderr is back.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


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


if "tensorflow" not in sys.modules:
    with _stderr_silenced():
        import tensorflow  # noqa: F401

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

__all__ = ["keras", "tf"]
