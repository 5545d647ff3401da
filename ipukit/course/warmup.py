"""Compile (and cache on disk) the built-in codelets' numba code ahead of time.

    python -m ipukit.warmup

Binder's build step and ``kit.py`` run this once (built-in codelets and ``ipukit.ops``), so the first notebook cell
does not pause for numba.  It builds one small graph that uses every
built-in codelet and runs it on the compiled backend.
"""
from __future__ import annotations

import time

import numpy as np

from ..lib import codelets as C
from ..run.engine import Engine
from ..core.graph import Graph
from ..core.programs import Copy, Execute, Sequence
from ..core.spec import GC2


def warm_up(verbose: bool = True) -> float:
    """Compile every built-in codelet for float32 fields; returns the seconds it took."""
    start = time.perf_counter()
    g = Graph(GC2.replace(tiles=4))
    x, y, z = (g.add_variable(8, name=n) for n in "xyz")
    m, w, p = g.add_variable((2, 4), name="m"), g.add_variable((4, 2), name="w"), g.add_variable((2, 2), name="p")
    r = g.add_variable(2, name="r")
    for t in (x, y, z, m, w, p, r):
        g.map_linearly(t)
    cs = g.add_compute_set("warm-up")
    g.add_vertex(cs, C.fill, tile=0, out=x[:2], value=1.0)
    g.add_vertex(cs, C.copy, tile=0, a=y[:2], out=x[2:4])
    g.add_vertex(cs, C.scale, tile=1, a=y[2:4], out=x[4:6], factor=2.0)
    g.add_vertex(cs, C.add, tile=1, a=y[4:6], b=y[6:8], out=x[6:8])
    g.add_vertex(cs, C.sub, tile=2, a=y[:2], b=y[2:4], out=z[:2])
    g.add_vertex(cs, C.mul, tile=2, a=y[:2], b=y[2:4], out=z[2:4])
    g.add_vertex(cs, C.relu, tile=3, a=y[:2], out=z[4:6])
    g.add_vertex(cs, C.reduce_sum, tile=3, a=y, out=z[6:7])
    g.add_vertex(cs, C.dot, tile=3, a=y[:4], b=y[4:], out=z[7:8])
    g.add_vertex(cs, C.reduce_rows, tile=2, a=w, out=r)
    g.add_vertex(cs, C.matmul_partial, tile=1, a=m, b=w, out=p)
    eng = Engine(g, Sequence(Execute(cs), Copy(x, y)), backend="numba")
    eng.write(y, np.arange(8, dtype=np.float32))
    eng.run()
    seconds = time.perf_counter() - start
    if verbose:
        print(f"ipukit: built-in codelets compiled and cached in {seconds:.1f} s")
    return seconds


def warm_up_sparse() -> None:
    """The block-sparse vertex of :mod:`ipukit.sparse`."""
    from ..sparse import block_row_product
    g = Graph(GC2.replace(tiles=1))
    a, b, out = g.add_variable((2, 2, 3)), g.add_variable((2, 3, 4)), g.add_variable((2, 4))
    for t in (a, b, out):
        g.set_tile_mapping(t, 0)
    cs = g.add_compute_set("warm-up sparse")
    g.add_vertex(cs, block_row_product, tile=0, a=a, b=b, out=out)
    Engine(g, Execute(cs), backend="numba").run()


def warm_up_all(verbose: bool = True) -> float:
    """The built-in codelets and those of ``ipukit.ops`` and ``ipukit.sparse``."""
    from ..ops.warmup import warm_up as warm_up_ops
    start = time.perf_counter()
    warm_up(verbose=False)
    warm_up_ops(verbose=False)
    warm_up_sparse()
    seconds = time.perf_counter() - start
    if verbose:
        print(f"ipukit: built-in, ops and sparse codelets compiled and cached in {seconds:.1f} s")
    return seconds


if __name__ == "__main__":
    warm_up_all()
