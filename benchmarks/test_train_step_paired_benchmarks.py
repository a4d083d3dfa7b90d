"""Ours and SBX alternated round by round in one process: a ratio the host's drift cannot move.

The train-step groups time ours and each peer in tests of their own, minutes apart, and on this host
the speed of the same benchmark drifted by up to 2x between two runs 20 minutes apart
(docs/benchmarks/README.md), which moves the ratio of two means by as much. Here both are built and
warmed up first; then each round times one 200-step round of ours and one of SBX's back to back, ours
first in the even rounds and SBX first in the odd ones, and the round's ratio is SBX's time over
ours. The summary prints the median of the rounds' ratios and their range: a drift slower than a
round cancels within each pair, and one slow round moves the median by at most one place.

The cases are issue 25's goals: Pendulum with the Keras example's hyperparameters and HalfCheetah-v5
with `ourddpg-retuned`, each at K = 1 and K = 10 (K updates every K steps). The protocol of each side
is the train-step benchmarks' own (test_train_step_benchmarks.py, test_train_step_peers_benchmarks.py).

The floor groups pair SBX at K = 1 and 10 with ours at K = FLOOR_K, a round's updates in one compiled call: what an
update's arithmetic, acting, `env.step` and sampling cost once the per-call cost is gone. Their ratio is the ceiling
of SBX / ours at that K that any cut of ours' per-call cost could reach with today's arithmetic (at K = 1 ours runs
the plain graph, not XLA, so its true ceiling there is lower still).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
from conftest import mujoco_config, mujoco_env, tag
from peers import sbx_ddpg

from ddpg.config import DDPGConfig
from ddpg.training import Trainer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:tensorflow_probability")

STEPS = 200  # per side and round: one Pendulum episode
ROUNDS = 11  # pairs; an odd count, so the median is one round's ratio
FLOOR_K = STEPS  # ours' updates per call in the floor groups: one call per round


class Alternation:
    """One call times one round of each side, the order flipping from call to call."""

    def __init__(self, ours: Callable[[], object], theirs: Callable[[], object]) -> None:
        self.sides = {"ours": ours, "theirs": theirs}
        self.seconds: dict[str, list[float]] = {"ours": [], "theirs": []}

    def __call__(self) -> None:
        order = ("ours", "theirs") if len(self.seconds["ours"]) % 2 == 0 else ("theirs", "ours")
        for side in order:
            start = time.perf_counter()
            self.sides[side]()
            self.seconds[side].append(time.perf_counter() - start)

    def ratios(self) -> np.ndarray:
        """Each round's time of theirs over ours: how many times faster ours was in that round."""
        return np.asarray(self.seconds["theirs"]) / np.asarray(self.seconds["ours"])


def run_paired(benchmark, trainer: Trainer, ours_round: Callable[[], object], model, update_every: int,
               warm_up_steps: int) -> None:
    """Warm both up, alternate ROUNDS pairs, and tag the benchmark with both sides' ms per step and the ratios.
    update_every is SBX's K; ours' is its trainer's."""
    model.learn(total_timesteps=warm_up_steps)
    steps, updates = model.num_timesteps, model._n_updates
    ours_updates = int(trainer.agent.critic_optimizer.iterations.numpy())
    alternation = Alternation(ours_round, lambda: model.learn(total_timesteps=STEPS, reset_num_timesteps=False))
    benchmark.pedantic(alternation, rounds=ROUNDS, iterations=1)

    rounds = len(alternation.seconds["ours"])
    assert rounds == len(alternation.seconds["theirs"]) > 0
    assert model.num_timesteps - steps == rounds * STEPS
    assert model._n_updates - updates == rounds * STEPS  # SBX learnt: K updates per K steps
    assert int(trainer.agent.critic_optimizer.iterations.numpy()) - ours_updates == rounds * STEPS  # so did ours
    ratios = alternation.ratios()
    tag(benchmark, "paired", per=2 * STEPS, unit="step", peer="SBX", update_every=update_every,
        ours_update_every=trainer.config.update_every, rounds=rounds,
        ours_ms=float(np.median(alternation.seconds["ours"])) / STEPS * 1000,
        theirs_ms=float(np.median(alternation.seconds["theirs"])) / STEPS * 1000,
        ratio_median=float(np.median(ratios)), ratio_min=float(ratios.min()), ratio_max=float(ratios.max()))
    model.get_env().close()


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group="paired Pendulum-v1")
def test_ours_against_sbx_alternated(benchmark, update_every):
    config = DDPGConfig(update_every=update_every)
    model = sbx_ddpg(config, gym.make(config.env_id))
    trainer = Trainer(config)
    trainer.run_episode()  # fills a batch and compiles the update, as in the train-step benchmark
    run_paired(benchmark, trainer, trainer.run_episode, model, update_every, warm_up_steps=STEPS)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group="paired HalfCheetah-v5")
def test_ours_against_sbx_alternated_mujoco(benchmark, update_every):
    config = mujoco_config(update_every)
    model = sbx_ddpg(config, mujoco_env())
    trainer = Trainer(config, env=mujoco_env())
    trainer.run_steps(2 * 256)  # past learning_starts, the update compiled
    run_paired(benchmark, trainer, lambda: trainer.run_steps(STEPS), model, update_every, warm_up_steps=2 * 256)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group="floor Pendulum-v1")
def test_ours_floor_against_sbx_alternated(benchmark, update_every):
    model = sbx_ddpg(DDPGConfig(update_every=update_every), gym.make("Pendulum-v1"))
    trainer = Trainer(DDPGConfig(update_every=FLOOR_K))
    trainer.run_episode()  # one episode is FLOOR_K steps: its call of FLOOR_K updates compiled
    run_paired(benchmark, trainer, trainer.run_episode, model, update_every, warm_up_steps=STEPS)


@pytest.mark.parametrize("update_every", [1, 10])
@pytest.mark.benchmark(group="floor HalfCheetah-v5")
def test_ours_floor_against_sbx_alternated_mujoco(benchmark, update_every):
    model = sbx_ddpg(mujoco_config(update_every), mujoco_env())
    trainer = Trainer(mujoco_config(FLOOR_K), env=mujoco_env())
    trainer.run_steps(2 * 256)  # past learning_starts, the call of FLOOR_K updates compiled
    run_paired(benchmark, trainer, lambda: trainer.run_steps(STEPS), model, update_every, warm_up_steps=2 * 256)


def test_the_alternation_flips_the_order_every_round_and_divides_theirs_by_ours():
    calls = []
    alternation = Alternation(lambda: calls.append("ours"), lambda: calls.append("theirs"))
    for _ in range(3):
        alternation()
    assert calls == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]
    alternation.seconds = {"ours": [1.0, 2.0, 4.0], "theirs": [1.5, 2.0, 2.0]}
    assert alternation.ratios().tolist() == [1.5, 1.0, 0.5]
