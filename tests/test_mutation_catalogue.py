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
