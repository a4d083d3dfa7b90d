"""Mutation score of the NumPy-only modules: mutmut 3 over what setup.cfg's [mutmut] names, then a verdict.

    python mutation/run_mutmut.py                    # a fresh run on every core
    python mutation/run_mutmut.py --max-children 1   # one mutant at a time (a shared or busy machine)
    python mutation/run_mutmut.py --incremental      # keep mutants/ and mutmut's cached results

Prints killed / survived / no tests / timeout counts, per module and in all. Exit status 0 when every mutant was
killed (or timed out: its tests did not pass) or is listed in mutation/equivalent_mutants.txt; 1 when one survived
or reached no test without being listed there, or the list names a mutant that no longer exists or is killed
(stale); 2 when mutmut itself failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "mutation" / "equivalent_mutants.txt"
# Statuses that mean the tests caught the mutant; any other (survived, no tests, suspicious, not checked, ...) is a
# gap unless the mutant is listed as equivalent.
CAUGHT = {"killed", "timeout", "caught by type check"}
COLUMNS = ("killed", "survived", "no tests", "timeout")


def mutmut_command() -> str:
    """The mutmut beside this Python (a venv's or tox's), else the one on PATH."""
    beside = Path(sys.executable).parent / "mutmut"
    found = str(beside) if beside.exists() else shutil.which("mutmut")
    if found is None:
        raise SystemExit("error: mutmut is not installed (pip install 'mutmut==3.8.*')")
    return found


def read_equivalents(path: Path = EQUIVALENT) -> tuple[dict[str, str], list[str]]:
    """{mutant name: why it is equivalent} from `name  # why` lines, and the lines that give no reason."""
    equivalents, problems = {}, []
    for number, line in enumerate(path.read_text().splitlines() if path.exists() else [], start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, why = line.partition("#")
        if not why.strip():
            problems.append(f"{path.name}:{number}: {name.strip()} gives no reason why it is equivalent")
        equivalents[name.strip()] = why.strip()
    return equivalents, problems


def read_results(mutmut: str) -> dict[str, str]:
    """{mutant name: status} of every mutant, from `mutmut results --all true`."""
    output = subprocess.run([mutmut, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    return dict(re.findall(r"^\s+(\S+): (.+?)\s*$", output, re.MULTILINE))


def module_of(mutant: str) -> str:
    # ddpg.config.x_layer_sizes__mutmut_3 and ddpg.config.xǁIntervalǁ__call____mutmut_7 -> ddpg.config
    return re.sub(r"\.x[_ǁ].*$", "", mutant)


def report(results: dict[str, str]) -> None:
    counts = {module: Counter() for module in sorted({module_of(name) for name in results})}
    for name, status in results.items():
        counts[module_of(name)][status] += 1
    other = sorted({status for status in results.values()} - set(COLUMNS))
    header = ("module", *COLUMNS, *other)
    rows = [(module, *(str(count[status]) for status in header[1:])) for module, count in counts.items()]
    total = Counter(results.values())
    rows.append(("all", *(str(total[status]) for status in header[1:])))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                        for i, (cell, width) in enumerate(zip(row, widths, strict=True))))


def verdict(results: dict[str, str], equivalents: dict[str, str]) -> list[str]:
    """Every mutant that the tests let through and is not listed, and every stale name in the list."""
    gaps = [f"{status}: {name}" for name, status in sorted(results.items())
            if status not in CAUGHT and name not in equivalents]
    stale = [f"stale in {EQUIVALENT.name} (no such mutant): {name}" for name in sorted(equivalents)
             if name not in results]
    stale += [f"stale in {EQUIVALENT.name} ({results[name]}, so not equivalent): {name}" for name in sorted(equivalents)
              if results.get(name) in CAUGHT]
    return gaps + stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1,
                        help="mutants tested at once (default: the number of CPUs)")
    parser.add_argument("--incremental", action="store_true",
                        help="keep mutants/ from the last run: only changed code is tested again (results of "
                             "unchanged code may be stale when only the tests changed)")
    args = parser.parse_args(argv)
    mutmut = mutmut_command()
    equivalents, problems = read_equivalents()
    if not args.incremental:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    if subprocess.run([mutmut, "run", "--max-children", str(args.max_children)], cwd=ROOT).returncode != 0:
        print("error: mutmut run failed (see above)", file=sys.stderr)
        return 2
    results = read_results(mutmut)
    if not results:
        print("error: mutmut reported no mutants", file=sys.stderr)
        return 2
    print()
    report(results)
    listed = sum(1 for name, status in results.items() if name in equivalents and status not in CAUGHT)
    print(f"\n{listed} of the survivors are listed as equivalent in {EQUIVALENT.relative_to(ROOT)}")
    problems += verdict(results, equivalents)
    if problems:
        print(f"\n{len(problems)} problems (`mutmut show NAME` shows a mutant's diff):\n  " + "\n  ".join(problems))
        return 1
    print("every mutant is killed or listed as equivalent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
