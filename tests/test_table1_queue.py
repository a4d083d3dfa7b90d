"""docs/mujoco/table1_queue.sh's plan, with `ddpg` and `taskset` replaced by stand-ins that only record what they were
asked to do: every run on one lane only, the pendulums first to 300,000 steps and then resumed to 1,000,000 on the
same lane, and a lane started again skipping what is finished."""

import shutil
import subprocess
from pathlib import Path

import pytest

QUEUE = Path(__file__).parent.parent / "docs" / "mujoco" / "table1_queue.sh"
PENDULUMS = ("InvertedPendulum-v5", "InvertedDoublePendulum-v5")

# Writes what a finished `ddpg train` run leaves for the queue to copy, its last evaluation at --total-steps.
FAKE_DDPG = """#!/usr/bin/env bash
while [ $# -gt 0 ]; do
    case $1 in
        --out) dir=$2; shift ;;
        --resume) dir=$2; resumed=resumed; shift ;;
        --total-steps) steps=$2; shift ;;
        --checkpoint-every) every=$2; shift ;;
    esac
    shift
done
mkdir -p "$dir/checkpoint" && echo "{}" > "$dir/config.json" && echo "steps" > "$dir/metrics.csv"
echo "$steps,0.0" >> "$dir/eval.csv"
echo "$LANE $dir $steps ${every:-} ${resumed:-}" >> "$PLAN"
echo "trained"
"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """Both lanes run to the end, one after the other; each line of the returned plan: lane, run, budget, how."""
    tmp_path = tmp_path_factory.mktemp("queue")
    (tmp_path / "docs" / "mujoco").mkdir(parents=True)
    shutil.copy(QUEUE, tmp_path / "docs" / "mujoco" / "table1_queue.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ddpg").write_text(FAKE_DDPG)
    (bin_dir / "taskset").write_text('#!/usr/bin/env bash\nshift 2\nexec "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)

    def run_lane(lane: int) -> None:
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PLAN": str(tmp_path / "plan.txt"), "LANE": str(lane)}
        subprocess.run(["bash", str(tmp_path / "docs" / "mujoco" / "table1_queue.sh"), str(lane), "2"], env=env,
                       check=True, capture_output=True, text=True)

    run_lane(0)
    run_lane(1)
    return tmp_path, run_lane


def read_plan(root: Path) -> list[tuple[int, str, int, int, bool]]:
    """Each run the lanes started: lane, run, budget, checkpoint cadence, whether resumed."""
    rows = [line.split() for line in (root / "plan.txt").read_text().splitlines()]
    return [(int(row[0]), row[1], int(row[2]), int(row[3]), len(row) > 4) for row in rows]


def test_the_pendulums_checkpoint_every_thousand_episodes_and_the_others_every_ten(plan):
    # A pendulum seed that never learns ends its episodes in about 3 steps, so every 10 episodes saved every 30 steps
    # (docs/mujoco.md, the protocol). A fresh run's command and its resume's carry the same cadence.
    root, _ = plan
    cadence = {(run.split("/")[2] in PENDULUMS, resumed): every for _, run, _, every, resumed in read_plan(root)}
    assert cadence == {(True, False): 1000, (True, True): 1000, (False, False): 10}


def test_every_run_is_on_one_lane_and_the_pendulums_go_on_to_a_million_where_they_began(plan):
    root, _ = plan
    rows = read_plan(root)
    lanes_of = {}
    for lane, run, _, _, _ in rows:
        lanes_of.setdefault(run, set()).add(lane)
    assert len(lanes_of) == 70 and all(len(lanes) == 1 for lanes in lanes_of.values())
    for env_id in PENDULUMS:
        for seed in range(10):
            run = f"runs/table1/{env_id}/seed_{seed}"
            assert [(steps, resumed) for _, name, steps, _, resumed in rows if name == run] == [(300000, False),
                                                                                                (1000000, True)]
            last = (root / "docs" / "mujoco" / "runs" / env_id / f"seed_{seed}" / "eval.csv").read_text()
            assert last.splitlines()[-1].startswith("1000000,")
    others = [(steps, resumed) for _, name, steps, _, resumed in rows if name.split("/")[2] not in PENDULUMS]
    assert len(others) == 50 and set(others) == {(1000000, False)}


def test_the_first_fifty_runs_keep_their_lanes(plan):
    # Lane L takes entries L, L + 2, ... of the first 50 (seeds 0-4 on every environment, then 5-9), as before the
    # pendulums' extension was queued, so that lanes stopped mid-queue resume where they were.
    root, _ = plan
    rows = read_plan(root)
    envs = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", *PENDULUMS)
    first_fifty = [f"runs/table1/{env}/seed_{seed}" for seeds in (range(5), range(5, 10)) for env in envs
                   for seed in seeds]
    lane_of = {run: lane for lane, run, _, _, _ in rows}
    assert [lane_of[run] for run in first_fifty] == [index % 2 for index in range(50)]


def test_a_lane_started_again_runs_nothing_finished(plan):
    root, run_lane = plan
    before = (root / "plan.txt").read_text()
    run_lane(0)
    assert (root / "plan.txt").read_text() == before
