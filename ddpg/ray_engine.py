"""`ddpg sweep --engine ray`: the sweep's runs as Ray tasks, on a cluster (`--address`) or a local one.

Ray core tasks, not Ray Tune: a grid of runs needs none of Tune's search algorithms or trial
schedulers, and a task already has what a run needs. It declares its cores (`num_cpus`), so Ray packs
a node with as many runs as it has cores, and TensorFlow's pools get that many threads. It runs in a
fresh worker process (`max_calls=1`), so each run's memory goes with its process, as on the local
engine. Ray retries it when its worker process or node dies (`max_retries`); a retry resumes the run
from its last checkpoint, as `ddpg sweep` run again would. And it needs no storage path: Tune (2.7 on)
wants a shared or cloud file system for a multi-node run.

Where the files go. The driver writes a token into --out. A task on a node that reads the same token
there (one machine, or a shared file system) works on the run in place. A task on a node that does
not see it gets the run's files as the driver has them (none for a new run). It works on a copy in
the node's temporary directory and returns every file of the run, finished or stopped, which the
driver writes under --out. So without a shared file system, a retry on the same node resumes from the
node's last checkpoint, while a retry on another node starts from the driver's copy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError, first_line, install_command
from ddpg.run_files import write_beside
from ddpg.run_options import RunOptions
from ddpg.signals import stop_signals_handled
from ddpg.training import TrainingInterrupted
from ddpg.trial import run_name, stopped_sweep, train_and_evaluate, use_threads

MAX_RETRIES = 3  # a run's worker or node may die this often before the sweep gives up on it
TOKEN_FILE = ".ddpg-sweep-token"


def import_ray():
    try:
        import ray
    except ImportError:
        raise UserInputError(f"Expected Ray for --engine ray. Received: no ray module; {install_command('ray')}"
                             ) from None
    return ray


CONNECT_TIMEOUT = 30.0  # seconds to reach --address before it is refused (--connect-timeout)


@dataclass(frozen=True)
class RayEngine:
    """Ray tasks of `cpus_per_trial` cores each, on the cluster at `address` (None: a local one), reached within
    `connect_timeout` seconds."""

    address: str | None = None
    cpus_per_trial: int = 1
    connect_timeout: float = CONNECT_TIMEOUT

    def __post_init__(self) -> None:
        import_ray()

    def _connect(self, ray) -> None:
        """ray.init on --address, refused in one line when it cannot be reached within connect_timeout (Ray itself
        retries for many minutes, printing its warnings), or when no node has cpus_per_trial cores (a task that
        could never be scheduled would wait forever). Ray's own warnings stay out of the terminal."""
        where = f"--address {self.address}"
        if self.address not in (None, "auto", "local"):
            host, port = _host_and_port(self.address)
            try:
                socket.create_connection((host, port), timeout=self.connect_timeout).close()
            except OSError as error:
                reason = "no answer" if isinstance(error, TimeoutError) else (error.strerror or str(error))
                raise UserInputError(f"Expected a Ray cluster at {where}, reached within {self.connect_timeout:g} s "
                                     f"(--connect-timeout). Received: {reason}") from None
        try:  # starting a local one may take longer than reaching one
            with _alarm(self.connect_timeout * 2 if self.address else None):
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                         configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as error:
            ray.shutdown()
            raise UserInputError(f"Expected a Ray cluster at {where}. Received: {first_line(error)}") from None
        most = max((node["Resources"].get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)
        if self.cpus_per_trial > most:
            ray.shutdown()
            raise UserInputError(f"Expected --cpus-per-trial <= {most:g}, the most cores of one node of the Ray "
                                 f"cluster, or a run could never be scheduled. Received: --cpus-per-trial "
                                 f"{self.cpus_per_trial}")

    def run(self, out: Path, runs: list[tuple[DDPGConfig, RunOptions]], done: dict[int, dict],
            progress: Callable[[int, dict], None]) -> dict[int, dict]:
        """The trial of each run (under `out`) not in `done` as a Ray task; `progress(index, row)` as each
        finishes. All the rows, by the runs' indices."""
        rows, todo = dict(done), [index for index in range(len(runs)) if index not in done]
        if not todo:
            return rows
        ray, token = import_ray(), uuid.uuid4().hex
        with _stderr_quiet():  # Ray's own lines (a worker retried, its warnings); ours come on stdout or after
            return self._run(ray, token, out, runs, rows, todo, progress)

    def _run(self, ray, token: str, out: Path, runs: list[tuple[DDPGConfig, RunOptions]], rows: dict[int, dict],
             todo: list[int], progress: Callable[[int, dict], None]) -> dict[int, dict]:
        self._connect(ray)  # before anything is written into --out
        try:
            write_beside(out / TOKEN_FILE, lambda path: path.write_text(token))
            trial = ray.remote(num_cpus=self.cpus_per_trial, max_calls=1, max_retries=MAX_RETRIES)(run_trial)
            pending = {trial.remote(*runs[index], str(out), token, self.cpus_per_trial,
                                    None if runs[index][1].overwrite else _files_of(runs[index][1].out_dir)): index
                       for index in todo}
            _collect(ray, pending, runs, rows, progress)
        finally:
            ray.shutdown()
            (out / TOKEN_FILE).unlink(missing_ok=True)
        return rows


def _host_and_port(address: str) -> tuple[str, int]:
    """HOST:PORT or ray://HOST:PORT; another form is refused in one line."""
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserInputError(f"Expected --address auto, HOST:PORT or ray://HOST:PORT. Received: --address {address}")
    return host.strip("[]"), int(port)


@contextlib.contextmanager
def _stderr_quiet() -> Iterator[None]:
    """File descriptor 2 to /dev/null in the block: what Ray's core and raylets log to the driver (its connection
    retries, a worker that died and is retried) never reaches the terminal. The sweep's own lines go to stdout, its
    one-line error after the block."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """TimeoutError in the block after `seconds` (None, or outside the main thread: no bound): a cluster whose
    port answers but that never lets Ray in."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"no Ray cluster answered within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _collect(ray, pending: dict, runs: list[tuple[DDPGConfig, RunOptions]], rows: dict[int, dict],
             progress: Callable[[int, dict], None]) -> None:
    """Each finished task's row into `rows`, as they finish; on SIGINT or SIGTERM, the tasks left are
    cancelled and the sweep stops, naming the runs finished."""
    stop = _Stop()
    try:
        with stop_signals_handled(stop):
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ready[0])
                rows[index] = _result(ray, ready[0], runs[index][1].out_dir)
                progress(index, rows[index])
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        raise stopped_sweep(stop.signal_name or "SIGINT",
                            [run_name(runs[index][1].out_dir) for index in sorted(rows)]) from None


class _Stop:
    """A signal to the driver: remembered, and raised as KeyboardInterrupt out of ray.wait."""

    signal_name: str | None = None

    def __call__(self, signum, frame):
        self.signal_name = self.signal_name or signal.Signals(signum).name
        raise KeyboardInterrupt


def _result(ray, ref, run_dir: Path) -> dict:
    """A finished task's row, its files written under run_dir when it worked on a copy; its error, one line."""
    try:
        row, files = ray.get(ref)
    except ray.exceptions.RayTaskError as error:  # the run raised: ours are one line, a bug its traceback
        cause = error.cause
        if isinstance(cause, TrainingInterrupted | UserInputError | OSError):
            raise cause from None
        raise
    except ray.exceptions.RayError as error:  # its worker or node died once more than Ray retries
        raise UserInputError(f"Expected {run_name(run_dir)} to finish on Ray within {MAX_RETRIES} retries. "
                             f"Received: {type(error).__name__}; its last checkpoint stands: run the same "
                             "command again") from None
    if files is not None:
        _write_files(run_dir, files)
    return row


def run_trial(config: DDPGConfig, options: RunOptions, out: str, token: str, threads: int,
              files: dict[str, bytes] | None) -> tuple[dict, dict[str, bytes] | None]:
    """In a Ray worker: train and evaluate one run with `threads` threads; its row, and its files where
    the driver's --out is not on this node's file system."""
    use_threads(threads)
    if _reads_token(Path(out), token):
        return train_and_evaluate(config, options), None
    local = Path(tempfile.gettempdir(), "ddpg-ray", token, options.out_dir.relative_to(out))
    if not local.exists():  # a retry on this node finds the run where the last try left it
        _write_files(local, files or {})
    row = train_and_evaluate(config, dataclasses.replace(options, out_dir=local))
    files = _files_of(local)
    shutil.rmtree(local)  # the driver has the run now; a worker that dies before this line leaves it for a retry
    return row, files


def _reads_token(out: Path, token: str) -> bool:
    try:
        return (out / TOKEN_FILE).read_text() == token
    except OSError:
        return False


def _files_of(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run, by its path inside the run (none: an empty dict)."""
    if not run_dir.is_dir():
        return {}
    return {str(path.relative_to(run_dir)): path.read_bytes() for path in sorted(run_dir.rglob("*")) if path.is_file()}


def _write_files(run_dir: Path, files: dict[str, bytes]) -> None:
    """The run's files in place of what is there, through a directory beside it renamed at the end."""
    incoming = run_dir.with_name(run_dir.name + ".incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    for name, data in files.items():
        (incoming / name).parent.mkdir(parents=True, exist_ok=True)
        (incoming / name).write_bytes(data)
    incoming.mkdir(parents=True, exist_ok=True)
    if run_dir.exists():
        old = run_dir.with_name(run_dir.name + ".old")
        os.replace(run_dir, old)
        os.replace(incoming, run_dir)
        shutil.rmtree(old)
    else:
        os.replace(incoming, run_dir)
