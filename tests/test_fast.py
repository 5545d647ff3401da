"""The numba path: drivers agree with the reference loop; import stays light; NUMBA_DISABLE_JIT works."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ipukit
from ipukit import Engine, Execute
from ipukit.run import drivers
from ipukit.run import reference
from ipukit import codelets as C


def test_driver_and_reference_agree_on_every_builtin(spec, rng):
    cases = [(C.add, 2), (C.sub, 2), (C.mul, 2), (C.relu, 1), (C.copy, 1), (C.scale, 1)]
    for codelet, n_in in cases:
        g = ipukit.Graph(spec)
        xs = [g.add_variable(50, name=f"x{i}") for i in range(n_in)]
        out = g.add_variable(50, name="out")
        for t in (*xs, out):
            g.map_linearly(t)
        cs = g.add_compute_set()
        names = [f.name for f in codelet.fields if f.kind == "in"]
        extra = {"factor": -1.7} if codelet is C.scale else {}
        for t in range(5):
            sl = slice(10 * t, 10 * t + 10)
            g.add_vertex(cs, codelet, tile=t, out=out[sl], **{n: x[sl] for n, x in zip(names, xs)}, **extra)
        eng = Engine(g, Execute(cs), backend="numba")
        for x in xs:
            eng.write(x, rng.standard_normal(50).astype(np.float32))
        before = eng.sram.copy()
        group = eng.layout.compute[cs].groups[0]
        eng._executor.run_group(group)
        fast_result = eng.sram.copy()
        eng.sram[:] = before
        reference.run_group(eng.sram.reshape(-1), group)
        np.testing.assert_array_equal(eng.sram, fast_result, err_msg=codelet.name)


def test_generated_driver_source_is_plain_python():
    src = drivers.driver_source(C.scale, (np.dtype("float32"),) * 2, (1, 2), (("f", 0),), parallel=True,
                             kernel_import="")
    assert "prange" in src and ".reshape((tab[v, 1, 2], tab[v, 1, 3]))" in src
    assert "_kernel(f0, f1, sf[v, 0])" in src
    compile(src, "driver", "exec")


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_import_is_light():
    """``import ipukit`` must not import numba (compiled lazily, on the first engine)."""
    r = run_python("""
        import sys, ipukit
        print('numba' in sys.modules, 'matplotlib' in sys.modules)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_runs_with_jit_disabled():
    r = run_python("""
        import numpy as np, ipukit
        from ipukit import codelets as C
        g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
        x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
        g.map_linearly(x); g.map_linearly(y)
        cs = g.add_compute_set()
        for t in range(4):
            g.add_vertex(cs, C.scale, tile=t, a=x[2*t:2*t+2], out=y[2*t:2*t+2], factor=3.0)
        eng = ipukit.Engine(g, ipukit.Execute(cs), backend="numba")
        eng.write(x, np.arange(8, dtype=np.float32)); eng.run()
        print(eng.read(y).tolist())
    """, NUMBA_DISABLE_JIT="1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str([3.0 * i for i in range(8)])


SCALE_ON_FOUR_TILES = """
    import numpy as np, ipukit
    from ipukit import codelets as C
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    x, y = g.add_variable(8, name="x"), g.add_variable(8, name="y")
    g.map_linearly(x); g.map_linearly(y)
    cs = g.add_compute_set()
    for t in range(4):
        g.add_vertex(cs, C.scale, tile=t, a=x[2*t:2*t+2], out=y[2*t:2*t+2], factor=3.0)
    eng = ipukit.Engine(g, ipukit.Execute(cs), backend="numba")
    eng.write(x, np.arange(8, dtype=np.float32)); eng.run()
    print(eng.read(y).sum())
"""


@pytest.mark.slow
def test_compiling_line_only_when_numba_really_compiles(tmp_path):
    """A warm disk cache (a second process with the same NUMBA_CACHE_DIR) prints no compiling line."""
    env = {k: v for k, v in os.environ.items() if k not in ("IPUKIT_QUIET", "IPUKIT_CACHE_DIR")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    runs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", textwrap.dedent(SCALE_ON_FOUR_TILES)], capture_output=True,
                           text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr
        runs.append(r.stdout.splitlines())
    cold, warm = runs
    assert cold[0].startswith("ipukit: compiling the built-in codelets with numba") and cold[1:] == ["84.0"]
    assert warm == ["84.0"]
