"""The pure parts must not pull in TensorFlow, Keras or Gymnasium."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["ddpg", "ddpg.config", "ddpg.noise", "ddpg.replay_buffer", "ddpg.targets",
                                    "ddpg.checkpoint", "ddpg.errors", "ddpg.manifest", "ddpg.memory",
                                    "ddpg.exploration", "ddpg.presets", "ddpg.grid", "ddpg.report"])
def test_pure_modules_load_no_framework(module):
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('tensorflow', 'keras', 'gymnasium', 'torch', 'jax') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_the_local_engine_loads_no_ray():
    # `ddpg sweep` without --engine ray must run where Ray is not installed, and not pay for its import.
    code = ("import sys, ddpg.cli, ddpg.sweep, ddpg.grid; "
            "ddpg.cli.build_parser().parse_args(['sweep', '--grid', 'tau=0.1,0.2']); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
