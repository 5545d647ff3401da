"""An LSTM cell step and multi-head attention, built from the ops, against NumPy."""
import math

import numpy as np
import pytest

import ipukit
from ipukit import ops

from helpers import run_both

SPEC = ipukit.GC2.replace(tiles=16)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("batch, inputs, hidden, bias", [(1, 3, 4, False), (4, 10, 8, True)])
def test_lstm_cell_matches_numpy(batch, inputs, hidden, bias, rng):
    g = ipukit.Graph(SPEC)
    x, h, c = (g.add_variable(s, name=n) for s, n in (((batch, inputs), "x"), ((batch, hidden), "h"),
                                                     ((batch, hidden), "c")))
    w, b = g.add_variable((inputs + hidden, 4 * hidden), name="w"), g.add_variable(4 * hidden, name="b")
    for t in (x, h, c, w, b):
        g.map_linearly(t)
    (h1, c1), prog = ops.lstm_cell(g, x, h, c, w, b if bias else None)
    vals = {t: rng.standard_normal(t.shape).astype(np.float32) for t in (x, h, c, w, b)}
    eng = run_both(g, prog, vals)
    X, H, C, W, B = (vals[t].astype(np.float64) for t in (x, h, c, w, b))
    gates = np.concatenate([X, H], axis=1) @ W + (B if bias else 0)
    i, f, gg, o = np.split(gates, 4, axis=1)
    c_new = sigmoid(f) * C + sigmoid(i) * np.tanh(gg)
    h_new = sigmoid(o) * np.tanh(c_new)
    np.testing.assert_allclose(eng.read(c1), c_new, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eng.read(h1), h_new, rtol=1e-5, atol=1e-5)
    assert (g.element_tiles(c1) == g.element_tiles(c)).all()   # the state stays where it was


def attention_numpy(x, wq, wk, wv, wo, heads):
    x = x.reshape(-1, *x.shape[-2:]).astype(np.float64)
    q, k, v = x @ wq, x @ wk, x @ wv
    dh = x.shape[-1] // heads
    out = []
    for h in range(heads):
        part = slice(h * dh, (h + 1) * dh)
        scores = q[..., part] @ k[..., part].transpose(0, 2, 1) / math.sqrt(dh)
        p = np.exp(scores - scores.max(-1, keepdims=True))
        out.append(p / p.sum(-1, keepdims=True) @ v[..., part])
    return np.concatenate(out, -1) @ wo


@pytest.mark.parametrize("shape, heads", [((6, 8), 1), ((2, 5, 12), 3)])
def test_attention_matches_numpy(shape, heads, rng):
    g = ipukit.Graph(SPEC)
    d = shape[-1]
    x = g.add_variable(shape, name="x")
    ws = [g.add_variable((d, d), name=n) for n in ("wq", "wk", "wv", "wo")]
    for t in (x, *ws):
        g.map_linearly(t)
    out, prog = ops.attention(g, x, *ws, heads=heads)
    vals = {t: rng.standard_normal(t.shape).astype(np.float32) for t in (x, *ws)}
    eng = run_both(g, prog, vals)
    expected = attention_numpy(vals[x], *(vals[w].astype(np.float64) for w in ws), heads).reshape(shape)
    assert out.shape == shape
    np.testing.assert_allclose(eng.read(out), expected, rtol=1e-4, atol=1e-5)


def test_model_op_errors():
    g = ipukit.Graph(SPEC)
    x, h = g.add_variable((2, 3), name="x"), g.add_variable((2, 4), name="h")
    with pytest.raises(ValueError, match=r"w must be \(inputs \+ hidden, 4 \* hidden\) = \(7, 16\)"):
        ops.lstm_cell(g, x, h, h, g.add_variable((7, 12), name="w"))
    w = g.add_variable((3, 3), name="w3")
    with pytest.raises(ValueError, match="heads=2 must divide the model width 3"):
        ops.attention(g, x, w, w, w, w, heads=2)
