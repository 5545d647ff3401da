"""Build the Binder environment as repo2docker does (requirements, then postBuild) in a fresh
virtual environment, and run the first notebook in it."""
import os
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_why_ipu.ipynb"

RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
assert not errors, errors
print("notebook ran")
"""


@pytest.mark.slow
def test_binder_recipe_builds_and_runs_a_notebook(tmp_path):
    env_dir = tmp_path / "binder-env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(home),
           "VIRTUAL_ENV": str(env_dir), "IPUKIT_QUIET": "1"}
    for var in ("NUMBA_CACHE_DIR", "IPUKIT_CACHE_DIR", "PYTHONPATH"):
        env.pop(var, None)

    def run(*cmd):
        r = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=1200)
        assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt")
    run("bash", "binder/postBuild")
    assert (home / ".cache" / "numba").is_dir(), "postBuild should warm the numba cache in ~/.cache/numba"
    out = run("bash", "binder/start", bin_dir / "python", "-c", RUN_NOTEBOOK, NOTEBOOK, NOTEBOOK.parent)
    assert "notebook ran" in out
    where = run(bin_dir / "python", "-c", "import ipukit; print(ipukit.__file__)")
    assert Path(where.strip()).resolve().is_relative_to(ROOT)
