"""MultiVertex codelets: one vertex run by all six workers, each doing its share.

Results are checked against NumPy on both backends; cycles against the rule
(each worker runs the vertex's own estimate; a MultiVertex starts when all workers are free).
"""
import numpy as np
import pytest

import ipukit
from ipukit import ops
from ipukit.core.errors import VertexFieldError
from ipukit.lib import codelets as C

BACKENDS = ["reference", "numba"]


@ipukit.codelet(inputs={"a": "float32[n]"}, outputs={"out": "float32[n]"}, multi=True,
                cycles=lambda out, workers: 10 + -(-out // workers))
def triple(a, out, worker, workers):
    for i in range(worker, out.size, workers):
        out[i] = 3 * a[i]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [5, 24, 101])
def test_a_learner_multivertex_equals_numpy(backend, n):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=3))
    x, y = g.add_variable(3 * n, name="x"), g.add_variable(3 * n, name="y")
    g.map_linearly(x)
    g.map_linearly(y)
    cs = g.add_compute_set("triple")
    for t in range(3):
        g.add_vertex(cs, triple, tile=t, a=x[t * n:(t + 1) * n], out=y[t * n:(t + 1) * n])
    eng = ipukit.Engine(g, ipukit.Execute(cs), backend=backend)
    values = np.random.default_rng(n).standard_normal(3 * n).astype(np.float32)
    eng.write(x, values)
    profile = eng.run()
    np.testing.assert_array_equal(eng.read(y), values * np.float32(3))
    # every worker runs 10 + ceil(n / 6) worker cycles, all six at once
    assert profile.compute_cycles == 6 * (10 + -(-n // 6))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("n", [3, 64, 1001])
def test_elementwise_ops_run_as_multivertex_and_equal_numpy(backend, dtype, n):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    a, b = g.add_variable(n, dtype, name="a"), g.add_variable(n, dtype, name="b")
    g.map_linearly(a)
    g.map_linearly(b)
    (s, ps), (d, pd), (m, pm) = ops.add(g, a, b), ops.sub(g, a, b), ops.mul(g, a, b)
    eng = ipukit.Engine(g, ipukit.Sequence(ps, pd, pm), backend=backend)
    rng = np.random.default_rng(n)
    va, vb = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    eng.write(a, va)
    eng.write(b, vb)
    eng.run()
    np.testing.assert_array_equal(eng.read(s), va + vb)
    np.testing.assert_array_equal(eng.read(d), va - vb)
    np.testing.assert_array_equal(eng.read(m), va * vb)
    plans = list(eng.layout.compute.values())
    assert all(p.vertex_multi.all() for p in plans), "add, sub and mul use one MultiVertex per tile"
    used = len(set(g.element_tiles(a).reshape(-1).tolist()))
    assert all(len(p.compute_set.vertices) == used for p in plans)


def test_a_multivertex_costs_what_six_one_worker_vertices_cost():
    """One vertex per worker, cut on 64-bit vectors, or one MultiVertex: the same compute phase."""
    cycles = []
    for multi in (False, True):
        g = ipukit.Graph(ipukit.GC2.replace(tiles=2))
        a, b = g.add_variable(1000, name="a"), g.add_variable(1000, name="b")
        g.map_linearly(a)
        g.map_linearly(b)
        _, prog = ops.add(g, a, b) if multi else ops.map_elementwise(g, C.add, {"a": a, "b": b})
        eng = ipukit.Engine(g, prog, backend="reference")
        cycles.append(eng.run().compute_cycles)
    # 500 floats a tile = 250 vectors; the busiest worker adds ceil(250 / 6) = 42 of them
    assert cycles == [6 * (10 + 2 * 42)] * 2


def test_worker_id_and_count_are_filled_in_by_the_engine():
    g = ipukit.Graph(ipukit.GC2.replace(tiles=1))
    x = g.add_variable(4, name="x")
    g.set_tile_mapping(x, 0)
    cs = g.add_compute_set("cs")
    with pytest.raises(VertexFieldError, match="worker.*filled in by the engine"):
        g.add_vertex(cs, triple, tile=0, a=x, out=x, worker=0)
    with pytest.raises(ValueError, match="'worker' and 'workers'"):
        ipukit.codelet(outputs={"out": "float32[n]"}, multi=True)(lambda out: None)


def test_worker_slots_show_a_multivertex_on_every_worker():
    from ipukit.compile.compute_set import worker_schedule
    g = ipukit.Graph(ipukit.GC2.replace(tiles=1))
    x, y = g.add_variable(12, name="x"), g.add_variable(12, name="y")
    g.set_tile_mapping(x, 0)
    g.set_tile_mapping(y, 0)
    cs = g.add_compute_set("cs")
    g.add_vertex(cs, triple, tile=0, a=x, out=y)
    eng = ipukit.Engine(g, ipukit.Execute(cs), backend="reference")
    plan = next(iter(eng.layout.compute.values()))
    runs = worker_schedule(plan, g.spec, 0)
    assert [(w, start, length) for w, start, length, _ in runs] == [(w, 0, 6 * 12) for w in range(6)]
