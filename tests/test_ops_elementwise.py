"""Elementwise ops and activations: exactly NumPy's arithmetic, on both backends, over any
shape, mapping and broadcast; transcendental functions within one float32 ulp of NumPy."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ipukit
from ipukit import ops
from ipukit.ops import codelets as K

from helpers import run_both

SPEC = ipukit.GC2.replace(tiles=8)


def map_somehow(g, t, how, rng):
    if how == "linear":
        g.map_linearly(t, grain_size=int(rng.integers(1, 5)))
    elif how == "one tile":
        g.set_tile_mapping(t, int(rng.integers(0, SPEC.tiles)))
    else:                                   # every element on a random tile
        flat = t.flatten()
        tiles = rng.integers(0, SPEC.tiles, t.size)
        for e in range(t.size):
            g.set_tile_mapping(flat[e:e + 1], int(tiles[e]))


BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


@settings(max_examples=25)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), op=st.sampled_from(sorted(BINARY)),
       broadcast=st.integers(0, 7), how=st.sampled_from(["linear", "one tile", "scattered"]),
       seed=st.integers(0, 2**16))
def test_binary_ops_are_numpy_exactly(shape, op, broadcast, how, seed):
    rng = np.random.default_rng(seed)
    # b drops or flattens some leading axes, as a bias does
    b_shape = tuple(1 if broadcast >> i & 1 else s for i, s in enumerate(shape))[-(broadcast % len(shape) + 1):]
    g = ipukit.Graph(SPEC)
    a, b = g.add_variable(shape, name="a"), g.add_variable(b_shape, name="b")
    map_somehow(g, a, how, rng)
    map_somehow(g, b, "linear", rng)
    out, prog = getattr(ops, op)(g, a, b)
    A = rng.standard_normal(shape).astype(np.float32)
    B = (rng.standard_normal(b_shape) + (3 if op == "div" else 0)).astype(np.float32)
    eng = run_both(g, prog, {a: A, b: B})
    np.testing.assert_array_equal(eng.read(out), BINARY[op](A, B))
    assert (g.element_tiles(out) == g.element_tiles(a)).all()      # mapped like the input


def test_scale_relu_and_an_unmapped_input(rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((7, 9), name="x")                # not mapped: the op maps it linearly
    y, p1 = ops.scale(g, x, -0.3)
    z, p2 = ops.relu(g, y)
    X = rng.standard_normal((7, 9)).astype(np.float32)
    eng = run_both(g, ipukit.Sequence(p1, p2), {x: X})
    Y = (X.astype(np.float64) * -0.3).astype(np.float32)
    np.testing.assert_array_equal(eng.read(y), Y)
    np.testing.assert_array_equal(eng.read(z), np.maximum(Y, 0))
    assert len({int(t) for t in g.element_tiles(x).ravel()}) == SPEC.tiles


def gelu_numpy(x):
    x = x.astype(np.float64)
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


TRANSCENDENTAL = {
    "gelu": gelu_numpy,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x.astype(np.float64))),
    "tanh": lambda x: np.tanh(x.astype(np.float64)),
    "exp": lambda x: np.exp(x.astype(np.float64)),
}


@pytest.mark.parametrize("op", sorted(TRANSCENDENTAL))
def test_transcendental_ops_within_an_ulp_of_numpy(op, rng):
    g = ipukit.Graph(SPEC)
    x = g.add_variable((5, 40), name="x")
    g.map_linearly(x)
    y, prog = getattr(ops, op)(g, x)
    X = (rng.standard_normal((5, 40)) * 4).astype(np.float32)
    X[0, :6] = [0.0, -0.0, 1e-30, -80.0, 60.0, 100.0]
    eng = run_both(g, prog, {x: X})
    with np.errstate(over="ignore"):
        expected = TRANSCENDENTAL[op](X).astype(np.float32)
    if op == "gelu":    # 1 + tanh(z) cancels for z << 0, where tanh's last bit decides: compare absolutely
        np.testing.assert_allclose(eng.read(y), expected, rtol=1e-6, atol=1e-12)
    else:
        np.testing.assert_array_max_ulp(eng.read(y), expected, maxulp=1)


def test_codelets_agree_bit_for_bit_on_a_million_values(rng):
    """The compiled codelets and their Python twins call the same C library functions in
    float64; this checks it on many values, including special ones (see codelets.py)."""
    x = (rng.standard_normal(1_000_000) * 8).astype(np.float32)
    x[:8] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 88.8, -104.0, 709.5]
    small = x[:3000]
    for codelet in (K.gelu, K.sigmoid, K.tanh, K.exp):
        compiled, python = np.empty_like(x), np.empty_like(small)
        with np.errstate(all="ignore"):
            codelet.kernel(x, compiled)
            codelet.fn(small, python)
        np.testing.assert_array_equal(compiled[:3000], python, err_msg=codelet.name)


def test_exp_overflows_to_inf_and_keeps_nan():
    out = np.empty(4, np.float32)
    K.exp.fn(np.array([89.0, 1000.0, np.nan, -1000.0], np.float32), out)
    assert out[0] == np.inf and out[1] == np.inf and np.isnan(out[2]) and out[3] == 0


def test_elementwise_errors_name_the_tensors():
    g = ipukit.Graph(SPEC)
    a, b = g.add_variable((3, 4), name="a"), g.add_variable((5,), name="b")
    c = g.add_variable((3, 4), "int32", name="c")
    g.map_linearly(a)
    with pytest.raises(ValueError, match=r"'a' \(3, 4\), 'b' \(5,\) do not broadcast"):
        ops.add(g, a, b)
    with pytest.raises(TypeError, match="'a' is float32 but 'c' is int32"):
        ops.mul(g, a, c)
    with pytest.raises(TypeError, match="ops.scale"):
        ops.add(g, a, 2.0)
    half = g.add_variable(4, name="half")
    g.set_tile_mapping(half[:2], 0)
    with pytest.raises(ipukit.errors.MappingError, match="2 of 4 elements of 'half'"):
        ops.relu(g, half)
