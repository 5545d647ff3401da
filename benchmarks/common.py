"""Helpers shared by the benchmark scripts: timing and the graphs they run."""
from __future__ import annotations

import time

import numpy as np

import ipukit
from ipukit import codelets as C


def best_of(fn, repeats=3):
    """Best wall time of ``fn()`` in seconds (the first call is not counted if repeats > 1)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def small_vertices_graph(spec, vertices_per_tile=6, n=64, repeats=1000, codelet=None):
    """``vertices_per_tile`` add-vertices of ``n`` floats on every tile, under Repeat
    (``codelet``: the built-in ``add`` unless given, e.g. a learner's add)."""
    codelet = codelet or C.add
    g = ipukit.Graph(spec)
    total = spec.total_tiles * vertices_per_tile * n
    a, b, c = (g.add_variable(total, name=name) for name in "abc")
    for t in (a, b, c):
        g.map_linearly(t, grain_size=vertices_per_tile * n)
    cs = g.add_compute_set("add")
    for v in range(spec.total_tiles * vertices_per_tile):
        part = slice(v * n, (v + 1) * n)
        g.add_vertex(cs, codelet, tile=v // vertices_per_tile, a=a[part], b=b[part], out=c[part])
    return g, (a, b, c), ipukit.Repeat(repeats, ipukit.Execute(cs))


def blocked_matmul_graph(spec, m, k, n, splits):
    """C = A @ B with (M, N, K) split ``splits`` ways: one partial-matmul vertex per tile,
    then a reduction of the K partials. Blocks of A and B live on a tile that uses them."""
    sm, sn, sk = splits
    g = ipukit.Graph(spec)
    a, b, c = g.add_variable((m, k), name="A"), g.add_variable((k, n), name="B"), g.add_variable((m, n), name="C")
    partials = g.add_variable((sk, m, n), name="partials")
    rows, cols, depth = (np.linspace(0, size, s + 1).astype(int) for size, s in ((m, sm), (n, sn), (k, sk)))
    mult, reduce = g.add_compute_set("partial matmuls"), g.add_compute_set("reduce")
    def tile_of(i, j, d):
        return (i * sn + j) * sk + d

    for i in range(sm):
        for j in range(sn):
            for d in range(sk):
                r, q, z = slice(rows[i], rows[i + 1]), slice(cols[j], cols[j + 1]), slice(depth[d], depth[d + 1])
                tile = tile_of(i, j, d)
                if j == 0:      # each block of A lives with its first user, each block of B too
                    g.set_tile_mapping(a[r, z], tile)
                if i == 0:
                    g.set_tile_mapping(b[z, q], tile)
                g.set_tile_mapping(partials[d, r, q], tile)
                g.add_vertex(mult, C.matmul_partial, tile=tile, a=a[r, z], b=b[z, q], out=partials[d, r, q])
    g.map_linearly(c, grain_size=n)
    c_tiles = g.element_tiles(c)[:, 0]
    for row in range(m):
        g.add_vertex(reduce, C.reduce_rows, tile=int(c_tiles[row]), a=partials[:, row, :], out=c[row])
    return g, (a, b, c), ipukit.Sequence(ipukit.Execute(mult), ipukit.Execute(reduce))


@ipukit.codelet(inputs={"a": "float32[n]", "b": "float32[n]"}, outputs={"out": "float32[n]"})
def learner_add(a, b, out):
    """The add as a learner writes it: a loop over the elements."""
    for i in range(out.size):
        out[i] = a[i] + b[i]
