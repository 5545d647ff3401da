"""ops.matmul and its planner: equal to NumPy, the same on both backends, and priced exactly.

The planner's estimate is built from the same byte runs and vertex lists the engine
compiles, so for inputs from create_matmul_inputs it must equal the profile's cycles
and the memory report's busiest tile, to the cycle and to the byte.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ipukit
from ipukit import ops
from ipukit.errors import TileMemoryError

from helpers import run_both


def values(rng, shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


@settings(max_examples=20)
@given(tiles=st.sampled_from([4, 8, 16]), m=st.integers(1, 24), k=st.integers(1, 24), n=st.integers(1, 24),
       batch=st.sampled_from([None, 2, 3]), half=st.booleans(), force=st.booleans(), seed=st.integers(0, 2**16))
def test_matmul_matches_numpy_and_its_estimate(tiles, m, k, n, batch, half, force, seed):
    rng = np.random.default_rng(seed)
    spec = ipukit.GC2.replace(tiles=tiles)
    dtype = "float16" if half else "float32"
    if force:       # any split, including ones the planner would not choose
        sm = int(rng.integers(1, min(m, tiles) + 1))
        sn = int(rng.integers(1, min(n, tiles // sm) + 1))
        sk = int(rng.integers(1, min(k, tiles // (sm * sn)) + 1))
        plan = ops.plan_matmul(spec, m, k, n, dtype, batch or 1, splits=(sm, sn, sk))
    else:
        plan = ops.plan_matmul(spec, m, k, n, dtype, batch or 1)
    g = ipukit.Graph(spec)
    a, b = ops.create_matmul_inputs(g, m, k, n, plan=plan, dtype=dtype, batch=batch)
    c, prog = ops.matmul(g, a, b, plan=plan)
    A, B = values(rng, a.shape, dtype), values(rng, b.shape, dtype)
    eng = run_both(g, prog, {a: A, b: B})
    expected = A.astype(np.float32) @ B.astype(np.float32)
    assert c.shape == expected.shape and c.dtype == np.dtype(dtype)
    if half:
        np.testing.assert_allclose(eng.read(c), expected.astype(np.float16), rtol=1e-3, atol=1e-3)
    else:
        np.testing.assert_allclose(eng.read(c), expected, rtol=1e-5, atol=1e-5)
    assert eng.profile.total_cycles == plan.cycles
    no_traffic = {"host": 0, "remote": 0}                  # no host or Streaming Memory copies here
    assert eng.profile.cycles_by_phase() == {**plan.cycles_by_phase(), **no_traffic}
    assert eng.memory.peak_bytes == plan.peak_tile_bytes


def test_float16_is_summed_in_float32_then_rounded_once():
    # 2048 ones and 2048 tiny values: a float16 running sum would stop growing at 2048
    spec = ipukit.GC2.replace(tiles=4)
    g = ipukit.Graph(spec)
    a, b = g.add_variable((1, 4096), "float16", name="a"), g.add_variable((4096, 1), "float16", name="b")
    g.map_linearly(a)
    g.map_linearly(b)
    c, prog = ops.matmul(g, a, b)
    A = np.concatenate([np.ones(2048), np.full(2048, 0.25)]).astype(np.float16).reshape(1, -1)
    eng = run_both(g, prog, {a: A, b: np.ones((4096, 1), np.float16)})
    assert eng.read(c)[0, 0] == np.float16(2560.0)


@pytest.mark.parametrize("layout", ["linear", "one tile", "transposed"])
def test_inputs_mapped_any_way_give_the_same_result(layout, rng):
    spec = ipukit.GC2.replace(tiles=8)
    m, k, n = 20, 33, 14
    g = ipukit.Graph(spec)
    if layout == "transposed":          # b is a view: the transpose of a (N x K) variable
        a, bt = g.add_variable((m, k), name="a"), g.add_variable((n, k), name="bt")
        g.map_linearly(a)
        g.map_linearly(bt)
        b = bt.T
    else:
        a, b = g.add_variable((m, k), name="a"), g.add_variable((k, n), name="b")
        for t in (a, b):
            g.map_linearly(t) if layout == "linear" else g.set_tile_mapping(t, 5)
    c, prog = ops.matmul(g, a, b)
    A, B = values(rng, (m, k)), values(rng, (k, n))
    inputs = {a: A, (bt if layout == "transposed" else b): (B.T.copy() if layout == "transposed" else B)}
    eng = run_both(g, prog, inputs)
    np.testing.assert_allclose(eng.read(c), A @ B, rtol=1e-5, atol=1e-5)
    plan = ops.plan_matmul(spec, m, k, n)
    if layout == "one tile":            # one tile sends every block: far more exchange than planned
        assert eng.profile.exchange_cycles > 2 * plan.cycles_by_phase()["exchange"]


def test_batch_times_matrix_and_matrix_times_batch(rng):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=8))
    x, w = g.add_variable((3, 5, 7), name="x"), g.add_variable((7, 4), name="w")
    y, v = g.add_variable((6, 7), name="y"), g.add_variable((2, 7, 3), name="v")
    for t in (x, w, y, v):
        g.map_linearly(t)
    xw, p1 = ops.matmul(g, x, w)
    yv, p2 = ops.matmul(g, y, v)
    X, W, Y, V = (values(rng, t.shape) for t in (x, w, y, v))
    eng = run_both(g, ipukit.Sequence(p1, p2), {x: X, w: W, y: Y, v: V})
    np.testing.assert_allclose(eng.read(xw), X @ W, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eng.read(yv), Y @ V, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(256, 256, 256), (512, 64, 512), (64, 1024, 64), (8, 500, 600), (1000, 30, 8)])
def test_the_planner_beats_naive_splits(shape):
    m, k, n = shape
    spec = ipukit.GC2.replace(tiles=64)
    plan = ops.plan_matmul(spec, m, k, n)
    naive = [(min(m, 64), 1, 1), (1, min(n, 64), 1), (1, 1, min(k, 64)), (8, 8, 1)]
    for splits in naive:
        other = ops.plan_matmul(spec, m, k, n, splits=splits, check_memory=False)
        assert plan.cycles <= other.cycles, (splits, plan.describe(), other.describe())
    best_naive = min(ops.plan_matmul(spec, m, k, n, splits=s, check_memory=False).cycles for s in naive[:3])
    if shape != (1000, 30, 8):          # a tall, thin product is best cut along M alone
        assert plan.cycles < 0.9 * best_naive


def test_the_planner_never_plans_over_memory():
    spec = ipukit.GC2.replace(tiles=16)
    cap = spec.sram_bytes_per_tile
    for m, k, n, amp in [(256, 256, 256, 0.6), (320, 256, 128, 0.3), (256, 384, 256, 0.6)]:
        plan = ops.plan_matmul(spec, m, k, n, available_memory_proportion=amp)
        assert plan.fits and plan.peak_tile_bytes <= cap and plan.temporary_bytes <= amp * cap
    # with all of the SRAM allowed, a faster split exists whose temporaries are over 30 %
    plan = ops.plan_matmul(spec, 320, 256, 128, available_memory_proportion=0.3)
    greedy = ops.plan_matmul(spec, 320, 256, 128, available_memory_proportion=1.0)
    assert greedy.cycles < plan.cycles and greedy.temporary_bytes > 0.3 * cap
    g = ipukit.Graph(spec)
    a, b = ops.create_matmul_inputs(g, 256, 384, 256)
    c, prog = ops.matmul(g, a, b)
    eng = ipukit.Engine(g, prog)            # would raise TileMemoryError if a tile overflowed
    assert eng.memory.peak_bytes == ops.plan_matmul(spec, 256, 384, 256).peak_tile_bytes <= cap


def test_a_matmul_that_cannot_fit_says_so():
    spec = ipukit.GC2.replace(tiles=4)
    with pytest.raises(TileMemoryError, match="does not fit"):
        ops.plan_matmul(spec, 1024, 1024, 1024)
    with pytest.raises(TileMemoryError, match="these splits"):
        ops.plan_matmul(ipukit.GC2.replace(tiles=16), 512, 512, 512, splits=(1, 1, 1))


def test_a_full_gc2_plans_a_big_matmul_near_peak():
    plan = ops.plan_matmul(ipukit.GC2, 1024, 1024, 1024)
    assert plan.fits and plan.tiles_used > 1000
    # 2 * 1024^3 FLOP at 16 FLOP/cycle/tile on 1216 tiles is 110,376 cycles of pure compute
    assert 110_376 < plan.cycles < 2 * 110_376
    text = plan.describe()
    for word in ("splits", "busiest tile", "partial products", "reduction", "total"):
        assert word in text


def test_plan_picture():
    import matplotlib
    matplotlib.use("Agg")
    plan = ops.plan_matmul(ipukit.GC2.replace(tiles=16), 100, 60, 80, batch=2)
    fig = ops.plot_matmul_plan(plan, batch_element=1)
    assert len(fig.axes) == 4
    labels = [t.get_text() for t in fig.axes[2].texts]
    assert labels == [f"t{plan.tile(1, i, j, 0)}" for i in range(plan.splits[0]) for j in range(plan.splits[1])]
    with pytest.raises(ValueError, match="batch_element"):
        ops.plot_matmul_plan(plan, batch_element=2)


@pytest.mark.parametrize("shapes, match", [
    (((3, 4), (5, 6)), "inner dimensions"),
    (((2, 3, 4), (3, 4, 5)), "batch sizes"),
    (((4,), (4, 2)), "2-D matrices"),
])
def test_bad_shapes_are_refused_with_the_shapes(shapes, match):
    g = ipukit.Graph(ipukit.GC2.replace(tiles=4))
    a, b = (g.add_variable(s, name=n) for s, n in zip(shapes, "ab"))
    with pytest.raises(ValueError, match=match):
        ops.matmul(g, a, b)


def test_a_plan_for_other_shapes_or_dtypes_is_refused():
    spec = ipukit.GC2.replace(tiles=4)
    g = ipukit.Graph(spec)
    a, b = g.add_variable((4, 4), name="a"), g.add_variable((4, 4), "float16", name="b")
    with pytest.raises(TypeError, match="float16"):
        ops.matmul(g, a, b)
    b2 = g.add_variable((4, 4), name="b2")
    with pytest.raises(ValueError, match="plan is for"):
        ops.matmul(g, a, b2, plan=ops.plan_matmul(spec, 4, 4, 5))
    with pytest.raises(TypeError, match="int32"):
        ops.plan_matmul(spec, 4, 4, 4, dtype="int32")


def _divisor_like_splits(m, n, k, tiles):
    for sm in range(1, min(m, tiles) + 1):
        for sn in range(1, min(n, tiles // sm) + 1):
            for sk in range(1, min(k, tiles // (sm * sn)) + 1):
                yield sm, sn, sk


@pytest.mark.parametrize("m, k, n, budget", [(128, 1024, 128, 0.35), (128, 512, 128, 0.26),
                                             (64, 256, 96, 0.1), (200, 64, 48, 0.6)])
def test_planner_finds_the_best_split_that_fits(m, k, n, budget):
    """Brute force over every split, priced exactly: the planner's choice is as fast as the best one."""
    spec = ipukit.GC2.replace(tiles=16)
    best = None
    for splits in _divisor_like_splits(m, n, k, spec.tiles):
        plan = ops.plan_matmul(spec, m, k, n, splits=splits, available_memory_proportion=budget,
                               check_memory=False)
        if plan.fits and (best is None or plan.cycles < best.cycles):
            best = plan
    chosen = ops.plan_matmul(spec, m, k, n, available_memory_proportion=budget)
    assert chosen.fits and chosen.cycles == best.cycles, (chosen.splits, chosen.cycles, best.splits, best.cycles)
