"""The batch update: ours (K updates per compiled call, and one), the Keras example's way, the bound.

Grouped by batch size and hidden sizes, so that each group's ratios come from one run. The
baseline is `keras_example.KerasExampleLearner`: the example's tf.function critic and actor update
plus `get_weights`/`set_weights` Polyak averaging, on networks of the same sizes.
"""

from __future__ import annotations

import numpy as np
import pytest
from bound import MatmulReplay, update_matmul_shapes
from conftest import filled_buffer, tag
from keras_example import KerasExampleBuffer, KerasExampleLearner

from ddpg.agent import DDPGAgent
from ddpg.config import DDPGConfig
from ddpg.networks import build_actor, build_critic
from ddpg.replay_buffer import Batch

pytestmark = pytest.mark.slow  # whole training loops and many update shapes: the newest Python runs them

UPDATES_PER_CALL = 32  # K: measured per update, K=32 amortises the call (1.2 ms against 4-6 ms for K=1)
CASES = [(batch, hidden) for hidden in ((256, 256), (400, 300)) for batch in (64, 256, 1024)]


def case_id(batch: int, hidden: tuple[int, int]) -> str:
    return f"b{batch} h{hidden[0]}-{hidden[1]}"



def config_for(batch: int, hidden: tuple[int, int], update_every: int = 1) -> DDPGConfig:
    # update_every decides the compilation (XLA from 2 updates per call), as in training.
    return DDPGConfig(batch_size=batch, actor_hidden=hidden, critic_hidden=hidden, update_every=update_every)


@pytest.fixture(scope="module", params=CASES, ids=[case_id(*case) for case in CASES])
def case(request):
    batch, hidden = request.param
    return batch, hidden, f"update {case_id(batch, hidden)}"


@pytest.fixture(autouse=True)
def first_shape_when_untimed(benchmark, request):
    """Untimed (--benchmark-disable, the test run), one shape keeps each benchmark from rotting: the others run the
    same code at other sizes, a compiled update each, and are timed only with --benchmark-only."""
    if benchmark.disabled and request.node.callspec.params["case"] != CASES[0]:
        pytest.skip("another shape of the same code, run only to be timed (pytest --benchmark-only)")


def stacked(buffer, batch: int, k: int) -> Batch:
    return Batch(*(column.reshape(k, batch, -1) for column in buffer.sample(batch * k)))


def test_ours_k_updates_per_call(benchmark, case, buffer):
    batch, hidden, group = case
    benchmark.group = group
    tag(benchmark, "ours", per=UPDATES_PER_CALL, unit="update")
    agent = DDPGAgent(3, [-2.0], [2.0], config_for(batch, hidden, UPDATES_PER_CALL))
    agent.update_many(stacked(buffer, batch, UPDATES_PER_CALL))  # trace and compile outside the timing
    metrics = benchmark(lambda: agent.update_many(stacked(buffer, batch, UPDATES_PER_CALL)))
    assert np.isfinite(metrics["critic_loss"])


def test_ours_one_update_per_call(benchmark, case, buffer):
    batch, hidden, group = case
    benchmark.group = group
    tag(benchmark, "ours", per=1, unit="update")
    agent = DDPGAgent(3, [-2.0], [2.0], config_for(batch, hidden))
    agent.update(buffer.sample(batch))
    metrics = benchmark(lambda: agent.update(buffer.sample(batch)))
    assert np.isfinite(metrics["critic_loss"])


def test_keras_example_update(benchmark, case):
    batch, hidden, group = case
    benchmark.group = group
    tag(benchmark, "baseline", per=1, unit="update")
    networks = [build_actor(3, [-2.0], [2.0], hidden), build_critic(3, 1, hidden=hidden)]
    targets = [build_actor(3, [-2.0], [2.0], hidden), build_critic(3, 1, hidden=hidden)]
    for target, network in zip(targets, networks, strict=True):
        target.set_weights(network.get_weights())
    learner = KerasExampleLearner(networks[0], networks[1], targets[0], targets[1])
    source = filled_buffer().columns()
    example_buffer = KerasExampleBuffer(50_000, 3, 1, batch, np.random.default_rng(0))
    example_buffer.state[:], example_buffer.action[:] = source.obs, source.action
    example_buffer.reward[:], example_buffer.next_state[:] = source.reward, source.next_obs
    example_buffer.counter = 50_000
    learner.learn(*example_buffer.sample())
    benchmark(lambda: learner.learn(*example_buffer.sample()))
    assert learner.actor.weights[0].dtype == "float32"


def test_bound_matmul_replay(benchmark, case):
    batch, hidden, group = case
    benchmark.group = group
    tag(benchmark, "bound", per=1, unit="update")
    config = config_for(batch, hidden)
    shapes = update_matmul_shapes(batch, 3, 1, config.actor_hidden, config.critic_state_hidden,
                                  config.critic_action_hidden, config.critic_hidden)
    assert len(shapes) == 43  # 9 forward passes' worth of layers, 2 weight-gradient and 2 input-gradient sweeps
    benchmark(MatmulReplay(shapes))
