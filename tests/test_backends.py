"""The numba and reference backends give identical SRAM bytes and identical profiles,
and results never depend on the tile mapping (only the cost does)."""
import numpy as np
from hypothesis import given, strategies as st

import ipukit
from ipukit import Copy, Execute, Repeat, Sequence
from ipukit import codelets as C

from helpers import counter_loop, elementwise_graph, engine_pair, write_all

SPEC = ipukit.GC2.replace(tiles=8)


def assert_same(engines):
    ref, fast = engines
    np.testing.assert_array_equal(ref.sram, fast.sram)
    assert ref.profile.to_dict(tiles=True) == fast.profile.to_dict(tiles=True)
    assert ref.profile.trace == fast.profile.trace


def run_all(engines):
    for e in engines:
        e.run()


def test_identical_on_a_mixed_program(rng):
    g = ipukit.Graph(SPEC)
    a, b = g.add_variable((16, 8), name="a"), g.add_variable((8, 4), name="b")
    c, s = g.add_variable((16, 4), name="c"), g.add_variable(1, name="s")
    for t in (a, b, c):
        g.map_linearly(t, grain_size=4)
    g.set_tile_mapping(s, 5)
    mm, act, red = (g.add_compute_set(n) for n in ("mm", "act", "red"))
    for t in range(4):
        rows = slice(4 * t, 4 * t + 4)
        g.add_vertex(mm, C.matmul_partial, tile=t, a=a[rows], b=b, out=c[rows])
        g.add_vertex(act, C.relu, tile=t + 4, a=c[rows].flatten(), out=c[rows].flatten())
    g.add_vertex(red, C.reduce_sum, tile=5, a=c.flatten(), out=s)
    prog = Sequence(Execute(mm), Repeat(3, Execute(act)), Execute(red), Copy(c[0], c[1]))
    engines = engine_pair(g, prog)
    write_all(engines, a, rng.standard_normal((16, 8)).astype(np.float32))
    write_all(engines, b, rng.standard_normal((8, 4)).astype(np.float32))
    run_all(engines)
    assert_same(engines)


def test_identical_on_control_flow():
    g, i, total, prog = counter_loop(SPEC, limit=7)
    engines = engine_pair(g, prog)
    run_all(engines)
    assert_same(engines)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), chunks=st.integers(1, 12),
       codelet=st.sampled_from([C.add, C.mul, C.sub]))
def test_result_does_not_depend_on_mapping(seed, n, chunks, codelet):
    rng = np.random.default_rng(seed)
    chunks = min(chunks, n)
    tile_of = {name: int(rng.integers(0, SPEC.tiles)) for name in ("a", "b", "out")}
    values = {k: rng.standard_normal(n).astype(np.float32) for k in ("a", "b")}
    results = []
    for mapping in (None, lambda name: tile_of[name], "random"):
        if mapping == "random":
            g, ins, out, prog = elementwise_graph(SPEC, codelet, n, chunks, mapping=lambda name: 0)
            for t in (*ins.values(), out):     # every element on its own random tile
                for e in range(n):
                    g.set_tile_mapping(t[e:e + 1], int(rng.integers(0, SPEC.tiles)))
        else:
            g, ins, out, prog = elementwise_graph(SPEC, codelet, n, chunks, mapping=mapping)
        engines = engine_pair(g, prog)
        for k, t in ins.items():
            write_all(engines, t, values[k])
        run_all(engines)
        assert_same(engines)
        results.append(engines[1].read(out))
    expected = {C.add: np.add, C.mul: np.multiply, C.sub: np.subtract}[codelet](values["a"], values["b"])
    for r in results:
        np.testing.assert_array_equal(r, expected)


@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 12), k=st.integers(1, 20), n=st.integers(1, 9),
       splits=st.integers(1, 4))
def test_split_matmul_matches_numpy_for_random_mappings(seed, m, k, n, splits):
    rng = np.random.default_rng(seed)
    splits = min(splits, k)
    g = ipukit.Graph(SPEC)
    a, b, c = g.add_variable((m, k), name="A"), g.add_variable((k, n), name="B"), g.add_variable((m, n), name="C")
    partial = g.add_variable((splits, m, n), name="P")
    for t in (a, b, c, partial):
        g.map_linearly(t, grain_size=int(rng.integers(1, 5)), tiles=rng.permutation(SPEC.tiles)[:3])
    mult, red = g.add_compute_set("mult"), g.add_compute_set("red")
    edges = np.linspace(0, k, splits + 1).astype(int)
    for s in range(splits):
        g.add_vertex(mult, C.matmul_partial, tile=int(rng.integers(0, SPEC.tiles)),
                     a=a[:, edges[s]:edges[s + 1]], b=b[edges[s]:edges[s + 1]], out=partial[s])
    for r in range(m):
        g.add_vertex(red, C.reduce_rows, tile=int(rng.integers(0, SPEC.tiles)), a=partial[:, r], out=c[r])
    engines = engine_pair(g, Sequence(Execute(mult), Execute(red)))
    A, B = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    write_all(engines, a, A)
    write_all(engines, b, B)
    run_all(engines)
    assert_same(engines)
    np.testing.assert_allclose(engines[1].read(c), A.astype(np.float64) @ B, rtol=1e-4, atol=1e-4)


def test_both_backends_are_executors():
    from ipukit.run.executor import Executor
    g, _, _, prog = counter_loop(SPEC, limit=2)
    for engine in engine_pair(g, prog):
        assert isinstance(engine._executor, Executor), engine.backend
