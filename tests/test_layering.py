"""The pure parts must not pull in TensorFlow, Keras or Gymnasium; no module of ddpg imports itself through others."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["ddpg", "ddpg.config", "ddpg.noise", "ddpg.replay_buffer", "ddpg.targets",
                                    "ddpg.checkpoint", "ddpg.errors", "ddpg.manifest", "ddpg.memory",
                                    "ddpg.exploration", "ddpg.presets", "ddpg.grid", "ddpg.report", "ddpg.policy",
                                    "ddpg.callbacks", "ddpg.run_schema", "ddpg.normalization"])
def test_pure_modules_load_no_framework(module):
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('tensorflow', 'keras', 'gymnasium', 'torch', 'jax') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing {module} loaded {out.stdout.strip()}"


def test_the_local_engine_loads_no_ray():
    # `ddpg sweep` without --engine ray must run where Ray is not installed, and not pay for its import.
    code = ("import sys, ddpg.cli, ddpg.sweep, ddpg.grid; "
            "ddpg.cli.build_parser().parse_args(['sweep', '--grid', 'tau=0.1,0.2']); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def ddpg_imports(path: Path) -> set[str]:
    """Every ddpg module that `path` imports, wherever the import stands: at the top, in a function, or under
    TYPE_CHECKING (a circle of annotations is still a circle for a reader)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
            if node.module == "ddpg":  # from ddpg import checkpoint
                imported |= {f"ddpg.{alias.name}" for alias in node.names}
    return {name for name in imported if name.startswith("ddpg.") and name in MODULES}


MODULES = {f"ddpg.{path.stem}": path for path in (Path(__file__).parent.parent / "ddpg").glob("*.py")
           if path.stem != "__init__"}  # the package itself hands names on: every module passes through it


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for next_node in graph[node]:
            if next_node not in index:
                visit(next_node)
                low[node] = min(low[node], low[next_node])
            elif next_node in on_stack:
                low[node] = min(low[node], index[next_node])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_in_ddpg():
    # Dependencies point one way (README, Layout), function-level imports included.
    graph = {module: ddpg_imports(path) - {module} for module, path in MODULES.items()}
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
