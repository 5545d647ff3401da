"""conv2d (NCHW): equal to a convolution written out as loops, for strides, padding, groups
and depthwise; the same bytes on both backends."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ipukit
from ipukit import ops

from helpers import run_both

SPEC = ipukit.GC2.replace(tiles=16)


def conv_loops(x, w, stride, pad, groups):
    """The definition: y[n, o, i, j] = sum over c, u, v of x_padded[n, c, i*s + u, j*s + v] w[o, c, u, v]."""
    n_, c_, h_, w_ = x.shape
    o_, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h_ + 2 * pad - kh) // stride + 1, (w_ + 2 * pad - kw) // stride + 1
    og = o_ // groups
    y = np.zeros((n_, o_, ho, wo))
    for o in range(o_):
        first = (o // og) * cg                          # this filter's group of input channels
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, first:first + cg, i * stride:i * stride + kh, j * stride:j * stride + kw]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return y


@settings(max_examples=12)
@given(n=st.integers(1, 2), groups=st.sampled_from([1, 2, 4]), cpg=st.integers(1, 2), opg=st.integers(1, 2),
       size=st.integers(3, 7), k=st.integers(1, 3), stride=st.integers(1, 2), pad=st.integers(0, 1),
       seed=st.integers(0, 2**16))
def test_conv2d_matches_the_loops(n, groups, cpg, opg, size, k, stride, pad, seed):
    rng = np.random.default_rng(seed)
    c, o = groups * cpg, groups * opg
    g = ipukit.Graph(SPEC)
    x, w = g.add_variable((n, c, size, size + 1), name="x"), g.add_variable((o, cpg, k, k), name="w")
    g.map_linearly(x)
    g.map_linearly(w)
    y, prog = ops.conv2d(g, x, w, stride=stride, padding=pad, groups=groups)
    X, W = rng.standard_normal(x.shape).astype(np.float32), rng.standard_normal(w.shape).astype(np.float32)
    eng = run_both(g, prog, {x: X, w: W})
    expected = conv_loops(X, W, stride, pad, groups)
    assert y.shape == expected.shape
    np.testing.assert_allclose(eng.read(y), expected, rtol=1e-5, atol=1e-5)


def test_depthwise_convolution(rng):
    g = ipukit.Graph(SPEC)
    x, w = g.add_variable((2, 6, 8, 8), name="x"), g.add_variable((6, 1, 3, 3), name="w")
    g.map_linearly(x)
    g.map_linearly(w)
    y, prog = ops.conv2d(g, x, w, padding=1, groups=6)
    X, W = rng.standard_normal(x.shape).astype(np.float32), rng.standard_normal(w.shape).astype(np.float32)
    eng = run_both(g, prog, {x: X, w: W})
    np.testing.assert_allclose(eng.read(y), conv_loops(X, W, 1, 1, 6), rtol=1e-5, atol=1e-5)


def test_conv2d_errors():
    g = ipukit.Graph(SPEC)
    x = g.add_variable((1, 4, 5, 5), name="x")
    with pytest.raises(ValueError, match="must be \\(O, C // groups, KH, KW\\)"):
        ops.conv2d(g, x, g.add_variable((2, 4, 3, 3), name="w"), groups=2)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        ops.conv2d(g, x, g.add_variable((3, 1, 3, 3), name="w3"), groups=3)
    with pytest.raises(ValueError, match="does not fit"):
        ops.conv2d(g, x, g.add_variable((2, 4, 7, 7), name="w7"))
