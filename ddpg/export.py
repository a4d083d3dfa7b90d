"""`ddpg export`: a run's actor in a format another runtime runs, through Keras's own `model.export`.

onnx (tf2onnx writes it, onnxruntime runs it), tflite (LiteRT: ai-edge-litert) and savedmodel (TensorFlow's,
its endpoint `serve`); the first two need the `export` extra. The exported model is the saved actor as it is:
raw observations in, mu(s) out (its actions are within the bounds up to float rounding: clip them).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from ddpg.errors import UserInputError, install_command

# --format: (Keras's name of the format, the modules it needs).
FORMATS = {"onnx": ("onnx", ("tf2onnx", "onnxruntime")), "tflite": ("litert", ("ai_edge_litert",)),
           "savedmodel": ("tf_saved_model", ())}


def export_actor(run_dir: str | os.PathLike, format: str, out: str | os.PathLike, best: bool = False) -> Path:
    """Write the actor of run_dir (best_actor.keras with `best`) to `out` in `format`; refused in one line,
    with nothing written, for an unknown format, a missing package, a missing actor or an existing `out`."""
    from ddpg.evaluation import actor_file, load_actor_file, missing_actor

    run_dir, out = Path(run_dir), Path(out)
    if format not in FORMATS:
        raise UserInputError(f"Expected --format {', '.join(FORMATS)}. Received: --format {format}")
    keras_format, modules = FORMATS[format]
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise UserInputError(f"Expected {', '.join(missing)} to export to {format}: {install_command('export')}. "
                             f"Received: no module named {missing[0]}")
    path = run_dir / actor_file(best)
    if not path.is_file():
        raise UserInputError(missing_actor(path, best))
    if out.exists():
        raise UserInputError(f"Expected --out to be a path that does not exist yet. Received: --out {out}")
    actor = load_actor_file(path).actor
    import numpy as np

    actor(np.zeros((1, actor.input_shape[-1]), np.float32))  # a loaded model is exported once it was called
    try:
        actor.export(str(out), format=keras_format, verbose=False)
    except BaseException:
        if out.is_dir():
            shutil.rmtree(out, ignore_errors=True)
        elif out.exists():
            out.unlink()
        raise
    return out
