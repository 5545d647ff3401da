"""Reductions: NumPy's sum, mean and max over any axes, any mapping; one stage when each
output lives on one tile, two otherwise; the same bytes on both backends."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ipukit
from ipukit import ops

from helpers import run_both

SPEC = ipukit.GC2.replace(tiles=8)
REFERENCE = {"sum": np.sum, "mean": np.mean, "max": np.max}


@settings(max_examples=25)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3), op=st.sampled_from(sorted(REFERENCE)),
       data=st.data(), grain=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_reductions_match_numpy(shape, op, data, grain, seed):
    ndim = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                               st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                               .map(tuple)))
    rng = np.random.default_rng(seed)
    g = ipukit.Graph(SPEC)
    x = g.add_variable(shape, name="x")
    g.map_linearly(x, grain_size=grain)
    out, prog = ops.reduce(g, x, axis, op)
    X = rng.standard_normal(shape).astype(np.float32)
    eng = run_both(g, prog, {x: X})
    expected = REFERENCE[op](X.astype(np.float64), axis=axis)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(eng.read(out), expected, rtol=1e-5, atol=1e-5)


def test_rows_on_their_own_tiles_take_one_step_and_no_exchange(rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((48, 100), name="x")             # 6 whole rows per tile
    g.map_linearly(x, grain_size=100)
    out, prog = ops.reduce_sum(g, x, axis=1)
    X = rng.standard_normal((48, 100)).astype(np.float32)
    eng = run_both(g, prog, {x: X})
    np.testing.assert_allclose(eng.read(out), X.sum(axis=1), rtol=1e-5)
    assert eng.profile.num_supersteps == 1 and eng.profile.exchange_bytes == 0
    assert (g.element_tiles(out) == g.element_tiles(x)[:, 0]).all()   # each sum where its row was


def test_columns_take_two_stages_and_the_partials_cross_tiles(rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((48, 100), name="x")
    g.map_linearly(x, grain_size=100)
    out, prog = ops.reduce_sum(g, x, axis=0)
    X = rng.standard_normal((48, 100)).astype(np.float32)
    eng = run_both(g, prog, {x: X})
    np.testing.assert_allclose(eng.read(out), X.sum(axis=0), rtol=1e-5, atol=1e-5)
    assert eng.profile.num_supersteps == 2 and eng.profile.exchange_bytes > 0


def test_sum_order_is_fixed_and_integers_work(rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((5, 33), "int32", name="x")
    g.map_linearly(x)
    s, p1 = ops.reduce_sum(g, x, axis=0)
    m, p2 = ops.reduce_max(g, x)
    X = rng.integers(-1000, 1000, (5, 33)).astype(np.int32)
    eng = run_both(g, ipukit.Sequence(p1, p2), {x: X})
    np.testing.assert_array_equal(eng.read(s), X.sum(axis=0))
    assert eng.read(m) == X.max()


def test_max_propagates_nan():
    g = ipukit.Graph(SPEC)
    x = g.add_variable((4, 6), name="x")
    g.map_linearly(x)
    out, prog = ops.reduce_max(g, x, axis=1)
    X = np.arange(24, dtype=np.float32).reshape(4, 6)
    X[2, 1] = np.nan
    eng = run_both(g, prog, {x: X})
    np.testing.assert_array_equal(eng.read(out), np.max(X, axis=1))


def test_reduce_errors():
    g = ipukit.Graph(SPEC)
    x, i = g.add_variable((3, 4), name="x"), g.add_variable(3, "int32", name="i")
    with pytest.raises(ValueError, match="axis 2 is out of range for 'x'"):
        ops.reduce_sum(g, x, axis=2)
    with pytest.raises(ValueError, match="given twice"):
        ops.reduce_sum(g, x, axis=(1, -1))
    with pytest.raises(TypeError, match="mean of int32 'i'"):
        ops.reduce_mean(g, i)
    with pytest.raises(ValueError, match="op must be one of"):
        ops.reduce(g, x, op="min")
