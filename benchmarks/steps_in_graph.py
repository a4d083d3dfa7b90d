"""The steps-in-the-graph lever at one update per step, alternating in one process (docs/speed_levers.md).

    python benchmarks/steps_in_graph.py [--env Pendulum-v1|HalfCheetah-v5] [--rounds 5]

Three trainers of the same config with update_every = 1, each warmed up past learning_starts, take 200 steps
in turn each round: a `step` and a compiled update call per step (ddpg.loop.STEPS_IN_GRAPH off), a block of
steps per TensorFlow call with the update as graph ops (on), and the same with the update as a nested XLA call
(ddpg.agent.XLA_UPDATE_IN_STEPS). Pendulum runs the defaults; HalfCheetah-v5 the `ourddpg-retuned` preset
learning from step 256, as the training-step benchmark. A script: it prints ms per step and the ratios.
"""

from __future__ import annotations

import argparse

from alternating import alternate, report

import ddpg.agent
import ddpg.loop
from ddpg.config import DDPGConfig
from ddpg.loop import Trainer
from ddpg.presets import PRESETS

CASES = {"a call per step": (False, False), "steps in graph": (True, False), "steps in graph, XLA update": (True, True)}
STEPS = 200


def use(case: str) -> None:
    ddpg.loop.STEPS_IN_GRAPH, ddpg.agent.XLA_UPDATE_IN_STEPS = CASES[case]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.env == "Pendulum-v1":
        config = DDPGConfig(update_every=1)
    else:
        config = DDPGConfig(**{**PRESETS["ourddpg-retuned"], "env_id": args.env, "learning_starts": 256,
                               "random_steps": 256})
    trainers = {}
    for case in CASES:
        use(case)  # the XLA choice is made when the block is traced, in the warm-up
        trainers[case] = Trainer(config)
        trainers[case].run_steps(2 * max(config.learning_starts, STEPS))
    ways = {case: lambda case=case: (use(case), trainers[case].run_steps(STEPS)) for case in CASES}
    report(f"{args.env}, K = 1", alternate(ways, args.rounds, STEPS, "step"), "a call per step", "step")


if __name__ == "__main__":
    main()
