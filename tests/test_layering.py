"""The pure parts must not pull in TensorFlow, Keras or Gymnasium."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["ddpg", "ddpg.config", "ddpg.noise", "ddpg.replay_buffer", "ddpg.targets",
                                    "ddpg.checkpoint", "ddpg.errors", "ddpg.manifest", "ddpg.memory",
                                    "ddpg.exploration", "ddpg.presets"])
def test_pure_modules_load_no_framework(module):
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('tensorflow', 'keras', 'gymnasium', 'torch') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"
