"""The package's layout: short public paths still work, and every layer imports only downward."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ipukit
from ipukit import _short_paths

PACKAGE = Path(ipukit.__file__).parent
# Each layer may import the layers before it, never one after it.
LAYERS = ["_env", "_short_paths", "palette", "core", "compile", "run", "lib", "simd", "sparse", "ops", "models",
          "claims", "viz", "course", "puzzles"]
# Upward imports made on purpose, each inside the one function that needs it.
ALLOWED = {
    ("ipukit/core/graph.py", "ipukit.compile.lowering"): "Graph.memory_report(): the SRAM plan, without an Engine",
}


@pytest.mark.parametrize("short", sorted(_short_paths.SHORT_PATHS))
def test_short_paths_are_the_real_modules(short):
    import importlib
    real = importlib.import_module(f"ipukit.{_short_paths.SHORT_PATHS[short]}")
    assert importlib.import_module(f"ipukit.{short}") is real
    assert callable(ipukit.check), "ipukit.check stays the function after `import ipukit.check`"


def test_python_dash_m_runs_a_short_path():
    r = subprocess.run([sys.executable, "-m", "ipukit.grade", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "usage: python -m ipukit.grade" in r.stdout, r.stderr


def layer_of(module: str) -> int:
    """``ipukit.run.engine`` -> index of "run" in LAYERS."""
    top = module.split(".")[1] if module.count(".") else ""
    if top in _short_paths.SHORT_PATHS:                           # a short path names its real module
        top = _short_paths.SHORT_PATHS[top].split(".")[0]
    assert top in LAYERS, f"{module}: put it in a layer of LAYERS (tests/test_layout.py)"
    return LAYERS.index(top)


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(absolute module, line) of every ipukit import in a file, top-level or inside a function."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])         # a module's package; an __init__ is its own package
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "ipukit":       # `from . import x`: a module of the root, or a public name
                found += [(f"ipukit.{a.name}" if a.name in LAYERS or a.name in _short_paths.SHORT_PATHS
                           else "ipukit", node.lineno) for a in node.names]
            elif target.startswith("ipukit"):
                found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("ipukit")]
    return found


def test_every_layer_imports_only_downward():
    upward = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if module == "ipukit":
            continue                       # the package root re-exports the public names
        mine = layer_of(module)
        for target, line in imports_of(path):
            if target == "ipukit":
                upward.add(f"{path.relative_to(PACKAGE.parent)}:{line} imports the package root")
            elif layer_of(target) > mine and (str(path.relative_to(PACKAGE.parent)), target) not in ALLOWED:
                upward.add(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports that go up a layer:\n" + "\n".join(sorted(upward))
