"""Hopper seeds that never learn: DDPG's own failure, or ours? A peer's DDPG with ourddpg2018's values.

    pip install -e '.[peers,mujoco]'        # in the checkout: Stable-Baselines3 (PyTorch) and MuJoCo
    python docs/mujoco/peer_check.py run --seeds 0 1 2 3 4 --steps 40000
    python docs/mujoco/peer_check.py ours --seeds 0 1 2 3 4 --steps 40000
    python docs/mujoco/peer_check.py summary --steps 40000
    python docs/mujoco/peer_check.py actors runs/table1/Hopper-v5/seed_*    # our runs' directories, if kept

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
actor.txt (the run itself under runs/peer_check/).

It writes, per seed, docs/mujoco/peer_check/sb3_Hopper-v5/seed_S.csv: each training episode's end step and
return (with noise, as our metrics.csv), and a last line `# actor` with the final actor's saturation on the
last 2,000 states it visited: the fraction of states where every action component is at its bound
(|a| >= 0.999) and the actions' standard deviation over those states.

`actors` measures the same saturation for our runs, from a run directory that `ddpg train` wrote (its
actor.keras, and the last 2,000 states of the replay buffer its checkpoint holds; neither is committed).

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

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "mujoco" / "peer_check" / "sb3_Hopper-v5"
OURS = ROOT / "docs" / "mujoco" / "runs" / "Hopper-v5"
OURS_LATE = ROOT / "docs" / "mujoco" / "peer_check" / "ours_learning_starts_1001"
ENV_ID, AVERAGE_OVER, LEARNED, MAX_EPISODE_STEPS = "Hopper-v5", 40, 200.0, 1000


def train_sb3(seed: int, steps: int) -> Path:
    """One SB3 DDPG run with ourddpg2018's values; its episodes and its actor's saturation to a CSV."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import DDPG
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.noise import NormalActionNoise

    torch.set_num_threads(1)  # one core per run, as our queue's lanes
    episodes: list[tuple[int, float]] = []

    class Episodes(BaseCallback):
        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    episodes.append((self.num_timesteps, float(info["episode"]["r"])))
            return True

    env = gym.make(ENV_ID)
    action_dim = env.action_space.shape[0]
    model = DDPG("MlpPolicy", env, learning_rate=1e-3, buffer_size=1_000_000, learning_starts=1000,
                 batch_size=100, tau=0.005, gamma=0.99, train_freq=(1, "episode"), gradient_steps=-1,
                 action_noise=NormalActionNoise(np.zeros(action_dim), 0.1 * np.ones(action_dim)),
                 policy_kwargs={"net_arch": [400, 300]}, seed=seed, device="cpu")
    model.learn(total_timesteps=steps, callback=Episodes())

    buffer = model.replay_buffer
    end = buffer.buffer_size if buffer.full else buffer.pos
    states = buffer.observations[max(0, end - 2000):end, 0]
    with torch.no_grad():
        actions = model.actor(torch.as_tensor(states, dtype=torch.float32)).numpy()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"seed_{seed}.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["steps", "return"])
        writer.writerows((step, f"{value:.6f}") for step, value in episodes)
        file.write(f"# actor: {saturation(actions)}\n")
    return path


def saturation(actions: np.ndarray) -> str:
    """The fraction of states whose every action component is at its bound (|a| >= 0.999 of a bound of 1:
    Hopper's), and the actions' standard deviation over the states (mean over components)."""
    saturated = np.mean(np.all(np.abs(actions) >= 0.999, axis=1))
    return f"saturated {saturated:.4f} action_std {float(actions.std(axis=0).mean()):.4f}"


def our_actor(run_dir: Path) -> str:
    """Our final actor's saturation on the last 2,000 states of the run's replay buffer, as its checkpoint holds
    it (ddpg.checkpoint: the segments it lists, checked; slot t % capacity holds step t's state)."""
    from ddpg.checkpoint import load_checkpoint
    from ddpg.policy import load_policy

    checkpoint = load_checkpoint(run_dir / "checkpoint")
    states, end = checkpoint.arrays["buffer/obs"], checkpoint.manifest["replay"]["end"]
    return saturation(load_policy(run_dir).predict(states[np.arange(max(0, end - 2000), end) % len(states)]))


def train_ours(seed: int, steps: int) -> Path:
    """Our ourddpg2018 on Hopper-v5, as the Table 1 queue runs it but with no update before step 1,001."""
    import shutil
    import subprocess
    import sys

    run_dir = ROOT / "runs" / "peer_check" / f"seed_{seed}"
    subprocess.run([sys.executable, "-m", "ddpg", "train", "--preset", "ourddpg2018", "--env-id", ENV_ID,
                    "--seed", str(seed), "--total-steps", str(steps), "--random-steps", "1000",
                    "--learning-starts", "1001", "--no-tensorboard", "--overwrite", "--out", str(run_dir)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    out = OURS_LATE / f"seed_{seed}"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "metrics.csv"):
        shutil.copy(run_dir / name, out / name)
    (out / "actor.txt").write_text(our_actor(run_dir) + "\n")
    return out


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


def summary(budget: int) -> None:
    """The page's two tables: each run's first step above 200 (and its actor), and the count per implementation."""
    print(f"| implementation | seed | first step with 40-episode average > {LEARNED:.0f} | final actor |")
    print("| --- | ---: | ---: | --- |")
    counts = {}
    for name, directory, pattern in (("ddpg, ourddpg2018", OURS, "seed_*/metrics.csv"),
                                     ("ddpg, ourddpg2018, --learning-starts 1001", OURS_LATE, "seed_*/metrics.csv"),
                                     ("SB3 DDPG", OUT, "seed_*.csv")):
        learned = seeds = 0
        for path in sorted(directory.glob(pattern), key=seed_of):
            episodes, actor = read(path)
            if not reached(episodes, budget):
                continue  # still running, or shorter than the budget
            step = first_learned(episodes, budget)
            learned, seeds = learned + (step is not None), seeds + 1
            print(f"| {name} | {seed_of(path)} | {step if step is not None else f'never by {budget}'} | "
                  f"{actor or '—'} |")
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
    actors = commands.add_parser("actors")
    actors.add_argument("run_dirs", type=Path, nargs="+")
    ours = commands.add_parser("ours")
    ours.add_argument("--seeds", type=int, nargs="+", required=True)
    ours.add_argument("--steps", type=int, default=40_000)
    report = commands.add_parser("summary")
    report.add_argument("--steps", type=int, default=40_000)
    args = parser.parse_args()
    if args.command == "run":
        for seed in args.seeds:
            print(train_sb3(seed, args.steps), flush=True)
    elif args.command == "ours":
        for seed in args.seeds:
            print(train_ours(seed, args.steps), flush=True)
    elif args.command == "actors":
        for run_dir in args.run_dirs:
            print(f"{run_dir}: {our_actor(run_dir)}")
    else:
        summary(args.steps)


if __name__ == "__main__":
    main()
