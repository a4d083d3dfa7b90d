"""docs/mujoco/table1_queue.sh's plan, with `ddpg` and `taskset` replaced by stand-ins that only record what they were
asked to do: every run exactly once, never on two lanes at once, the pendulums first to 300,000 steps and then resumed
to 1,000,000, a run with a checkpoint resumed first, and a lane started again skipping what is finished."""

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

# Slow (tox runs it on the newest Python only): it starts bash lanes, and what it checks is a bash script, the same
# on every Python.
pytestmark = pytest.mark.slow

QUEUE = Path(__file__).parent.parent / "docs" / "mujoco" / "table1_queue.sh"
PENDULUMS = ("InvertedPendulum-v5", "InvertedDoublePendulum-v5")

# Writes what a finished `ddpg train` run leaves for the queue to copy, its last evaluation at --total-steps. While it
# "trains", it holds DIR.busy; finding it taken means a second lane is on the same run.
FAKE_DDPG = """#!/usr/bin/env bash
while [ $# -gt 0 ]; do
    case $1 in
        --out) dir=$2; shift ;;
        --resume) dir=$2; resumed=resumed; shift ;;
        --total-steps) steps=$2; shift ;;
        --checkpoint-every) every=$2; shift ;;
        --no-tensorboard) events=no-events ;;
    esac
    shift
done
mkdir "$dir.busy" 2>/dev/null || echo "CLASH $dir" >> "$PLAN"
sleep "${TRAIN_SECONDS:-0}"
mkdir -p "$dir/checkpoint" && echo "{}" > "$dir/config.json" && echo "steps" > "$dir/metrics.csv"
echo "$steps,0.0" >> "$dir/eval.csv"
echo "$LANE $dir $steps ${every:-} ${events:-events} ${resumed:-}" >> "$PLAN"
rmdir "$dir.busy"
echo "trained"
"""


class Queue:
    """A copy of the queue in a directory of its own, with the stand-ins on PATH."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "docs" / "mujoco").mkdir(parents=True)
        shutil.copy(QUEUE, root / "docs" / "mujoco" / "table1_queue.sh")
        self.bin = root / "bin"
        self.bin.mkdir()
        (self.bin / "ddpg").write_text(FAKE_DDPG)
        (self.bin / "taskset").write_text('#!/usr/bin/env bash\nshift 2\nexec "$@"\n')
        for tool in self.bin.iterdir():
            tool.chmod(0o755)

    def start(self, lane: int, train_seconds: float = 0.0, path: str | None = None) -> subprocess.Popen:
        env = {"PATH": path or f"{self.bin}:/usr/bin:/bin", "PLAN": str(self.root / "plan.txt"), "LANE": str(lane),
               "TRAIN_SECONDS": str(train_seconds)}
        return subprocess.Popen(["bash", str(self.root / "docs" / "mujoco" / "table1_queue.sh"), str(lane)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def run(self, *lanes: int, train_seconds: float = 0.0) -> None:
        """The lanes started together, each run to its end."""
        for lane_process in [self.start(lane, train_seconds) for lane in lanes]:
            output, _ = lane_process.communicate()
            assert lane_process.returncode == 0, output

    def rows(self) -> list[list[str]]:
        lines = (self.root / "plan.txt").read_text().splitlines() if (self.root / "plan.txt").exists() else []
        assert not [line for line in lines if line.startswith("CLASH")]
        return [line.split() for line in lines]

    def plan(self) -> list[tuple[int, str, int, int, bool]]:
        """Each run the lanes started: lane, run, budget, checkpoint cadence, whether resumed."""
        return [(int(row[0]), row[1], int(row[2]), int(row[3]), len(row) > 5) for row in self.rows()]

    def events(self) -> set[tuple[bool, str]]:
        """Whether each command, fresh or resumed, asked for TensorBoard's events."""
        return {(len(row) > 5, row[4]) for row in self.rows()}


@pytest.fixture(scope="module")
def both_lanes(tmp_path_factory) -> Queue:
    """Both lanes started together and run to the end, each run taking a little time."""
    queue = Queue(tmp_path_factory.mktemp("queue"))
    queue.run(0, 1, train_seconds=0.02)
    return queue


def test_the_pendulums_checkpoint_every_thousand_episodes_and_the_others_every_ten(both_lanes):
    # A pendulum seed that never learns ends its episodes in about 3 steps, so every 10 episodes saved every 30 steps
    # (docs/mujoco.md, the protocol). A fresh run's command and its resume's carry the same cadence.
    cadence = {(run.split("/")[2] in PENDULUMS, resumed): every for _, run, _, every, resumed in both_lanes.plan()}
    assert cadence == {(True, False): 1000, (True, True): 1000, (False, False): 10}


def test_no_run_writes_tensorboard_events_fresh_or_resumed(both_lanes):
    # A resume without --no-tensorboard wrote events every episode until `ddpg train --resume` kept the run's own
    # choice: 9 % of a dead InvertedDoublePendulum seed's time (py-spy, 2026-12-03). The queue still gives the flag.
    assert both_lanes.events() == {(False, "no-events"), (True, "no-events")}


def test_every_run_once_and_the_pendulums_go_on_to_a_million(both_lanes):
    rows = both_lanes.plan()
    assert len({run for _, run, _, _, _ in rows}) == 70
    for env_id in PENDULUMS:
        for seed in range(10):
            run = f"runs/table1/{env_id}/seed_{seed}"
            assert [(steps, resumed) for _, name, steps, _, resumed in rows if name == run] == [(300000, False),
                                                                                                (1000000, True)]
            last = (both_lanes.root / "docs" / "mujoco" / "runs" / env_id / f"seed_{seed}" / "eval.csv").read_text()
            assert last.splitlines()[-1].startswith("1000000,")
    others = [(steps, resumed) for _, name, steps, _, resumed in rows if name.split("/")[2] not in PENDULUMS]
    assert len(others) == 50 and set(others) == {(1000000, False)}


def test_both_lanes_share_the_queue_and_never_hold_one_run_at_once(both_lanes):
    # plan() fails on a CLASH: the stand-in found another lane inside the same run.
    rows = both_lanes.plan()
    assert {lane for lane, _, _, _, _ in rows} == {0, 1}


def test_a_lane_skips_a_run_another_lane_holds_and_takes_it_once_free(tmp_path):
    queue = Queue(tmp_path)
    held = tmp_path / "runs" / "table1" / "Hopper-v5" / "seed_3.lane"
    held.parent.mkdir(parents=True)
    with held.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        queue.run(0)
        assert "runs/table1/Hopper-v5/seed_3" not in {run for _, run, _, _, _ in queue.plan()}
        assert len(queue.plan()) == 89
    queue.run(0)
    assert queue.plan()[89:] == [(0, "runs/table1/Hopper-v5/seed_3", 1000000, 10, False)]


def test_a_lane_resumes_a_run_with_a_checkpoint_before_anything_else(tmp_path):
    queue = Queue(tmp_path)
    (tmp_path / "runs" / "table1" / "Walker2d-v5" / "seed_7" / "checkpoint").mkdir(parents=True)
    queue.run(1)
    assert queue.plan()[0] == (1, "runs/table1/Walker2d-v5/seed_7", 1000000, 10, True)
    assert queue.plan()[1][1] == "runs/table1/HalfCheetah-v5/seed_0"


def test_a_lane_started_again_runs_nothing_finished(both_lanes):
    before = (both_lanes.root / "plan.txt").read_text()
    both_lanes.run(0)
    assert (both_lanes.root / "plan.txt").read_text() == before


def test_a_lane_without_flock_says_so_and_trains_nothing(tmp_path):
    # Without flock every lock would fail, and the lane would skip every run in silence.
    queue = Queue(tmp_path)
    for tool in [*Path("/usr/bin").iterdir(), *Path("/bin").iterdir()]:
        if tool.name != "flock" and not (queue.bin / tool.name).exists():
            (queue.bin / tool.name).symlink_to(tool)
    lane = queue.start(0, path=str(queue.bin))
    output, _ = lane.communicate()
    assert (lane.returncode, output) == (2, "table1_queue.sh: expected flock (util-linux) on PATH to lock a run\n")
    assert queue.plan() == []
