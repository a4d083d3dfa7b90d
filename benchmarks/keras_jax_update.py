"""Issue 13's lever "Keras 3 on the JAX backend": our update written for JAX, against ours on TensorFlow.

    python benchmarks/keras_jax_update.py      # needs JAX, which `pip install -e ".[peers]"` brings

Keras picks its backend once per process, so every measurement is a fresh process, the two backends
alternating, ROUNDS times per case. Each side times ms per update over TIMED_CALLS calls of K
updates (after a compiling call), on random batches. Both also start once from the same weights (the
TensorFlow agent's, passed through a file) and take the same CHECK_CALLS calls of batches; the script
prints how far apart their losses and actor weights end, so that the figure is of the same update.

The JAX side is a prototype that lives in this script: `DDPGAgent._update_step` rewritten with the
Keras models' `stateless_call`, `jax.value_and_grad`, the optimisers' `stateless_apply` and
`lax.scan` over K batches, jitted with its state donated. It uses ddpg.targets and ddpg.losses, the
formulas the tests prove, as the TensorFlow update does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = {  # name: (obs_dim, action_dim, action bound, preset)
    "Pendulum": (3, 1, 2.0, "keras-example"),
    "HalfCheetah": (17, 6, 1.0, "fujimoto2018"),
}
ROUNDS, TIMED_CALLS, CHECK_CALLS = 3, 200, 3


def _config(case: str, k: int):
    from ddpg.config import DDPGConfig
    from ddpg.presets import PRESETS

    return DDPGConfig(**{**PRESETS[CASES[case][3]], "update_every": k})


def _batches(rng: np.random.Generator, config, k: int, obs_dim: int, action_dim: int) -> tuple[np.ndarray, ...]:
    shape = (k, config.batch_size)
    return (rng.standard_normal((*shape, obs_dim), np.float32),
            rng.uniform(-1, 1, (*shape, action_dim)).astype(np.float32),
            rng.standard_normal((*shape, 1), np.float32), rng.standard_normal((*shape, obs_dim), np.float32),
            (rng.uniform(size=(*shape, 1)) < 0.05).astype(np.float32))


class TensorFlowUpdate:
    """Ours, unchanged: ddpg.agent.DDPGAgent.update_many."""

    def __init__(self, case: str, k: int, weights: Path) -> None:
        from ddpg.agent import DDPGAgent

        obs_dim, action_dim, bound, _ = CASES[case]
        self.agent = DDPGAgent(obs_dim, [-bound] * action_dim, [bound] * action_dim, _config(case, k))
        nets = {"actor": self.agent.actor, "critic": self.agent.critic,
                "target_actor": self.agent.target_actor, "target_critic": self.agent.target_critic}
        np.savez(weights, **{f"{name}/{i}": w for name, net in nets.items() for i, w in enumerate(net.get_weights())})

    def __call__(self, batches) -> tuple[float, float, list[np.ndarray]]:
        from ddpg.replay_buffer import Batch

        losses = self.agent.update_many(Batch(*batches))
        return losses["critic_loss"], losses["actor_loss"], self.agent.actor.get_weights()


class JaxUpdate:
    """The same update on Keras 3's JAX backend (the prototype this script measures)."""

    def __init__(self, case: str, k: int, weights: Path) -> None:
        import jax
        import keras

        from ddpg.losses import actor_loss, critic_loss
        from ddpg.networks import build_actor, build_critic
        from ddpg.targets import polyak, td_target

        obs_dim, action_dim, bound, _ = CASES[case]
        config = _config(case, k)
        low, high = np.full(action_dim, -bound, np.float32), np.full(action_dim, bound, np.float32)
        nets = {name: build_actor(obs_dim, low, high, config.actor_hidden) for name in ("actor", "target_actor")}
        nets |= {name: build_critic(obs_dim, action_dim, config.critic_state_hidden, config.critic_action_hidden,
                                    config.critic_hidden) for name in ("critic", "target_critic")}
        saved = np.load(weights)
        for name, net in nets.items():
            net.set_weights([saved[f"{name}/{i}"] for i in range(len(net.weights))])
        actor, critic = nets["actor"], nets["critic"]
        actor_opt, critic_opt = keras.optimizers.Adam(config.actor_lr), keras.optimizers.Adam(config.critic_lr)
        actor_opt.build(actor.trainable_variables)
        critic_opt.build(critic.trainable_variables)
        gamma, tau = config.gamma, config.tau

        def one_update(state, batch):
            a, c, ta, tc, ao, co = state
            obs, action, reward, next_obs, terminated = batch
            next_action, _ = actor.stateless_call(ta, [], next_obs)
            next_q, _ = critic.stateless_call(tc, [], [next_obs, next_action])
            y = jax.lax.stop_gradient(td_target(reward, next_q, terminated, gamma))

            def critic_objective(weights):
                return critic_loss(y, critic.stateless_call(weights, [], [obs, action], training=True)[0])

            c_loss, grads = jax.value_and_grad(critic_objective)(c)
            c, co = critic_opt.stateless_apply(co, grads, c)

            def actor_objective(weights):
                return actor_loss(critic.stateless_call(c, [], [obs, actor.stateless_call(weights, [], obs)[0]])[0])

            a_loss, grads = jax.value_and_grad(actor_objective)(a)
            a, ao = actor_opt.stateless_apply(ao, grads, a)
            ta = [polyak(t, s, tau) for t, s in zip(ta, a, strict=True)]
            tc = [polyak(t, s, tau) for t, s in zip(tc, c, strict=True)]
            return (a, c, ta, tc, ao, co), (c_loss, a_loss)

        def update_many(state, batches):
            state, (c_losses, a_losses) = jax.lax.scan(one_update, state, batches)
            return state, c_losses[-1], a_losses[-1]

        self._update = jax.jit(update_many, donate_argnums=0)
        values = [[v.value for v in vs] for vs in (actor.trainable_variables, critic.trainable_variables,
                                                   nets["target_actor"].trainable_variables,
                                                   nets["target_critic"].trainable_variables,
                                                   actor_opt.variables, critic_opt.variables)]
        self.state = tuple(values)

    def __call__(self, batches) -> tuple[float, float, list[np.ndarray]]:
        self.state, c_loss, a_loss = self._update(self.state, batches)
        return float(c_loss), float(a_loss), [np.asarray(w) for w in self.state[0]]


def measure(backend: str, case: str, k: int, weights: Path) -> dict:
    """One process's figures: ms per update, and the losses and actor after CHECK_CALLS calls on fixed batches."""
    obs_dim, action_dim, _, _ = CASES[case]
    config = _config(case, k)
    update = (JaxUpdate if backend == "jax" else TensorFlowUpdate)(case, k, weights)
    fixed = np.random.default_rng(0)
    start = time.perf_counter()
    update(_batches(fixed, config, k, obs_dim, action_dim))
    first_call = time.perf_counter() - start
    for _ in range(CHECK_CALLS - 1):
        critic_loss, actor_loss, actor_weights = update(_batches(fixed, config, k, obs_dim, action_dim))
    rng = np.random.default_rng(1)
    update(_batches(rng, config, k, obs_dim, action_dim))
    calls = max(TIMED_CALLS // k, 20)
    batches = [_batches(rng, config, k, obs_dim, action_dim) for _ in range(calls)]
    start = time.perf_counter()
    for batch in batches:
        update(batch)
    seconds = time.perf_counter() - start
    return {"ms_per_update": seconds / (calls * k) * 1e3, "first_call_s": first_call, "critic_loss": critic_loss,
            "actor_loss": actor_loss, "actor": [w.tolist() for w in actor_weights]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=4, metavar=("BACKEND", "CASE", "K", "WEIGHTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        backend, case, k, weights = args.one
        print(json.dumps(measure(backend, case, int(k), Path(weights))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            for k in (1, 10):
                weights = Path(tmp) / f"{case}-{k}.npz"
                times: dict[str, list[float]] = {"tensorflow": [], "jax": []}
                first: dict[str, float] = {}
                for _ in range(ROUNDS):
                    for backend in times:  # tensorflow first: it writes the weights both start from
                        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
                        out = subprocess.run([sys.executable, __file__, "--one", backend, case, str(k), str(weights)],
                                             env=env, capture_output=True, text=True, check=True).stdout
                        result = json.loads(out.strip().splitlines()[-1])
                        times[backend].append(result["ms_per_update"])
                        first[backend] = result["first_call_s"]
                        if backend == "tensorflow":
                            reference = result
                        else:
                            pairs = zip(result["actor"], reference["actor"], strict=True)
                            gap = max(np.max(np.abs(np.subtract(a, b))) for a, b in pairs)
                            losses = (abs(result["critic_loss"] - reference["critic_loss"]),
                                      abs(result["actor_loss"] - reference["actor_loss"]))
                tf_ms, jax_ms = statistics.median(times["tensorflow"]), statistics.median(times["jax"])
                each = {backend: ", ".join(f"{t:.3f}" for t in values) for backend, values in times.items()}
                print(f"{case} K={k}: TensorFlow {tf_ms:.3f} ms/update ({each['tensorflow']}), JAX {jax_ms:.3f} "
                      f"({each['jax']}): JAX / TensorFlow {jax_ms / tf_ms:.2f}; first call {first['tensorflow']:.2f} "
                      f"and {first['jax']:.2f} s; after {CHECK_CALLS} calls the actors differ by at most {gap:.1e}, "
                      f"the losses by {losses[0]:.1e} and {losses[1]:.1e}", flush=True)


if __name__ == "__main__":
    main()
