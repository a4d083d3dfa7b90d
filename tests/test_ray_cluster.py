"""`ddpg sweep --engine ray` on a Ray cluster of two nodes started with `ray start` on this machine: a
2 x 2 x 3 grid survives a killed worker (the run resumes from its checkpoint, each episode once in its
metrics.csv) and gives the local engine's table. Needs Ray (`pip install -e ".[ray]"`); `tox -e ray`
runs it, the default environments skip it."""

import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import TINY

pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]"; tox -e ray runs this)')

RAY = str(Path(sys.executable).with_name("ray"))
TESTS = str(Path(__file__).parent)  # on the nodes' PYTHONPATH, as a user's package is on theirs
EPISODES = 6
GRID = ["--grid", "tau=0.5,0.25", "--grid", "gamma=0.9,0.99", "--seeds", "0-2", "--episodes", EPISODES,
        "--checkpoint-every", 2, "--eval-episodes", 1, *TINY]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node of one CPU each; token authentication as Ray (2.59 on) has it by default.
    `ray stop --force` at the end stops every Ray process on this machine: run it where no other Ray runs."""
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16),
           "PYTHONPATH": os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")])}
    address = f"127.0.0.1:{free_port()}"
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([RAY, "start", "--head", "--port", address.split(":")[1], "--include-dashboard=false",
                        *common], env=env, check=True, capture_output=True, timeout=120)
        subprocess.run([RAY, "start", "--address", address, *common], env=env, check=True, capture_output=True,
                       timeout=120)
        count = (f"import ray; ray.init(address='{address}', logging_level='ERROR'); "
                 "print(sum(node['Alive'] for node in ray.nodes()))")
        deadline = time.monotonic() + 120
        while subprocess.run([sys.executable, "-c", count], env=env, capture_output=True, text=True,
                             timeout=120).stdout.strip() != "2":
            assert time.monotonic() < deadline, "the second node never joined"
            time.sleep(1)
        yield address, env
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)


def sweep(*args, env=None, out):
    return subprocess.Popen([sys.executable, "-m", "ddpg", "sweep", *map(str, args), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def episodes(run: Path) -> list[int]:
    with (run / "metrics.csv").open() as file:
        return [int(row["episode"]) for row in csv.DictReader(file)]


def results(out: Path) -> list[dict]:
    with (out / "sweep.csv").open() as file:
        return [{name: value for name, value in row.items() if name not in ("wall_seconds", "steps_per_second")}
                for row in csv.DictReader(file)]


def test_a_grid_on_two_nodes_survives_a_killed_worker_and_gives_the_local_engines_table(cluster, tmp_path):
    address, env = cluster
    started = time.monotonic()
    driver = sweep("--engine", "ray", "--address", address, *GRID, env=env, out=tmp_path / "ray")
    # Wait for a run with a checkpoint that is not finished, then kill every trial's worker process.
    deadline = time.monotonic() + 600
    while True:
        assert time.monotonic() < deadline and driver.poll() is None, driver.communicate()
        resumable = [run for run in (tmp_path / "ray").glob("*/seed_*") if (run / "replay").is_dir()
                     and (run / "metrics.csv").exists() and 2 < len(episodes(run)) < EPISODES]
        if resumable:
            break
        time.sleep(0.05)
    victim = resumable[0]
    first_segment = min((victim / "replay").iterdir())
    kept = first_segment.stat().st_ino
    workers = subprocess.run(["pgrep", "-f", "ray::run_trial"], capture_output=True, text=True).stdout.split()
    assert workers, "no trial running"
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    stdout, stderr = driver.communicate(timeout=900)
    ray_seconds = time.monotonic() - started
    assert driver.returncode == 0, stderr
    assert "(raylet)" not in stderr and "Traceback" not in stderr, stderr  # Ray's lines about the retries: not ours

    runs = sorted((tmp_path / "ray").glob("*/seed_*"))
    assert len(runs) == 12
    for run in runs:
        assert episodes(run) == list(range(1, EPISODES + 1)), run  # each episode once, retried or not
    # The killed run went on from its checkpoint: its first replay segment is the file written before the kill.
    assert first_segment.stat().st_ino == kept

    started = time.monotonic()
    local = sweep("--workers", 2, *GRID, out=tmp_path / "local")
    local_stdout, local_stderr = local.communicate(timeout=900)
    local_seconds = time.monotonic() - started
    assert local.returncode == 0, local_stderr
    assert results(tmp_path / "ray") == results(tmp_path / "local")
    table = [line for line in stdout.splitlines() if line.startswith("| tau=")]
    assert table == [line for line in local_stdout.splitlines() if line.startswith("| tau=")] and len(table) == 4
    print(f"\n{stdout}\nray engine (two nodes of 1 CPU, one worker killed): {ray_seconds:.1f} s; local engine "
          f"(--workers 2): {local_seconds:.1f} s; 12 runs")


def test_a_killed_driver_is_finished_by_the_same_command(cluster, tmp_path):
    # The driver dies (SIGKILL: no chance to clean up) with runs under way; Ray ends its tasks with it. The same
    # command run again skips what finished, resumes the rest, and gives the table of an uninterrupted sweep.
    address, env = cluster
    args = ["--engine", "ray", "--address", address, "--grid", "tau=0.5,0.25", "--seeds", "0-1", "--episodes",
            EPISODES, "--checkpoint-every", 2, "--eval-episodes", 1, *TINY]
    driver = sweep(*args, env=env, out=tmp_path / "ray")
    deadline = time.monotonic() + 600
    while not any((run / "replay").is_dir() for run in (tmp_path / "ray").glob("*/seed_*")):
        assert time.monotonic() < deadline and driver.poll() is None, driver.communicate()
        time.sleep(0.05)
    driver.kill()
    driver.communicate()
    # Ray ends the dead driver's tasks within moments; until then their runs are locked (a second writer is
    # refused, in one line), so the command is run again once they are gone, as a person would.
    while subprocess.run(["pgrep", "-f", "ray::run_trial"], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, "the dead driver's tasks kept running"
        time.sleep(0.2)
    again = sweep(*args, env=env, out=tmp_path / "ray")
    _, stderr = again.communicate(timeout=900)
    assert again.returncode == 0, stderr
    for run in sorted((tmp_path / "ray").glob("*/seed_*")):
        assert episodes(run) == list(range(1, EPISODES + 1)), run
    local = sweep("--workers", 2, *args[4:], out=tmp_path / "local")
    _, local_stderr = local.communicate(timeout=900)
    assert local.returncode == 0, local_stderr
    assert results(tmp_path / "ray") == results(tmp_path / "local")


# --- refusals: bounded in time, one line, nothing of ours left in --out -----------------------------------------

def test_an_unreachable_address_is_one_line_within_the_connect_timeout(tmp_path):
    # A closed port on this machine: it used to hang some 14 minutes and print about 60 lines of Ray's warnings.
    port = free_port()  # bound, then closed: nothing listens there
    started = time.monotonic()
    driver = sweep("--engine", "ray", "--address", f"127.0.0.1:{port}", "--connect-timeout", 5, "--seeds", 0,
                   "--episodes", 1, *TINY, out=tmp_path / "sweep")
    _, stderr = driver.communicate(timeout=120)
    assert time.monotonic() - started < 60, stderr
    assert driver.returncode == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"Expected a Ray cluster at --address 127.0.0.1:{port}, reached within 5 s (--connect-timeout). " \
           "Received: Connection refused" in stderr
    assert not (tmp_path / "sweep").exists()


def test_a_trial_that_could_never_be_scheduled_is_refused_before_the_sweep_starts(cluster, tmp_path):
    # Each node has 1 CPU: a run asking for 2 used to wait forever. A sweep already there keeps its files.
    address, env = cluster
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    driver = sweep("--engine", "ray", "--address", address, "--cpus-per-trial", 2, "--seeds", 0, "--episodes", 1,
                   *TINY, env=env, out=out)
    _, stderr = driver.communicate(timeout=300)
    assert driver.returncode == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert "Expected --cpus-per-trial <= 1, the most cores of one node of the Ray cluster" in stderr, stderr
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]  # no token, no run


def test_the_connect_bound_holds_where_the_port_answers_but_ray_never_does(monkeypatch, tmp_path):
    # ray.init waiting on a port that accepts but is not Ray's (its own retries last minutes) is cut at twice the
    # connect timeout. ray.init stands in here, as a listener that is not Ray would make it wait.
    import ray

    from ddpg.errors import UserInputError
    from ddpg.ray_engine import RayEngine

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        monkeypatch.setattr(ray, "init", lambda **kwargs: time.sleep(60))
        engine = RayEngine(f"127.0.0.1:{listener.getsockname()[1]}", connect_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(UserInputError, match="Received: no Ray cluster answered within 1 s"):
            engine._connect(ray)
        assert time.monotonic() - started < 5


def test_a_module_qualified_id_with_env_kwargs_sweeps_on_the_cluster(cluster, tmp_path):
    # The module that registers the environment is imported in each trial's worker, and env_kwargs reach it there.
    address, env = cluster
    driver = sweep("--engine", "ray", "--address", address, "--env-id", "owntask_envs:owntask/Reach-v0",
                   "--env-kwargs", '{"scale": 2.0}', "--seeds", "0-1", "--episodes", 2, "--eval-episodes", 1, *TINY,
                   env=env, out=tmp_path / "ray")
    stdout, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr
    summary = json.loads((tmp_path / "ray" / "sweep.json").read_text())
    assert summary, summary
    for seed in (0, 1):
        config = json.loads((tmp_path / "ray" / f"seed_{seed}" / "config.json").read_text())
        assert config["env_id"] == "owntask_envs:owntask/Reach-v0"  # env_kwargs: kept as canonical JSON text
        assert json.loads(config["env_kwargs"]) == {"scale": 2.0}
        assert episodes(tmp_path / "ray" / f"seed_{seed}") == [1, 2]
    assert "seed_0" in stdout and "seed_1" in stdout, stdout  # a line per finished run
