"""Redraw docs/mujoco.md's numbers from the committed runs, after the queue has copied new ones in.

    python docs/mujoco/refresh_page.py

Each table of the page that follows a `ddpg report ...` command (or the Hopper peer check's summary) is
replaced whole by what that command prints now (so no row of fewer seeds is left behind), each anchor table's
cell for an environment with runs becomes "VALUE, N of 10 seeds so far (below)", the count of runs is
updated, and each environment's figure is redrawn by the command the page names. The page tests
(tests/test_report.py, tests/test_peer_check.py) check the result.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "mujoco.md"
# The commands whose printed tables the page holds, each named in backticks on the line before its tables.
TABLE_COMMANDS = ("ddpg report docs/mujoco/runs --statistic table1 --per-seed",
                  "ddpg report docs/mujoco/runs --statistic train",
                  "ddpg report docs/mujoco/runs --compute --per-seed",
                  "python docs/mujoco/peer_check.py summary --steps 40000",
                  "python docs/mujoco/peer_check.py summary --env-id InvertedPendulum-v5 --steps 30000",
                  "python docs/mujoco/peer_check.py summary --env-id InvertedDoublePendulum-v5 --steps 8000",
                  "python docs/mujoco/peer_check.py summary --env-id Walker2d-v5 --steps 100000",
                  "python docs/mujoco/peer_check.py early-table --env-id InvertedPendulum-v5",
                  "python docs/mujoco/peer_check.py early-table --env-id InvertedDoublePendulum-v5",
                  "python docs/mujoco/peer_check.py early-table --env-id Walker2d-v5")
FIGURE_COMMAND = re.compile(r"`(ddpg report \S+ --statistic table1 --plot docs/mujoco/\S+\.png [^`]*)`")
PLANNED_RUNS = 70  # 10 seeds on each of Table 1's seven environments


def run(command: str) -> str:
    """What `command` (a `ddpg report ...` or `python docs/...` line of the page) prints, run from the repository's
    root."""
    words = shlex.split(command)
    args = [sys.executable, *([] if words[0] == "python" else ["-m", "ddpg"]), *words[1:]]
    return subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def tables(printed: str) -> list[list[str]]:
    """The Markdown tables of a command's output, each as its lines."""
    found, current = [], []
    for line in [*printed.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def replace_tables(lines: list[str], command: str, new: list[list[str]]) -> None:
    """Replace the tables after the line naming `command` (up to the next line of prose) with `new`."""
    start = next(i for i, line in enumerate(lines) if f"`{command}`" in line)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    end = first
    while end < len(lines) and (lines[end].startswith("|") or
                                (not lines[end].strip() and end + 1 < len(lines) and lines[end + 1].startswith("|"))):
        end += 1
    lines[first:end] = [line for index, table in enumerate(new) for line in ([""] if index else []) + table]


def update_anchor_cells(lines: list[str], statistic: str, rows: list[str]) -> None:
    """Each environment row's value into its anchor-table cell: the line naming that environment's command. Where
    that command gives the published value as an --anchor, the cell before it becomes where that value falls
    against the row's interval, by the function that command prints it with (ddpg.report.anchor_position; the page
    test runs the command and compares)."""
    from ddpg.report import anchor_position

    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        env_id, seeds, value = cells[0], cells[1], cells[3]
        interval = tuple(float(bound) for bound in cells[4].strip("[]").split(", "))
        command = f"ddpg report docs/mujoco/runs/{env_id} --statistic {statistic}"
        for index, line in enumerate(lines):
            named = line.rsplit(" | ", 1)[-1]
            if named != f"`{command}` |" and not named.startswith(f"`{command} --anchor "):
                continue
            parts = line.split(" | ")
            parts[2] = f"{value}, {seeds} of 10 seeds so far (below)"
            if "--anchor" in named:
                parts[3] = anchor_position(float(parts[1]), interval)
            lines[index] = " | ".join(parts)


def main() -> None:
    lines = PAGE.read_text().splitlines()
    for command in TABLE_COMMANDS:
        found = tables(run(command))
        replace_tables(lines, command, found)
        if "--statistic" in command:
            statistic = command.split("--statistic ")[1].split()[0]
            update_anchor_cells(lines, statistic, found[0][2:])
    runs = len(list((ROOT / "docs" / "mujoco" / "runs").glob("*/seed_*/eval.csv")))
    text = re.sub(r"\(\d+ of the \d+;", f"({runs} of the {PLANNED_RUNS};", "\n".join(lines) + "\n")
    PAGE.write_text(text)
    for figure in FIGURE_COMMAND.findall(text):
        run(figure)
    print(f"{PAGE.relative_to(ROOT)}: the tables of {runs} runs, and {len(FIGURE_COMMAND.findall(text))} figure(s)")


if __name__ == "__main__":
    main()
