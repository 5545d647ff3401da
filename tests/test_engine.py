"""End-to-end programs on both backends, each checked against a NumPy expression."""
import numpy as np
import pytest

import ipukit
from ipukit import Copy, Engine, Execute, If, Repeat, Sequence
from ipukit import codelets as C

from helpers import counter_loop, elementwise_graph


@pytest.mark.parametrize("codelet, reference", [
    (C.add, lambda a, b: a + b),
    (C.sub, lambda a, b: a - b),
    (C.mul, lambda a, b: a * b),
    (C.relu, lambda a: np.maximum(a, 0)),
    (C.copy, lambda a: a),
])
def test_elementwise_matches_numpy(spec, backend, rng, codelet, reference):
    g, ins, out, prog = elementwise_graph(spec, codelet, 1000, chunks=20)
    eng = Engine(g, prog, backend=backend)
    values = {k: rng.standard_normal(1000).astype(np.float32) for k in ins}
    for k, t in ins.items():
        eng.write(t, values[k])
    eng.run()
    np.testing.assert_array_equal(eng.read(out), reference(*values.values()))


def test_scale_and_fill(spec, backend, rng):
    g, ins, out, prog = elementwise_graph(spec, C.scale, 64, chunks=8, factor=0.1)
    eng = Engine(g, prog, backend=backend)
    a = rng.standard_normal(64).astype(np.float32)
    eng.write(ins["a"], a)
    eng.run()
    np.testing.assert_array_equal(eng.read(out), (a.astype(np.float64) * 0.1).astype(np.float32))

    g = ipukit.Graph(spec)
    x = g.add_variable((4, 5), "int32", name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("fill")
    for r in range(4):
        g.add_vertex(cs, C.fill, tile=r, out=x[r], value=r * 10 - 7)
    eng = Engine(g, Execute(cs), backend=backend)
    eng.run()
    np.testing.assert_array_equal(eng.read(x), np.repeat(np.arange(4)[:, None] * 10 - 7, 5, axis=1))


def test_matrix_vector_product_with_dot(spec, backend, rng):
    m, k = 12, 30
    g = ipukit.Graph(spec)
    a, x, y = g.add_variable((m, k), name="A"), g.add_variable(k, name="x"), g.add_variable(m, name="y")
    g.map_linearly(a, grain_size=k)
    g.set_tile_mapping(x, 0)
    g.map_linearly(y)
    cs = g.add_compute_set("matvec")
    for r in range(m):
        g.add_vertex(cs, C.dot, tile=int(g.element_tiles(a)[r, 0]), a=a[r], b=x, out=y[r:r + 1])
    eng = Engine(g, Execute(cs), backend=backend)
    A, X = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal(k).astype(np.float32)
    eng.write(a, A)
    eng.write(x, X)
    eng.run()
    np.testing.assert_allclose(eng.read(y), A @ X, rtol=1e-5, atol=1e-5)


def test_blocked_matmul_with_partials_and_reduction(spec, backend, rng):
    """C = A @ B split over K: partial products on 4 tiles, then a row reduction."""
    m, k, n, splits = 8, 32, 6, 4
    g = ipukit.Graph(spec)
    a, b, c = g.add_variable((m, k), name="A"), g.add_variable((k, n), name="B"), g.add_variable((m, n), name="C")
    partial = g.add_variable((splits, m, n), name="partials")
    g.map_linearly(a)
    g.map_linearly(b)
    g.map_linearly(c)
    g.map_linearly(partial, grain_size=m * n)
    mult, red = g.add_compute_set("partials"), g.add_compute_set("reduce")
    kb = k // splits
    for s in range(splits):
        g.add_vertex(mult, C.matmul_partial, tile=s, a=a[:, s * kb:(s + 1) * kb], b=b[s * kb:(s + 1) * kb],
                     out=partial[s])
    for r in range(m):
        g.add_vertex(red, C.reduce_rows, tile=r % g.num_tiles, a=partial[:, r, :], out=c[r])
    eng = Engine(g, Sequence(Execute(mult), Execute(red)), backend=backend)
    A, B = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    np.testing.assert_allclose(eng.read(c), A @ B, rtol=1e-5, atol=1e-5)
    expect = sum(A[:, s * kb:(s + 1) * kb] @ B[s * kb:(s + 1) * kb] for s in range(splits))
    np.testing.assert_allclose(eng.read(c), expect, rtol=1e-6, atol=1e-6)


def test_half_precision_matmul_accumulates_in_float32(spec, backend, rng):
    g = ipukit.Graph(spec)
    a, b = g.add_variable((4, 64), "float16", name="A"), g.add_variable((64, 3), "float16", name="B")
    c = g.add_variable((4, 3), name="C")
    for t in (a, b, c):
        g.set_tile_mapping(t, 1)
    cs = g.add_compute_set("mm")
    g.add_vertex(cs, C.matmul_partial_half, tile=1, a=a, b=b, out=c)
    eng = Engine(g, Execute(cs), backend=backend)
    A, B = rng.standard_normal((4, 64)).astype(np.float16), rng.standard_normal((64, 3)).astype(np.float16)
    eng.write(a, A)
    eng.write(b, B)
    eng.run()
    np.testing.assert_allclose(eng.read(c), A.astype(np.float32) @ B.astype(np.float32), rtol=1e-6)


def test_reduce_sum_over_tiles_then_total(spec, backend, rng):
    g = ipukit.Graph(spec)
    x = g.add_variable(800, name="x")
    part = g.add_variable(8, name="part")
    total = g.add_variable(1, name="total")
    g.map_linearly(x)
    g.map_linearly(part)
    g.set_tile_mapping(total, 0)
    local, final = g.add_compute_set("local"), g.add_compute_set("final")
    for t in range(8):
        g.add_vertex(local, C.reduce_sum, tile=t, a=x[t * 100:(t + 1) * 100], out=part[t:t + 1])
    g.add_vertex(final, C.reduce_sum, tile=0, a=part, out=total)
    eng = Engine(g, Sequence(Execute(local), Execute(final)), backend=backend)
    X = rng.standard_normal(800).astype(np.float32)
    eng.write(x, X)
    eng.run()
    np.testing.assert_allclose(eng.read(total)[0], X.astype(np.float64).sum(), rtol=1e-4)
    # the exchange moved exactly the 7 remote partial sums to tile 0
    assert eng.profile.exchange_bytes == 7 * 4


def test_copy_between_tiles_and_views(spec, backend, rng):
    g = ipukit.Graph(spec)
    x = g.add_variable((6, 4), name="x")
    y = g.add_variable((4, 6), name="y")
    g.map_linearly(x)
    g.set_tile_mapping(y, 7)
    eng = Engine(g, Copy(x.T, y), backend=backend)
    X = rng.standard_normal((6, 4)).astype(np.float32)
    eng.write(x, X)
    eng.run()
    np.testing.assert_array_equal(eng.read(y), X.T)
    np.testing.assert_array_equal(eng.read(x[1:3, ::2]), X[1:3, ::2])
    np.testing.assert_array_equal(eng.read(ipukit.concat([x[0], y[:, 0]])), np.concatenate([X[0], X[0]]))


def test_repeat_applies_body_n_times(spec, backend):
    g = ipukit.Graph(spec)
    x = g.add_variable(32, name="x")
    g.map_linearly(x)
    cs = g.add_compute_set("double")
    for t in range(8):
        g.add_vertex(cs, C.add, tile=t, a=x[4 * t:4 * t + 4], b=x[4 * t:4 * t + 4], out=x[4 * t:4 * t + 4])
    eng = Engine(g, Repeat(5, Execute(cs)), backend=backend)
    eng.write(x, np.arange(32, dtype=np.float32))
    eng.run()
    np.testing.assert_array_equal(eng.read(x), np.arange(32, dtype=np.float32) * 2 ** 5)
    assert eng.profile.num_supersteps == 5
    assert eng.profile.steps[0].count == 5


def test_repeat_while_true_counts_until_the_predicate_is_false(spec, backend):
    g, i, total, prog = counter_loop(spec, limit=10)
    eng = Engine(g, prog, backend=backend)
    eng.run()
    assert eng.read(i)[0] == 10
    assert eng.read(total)[0] == sum(range(1, 11))
    body = next(r for r in eng.profile.steps if "body" in r.name)
    assert body.count == 10


def test_if_runs_one_branch(spec, backend):
    g = ipukit.Graph(spec)
    flag, x = g.add_variable(1, "int32", name="flag"), g.add_variable(4, name="x")
    g.set_tile_mapping(flag, 0)
    g.set_tile_mapping(x, 1)
    yes, no = g.add_compute_set("yes"), g.add_compute_set("no")
    g.add_vertex(yes, C.fill, tile=1, out=x, value=1.0)
    g.add_vertex(no, C.fill, tile=1, out=x, value=-1.0)
    eng = Engine(g, If(flag, Execute(yes), Execute(no)), backend=backend)
    for f, want in ((1, 1.0), (0, -1.0), (7, 1.0)):
        eng.write(flag, np.array([f], np.int32))
        eng.run()
        assert (eng.read(x) == want).all()


def test_host_stream_is_a_circular_buffer(spec, backend):
    """As in Poplar's tutorial: a 30-element buffer, copies of 10 give 0..9, 10..19, 20..29, 0..9."""
    g = ipukit.Graph(spec)
    x = g.add_variable(10, name="x")
    g.map_linearly(x)
    inp = g.add_host_stream("in", 10, "float32")
    out = g.add_host_stream("out", 10, "float32", direction="from_device")
    eng = Engine(g, Sequence(Copy(inp, x), Copy(x, out)), backend=backend)
    buffer = np.arange(30, dtype=np.float32)
    sink = np.zeros(20, np.float32)
    eng.connect_stream("in", buffer)
    eng.connect_stream("out", sink)
    seen = []
    for _ in range(4):
        eng.run()
        seen.append(eng.read(x).copy())
    np.testing.assert_array_equal(seen, [np.arange(10), np.arange(10, 20), np.arange(20, 30), np.arange(10)])
    np.testing.assert_array_equal(sink, np.concatenate([np.arange(20, 30), np.arange(10)]))
    assert eng.profile.host_cycles > 0 and eng.profile.host_bytes == 80


def test_constants_are_loaded_and_read_back(spec, backend):
    g = ipukit.Graph(spec)
    c = g.add_constant(np.linspace(0, 1, 12).reshape(3, 4), name="c")
    g.map_linearly(c)
    x = g.add_variable((3, 4), name="x")
    g.map_linearly(x)
    eng = Engine(g, Copy(c, x), backend=backend)
    eng.run()
    np.testing.assert_array_equal(eng.read(x), np.linspace(0, 1, 12).reshape(3, 4).astype(np.float32))


def test_multiple_programs_share_one_engine(spec, backend):
    g = ipukit.Graph(spec)
    x = g.add_variable(8, name="x")
    g.map_linearly(x)
    cs_one, cs_inc = g.add_compute_set("one"), g.add_compute_set("inc")
    g.add_vertex(cs_one, C.fill, tile=0, out=x, value=1.0)
    g.add_vertex(cs_inc, C.add, tile=0, a=x, b=x, out=x)
    eng = Engine(g, [Execute(cs_one), Execute(cs_inc)], backend=backend)
    eng.run(0)
    eng.run(1)
    eng.run(1)
    assert (eng.read(x) == 4).all()
    with pytest.raises(IndexError):
        eng.run(2)


def test_user_codelet_with_2d_fields_and_scalars(spec, backend, rng):
    @ipukit.codelet(inputs={"a": "float32[r,c]"}, outputs={"out": "float32[c]"},
                    cycles=lambda a: 10 + a)
    def column_max_plus(a, out, bias, use_bias):
        for j in range(a.shape[1]):
            best = a[0, j]
            for i in range(1, a.shape[0]):
                if a[i, j] > best:
                    best = a[i, j]
            out[j] = best + bias if use_bias else best

    g = ipukit.Graph(spec)
    a, out = g.add_variable((5, 6), name="a"), g.add_variable(6, name="out")
    g.map_linearly(a)
    g.map_linearly(out)
    cs = g.add_compute_set("colmax")
    g.add_vertex(cs, column_max_plus, tile=3, a=a, out=out, bias=2, use_bias=True)
    eng = Engine(g, Execute(cs), backend=backend)
    A = rng.standard_normal((5, 6)).astype(np.float32)
    eng.write(a, A)
    eng.run()
    np.testing.assert_array_equal(eng.read(out), (A.max(axis=0).astype(np.float64) + 2).astype(np.float32))
