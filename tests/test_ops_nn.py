"""Softmax and layer norm over the last axis: NumPy's formulas, rows computed whole on their tile."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ipukit
from ipukit import ops

from helpers import run_both

SPEC = ipukit.GC2.replace(tiles=8)


def softmax_numpy(x, scale=1.0):
    z = scale * x.astype(np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@settings(max_examples=20)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), grain=st.integers(1, 12),
       scale=st.sampled_from([1.0, 0.125, 3.0]), seed=st.integers(0, 2**16))
def test_softmax_matches_numpy(shape, grain, scale, seed):
    rng = np.random.default_rng(seed)
    g = ipukit.Graph(SPEC)
    x = g.add_variable(shape, name="x")
    g.map_linearly(x, grain_size=grain)                  # rows may be split over tiles
    y, prog = ops.softmax(g, x, scale=scale)
    X = (rng.standard_normal(shape) * 5).astype(np.float32)
    eng = run_both(g, prog, {x: X})
    np.testing.assert_allclose(eng.read(y), softmax_numpy(X, scale), rtol=1e-6, atol=1e-7)


def test_softmax_is_stable_for_large_values():
    g = ipukit.Graph(SPEC)
    x = g.add_variable((2, 3), name="x")
    g.map_linearly(x)
    y, prog = ops.softmax(g, x)
    X = np.array([[1000.0, 1001.0, 999.0], [-1e30, 0.0, -np.inf]], np.float32)
    eng = run_both(g, prog, {x: X})
    np.testing.assert_allclose(eng.read(y), softmax_numpy(X), rtol=1e-6)
    assert np.isfinite(eng.read(y)).all()


@settings(max_examples=15)
@given(rows=st.integers(1, 12), width=st.integers(2, 40), grain=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_layer_norm_matches_numpy(rows, width, grain, seed):
    rng = np.random.default_rng(seed)
    g = ipukit.Graph(SPEC)
    x, gamma, beta = g.add_variable((rows, width), name="x"), g.add_variable(width, name="gamma"), \
        g.add_variable(width, name="beta")
    g.map_linearly(x, grain_size=grain)
    g.set_tile_mapping(gamma, 0)
    g.map_linearly(beta)
    y, prog = ops.layer_norm(g, x, gamma, beta, eps=1e-5)
    X = (rng.standard_normal((rows, width)) * 3 + 1).astype(np.float32)
    G, B = rng.standard_normal(width).astype(np.float32), rng.standard_normal(width).astype(np.float32)
    eng = run_both(g, prog, {x: X, gamma: G, beta: B})
    Xd = X.astype(np.float64)
    expected = (Xd - Xd.mean(-1, keepdims=True)) / np.sqrt(Xd.var(-1, keepdims=True) + 1e-5) * G + B
    np.testing.assert_allclose(eng.read(y), expected, rtol=1e-5, atol=1e-5)


def test_rows_are_computed_on_the_tile_that_holds_them(rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((16, 30), name="x")
    g.map_linearly(x, grain_size=30)                    # whole rows: nothing to move
    y, prog = ops.softmax(g, x)
    eng = run_both(g, prog, {x: rng.standard_normal((16, 30)).astype(np.float32)})
    assert eng.profile.exchange_bytes == 0
    assert (g.element_tiles(y) == g.element_tiles(x)).all()


def test_nn_errors():
    g = ipukit.Graph(SPEC)
    x, gamma = g.add_variable((3, 4), name="x"), g.add_variable(5, name="gamma")
    i = g.add_variable((3, 4), "int32", name="i")
    with pytest.raises(ValueError, match=r"gamma must be a float32 tensor of shape \(4,\)"):
        ops.layer_norm(g, x, gamma, gamma)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        ops.softmax(g, x, scale=-1.0)
    with pytest.raises(TypeError, match="'i' is int32"):
        ops.softmax(g, i)
