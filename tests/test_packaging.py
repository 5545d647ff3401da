"""pyproject.toml alone is enough to run ipukit: a fresh virtual environment, ``pip install`` of the
package (no requirements.txt), and a matmul on the numba backend."""
import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

MATMUL = """
import numpy as np, ipukit
from ipukit import ops
g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
a, b = g.add_variable((8, 8), name="a"), g.add_variable((8, 8), name="b")
g.map_linearly(a); g.map_linearly(b)
out, prog = ops.matmul(g, a, b)
eng = ipukit.Engine(g, prog, backend="numba")
x = np.arange(64, dtype=np.float32).reshape(8, 8) / 64
eng.write(a, x); eng.write(b, x.T.copy()); eng.run()
assert np.allclose(eng.read(out), x @ x.T, rtol=1e-6), eng.read(out)
print("matmul ok", ipukit.__file__)
"""


def test_pyproject_declares_an_spdx_licence_and_scipy():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert project["build-system"]["requires"] == ["setuptools>=77"]     # the first to take SPDX strings
    names = [d.split(">")[0].split("=")[0].strip() for d in project["project"]["dependencies"]]
    assert "scipy" in names                 # numba's np.dot calls BLAS through scipy
    required = {line.split(">")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert set(names) <= required, "requirements.txt keeps every runtime dependency too"


def _no_index(tmp_path, env) -> str | None:
    """Why pip cannot reach a package index (None if it can)."""
    probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest",
                            str(tmp_path / "probe"), "setuptools>=77"], env=env, capture_output=True,
                           text=True, timeout=300)
    return None if probe.returncode == 0 else probe.stderr.strip().splitlines()[-1:]


@pytest.mark.slow
def test_pip_install_alone_runs_a_numba_matmul(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IPUKIT_CACHE_DIR", "VIRTUAL_ENV")}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "numba"), IPUKIT_QUIET="1")
    why = _no_index(tmp_path, env)
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"pip cannot reach a package index: {why}")
        pytest.skip(f"pip cannot reach a package index: {why}")

    # a copy of what the package is built from, so the build leaves nothing in the work tree
    src = tmp_path / "src"
    shutil.copytree(ROOT / "ipukit", src / "ipukit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    r = subprocess.run([str(python), "-m", "pip", "install", "-v", str(src)], env=env, capture_output=True,
                       text=True, timeout=1800, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "SetuptoolsDeprecationWarning" not in r.stdout + r.stderr, "the build warns: see pip's output"

    r = subprocess.run([str(python), "-c", MATMUL], env=env, capture_output=True, text=True, timeout=900,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "matmul ok" in r.stdout and str(env_dir) in r.stdout      # the installed copy, not the work tree
