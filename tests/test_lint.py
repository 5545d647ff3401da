"""ruff, with the rules in pyproject.toml, finds nothing in the kit's Python."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is missing: it is in requirements.txt (kit.py test installs it)"
    r = subprocess.run([ruff, "check", "--output-format", "concise", "--no-cache", "."], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "ruff found problems (fix them, or `ruff check --fix`):\n" + r.stdout + r.stderr
