"""The whole default run as a user times it, beside the Keras example's way, alternating in one run.

    python benchmarks/whole_run.py [--episodes 100] [--rounds 1]

Each side is a fresh process, timed from its start to its last file: `ddpg train --episodes N` on the
defaults (imports, building, compiling, N Pendulum episodes, checkpoint, actor, plot, TensorBoard), and
a script doing what the Keras example does (`benchmarks/keras_example.py`: its eager policy call, its
float64 buffer, its tf.function update and `get_weights`/`set_weights` Polyak averaging after every
step, then the example's plot and its four `save_weights`). A script, not a test: it asserts nothing
about time; it prints both times and the ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

EXAMPLE = """
import sys
sys.path.insert(0, {here!r})
import numpy as np
from keras_example import keras_example_episode, keras_example_setup

env, learner, buffer, noise = keras_example_setup()
for _ in range({episodes}):
    keras_example_episode(env, learner, buffer, noise, -2.0, 2.0, 200)
import matplotlib.pyplot as plt
plt.plot(np.arange({episodes}))
plt.savefig("example.png")
for model, name in ((learner.actor, "actor"), (learner.critic, "critic"), (learner.target_actor, "target_actor"),
                    (learner.target_critic, "target_critic")):
    model.save_weights(f"pendulum_{{name}}.weights.h5")
"""


def timed(command: list[str], cwd: str) -> float:
    path = os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])  # this checkout's ddpg
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": path})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    for round_ in range(args.rounds):
        with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as example_dir:
            ours = timed([sys.executable, "-m", "ddpg", "train", "--episodes", str(args.episodes), "--out", "run"],
                         ours_dir)
            example = timed([sys.executable, "-c", EXAMPLE.format(here=str(HERE), episodes=args.episodes)],
                            example_dir)
        print(f"round {round_ + 1}: {args.episodes} episodes, ddpg train {ours:.1f} s, the Keras example's way "
              f"{example:.1f} s, ratio {example / ours:.2f}x", flush=True)


if __name__ == "__main__":
    main()
