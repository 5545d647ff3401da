"""Compile (and cache on disk) the numba code of the ops' codelets ahead of time.

    python -m ipukit.ops.warmup

Like :mod:`ipukit.warmup` for the core's built-ins: one tiny graph that uses
every codelet of :mod:`ipukit.ops.codelets` with float32 fields (float16 fields
run in Python and need no compiling), run once on the compiled backend.
"""
from __future__ import annotations

import time

import numpy as np

from ..run.engine import Engine
from ..core.graph import Graph
from ..core.programs import Execute
from ..core.spec import GC2
from . import codelets as K


def warm_up(verbose: bool = True) -> float:
    """Compile every ops codelet for float32 fields; returns the seconds it took."""
    start = time.perf_counter()
    g = Graph(GC2.replace(tiles=2))
    v = [g.add_variable(4, name=f"v{x}") for x in range(9)]
    rows = [g.add_variable((2, 4), name=f"r{x}") for x in range(4)]
    starts = g.add_constant(np.array([0, 2, 4], np.int32), name="starts")
    for t in (*v, *rows, starts):
        g.set_tile_mapping(t, 0)
    cs = g.add_compute_set("ops warm-up")
    g.add_vertex(cs, K.div, tile=0, a=v[0], b=v[1], out=v[2])
    for codelet, out in ((K.exp, v[3]), (K.tanh, v[4]), (K.sigmoid, v[5]), (K.gelu, v[6])):
        g.add_vertex(cs, codelet, tile=0, a=v[0], out=out)
    g.add_vertex(cs, K.lstm_cell, tile=1, i=v[0], f=v[1], g=rows[0][0], o=rows[0][1], c=v[7],
                 h_out=rows[1][0], c_out=rows[1][1])
    g.add_vertex(cs, K.reduce_segments_sum, tile=1, a=v[0], starts=starts, out=v[8][:2], scale=1.0)
    g.add_vertex(cs, K.reduce_segments_max, tile=1, a=v[1], starts=starts, out=v[8][2:])
    g.add_vertex(cs, K.softmax_rows, tile=0, a=rows[0], out=rows[2], scale=1.0)
    g.add_vertex(cs, K.layer_norm_rows, tile=0, a=rows[0], gamma=v[0], beta=v[1], out=rows[3], eps=1e-5)
    eng = Engine(g, Execute(cs), backend="numba")
    eng.write(v[0], np.arange(1, 5, dtype=np.float32))
    eng.write(v[1], np.ones(4, np.float32))
    eng.run()
    seconds = time.perf_counter() - start
    if verbose:
        print(f"ipukit: ops codelets compiled and cached in {seconds:.1f} s")
    return seconds


if __name__ == "__main__":
    warm_up()
