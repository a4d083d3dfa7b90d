"""The semantic mutant catalogue (mutation/semantic_mutants.py) still applies to the code it mutates.

Running it takes a while (`tox -e mutation`); this only keeps it from going stale when the code changes.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_catalogue():
    spec = importlib.util.spec_from_file_location("semantic_mutants", ROOT / "mutation" / "semantic_mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_mutant_applies_exactly_once():
    catalogue = load_catalogue()
    assert catalogue.check_catalogue() == []
    assert len(catalogue.CATALOGUE) >= 25


def test_a_stale_mutant_is_reported(tmp_path):
    catalogue = load_catalogue()
    (tmp_path / "code.py").write_text("a = 1\na = 1\n")
    twice = catalogue.Mutant("twice", "code.py", "a = 1", "a = 2", "")
    missing = catalogue.Mutant("missing", "code.py", "b = 1", "b = 2", "")
    assert catalogue.check_catalogue((twice, missing, missing), tmp_path) == [
        "missing: named twice", "twice: its text is found 2 times in code.py, not once",
        "missing: its text is found 0 times in code.py, not once",
        "missing: its text is found 0 times in code.py, not once"]


def test_the_last_runs_killers_are_read_from_its_table(tmp_path):
    catalogue = load_catalogue()
    table = tmp_path / "last_run.md"
    table.write_text("# last run\n\n| mutant | file | killed by | seconds |\n| --- | --- | --- | ---: |\n"
                     "| gamma-ignored | ddpg/agent.py | tests/test_agent.py::test_gamma[graph] | 5 |\n"
                     "| survivor | ddpg/loop.py | SURVIVED | 600 |\n"
                     "| slow-one | ddpg/loop.py | TIMEOUT | 1800 |\n\n58 of 58 mutants killed\n")
    assert catalogue.last_killers(table) == {"gamma-ignored": "tests/test_agent.py::test_gamma[graph]"}
    assert catalogue.last_killers(tmp_path / "absent.md") == {}


def write_project(root, test_text):
    (root / "tests").mkdir()
    (root / "property_tests").mkdir()
    (root / "ddpg").mkdir()
    (root / "ddpg" / "__init__.py").write_text("")
    (root / "tests" / "test_one.py").write_text(test_text)


def test_a_killer_that_no_longer_exists_kills_nothing(tmp_path):
    # pytest exits 4 on a node id it cannot find: that is not a failing test, so the whole suite decides
    catalogue = load_catalogue()
    write_project(tmp_path, "def test_passes():\n    assert 1 + 1 == 2\n")
    status, failed, _ = catalogue.run_suite(tmp_path, first=(), killer="tests/test_one.py::test_renamed")
    assert (status, failed) == ("survived", "")


def test_the_last_killer_runs_first_and_a_failure_there_kills(tmp_path):
    catalogue = load_catalogue()
    write_project(tmp_path, "def test_fails():\n    assert 1 + 1 == 3\n")
    status, failed, _ = catalogue.run_suite(tmp_path, first=(), killer="tests/test_one.py::test_fails")
    assert (status, failed) == ("killed", "tests/test_one.py::test_fails")
