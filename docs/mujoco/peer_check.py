"""Seeds that never learn (Hopper, the pendulums): DDPG's own failure, or ours? A peer's with ourddpg2018's values.

    pip install -e '.[peers,mujoco]'        # in the checkout: Stable-Baselines3 (PyTorch) and MuJoCo
    python docs/mujoco/peer_check.py run --seeds 0 1 2 3 4 --steps 40000
    python docs/mujoco/peer_check.py ours --seeds 0 1 2 3 4 --steps 40000
    python docs/mujoco/peer_check.py summary --steps 40000
    python docs/mujoco/peer_check.py actors runs/table1/Hopper-v5/seed_*    # our runs' directories, if kept
    python docs/mujoco/peer_check.py run --env-id InvertedPendulum-v5 --seeds 0 1 2 3 4 --steps 30000  # ours, summary
    python docs/mujoco/peer_check.py early --env-id InvertedPendulum-v5 --seed 4 --steps 15 60 100 300 1000 3000
    python docs/mujoco/peer_check.py early-table --env-id InvertedPendulum-v5

`run` trains Stable-Baselines3's DDPG on Hopper-v5 with the values of OurDDPG.py and its main.py at
ddpg.presets.TD3_PAPER_COMMIT (the `ourddpg2018` preset, docs/mujoco.md): actor and critic 400-300 with
(s, a) at the critic's input and PyTorch's own initialisation, Adam 1e-3 for both, batch 100, gamma 0.99,
tau 0.005, a buffer of 10^6, N(0, 0.1) exploration, 1,000 uniform random steps first, and at each episode's
end as many updates as the episode had steps. SB3's DDPG is its TD3 with one critic, no target smoothing and
no policy delay. One difference: SB3 makes no update during its 1,000 random steps (learning_starts), where
OurDDPG.py's loop updates at every episode's end from the first, on the few transitions stored so far.

`ours` runs our `ourddpg2018` on Hopper-v5 with that one difference too (`--learning-starts 1001`: no update
before the 1,001st step, as SB3), to the same budget, and copies each run's config.json and metrics.csv to
docs/mujoco/peer_check/ours_learning_starts_1001/seed_S/ with its final actor's saturation (as below) in
actor.txt (the run itself under runs/peer_check/). With `--env-id InvertedPendulum-v5` (or
InvertedDoublePendulum-v5, Walker2d-v5) it does the same on that task, with the queue's options for it and its
evaluations (every 5,000 steps, 10 episodes), into
docs/mujoco/peer_check/ENV/ours_learning_starts_1001/seed_S/ (eval.csv too), for `ddpg report`.

It writes, per seed, docs/mujoco/peer_check/sb3_Hopper-v5/seed_S.csv (another environment's: under
docs/mujoco/peer_check/ENV/sb3/): each training episode's end step and
return (with noise, as our metrics.csv), and a last line `# actor` with the final actor's saturation on the
last 2,000 states it visited: the fraction of states where every action component is at its bound
(|a| >= 0.999 in half-ranges) and the actions' standard deviation over those states (in half-ranges).

`ours --as-queued` runs our `ourddpg2018` exactly as the queue does, to a short budget, for seeds beyond the queue's
ten (a run's first N steps are the same floats at any budget, so a short run is the long one's beginning), into
docs/mujoco/peer_check/ENV/ours_short/seed_S/: more seeds at the cost of the steps where a seed learns or not.

`actors` measures the same saturation for our runs, from a run directory that `ddpg train` wrote (its
actor.keras, and the last 2,000 states of the replay buffer its checkpoint holds; neither is committed).

`early` asks what puts a failing seed's actor at a bound: it trains ours (ourddpg2018 as the queue runs it, or
with `--learning-starts 1001`) to each of several small budgets, every one from scratch (a run's first N steps are
the same floats at any budget), and measures the final actor's tanh input z (the last layer's output before tanh)
on 1,000 reference states: those of uniform random actions from reset(seed=0), the same for every run. It writes a
row per budget to docs/mujoco/peer_check/ENV/early/seed_S.csv (seed_S_learning_starts_1001.csv), with the fraction
of states where tanh'(z) = 1 - tanh(z)^2 is exactly 0 in float32 for every action component (|z| above about 9:
no gradient reaches the actor through any of them), and `early-table` prints them. With `--sb3` it does the same for
SB3's DDPG (as `run` trains it; seed_S of sb3_seed_S.csv is SB3's seed, not ours).

`summary` prints, for SB3's seeds, ours with `--learning-starts 1001`, and ours as the preset is
(docs/mujoco/runs/Hopper-v5/seed_S/metrics.csv, the first `--steps` steps of the 1M-step runs), the first
step at which the average training return of the last 40 episodes exceeds 200 (what every Hopper run of the
queue that learned reached by 27,047 steps), or "never" by `--steps`.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "docs" / "mujoco" / "peer_check"
ENV_ID, AVERAGE_OVER, LEARNED, MAX_EPISODE_STEPS = "Hopper-v5", 40, 200.0, 1000
# Beyond Hopper: the queue's other options for an environment (docs/mujoco/table1_queue.sh), and evaluations as the
# queue makes them, so that `ddpg report` states what the run reached by Table 1's own statistic. Every task's episodes
# are at most 1,000 steps, and 200 tells a run that learned from one that did not on each (InvertedPendulum's
# failing seeds score 2 or 3 an episode, the learning ones up to 1,000; InvertedDoublePendulum's failing seed about
# 22, the learning ones' noisy training episodes 350-450 at the end, above 200 by step 2,576; Walker2d's failing
# seed at most 19.3 in 1,000,000 steps, the learning ones above 200 by step 79,232).
QUEUE_OPTIONS = {"InvertedPendulum-v5": ["--gaussian-sigma", "0.03333333333333333"]}  # beside --random-steps 1000
EVALUATIONS = ["--eval-every", "5000", "--eval-episodes", "10"]
OTHER_ENVIRONMENTS = ("InvertedPendulum-v5", "InvertedDoublePendulum-v5", "Walker2d-v5")


class Places(NamedTuple):
    """Where an environment's runs are. Hopper's where they were first committed; another's under peer_check/ENV/."""
    sb3: Path  # SB3's CSVs
    queue: Path  # ours as the preset is, the Table 1 queue's runs (seeds 0-9)
    learning_starts: Path  # ours with --learning-starts 1001
    short: Path  # ours as the queue runs it, to a short budget: seeds beyond the queue's


def places(env_id: str = ENV_ID) -> Places:
    queue = ROOT / "docs" / "mujoco" / "runs" / env_id
    if env_id == ENV_ID:
        return Places(CHECKS / "sb3_Hopper-v5", queue, CHECKS / "ours_learning_starts_1001", CHECKS / "ours_short")
    return Places(CHECKS / env_id / "sb3", queue, CHECKS / env_id / "ours_learning_starts_1001",
                  CHECKS / env_id / "ours_short")


def sb3_ddpg(env_id: str, seed: int):
    """SB3's DDPG with ourddpg2018's values, on one core as our queue's lanes."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import DDPG
    from stable_baselines3.common.noise import NormalActionNoise

    torch.set_num_threads(1)
    env = gym.make(env_id)
    action_dim = env.action_space.shape[0]
    # N(0, 0.1) in action units; SB3 adds its noise to the action scaled to [-1, 1], so 0.1 over the bound.
    return DDPG("MlpPolicy", env, learning_rate=1e-3, buffer_size=1_000_000, learning_starts=1000,
                batch_size=100, tau=0.005, gamma=0.99, train_freq=(1, "episode"), gradient_steps=-1,
                action_noise=NormalActionNoise(np.zeros(action_dim), 0.1 / env.action_space.high),
                policy_kwargs={"net_arch": [400, 300]}, seed=seed, device="cpu")


def train_sb3(seed: int, steps: int, env_id: str = ENV_ID) -> Path:
    """One SB3 DDPG run with ourddpg2018's values; its episodes and its actor's saturation to a CSV."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    episodes: list[tuple[int, float]] = []

    class Episodes(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    episodes.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    model = sb3_ddpg(env_id, seed)
    action_dim = model.action_space.shape[0]
    model.learn(total_timesteps=steps, callback=Episodes())

    buffer = model.replay_buffer
    end = buffer.buffer_size if buffer.full else buffer.pos
    states = buffer.observations[max(0, end - 2000):end, 0]
    with torch.no_grad():
        actions = model.actor(torch.as_tensor(states, dtype=torch.float32)).numpy()
    out = places(env_id).sb3
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"seed_{seed}.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["steps", "return"])
        writer.writerows((step, f"{value:.6f}") for step, value in episodes)
        # SB3's actor outputs [-1, 1], rescaled to the bounds only when acting.
        file.write(f"# actor: {saturation(actions, -np.ones(action_dim), np.ones(action_dim))}\n")
    return path


def saturation(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> str:
    """The fraction of states whose every action component is at its bound (within 0.1 % of the half-range), and
    the actions' standard deviation over the states (mean over components), both in half-ranges: on Hopper, whose
    bounds are +-1, the actions themselves."""
    half, middle = (high - low) / 2, (high + low) / 2
    scaled = (actions - middle) / half
    saturated = np.mean(np.all(np.abs(scaled) >= 0.999, axis=1))
    return f"saturated {saturated:.4f} action_std {float(scaled.std(axis=0).mean()):.4f}"


def our_actor(run_dir: Path) -> str:
    """Our final actor's saturation on the last 2,000 states of the run's replay buffer, as its checkpoint holds
    it (ddpg.checkpoint: the segments it lists, checked; slot t % capacity holds step t's state)."""
    from ddpg.checkpoint import load_checkpoint
    from ddpg.policy import load_policy

    checkpoint = load_checkpoint(run_dir / "checkpoint")
    states, end = checkpoint.arrays["buffer/obs"], checkpoint.manifest["replay"]["end"]
    policy = load_policy(run_dir)
    return saturation(policy.predict(states[np.arange(max(0, end - 2000), end) % len(states)]), policy.low,
                      policy.high)


def run_ours(env_id: str, seed: int, steps: int, run_dir: Path, learning_starts: bool, evaluations: bool) -> None:
    """`ddpg train` with ourddpg2018 as the Table 1 queue runs it (its options for env_id), into run_dir; with no
    update before step 1,001 if learning_starts, with the queue's evaluations if evaluations."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "ddpg", "train", "--preset", "ourddpg2018", "--env-id", env_id,
                    "--seed", str(seed), "--total-steps", str(steps), "--random-steps", "1000",
                    *(["--learning-starts", "1001"] if learning_starts else []), *QUEUE_OPTIONS.get(env_id, []),
                    *(EVALUATIONS if evaluations and env_id != ENV_ID else []), "--no-tensorboard", "--overwrite",
                    "--out", str(run_dir)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def train_ours(seed: int, steps: int, env_id: str = ENV_ID, as_queued: bool = False) -> Path:
    """Our ourddpg2018 on env_id, as the Table 1 queue runs it but with no update before step 1,001 (or, as_queued,
    exactly as the queue runs it: a run's first N steps are the same floats at any budget); its files go where
    places() says."""
    import shutil

    kind = "short" if as_queued else ""
    run_dir = ROOT / "runs" / "peer_check" / ("" if env_id == ENV_ID else env_id) / kind / f"seed_{seed}"
    run_ours(env_id, seed, steps, run_dir, learning_starts=not as_queued, evaluations=True)
    where = places(env_id)
    out = (where.short if as_queued else where.learning_starts) / f"seed_{seed}"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "metrics.csv", *(("eval.csv",) if env_id != ENV_ID else ())):
        shutil.copy(run_dir / name, out / name)
    (out / "actor.txt").write_text(our_actor(run_dir) + "\n")
    return out


def reference_states(env_id: str, count: int = 1000) -> np.ndarray:
    """The states of `count` steps of uniform random actions, from reset(seed=0) (and the action space seeded 0),
    resetting at each episode's end: the same for every run measured."""
    import gymnasium as gym

    env = gym.make(env_id)
    env.action_space.seed(0)
    state, _ = env.reset(seed=0)
    states = []
    for _ in range(count):
        states.append(state)
        state, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            state, _ = env.reset()
    return np.asarray(states, np.float32)


def tanh_inputs(run_dir: Path, states: np.ndarray) -> np.ndarray:
    """z, the input of the actor's tanh (build_actor's layer "tanh" before its activation), on each state."""
    from ddpg.backend import keras

    actor = keras.models.load_model(run_dir / "actor.keras")
    layer = actor.get_layer("tanh")
    below = keras.Model(actor.input, actor.layers[actor.layers.index(layer) - 1].output)
    return np.asarray(below.predict(states, verbose=0)) @ np.asarray(layer.kernel) + np.asarray(layer.bias)


EARLY_FIELDS = ("steps", "z_min", "z_median", "z_max", "no_gradient", "gradient_below_1e-6")


def early_row(steps: int, z: np.ndarray) -> dict:
    """One budget's measures of z: its range, and the fraction of states where every component's float32
    tanh'(z) is exactly 0 (no gradient reaches the actor at all) or below 1e-6."""
    gradient = 1 - np.tanh(z.astype(np.float32)) ** 2
    return {"steps": steps, "z_min": f"{z.min():.2f}", "z_median": f"{np.median(z):.2f}", "z_max": f"{z.max():.2f}",
            "no_gradient": f"{np.mean(np.all(gradient == 0, axis=1)):.3f}",
            "gradient_below_1e-6": f"{np.mean(np.all(gradient < 1e-6, axis=1)):.3f}"}


def sb3_tanh_inputs(env_id: str, seed: int, steps: int, states: np.ndarray) -> np.ndarray:
    """z of SB3's actor (its mu: the layers before the last, a Tanh) after `steps` steps of sb3_ddpg."""
    import torch

    model = sb3_ddpg(env_id, seed)
    model.learn(total_timesteps=steps)
    with torch.no_grad():
        return model.actor.mu[:-1](torch.as_tensor(states)).numpy()


def early(seed: int, budgets: list[int], env_id: str, learning_starts: bool, sb3: bool = False) -> Path:
    """Ours trained to each budget from scratch, as the queue runs it (with --learning-starts 1001 if asked), or
    SB3's; the final actor's z on the reference states, a row per budget."""
    states = reference_states(env_id)
    name = ("sb3_" if sb3 else "") + f"seed_{seed}" + ("_learning_starts_1001" if learning_starts else "")
    rows = []
    for steps in sorted(budgets):
        if sb3:
            rows.append(early_row(steps, sb3_tanh_inputs(env_id, seed, steps, states)))
            continue
        run_dir = ROOT / "runs" / "peer_check" / "early" / env_id / f"{name}_{steps}"
        run_ours(env_id, seed, steps, run_dir, learning_starts, evaluations=False)
        rows.append(early_row(steps, tanh_inputs(run_dir, states)))
    path = CHECKS / env_id / "early" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, EARLY_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def early_table(env_id: str) -> None:
    """The committed `early` rows of an environment, a row per run and budget."""
    print("| run | steps | z min | z median | z max | states with no gradient | states with gradient < 1e-6 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    paths = (CHECKS / env_id / "early").glob("*seed_*.csv")
    for path in sorted(paths, key=lambda path: (path.name.startswith("sb3"), seed_of(path), path.name)):
        run = ("SB3 DDPG, " if path.name.startswith("sb3") else "ddpg, ") + f"seed {seed_of(path)}"
        run += ", --learning-starts 1001" if "learning_starts" in path.name else ""
        for row in csv.DictReader(path.open()):
            print(f"| {run} | {row['steps']} | {row['z_min']} | {row['z_median']} | {row['z_max']} | "
                  f"{row['no_gradient']} | {row['gradient_below_1e-6']} |")


def first_learned(steps_and_returns: list[tuple[int, float]], budget: int) -> int | None:
    """The first episode-end step (<= budget) at which the mean of the last 40 returns exceeds 200."""
    window: list[float] = []
    for step, value in steps_and_returns:
        if step > budget:
            break
        window = [*window[-(AVERAGE_OVER - 1):], value]
        if np.mean(window) > LEARNED:
            return step
    return None


def reached(episodes: list[tuple[int, float]], budget: int) -> bool:
    """Whether a run went on to the budget: its last whole episode ended within one episode's length of it (the
    steps after it, an unfinished episode, are in no row)."""
    return episodes[-1][0] > budget - MAX_EPISODE_STEPS


def seed_of(path: Path) -> int:
    return int(re.search(r"seed_(\d+)", path.as_posix()).group(1))


def read(path: Path) -> tuple[list[tuple[int, float]], str]:
    """A run's (episode end step, return) rows, and its final actor's saturation if recorded (SB3's CSV's last
    line; actor.txt beside our metrics.csv)."""
    lines = path.read_text().splitlines()
    rows = [line for line in lines if not line.startswith("#")]
    actor = next((line[len("# actor: "):] for line in lines if line.startswith("# actor")), "")
    if (path.parent / "actor.txt").is_file():
        actor = (path.parent / "actor.txt").read_text().strip()
    return [(int(row["steps"]), float(row["return"])) for row in csv.DictReader(rows)], actor


def summary(budget: int, env_id: str = ENV_ID) -> None:
    """The page's two tables: each run's first step above 200 (and its actor), and the count per implementation."""
    where = places(env_id)
    print(f"| implementation | seed | first step with 40-episode average > {LEARNED:.0f} | final actor |")
    print("| --- | ---: | ---: | --- |")
    counts = {}
    for name, directory, pattern in (("ddpg, ourddpg2018", where.queue, "seed_*/metrics.csv"),
                                     ("ddpg, ourddpg2018, short runs", where.short, "seed_*/metrics.csv"),
                                     ("ddpg, ourddpg2018, --learning-starts 1001", where.learning_starts,
                                      "seed_*/metrics.csv"),
                                     ("SB3 DDPG", where.sb3, "seed_*.csv")):
        learned = seeds = 0
        for path in sorted(directory.glob(pattern), key=seed_of):
            episodes, actor = read(path)
            if not reached(episodes, budget):
                continue  # still running, or shorter than the budget
            step = first_learned(episodes, budget)
            learned, seeds = learned + (step is not None), seeds + 1
            print(f"| {name} | {seed_of(path)} | {step if step is not None else f'never by {budget}'} | "
                  f"{actor or '—'} |")
        if seeds:  # a kind of run this environment has
            counts[name] = (learned, seeds)
    print(f"\n| implementation | seeds above {LEARNED:.0f} by step {budget} |\n| --- | ---: |")
    for name, (learned, seeds) in counts.items():
        print(f"| {name} | {learned} of {seeds} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--seeds", type=int, nargs="+", required=True)
    run.add_argument("--steps", type=int, default=40_000)
    run.add_argument("--env-id", default=ENV_ID, choices=(ENV_ID, *OTHER_ENVIRONMENTS))
    actors = commands.add_parser("actors")
    actors.add_argument("run_dirs", type=Path, nargs="+")
    ours = commands.add_parser("ours")
    ours.add_argument("--seeds", type=int, nargs="+", required=True)
    ours.add_argument("--steps", type=int, default=40_000)
    ours.add_argument("--env-id", default=ENV_ID, choices=(ENV_ID, *OTHER_ENVIRONMENTS))
    ours.add_argument("--as-queued", action="store_true", help="as the queue runs it (seeds beyond the queue's)")
    trace = commands.add_parser("early")
    trace.add_argument("--seed", type=int, required=True)
    trace.add_argument("--steps", type=int, nargs="+", required=True)
    trace.add_argument("--env-id", default=ENV_ID, choices=(ENV_ID, *OTHER_ENVIRONMENTS))
    trace.add_argument("--learning-starts-1001", action="store_true")
    trace.add_argument("--sb3", action="store_true", help="SB3's DDPG with the same values, instead of ours")
    trace_table = commands.add_parser("early-table")
    trace_table.add_argument("--env-id", default=ENV_ID, choices=(ENV_ID, *OTHER_ENVIRONMENTS))
    report = commands.add_parser("summary")
    report.add_argument("--steps", type=int, default=40_000)
    report.add_argument("--env-id", default=ENV_ID, choices=(ENV_ID, *OTHER_ENVIRONMENTS))
    args = parser.parse_args()
    if args.command == "run":
        for seed in args.seeds:
            print(train_sb3(seed, args.steps, args.env_id), flush=True)
    elif args.command == "ours":
        for seed in args.seeds:
            print(train_ours(seed, args.steps, args.env_id, args.as_queued), flush=True)
    elif args.command == "early":
        if args.sb3 and args.learning_starts_1001:
            parser.error("SB3's DDPG always starts learning at step 1,001: give --sb3 or --learning-starts-1001")
        print(early(args.seed, args.steps, args.env_id, args.learning_starts_1001, args.sb3))
    elif args.command == "early-table":
        early_table(args.env_id)
    elif args.command == "actors":
        for run_dir in args.run_dirs:
            print(f"{run_dir}: {our_actor(run_dir)}")
    else:
        summary(args.steps, args.env_id)


if __name__ == "__main__":
    main()
