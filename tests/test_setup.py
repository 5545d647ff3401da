"""The set-up recipes agree with each other: local (kit.py), Binder, CI."""
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_binder_requirements_are_the_same_as_the_root_ones():
    # repo2docker ignores the root file when binder/ exists, so binder/ keeps a copy
    assert (ROOT / "binder" / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()


def test_binder_pins_python_and_installs_the_kit():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post and "python -m ipukit.warmup" in post
    assert "NUMBA_CACHE_DIR" in post and "NUMBA_CACHE_DIR" in (ROOT / "binder" / "start").read_text()
    for script in ("postBuild", "start"):
        assert (ROOT / "binder" / script).stat().st_mode & 0o111, f"binder/{script} must be executable"


def test_ci_runs_the_readme_test_command():
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == "exec python3 kit.py test"


def test_lab_command_sets_up_once_and_starts_jupyterlab_twice():
    """`kit.py lab` is idempotent: a second run finds the environment ready and starts JupyterLab."""
    import subprocess
    import sys
    for _ in range(2):
        r = subprocess.run([sys.executable, str(ROOT / "kit.py"), "lab", "--version"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1800)
        assert r.returncode == 0, r.stdout + r.stderr
    assert "[ipukit] environment is up to date" in r.stdout
    assert "[ipukit] starting JupyterLab on notebooks/00_why_ipu.ipynb" in r.stdout
    assert r.stdout.strip().splitlines()[-1][0].isdigit()          # JupyterLab's version number
