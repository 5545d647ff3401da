"""Importing ipukit.ops stays light: no numba, no matplotlib until they are needed."""
import subprocess
import sys


def test_importing_ops_pulls_neither_numba_nor_matplotlib():
    code = ("import sys, ipukit.ops; "
            "print(sorted(m for m in ('numba', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
