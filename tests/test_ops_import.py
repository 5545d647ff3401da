"""Importing ipukit.ops stays light: no numba, no matplotlib until they are needed."""
import subprocess
import sys


def test_importing_ops_pulls_neither_numba_nor_matplotlib():
    code = ("import sys, ipukit.ops; "
            "print(sorted(m for m in ('numba', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_ops_codelets_compile_in_one_warm_up():
    from ipukit.ops import warmup
    assert warmup.warm_up(verbose=False) > 0
