"""ruff, with the rules in pyproject.toml, finds nothing in the kit's Python.

A learner's ``exercises/`` is theirs, half-done or not: the committed stubs are linted instead.
"""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def ruff(*args):
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert exe, "ruff is missing: it is in requirements.txt (kit.py test installs it)"
    return subprocess.run([exe, "check", "--output-format", "concise", "--no-cache", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_ruff_is_clean(committed_stubs):
    r = ruff("--extend-exclude", "exercises", ".")
    assert r.returncode == 0, "ruff found problems (fix them, or `ruff check --fix`):\n" + r.stdout + r.stderr
    r = ruff("--config", str(ROOT / "pyproject.toml"), "--ignore", "F401", str(committed_stubs))
    assert r.returncode == 0, "ruff found problems in the committed exercise stubs:\n" + r.stdout + r.stderr
